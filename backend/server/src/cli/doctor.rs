//! `tessera doctor`: the seeds' `test_redis.py` done as a command. It checks the settings, the
//! database (connection, latency, migrations), Redis (PING and latency, a write that expires,
//! version, `maxmemory-policy`, persistence, the state/cache split), the object store (a tiny
//! object written, read back through a presigned URL, deleted) and the clocks of the database
//! and Redis against this machine's. One line per check:
//! `ok|warn|FAIL <check>: <finding> — <what to do>`; exit 1 on any FAIL. It changes nothing
//! (it applies no migration and creates no database): it may be run against production.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use clap::Args;
use tessera_domain::files::{GetUrlOptions, ObjectStore};
use tessera_domain::shared::time::{Clock, SystemClock};
use tessera_infra::cache::redis::servers as redis_servers;
use tessera_infra::objects::local::{derive_key, LocalObjects};
use tessera_infra::objects::s3::S3Objects;
use tessera_infra::sql::{DbKind, SqlStore};

use super::{redacted_url, EXIT_FAILURE};
use crate::settings::{AppEnv, RedisConfig, Settings};

/// Skew beyond this is worth a warning (TOTP steps are 30 s, but JWT and URL expiry drift).
const SKEW_WARN: Duration = Duration::from_secs(1);
/// Skew beyond this breaks one-time codes, tokens and signed URLs.
const SKEW_FAIL: Duration = Duration::from_secs(30);
/// How long one service may take to answer before it counts as down.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// The oldest Redis that has every command the server uses (`GETDEL` arrived in 6.2).
const REDIS_MIN_VERSION: (u32, u32) = (6, 2);

/// `tessera doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print only warnings and failures.
    #[arg(long)]
    pub quiet: bool,
}

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Healthy.
    Ok,
    /// Works, but something deserves attention.
    Warn,
    /// Broken: the server cannot work well like this.
    Fail,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Finding {
    /// How it went.
    pub level: Level,
    /// What was checked (`redis`, `database migrations`, …).
    pub check: String,
    /// What was found.
    pub finding: String,
    /// What to do about it (empty when nothing).
    pub todo: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.level, self.check, self.finding)?;
        if !self.todo.is_empty() {
            write!(f, " — {}", self.todo)?;
        }
        Ok(())
    }
}

/// The findings so far, printed as they come.
struct Report {
    quiet: bool,
    worst: Level,
}

impl Report {
    fn add(&mut self, level: Level, check: &str, finding: impl Into<String>, todo: &str) {
        let line = Finding {
            level,
            check: check.to_owned(),
            finding: finding.into(),
            todo: todo.to_owned(),
        };
        self.worst = self.worst.max(level);
        if !(self.quiet && level == Level::Ok) {
            println!("{line}");
        }
    }

    fn ok(&mut self, check: &str, finding: impl Into<String>) {
        self.add(Level::Ok, check, finding, "");
    }

    fn warn(&mut self, check: &str, finding: impl Into<String>, todo: &str) {
        self.add(Level::Warn, check, finding, todo);
    }

    fn fail(&mut self, check: &str, finding: impl Into<String>, todo: &str) {
        self.add(Level::Fail, check, finding, todo);
    }

    /// A clock compared with this machine's: `skew` is how far `theirs` is from ours.
    fn clock(&mut self, check: &str, whose: &str, skew: chrono::TimeDelta) {
        let abs = skew.abs().to_std().unwrap_or(Duration::MAX);
        let finding = format!(
            "{whose} clock is {:.3} s {} this machine's",
            abs.as_secs_f64(),
            if skew >= chrono::TimeDelta::zero() {
                "ahead of"
            } else {
                "behind"
            }
        );
        let todo = "run NTP (chrony, systemd-timesyncd) on both machines: one-time codes, \
                    access tokens and signed URLs depend on agreeing clocks";
        if abs > SKEW_FAIL {
            self.fail(check, finding, todo);
        } else if abs > SKEW_WARN {
            self.warn(check, finding, todo);
        } else {
            self.ok(check, finding);
        }
    }
}

/// Runs every check; exit 1 when one failed.
pub fn main(args: DoctorArgs) -> std::process::ExitCode {
    super::run(async move {
        let mut report = Report {
            quiet: args.quiet,
            worst: Level::Ok,
        };
        run(&mut report).await;
        if report.worst == Level::Fail {
            return Err(super::CliError {
                code: EXIT_FAILURE,
                message: "doctor found failures (the FAIL lines above)".into(),
            });
        }
        Ok(())
    })
}

async fn run(report: &mut Report) {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            report.fail(
                "settings",
                e.to_string(),
                "fix that variable (in the environment or .env; .env.example lists each one); \
                 the server refuses to start like this",
            );
            return;
        }
    };
    check_settings(report, &settings);
    check_database(report, &settings).await;
    match &settings.redis {
        Some(config) => check_redis(report, &settings, config).await,
        None => report.ok(
            "redis",
            "not configured (no REDIS_URL): the in-process cache serves one instance",
        ),
    }
    check_objects(report, &settings).await;
}

fn check_settings(report: &mut Report, settings: &Settings) {
    let db = DbKind::of_url(&settings.database_url).map_or("?", DbKind::as_str);
    let cache = if settings.redis.is_some() {
        "redis"
    } else {
        "in-process"
    };
    let objects = if settings.s3.is_some() {
        "s3"
    } else {
        "local disk"
    };
    report.ok(
        "settings",
        format!(
            "valid (APP_ENV={:?}, database {db}, cache {cache}, object store {objects})",
            settings.app_env
        )
        .to_lowercase(),
    );
    match &settings.jwt_secret {
        None => report.warn(
            "settings JWT_SECRET",
            format!(
                "unset: a generated secret in {} signs tokens",
                settings.data_dir.display()
            ),
            "set JWT_SECRET (32+ random characters) so every instance and every restart from \
             another data directory accepts the same tokens",
        ),
        Some(secret) if weak_secret(secret) => report.warn(
            "settings JWT_SECRET",
            "set but guessable (few different characters)",
            "use 32+ random characters, e.g. `openssl rand -hex 32`",
        ),
        Some(_) => report.ok("settings JWT_SECRET", "set"),
    }
    let policy = settings.url_policy;
    report.ok(
        "settings file URLs",
        format!(
            "signed for {} s, cached {} s, never served with under {} s left",
            policy.url_expires.as_secs(),
            policy.cache_ttl.as_secs(),
            policy.safety_floor.as_secs()
        ),
    );
    if settings.app_env == AppEnv::Production {
        if settings.redis.is_none() {
            report.warn(
                "settings REDIS_URL",
                "unset in production: each instance keeps its own cache and rate counters",
                "set REDIS_URL when more than one instance runs",
            );
        }
        if settings.s3.is_none() {
            report.warn(
                "settings S3_BUCKET",
                "unset in production: files live on this machine's disk",
                "set S3_BUCKET (and S3_ENDPOINT, credentials) when more than one instance runs",
            );
        }
        if settings.database_url.starts_with("sqlite:") {
            report.warn(
                "settings DATABASE_URL",
                "SQLite in production: one machine only",
                "set DATABASE_URL to PostgreSQL to run several instances",
            );
        }
    }
}

/// Fewer than ten different characters in a secret of 32 or more: typed, not generated.
fn weak_secret(secret: &str) -> bool {
    let mut chars: Vec<char> = secret.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    chars.len() < 10
}

async fn check_database(report: &mut Report, settings: &Settings) {
    if let Some(path) = sqlite_path(&settings.database_url) {
        if !path.exists() {
            report.warn(
                "database",
                format!("no SQLite database yet at {}", path.display()),
                "the first `tessera serve` or `tessera migrate` creates it; run doctor where the \
                 server runs, or with its TESSERA_DATA_DIR / DATABASE_URL",
            );
            return;
        }
    }
    let todo_down = "check DATABASE_URL and that the database runs and accepts this machine";
    let db = match tokio::time::timeout(ANSWER_WITHIN, SqlStore::connect(&settings.database_url, 1))
        .await
    {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => return report.fail("database", format!("{e:#}"), todo_down),
        Err(_) => {
            return report.fail(
                "database",
                format!("no answer within {} s", ANSWER_WITHIN.as_secs()),
                todo_down,
            )
        }
    };
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        if let Err(e) = db.ping().await {
            return report.fail("database", format!("SELECT 1 failed: {e}"), todo_down);
        }
        best = best.min(started.elapsed());
    }
    let finding = format!(
        "{} answers, SELECT 1 in {:.1} ms",
        db.kind().as_str(),
        best.as_secs_f64() * 1000.0
    );
    if best > Duration::from_millis(50) {
        report.warn(
            "database",
            finding,
            "slow for a round trip: put the database near the API",
        );
    } else {
        report.ok("database", finding);
    }
    match db.migration_report().await {
        Err(e) => report.fail(
            "database migrations",
            format!("cannot be read: {e:#}"),
            "check the database user may read _sqlx_migrations",
        ),
        Ok(m) if !m.failed.is_empty() || !m.changed.is_empty() => report.fail(
            "database migrations",
            format!(
                "failed part-way: {:?}; changed since applied: {:?}",
                m.failed, m.changed
            ),
            "the server refuses to start: restore the database or the migration files of the \
             build that applied them",
        ),
        Ok(m) if !m.unknown.is_empty() => report.fail(
            "database migrations",
            format!(
                "{} applied by a newer build that this one does not know: {:?}",
                m.unknown.len(),
                m.unknown
            ),
            "run the build that matches the database (this one refuses to start)",
        ),
        Ok(m) if !m.pending.is_empty() => report.warn(
            "database migrations",
            format!("{} applied, {} pending", m.applied, m.pending.len()),
            "`tessera migrate` (or the next start) applies them",
        ),
        Ok(m) => report.ok("database migrations", format!("all {} applied", m.applied)),
    }
    let before = Utc::now();
    match db.clock().await {
        Ok(theirs) => {
            let ours = before + (Utc::now() - before) / 2;
            report.clock("database clock", "the database's", theirs - ours);
        }
        Err(e) => report.warn(
            "database clock",
            format!("cannot be read: {e:#}"),
            "check the clocks by hand",
        ),
    }
    db.close().await;
}

/// The file of a `sqlite:` URL, without its query.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

async fn check_redis(report: &mut Report, settings: &Settings, config: &RedisConfig) {
    let shared = config.state_url == config.url;
    let cache = redis_server(report, "redis", "REDIS_URL", &config.url, settings).await;
    let state = if shared {
        cache.clone()
    } else {
        redis_server(
            report,
            "redis state",
            "REDIS_STATE_URL",
            &config.state_url,
            settings,
        )
        .await
    };
    if let Some(cache) = &cache {
        match cache.policy.as_str() {
            "allkeys-lru" | "volatile-lru" | "allkeys-lfu" | "volatile-lfu" => report.ok(
                "redis maxmemory-policy",
                format!("{} on the cache", cache.policy),
            ),
            "noeviction" if shared => report.ok(
                "redis maxmemory-policy",
                "noeviction on the one Redis holding cache and state: nothing is evicted; when \
                 it is full, cache writes fail and are skipped",
            ),
            other => report.warn(
                "redis maxmemory-policy",
                format!("{other} on the cache"),
                "set maxmemory-policy allkeys-lru (or volatile-lru) on the cache's Redis",
            ),
        }
        if cache.maxmemory == 0 && !shared {
            report.warn(
                "redis maxmemory",
                "no memory limit on the cache",
                "set maxmemory (e.g. 256mb) so eviction, not the machine, bounds the cache",
            );
        }
    }
    if let Some(state) = &state {
        let evicting = state.policy != "noeviction";
        if shared && evicting {
            report.warn(
                "redis state/cache split",
                format!(
                    "sessions' cache, rate counters, post view counts and job locks share one \
                     Redis with the cache under {}: a flood of cached data can evict them",
                    state.policy
                ),
                "give the state its own Redis with maxmemory-policy noeviction and set \
                 REDIS_STATE_URL to it (docs/cache.md)",
            );
        } else if evicting {
            report.warn(
                "redis state/cache split",
                format!("REDIS_STATE_URL evicts ({})", state.policy),
                "set maxmemory-policy noeviction on the state store",
            );
        } else {
            report.ok(
                "redis state/cache split",
                if shared {
                    "one Redis with noeviction: state is never evicted"
                } else {
                    "the state store (REDIS_STATE_URL) never evicts"
                },
            );
        }
        if state.appendonly || state.rdb {
            report.ok(
                "redis persistence",
                format!(
                    "the state store keeps {} on disk",
                    match (state.appendonly, state.rdb) {
                        (true, true) => "an append-only file and snapshots",
                        (true, false) => "an append-only file",
                        _ => "snapshots",
                    }
                ),
            );
        } else {
            report.warn(
                "redis persistence",
                "the state store keeps nothing on disk (appendonly no, no save rules): a \
                 restart loses pending post views and rate counters",
                "set appendonly yes on the state store's Redis",
            );
        }
    }
}

/// What doctor read from one Redis server.
#[derive(Clone)]
struct RedisFacts {
    policy: String,
    maxmemory: u64,
    appendonly: bool,
    rdb: bool,
}

/// Checks one Redis server: answers, how fast, a write that expires, version, clock; reads its
/// policy and persistence for the checks that compare the cache with the state store.
async fn redis_server(
    report: &mut Report,
    check: &str,
    variable: &str,
    url: &str,
    settings: &Settings,
) -> Option<RedisFacts> {
    let shown = redacted_url(url);
    let todo_down = format!("start Redis, or fix {variable} (now {shown})");
    // A Sentinel URL is checked on the master the sentinels name now, a cluster on each master.
    let servers = match redis_servers(url, ANSWER_WITHIN).await {
        Ok(servers) if !servers.is_empty() => servers,
        Ok(_) => {
            report.fail(check, format!("{shown} names no server"), &todo_down);
            return None;
        }
        Err(e) => {
            report.fail(
                check,
                format!("cannot reach the servers of {shown}: {e}"),
                &todo_down,
            );
            return None;
        }
    };
    let mut facts = None;
    for server in servers {
        let node = if url.starts_with("redis://") || url.starts_with("rediss://") {
            shown.clone()
        } else {
            format!("{shown} → {}", server.addr())
        };
        let found = redis_node(report, check, &node, &todo_down, server, settings).await;
        facts = facts.or(found);
    }
    facts
}

/// The checks of [`redis_server`] on one server.
async fn redis_node(
    report: &mut Report,
    check: &str,
    shown: &str,
    todo_down: &str,
    server: redis::ConnectionInfo,
    settings: &Settings,
) -> Option<RedisFacts> {
    let client = match redis::Client::open(server) {
        Ok(client) => client,
        Err(e) => {
            report.fail(check, format!("{shown} cannot be opened: {e}"), todo_down);
            return None;
        }
    };
    let mut conn = match tokio::time::timeout(
        ANSWER_WITHIN,
        client.get_multiplexed_async_connection(),
    )
    .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            report.fail(check, format!("cannot connect to {shown}: {e}"), todo_down);
            return None;
        }
        Err(_) => {
            report.fail(
                check,
                format!(
                    "{shown} did not answer within {} s",
                    ANSWER_WITHIN.as_secs()
                ),
                todo_down,
            );
            return None;
        }
    };
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
        if let Err(e) = pong {
            report.fail(check, format!("PING to {shown} failed: {e}"), todo_down);
            return None;
        }
        best = best.min(started.elapsed());
    }
    let info: String = redis::cmd("INFO")
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    let field = |name: &str| -> Option<String> {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    };
    let version = field("redis_version").unwrap_or_else(|| "?".into());
    let finding = format!(
        "{shown} answers PING in {:.2} ms, version {version}",
        best.as_secs_f64() * 1000.0
    );
    if best > Duration::from_millis(10) {
        report.warn(
            check,
            finding,
            "slow for a cache: put Redis near the API (same host or network)",
        );
    } else {
        report.ok(check, finding);
    }
    if version_below(&version, REDIS_MIN_VERSION) {
        report.fail(
            &format!("{check} version"),
            format!("{version} is older than 6.2 (GETDEL, used by the view write-back)"),
            "upgrade Redis to 6.2 or later (7 recommended)",
        );
    }
    // The seeds' test_redis.py: a value written, read back, given an expiry, removed. A cluster
    // node takes only the keys of its slots: names are tried until one is its own.
    let name = format!(
        "{}doctor:{}",
        settings.cache_key_prefix,
        uuid::Uuid::new_v4().simple()
    );
    let round_trip: redis::RedisResult<(Option<String>, i64)> = async {
        let mut key = name.clone();
        for attempt in 1..=64 {
            let set: redis::RedisResult<()> = redis::cmd("SET")
                .arg(&key)
                .arg("doctor")
                .arg("PX")
                .arg(5000)
                .query_async(&mut conn)
                .await;
            match set {
                Err(e) if e.redirect_node().is_some() => key = format!("{name}:{attempt}"),
                other => {
                    other?;
                    break;
                }
            }
        }
        let value: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await?;
        let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await?;
        Ok((value, ttl))
    }
    .await;
    match round_trip {
        Ok((Some(v), ttl)) if v == "doctor" && ttl > 0 => report.ok(
            &format!("{check} read/write"),
            "a value written with an expiry reads back and is removed",
        ),
        Ok(_) => report.fail(
            &format!("{check} read/write"),
            "a value written did not read back with its expiry",
            "check that this is a primary (not a read-only replica) and not full under noeviction",
        ),
        Err(e) => report.fail(
            &format!("{check} read/write"),
            format!("writing failed: {e}"),
            "check that this is a primary (not a read-only replica), the user's ACL, and memory",
        ),
    }
    let before = Utc::now();
    let time: redis::RedisResult<(String, String)> =
        redis::cmd("TIME").query_async(&mut conn).await;
    match time.ok().and_then(|(s, us)| {
        let s: i64 = s.parse().ok()?;
        let us: i64 = us.parse().ok()?;
        DateTime::from_timestamp_micros(s * 1_000_000 + us)
    }) {
        Some(theirs) => {
            let ours = before + (Utc::now() - before) / 2;
            report.clock(&format!("{check} clock"), "Redis's", theirs - ours);
        }
        None => report.warn(
            &format!("{check} clock"),
            "TIME could not be read",
            "check the clocks by hand",
        ),
    }
    let config = |name: &'static str| {
        let mut conn = conn.clone();
        async move {
            let pair: redis::RedisResult<Vec<String>> = redis::cmd("CONFIG")
                .arg("GET")
                .arg(name)
                .query_async(&mut conn)
                .await;
            pair.ok().and_then(|p| p.get(1).cloned())
        }
    };
    // CONFIG may be renamed away on managed Redis: INFO has the same figures.
    let policy = match config("maxmemory-policy").await {
        Some(policy) => policy,
        None => field("maxmemory_policy").unwrap_or_else(|| "unknown".into()),
    };
    let maxmemory = field("maxmemory").and_then(|m| m.parse().ok()).unwrap_or(0);
    let appendonly = match config("appendonly").await {
        Some(v) => v == "yes",
        None => field("aof_enabled").as_deref() == Some("1"),
    };
    let rdb = match config("save").await {
        Some(rules) => !rules.trim().is_empty(),
        // Without CONFIG, assume snapshots as Redis's default does.
        None => true,
    };
    Some(RedisFacts {
        policy,
        maxmemory,
        appendonly,
        rdb,
    })
}

/// Whether `version` (`7.2.4`) is older than `min` (major, minor).
fn version_below(version: &str, min: (u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) < min,
        _ => false,
    }
}

async fn check_objects(report: &mut Report, settings: &Settings) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, check, todo_down): (Arc<dyn ObjectStore>, &str, String) = match &settings.s3 {
        Some(s3) => {
            let store = S3Objects::new(s3, clock).await;
            (
                Arc::new(store),
                "object store",
                format!(
                    "check S3_BUCKET ({}), S3_ENDPOINT, S3_REGION, the credentials and their \
                     permissions (put, get, delete)",
                    s3.bucket
                ),
            )
        }
        None => {
            let root = settings.data_dir.join("objects");
            if !root.exists() {
                report.warn(
                    "object store",
                    format!("no local object directory yet at {}", root.display()),
                    "the first `tessera serve` creates it; run doctor where the server runs, or \
                     with its TESSERA_DATA_DIR",
                );
                return;
            }
            // Only the directory is checked here: its URLs are served by the server itself.
            let store = match LocalObjects::new(
                root.clone(),
                "http://127.0.0.1",
                &derive_key(b"tessera doctor", b"throwaway"),
                clock,
            ) {
                Ok(store) => store,
                Err(e) => return report.fail("object store", format!("{e:#}"), "check the path"),
            };
            (
                Arc::new(store),
                "object store",
                format!(
                    "make {} writable by the server's user (TESSERA_DATA_DIR)",
                    root.display()
                ),
            )
        }
    };
    if let Err(e) = tokio::time::timeout(ANSWER_WITHIN, store.ping())
        .await
        .unwrap_or_else(|_| {
            Err(tessera_domain::shared::DomainError::Unavailable(
                "the object store (no answer in time)".into(),
            ))
        })
    {
        return report.fail(
            check,
            format!("{} does not answer: {e}", store.kind()),
            &todo_down,
        );
    }
    let key = format!("doctor/{}.txt", uuid::Uuid::new_v4().simple());
    let body = Bytes::from_static(b"tessera doctor");
    if let Err(e) = store.put(&key, body.clone(), "text/plain").await {
        return report.fail(
            check,
            format!("writing a test object failed: {e}"),
            &todo_down,
        );
    }
    let outcome = object_round_trip(&*store, &key, &body).await;
    let removed = store.delete(&key).await;
    match outcome {
        Ok(finding) => report.ok(check, finding),
        Err((finding, todo)) => report.fail(check, finding, &todo),
    }
    if let Err(e) = removed {
        report.warn(
            check,
            format!("the test object {key} could not be removed: {e}"),
            "grant delete permission; remove the object by hand",
        );
    }
}

/// HEAD of the test object, and on S3 a GET through a presigned URL (the path browsers take).
/// The URL is a credential: it is never printed.
async fn object_round_trip(
    store: &dyn ObjectStore,
    key: &str,
    body: &Bytes,
) -> Result<String, (String, String)> {
    match store.head(key).await {
        Ok(Some(meta)) if meta.size == body.len() as u64 => {}
        Ok(_) => {
            return Err((
                "a test object written could not be found again".into(),
                "check the store is consistent (and the bucket not shared with a lifecycle rule \
                 that removes new objects)"
                    .into(),
            ))
        }
        Err(e) => {
            return Err((
                format!("HEAD of a test object failed: {e}"),
                "check the credentials' read permission".into(),
            ))
        }
    }
    if store.kind() != "s3" {
        return Ok(format!(
            "{}: a test object was written, found and removed",
            store.kind()
        ));
    }
    let options = GetUrlOptions {
        content_type: "text/plain".into(),
        content_disposition: "inline".into(),
    };
    let signed = store
        .presign_get(key, Duration::from_secs(60), &options)
        .await
        .map_err(|e| {
            (
                format!("signing a URL failed: {e}"),
                "check the credentials (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)".into(),
            )
        })?;
    let started = Instant::now();
    let answer = reqwest::Client::builder()
        .timeout(ANSWER_WITHIN)
        .build()
        .map_err(|e| (format!("no HTTP client: {e}"), String::new()))?
        .get(&*signed.url)
        .send()
        .await;
    let elapsed = started.elapsed();
    match answer {
        Ok(res) if res.status().is_success() => match res.bytes().await {
            Ok(got) if got == *body => Ok(format!(
                "s3: a test object was written, read back through a presigned URL in {:.1} ms, \
                 and removed",
                elapsed.as_secs_f64() * 1000.0
            )),
            _ => Err((
                "a presigned URL answered other bytes than were written".into(),
                "check S3_ENDPOINT points at the store the API writes to".into(),
            )),
        },
        Ok(res) => Err((
            format!(
                "a presigned URL was refused (HTTP {})",
                res.status().as_u16()
            ),
            "check this machine's clock, S3_REGION, S3_FORCE_PATH_STYLE and that S3_ENDPOINT is \
             the address clients use"
                .into(),
        )),
        Err(e) => Err((
            format!("a presigned URL could not be fetched: {}", e.without_url()),
            "check that the endpoint in signed URLs (S3_ENDPOINT) is reachable from here and from \
             browsers"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_reads_as_one_line_with_what_to_do() {
        let line = Finding {
            level: Level::Fail,
            check: "redis".into(),
            finding: "cannot connect".into(),
            todo: "start Redis".into(),
        };
        assert_eq!(line.to_string(), "FAIL redis: cannot connect — start Redis");
    }

    #[test]
    fn versions_older_than_six_two_are_found() {
        assert!(version_below("6.0.16", (6, 2)));
        assert!(!version_below("6.2.0", (6, 2)));
        assert!(!version_below("7.0.15", (6, 2)));
        assert!(!version_below("unknown", (6, 2)));
    }

    #[test]
    fn a_typed_secret_is_weak_and_a_generated_one_is_not() {
        assert!(weak_secret(&"ab".repeat(20)));
        assert!(!weak_secret("3f9c0a7e51b2d84c6e0f1a2b3c4d5e6f"));
    }

    #[test]
    fn the_sqlite_file_is_read_from_its_url() {
        assert_eq!(
            sqlite_path("sqlite://./data/tessera.db?mode=rwc"),
            Some(std::path::PathBuf::from("./data/tessera.db"))
        );
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }
}
