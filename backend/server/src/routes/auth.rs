//! `/api/auth`: logging in and out, refreshing a session, the caller's own account and its
//! one-time codes.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_domain::access::rate_limit::{Policy, Subject};
use tessera_domain::accounts::sessions::{NewSession, Refresh};
use tessera_domain::accounts::User;
use tessera_domain::audit::{AuditAction, NewAuditEvent};
use tessera_domain::shared::DomainError;
use tessera_domain::shared::ErrorCode;
use utoipa::ToSchema;
use utoipa_actix_web::scope::Scope;

use crate::http::body::optional_json;
use crate::http::caller::{policy, Anonymous, Caller, Credential};
use crate::http::endpoint::endpoints;
use crate::http::extract::Json;
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
    #[schema(pattern = r"^\s*[0-9]{6}\s*$")]
    pub otp_code: Option<String>,
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
    /// `null` only when the session store was unreachable at login.
    pub refresh_token: Option<String>,
    /// Seconds the session lives unless refreshed.
    pub refresh_expires_in: u64,
    /// The logged-in user.
    pub user: UserDto,
}

impl TokenResponse {
    /// The answer for `user` signed in to `session`.
    fn new(state: &AppState, user: &User, session: Option<NewSession>) -> Result<Self, ApiError> {
        Ok(Self {
            access_token: state.jwt.issue(user.id, session.as_ref().map(|s| &s.id))?,
            token_type: TokenType::Bearer,
            expires_in: state.jwt.ttl().as_secs(),
            refresh_token: session.map(|s| s.refresh_token.expose().to_owned()),
            refresh_expires_in: state.sessions.ttl().as_secs(),
            user: UserDto::from(user),
        })
    }
}

/// Logs in with email, password and (when enabled) a one-time code; answers an access token and
/// a refresh token. Limited per account and per address (`RATE_LIMIT_LOGIN_PER_MINUTE`).
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, description = "Logged in", body = TokenResponse),
    (status = 401, description = "Wrong email or password (`unauthenticated`), a one-time code needed (`otp_required`) or wrong (`otp_invalid`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(caller: Anonymous, body: Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let ip = caller.ip.as_str();
    let limits = state.settings.rate_limits;
    let login = Policy::per_minute("login", limits.login_per_minute);
    let mut checks = vec![
        (login, Subject::Ip(ip)),
        (login, Subject::Account(&body.email)),
    ];
    if body.otp_code.is_some() {
        let otp = Policy::per_minute("otp", limits.otp_per_minute);
        checks.extend([(otp, Subject::Ip(ip)), (otp, Subject::Account(&body.email))]);
    }
    let attempt = |action| {
        NewAuditEvent::new(action, None)
            // An email is at most 254 characters; anything longer is cut so a flood of long
            // strings cannot bloat the log.
            .subject(format!(
                "email:{}",
                body.email
                    .trim()
                    .to_lowercase()
                    .chars()
                    .take(254)
                    .collect::<String>()
            ))
            .from_ip(Some(ip.to_owned()))
    };
    if let Some(decision) = state.limiter.hit_all(&checks).await {
        if !decision.allowed {
            if decision.is_first_refusal() {
                state
                    .audit
                    .record(
                        attempt(AuditAction::RateLimited)
                            .detail(json!({"policy": decision.policy.name})),
                    )
                    .await;
            }
            return Err(ApiError::RateLimited(decision));
        }
    }
    let user = match state
        .accounts
        .authenticate(&body.email, &body.password, body.otp_code.as_deref())
        .await
    {
        Ok(user) => user,
        Err(e) => {
            let reason = match &e {
                DomainError::Unauthenticated(_) => Some("invalid_credentials"),
                DomainError::OtpInvalid => Some("otp_invalid"),
                // The first step of a two-step login, not a failure.
                _ => None,
            };
            if let Some(reason) = reason {
                state
                    .audit
                    .record(attempt(AuditAction::LoginFailed).detail(json!({"reason": reason})))
                    .await;
            }
            return Err(e.into());
        }
    };
    // Redis being down must not stop anyone logging in: the login then has no refresh token.
    let session = match state.sessions.start(user.id).await {
        Ok(session) => Some(session),
        Err(DomainError::Unavailable(_)) => None,
        Err(e) => return Err(e.into()),
    };
    state
        .audit
        .record(
            NewAuditEvent::new(AuditAction::LoginSucceeded, Some(user.id))
                .subject(format!("user:{}", user.id.0))
                .from_ip(Some(ip.to_owned())),
        )
        .await;
    tracing::info!(user_id = user.id.0, "login succeeded");
    Ok(HttpResponse::Ok().json(TokenResponse::new(state, &user, session)?))
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
    let session = match state.sessions.refresh(&body.refresh_token).await? {
        Refresh::Rotated(session) => session,
        Refresh::Reused { id, user_id } => {
            tracing::warn!(
                user_id = user_id.0,
                session = id.as_str(),
                "a retired refresh token was used again; the session is ended"
            );
            state
                .audit
                .record(
                    NewAuditEvent::new(AuditAction::RefreshTokenReused, None)
                        .subject(format!("user:{}", user_id.0))
                        .from_ip(Some(caller.ip.clone())),
                )
                .await;
            return Err(ApiError::unauthenticated(
                "the refresh token was already used: the session has ended, log in again",
            ));
        }
    };
    let user = match state.accounts.user(session.user_id).await {
        Ok(user) => user,
        Err(DomainError::NotFound(_)) => {
            state.sessions.end(&session.id).await?;
            return Err(ApiError::unauthenticated(
                "the refresh token is invalid or expired",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok().json(TokenResponse::new(state, &user, Some(session))?))
}

/// What logging out ends.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// End every session of the caller, not only this one.
    #[serde(default)]
    pub everywhere: bool,
}

/// Logs out: ends the caller's session (or all of them), refuses its access token until it
/// expires, and drops the caller's cached data. The body is optional.
#[utoipa::path(post, path = "/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "Optional; none means `{}`"),
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    caller: Caller<policy::Session>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: LogoutRequest = optional_json(&body)?;
    let state = caller.state();
    let Credential::Access(token) = &caller.credential else {
        return Err(ApiError::problem(
            ErrorCode::SessionRequired,
            "logging out needs a login session, not an API token",
        ));
    };
    state
        .sessions
        .refuse_access_token(&token.jti, token.expires_at)
        .await?;
    if request.everywhere {
        state.sessions.end_all(caller.user.id, None).await?;
    } else if let Some(session) = &token.session {
        state.sessions.end(session).await?;
    }
    state.accounts.forget(caller.user.id).await;
    state
        .audit
        .record(
            NewAuditEvent::new(AuditAction::Logout, Some(caller.user.id))
                .subject(format!("user:{}", caller.user.id.0))
                .from_ip(Some(caller.ip.clone()))
                .detail(json!({"everywhere": request.everywhere})),
        )
        .await;
    tracing::info!(
        user_id = caller.user.id.0,
        everywhere = request.everywhere,
        "logged out"
    );
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account.
#[utoipa::path(get, path = "/me", tag = "auth", responses(
    (status = 200, description = "The caller", body = UserDto),
))]
pub async fn me(caller: Caller<policy::Read>) -> HttpResponse {
    HttpResponse::Ok().json(UserDto::from(&caller.user))
}

/// A change to one's own account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// New display name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// New password (8 to 256 characters); needs `current_password`.
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// The current password, required with `password`.
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: Option<String>,
}

/// Changes the caller's own name or password.
#[utoipa::path(patch, path = "/me", tag = "auth", request_body = UpdateMeRequest, responses(
    (status = 200, description = "Changed", body = UserDto),
    (status = 422, description = "Invalid fields, or a wrong current password", body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_me(
    caller: Caller<policy::Session>,
    body: Json<UpdateMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = caller
        .state()
        .accounts
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
    #[schema(pattern = r"^\s*[0-9]{6}\s*$")]
    pub code: String,
}

/// Starts TOTP enrolment for the caller: a new secret, its otpauth URL and a QR code.
#[utoipa::path(post, path = "/otp/setup", tag = "auth", responses(
    (status = 200, description = "Enrolment started", body = OtpSetupResponse),
    (status = 409, description = "Already enabled (`otp_already_enabled`)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_setup(caller: Caller<policy::Session>) -> Result<HttpResponse, ApiError> {
    let (user, secret) = caller.state().accounts.otp_setup(&caller.actor()).await?;
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
#[utoipa::path(post, path = "/otp/enable", tag = "auth", request_body = OtpCodeRequest, responses(
    (status = 204, description = "Enabled"),
    (status = 409, description = "No enrolment (`otp_not_enrolled`)", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Wrong or reused code", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_enable(
    caller: Caller<policy::Session>,
    body: Json<OtpCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    otp_attempt(&caller).await?;
    if caller
        .state()
        .accounts
        .otp_enable(&caller.actor(), &body.code)
        .await?
    {
        otp_changed(&caller, AuditAction::OtpEnabled).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Turns one-time codes off; needs a current code.
#[utoipa::path(post, path = "/otp/disable", tag = "auth", request_body = OtpCodeRequest, responses(
    (status = 204, description = "Disabled"),
    (status = 422, description = "Wrong or reused code", body = Problem, content_type = "application/problem+json"),
))]
pub async fn otp_disable(
    caller: Caller<policy::Session>,
    body: Json<OtpCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    otp_attempt(&caller).await?;
    if caller
        .state()
        .accounts
        .otp_disable(&caller.actor(), &body.code)
        .await?
    {
        otp_changed(&caller, AuditAction::OtpDisabled).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Counts a one-time code attempt against the caller and its address.
async fn otp_attempt(caller: &Caller<policy::Session>) -> Result<(), ApiError> {
    let state = caller.state();
    let otp = Policy::per_minute("otp", state.settings.rate_limits.otp_per_minute);
    let checks = [
        (otp, Subject::Ip(&caller.ip)),
        (otp, Subject::User(caller.user.id.0)),
    ];
    match state.limiter.hit_all(&checks).await {
        Some(decision) if !decision.allowed => {
            if decision.is_first_refusal() {
                state
                    .audit
                    .record(
                        NewAuditEvent::new(AuditAction::RateLimited, Some(caller.user.id))
                            .subject(format!("user:{}", caller.user.id.0))
                            .from_ip(Some(caller.ip.clone()))
                            .detail(json!({"policy": "otp"})),
                    )
                    .await;
            }
            Err(ApiError::RateLimited(decision))
        }
        _ => Ok(()),
    }
}

async fn otp_changed(caller: &Caller<policy::Session>, action: AuditAction) {
    caller
        .state()
        .audit
        .record(
            NewAuditEvent::new(action, Some(caller.user.id))
                .subject(format!("user:{}", caller.user.id.0))
                .from_ip(Some(caller.ip.clone())),
        )
        .await;
}
