//! The relational store over sqlx's Any driver: one set of SQL for PostgreSQL and SQLite, with
//! a migration set per backend. Queries use only what both accept (`$n` parameters,
//! `RETURNING`, BIGINT times in Unix milliseconds), and the whole suite runs on both.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};
use tessera_domain::error::DomainResult;
use tessera_domain::file::{
    FileFilter, FileId, FileScope, FileStatus, FileType, NewFile, Page, PageRequest, StoredFile,
};
use tessera_domain::ports::Store;
use tessera_domain::user::{Email, NewUser, User, UserId};
use tessera_domain::DomainError;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sqlite://` or `sqlite:`.
    Sqlite,
}

impl DbKind {
    /// The kind of a database URL, or `None` for a scheme we do not support.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DbKind::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(DbKind::Sqlite)
        } else {
            None
        }
    }

    /// `postgres` or `sqlite`.
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Postgres => "postgres",
            DbKind::Sqlite => "sqlite",
        }
    }
}

/// The default SQLite URL for a data directory.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("tessera.db").display()
    )
}

/// The sqlx-backed store.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    kind: DbKind,
}

impl SqlStore {
    /// Connects to `url` with a pool of at most `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let kind =
            DbKind::of_url(url).context("DATABASE_URL must start with postgres:// or sqlite:")?;
        let options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5));
        let options = match kind {
            // WAL lets readers go on while one writer writes; the busy timeout queues writers.
            DbKind::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
                        .await?;
                    Ok(())
                })
            }),
            DbKind::Postgres => options,
        };
        let pool = options
            .connect(url)
            .await
            .with_context(|| format!("cannot connect to the {} database", kind.as_str()))?;
        Ok(Self { pool, kind })
    }

    /// Which database this is.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.kind {
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("applying database migrations failed")
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

const USER_COLUMNS: &str = "id, email, name, password_hash, is_admin, created_at";
const FILE_COLUMNS: &str =
    "id, file_type, object_key, original_name, content_type, size, status, uploaded_by, created_at";

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Booleans come back as BOOLEAN from PostgreSQL and as 0/1 from SQLite.
fn get_bool(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

fn user_from_row(row: &AnyRow) -> Result<User, DomainError> {
    let email: String = row.try_get("email").map_err(db_error)?;
    Ok(User {
        id: UserId(row.try_get("id").map_err(db_error)?),
        email: Email::parse(&email)?,
        name: row.try_get("name").map_err(db_error)?,
        password_hash: row.try_get("password_hash").map_err(db_error)?,
        is_admin: get_bool(row, "is_admin").map_err(db_error)?,
        created_at: time(row.try_get("created_at").map_err(db_error)?),
    })
}

fn file_from_row(row: &AnyRow) -> Result<StoredFile, DomainError> {
    let file_type: String = row.try_get("file_type").map_err(db_error)?;
    let status: String = row.try_get("status").map_err(db_error)?;
    Ok(StoredFile {
        id: FileId(row.try_get("id").map_err(db_error)?),
        file_type: FileType::from_str(&file_type)?,
        object_key: row.try_get("object_key").map_err(db_error)?,
        original_name: row.try_get("original_name").map_err(db_error)?,
        content_type: row.try_get("content_type").map_err(db_error)?,
        size: row.try_get("size").map_err(db_error)?,
        status: FileStatus::parse(&status).ok_or_else(|| {
            DomainError::Unexpected(anyhow::anyhow!(
                "unknown file status {status:?} in the database"
            ))
        })?,
        uploaded_by: UserId(row.try_get("uploaded_by").map_err(db_error)?),
        created_at: time(row.try_get("created_at").map_err(db_error)?),
    })
}

fn db_error(e: sqlx::Error) -> DomainError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            DomainError::Unavailable("the database".into())
        }
        _ => DomainError::Unexpected(anyhow::Error::new(e).context("database query failed")),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> DomainResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_user(&self, user: NewUser) -> DomainResult<User> {
        let sql = format!(
            "INSERT INTO users (email, name, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user.email.as_str())
            .bind(user.name.as_str())
            .bind(&user.password_hash)
            .bind(user.is_admin)
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DomainError::Conflict {
                        code: "email_taken",
                        message: "a user with this email already exists".into(),
                    }
                } else {
                    db_error(e)
                }
            })?;
        user_from_row(&row)
    }

    async fn user_by_email(&self, email: &Email) -> DomainResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn admin_exists(&self) -> DomainResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE is_admin = $1")
            .bind(true)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.try_get::<i64, _>("n").map_err(db_error)? > 0)
    }

    async fn insert_file(&self, file: NewFile) -> DomainResult<StoredFile> {
        let sql = format!(
            "INSERT INTO files (file_type, object_key, original_name, content_type, size, status, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {FILE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(file.file_type.as_str())
            .bind(&file.object_key)
            .bind(&file.original_name)
            .bind(&file.content_type)
            .bind(file.size)
            .bind(file.status.as_str())
            .bind(file.uploaded_by.0)
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        file_from_row(&row)
    }

    async fn file_by_id(&self, id: FileId) -> DomainResult<Option<StoredFile>> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn files_by_ids(&self, ids: &[FileId]) -> DomainResult<Vec<StoredFile>> {
        let mut files = Vec::with_capacity(ids.len());
        // Chunks keep each statement far below both databases' parameter limits.
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {FILE_COLUMNS} FROM files WHERE status = 'uploaded' AND id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id.0);
            }
            for row in query.fetch_all(&self.pool).await.map_err(db_error)? {
                files.push(file_from_row(&row)?);
            }
        }
        Ok(files)
    }

    async fn list_files(
        &self,
        filter: FileFilter,
        page: PageRequest,
    ) -> DomainResult<Page<StoredFile>> {
        // Filters are optional binds ("$n IS NULL OR column = $n") so there is one statement to plan.
        let uploader = match filter.scope {
            FileScope::All => None,
            FileScope::UploadedBy(user) => Some(user.0),
        };
        let file_type = filter.file_type.map(FileType::as_str);
        // The casts tell PostgreSQL the type of a parameter that may only be compared with NULL.
        let condition =
            "status = 'uploaded' AND (CAST($1 AS BIGINT) IS NULL OR uploaded_by = $1) AND (CAST($2 AS TEXT) IS NULL OR file_type = $2)";
        let count_sql = format!("SELECT COUNT(*) AS n FROM files WHERE {condition}");
        let total: i64 = sqlx::query(&count_sql)
            .bind(uploader)
            .bind(file_type)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?
            .try_get("n")
            .map_err(db_error)?;
        let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE {condition} ORDER BY id DESC LIMIT $3 OFFSET $4");
        let rows = sqlx::query(&sql)
            .bind(uploader)
            .bind(file_type)
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let items = rows.iter().map(file_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn newest_files(
        &self,
        file_type: Option<FileType>,
        limit: u32,
    ) -> DomainResult<Vec<StoredFile>> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE status = 'uploaded' AND (CAST($1 AS TEXT) IS NULL OR file_type = $1) ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(file_type.map(FileType::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(file_from_row).collect()
    }

    async fn mark_uploaded(
        &self,
        id: FileId,
        size: i64,
        content_type: &str,
    ) -> DomainResult<StoredFile> {
        let sql = format!("UPDATE files SET status = 'uploaded', size = $2, content_type = $3 WHERE id = $1 RETURNING {FILE_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(size)
            .bind(content_type)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(DomainError::NotFound("file"))?;
        file_from_row(&row)
    }

    async fn delete_file(&self, id: FileId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }
}
