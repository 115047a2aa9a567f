//! Members: the people of the organisation, each in one cell, seen by scope.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::file::PageRequest;
use tessera_domain::members::{Member, MemberId, MemberInput, MemberStatus};
use tessera_domain::org::OrgUnitId;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::routes::users::present;
use crate::state::AppState;

/// A member as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct MemberDto {
    /// Id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Contact email.
    pub email: Option<String>,
    /// The member's cell.
    pub org_unit_id: i64,
    /// `active`, `inactive` or `suspended`.
    pub status: String,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
}

impl From<&Member> for MemberDto {
    fn from(member: &Member) -> Self {
        Self {
            id: member.id.0,
            name: member.name.clone(),
            email: member.email.clone(),
            org_unit_id: member.org_unit_id.0,
            status: member.status.as_str().to_owned(),
            created_at: member.created_at,
        }
    }
}

/// A new member, or a change to one (absent fields stay as they are).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    /// Full name, 1 to 200 characters (required to create).
    pub name: Option<String>,
    /// Contact email; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// The member's cell, inside the caller's scope (required to create).
    pub org_unit_id: Option<i64>,
    /// `active` (default), `inactive` or `suspended`.
    pub status: Option<String>,
}

impl From<MemberRequest> for MemberInput {
    fn from(body: MemberRequest) -> Self {
        Self {
            name: body.name,
            email: body.email,
            org_unit_id: body.org_unit_id.map(OrgUnitId),
            status: body.status,
        }
    }
}

/// Creates a member in a cell of the caller's scope.
#[utoipa::path(post, path = "/api/members", tag = "members", security(("bearer" = [])), request_body = MemberRequest, responses(
    (status = 201, description = "Created", body = MemberDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, or a unit that is not a cell in the caller's scope", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_member(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<MemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let member = state
        .members
        .create(&caller.actor(), body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created().json(MemberDto::from(&member)))
}

/// A page of members.
#[derive(Serialize, ToSchema)]
pub struct MemberPage {
    /// The members of this page, by id.
    pub items: Vec<MemberDto>,
    /// The page number (1-based).
    pub page: u32,
    /// The page size.
    pub per_page: u32,
    /// How many members the caller sees with these filters.
    pub total: i64,
}

/// Filters and paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberListQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this cell.
    pub org_unit_id: Option<i64>,
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    pub per_page: Option<u32>,
}

/// The members the caller sees: its subtree's, and for a treasurer also every member that dues
/// or payments refer to. Cached per scope for 5 minutes; every change invalidates.
#[utoipa::path(get, path = "/api/members", tag = "members", security(("bearer" = [])), params(MemberListQuery), responses(
    (status = 200, description = "A page of members", body = MemberPage),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Bad filter or paging", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_members(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<MemberListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.page, query.per_page)?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<MemberStatus>)
        .transpose()?;
    let members = state
        .members
        .list(
            &caller.actor(),
            status,
            query.org_unit_id.map(OrgUnitId),
            page,
        )
        .await?;
    Ok(HttpResponse::Ok().json(MemberPage {
        items: members.items.iter().map(MemberDto::from).collect(),
        page: page.page,
        per_page: page.per_page,
        total: members.total,
    }))
}

/// One member the caller sees (404 otherwise).
#[utoipa::path(get, path = "/api/members/{id}", tag = "members", security(("bearer" = [])), params(("id" = i64, Path, description = "Member id")), responses(
    (status = 200, description = "The member", body = MemberDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member in the caller's scope", body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_member(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let member = state
        .members
        .get(&caller.actor(), MemberId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(MemberDto::from(&member)))
}

/// Changes a member of the caller's subtree.
#[utoipa::path(patch, path = "/api/members/{id}", tag = "members", security(("bearer" = [])), params(("id" = i64, Path, description = "Member id")), request_body = MemberRequest, responses(
    (status = 200, description = "Changed", body = MemberDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Seen only as a treasurer: read only", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member in the caller's scope", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_member(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<MemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let member = state
        .members
        .update(
            &caller.actor(),
            MemberId(id.into_inner()),
            body.into_inner().into(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(MemberDto::from(&member)))
}

/// Deletes a member of the caller's subtree; one that dues or payments refer to is refused.
#[utoipa::path(delete, path = "/api/members/{id}", tag = "members", security(("bearer" = [])), params(("id" = i64, Path, description = "Member id")), responses(
    (status = 204, description = "Deleted"),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Seen only as a treasurer: read only", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such member in the caller's scope", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Dues or payments refer to it (`member_in_use`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn delete_member(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .members
        .delete(&caller.actor(), MemberId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
