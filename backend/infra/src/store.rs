//! The relational store over sqlx's Any driver: one set of SQL for PostgreSQL and SQLite, with
//! a migration set per backend. Queries use only what both accept (`$n` parameters,
//! `RETURNING`, BIGINT times in Unix milliseconds), and the whole suite runs on both.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};
use tessera_domain::api_tokens::{ApiScope, ApiToken, ApiTokenId, NewApiToken};
use tessera_domain::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use tessera_domain::dues::{Dues, DuesFilter, DuesId, DuesStatus, DuesUpdate, NewDues};
use tessera_domain::error::DomainResult;
use tessera_domain::error::ErrorCode;
use tessera_domain::file::{
    FileFilter, FileId, FileStatus, FileType, NewFile, Page, PageRequest, StoredFile,
};
use tessera_domain::members::{
    Member, MemberFilter, MemberId, MemberStatus, MemberUpdate, NewMember,
};
use tessera_domain::org::{OrgUnit, OrgUnitId, OrgUnitKind, UnitPath};
use tessera_domain::payments::{
    NewPayment, Payment, PaymentFilter, PaymentId, PaymentMethod, PaymentPurpose,
};
use tessera_domain::ports::Store;
use tessera_domain::user::{Email, NewUser, UnitScope, User, UserId, UserUnit, UserUpdate};
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

    /// Runs a delete by id that a foreign key may refuse: the refusal is a `Conflict` with
    /// `code` and `message`. Answers whether a row was deleted.
    async fn delete_referenced(
        &self,
        sql: &'static str,
        id: i64,
        code: ErrorCode,
        message: &str,
    ) -> DomainResult<bool> {
        let result = sqlx::query(sql)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    DomainError::Conflict {
                        code,
                        message: message.to_owned(),
                    }
                } else {
                    db_error(e)
                }
            })?;
        Ok(result.rows_affected() > 0)
    }
}

/// Users with their org unit's kind and path, which access needs on every request.
const USER_SELECT: &str =
    "SELECT u.id, u.email, u.name, u.password_hash, u.is_admin, u.is_treasurer, u.is_active, \
     u.otp_enabled, u.otp_secret, u.created_at, u.org_unit_id, u.member_id, ou.kind AS unit_kind, ou.path AS unit_path \
     FROM users u LEFT JOIN org_units ou ON ou.id = u.org_unit_id";
/// Files with their org unit's path, for scope checks.
const FILE_SELECT: &str =
    "SELECT f.id, f.file_type, f.object_key, f.original_name, f.content_type, f.size, f.status, \
     f.uploaded_by, f.org_unit_id, ou.path AS unit_path, f.created_at \
     FROM files f LEFT JOIN org_units ou ON ou.id = f.org_unit_id";
const UNIT_COLUMNS: &str = "id, name, kind, parent_id, path";

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
        is_treasurer: get_bool(row, "is_treasurer").map_err(db_error)?,
        is_active: get_bool(row, "is_active").map_err(db_error)?,
        otp_enabled: get_bool(row, "otp_enabled").map_err(db_error)?,
        otp_secret: row
            .try_get::<Option<String>, _>("otp_secret")
            .map_err(db_error)?,
        org_unit: match row
            .try_get::<Option<i64>, _>("org_unit_id")
            .map_err(db_error)?
        {
            None => None,
            Some(id) => {
                let kind: String = row.try_get("unit_kind").map_err(db_error)?;
                Some(UserUnit {
                    id: OrgUnitId(id),
                    kind: OrgUnitKind::from_str(&kind)?,
                    path: UnitPath::from_stored(row.try_get("unit_path").map_err(db_error)?),
                })
            }
        },
        member_id: row
            .try_get::<Option<i64>, _>("member_id")
            .map_err(db_error)?
            .map(MemberId),
        created_at: time(row.try_get("created_at").map_err(db_error)?),
    })
}

/// Members with their cell's path, which decides who sees them.
const MEMBER_SELECT: &str = "SELECT m.id, m.name, m.email, m.org_unit_id, m.status, m.created_at, \
     ou.path AS unit_path FROM members m JOIN org_units ou ON ou.id = m.org_unit_id";
/// Dues with their member's cell path.
const DUES_SELECT: &str = "SELECT d.id, d.member_id, d.period, d.amount_cents, d.currency, \
     d.due_date, d.status, d.created_at, ou.path AS unit_path FROM dues d \
     JOIN members m ON m.id = d.member_id JOIN org_units ou ON ou.id = m.org_unit_id";
/// Payments with their member's cell path.
const PAYMENT_SELECT: &str = "SELECT p.id, p.member_id, p.dues_id, p.purpose, p.amount_cents, \
     p.currency, p.method, p.paid_on, p.recorded_by, p.created_at, ou.path AS unit_path \
     FROM payments p JOIN members m ON m.id = p.member_id JOIN org_units ou ON ou.id = m.org_unit_id";
/// The scope condition on `ou.path` (binds: all flag, range start, range end).
const IN_SCOPE: &str = "(CAST($1 AS BIGINT) = 1 OR (ou.path >= $2 AND ou.path < $3))";

fn unexpected(what: &str, value: &str) -> DomainError {
    DomainError::Unexpected(anyhow::anyhow!("unknown {what} {value:?} in the database"))
}

/// Dates are stored as ISO `YYYY-MM-DD` text, which sorts as dates on both databases.
const DATE_FORMAT: &str = "%Y-%m-%d";

fn date_text(date: NaiveDate) -> String {
    date.format(DATE_FORMAT).to_string()
}

fn date_of(row: &AnyRow, column: &str) -> Result<NaiveDate, DomainError> {
    let raw: String = row.try_get(column).map_err(db_error)?;
    NaiveDate::parse_from_str(&raw, DATE_FORMAT).map_err(|_| unexpected(column, &raw))
}

fn member_from_row(row: &AnyRow) -> Result<Member, DomainError> {
    let status: String = row.try_get("status").map_err(db_error)?;
    Ok(Member {
        id: MemberId(row.try_get("id").map_err(db_error)?),
        name: row.try_get("name").map_err(db_error)?,
        email: row.try_get("email").map_err(db_error)?,
        org_unit_id: OrgUnitId(row.try_get("org_unit_id").map_err(db_error)?),
        unit_path: UnitPath::from_stored(row.try_get("unit_path").map_err(db_error)?),
        status: MemberStatus::from_str(&status)
            .map_err(|_| unexpected("member status", &status))?,
        created_at: time(row.try_get("created_at").map_err(db_error)?),
    })
}

fn dues_from_row(row: &AnyRow) -> Result<Dues, DomainError> {
    let status: String = row.try_get("status").map_err(db_error)?;
    Ok(Dues {
        id: DuesId(row.try_get("id").map_err(db_error)?),
        member_id: MemberId(row.try_get("member_id").map_err(db_error)?),
        unit_path: UnitPath::from_stored(row.try_get("unit_path").map_err(db_error)?),
        period: row.try_get("period").map_err(db_error)?,
        amount_cents: row.try_get("amount_cents").map_err(db_error)?,
        currency: row.try_get("currency").map_err(db_error)?,
        due_date: date_of(row, "due_date")?,
        status: DuesStatus::from_str(&status).map_err(|_| unexpected("dues status", &status))?,
        created_at: time(row.try_get("created_at").map_err(db_error)?),
    })
}

fn payment_from_row(row: &AnyRow) -> Result<Payment, DomainError> {
    let purpose: String = row.try_get("purpose").map_err(db_error)?;
    let method: String = row.try_get("method").map_err(db_error)?;
    Ok(Payment {
        id: PaymentId(row.try_get("id").map_err(db_error)?),
        member_id: MemberId(row.try_get("member_id").map_err(db_error)?),
        unit_path: UnitPath::from_stored(row.try_get("unit_path").map_err(db_error)?),
        dues_id: row
            .try_get::<Option<i64>, _>("dues_id")
            .map_err(db_error)?
            .map(DuesId),
        purpose: PaymentPurpose::from_str(&purpose)
            .map_err(|_| unexpected("payment purpose", &purpose))?,
        amount_cents: row.try_get("amount_cents").map_err(db_error)?,
        currency: row.try_get("currency").map_err(db_error)?,
        method: PaymentMethod::from_str(&method)
            .map_err(|_| unexpected("payment method", &method))?,
        paid_on: date_of(row, "paid_on")?,
        recorded_by: UserId(row.try_get("recorded_by").map_err(db_error)?),
        created_at: time(row.try_get("created_at").map_err(db_error)?),
    })
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

const TOKEN_COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at";

/// Scopes as stored: names joined by spaces.
fn scopes_text(scopes: &[ApiScope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn token_from_row(row: &AnyRow) -> Result<ApiToken, DomainError> {
    let scopes: String = row.try_get("scopes").map_err(db_error)?;
    Ok(ApiToken {
        id: ApiTokenId(row.try_get("id").map_err(db_error)?),
        user_id: UserId(row.try_get("user_id").map_err(db_error)?),
        name: row.try_get("name").map_err(db_error)?,
        scopes: scopes
            .split_whitespace()
            .map(ApiScope::from_str)
            .collect::<Result<_, _>>()?,
        created_at: time(row.try_get("created_at").map_err(db_error)?),
        expires_at: time(row.try_get("expires_at").map_err(db_error)?),
    })
}

fn unit_from_row(row: &AnyRow) -> Result<OrgUnit, DomainError> {
    let kind: String = row.try_get("kind").map_err(db_error)?;
    Ok(OrgUnit {
        id: OrgUnitId(row.try_get("id").map_err(db_error)?),
        name: row.try_get("name").map_err(db_error)?,
        kind: OrgUnitKind::from_str(&kind)?,
        parent_id: row
            .try_get::<Option<i64>, _>("parent_id")
            .map_err(db_error)?
            .map(OrgUnitId),
        path: UnitPath::from_stored(row.try_get("path").map_err(db_error)?),
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
        org_unit_id: row
            .try_get::<Option<i64>, _>("org_unit_id")
            .map_err(db_error)?
            .map(OrgUnitId),
        unit_path: row
            .try_get::<Option<String>, _>("unit_path")
            .map_err(db_error)?
            .map(UnitPath::from_stored),
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

/// A write to `users`: the only unique column besides the id is the email.
fn user_write_error(e: sqlx::Error) -> DomainError {
    if is_unique_violation(&e) {
        DomainError::Conflict {
            code: ErrorCode::EmailTaken,
            message: "a user with this email already exists".into(),
        }
    } else {
        db_error(e)
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn id_of(row: &AnyRow) -> Result<i64, DomainError> {
    row.try_get("id").map_err(db_error)
}

/// The scope condition on a unit path column, and its binds: `(all, start, end)`.
fn scope_binds(scope: &UnitScope) -> (i64, String, String) {
    match scope {
        UnitScope::All => (1, String::new(), String::new()),
        UnitScope::Subtree(path) => {
            let (start, end) = path.subtree_range();
            (0, start, end)
        }
        // An empty range: nothing is inside.
        UnitScope::Nothing => (0, String::new(), String::new()),
    }
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
        let row = sqlx::query(
            "INSERT INTO users (email, name, password_hash, is_admin, is_treasurer, org_unit_id, member_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(&user.password_hash)
        .bind(user.is_admin)
        .bind(user.is_treasurer)
        .bind(user.org_unit_id.map(|u| u.0))
        .bind(user.member_id.map(|m| m.0))
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(user_write_error)?;
        self.user_by_id(UserId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    async fn user_by_email(&self, email: &Email) -> DomainResult<Option<User>> {
        let sql = format!("{USER_SELECT} WHERE u.email = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>> {
        let sql = format!("{USER_SELECT} WHERE u.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
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

    async fn set_otp(&self, id: UserId, secret: Option<&str>, enabled: bool) -> DomainResult<()> {
        sqlx::query("UPDATE users SET otp_secret = $2, otp_enabled = $3 WHERE id = $1")
            .bind(id.0)
            .bind(secret)
            .bind(enabled)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn list_users(&self, page: PageRequest) -> DomainResult<Page<User>> {
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?
            .try_get("n")
            .map_err(db_error)?;
        let sql = format!("{USER_SELECT} ORDER BY u.id LIMIT $1 OFFSET $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(page.per_page))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let items = rows.iter().map(user_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn update_user(&self, id: UserId, change: &UserUpdate) -> DomainResult<User> {
        // COALESCE keeps what the change leaves out; the org unit and the member link need a flag
        // because "remove it" (NULL) is a change of its own.
        let (set_unit, unit) = match change.org_unit_id {
            None => (0_i64, None),
            Some(unit) => (1, unit.map(|u| u.0)),
        };
        let (set_member, member) = match change.member_id {
            None => (0_i64, None),
            Some(member) => (1, member.map(|m| m.0)),
        };
        sqlx::query(
            "UPDATE users SET email = COALESCE($2, email), name = COALESCE($3, name), \
             password_hash = COALESCE($4, password_hash), is_admin = COALESCE($5, is_admin), \
             is_treasurer = COALESCE($6, is_treasurer), is_active = COALESCE($7, is_active), \
             org_unit_id = CASE WHEN CAST($8 AS BIGINT) = 1 THEN CAST($9 AS BIGINT) ELSE org_unit_id END, \
             member_id = CASE WHEN CAST($10 AS BIGINT) = 1 THEN CAST($11 AS BIGINT) ELSE member_id END \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(change.email.as_ref().map(Email::as_str))
        .bind(change.name.as_ref().map(|n| n.as_str()))
        .bind(change.password_hash.as_deref())
        .bind(change.is_admin)
        .bind(change.is_treasurer)
        .bind(change.is_active)
        .bind(set_unit)
        .bind(unit)
        .bind(set_member)
        .bind(member)
        .execute(&self.pool)
        .await
        .map_err(user_write_error)?;
        self.user_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    async fn delete_user(&self, id: UserId) -> DomainResult<bool> {
        let files: i64 = sqlx::query("SELECT COUNT(*) AS n FROM files WHERE uploaded_by = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?
            .try_get("n")
            .map_err(db_error)?;
        if files > 0 {
            return Err(DomainError::Conflict {
                code: ErrorCode::UserInUse,
                message: format!(
                    "the user uploaded {files} files: deactivate it instead (is_active false)"
                ),
            });
        }
        self.delete_referenced(
            "DELETE FROM users WHERE id = $1",
            id.0,
            ErrorCode::UserInUse,
            "the user recorded payments: deactivate it instead (is_active false)",
        )
        .await
    }

    async fn insert_org_unit(
        &self,
        name: &str,
        kind: OrgUnitKind,
        parent: Option<&OrgUnit>,
    ) -> DomainResult<OrgUnit> {
        // The path holds the unit's own id, known only after the insert: a placeholder first,
        // then the real path, in one transaction.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let placeholder = format!("pending:{}", uuid::Uuid::new_v4());
        let row = sqlx::query("INSERT INTO org_units (name, kind, parent_id, path, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(name)
            .bind(kind.as_str())
            .bind(parent.map(|p| p.id.0))
            .bind(&placeholder)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let id = OrgUnitId(id_of(&row)?);
        let path = match parent {
            Some(parent) => parent.path.child(id),
            None => UnitPath::root(id),
        };
        sqlx::query("UPDATE org_units SET path = $2 WHERE id = $1")
            .bind(id.0)
            .bind(path.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(OrgUnit {
            id,
            name: name.to_owned(),
            kind,
            parent_id: parent.map(|p| p.id),
            path,
        })
    }

    async fn org_unit_by_id(&self, id: OrgUnitId) -> DomainResult<Option<OrgUnit>> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM org_units WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(unit_from_row).transpose()
    }

    async fn list_org_units(&self, scope: &UnitScope) -> DomainResult<Vec<OrgUnit>> {
        let (all, start, end) = scope_binds(scope);
        let sql = format!(
            "SELECT {UNIT_COLUMNS} FROM org_units WHERE CAST($1 AS BIGINT) = 1 OR (path >= $2 AND path < $3) ORDER BY path"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(all)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn rename_org_unit(&self, id: OrgUnitId, name: &str) -> DomainResult<OrgUnit> {
        sqlx::query("UPDATE org_units SET name = $2 WHERE id = $1")
            .bind(id.0)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        self.org_unit_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("org unit"))
    }

    async fn move_org_unit(
        &self,
        unit: &OrgUnit,
        new_parent: &OrgUnit,
        new_path: &UnitPath,
    ) -> DomainResult<OrgUnit> {
        let (start, end) = unit.path.subtree_range();
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE org_units SET parent_id = $2 WHERE id = $1")
            .bind(unit.id.0)
            .bind(new_parent.id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        // Every path in the subtree swaps its old prefix for the new one, in one statement.
        sqlx::query(
            "UPDATE org_units SET path = CAST($1 AS TEXT) || substr(path, CAST($2 AS INTEGER)) WHERE path >= $3 AND path < $4",
        )
        .bind(new_path.as_str())
        .bind(unit.path.as_str().len() as i64 + 1)
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.org_unit_by_id(unit.id)
            .await?
            .ok_or(DomainError::NotFound("org unit"))
    }

    async fn org_unit_dependents(&self, id: OrgUnitId) -> DomainResult<(i64, i64, i64, i64)> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM org_units WHERE parent_id = $1) AS units, \
                    (SELECT COUNT(*) FROM users WHERE org_unit_id = $1) AS users, \
                    (SELECT COUNT(*) FROM files WHERE org_unit_id = $1) AS files, \
                    (SELECT COUNT(*) FROM members WHERE org_unit_id = $1) AS members",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        let count = |c: &str| row.try_get::<i64, _>(c).map_err(db_error);
        Ok((
            count("units")?,
            count("users")?,
            count("files")?,
            count("members")?,
        ))
    }

    async fn delete_org_unit(&self, id: OrgUnitId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM org_units WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn insert_file(&self, file: NewFile) -> DomainResult<StoredFile> {
        let row = sqlx::query(
            "INSERT INTO files (file_type, object_key, original_name, content_type, size, status, uploaded_by, org_unit_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(file.file_type.as_str())
        .bind(&file.object_key)
        .bind(&file.original_name)
        .bind(&file.content_type)
        .bind(file.size)
        .bind(file.status.as_str())
        .bind(file.uploaded_by.0)
        .bind(file.org_unit_id.map(|u| u.0))
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        self.file_by_id(FileId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("file"))
    }

    async fn file_by_id(&self, id: FileId) -> DomainResult<Option<StoredFile>> {
        let sql = format!("{FILE_SELECT} WHERE f.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
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
                "{FILE_SELECT} WHERE f.status = 'uploaded' AND f.id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
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
        // Optional filters are binds ("$n IS NULL OR …") so there is one statement to plan; the
        // casts tell PostgreSQL the type of a parameter that may only meet NULL.
        let (all, start, end) = scope_binds(&filter.scope.units);
        let file_type = filter.file_type.map(FileType::as_str);
        let condition = "f.status = 'uploaded' \
             AND (CAST($1 AS BIGINT) = 1 OR f.uploaded_by = $2 OR (ou.path >= $3 AND ou.path < $4)) \
             AND (CAST($5 AS TEXT) IS NULL OR f.file_type = $5)";
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM files f LEFT JOIN org_units ou ON ou.id = f.org_unit_id WHERE {condition}"
        );
        let total: i64 = sqlx::query(AssertSqlSafe(count_sql))
            .bind(all)
            .bind(filter.scope.user_id.0)
            .bind(&start)
            .bind(&end)
            .bind(file_type)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?
            .try_get("n")
            .map_err(db_error)?;
        let sql = format!("{FILE_SELECT} WHERE {condition} ORDER BY f.id DESC LIMIT $6 OFFSET $7");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(all)
            .bind(filter.scope.user_id.0)
            .bind(&start)
            .bind(&end)
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
            "{FILE_SELECT} WHERE f.status = 'uploaded' AND (CAST($1 AS TEXT) IS NULL OR f.file_type = $1) ORDER BY f.id DESC LIMIT $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
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
        let result = sqlx::query(
            "UPDATE files SET status = 'uploaded', size = $2, content_type = $3 WHERE id = $1",
        )
        .bind(id.0)
        .bind(size)
        .bind(content_type)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        if result.rows_affected() == 0 {
            return Err(DomainError::NotFound("file"));
        }
        self.file_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("file"))
    }

    async fn delete_file(&self, id: FileId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn insert_member(&self, member: NewMember) -> DomainResult<Member> {
        let row = sqlx::query(
            "INSERT INTO members (name, email, org_unit_id, status, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&member.name)
        .bind(&member.email)
        .bind(member.org_unit_id.0)
        .bind(member.status.as_str())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        self.member_by_id(MemberId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("member"))
    }

    async fn member_by_id(&self, id: MemberId) -> DomainResult<Option<Member>> {
        let row = sqlx::query(AssertSqlSafe(format!("{MEMBER_SELECT} WHERE m.id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(member_from_row).transpose()
    }

    async fn member_has_money(&self, id: MemberId) -> DomainResult<bool> {
        let row = sqlx::query(
            "SELECT (EXISTS (SELECT 1 FROM dues WHERE member_id = $1) \
                  OR EXISTS (SELECT 1 FROM payments WHERE member_id = $1)) AS referred",
        )
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        get_bool(&row, "referred").map_err(db_error)
    }

    async fn list_members(
        &self,
        filter: MemberFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Member>> {
        let (all, start, end) = scope_binds(&filter.units);
        // A treasurer also sees every member that dues or payments refer to.
        let condition = format!(
            "({IN_SCOPE} OR (CAST($4 AS BIGINT) = 1 AND (EXISTS (SELECT 1 FROM dues d WHERE d.member_id = m.id) \
                 OR EXISTS (SELECT 1 FROM payments p WHERE p.member_id = m.id)))) \
             AND (CAST($5 AS TEXT) IS NULL OR m.status = $5) \
             AND (CAST($6 AS BIGINT) IS NULL OR m.org_unit_id = $6)"
        );
        let with_money = i64::from(filter.with_money);
        let status = filter.status.map(MemberStatus::as_str);
        let unit = filter.org_unit_id.map(|u| u.0);
        let total: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM members m JOIN org_units ou ON ou.id = m.org_unit_id WHERE {condition}"
        )))
        .bind(all)
        .bind(&start)
        .bind(&end)
        .bind(with_money)
        .bind(status)
        .bind(unit)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?
        .try_get("n")
        .map_err(db_error)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{MEMBER_SELECT} WHERE {condition} ORDER BY m.id LIMIT $7 OFFSET $8"
        )))
        .bind(all)
        .bind(&start)
        .bind(&end)
        .bind(with_money)
        .bind(status)
        .bind(unit)
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let items = rows.iter().map(member_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn update_member(&self, id: MemberId, change: &MemberUpdate) -> DomainResult<Member> {
        let (set_email, email) = match &change.email {
            None => (0_i64, None),
            Some(email) => (1, email.clone()),
        };
        sqlx::query(
            "UPDATE members SET name = COALESCE($2, name), \
             email = CASE WHEN CAST($3 AS BIGINT) = 1 THEN CAST($4 AS TEXT) ELSE email END, \
             org_unit_id = COALESCE($5, org_unit_id), status = COALESCE($6, status) WHERE id = $1",
        )
        .bind(id.0)
        .bind(&change.name)
        .bind(set_email)
        .bind(email)
        .bind(change.org_unit_id.map(|u| u.0))
        .bind(change.status.map(MemberStatus::as_str))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        self.member_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("member"))
    }

    async fn delete_member(&self, id: MemberId) -> DomainResult<bool> {
        self.delete_referenced(
            "DELETE FROM members WHERE id = $1",
            id.0,
            ErrorCode::MemberInUse,
            "dues or payments refer to this member: set its status to inactive instead",
        )
        .await
    }

    async fn insert_dues(&self, dues: NewDues) -> DomainResult<Dues> {
        let row = sqlx::query(
            "INSERT INTO dues (member_id, period, amount_cents, currency, due_date, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(dues.member_id.0)
        .bind(&dues.period)
        .bind(dues.amount_cents)
        .bind(&dues.currency)
        .bind(date_text(dues.due_date))
        .bind(dues.status.as_str())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DomainError::Conflict {
                    code: ErrorCode::DuesExist,
                    message: format!("the member already has dues for {}", dues.period),
                }
            } else {
                db_error(e)
            }
        })?;
        self.dues_by_id(DuesId(id_of(&row)?))
            .await?
            .ok_or(DomainError::NotFound("dues"))
    }

    async fn dues_by_id(&self, id: DuesId) -> DomainResult<Option<Dues>> {
        let row = sqlx::query(AssertSqlSafe(format!("{DUES_SELECT} WHERE d.id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(dues_from_row).transpose()
    }

    async fn list_dues(&self, filter: DuesFilter, page: PageRequest) -> DomainResult<Page<Dues>> {
        let (all, start, end) = scope_binds(&filter.units);
        let condition = format!(
            "{IN_SCOPE} AND (CAST($4 AS BIGINT) IS NULL OR d.member_id = $4) \
             AND (CAST($5 AS TEXT) IS NULL OR d.status = $5) \
             AND (CAST($6 AS TEXT) IS NULL OR d.period = $6)"
        );
        let member = filter.member_id.map(|m| m.0);
        let status = filter.status.map(DuesStatus::as_str);
        let total: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM dues d JOIN members m ON m.id = d.member_id \
             JOIN org_units ou ON ou.id = m.org_unit_id WHERE {condition}"
        )))
        .bind(all)
        .bind(&start)
        .bind(&end)
        .bind(member)
        .bind(status)
        .bind(&filter.period)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?
        .try_get("n")
        .map_err(db_error)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{DUES_SELECT} WHERE {condition} ORDER BY d.period DESC, d.id DESC LIMIT $7 OFFSET $8"
        )))
        .bind(all)
        .bind(&start)
        .bind(&end)
        .bind(member)
        .bind(status)
        .bind(&filter.period)
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let items = rows.iter().map(dues_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn update_dues(&self, id: DuesId, change: &DuesUpdate) -> DomainResult<Dues> {
        sqlx::query(
            "UPDATE dues SET amount_cents = COALESCE($2, amount_cents), \
             due_date = COALESCE($3, due_date), status = COALESCE($4, status) WHERE id = $1",
        )
        .bind(id.0)
        .bind(change.amount_cents)
        .bind(change.due_date.map(date_text))
        .bind(change.status.map(DuesStatus::as_str))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        self.dues_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("dues"))
    }

    async fn delete_dues(&self, id: DuesId) -> DomainResult<bool> {
        self.delete_referenced(
            "DELETE FROM dues WHERE id = $1",
            id.0,
            ErrorCode::DuesInUse,
            "payments refer to these dues: waive them instead",
        )
        .await
    }

    async fn insert_payment(&self, payment: NewPayment) -> DomainResult<Payment> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row = sqlx::query(
            "INSERT INTO payments (member_id, dues_id, purpose, amount_cents, currency, method, paid_on, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(payment.member_id.0)
        .bind(payment.dues_id.map(|d| d.0))
        .bind(payment.purpose.as_str())
        .bind(payment.amount_cents)
        .bind(&payment.currency)
        .bind(payment.method.as_str())
        .bind(date_text(payment.paid_on))
        .bind(payment.recorded_by.0)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let id = PaymentId(id_of(&row)?);
        if let Some(dues) = payment.dues_id {
            sqlx::query("UPDATE dues SET status = 'paid' WHERE id = $1 AND status = 'open'")
                .bind(dues.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.payment_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("payment"))
    }

    async fn payment_by_id(&self, id: PaymentId) -> DomainResult<Option<Payment>> {
        let row = sqlx::query(AssertSqlSafe(format!("{PAYMENT_SELECT} WHERE p.id = $1")))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(payment_from_row).transpose()
    }

    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Payment>> {
        let (all, start, end) = scope_binds(&filter.units);
        let condition = format!("{IN_SCOPE} AND (CAST($4 AS BIGINT) IS NULL OR p.member_id = $4)");
        let member = filter.member_id.map(|m| m.0);
        let total: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM payments p JOIN members m ON m.id = p.member_id \
             JOIN org_units ou ON ou.id = m.org_unit_id WHERE {condition}"
        )))
        .bind(all)
        .bind(&start)
        .bind(&end)
        .bind(member)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?
        .try_get("n")
        .map_err(db_error)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{PAYMENT_SELECT} WHERE {condition} ORDER BY p.id DESC LIMIT $5 OFFSET $6"
        )))
        .bind(all)
        .bind(&start)
        .bind(&end)
        .bind(member)
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let items = rows
            .iter()
            .map(payment_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Page { items, total })
    }

    async fn delete_payment(&self, id: PaymentId) -> DomainResult<bool> {
        let result = sqlx::query("DELETE FROM payments WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn insert_api_token(&self, token: NewApiToken) -> DomainResult<ApiToken> {
        let sql = format!(
            "INSERT INTO api_tokens (user_id, name, scopes, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(token.user_id.0)
            .bind(&token.name)
            .bind(scopes_text(&token.scopes))
            .bind(&token.token_hash)
            .bind(token.created_at.timestamp_millis())
            .bind(token.expires_at.timestamp_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        token_from_row(&row)
    }

    async fn api_token_by_hash(&self, token_hash: &str) -> DomainResult<Option<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_api_tokens(&self) -> DomainResult<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id DESC");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn delete_api_token(&self, id: ApiTokenId) -> DomainResult<Option<(ApiToken, String)>> {
        let sql =
            format!("DELETE FROM api_tokens WHERE id = $1 RETURNING {TOKEN_COLUMNS}, token_hash");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref()
            .map(|row| {
                Ok((
                    token_from_row(row)?,
                    row.try_get("token_hash").map_err(db_error)?,
                ))
            })
            .transpose()
    }

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
        const WHERE: &str = "WHERE (CAST($1 AS TEXT) IS NULL OR action = $1) \
             AND (CAST($2 AS BIGINT) IS NULL OR actor_user_id = $2)";
        let action = filter.action.map(|a| a.as_str());
        let actor = filter.actor.map(|u| u.0);
        let total: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM audit_events {WHERE}"
        )))
        .bind(action)
        .bind(actor)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?
        .try_get("n")
        .map_err(db_error)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, at, action, actor_user_id, subject, client_ip, detail FROM audit_events \
             {WHERE} ORDER BY id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(action)
        .bind(actor)
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let items = rows
            .iter()
            .map(|row| {
                let detail: String = row.try_get("detail").map_err(db_error)?;
                Ok(AuditEvent {
                    id: row.try_get("id").map_err(db_error)?,
                    at: time(row.try_get("at").map_err(db_error)?),
                    action: row.try_get("action").map_err(db_error)?,
                    actor_user_id: row
                        .try_get::<Option<i64>, _>("actor_user_id")
                        .map_err(db_error)?
                        .map(UserId),
                    subject: row.try_get("subject").map_err(db_error)?,
                    client_ip: row.try_get("client_ip").map_err(db_error)?,
                    detail: serde_json::from_str(&detail).unwrap_or_default(),
                })
            })
            .collect::<DomainResult<_>>()?;
        Ok(Page { items, total })
    }
}
