//! `/api/audit`: the audit log of security events (administrators).

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::audit::{AuditAction, AuditEvent, AuditFilter};
use tessera_domain::shared::UserId;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::Query;
use crate::http::paging::{Page, PageQuery};
use crate::http::problem::ApiError;
use crate::routes::Routes;

/// The routes of `/api/audit`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/audit").service(endpoints![list_audit])
}

/// What happened.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditActionDto {
    /// A login succeeded.
    LoginSucceeded,
    /// A login failed (wrong email, password or one-time code).
    LoginFailed,
    /// A login or one-time code was refused by its rate limit.
    RateLimited,
    /// A session was logged out.
    Logout,
    /// A retired refresh token came back; its session was ended.
    RefreshTokenReused,
    /// One-time codes were turned on.
    OtpEnabled,
    /// One-time codes were turned off.
    OtpDisabled,
    /// An API token was created.
    TokenCreated,
    /// An API token was revoked.
    TokenRevoked,
    /// File URLs were removed from the cache.
    CacheCleared,
}

impl From<AuditActionDto> for AuditAction {
    fn from(action: AuditActionDto) -> Self {
        match action {
            AuditActionDto::LoginSucceeded => AuditAction::LoginSucceeded,
            AuditActionDto::LoginFailed => AuditAction::LoginFailed,
            AuditActionDto::RateLimited => AuditAction::RateLimited,
            AuditActionDto::Logout => AuditAction::Logout,
            AuditActionDto::RefreshTokenReused => AuditAction::RefreshTokenReused,
            AuditActionDto::OtpEnabled => AuditAction::OtpEnabled,
            AuditActionDto::OtpDisabled => AuditAction::OtpDisabled,
            AuditActionDto::TokenCreated => AuditAction::TokenCreated,
            AuditActionDto::TokenRevoked => AuditAction::TokenRevoked,
            AuditActionDto::CacheCleared => AuditAction::CacheCleared,
        }
    }
}

/// One security event.
#[derive(Serialize, ToSchema)]
pub struct AuditEventDto {
    /// Id; ids grow with time.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    #[schema(value_type = AuditActionDto)]
    pub action: String,
    /// Who did it, when known.
    pub actor_user_id: Option<i64>,
    /// What it was done to (`user:7`, `token:3`, `email:ana@example.org`, `file_url:*`).
    pub subject: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// Anything else recorded.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventDto {
    fn from(event: &AuditEvent) -> Self {
        Self {
            id: event.id,
            at: event.at,
            action: event.action.clone(),
            actor_user_id: event.actor_user_id.map(|u| u.0),
            subject: event.subject.clone(),
            client_ip: event.client_ip.clone(),
            detail: event.detail.clone(),
        }
    }
}

/// Filters of the audit log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action.
    pub action: Option<AuditActionDto>,
    /// Only events by this user.
    #[param(minimum = 1)]
    pub user_id: Option<i64>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "", tag = "audit", params(AuditQuery, PageQuery), responses(
    (status = 200, description = "A page of events", body = Page<AuditEventDto>),
))]
pub async fn list_audit(
    caller: Caller<policy::AdminRead>,
    query: Query<AuditQuery>,
    paging: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let filter = AuditFilter {
        action: query.action.map(AuditAction::from),
        actor: query.user_id.map(UserId),
    };
    let events = caller
        .state()
        .audit
        .list(&caller.actor(), filter, page)
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(events, page, |e| AuditEventDto::from(&e))))
}
