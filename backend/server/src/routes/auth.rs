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
    /// The current one-time code, for accounts with one-time codes enabled.
    pub otp_code: Option<String>,
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
    (status = 401, description = "Wrong email or password (`unauthenticated`), a one-time code needed (`otp_required`) or wrong (`otp_invalid`)", body = Problem, content_type = "application/problem+json"),
    (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .accounts
        .authenticate(&body.email, &body.password, body.otp_code.as_deref())
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

/// A new TOTP enrolment: type the secret or scan the QR code, then enable with a code.
#[derive(Serialize, ToSchema)]
pub struct OtpSetupResponse {
    /// The base32 secret.
    pub secret: String,
    /// The `otpauth://` URL authenticator apps read.
    pub otpauth_url: String,
    /// The URL as a QR code, base64 PNG.
    pub qr_png_base64: String,
}

/// A one-time code.
#[derive(Deserialize, ToSchema)]
pub struct OtpCodeRequest {
    /// The six digits the authenticator shows now.
    pub code: String,
}

/// Starts TOTP enrolment for the caller: a new secret, its otpauth URL and a QR code.
#[utoipa::path(post, path = "/api/auth/otp/setup", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, description = "Enrolment started", body = OtpSetupResponse),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Already enabled (`otp_already_enabled`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_setup(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let (user, secret) = state.accounts.otp_setup(&user.actor()).await?;
    let account = user.email.as_str();
    let qr_png_base64 = secret
        .qr_png_base64(account)
        .map_err(|e| ApiError::Domain(anyhow::anyhow!("drawing the QR code failed: {e}").into()))?;
    Ok(HttpResponse::Ok().json(OtpSetupResponse {
        secret: secret.expose_base32().to_owned(),
        otpauth_url: secret.otpauth_url(account),
        qr_png_base64,
    }))
}

/// Turns one-time codes on, after a correct code for the enrolled secret.
#[utoipa::path(post, path = "/api/auth/otp/enable", tag = "auth", security(("bearer" = [])), request_body = OtpCodeRequest, responses(
    (status = 204, description = "Enabled"),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "No enrolment (`otp_not_enrolled`)", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Wrong or reused code", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_enable(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<OtpCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    state.accounts.otp_enable(&user.actor(), &body.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Turns one-time codes off; needs a current code.
#[utoipa::path(post, path = "/api/auth/otp/disable", tag = "auth", security(("bearer" = [])), request_body = OtpCodeRequest, responses(
    (status = 204, description = "Disabled"),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Wrong or reused code", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_disable(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<OtpCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .accounts
        .otp_disable(&user.actor(), &body.code)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
