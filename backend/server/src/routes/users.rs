//! Users (administrators create them).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::accounts::{ChangeUser, CreateUser};
use tessera_domain::file::PageRequest;
use tessera_domain::members::MemberId;
use tessera_domain::org::OrgUnitId;
use tessera_domain::user::User;
use tessera_domain::user::UserId;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A user as the API shows it (never the password hash).
#[derive(Serialize, ToSchema)]
pub struct UserDto {
    /// Id.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Whether the user is an administrator.
    pub is_admin: bool,
    /// Whether the user is a treasurer.
    pub is_treasurer: bool,
    /// Whether the user may log in.
    pub is_active: bool,
    /// The user's org unit.
    pub org_unit_id: Option<i64>,
    /// The user's own member record, if linked.
    pub member_id: Option<i64>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserDto {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.0,
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            is_admin: user.is_admin,
            is_treasurer: user.is_treasurer,
            is_active: user.is_active,
            org_unit_id: user.org_unit.as_ref().map(|u| u.id.0),
            member_id: user.member_id.map(|m| m.0),
            created_at: user.created_at,
        }
    }
}

/// A new user.
#[derive(Deserialize, ToSchema)]
pub struct CreateUserRequest {
    /// Login email (unique).
    pub email: String,
    /// 8 to 256 characters.
    pub password: String,
    /// Display name.
    pub name: String,
    /// Whether the user is an administrator (default false).
    #[serde(default)]
    pub is_admin: bool,
    /// The user's org unit: its data and everything below it is what the user sees.
    pub org_unit_id: Option<i64>,
    /// Whether the user is a treasurer (default false).
    #[serde(default)]
    pub is_treasurer: bool,
    /// The user's own member record.
    pub member_id: Option<i64>,
}

/// Creates a user (administrators only).
#[utoipa::path(post, path = "/api/users", tag = "users", security(("bearer" = [])), request_body = CreateUserRequest, responses(
    (status = 201, description = "Created", body = UserDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields (an unknown org_unit_id included)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = state
        .accounts
        .create_user(
            &caller.actor(),
            CreateUser {
                email: body.email,
                password: body.password,
                name: body.name,
                is_admin: body.is_admin,
                is_treasurer: body.is_treasurer,
                org_unit_id: body.org_unit_id.map(OrgUnitId),
                member_id: body.member_id.map(MemberId),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(UserDto::from(&user)))
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    /// The users of this page, by id.
    pub items: Vec<UserDto>,
    /// The page number (1-based).
    pub page: u32,
    /// The page size.
    pub per_page: u32,
    /// How many users exist.
    pub total: i64,
}

/// Paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    pub per_page: Option<u32>,
}

/// A change to a user; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// New login email.
    pub email: Option<String>,
    /// New password (8 to 256 characters).
    pub password: Option<String>,
    /// New display name.
    pub name: Option<String>,
    /// New administrator flag.
    pub is_admin: Option<bool>,
    /// New treasurer flag.
    pub is_treasurer: Option<bool>,
    /// New active flag; inactive users cannot log in or use their tokens.
    pub is_active: Option<bool>,
    /// New org unit; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub org_unit_id: Option<Option<i64>>,
    /// New member link; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub member_id: Option<Option<i64>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Lists users (administrators only).
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])), params(UserListQuery), responses(
    (status = 200, description = "A page of users", body = UserPage),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<UserListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.page, query.per_page)?;
    let found = state.accounts.list_users(&caller.actor(), page).await?;
    Ok(HttpResponse::Ok().json(UserPage {
        items: found.items.iter().map(UserDto::from).collect(),
        page: page.page,
        per_page: page.per_page,
        total: found.total,
    }))
}

/// One user (administrators; anyone for themselves).
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserDto),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .accounts
        .get_user(&caller.actor(), UserId(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}

/// Changes a user (administrators only; not their own admin or active flag).
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")), request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed", body = UserDto),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or demoting oneself", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let change = ChangeUser {
        email: body.email,
        password: body.password,
        name: body.name,
        is_admin: body.is_admin,
        is_treasurer: body.is_treasurer,
        is_active: body.is_active,
        org_unit_id: body.org_unit_id.map(|unit| unit.map(OrgUnitId)),
        member_id: body.member_id.map(|member| member.map(MemberId)),
    };
    let user = state
        .accounts
        .update_user(&caller.actor(), UserId(id.into_inner()), change)
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}

/// Deletes a user with no files (administrators only, not themselves); otherwise deactivate it.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or deleting oneself", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user still has files (`user_in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .accounts
        .delete_user(&caller.actor(), UserId(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
