//! `/api/members`: the people of the organisation, each in one cell, seen by scope.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::members::{MemberInput, MemberQuery, MemberSort, MemberStatus, MemberView};
use tessera_domain::shared::{FileId, MemberId, OrgUnitId};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query, QueryId};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::routes::users::present;
use crate::routes::Routes;

/// The routes of `/api/members`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/members")
        .service(endpoints![create_member, list_members])
        .service(endpoints![get_member, update_member, delete_member])
}

/// Whether a member is taking part.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatusDto {
    /// Taking part.
    Active,
    /// Not taking part any more.
    Inactive,
    /// Suspended by the organisation.
    Suspended,
}

impl From<MemberStatusDto> for MemberStatus {
    fn from(status: MemberStatusDto) -> Self {
        match status {
            MemberStatusDto::Active => MemberStatus::Active,
            MemberStatusDto::Inactive => MemberStatus::Inactive,
            MemberStatusDto::Suspended => MemberStatus::Suspended,
        }
    }
}

impl From<MemberStatus> for MemberStatusDto {
    fn from(status: MemberStatus) -> Self {
        match status {
            MemberStatus::Active => MemberStatusDto::Active,
            MemberStatus::Inactive => MemberStatusDto::Inactive,
            MemberStatus::Suspended => MemberStatusDto::Suspended,
        }
    }
}

/// A member as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct MemberDto {
    /// Id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Contact email; `null` when unknown, and for a treasurer looking at a member outside its
    /// own units.
    pub email: Option<String>,
    /// The member's cell.
    pub org_unit_id: i64,
    /// Whether the member is taking part.
    pub status: MemberStatusDto,
    /// Contact phone; `null` when unknown, and for a treasurer looking at a member outside its
    /// own units.
    pub phone: Option<String>,
    /// When the member joined the organisation (`YYYY-MM-DD`), if known.
    pub joined_on: Option<NaiveDate>,
    /// Free notes; `null` when there are none, and for a treasurer looking at a member outside
    /// its own units.
    pub notes: Option<String>,
    /// The member's avatar file; `null` without one (also once the file is deleted).
    pub avatar_file_id: Option<i64>,
    /// A signed URL that shows the avatar, from the file-URL cache (`file_url:<id>`); `null`
    /// without an avatar.
    pub avatar_url: Option<String>,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
}

impl From<MemberView> for MemberDto {
    fn from(view: MemberView) -> Self {
        let member = view.member;
        Self {
            id: member.id.0,
            name: member.name,
            email: member.email,
            org_unit_id: member.org_unit_id.0,
            status: member.status.into(),
            phone: member.phone,
            joined_on: member.joined_on,
            notes: member.notes,
            avatar_file_id: member.avatar_file_id.map(|f| f.0),
            avatar_url: view.avatar_url.map(|u| u.url.to_string()),
            created_at: member.created_at,
        }
    }
}

/// A new member.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemberRequest {
    /// Full name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Contact email.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// The member's cell, inside the caller's scope.
    #[schema(minimum = 1)]
    pub org_unit_id: i64,
    /// Default `active`.
    pub status: Option<MemberStatusDto>,
    /// Contact phone: 8 to 20 characters of digits, spaces and `+ - ( )`.
    #[schema(
        min_length = 8,
        max_length = 20,
        pattern = r"^[0-9 +()-]*[0-9][0-9 +()-]*$"
    )]
    pub phone: Option<String>,
    /// When the member joined the organisation: a date, not in the future.
    #[schema(format = Date)]
    pub joined_on: Option<String>,
    /// Free notes, at most 2000 characters; blank notes are none.
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub notes: Option<String>,
    /// An uploaded file of type `avatar` the caller sees (`POST /api/files`).
    #[schema(minimum = 1)]
    pub avatar_file_id: Option<i64>,
}

/// A change to a member; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    /// Full name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// Contact email; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub email: Option<Option<String>>,
    /// The member's cell, inside the caller's scope.
    #[schema(minimum = 1)]
    pub org_unit_id: Option<i64>,
    /// The new status.
    pub status: Option<MemberStatusDto>,
    /// Contact phone: 8 to 20 characters of digits, spaces and `+ - ( )`; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 8, max_length = 20, pattern = r"^[0-9 +()-]*[0-9][0-9 +()-]*$")]
    pub phone: Option<Option<String>>,
    /// When the member joined the organisation: a date, not in the future; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub joined_on: Option<Option<String>>,
    /// Free notes, at most 2000 characters; `null` (or blank notes) removes them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
    pub notes: Option<Option<String>>,
    /// An uploaded file of type `avatar` the caller sees; `null` removes the avatar.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub avatar_file_id: Option<Option<i64>>,
}

/// Creates a member in a cell of the caller's scope.
#[utoipa::path(post, path = "", tag = "members", request_body = CreateMemberRequest, responses(
    (status = 201, description = "Created", body = MemberDto),
))]
pub async fn create_member(
    caller: Caller<policy::Write>,
    body: Json<CreateMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let member = caller
        .state()
        .members
        .create(
            &caller.actor(),
            MemberInput {
                name: Some(body.name),
                email: Some(body.email),
                org_unit_id: Some(OrgUnitId(body.org_unit_id)),
                status: body.status.map(MemberStatus::from),
                phone: Some(body.phone),
                joined_on: Some(body.joined_on),
                notes: Some(body.notes),
                avatar_file_id: Some(body.avatar_file_id.map(FileId)),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(MemberDto::from(member)))
}

/// The order of the member list.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum MemberSortDto {
    /// By name, case and accents ignored, A to Z.
    #[serde(rename = "name")]
    Name,
    /// By name, Z to A.
    #[serde(rename = "-name")]
    NameDesc,
    /// By joining date, earliest first; members without one last.
    #[serde(rename = "joined_on")]
    JoinedOn,
    /// By joining date, latest first; members without one last.
    #[serde(rename = "-joined_on")]
    JoinedOnDesc,
}

impl From<MemberSortDto> for MemberSort {
    fn from(sort: MemberSortDto) -> Self {
        match sort {
            MemberSortDto::Name => MemberSort::Name,
            MemberSortDto::NameDesc => MemberSort::NameDesc,
            MemberSortDto::JoinedOn => MemberSort::JoinedOn,
            MemberSortDto::JoinedOnDesc => MemberSort::JoinedOnDesc,
        }
    }
}

/// Filters and order of the member list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilterQuery {
    /// Only this status.
    pub status: Option<MemberStatusDto>,
    /// Only members of this unit and every unit below it (a sector's includes its cells'). A
    /// unit outside the caller's scope, or one that does not exist, gives an empty page.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub org_unit_id: Option<QueryId>,
    /// Only members whose name or email contains this text, case and accents ignored (`joao`
    /// finds `João`); `%` and `_` are plain characters. Surrounding spaces are ignored; only
    /// spaces means no search.
    #[param(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub q: Option<String>,
    /// The order (by name: case and accents ignored, then by email); remaining ties by id in
    /// the same direction. Default: by id.
    #[param(inline)]
    pub sort: Option<MemberSortDto>,
}

/// The members the caller sees: its subtree's, and for a treasurer also every member that dues
/// or payments refer to (without `email`, `phone` and `notes` outside its own subtree). Cached
/// per scope and query for 30 minutes; every change invalidates. Avatar URLs come from the
/// file-URL cache, one batch per page.
#[utoipa::path(get, path = "", tag = "members", params(MemberFilterQuery, PageQuery), responses(
    (status = 200, description = "A page of members", body = Page<MemberDto>),
))]
pub async fn list_members(
    caller: Caller<policy::Read>,
    filter: Query<MemberFilterQuery>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller
        .state()
        .members
        .list(
            &caller.actor(),
            MemberQuery {
                status: filter.status.map(MemberStatus::from),
                org_unit_id: filter.org_unit_id.map(|id| OrgUnitId(id.0)),
                q: filter.q.clone(),
                sort: filter.sort.map_or(MemberSort::Id, MemberSort::from),
            },
            page,
        )
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, MemberDto::from)))
}

/// One member the caller sees.
#[utoipa::path(get, path = "/{id}", tag = "members",
    params(("id" = i64, Path, description = "Member id", minimum = 1)),
    responses((status = 200, description = "The member", body = MemberDto)))]
pub async fn get_member(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let member = caller
        .state()
        .members
        .get(&caller.actor(), MemberId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(MemberDto::from(member)))
}

/// Changes a member of the caller's subtree.
#[utoipa::path(patch, path = "/{id}", tag = "members",
    params(("id" = i64, Path, description = "Member id", minimum = 1)), request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Changed", body = MemberDto),
        (status = 403, description = "Seen only as a treasurer: read only (`forbidden`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_member(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
    body: Json<UpdateMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let member = caller
        .state()
        .members
        .update(
            &caller.actor(),
            MemberId(id.into_inner()),
            MemberInput {
                name: body.name,
                email: body.email,
                org_unit_id: body.org_unit_id.map(OrgUnitId),
                status: body.status.map(MemberStatus::from),
                phone: body.phone,
                joined_on: body.joined_on,
                notes: body.notes,
                avatar_file_id: body.avatar_file_id.map(|a| a.map(FileId)),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(MemberDto::from(member)))
}

/// Deletes a member of the caller's subtree; one that dues or payments refer to is refused.
#[utoipa::path(delete, path = "/{id}", tag = "members",
    params(("id" = i64, Path, description = "Member id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Seen only as a treasurer: read only (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Dues or payments refer to it (`member_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_member(
    caller: Caller<policy::Write>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .members
        .delete(&caller.actor(), MemberId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
