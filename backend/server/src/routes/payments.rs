//! `/api/payments`: money received from members. Unit users see their subtree's; treasurers
//! everyone's.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::money::{Payment, PaymentInput, PaymentMethod, PaymentPurpose};
use tessera_domain::shared::DuesId;
use tessera_domain::shared::MemberId;
use tessera_domain::shared::PaymentId;
use tessera_domain::shared::{FileId, MaterialId};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::routes::Routes;

/// The routes of `/api/payments`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/payments")
        .service(endpoints![create_payment, list_payments])
        .service(endpoints![get_payment, delete_payment])
}

/// What a payment is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurposeDto {
    /// Dues (`dues_id` says which).
    Dues,
    /// A material.
    Material,
    /// A donation.
    Donation,
}

impl From<PurposeDto> for PaymentPurpose {
    fn from(purpose: PurposeDto) -> Self {
        match purpose {
            PurposeDto::Dues => PaymentPurpose::Dues,
            PurposeDto::Material => PaymentPurpose::Material,
            PurposeDto::Donation => PaymentPurpose::Donation,
        }
    }
}

impl From<PaymentPurpose> for PurposeDto {
    fn from(purpose: PaymentPurpose) -> Self {
        match purpose {
            PaymentPurpose::Dues => PurposeDto::Dues,
            PaymentPurpose::Material => PurposeDto::Material,
            PaymentPurpose::Donation => PurposeDto::Donation,
        }
    }
}

/// How the money came.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MethodDto {
    /// Cash.
    Cash,
    /// Pix (Brazil's instant transfer).
    Pix,
    /// A bank transfer.
    Transfer,
    /// A card.
    Card,
    /// Anything else.
    Other,
}

impl From<MethodDto> for PaymentMethod {
    fn from(method: MethodDto) -> Self {
        match method {
            MethodDto::Cash => PaymentMethod::Cash,
            MethodDto::Pix => PaymentMethod::Pix,
            MethodDto::Transfer => PaymentMethod::Transfer,
            MethodDto::Card => PaymentMethod::Card,
            MethodDto::Other => PaymentMethod::Other,
        }
    }
}

impl From<PaymentMethod> for MethodDto {
    fn from(method: PaymentMethod) -> Self {
        match method {
            PaymentMethod::Cash => MethodDto::Cash,
            PaymentMethod::Pix => MethodDto::Pix,
            PaymentMethod::Transfer => MethodDto::Transfer,
            PaymentMethod::Card => MethodDto::Card,
            PaymentMethod::Other => MethodDto::Other,
        }
    }
}

/// A payment as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct PaymentDto {
    /// Id.
    pub id: i64,
    /// Who paid.
    pub member_id: i64,
    /// The dues it paid, if any.
    pub dues_id: Option<i64>,
    /// What it is for.
    pub purpose: PurposeDto,
    /// The material it paid for, if any.
    pub material_id: Option<i64>,
    /// How many of the material.
    pub quantity: Option<i64>,
    /// The unit whose stock gave the material (the member's unit when it was recorded);
    /// deleting the payment puts the quantity back there.
    pub stock_org_unit_id: Option<i64>,
    /// Amount in cents (integer; never a float).
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// How the money came.
    pub method: MethodDto,
    /// When it was paid.
    pub paid_on: NaiveDate,
    /// Why the amount is what it is.
    pub note: Option<String>,
    /// The receipt (a file of type `receipt`).
    pub receipt_file_id: Option<i64>,
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
            purpose: p.purpose.into(),
            material_id: p.material_id.map(|m| m.0),
            quantity: p.quantity,
            stock_org_unit_id: p.stock_org_unit_id.map(|u| u.0),
            amount_cents: p.amount_cents,
            currency: p.currency.clone(),
            method: p.method.into(),
            paid_on: p.paid_on,
            note: p.note.clone(),
            receipt_file_id: p.receipt_file_id.map(|f| f.0),
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
    #[schema(minimum = 1)]
    pub member_id: i64,
    /// The dues it pays: required for `dues` (open dues of this member, marked paid with it),
    /// refused otherwise.
    #[schema(minimum = 1)]
    pub dues_id: Option<i64>,
    /// What it is for.
    pub purpose: PurposeDto,
    /// The material it pays for: required for `material`, refused otherwise.
    #[schema(minimum = 1)]
    pub material_id: Option<i64>,
    /// How many of the material, taken from the stock of the member's unit: required for
    /// `material`, refused otherwise.
    #[schema(minimum = 1, maximum = 1_000_000_000_i64)]
    pub quantity: Option<i64>,
    /// Amount in cents: for dues, the dues' amount (no partial payments); for a material, the
    /// unit price times the quantity unless `note` says why not.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_cents: i64,
    /// ISO currency code (default `BRL`; must match the dues' or the material's).
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// How the money came.
    pub method: MethodDto,
    /// `YYYY-MM-DD` (default today).
    #[schema(format = Date)]
    pub paid_on: Option<String>,
    /// Why the amount is what it is (required when a material payment's amount is not the
    /// unit price times the quantity).
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// The receipt: an uploaded file of type `receipt` the caller sees.
    #[schema(minimum = 1)]
    pub receipt_file_id: Option<i64>,
}

/// Records a payment from a member whose money the caller manages; in the same transaction a
/// dues payment marks the dues paid, and a material payment takes the quantity from the stock
/// of the member's unit.
#[utoipa::path(post, path = "", tag = "payments", request_body = PaymentRequest, responses(
    (status = 201, description = "Recorded", body = PaymentDto),
    (status = 409, description = "The dues are not open (`dues_not_open`), or the member's unit holds fewer of the material than the quantity (`insufficient_stock`, with `available`); nothing was recorded", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_payment(
    caller: Caller<policy::Write>,
    body: Json<PaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let state = caller.state();
    let payment = state
        .payments
        .create(
            &caller.actor(),
            PaymentInput {
                member_id: Some(MemberId(body.member_id)),
                dues_id: body.dues_id.map(DuesId),
                purpose: Some(body.purpose.into()),
                amount_cents: Some(body.amount_cents),
                currency: body.currency,
                method: Some(body.method.into()),
                paid_on: body.paid_on,
                material_id: body.material_id.map(MaterialId),
                quantity: body.quantity,
                note: body.note,
                receipt_file_id: body.receipt_file_id.map(FileId),
            },
            state.dues.today(),
        )
        .await?;
    Ok(HttpResponse::Created().json(PaymentDto::from(&payment)))
}

/// Filters of the payment list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentFilterQuery {
    /// Only this member's.
    pub member_id: Option<i64>,
    /// Only payments for this.
    pub purpose: Option<PurposeDto>,
}

/// The payments the caller sees, newest first: its subtree's members', or all of them for a
/// treasurer.
#[utoipa::path(get, path = "", tag = "payments", params(PaymentFilterQuery, PageQuery), responses(
    (status = 200, description = "A page of payments", body = Page<PaymentDto>),
))]
pub async fn list_payments(
    caller: Caller<policy::Read>,
    filter: Query<PaymentFilterQuery>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller
        .state()
        .payments
        .list(
            &caller.actor(),
            filter.member_id.map(MemberId),
            filter.purpose.map(PaymentPurpose::from),
            page,
        )
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, |p| PaymentDto::from(&p))))
}

/// One payment the caller sees.
#[utoipa::path(get, path = "/{id}", tag = "payments",
    params(("id" = i64, Path, description = "Payment id", minimum = 1)),
    responses((status = 200, description = "The payment", body = PaymentDto)))]
pub async fn get_payment(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let payment = caller
        .state()
        .payments
        .get(&caller.actor(), PaymentId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(PaymentDto::from(&payment)))
}

/// Deletes a payment recorded by mistake and reverts what it changed, in one transaction: dues
/// it paid are open again, a material's quantity is back in the stock it came from.
#[utoipa::path(delete, path = "/{id}", tag = "payments",
    params(("id" = i64, Path, description = "Payment id", minimum = 1)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_payment(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .payments
        .delete(&caller.actor(), PaymentId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
