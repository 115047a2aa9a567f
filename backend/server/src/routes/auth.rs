//! `/api/auth`: logging in and out, refreshing a session, the caller's own account and its
//! one-time codes. The use-cases live in the domain's `AuthService`; these handlers translate.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use tessera_domain::accounts::{LoginAttempt, SignedIn};
use tessera_domain::shared::ErrorCode;
use utoipa::ToSchema;
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Anonymous, Caller, Credential};
use crate::http::endpoint::endpoints;
use crate::http::extract::{Json, OptionalJson};
use crate::http::problem::{ApiError, Problem};
use crate::routes::users::UserDto;
use crate::routes::Routes;
use crate::state::AppState;

/// The routes of `/api/auth`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/auth")
        .service(endpoints![login])
        .service(endpoints![refresh])
        .service(endpoints![logout])
        .service(endpoints![me, update_me])
        .service(endpoints![otp_setup])
        .service(endpoints![otp_enable])
        .service(endpoints![otp_disable])
}

/// Credentials.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Login email.
    #[schema(min_length = 1, max_length = 1024)]
    pub email: String,
    /// Password.
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
    /// The current one-time code, for accounts with one-time codes enabled.
    #[schema(pattern = r"^[0-9]{6}$")]
    pub otp_code: Option<String>,
    /// One of the account's recovery codes, in place of `otp_code` (each works once).
    #[schema(min_length = 1, max_length = 64)]
    pub recovery_code: Option<String>,
}

/// Always `Bearer`.
#[derive(Serialize, ToSchema)]
pub enum TokenType {
    /// A bearer token.
    Bearer,
}

/// An access token, the refresh token of its session, and who they belong to.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque token for `POST /api/auth/refresh`; each use answers a new one and retires it.
    pub refresh_token: String,
    /// Seconds the session lives unless refreshed.
    pub refresh_expires_in: u64,
    /// The logged-in user (`must_change_password` true: set a new password first).
    pub user: UserDto,
}

impl TokenResponse {
    /// The answer for a user signed in.
    fn new(state: &AppState, signed_in: SignedIn) -> Result<Self, ApiError> {
        let SignedIn { user, session } = signed_in;
        Ok(Self {
            access_token: state.jwt.issue(user.id, &session.id)?,
            token_type: TokenType::Bearer,
            expires_in: state.jwt.ttl().as_secs(),
            refresh_token: session.refresh_token.expose().to_owned(),
            refresh_expires_in: state.sessions.ttl().as_secs(),
            user: UserDto::from(&user),
        })
    }
}

/// Logs in with email, password and (when enabled) a one-time or recovery code; answers an
/// access token and a refresh token. Limited per account and per address
/// (`RATE_LIMIT_LOGIN_PER_MINUTE`, and `RATE_LIMIT_OTP_PER_MINUTE` for codes).
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, description = "Logged in", body = TokenResponse),
    (status = 401, description = "Wrong email or password (`unauthenticated`), a one-time code needed (`otp_required`) or wrong (`otp_invalid`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(caller: Anonymous, body: Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let signed_in = state
        .auth
        .login(LoginAttempt {
            email: &body.email,
            password: &body.password,
            otp_code: body.otp_code.as_deref(),
            recovery_code: body.recovery_code.as_deref(),
            ip: caller.ip,
        })
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse::new(state, signed_in)?))
}

/// A refresh token to exchange.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the login or the last refresh.
    #[schema(min_length = 1, max_length = 1024)]
    pub refresh_token: String,
}

/// Exchanges a refresh token for a new access token and a new refresh token (the old one is
/// retired). Presenting a retired token again ends the whole session.
#[utoipa::path(post, path = "/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, description = "Refreshed", body = TokenResponse),
    (status = 401, description = "The refresh token is invalid, expired, or was already used (which ends its session)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn refresh(
    caller: Anonymous,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let signed_in = state.auth.refresh(&body.refresh_token, caller.ip).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::new(state, signed_in)?))
}

/// What logging out ends.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// End every session of the caller, not only this one.
    #[serde(default)]
    pub everywhere: bool,
    /// The refresh token the client holds: its session ends too when it is the caller's.
    #[schema(min_length = 1, max_length = 1024)]
    pub refresh_token: Option<String>,
}

/// Logs out: ends the caller's session (or all of them), so its access and refresh tokens stop
/// working at once, and drops the caller's cached data. The body is optional.
#[utoipa::path(post, path = "/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "Optional; none means `{}`"),
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    caller: Caller<policy::Own>,
    body: OptionalJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let Credential::Access(token) = &caller.credential else {
        return Err(ApiError::problem(
            ErrorCode::SessionRequired,
            "logging out needs a login session, not an API token",
        ));
    };
    caller
        .state()
        .auth
        .logout(
            &caller.actor(),
            &token.session,
            request.refresh_token.as_deref(),
            request.everywhere,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account.
#[utoipa::path(get, path = "/me", tag = "auth", responses(
    (status = 200, description = "The caller", body = UserDto),
))]
pub async fn me(caller: Caller<policy::OwnRead>) -> HttpResponse {
    HttpResponse::Ok().json(UserDto::from(&caller.user))
}

/// A change to one's own account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// New display name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// New password (8 to 256 characters); needs `current_password`.
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// The current password, required with `password`.
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: Option<String>,
}

/// Changes the caller's own name or password. A new password ends the caller's other sessions
/// and clears a reset by an administrator; the current password is checked under the login
/// limits.
#[utoipa::path(patch, path = "/me", tag = "auth", request_body = UpdateMeRequest, responses(
    (status = 200, description = "Changed", body = UserDto),
))]
pub async fn update_me(
    caller: Caller<policy::Own>,
    body: Json<UpdateMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = caller
        .state()
        .auth
        .update_self(
            &caller.actor(),
            caller.session(),
            body.name,
            body.password,
            body.current_password,
        )
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(&user)))
}

/// The caller's current password, which every change to its one-time codes needs.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpSetupRequest {
    /// The current password.
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: String,
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

/// A one-time code, with the current password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpCodeRequest {
    /// The current password.
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: String,
    /// The six digits the authenticator shows now.
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
}

/// One-time codes turned on.
#[derive(Serialize, ToSchema)]
pub struct OtpEnabledResponse {
    /// Ten single-use codes that log in in place of a one-time code (`recovery_code`): shown
    /// only now, keep them safe. Empty when codes were on already (nothing changed).
    pub recovery_codes: Vec<String>,
}

/// Starts TOTP enrolment for the caller: a new secret, its otpauth URL and a QR code.
#[utoipa::path(post, path = "/otp/setup", tag = "auth", request_body = OtpSetupRequest, responses(
    (status = 200, description = "Enrolment started", body = OtpSetupResponse),
    (status = 409, description = "Already enabled (`otp_already_enabled`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_setup(
    caller: Caller<policy::Session>,
    body: Json<OtpSetupRequest>,
) -> Result<HttpResponse, ApiError> {
    let (user, secret) = caller
        .state()
        .auth
        .otp_setup(&caller.actor(), Some(body.into_inner().current_password))
        .await?;
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

/// Turns one-time codes on, after the current password and a correct code for the enrolled
/// secret; answers ten recovery codes.
#[utoipa::path(post, path = "/otp/enable", tag = "auth", request_body = OtpCodeRequest, responses(
    (status = 200, description = "Enabled; the recovery codes are shown only here", body = OtpEnabledResponse),
    (status = 409, description = "No enrolment (`otp_not_enrolled`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_enable(
    caller: Caller<policy::Session>,
    body: Json<OtpCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let recovery = caller
        .state()
        .auth
        .otp_enable(&caller.actor(), Some(body.current_password), &body.code)
        .await?;
    Ok(HttpResponse::Ok().json(OtpEnabledResponse {
        recovery_codes: recovery.map(|r| r.codes).unwrap_or_default(),
    }))
}

/// Turns one-time codes off (and voids the recovery codes); needs the current password and a
/// current code.
#[utoipa::path(post, path = "/otp/disable", tag = "auth", request_body = OtpCodeRequest, responses(
    (status = 204, description = "Disabled"),
))]
pub async fn otp_disable(
    caller: Caller<policy::Session>,
    body: Json<OtpCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    caller
        .state()
        .auth
        .otp_disable(&caller.actor(), Some(body.current_password), &body.code)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
