//! The relational store over sqlx's Any driver: one set of SQL for PostgreSQL and SQLite, with
//! a migration set per backend. Queries use only what both accept (`$n` parameters,
//! `RETURNING`, BIGINT times in Unix milliseconds), and the whole suite runs on both. Each
//! context's repository is implemented in its own module; this one holds the pool and what they
//! share.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, AssertSqlSafe, Executor, Row, Transaction};
use tessera_domain::access::UnitScope;
use tessera_domain::shared::{DomainError, DomainResult, ErrorCode, Page, PageRequest};

mod audit;
pub mod bulk;
mod dashboard;
mod doctor;
mod files;
mod materials;
mod members;
mod money;
mod org;
mod posts;
mod sessions;
mod tokens;
mod users;

pub use doctor::MigrationReport;

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

/// The pool's use at one moment (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open now (idle or in use).
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most connections the pool opens (`DATABASE_MAX_CONNECTIONS`).
    pub max: u32,
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
            .context("applying database migrations failed")?;
        // Member search text is computed in Rust (accent folding), so rows older than its
        // column are filled here rather than by the migration.
        let filled = self
            .backfill_member_search()
            .await
            .context("filling the members' search text failed")?;
        if filled > 0 {
            tracing::info!(count = filled, "filled the search text of {filled} members");
        }
        Ok(())
    }

    /// How many connections the pool holds now, how many of them are idle, and its limit.
    pub fn pool_stats(&self) -> PoolStats {
        let size = self.pool.size();
        PoolStats {
            size,
            // Read apart from `size`, so it may briefly say more; never more than the pool.
            idle: u32::try_from(self.pool.num_idle())
                .unwrap_or(u32::MAX)
                .min(size),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> DomainResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Starts a transaction that takes the write lock at once: on SQLite `BEGIN IMMEDIATE`, so
    /// two writers that read first queue instead of failing when both want to write; on
    /// PostgreSQL an ordinary one (conditional updates, or the tree lock in `org.rs`, guard
    /// what must not interleave).
    pub(crate) async fn begin_write(&self) -> DomainResult<Transaction<'static, Any>> {
        match self.kind {
            DbKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            DbKind::Postgres => self.pool.begin().await,
        }
        .map_err(db_error)
    }

    /// SQL that holds when `column` is one of the ids bound at `$param` as [`id_list`]'s text.
    ///
    /// One statement and one parameter whatever the count. A placeholder per id made a new
    /// statement for every count, and PostgreSQL spent longer planning a thousand parameters
    /// (2.2 ms) than running the query (1.4 ms); a warm of 100,000 ids went from 2.9 s to 2.0 s.
    pub(crate) fn one_of(&self, column: &str, param: usize) -> String {
        match self.kind {
            DbKind::Postgres => {
                format!("{column} = ANY(CAST(string_to_array(${param}, ',') AS BIGINT[]))")
            }
            DbKind::Sqlite => {
                format!("{column} IN (SELECT value FROM json_each('[' || ${param} || ']'))")
            }
        }
    }

    /// Runs a paged list: the count and the page, with the same condition and binds.
    pub(crate) async fn paged<T>(
        &self,
        list: List<'_>,
        args: &[Arg],
        page: PageRequest,
        row: fn(&AnyRow) -> DomainResult<T>,
    ) -> DomainResult<Page<T>> {
        self.paged_as(list, args, page, row, true).await
    }

    /// [`SqlStore::paged`] with statements planned for their values on every call: for lists
    /// whose best plan depends on the values (a rare or a common search text, the whole
    /// organisation or one cell), where the generic plan PostgreSQL settles on for a cached
    /// statement after five calls can be many times slower.
    pub(crate) async fn paged_planned_per_call<T>(
        &self,
        list: List<'_>,
        args: &[Arg],
        page: PageRequest,
        row: fn(&AnyRow) -> DomainResult<T>,
    ) -> DomainResult<Page<T>> {
        self.paged_as(list, args, page, row, false).await
    }

    async fn paged_as<T>(
        &self,
        list: List<'_>,
        args: &[Arg],
        page: PageRequest,
        row: fn(&AnyRow) -> DomainResult<T>,
        persistent: bool,
    ) -> DomainResult<Page<T>> {
        let total = self.count_as(&list, args, persistent).await?;
        let items = self
            .rows_as(&list.page_select(args.len()), args, page, row, persistent)
            .await?;
        Ok(Page { items, total })
    }

    /// How many rows a list's condition matches.
    pub(crate) async fn count_as(
        &self,
        list: &List<'_>,
        args: &[Arg],
        persistent: bool,
    ) -> DomainResult<i64> {
        let count = format!(
            "SELECT COUNT(*) AS n FROM {} WHERE {}",
            list.from, list.condition
        );
        bind(
            sqlx::query(AssertSqlSafe(count)).persistent(persistent),
            args,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?
        .try_get("n")
        .map_err(db_error)
    }

    /// The rows of one page of `select`, whose last two binds are `LIMIT` and `OFFSET`.
    pub(crate) async fn rows_as<T>(
        &self,
        select: &str,
        args: &[Arg],
        page: PageRequest,
        row: fn(&AnyRow) -> DomainResult<T>,
        persistent: bool,
    ) -> DomainResult<Vec<T>> {
        let rows = bind(
            sqlx::query(AssertSqlSafe(select.to_owned())).persistent(persistent),
            args,
        )
        .bind(i64::from(page.per_page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(row).collect()
    }

    /// Runs a delete by id that a foreign key may refuse: the refusal is a `Conflict` with
    /// `code` and `message`. Answers whether a row was deleted.
    pub(crate) async fn delete_referenced(
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

/// One list's SQL: the columns, what they come from, the condition (binds `$1…$n`) and the
/// order. [`SqlStore::paged`] counts and pages it.
pub(crate) struct List<'a> {
    pub columns: &'a str,
    pub from: &'a str,
    pub condition: &'a str,
    pub order: &'a str,
}

impl List<'_> {
    /// The page's `SELECT`, with `LIMIT` and `OFFSET` bound after the condition's `binds`.
    pub(crate) fn page_select(&self, binds: usize) -> String {
        format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT ${} OFFSET ${}",
            self.columns,
            self.from,
            self.condition,
            self.order,
            binds + 1,
            binds + 2
        )
    }
}

/// A bind of a list's condition.
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
}

/// Binds `args` to `query`, in order.
pub(crate) fn bind<'q>(
    query: Query<'q, Any, AnyArguments>,
    args: &[Arg],
) -> Query<'q, Any, AnyArguments> {
    args.iter().fold(query, |query, arg| match arg {
        Arg::Int(value) => query.bind(*value),
        Arg::Text(value) => query.bind(value.clone()),
    })
}

/// The text [`SqlStore::one_of`] reads: the ids joined by commas (`1,2,3`; empty for none).
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    let mut text = String::new();
    for id in ids {
        let comma = if text.is_empty() { "" } else { "," };
        // Writing to a String cannot fail.
        let _ = write!(text, "{comma}{id}");
    }
    text
}

/// The scope condition on `ou.path` (binds: all flag, range start, range end).
pub(crate) const IN_SCOPE: &str = "(CAST($1 AS BIGINT) = 1 OR (ou.path >= $2 AND ou.path < $3))";

/// The binds of [`IN_SCOPE`] for a scope: `(all, start, end)`.
pub(crate) fn scope_args(scope: &UnitScope) -> [Arg; 3] {
    let (all, start, end) = match scope {
        UnitScope::All => (1, String::new(), String::new()),
        UnitScope::Subtree(path) => {
            let (start, end) = path.subtree_range();
            (0, start, end)
        }
        // An empty range: nothing is inside.
        UnitScope::Nothing => (0, String::new(), String::new()),
    };
    [
        Arg::Int(Some(all)),
        Arg::Text(Some(start)),
        Arg::Text(Some(end)),
    ]
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Booleans come back as BOOLEAN from PostgreSQL and as 0/1 from SQLite.
pub(crate) fn get_bool(row: &AnyRow, column: &str) -> DomainResult<bool> {
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
        .map_err(db_error)
}

/// A column of a row; a missing or mistyped one is a bug (500), never the client's fault.
pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &str) -> DomainResult<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column).map_err(db_error)
}

/// A stored value that does not parse: a corrupt row, a 500 with the cause logged; never a
/// 422 naming a field the client did not send.
pub(crate) fn corrupt(what: &str, value: &str) -> DomainError {
    DomainError::Unexpected(anyhow::anyhow!("unusable {what} {value:?} in the database"))
}

/// Dates are stored as ISO `YYYY-MM-DD` text, which sorts as dates on both databases.
const DATE_FORMAT: &str = "%Y-%m-%d";

pub(crate) fn date_text(date: NaiveDate) -> String {
    date.format(DATE_FORMAT).to_string()
}

pub(crate) fn date_of(row: &AnyRow, column: &str) -> DomainResult<NaiveDate> {
    let raw: String = get(row, column)?;
    NaiveDate::parse_from_str(&raw, DATE_FORMAT).map_err(|_| corrupt(column, &raw))
}

pub(crate) fn id_of(row: &AnyRow) -> DomainResult<i64> {
    get(row, "id")
}

/// A failed query: an unreachable database is a 503 (`Unavailable`), anything else a 500 with
/// the cause in the log.
pub(crate) fn db_error(e: sqlx::Error) -> DomainError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            DomainError::Unavailable("the database".into())
        }
        sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
            DomainError::Unavailable("the database".into())
        }
        _ => DomainError::Unexpected(anyhow::Error::new(e).context("database query failed")),
    }
}

/// PostgreSQL's codes for a server that is shutting down, starting or out of connections
/// (class 57P, 53300, and connection failures 08xxx) or that rolled the transaction back so it
/// can be tried again (40001 serialization failure, 40P01 deadlock: nothing was written);
/// SQLite's busy and locked.
fn is_unavailable_code(code: Option<&str>) -> bool {
    code.is_some_and(|code| {
        code.starts_with("57P")
            || code.starts_with("08")
            || code == "53300"
            || code == "40001"
            || code == "40P01"
            || code == "5"
            || code == "6"
    })
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}
