//! `/api/dues`: what members owe per month. Unit users see their subtree's; treasurers everyone's.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::money::{Dues, DuesInput, DuesStatus, GenerateInput};
use tessera_domain::shared::DuesId;
use tessera_domain::shared::MemberId;
use tessera_domain::shared::OrgUnitId;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::routes::Routes;

/// The routes of `/api/dues`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/dues")
        .service(endpoints![create_dues, list_dues])
        // Before `/{id}`, which would match `generate` too.
        .service(endpoints![generate_dues])
        .service(endpoints![get_dues, update_dues, delete_dues])
}

/// Where dues stand.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DuesStatusDto {
    /// Owed.
    Open,
    /// Paid.
    Paid,
    /// Forgiven.
    Waived,
}

impl From<DuesStatusDto> for DuesStatus {
    fn from(status: DuesStatusDto) -> Self {
        match status {
            DuesStatusDto::Open => DuesStatus::Open,
            DuesStatusDto::Paid => DuesStatus::Paid,
            DuesStatusDto::Waived => DuesStatus::Waived,
        }
    }
}

impl From<DuesStatus> for DuesStatusDto {
    fn from(status: DuesStatus) -> Self {
        match status {
            DuesStatus::Open => DuesStatusDto::Open,
            DuesStatus::Paid => DuesStatusDto::Paid,
            DuesStatus::Waived => DuesStatusDto::Waived,
        }
    }
}

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
    /// Where they stand.
    pub status: DuesStatusDto,
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
            status: dues.status.into(),
            overdue: dues.is_overdue(today),
            created_at: dues.created_at,
        }
    }
}

/// New dues.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDuesRequest {
    /// The member, whose dues the caller manages.
    #[schema(minimum = 1)]
    pub member_id: i64,
    /// The month, `YYYY-MM`.
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: String,
    /// Amount in cents.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_cents: i64,
    /// ISO currency code (default `BRL`).
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// `YYYY-MM-DD` (default: the period's last day).
    #[schema(format = Date)]
    pub due_date: Option<String>,
    /// `open` (the default) or `waived`; dues become `paid` only through a payment.
    pub status: Option<DuesStatusDto>,
}

/// The dues of one period for every active member in scope.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateDuesRequest {
    /// The month, `YYYY-MM`.
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: String,
    /// Amount in cents, for every member.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_cents: i64,
    /// ISO currency code (default `BRL`).
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// `YYYY-MM-DD` (default: the period's last day).
    #[schema(format = Date)]
    pub due_date: Option<String>,
    /// Only the members of this unit and the units below it (inside the caller's scope).
    #[schema(minimum = 1)]
    pub org_unit_id: Option<i64>,
}

/// What a generation did.
#[derive(Serialize, ToSchema)]
pub struct GenerateDuesResponse {
    /// Dues created now.
    #[schema(minimum = 0)]
    pub created: i64,
    /// Active members in scope who had dues for the period already.
    #[schema(minimum = 0)]
    pub skipped: i64,
}

/// A change to dues: only amount, due date and status change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDuesRequest {
    /// Amount in cents.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_cents: Option<i64>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub due_date: Option<String>,
    /// `waived`, or `open` again; never `paid` (only a payment pays dues).
    pub status: Option<DuesStatusDto>,
}

/// Records dues for a member whose dues the caller manages.
#[utoipa::path(post, path = "", tag = "dues", request_body = CreateDuesRequest, responses(
    (status = 201, description = "Recorded", body = DuesDto),
    (status = 409, description = "The member already has dues for the period (`dues_exist`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_dues(
    caller: Caller<policy::Write>,
    body: Json<CreateDuesRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let state = caller.state();
    let dues = state
        .dues
        .create(
            &caller.actor(),
            DuesInput {
                member_id: Some(MemberId(body.member_id)),
                period: Some(body.period),
                amount_cents: Some(body.amount_cents),
                currency: body.currency,
                due_date: body.due_date,
                status: body.status.map(DuesStatus::from),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(DuesDto::new(&dues, state.dues.today())))
}

/// Creates the period's dues for every active member in the caller's scope (a treasurer's:
/// the whole organisation), or in the subtree of `org_unit_id`, in one transaction; members
/// who have dues for the period already are skipped, so running it again creates nothing.
#[utoipa::path(post, path = "/generate", tag = "dues", request_body = GenerateDuesRequest, responses(
    (status = 200, description = "Generated", body = GenerateDuesResponse),
))]
pub async fn generate_dues(
    caller: Caller<policy::Write>,
    body: Json<GenerateDuesRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let generated = caller
        .state()
        .dues
        .generate(
            &caller.actor(),
            GenerateInput {
                period: Some(body.period),
                amount_cents: Some(body.amount_cents),
                currency: body.currency,
                due_date: body.due_date,
                org_unit_id: body.org_unit_id.map(OrgUnitId),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(GenerateDuesResponse {
        created: generated.created,
        skipped: generated.skipped,
    }))
}

/// Filters of the dues list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuesFilterQuery {
    /// Only this member's.
    pub member_id: Option<i64>,
    /// Only this status.
    pub status: Option<DuesStatusDto>,
    /// Only this month, `YYYY-MM`.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: Option<String>,
}

/// The dues the caller sees, newest month first: its subtree's members', or the whole
/// organisation's for a treasurer.
#[utoipa::path(get, path = "", tag = "dues", params(DuesFilterQuery, PageQuery), responses(
    (status = 200, description = "A page of dues", body = Page<DuesDto>),
))]
pub async fn list_dues(
    caller: Caller<policy::Read>,
    filter: Query<DuesFilterQuery>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let filter = filter.into_inner();
    let state = caller.state();
    let found = state
        .dues
        .list(
            &caller.actor(),
            filter.member_id.map(MemberId),
            filter.status.map(DuesStatus::from),
            filter.period,
            page,
        )
        .await?;
    let today = state.dues.today();
    Ok(HttpResponse::Ok().json(Page::of(found, page, |d| DuesDto::new(&d, today))))
}

/// One dues record the caller sees.
#[utoipa::path(get, path = "/{id}", tag = "dues",
    params(("id" = i64, Path, description = "Dues id", minimum = 1)),
    responses((status = 200, description = "The dues", body = DuesDto)))]
pub async fn get_dues(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let dues = state
        .dues
        .get(&caller.actor(), DuesId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(DuesDto::new(&dues, state.dues.today())))
}

/// Changes the amount, due date or status of dues the caller sees: `waived`, or `open` again.
/// Dues a payment paid change only by deleting the payment.
#[utoipa::path(patch, path = "/{id}", tag = "dues",
    params(("id" = i64, Path, description = "Dues id", minimum = 1)), request_body = UpdateDuesRequest,
    responses(
        (status = 200, description = "Changed", body = DuesDto),
        (status = 409, description = "A payment paid them (`dues_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_dues(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
    body: Json<UpdateDuesRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let state = caller.state();
    let dues = state
        .dues
        .update(
            &caller.actor(),
            DuesId(id.into_inner()),
            DuesInput {
                amount_cents: body.amount_cents,
                due_date: body.due_date,
                status: body.status.map(DuesStatus::from),
                ..DuesInput::default()
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(DuesDto::new(&dues, state.dues.today())))
}

/// Deletes dues the caller sees; dues with payments are refused (waive them instead).
#[utoipa::path(delete, path = "/{id}", tag = "dues",
    params(("id" = i64, Path, description = "Dues id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Payments refer to them (`dues_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_dues(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .dues
        .delete(&caller.actor(), DuesId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
