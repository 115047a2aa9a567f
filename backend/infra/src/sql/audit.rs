//! The audit log's repository.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use tessera_domain::audit::{AuditEvent, AuditFilter, AuditRepo, NewAuditEvent};
use tessera_domain::shared::{DomainResult, Page, PageRequest, UserId};

use super::{corrupt, db_error, get, now_ms, time, Arg, List, SqlStore};

fn event_from_row(row: &AnyRow) -> DomainResult<AuditEvent> {
    let detail: String = get(row, "detail")?;
    Ok(AuditEvent {
        id: get(row, "id")?,
        at: time(get(row, "at")?),
        action: get(row, "action")?,
        actor_user_id: get::<Option<i64>>(row, "actor_user_id")?.map(UserId),
        subject: get(row, "subject")?,
        client_ip: get(row, "client_ip")?,
        detail: serde_json::from_str(&detail).map_err(|_| corrupt("audit detail", &detail))?,
    })
}

#[async_trait]
impl AuditRepo for SqlStore {
    async fn insert_audit_event(&self, event: NewAuditEvent) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, action, actor_user_id, subject, client_ip, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now_ms())
        .bind(event.action.as_str())
        .bind(event.actor.map(|u| u.0))
        .bind(event.subject)
        .bind(event.client_ip)
        .bind(event.detail.to_string())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn list_audit_events(
        &self,
        filter: AuditFilter,
        page: PageRequest,
    ) -> DomainResult<Page<AuditEvent>> {
        let args = [
            Arg::Text(filter.action.map(|a| a.as_str().to_owned())),
            Arg::Int(filter.actor.map(|u| u.0)),
        ];
        let list = List {
            columns: "id, at, action, actor_user_id, subject, client_ip, detail",
            from: "audit_events",
            condition: "(CAST($1 AS TEXT) IS NULL OR action = $1) \
                 AND (CAST($2 AS BIGINT) IS NULL OR actor_user_id = $2)",
            order: "id DESC",
        };
        self.paged(list, &args, page, event_from_row).await
    }
}
