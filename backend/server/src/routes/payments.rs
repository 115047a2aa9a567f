//! Payments received from members. Unit users see their subtree's; treasurers everyone's.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::dues::DuesId;
use tessera_domain::file::PageRequest;
use tessera_domain::members::MemberId;
use tessera_domain::payments::{Payment, PaymentId, PaymentInput};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A payment as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct PaymentDto {
    /// Id.
    pub id: i64,
    /// Who paid.
    pub member_id: i64,
    /// The dues it paid, if any.
    pub dues_id: Option<i64>,
    /// `dues`, `material` or `donation`.
    pub purpose: String,
    /// Amount in cents (integer; never a float).
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// `cash`, `pix`, `transfer`, `card` or `other`.
    pub method: String,
    /// When it was paid.
    pub paid_on: NaiveDate,
    /// The user who recorded it.
    pub recorded_by: i64,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl From<&Payment> for PaymentDto {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id.0,
            member_id: p.member_id.0,
            dues_id: p.dues_id.map(|d| d.0),
            purpose: p.purpose.as_str().to_owned(),
            amount_cents: p.amount_cents,
            currency: p.currency.clone(),
            method: p.method.as_str().to_owned(),
            paid_on: p.paid_on,
            recorded_by: p.recorded_by.0,
            created_at: p.created_at,
        }
    }
}

/// A new payment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// Who paid.
    pub member_id: Option<i64>,
    /// The dues it pays: required for `dues` (they are marked paid), refused otherwise.
    pub dues_id: Option<i64>,
    /// `dues`, `material` or `donation`.
    pub purpose: Option<String>,
    /// Amount in cents.
    pub amount_cents: Option<i64>,
    /// ISO currency code (default `BRL`; must match the dues').
    pub currency: Option<String>,
    /// `cash`, `pix`, `transfer`, `card` or `other`.
    pub method: Option<String>,
    /// `YYYY-MM-DD` (default today).
    pub paid_on: Option<String>,
}

/// Records a payment from a member whose money the caller manages; a dues payment marks the
/// dues paid in the same transaction.
#[utoipa::path(post, path = "/api/payments", tag = "payments", security(("bearer" = [])), request_body = PaymentRequest, responses(
    (status = 201, description = "Recorded", body = PaymentDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, or a member or dues outside the caller's scope", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_payment(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<PaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let payment = state
        .payments
        .create(
            &caller.actor(),
            PaymentInput {
                member_id: body.member_id.map(MemberId),
                dues_id: body.dues_id.map(DuesId),
                purpose: body.purpose,
                amount_cents: body.amount_cents,
                currency: body.currency,
                method: body.method,
                paid_on: body.paid_on,
            },
            state.dues.today(),
        )
        .await?;
    Ok(HttpResponse::Created().json(PaymentDto::from(&payment)))
}

/// A page of payments.
#[derive(Serialize, ToSchema)]
pub struct PaymentPage {
    /// The payments of this page, newest first.
    pub items: Vec<PaymentDto>,
    /// The page number (1-based).
    pub page: u32,
    /// The page size.
    pub per_page: u32,
    /// How many payments the caller sees with these filters.
    pub total: i64,
}

/// Filters and paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentListQuery {
    /// Only this member's.
    pub member_id: Option<i64>,
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    pub per_page: Option<u32>,
}

/// The payments the caller sees: its subtree's members', or all of them for a treasurer.
#[utoipa::path(get, path = "/api/payments", tag = "payments", security(("bearer" = [])), params(PaymentListQuery), responses(
    (status = 200, description = "A page of payments", body = PaymentPage),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Bad paging", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_payments(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PaymentListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.page, query.per_page)?;
    let payments = state
        .payments
        .list(&caller.actor(), query.member_id.map(MemberId), page)
        .await?;
    Ok(HttpResponse::Ok().json(PaymentPage {
        items: payments.items.iter().map(PaymentDto::from).collect(),
        page: page.page,
        per_page: page.per_page,
        total: payments.total,
    }))
}

/// One payment the caller sees (404 otherwise).
#[utoipa::path(get, path = "/api/payments/{id}", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path, description = "Payment id")), responses(
    (status = 200, description = "The payment", body = PaymentDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such payment in the caller's scope", body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_payment(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let payment = state
        .payments
        .get(&caller.actor(), PaymentId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(PaymentDto::from(&payment)))
}

/// Deletes a payment recorded by mistake (the dues it paid stay as they are).
#[utoipa::path(delete, path = "/api/payments/{id}", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path, description = "Payment id")), responses(
    (status = 204, description = "Deleted"),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such payment in the caller's scope", body = Problem, content_type = "application/problem+json"),
))]
pub async fn delete_payment(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .payments
        .delete(&caller.actor(), PaymentId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
