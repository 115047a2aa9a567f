//! What the audit log needs from storage.

use async_trait::async_trait;

use crate::audit::model::{AuditEvent, AuditFilter, NewAuditEvent};
use crate::shared::{DomainResult, Page, PageRequest};

/// The recorded events.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Appends an event.
    async fn insert_audit_event(&self, event: NewAuditEvent) -> DomainResult<()>;
    /// A page of events matching the filter, newest first.
    async fn list_audit_events(
        &self,
        filter: AuditFilter,
        page: PageRequest,
    ) -> DomainResult<Page<AuditEvent>>;
}
