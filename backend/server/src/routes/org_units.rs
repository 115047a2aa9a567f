//! Org units: the organisation tree. Administrators create, rename, move and delete units;
//! everyone reads the units inside their scope.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_domain::org::{OrgUnit, OrgUnitId, OrgUnitKind};
use tessera_domain::org_units::UnitChange;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The level of an org unit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgUnitKindDto {
    /// The central committee (the root).
    Central,
    /// A regional committee, under the central committee.
    Regional,
    /// A sector, under a regional committee.
    Sector,
    /// A cell, under a sector.
    Cell,
}

impl From<OrgUnitKindDto> for OrgUnitKind {
    fn from(kind: OrgUnitKindDto) -> Self {
        match kind {
            OrgUnitKindDto::Central => OrgUnitKind::Central,
            OrgUnitKindDto::Regional => OrgUnitKind::Regional,
            OrgUnitKindDto::Sector => OrgUnitKind::Sector,
            OrgUnitKindDto::Cell => OrgUnitKind::Cell,
        }
    }
}

/// An org unit.
#[derive(Serialize, ToSchema)]
pub struct OrgUnitDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Level.
    #[schema(value_type = OrgUnitKindDto)]
    pub kind: &'static str,
    /// The parent unit (null for the central committee).
    pub parent_id: Option<i64>,
    /// The ids from the root down to this unit, `/1/4/9/`.
    pub path: String,
}

impl From<OrgUnit> for OrgUnitDto {
    fn from(unit: OrgUnit) -> Self {
        Self {
            id: unit.id.0,
            name: unit.name,
            kind: unit.kind.as_str(),
            parent_id: unit.parent_id.map(|p| p.0),
            path: unit.path.as_str().to_owned(),
        }
    }
}

/// A new org unit.
#[derive(Deserialize, ToSchema)]
pub struct CreateOrgUnitRequest {
    /// Name.
    pub name: String,
    /// Level; the parent must be the level just above (none for `central`).
    pub kind: OrgUnitKindDto,
    /// The parent unit.
    pub parent_id: Option<i64>,
}

/// A change: a new name, a new parent (the subtree moves along), or both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgUnitRequest {
    /// The new name.
    pub name: Option<String>,
    /// The new parent.
    pub parent_id: Option<i64>,
}

/// Creates an org unit (administrators only).
#[utoipa::path(post, path = "/api/org-units", tag = "org units", security(("bearer" = [])), request_body = CreateOrgUnitRequest, responses(
    (status = 201, description = "Created", body = OrgUnitDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid name, kind or parent", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_org_unit(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateOrgUnitRequest>,
) -> Result<HttpResponse, ApiError> {
    let unit = state
        .org_units
        .create(
            &user.actor(),
            &body.name,
            body.kind.into(),
            body.parent_id.map(OrgUnitId),
        )
        .await?;
    Ok(HttpResponse::Created().json(OrgUnitDto::from(unit)))
}

/// The org units in the caller's scope, parents before children.
#[utoipa::path(get, path = "/api/org-units", tag = "org units", security(("bearer" = [])), responses(
    (status = 200, description = "The units", body = [OrgUnitDto]),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_org_units(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let units = state.org_units.list(&user.actor()).await?;
    Ok(HttpResponse::Ok().json(units.into_iter().map(OrgUnitDto::from).collect::<Vec<_>>()))
}

/// One org unit in the caller's scope.
#[utoipa::path(get, path = "/api/org-units/{id}", tag = "org units", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Org unit id")),
    responses(
        (status = 200, description = "The unit", body = OrgUnitDto),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_org_unit(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let unit = state
        .org_units
        .get(&user.actor(), OrgUnitId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(OrgUnitDto::from(unit)))
}

/// Renames and/or moves an org unit; a move re-parents its whole subtree (administrators only).
#[utoipa::path(patch, path = "/api/org-units/{id}", tag = "org units", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Org unit id")), request_body = UpdateOrgUnitRequest,
    responses(
        (status = 200, description = "Changed", body = OrgUnitDto),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or parent (wrong level, or below itself)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_org_unit(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdateOrgUnitRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let change = UnitChange {
        name: body.name,
        parent_id: body.parent_id.map(OrgUnitId),
    };
    let unit = state
        .org_units
        .update(&user.actor(), OrgUnitId(id.into_inner()), change)
        .await?;
    Ok(HttpResponse::Ok().json(OrgUnitDto::from(unit)))
}

/// Deletes an org unit that has no units, users or files left (administrators only).
#[utoipa::path(delete, path = "/api/org-units/{id}", tag = "org units", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Org unit id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The unit still has units, users, members or files (`org_unit_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_org_unit(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .org_units
        .delete(&user.actor(), OrgUnitId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
