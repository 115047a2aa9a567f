//! Users (administrators create them).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::accounts::CreateUser;
use tessera_domain::org::OrgUnitId;
use tessera_domain::user::User;
use utoipa::ToSchema;

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
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(UserDto::from(&user)))
}
