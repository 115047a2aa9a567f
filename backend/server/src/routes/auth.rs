//! Login and the caller's own account.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::routes::users::UserDto;
use crate::state::AppState;

/// Credentials.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// An access token and who it belongs to.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The logged-in user.
    pub user: UserDto,
}

/// Logs in with email and password; answers a bearer access token.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, description = "Logged in", body = TokenResponse),
    (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
    (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .accounts
        .authenticate(&body.email, &body.password)
        .await?;
    let access_token = state.jwt.issue(&user)?;
    tracing::info!(user_id = user.id.0, "login succeeded");
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl().as_secs(),
        user: UserDto::from(&user),
    }))
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, description = "The caller", body = UserDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
))]
pub async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(UserDto::from(&user.0))
}

/// A change to one's own account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// New display name.
    pub name: Option<String>,
    /// New password (8 to 256 characters); needs `current_password`.
    pub password: Option<String>,
    /// The current password, required with `password`.
    pub current_password: Option<String>,
}

/// Changes the caller's own name or password.
#[utoipa::path(patch, path = "/api/auth/me", tag = "auth", security(("bearer" = [])), request_body = UpdateMeRequest, responses(
    (status = 200, description = "Changed", body = UserDto),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, or a wrong current password", body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<UpdateMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = state
        .accounts
        .update_self(
            &user.actor(),
            body.name,
            body.password,
            body.current_password,
        )
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}
