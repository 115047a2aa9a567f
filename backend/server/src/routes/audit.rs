//! The audit log of security events (administrators).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::audit::{parse_action, AuditEvent, AuditFilter};
use tessera_domain::file::PageRequest;
use tessera_domain::user::UserId;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// One security event.
#[derive(Serialize, ToSchema)]
pub struct AuditEventDto {
    /// Id; ids grow with time.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened: `login_succeeded`, `login_failed`, `rate_limited`, `logout`,
    /// `refresh_token_reused`, `otp_enabled`, `otp_disabled`, `token_created`, `token_revoked`,
    /// `cache_cleared`.
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

/// A page of events.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// The events of this page, newest first.
    pub items: Vec<AuditEventDto>,
    /// The page number (1-based).
    pub page: u32,
    /// The page size.
    pub per_page: u32,
    /// How many events match.
    pub total: i64,
}

/// Filters and paging.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action.
    pub action: Option<String>,
    /// Only events by this user.
    pub user_id: Option<i64>,
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    pub per_page: Option<u32>,
}

/// The audit log, newest first (administrators only).
#[utoipa::path(get, path = "/api/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery), responses(
    (status = 200, description = "A page of events", body = AuditPage),
    (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Unknown action or bad paging", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_audit(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.page, query.per_page)?;
    let filter = AuditFilter {
        action: query.action.as_deref().map(parse_action).transpose()?,
        actor: query.user_id.map(UserId),
    };
    let events = state.audit.list(&caller.actor(), filter, page).await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        items: events.items.iter().map(AuditEventDto::from).collect(),
        page: page.page,
        per_page: page.per_page,
        total: events.total,
    }))
}
