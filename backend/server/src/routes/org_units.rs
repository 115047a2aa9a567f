//! `/api/org-units`: the organisation tree. Administrators create, rename, move and delete units;
//! everyone reads the units inside their scope.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_domain::org::UnitChange;
use tessera_domain::org::{OrgUnit, OrgUnitKind};
use tessera_domain::shared::OrgUnitId;
use utoipa::ToSchema;
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::Json;
use crate::http::problem::{ApiError, Problem};
use crate::routes::Routes;

/// The routes of `/api/org-units`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/org-units")
        .service(endpoints![create_org_unit, list_org_units])
        .service(endpoints![get_org_unit, update_org_unit, delete_org_unit])
}

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

impl From<OrgUnitKind> for OrgUnitKindDto {
    fn from(kind: OrgUnitKind) -> Self {
        match kind {
            OrgUnitKind::Central => OrgUnitKindDto::Central,
            OrgUnitKind::Regional => OrgUnitKindDto::Regional,
            OrgUnitKind::Sector => OrgUnitKindDto::Sector,
            OrgUnitKind::Cell => OrgUnitKindDto::Cell,
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
    pub kind: OrgUnitKindDto,
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
            kind: unit.kind.into(),
            parent_id: unit.parent_id.map(|p| p.0),
            path: unit.path.as_str().to_owned(),
        }
    }
}

/// A new org unit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgUnitRequest {
    /// Name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Level; the parent must be the level just above (none for `central`).
    pub kind: OrgUnitKindDto,
    /// The parent unit.
    #[schema(minimum = 1)]
    pub parent_id: Option<i64>,
}

/// A change: a new name, a new parent (the subtree moves along), or both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgUnitRequest {
    /// The new name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// The new parent.
    #[schema(minimum = 1)]
    pub parent_id: Option<i64>,
}

/// Creates an org unit.
#[utoipa::path(post, path = "", tag = "org units", request_body = CreateOrgUnitRequest, responses(
    (status = 201, description = "Created", body = OrgUnitDto),
))]
pub async fn create_org_unit(
    caller: Caller<policy::AdminWrite>,
    body: Json<CreateOrgUnitRequest>,
) -> Result<HttpResponse, ApiError> {
    let unit = caller
        .state()
        .org_units
        .create(
            &caller.actor(),
            &body.name,
            body.kind.into(),
            body.parent_id.map(OrgUnitId),
        )
        .await?;
    Ok(HttpResponse::Created().json(OrgUnitDto::from(unit)))
}

/// The org units in the caller's scope, parents before children.
#[utoipa::path(get, path = "", tag = "org units", responses(
    (status = 200, description = "The units", body = [OrgUnitDto]),
))]
pub async fn list_org_units(caller: Caller<policy::Read>) -> Result<HttpResponse, ApiError> {
    let units = caller.state().org_units.list(&caller.actor()).await?;
    Ok(HttpResponse::Ok().json(units.into_iter().map(OrgUnitDto::from).collect::<Vec<_>>()))
}

/// One org unit in the caller's scope.
#[utoipa::path(get, path = "/{id}", tag = "org units",
    params(("id" = i64, Path, description = "Org unit id", minimum = 1)),
    responses((status = 200, description = "The unit", body = OrgUnitDto)))]
pub async fn get_org_unit(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let unit = caller
        .state()
        .org_units
        .get(&caller.actor(), OrgUnitId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(OrgUnitDto::from(unit)))
}

/// Renames and/or moves an org unit; a move re-parents its whole subtree.
#[utoipa::path(patch, path = "/{id}", tag = "org units",
    params(("id" = i64, Path, description = "Org unit id", minimum = 1)), request_body = UpdateOrgUnitRequest,
    responses((status = 200, description = "Changed", body = OrgUnitDto)))]
pub async fn update_org_unit(
    caller: Caller<policy::AdminWrite>,
    id: web::Path<i64>,
    body: Json<UpdateOrgUnitRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let change = UnitChange {
        name: body.name,
        parent_id: body.parent_id.map(OrgUnitId),
    };
    let unit = caller
        .state()
        .org_units
        .update(&caller.actor(), OrgUnitId(id.into_inner()), change)
        .await?;
    Ok(HttpResponse::Ok().json(OrgUnitDto::from(unit)))
}

/// Deletes an org unit that has no units, users, members or files left.
#[utoipa::path(delete, path = "/{id}", tag = "org units",
    params(("id" = i64, Path, description = "Org unit id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The unit still has units, users, members or files (`org_unit_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_org_unit(
    caller: Caller<policy::AdminWrite>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .org_units
        .delete(&caller.actor(), OrgUnitId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
