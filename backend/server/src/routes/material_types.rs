//! `/api/material-types`: the kinds of material the organisation distributes. Everyone reads
//! them; administrators write them.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::materials::{MaterialType, MaterialTypeChange};
use tessera_domain::shared::MaterialTypeId;
use utoipa::ToSchema;
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, Query};
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::{ApiError, Problem};
use crate::routes::users::present;
use crate::routes::Routes;

/// The routes of `/api/material-types`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/material-types")
        .service(endpoints![create_material_type, list_material_types])
        .service(endpoints![
            get_material_type,
            update_material_type,
            delete_material_type
        ])
}

/// A material type as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct MaterialTypeDto {
    /// Id.
    pub id: i64,
    /// Its name (unique).
    pub name: String,
    /// What it covers.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<&MaterialType> for MaterialTypeDto {
    fn from(t: &MaterialType) -> Self {
        Self {
            id: t.id.0,
            name: t.name.clone(),
            description: t.description.clone(),
            created_at: t.created_at,
        }
    }
}

/// A new material type.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMaterialTypeRequest {
    /// Its name, unique.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// What it covers (line breaks and tabs allowed, no other control characters).
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: Option<String>,
}

/// A change to a material type; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMaterialTypeRequest {
    /// Its new name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// Its new description; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(
        value_type = Option<String>,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: Option<Option<String>>,
}

/// Creates a material type (administrators).
#[utoipa::path(post, path = "", tag = "materials", request_body = CreateMaterialTypeRequest, responses(
    (status = 201, description = "Created", body = MaterialTypeDto),
    (status = 409, description = "The name is taken (`material_type_exists`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_material_type(
    caller: Caller<policy::AdminWrite>,
    body: Json<CreateMaterialTypeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let created = caller
        .state()
        .materials
        .create_type(
            &caller.actor(),
            MaterialTypeChange {
                name: Some(body.name),
                description: Some(body.description),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(MaterialTypeDto::from(&created)))
}

/// The material types, by name (the same for everyone; cached as static data).
#[utoipa::path(get, path = "", tag = "materials", params(PageQuery), responses(
    (status = 200, description = "A page of material types", body = Page<MaterialTypeDto>),
))]
pub async fn list_material_types(
    caller: Caller<policy::Read>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = caller
        .state()
        .materials
        .list_types(&caller.actor(), page)
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(found, page, |t| MaterialTypeDto::from(&t))))
}

/// One material type.
#[utoipa::path(get, path = "/{id}", tag = "materials",
    params(("id" = i64, Path, description = "Material type id", minimum = 1)),
    responses((status = 200, description = "The material type", body = MaterialTypeDto)))]
pub async fn get_material_type(
    caller: Caller<policy::Read>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let found = caller
        .state()
        .materials
        .get_type(&caller.actor(), MaterialTypeId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(MaterialTypeDto::from(&found)))
}

/// Renames a material type or changes its description (administrators).
#[utoipa::path(patch, path = "/{id}", tag = "materials",
    params(("id" = i64, Path, description = "Material type id", minimum = 1)),
    request_body = UpdateMaterialTypeRequest,
    responses(
        (status = 200, description = "Changed", body = MaterialTypeDto),
        (status = 409, description = "The name is taken (`material_type_exists`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_material_type(
    caller: Caller<policy::AdminWrite>,
    id: web::Path<i64>,
    body: Json<UpdateMaterialTypeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let updated = caller
        .state()
        .materials
        .update_type(
            &caller.actor(),
            MaterialTypeId(id.into_inner()),
            MaterialTypeChange {
                name: body.name,
                description: body.description,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(MaterialTypeDto::from(&updated)))
}

/// Deletes a material type no material is of (administrators).
#[utoipa::path(delete, path = "/{id}", tag = "materials",
    params(("id" = i64, Path, description = "Material type id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Materials are of this type (`material_type_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_material_type(
    caller: Caller<policy::AdminWrite>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller
        .state()
        .materials
        .delete_type(&caller.actor(), MaterialTypeId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
