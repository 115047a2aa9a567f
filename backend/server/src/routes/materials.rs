//! `/api/materials`: the organisation-wide catalogue of materials (everyone reads it,
//! administrators write it), each shown with the stock of the units in the caller's scope; a
//! unit's stock is set by whoever may write in that unit.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::materials::{MaterialInput, MaterialWithStock, StockInput, StockLevel};
use tessera_domain::shared::{FileId, MaterialId, MaterialTypeId, OrgUnitId};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query, QueryId};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::routes::users::present;
use crate::routes::Routes;

/// The routes of `/api/materials`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/materials")
        .service(endpoints![create_material, list_materials])
        .service(endpoints![get_material, update_material, delete_material])
        .service(endpoints![set_stock])
}

/// One unit's stock of a material.
#[derive(Serialize, ToSchema)]
pub struct StockDto {
    /// The unit that holds it.
    pub org_unit_id: i64,
    /// How many it holds.
    #[schema(minimum = 0)]
    pub quantity: i64,
}

impl From<&StockLevel> for StockDto {
    fn from(s: &StockLevel) -> Self {
        Self {
            org_unit_id: s.org_unit_id.0,
            quantity: s.quantity,
        }
    }
}

/// A material as the API shows it, with the stock of the units in the caller's scope.
#[derive(Serialize, ToSchema)]
pub struct MaterialDto {
    /// Id.
    pub id: i64,
    /// Its type.
    pub material_type_id: i64,
    /// Its title.
    pub title: String,
    /// Its edition.
    pub edition: Option<String>,
    /// The price of one, in cents (integer; never a float).
    pub unit_price_cents: i64,
    /// ISO currency code of the price.
    pub currency: String,
    /// Its cover or document (a file of type `material`).
    pub file_id: Option<i64>,
    /// A signed view URL of the file (valid for hours; from the file-URL cache), when there is
    /// one.
    pub file_url: Option<String>,
    /// The stock of the units in the caller's scope that hold a row for it, by unit id.
    pub stock: Vec<StockDto>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<&MaterialWithStock> for MaterialDto {
    fn from(found: &MaterialWithStock) -> Self {
        let m = &found.material;
        Self {
            id: m.id.0,
            material_type_id: m.material_type_id.0,
            title: m.title.clone(),
            edition: m.edition.clone(),
            unit_price_cents: m.unit_price_cents,
            currency: m.currency.clone(),
            file_id: m.file_id.map(|f| f.0),
            file_url: found.file_url.clone(),
            stock: found.stock.iter().map(StockDto::from).collect(),
            created_at: m.created_at,
        }
    }
}

/// One unit's starting stock.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockEntry {
    /// The unit (any level).
    #[schema(minimum = 1)]
    pub org_unit_id: i64,
    /// How many it holds.
    #[schema(minimum = 0, maximum = 1_000_000_000_i64)]
    pub quantity: i64,
}

/// A new material.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMaterialRequest {
    /// Its type.
    #[schema(minimum = 1)]
    pub material_type_id: i64,
    /// Its title.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// Its edition.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub edition: Option<String>,
    /// The price of one, in cents.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub unit_price_cents: i64,
    /// ISO currency code (default `BRL`).
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// The starting stock, one entry per unit (default none).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub stock: Vec<StockEntry>,
    /// Its cover or document: an uploaded file of type `material`.
    #[schema(minimum = 1)]
    pub file_id: Option<i64>,
}

/// A change to a material; absent fields stay as they are. Stock changes through
/// `PUT /api/materials/{id}/stock/{org_unit_id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMaterialRequest {
    /// Its new type.
    #[schema(minimum = 1)]
    pub material_type_id: Option<i64>,
    /// Its new title.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: Option<String>,
    /// Its new edition; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(
        value_type = Option<String>,
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub edition: Option<Option<String>>,
    /// The new price of one, in cents (past payments keep theirs).
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub unit_price_cents: Option<i64>,
    /// The new currency of the price.
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Its new cover or document (a file of type `material`); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub file_id: Option<Option<i64>>,
}

/// A unit's new stock of a material.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStockRequest {
    /// How many the unit holds now.
    #[schema(minimum = 0, maximum = 1_000_000_000_i64)]
    pub quantity: i64,
}

/// A unit's stock of a material, as set.
#[derive(Serialize, ToSchema)]
pub struct StockLevelDto {
    /// The material.
    pub material_id: i64,
    /// The unit.
    pub org_unit_id: i64,
    /// How many it holds.
    #[schema(minimum = 0)]
    pub quantity: i64,
}

/// Creates a material with its starting stock (administrators).
#[utoipa::path(post, path = "", tag = "materials", request_body = CreateMaterialRequest, responses(
    (status = 201, description = "Created, with the stock the caller sees", body = MaterialDto),
))]
pub async fn create_material(
    caller: Caller<policy::AdminWrite>,
    body: Json<CreateMaterialRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let created = caller
        .state()
        .materials
        .create(
            &caller.actor(),
            MaterialInput {
                material_type_id: Some(MaterialTypeId(body.material_type_id)),
                title: Some(body.title),
                edition: Some(body.edition),
                unit_price_cents: Some(body.unit_price_cents),
                currency: body.currency,
                file_id: Some(body.file_id.map(FileId)),
                stock: body
                    .stock
                    .iter()
                    .map(|s| StockInput {
                        org_unit_id: OrgUnitId(s.org_unit_id),
                        quantity: s.quantity,
                    })
                    .collect(),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(MaterialDto::from(&created)))
}

/// Filters of the material list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MaterialFilterQuery {
    /// Only materials of this type.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub material_type_id: Option<QueryId>,
}

/// The materials, by title (the catalogue is the same for everyone and cached as static data),
/// each with the stock of the units in the caller's scope (read fresh).
#[utoipa::path(get, path = "", tag = "materials", params(MaterialFilterQuery, PageQuery), responses(
    (status = 200, description = "A page of materials", body = Page<MaterialDto>),
))]
pub async fn list_materials(
    caller: Caller<policy::Read>,
    filter: Query<MaterialFilterQuery>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller
        .state()
        .materials
        .list(
            &caller.actor(),
            filter.material_type_id.map(|id| MaterialTypeId(id.0)),
            page,
        )
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, |m| MaterialDto::from(&m))))
}

/// One material, with the stock of the units in the caller's scope.
#[utoipa::path(get, path = "/{id}", tag = "materials",
    params(("id" = i64, Path, description = "Material id", minimum = 1)),
    responses((status = 200, description = "The material", body = MaterialDto)))]
pub async fn get_material(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let found = caller
        .state()
        .materials
        .get(&caller.actor(), MaterialId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(MaterialDto::from(&found)))
}

/// Changes a material (administrators).
#[utoipa::path(patch, path = "/{id}", tag = "materials",
    params(("id" = i64, Path, description = "Material id", minimum = 1)),
    request_body = UpdateMaterialRequest,
    responses((status = 200, description = "Changed", body = MaterialDto)))]
pub async fn update_material(
    caller: Caller<policy::AdminWrite>,
    id: web::Path<i64>,
    body: Json<UpdateMaterialRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let updated = caller
        .state()
        .materials
        .update(
            &caller.actor(),
            MaterialId(id.into_inner()),
            MaterialInput {
                material_type_id: body.material_type_id.map(MaterialTypeId),
                title: body.title,
                edition: body.edition,
                unit_price_cents: body.unit_price_cents,
                currency: body.currency,
                file_id: body.file_id.map(|f| f.map(FileId)),
                stock: Vec::new(),
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(MaterialDto::from(&updated)))
}

/// Deletes a material and its stock (administrators); one that payments refer to is refused.
#[utoipa::path(delete, path = "/{id}", tag = "materials",
    params(("id" = i64, Path, description = "Material id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Payments refer to it (`material_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_material(
    caller: Caller<policy::AdminWrite>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .materials
        .delete(&caller.actor(), MaterialId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets a unit's stock of a material, for whoever may write in that unit (a unit outside the
/// caller's scope is not found).
#[utoipa::path(put, path = "/{id}/stock/{org_unit_id}", tag = "materials",
    params(
        ("id" = i64, Path, description = "Material id", minimum = 1),
        ("org_unit_id" = i64, Path, description = "Org unit id", minimum = 1),
    ),
    request_body = SetStockRequest,
    responses((status = 200, description = "The unit's stock now", body = StockLevelDto)))]
pub async fn set_stock(
    caller: Caller<policy::Write>,
    path: web::Path<(i64, i64)>,
    body: Json<SetStockRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, unit) = path.into_inner();
    let level = caller
        .state()
        .materials
        .set_stock(
            &caller.actor(),
            MaterialId(id),
            OrgUnitId(unit),
            body.into_inner().quantity,
        )
        .await?;
    Ok(HttpResponse::Ok().json(StockLevelDto {
        material_id: level.material_id.0,
        org_unit_id: level.org_unit_id.0,
        quantity: level.quantity,
    }))
}
