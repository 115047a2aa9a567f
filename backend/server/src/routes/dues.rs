//! Dues: what members owe per month. Unit users see their subtree's; treasurers everyone's.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::dues::{Dues, DuesId, DuesInput, DuesStatus};
use tessera_domain::file::PageRequest;
use tessera_domain::members::MemberId;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Dues as the API shows them.
#[derive(Serialize, ToSchema)]
pub struct DuesDto {
    /// Id.
    pub id: i64,
    /// Who owes them.
    pub member_id: i64,
    /// The month, `YYYY-MM`.
    pub period: String,
    /// Amount in cents (integer; never a float).
    pub amount_cents: i64,
    /// ISO currency code.
    pub currency: String,
    /// When they are due.
    pub due_date: NaiveDate,
    /// `open`, `paid` or `waived`.
    pub status: String,
    /// Open and past the due date.
    pub overdue: bool,
    /// When they were recorded.
    pub created_at: DateTime<Utc>,
}

impl DuesDto {
    fn new(dues: &Dues, today: NaiveDate) -> Self {
        Self {
            id: dues.id.0,
            member_id: dues.member_id.0,
            period: dues.period.clone(),
            amount_cents: dues.amount_cents,
            currency: dues.currency.clone(),
            due_date: dues.due_date,
            status: dues.status.as_str().to_owned(),
            overdue: dues.is_overdue(today),
            created_at: dues.created_at,
        }
    }
}

/// New dues, or a change to them (only amount, due date and status change).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuesRequest {
    /// The member (required to create).
    pub member_id: Option<i64>,
    /// The month, `YYYY-MM` (required to create).
    pub period: Option<String>,
    /// Amount in cents (required to create).
    pub amount_cents: Option<i64>,
    /// ISO currency code (default `BRL`).
    pub currency: Option<String>,
    /// `YYYY-MM-DD` (default: the period's last day).
    pub due_date: Option<String>,
    /// `open` (default), `paid` or `waived`.
    pub status: Option<String>,
}

impl From<DuesRequest> for DuesInput {
    fn from(body: DuesRequest) -> Self {
        Self {
            member_id: body.member_id.map(MemberId),
            period: body.period,
            amount_cents: body.amount_cents,
            currency: body.currency,
            due_date: body.due_date,
            status: body.status,
        }
    }
}

/// Records dues for a member whose dues the caller manages.
#[utoipa::path(post, path = "/api/dues", tag = "dues", security(("bearer" = [])), request_body = DuesRequest, responses(
    (status = 201, description = "Recorded", body = DuesDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The member already has dues for the period (`dues_exist`)", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, or a member outside the caller's scope", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_dues(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<DuesRequest>,
) -> Result<HttpResponse, ApiError> {
    let dues = state
        .dues
        .create(&caller.actor(), body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created().json(DuesDto::new(&dues, state.dues.today())))
}

/// A page of dues.
#[derive(Serialize, ToSchema)]
pub struct DuesPage {
    /// The dues of this page, newest month first.
    pub items: Vec<DuesDto>,
    /// The page number (1-based).
    pub page: u32,
    /// The page size.
    pub per_page: u32,
    /// How many dues the caller sees with these filters.
    pub total: i64,
}

/// Filters and paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuesListQuery {
    /// Only this member's.
    pub member_id: Option<i64>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this month, `YYYY-MM`.
    pub period: Option<String>,
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    pub per_page: Option<u32>,
}

/// The dues the caller sees: its subtree's members', or the whole organisation's for a treasurer.
#[utoipa::path(get, path = "/api/dues", tag = "dues", security(("bearer" = [])), params(DuesListQuery), responses(
    (status = 200, description = "A page of dues", body = DuesPage),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Bad filter or paging", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_dues(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<DuesListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.page, query.per_page)?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<DuesStatus>)
        .transpose()?;
    let dues = state
        .dues
        .list(
            &caller.actor(),
            query.member_id.map(MemberId),
            status,
            query.period,
            page,
        )
        .await?;
    let today = state.dues.today();
    Ok(HttpResponse::Ok().json(DuesPage {
        items: dues.items.iter().map(|d| DuesDto::new(d, today)).collect(),
        page: page.page,
        per_page: page.per_page,
        total: dues.total,
    }))
}

/// One dues record the caller sees (404 otherwise).
#[utoipa::path(get, path = "/api/dues/{id}", tag = "dues", security(("bearer" = [])), params(("id" = i64, Path, description = "Dues id")), responses(
    (status = 200, description = "The dues", body = DuesDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such dues in the caller's scope", body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_dues(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let dues = state
        .dues
        .get(&caller.actor(), DuesId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(DuesDto::new(&dues, state.dues.today())))
}

/// Changes the amount, due date or status of dues the caller sees.
#[utoipa::path(patch, path = "/api/dues/{id}", tag = "dues", security(("bearer" = [])), params(("id" = i64, Path, description = "Dues id")), request_body = DuesRequest, responses(
    (status = 200, description = "Changed", body = DuesDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such dues in the caller's scope", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_dues(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<DuesRequest>,
) -> Result<HttpResponse, ApiError> {
    let dues = state
        .dues
        .update(
            &caller.actor(),
            DuesId(id.into_inner()),
            body.into_inner().into(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(DuesDto::new(&dues, state.dues.today())))
}

/// Deletes dues the caller sees; dues with payments are refused (waive them instead).
#[utoipa::path(delete, path = "/api/dues/{id}", tag = "dues", security(("bearer" = [])), params(("id" = i64, Path, description = "Dues id")), responses(
    (status = 204, description = "Deleted"),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such dues in the caller's scope", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Payments refer to them (`dues_in_use`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn delete_dues(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .dues
        .delete(&caller.actor(), DuesId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
