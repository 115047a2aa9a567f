//! What `tessera doctor` asks the database without changing it: which migrations are applied,
//! pending or unknown to this build, and the database's clock.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbKind, SqlStore, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// How the database's migrations compare with the ones this build carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations of this build recorded as applied.
    pub applied: usize,
    /// Migrations of this build not applied yet (`tessera migrate`, or any start, applies them).
    pub pending: Vec<i64>,
    /// Migrations the database records that this build does not know (a newer build ran).
    pub unknown: Vec<i64>,
    /// Migrations recorded as failed part-way.
    pub failed: Vec<i64>,
    /// Migrations whose file changed after they were applied (checksum differs).
    pub changed: Vec<i64>,
}

impl SqlStore {
    /// Compares the applied migrations with this build's, changing nothing.
    pub async fn migration_report(&self) -> anyhow::Result<MigrationReport> {
        let migrator = match self.kind {
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
        };
        let table_exists: i64 = match self.kind {
            DbKind::Postgres => sqlx::query(
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            ),
            DbKind::Sqlite => sqlx::query(
                "SELECT COUNT(*) AS n FROM sqlite_master \
                 WHERE type = 'table' AND name = '_sqlx_migrations'",
            ),
        }
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let recorded: Vec<(i64, bool, Vec<u8>)> = if table_exists > 0 {
            sqlx::query(
                "SELECT version, CASE WHEN success THEN 1 ELSE 0 END AS ok, checksum \
                 FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("version")?,
                    row.try_get::<i64, _>("ok")? == 1,
                    row.try_get("checksum")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?
        } else {
            Vec::new()
        };
        let mut report = MigrationReport::default();
        let known: Vec<_> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .collect();
        for migration in &known {
            match recorded.iter().find(|(v, _, _)| *v == migration.version) {
                None => report.pending.push(migration.version),
                Some((_, false, _)) => report.failed.push(migration.version),
                Some((_, true, checksum)) => {
                    report.applied += 1;
                    if checksum.as_slice() != migration.checksum.as_ref() {
                        report.changed.push(migration.version);
                    }
                }
            }
        }
        report.unknown = recorded
            .iter()
            .map(|(v, _, _)| *v)
            .filter(|v| !known.iter().any(|m| m.version == *v))
            .collect();
        Ok(report)
    }

    /// The database's clock now, to the millisecond (SQLite's is this machine's).
    pub async fn clock(&self) -> anyhow::Result<DateTime<Utc>> {
        let sql = match self.kind {
            DbKind::Postgres => {
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS ms"
            }
            DbKind::Sqlite => {
                "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS ms"
            }
        };
        let ms: i64 = sqlx::query(sql)
            .fetch_one(&self.pool)
            .await?
            .try_get("ms")?;
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| anyhow::anyhow!("the database answered an impossible time ({ms} ms)"))
    }
}
