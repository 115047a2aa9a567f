//! The sessions' repository: the truth about who is logged in (Redis only caches it).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tessera_domain::accounts::{Session, SessionId, SessionRepo};
use tessera_domain::shared::{DomainResult, UserId};

use super::{corrupt, db_error, get, time, SqlStore};

const SESSION_COLUMNS: &str = "id, user_id, generation, created_at, refreshed_at, expires_at";

fn session_from_row(row: &AnyRow) -> DomainResult<Session> {
    let id: String = get(row, "id")?;
    let generation: i64 = get(row, "generation")?;
    Ok(Session {
        id: SessionId::parse(&id).ok_or_else(|| corrupt("session id", &id))?,
        user_id: UserId(get(row, "user_id")?),
        generation: u64::try_from(generation)
            .map_err(|_| corrupt("session generation", &generation.to_string()))?,
        created_at: time(get(row, "created_at")?),
        refreshed_at: time(get(row, "refreshed_at")?),
        expires_at: time(get(row, "expires_at")?),
    })
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

#[async_trait]
impl SessionRepo for SqlStore {
    async fn insert_session(&self, session: &Session) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, generation, created_at, refreshed_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.id.as_str())
        .bind(session.user_id.0)
        .bind(i64::try_from(session.generation).unwrap_or(i64::MAX))
        .bind(ms(session.created_at))
        .bind(ms(session.refreshed_at))
        .bind(ms(session.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn session(&self, id: &SessionId) -> DomainResult<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn advance_session(
        &self,
        id: &SessionId,
        generation: u64,
        now: DateTime<Utc>,
        oldest: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> DomainResult<Option<Session>> {
        // The compare-and-set: only the holder of the current generation moves it on, and only
        // while the session is live; a logout or another refresh in between makes this a no-op.
        let sql = format!(
            "UPDATE sessions SET generation = generation + 1, refreshed_at = $3, expires_at = $5 \
             WHERE id = $1 AND generation = $2 AND expires_at > $3 AND created_at > $4 \
             RETURNING {SESSION_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .bind(i64::try_from(generation).unwrap_or(i64::MAX))
            .bind(ms(now))
            .bind(ms(oldest))
            .bind(ms(expires_at))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn delete_session(&self, id: &SessionId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&SessionId>,
    ) -> DomainResult<Vec<SessionId>> {
        let rows = sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id <> $2) \
             RETURNING id",
        )
        .bind(user.0)
        .bind(keep.map(SessionId::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let id: String = get(row, "id")?;
                SessionId::parse(&id).ok_or_else(|| corrupt("session id", &id))
            })
            .collect()
    }
}
