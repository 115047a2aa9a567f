//! The audit log: every security event is recorded; administrators read them.

use std::sync::Arc;

use crate::access::Actor;
use crate::audit::model::{AuditAction, AuditEvent, AuditFilter, NewAuditEvent};
use crate::audit::repo::AuditRepo;
use crate::shared::{DomainResult, Page, PageRequest};

/// Records and lists security events.
pub struct AuditLog {
    events: Arc<dyn AuditRepo>,
}

impl AuditLog {
    /// The log kept in `events`.
    pub fn new(events: Arc<dyn AuditRepo>) -> Self {
        Self { events }
    }

    /// Records an event. A failure is logged, never returned: the audited action has happened.
    pub async fn record(&self, event: NewAuditEvent) {
        let action = event.action;
        if let Err(e) = self.events.insert_audit_event(event).await {
            tracing::error!(action = action.as_str(), error = %e, "could not record an audit event");
        }
    }

    /// Records what `actor` did to `subject` (`member:7`), from the actor's address.
    pub async fn act(
        &self,
        actor: &Actor,
        action: AuditAction,
        subject: String,
        detail: serde_json::Value,
    ) {
        self.record(
            NewAuditEvent::new(action, Some(actor.user_id))
                .subject(subject)
                .from_ip(actor.ip)
                .detail(detail),
        )
        .await;
    }

    /// Events, newest first (administrators only).
    pub async fn list(
        &self,
        actor: &Actor,
        filter: AuditFilter,
        page: PageRequest,
    ) -> DomainResult<Page<AuditEvent>> {
        actor.require_admin()?;
        self.events.list_audit_events(filter, page).await
    }
}
