//! `tessera cache stats|clear|warm|refresh|keys|monitor`.
//!
//! With `REDIS_URL` set the cache is shared, so the command opens it (and the database and object
//! store that warm and refresh sign from) itself and runs the same domain calls as the admin
//! endpoints ([`CacheAdmin`](tessera_domain::cache::CacheAdmin)), as the system acting with an
//! administrator's rights. On the embedded default (no `REDIS_URL`) the cache lives inside the
//! running server, so the command asks that server's admin API (`API_URL`, `ADMIN_TOKEN`);
//! `--api` does so with Redis too. `--json` prints the endpoints' own answers: the bodies are
//! built by the same functions as the handlers' (`routes::admin_cache`).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use tessera_domain::access::{Actor, UnitScope};
use tessera_domain::cache::admin::WARM_MAX_IDS;
use tessera_domain::shared::{DomainError, UserId};

use super::{redacted_url, CliError};
use crate::routes::admin_cache::{
    clear_audit_event, clear_response, clear_target, refresh_response, stats_response,
    warm_response, warm_target, ClearRequest, WarmRequest,
};
use crate::settings::Settings;
use crate::startup::build_state;
use crate::state::AppState;

/// `API_URL` when unset: the server's default address.
const DEFAULT_API_URL: &str = "http://127.0.0.1:8080";

/// `tessera cache …`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CacheCommand,
    /// Print the admin endpoint's JSON answer, exactly as the endpoint answers it.
    #[arg(long, global = true)]
    pub json: bool,
    /// Ask the running server's admin API (API_URL, ADMIN_TOKEN) even when REDIS_URL is set:
    /// hit and miss counts are kept by each server process, so only it can show them.
    #[arg(long, global = true)]
    pub api: bool,
}

/// The cache verbs; each mirrors an admin endpoint's body.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Entries, hits, misses, hit ratio, Redis memory (GET /api/admin/cache/stats).
    Stats,
    /// Remove cached entries: every file URL, one file's, or a whole namespace's
    /// (POST /api/admin/cache/clear).
    Clear {
        /// Only this file's URL.
        #[arg(long)]
        file_id: Option<i64>,
        /// Every entry of this namespace (file_url, members, org_tree, dashboard, …).
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Sign and cache file URLs ahead of use: the newest 100, the newest of a type, or these
    /// files (POST /api/admin/cache/warm).
    Warm {
        /// Only files of this type (avatar, material, receipt, post_image, general).
        #[arg(long)]
        file_type: Option<String>,
        /// These files, comma-separated; more than 1000 are warmed 1000 at a time.
        #[arg(long, value_delimiter = ',', num_args = 1)]
        file_ids: Option<Vec<i64>>,
        /// Also compute today's dashboard of the organisation and of every unit.
        #[arg(long)]
        dashboards: bool,
    },
    /// Re-sign cached URLs with less than five minutes of cache life left
    /// (POST /api/admin/cache/refresh).
    Refresh,
    /// List cache keys and their TTL in seconds (Redis only: SCAN, never KEYS).
    Keys {
        /// Which keys, after CACHE_KEY_PREFIX (a Redis glob).
        #[arg(long, default_value = "file_url:*")]
        pattern: String,
        /// List at most this many (0: all).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// One line of cache figures every --interval seconds until Ctrl-C.
    Monitor {
        /// Seconds between lines.
        #[arg(long, default_value_t = 2.0)]
        interval: f64,
        /// Stop after this many lines.
        #[arg(long)]
        count: Option<u64>,
    },
}

/// Runs a cache verb; the exit code says how it went.
pub fn main(args: CacheArgs) -> std::process::ExitCode {
    super::run(run(args))
}

async fn run(args: CacheArgs) -> Result<(), CliError> {
    let settings = Settings::from_env().map_err(|e| CliError::usage(e.to_string()))?;
    let CacheArgs { command, json, api } = args;
    match command {
        CacheCommand::Keys { pattern, limit } => {
            if api || settings.redis.is_none() {
                return Err(CliError::usage(
                    "keys lists the keys of Redis, and this setup has no REDIS_URL: the cache \
                     lives inside the server process, which lists no keys. `tessera cache stats` \
                     shows its entries per namespace and its capacity (max_entries)",
                ));
            }
            return keys(&settings, &pattern, limit, json).await;
        }
        CacheCommand::Monitor { interval, count } => {
            if !(interval.is_finite() && interval > 0.0) {
                return Err(CliError::usage(
                    "--interval must be a positive number of seconds",
                ));
            }
            let source = Source::open(settings, api).await?;
            return monitor(&source, Duration::from_secs_f64(interval), count, json).await;
        }
        _ => {}
    }
    let source = Source::open(settings, api).await?;
    let body = match command {
        CacheCommand::Stats => source.stats().await?,
        CacheCommand::Clear { file_id, namespace } => {
            let mut body = json!({});
            if let Some(id) = file_id {
                body["file_id"] = json!(id);
            }
            if let Some(ns) = namespace {
                body["namespace"] = json!(ns);
            }
            let progress = spinner("clearing");
            let answer = source.clear(body).await;
            finish(progress);
            answer?
        }
        CacheCommand::Warm {
            file_type,
            file_ids,
            dashboards,
        } => match file_ids {
            Some(ids) if ids.len() > WARM_MAX_IDS => {
                warm_in_batches(&source, file_type, &ids, dashboards).await?
            }
            ids => {
                let body = warm_body(file_type.as_deref(), ids.as_deref(), dashboards);
                let progress = spinner("signing and caching file URLs");
                let answer = source.warm(body).await;
                finish(progress);
                answer?
            }
        },
        CacheCommand::Refresh => {
            let progress = spinner("re-signing URLs about to expire");
            let answer = source.refresh().await;
            finish(progress);
            answer?
        }
        CacheCommand::Keys { .. } | CacheCommand::Monitor { .. } => return Ok(()),
    };
    if json {
        println!("{body}");
    } else if body.get("stats").is_some() {
        print!("{}", human_stats(&body["stats"], source.counts_here()));
    } else {
        println!("{}", body["message"].as_str().unwrap_or("done"));
    }
    Ok(())
}

/// A warm body: `{}`, `{"file_type":…}`, `{"file_ids":[…]}`, `{"dashboards":true}` or a mix.
fn warm_body(file_type: Option<&str>, file_ids: Option<&[i64]>, dashboards: bool) -> Value {
    let mut body = json!({});
    if let Some(t) = file_type {
        body["file_type"] = json!(t);
    }
    if let Some(ids) = file_ids {
        body["file_ids"] = json!(ids);
    }
    if dashboards {
        body["dashboards"] = json!(true);
    }
    body
}

/// More ids than one warm takes: one call per [`WARM_MAX_IDS`], a progress bar on a terminal,
/// and one answer for the whole, worded by the endpoint's own function (dashboards, if asked,
/// with the last batch).
async fn warm_in_batches(
    source: &Source,
    file_type: Option<String>,
    ids: &[i64],
    dashboards: bool,
) -> Result<Value, CliError> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(ids.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, about {eta} left")
        {
            bar.set_style(style);
        }
        bar
    });
    let batches: Vec<&[i64]> = ids.chunks(WARM_MAX_IDS).collect();
    let (mut cached, mut dashboards_count) = (0usize, None);
    for (i, batch) in batches.iter().enumerate() {
        let last = i + 1 == batches.len();
        let body = warm_body(file_type.as_deref(), Some(batch), dashboards && last);
        let answer = source.warm(body).await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                return Err(CliError {
                    code: e.code,
                    message: format!(
                        "{} (after {cached} URLs cached in {i} batches of {WARM_MAX_IDS})",
                        e.message
                    ),
                });
            }
        };
        cached += answer["cached_count"].as_u64().unwrap_or(0) as usize;
        if let Some(n) = answer["dashboards_count"].as_u64() {
            dashboards_count = Some(n as usize);
        }
        if let Some(bar) = &bar {
            bar.inc(batch.len() as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    to_value(&warm_response(cached, dashboards_count))
}

/// Where the figures come from: the shared cache itself, or the server's admin API.
enum Source {
    /// Redis, the database and the object store, opened here.
    Direct(Box<Direct>),
    /// The running server's admin API.
    Api(Api),
}

struct Direct {
    state: AppState,
    actor: Actor,
}

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Source {
    async fn open(settings: Settings, force_api: bool) -> Result<Self, CliError> {
        if force_api || settings.redis.is_none() {
            return Api::from_env().map(Source::Api);
        }
        let shown = settings
            .redis
            .as_ref()
            .map(|r| redacted_url(&r.url))
            .unwrap_or_default();
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", settings.addr));
        let state = build_state(settings, &public_url).await?;
        if let Err(e) = state.cache.ping().await {
            return Err(CliError::failure(format!(
                "Redis at {shown} (REDIS_URL) does not answer: {e}. Start it or fix REDIS_URL; \
                 `tessera doctor` checks every service"
            )));
        }
        Ok(Source::Direct(Box::new(Direct {
            state,
            actor: system_actor(),
        })))
    }

    /// Whether this process's own lookups are what the stats count (nothing, then).
    fn counts_here(&self) -> bool {
        matches!(self, Source::Direct(_))
    }

    async fn stats(&self) -> Result<Value, CliError> {
        match self {
            Source::Direct(d) => {
                let stats = d
                    .state
                    .cache_admin
                    .stats(&d.actor)
                    .await
                    .map_err(domain_error)?;
                let jobs = d.state.jobs.status().await;
                to_value(&stats_response(stats, jobs))
            }
            Source::Api(api) => api.call(reqwest::Method::GET, "stats", None).await,
        }
    }

    async fn clear(&self, body: Value) -> Result<Value, CliError> {
        match self {
            Source::Direct(d) => {
                let request: ClearRequest = parse_body(body)?;
                let target = clear_target(&request).map_err(domain_error)?;
                let cleared = d
                    .state
                    .cache_admin
                    .clear(&d.actor, target)
                    .await
                    .map_err(domain_error)?;
                d.state
                    .audit
                    .record(clear_audit_event(None, None, target, cleared))
                    .await;
                to_value(&clear_response(cleared))
            }
            Source::Api(api) => api.call(reqwest::Method::POST, "clear", Some(body)).await,
        }
    }

    async fn warm(&self, body: Value) -> Result<Value, CliError> {
        match self {
            Source::Direct(d) => {
                let request: WarmRequest = parse_body(body)?;
                let cached = d
                    .state
                    .cache_admin
                    .warm(&d.actor, warm_target(&request))
                    .await
                    .map_err(domain_error)?;
                let dashboards = if request.dashboards {
                    Some(
                        d.state
                            .dashboard
                            .warm(&d.actor)
                            .await
                            .map_err(domain_error)?,
                    )
                } else {
                    None
                };
                to_value(&warm_response(cached, dashboards))
            }
            Source::Api(api) => api.call(reqwest::Method::POST, "warm", Some(body)).await,
        }
    }

    async fn refresh(&self) -> Result<Value, CliError> {
        match self {
            Source::Direct(d) => {
                let refreshed = d
                    .state
                    .cache_admin
                    .refresh(&d.actor)
                    .await
                    .map_err(domain_error)?;
                to_value(&refresh_response(refreshed))
            }
            Source::Api(api) => api.call(reqwest::Method::POST, "refresh", None).await,
        }
    }
}

/// The command line acts as the system with an administrator's rights; it is no user, so the
/// audit log records its clears without one (`user_id` null, no address).
fn system_actor() -> Actor {
    Actor {
        user_id: UserId(0),
        is_admin: true,
        is_treasurer: false,
        org_unit_id: None,
        units: UnitScope::All,
        ip: None,
    }
}

/// A body built from the arguments, read by the endpoint's own request type, so the same
/// values are refused with the same words.
fn parse_body<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, CliError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let field = path.trim_start_matches('.').replace('_', "-");
        CliError::usage(format!("--{field}: {}", e.into_inner()))
    })
}

fn to_value<T: serde::Serialize>(body: &T) -> Result<Value, CliError> {
    serde_json::to_value(body).map_err(|e| CliError::failure(format!("cannot encode: {e}")))
}

/// A refusal of what was asked is bad usage (2); the cache or database down is a failure (1).
fn domain_error(e: DomainError) -> CliError {
    match e {
        DomainError::Validation(_) | DomainError::NotFound(_) => CliError::usage(e.to_string()),
        DomainError::Unavailable(what) => CliError::failure(format!(
            "{what} is unavailable; `tessera doctor` checks every service"
        )),
        other => CliError::failure(other.to_string()),
    }
}

impl Api {
    fn from_env() -> Result<Self, CliError> {
        let base = std::env::var("API_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let base = base.trim().trim_end_matches('/').to_owned();
        let token = std::env::var("ADMIN_TOKEN")
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                CliError::usage(
                    "ADMIN_TOKEN is not set. Without REDIS_URL the cache lives inside the running \
                     server, so this command asks its admin API: export ADMIN_TOKEN=$(scripts/login \
                     admin@example.org 'password') or, for cron, an API token with the cache:admin \
                     scope (`tessera token create --email … --name cron --scopes cache:admin`)",
                )
            })?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| CliError::failure(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            base,
            token,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        verb: &str,
        body: Option<Value>,
    ) -> Result<Value, CliError> {
        let url = format!("{}/api/admin/cache/{verb}", self.base);
        let mut request = self
            .client
            .request(method, &url)
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            CliError::failure(format!(
                "no answer from the server at {} (API_URL): {}. Start it (`tessera serve`) or \
                 set API_URL",
                self.base,
                root_cause(&e)
            ))
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            CliError::failure(format!("the server's answer broke off: {}", root_cause(&e)))
        })?;
        let body: Option<Value> = serde_json::from_str(&text).ok();
        let detail = body
            .as_ref()
            .and_then(|b| b.get("detail").or_else(|| b.get("error")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match status.as_u16() {
            200..=299 => body.ok_or_else(|| {
                CliError::failure(format!(
                    "the server at {} answered something other than JSON: is API_URL Tessera?",
                    self.base
                ))
            }),
            401 => Err(CliError::failure(
                "the server refused ADMIN_TOKEN (401): it has expired or was revoked. Get a new \
                 one: export ADMIN_TOKEN=$(scripts/login admin@example.org 'password'), or use an \
                 API token (`tessera token create … --scopes cache:admin`)",
            )),
            403 => Err(CliError::failure(format!(
                "the server refused ADMIN_TOKEN (403: {}): log in as an administrator, or give \
                 the API token the cache:admin scope",
                if detail.is_empty() {
                    "Admin access required"
                } else {
                    &detail
                }
            ))),
            400 | 404 | 422 => Err(CliError::usage(format!(
                "the server refused the request ({status}): {}",
                field_errors(body.as_ref()).unwrap_or(detail)
            ))),
            _ => Err(CliError::failure(format!(
                "the server answered {status}: {detail}"
            ))),
        }
    }
}

/// A problem's field errors as `field: message; …`, when it has any.
fn field_errors(problem: Option<&Value>) -> Option<String> {
    let errors = problem?.get("errors")?.as_array()?;
    let lines: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.get("field").and_then(Value::as_str).unwrap_or("?"),
                e.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("invalid")
            )
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// The innermost cause of an HTTP error ("Connection refused"), not reqwest's wrapper text.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A spinner on stderr while long work runs, only when stderr is a terminal.
fn spinner(what: &str) -> Option<(ProgressBar, Instant)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    Some((bar, Instant::now()))
}

fn finish(progress: Option<(ProgressBar, Instant)>) {
    if let Some((bar, started)) = progress {
        bar.finish_and_clear();
        eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
    }
}

/// The stats answer as lines for people.
fn human_stats(stats: &Value, counts_here: bool) -> String {
    let num = |v: &Value| v.as_u64().map_or_else(|| "-".to_owned(), |n| n.to_string());
    let ratio = |v: &Value| format!("{:.1}%", v.as_f64().unwrap_or(0.0) * 100.0);
    let mut out = String::new();
    let backend = stats["backend"].as_str().unwrap_or("?");
    let degraded = if stats["degraded"].as_bool() == Some(true) {
        " DEGRADED: the cache fails and is skipped; requests sign every URL"
    } else {
        ""
    };
    out.push_str(&format!("backend:          {backend}{degraded}\n"));
    out.push_str(&format!(
        "file URL entries: {}{}\n",
        num(&stats["file_url_entries"]),
        stats["max_entries"]
            .as_u64()
            .map(|m| format!(" (capacity {m} entries)"))
            .unwrap_or_default()
    ));
    if counts_here {
        out.push_str(
            "hits, misses:     counted inside each server process; see them with --api or on \
             /metrics\n",
        );
    } else {
        out.push_str(&format!(
            "file URL lookups: {} hits, {} misses, hit ratio {} (this server since start)\n",
            num(&stats["hits"]),
            num(&stats["misses"]),
            ratio(&stats["hit_ratio"])
        ));
        out.push_str(&format!(
            "URLs signed:      {}\n",
            num(&stats["signatures"])
        ));
    }
    out.push_str(&format!(
        "every key:        {}\n",
        num(&stats["total_keys"])
    ));
    out.push_str(&format!(
        "file URLs:        cached {} s, valid {} s\n",
        num(&stats["file_url_cache_ttl"]),
        num(&stats["file_url_expires"])
    ));
    if let Some(namespaces) = stats["namespaces"].as_object() {
        out.push_str("namespace          entries       hits     misses  hit ratio\n");
        for (name, n) in namespaces {
            let counts = if counts_here {
                format!("{:>10} {:>10} {:>10}", "-", "-", "-")
            } else {
                format!(
                    "{:>10} {:>10} {:>10}",
                    num(&n["hits"]),
                    num(&n["misses"]),
                    ratio(&n["hit_ratio"])
                )
            };
            out.push_str(&format!(
                "  {name:<14} {:>9} {counts}\n",
                num(&n["entries"])
            ));
        }
    }
    let redis = &stats["redis"];
    if redis.is_object() {
        out.push_str(&format!(
            "redis:            {} used of {} ({}), {} keys evicted, {} clients, {} commands, version {}\n",
            redis["used_memory_human"].as_str().unwrap_or("?"),
            match redis["maxmemory"].as_u64() {
                Some(0) => "no limit".to_owned(),
                _ => redis["maxmemory_human"].as_str().unwrap_or("?").to_owned(),
            },
            redis["maxmemory_policy"].as_str().unwrap_or("?"),
            num(&redis["evicted_keys"]),
            num(&redis["connected_clients"]),
            num(&redis["total_commands_processed"]),
            redis["redis_version"].as_str().unwrap_or("?"),
        ));
    } else if backend == "redis" {
        out.push_str("redis:            its INFO could not be read\n");
    }
    out
}

/// Lists keys matching `pattern` (after the key prefix) with their TTL: SCAN in pages, then the
/// TTLs of each page in one pipeline.
async fn keys(
    settings: &Settings,
    pattern: &str,
    limit: usize,
    json: bool,
) -> Result<(), CliError> {
    let Some(config) = &settings.redis else {
        return Err(CliError::usage("keys needs REDIS_URL"));
    };
    let shown = redacted_url(&config.url);
    let down = |e: redis::RedisError| {
        CliError::failure(format!(
            "Redis at {shown} (REDIS_URL) does not answer: {e}. Start it or fix REDIS_URL"
        ))
    };
    let client = redis::Client::open(config.url.as_str())
        .map_err(|e| CliError::usage(format!("REDIS_URL cannot be opened here: {e}")))?;
    let mut conn = tokio::time::timeout(
        config.connect_timeout.max(Duration::from_secs(2)),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| {
        CliError::failure(format!(
            "Redis at {shown} (REDIS_URL) did not answer in time. Start it or fix REDIS_URL"
        ))
    })?
    .map_err(down)?;
    let prefix = &settings.cache_key_prefix;
    let matching = format!("{prefix}{pattern}");
    let progress = spinner("scanning");
    let mut found: Vec<(String, Option<i64>)> = Vec::new();
    let mut cursor: u64 = 0;
    let mut truncated = false;
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&matching)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        if !page.is_empty() {
            let mut pipe = redis::pipe();
            for key in &page {
                pipe.cmd("TTL").arg(key);
            }
            let ttls: Vec<i64> = pipe.query_async(&mut conn).await.map_err(down)?;
            for (key, ttl) in page.into_iter().zip(ttls) {
                // -2: gone since the SCAN; -1: no expiry.
                if ttl == -2 {
                    continue;
                }
                let key = key.strip_prefix(prefix.as_str()).unwrap_or(&key).to_owned();
                found.push((key, (ttl >= 0).then_some(ttl)));
            }
        }
        cursor = next;
        if limit > 0 && found.len() >= limit {
            truncated = found.len() > limit || cursor != 0;
            found.truncate(limit);
            break;
        }
        if cursor == 0 {
            break;
        }
    }
    if let Some((bar, _)) = progress {
        bar.finish_and_clear();
    }
    found.sort();
    if json {
        let keys: Vec<Value> = found
            .iter()
            .map(|(key, ttl)| json!({"key": key, "ttl": ttl}))
            .collect();
        println!(
            "{}",
            json!({"success": true, "count": keys.len(), "truncated": truncated, "keys": keys})
        );
    } else {
        for (key, ttl) in &found {
            let ttl = ttl.map_or_else(|| "no expiry".to_owned(), |t| format!("{t} s"));
            println!("{ttl:>10}  {key}");
        }
        let more = if truncated {
            format!(" (the first {limit}; --limit 0 lists all)")
        } else {
            String::new()
        };
        eprintln!("{} keys matching {pattern}{more}", found.len());
    }
    Ok(())
}

/// Prints one line of figures every `interval` until Ctrl-C (or `count` lines): entries, the
/// interval's hits, misses and hit ratio, Redis memory. With Redis opened here, hits and misses
/// are Redis's own keyspace counts (every key of that server): this process counts nothing.
async fn monitor(
    source: &Source,
    interval: Duration,
    count: Option<u64>,
    json: bool,
) -> Result<(), CliError> {
    let mut previous: Option<(u64, u64)> = None;
    let mut printed = 0u64;
    loop {
        match source.stats().await {
            Ok(body) if json => println!("{body}"),
            Ok(body) => {
                let stats = &body["stats"];
                let (hits, misses, what) = if source.counts_here() {
                    let redis = &stats["redis"];
                    (
                        redis["keyspace_hits"].as_u64().unwrap_or(0),
                        redis["keyspace_misses"].as_u64().unwrap_or(0),
                        "redis",
                    )
                } else {
                    (
                        stats["hits"].as_u64().unwrap_or(0),
                        stats["misses"].as_u64().unwrap_or(0),
                        "file_url",
                    )
                };
                println!("{}", monitor_line(stats, what, (hits, misses), previous));
                previous = Some((hits, misses));
            }
            Err(e) if e.code == super::EXIT_USAGE => return Err(e),
            Err(e) => eprintln!("{} {}", chrono::Utc::now().format("%H:%M:%S"), e.message),
        }
        printed += 1;
        if count.is_some_and(|c| printed >= c) {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// One monitor line: the interval's deltas once there is a previous sample, totals before.
fn monitor_line(
    stats: &Value,
    what: &str,
    (hits, misses): (u64, u64),
    previous: Option<(u64, u64)>,
) -> String {
    let (dh, dm, sign) = match previous {
        Some((ph, pm)) => (hits.saturating_sub(ph), misses.saturating_sub(pm), "+"),
        None => (hits, misses, ""),
    };
    let ratio = if dh + dm == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", dh as f64 * 100.0 / (dh + dm) as f64)
    };
    let entries = stats["file_url_entries"]
        .as_u64()
        .map_or_else(|| "-".to_owned(), |n| n.to_string());
    let memory = stats["redis"]["used_memory_human"]
        .as_str()
        .unwrap_or("-")
        .to_owned();
    format!(
        "{} backend={}{} entries={entries} {what}_hits={sign}{dh} {what}_misses={sign}{dm} hit_ratio={ratio} memory={memory}",
        chrono::Utc::now().format("%H:%M:%S"),
        stats["backend"].as_str().unwrap_or("?"),
        if stats["degraded"].as_bool() == Some(true) {
            " DEGRADED"
        } else {
            ""
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_monitor_line_shows_the_intervals_deltas() {
        let stats = json!({"backend": "redis", "degraded": false, "file_url_entries": 7,
            "redis": {"used_memory_human": "1.5M"}});
        let line = monitor_line(&stats, "file_url", (30, 10), Some((20, 5)));
        assert!(
            line.ends_with("backend=redis entries=7 file_url_hits=+10 file_url_misses=+5 hit_ratio=66.7% memory=1.5M"),
            "{line}"
        );
        let first = monitor_line(&stats, "file_url", (0, 0), None);
        assert!(first.contains("hit_ratio=- "), "{first}");
    }

    #[test]
    fn a_bad_argument_names_the_flag() {
        let err = parse_body::<WarmRequest>(json!({"file_type": "poster"})).unwrap_err();
        assert_eq!(err.code, super::super::EXIT_USAGE);
        assert!(err.message.starts_with("--file-type: "), "{}", err.message);
    }
}
