//! `/api/audit`: the audit log of security events (administrators).

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::audit::{parse_action, AuditAction, AuditEvent, AuditFilter};
use tessera_domain::shared::UserId;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::PartialSchema;
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

/// The spec's view of the audit actions: a string enum of every name the log records.
pub struct ActionName;

impl PartialSchema for ActionName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("What happened"))
            .enum_values(Some(AuditAction::ALL.iter().map(|a| a.as_str())))
            .into()
    }
}

impl ToSchema for ActionName {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("AuditAction")
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
    #[schema(value_type = ActionName)]
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
    #[param(value_type = Option<ActionName>)]
    pub action: Option<String>,
    /// Only events by this user.
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
        action: query.action.as_deref().map(parse_action).transpose()?,
        actor: query.user_id.map(UserId),
    };
    let events = caller
        .state()
        .audit
        .list(&caller.actor(), filter, page)
        .await?;
    Ok(HttpResponse::Ok().json(Page::of(events, page, |e| AuditEventDto::from(&e))))
}
