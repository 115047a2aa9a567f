//! Settings from the environment (and `.env` when present). The variable names are a contract
//! for ops scripts; `.env.example` lists each with its default. A bad value stops start-up with
//! one line naming the variable and what is wrong with it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use tessera_domain::accounts::otp::OtpSecret;
use tessera_domain::files::UrlPolicy;
use tessera_domain::shared::cached::TtlClasses;
use tessera_infra::cache::redis::{cluster_url, parse_redis_url};
use tessera_infra::objects::s3::S3Settings;
use tessera_infra::sql::DbKind;

/// Where the app runs: decides defaults that must be explicit in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Local development (the default).
    Development,
    /// Automated tests.
    Test,
    /// Production: `JWT_SECRET` must be set.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// How often the log file (`LOG_FILE`) starts a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRotation {
    /// A new file every day (the default): `<name>.YYYY-MM-DD`.
    Daily,
    /// A new file every hour: `<name>.YYYY-MM-DD-HH`.
    Hourly,
    /// One file, never rotated (rotate it with logrotate's `copytruncate`).
    Never,
}

/// Where log lines go besides the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// `LOG_FILE`: the file's path; rotated files add a date to its name.
    pub path: PathBuf,
    /// `LOG_ROTATION`: `daily` (default), `hourly` or `never`.
    pub rotation: LogRotation,
    /// `LOG_MAX_FILES` (7): how many rotated files are kept; 0 keeps them all.
    pub max_files: usize,
}

/// Redis settings, present when `REDIS_URL` or `REDIS_CLUSTER_NODES` is set.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `REDIS_URL` (`redis://`, `rediss://`, `redis-sentinel://`), or `redis-cluster://…`
    /// made from `REDIS_CLUSTER_NODES`.
    pub url: String,
    /// `REDIS_STATE_URL` (default `REDIS_URL`): where rate-limit counters live, which must never
    /// be evicted to make room for cached data (`noeviction`; see docs/cache.md).
    pub state_url: String,
    /// `REDIS_POOL_SIZE`.
    pub pool_size: u32,
    /// `REDIS_CONNECT_TIMEOUT_MS`.
    pub connect_timeout: Duration,
    /// `REDIS_COMMAND_TIMEOUT_MS`.
    pub command_timeout: Duration,
    /// `CACHE_LOCAL_TTL`: how long an entry lives in the in-process tier in front of Redis
    /// (0: no tier, every read asks Redis).
    pub local_ttl: Duration,
    /// `CACHE_LOCAL_MAX_MB`: the in-process tier's size bound, in MiB of keys and values.
    pub local_max_bytes: u64,
}

/// Every setting of the server.
#[derive(Clone)]
pub struct Settings {
    /// `TESSERA_ADDR`: where to listen.
    pub addr: String,
    /// `TESSERA_PUBLIC_URL`: the base of local-disk URLs; default `http://<bound address>`.
    pub public_url: Option<String>,
    /// `TESSERA_DATA_DIR`.
    pub data_dir: PathBuf,
    /// `TESSERA_FRONTEND_DIR`: the built SPA.
    pub frontend_dir: PathBuf,
    /// `TESSERA_FRONTEND_BUILD`: `auto` (the default) builds the SPA before `serve` when its
    /// sources beside `TESSERA_FRONTEND_DIR` are newer than the build; `off` never does.
    pub frontend_build: bool,
    /// `DATABASE_URL` (default SQLite in the data dir).
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `REDIS_URL` and its pool settings; `None` selects the in-process cache.
    pub redis: Option<RedisConfig>,
    /// `CACHE_KEY_PREFIX`: empty by default, so keys are exactly `file_url:<id>`.
    pub cache_key_prefix: String,
    /// `CACHE_MAX_ENTRIES`: the in-process cache's size.
    pub cache_max_entries: u64,
    /// `CACHE_TTL_DASHBOARD`, `CACHE_TTL_USER_DATA`, `CACHE_TTL_STATIC`, `CACHE_TTL_CONFIG` (and
    /// `FILE_URL_CACHE_TTL` for file URLs).
    pub cache_ttls: TtlClasses,
    /// `CACHE_COMPRESS_MIN_BYTES`: Redis values at least this long are stored compressed
    /// (zlib); 0 turns compression off.
    pub cache_compress_min_bytes: usize,
    /// S3 settings; `None` selects the local-disk store.
    pub s3: Option<S3Settings>,
    /// `JWT_SECRET`; `None` generates one in the data dir (not in production).
    pub jwt_secret: Option<String>,
    /// `JWT_ACCESS_TTL`.
    pub jwt_access_ttl: Duration,
    /// `JWT_REFRESH_TTL`: how long an unused login session (its refresh token) lives.
    pub jwt_refresh_ttl: Duration,
    /// `SESSION_MAX_AGE`: how long a login session lives however often it is refreshed.
    pub session_max_age: Duration,
    /// `TESSERA_ADMIN_EMAIL` and `TESSERA_ADMIN_PASSWORD`.
    pub bootstrap_admin: Option<(String, String)>,
    /// `ADMIN_OTP_SECRET`: one-time codes for the first admin (base32, checked at start).
    pub admin_otp_secret: Option<OtpSecret>,
    /// `FILE_URL_CACHE_TTL`, `FILE_URL_EXPIRES`, `FILE_URL_SAFETY_FLOOR`.
    pub url_policy: UrlPolicy,
    /// `UPLOAD_MAX_BYTES`.
    pub upload_max_bytes: u64,
    /// `APP_ENV`.
    pub app_env: AppEnv,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `LOG_FILE`, `LOG_ROTATION`, `LOG_MAX_FILES`: log lines also go to this file (the
    /// console keeps them too); `None` logs to the console only.
    pub log_file: Option<LogFile>,
    /// `METRICS_ADDR`: where `GET /metrics` (Prometheus text) listens, on a listener of its own;
    /// `None` (the default) serves no metrics.
    pub metrics_addr: Option<String>,
    /// `TESSERA_CORS_ORIGINS`: origins (besides our own) whose pages may call the API.
    pub cors_origins: Vec<String>,
    /// `TESSERA_TRUSTED_PROXIES`: addresses or CIDR ranges whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The rate limits.
    pub rate_limits: RateLimits,
    /// `TESSERA_TIME_ZONE`: the organisation's time zone (IANA name, default `UTC`); it decides
    /// which month "this month" is on the dashboard.
    pub time_zone: chrono_tz::Tz,
    /// `POSTS_VIEW_FLUSH_SECS` (60): how often pending post views are written back to the
    /// database; 0 turns the job off.
    pub posts_view_flush: Duration,
    /// The periodic jobs (`docs/runbook.md`, "Periodic jobs").
    pub jobs: JobSettings,
}

/// When the periodic jobs run and how long their locks hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// `CACHE_REFRESH_EVERY` (300 s): how often cached file URLs about to expire are re-signed
    /// (the seed's `schedule_cache_refresh`); 0 turns the job off.
    pub refresh_every: Duration,
    /// `CACHE_WARM_ON_START` (true): warm the newest 100 file URLs once per deploy.
    pub warm_on_start: bool,
    /// `TESSERA_DEPLOY_ID`: names a deploy for the warm (default: the version and the time of
    /// the executable file, the same for every instance started from one build or image).
    pub deploy_id: Option<String>,
    /// `JOBS_LOCK_TTL_SECS` (60): how long a job's lock holds at most; a crashed holder's lock
    /// is free after this.
    pub lock_ttl: Duration,
    /// `JOBS_TEST_HOLD_MS` (0): for tests only, keeps every run's lock this long before its
    /// work, so a test can kill a holder while it holds.
    pub test_hold: Duration,
}

/// Attempts allowed per minute; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `RATE_LIMIT_LOGIN_PER_MINUTE` (5): logins per account, and per client address.
    pub login_per_minute: u64,
    /// `RATE_LIMIT_OTP_PER_MINUTE` (5): one-time code attempts per account, and per address.
    pub otp_per_minute: u64,
    /// `RATE_LIMIT_API_PER_MINUTE` (600): API requests per user or token, or per address when
    /// anonymous.
    pub api_per_minute: u64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field(
                "database",
                &DbKind::of_url(&self.database_url).map(DbKind::as_str),
            )
            .field("redis", &self.redis.is_some())
            .field("s3", &self.s3.as_ref().map(|s| &s.bucket))
            .field("app_env", &self.app_env)
            .finish_non_exhaustive()
    }
}

/// A setting that cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

struct Vars(HashMap<String, String>);

impl Vars {
    /// A variable, `None` when unset or blank.
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(&self, name: &str, default: T, what: &str) -> Result<T, SettingsError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| SettingsError(format!("invalid {name}: {raw:?} is not {what}"))),
        }
    }

    fn seconds(&self, name: &str, default: u64) -> Result<Duration, SettingsError> {
        self.parse(name, default, "a whole number of seconds")
            .map(Duration::from_secs)
    }

    fn millis(&self, name: &str, default: u64) -> Result<Duration, SettingsError> {
        let value = self.parse(name, default, "a whole number of milliseconds")?;
        if value == 0 {
            return Err(SettingsError(format!("invalid {name}: must be at least 1")));
        }
        Ok(Duration::from_millis(value))
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, SettingsError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(raw) => Err(SettingsError(format!(
                "invalid {name}: {raw:?} is not true or false"
            ))),
        }
    }
}

impl Settings {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(SettingsError(format!("cannot read .env: {e}"))),
        }
        Self::from_vars(std::env::vars().collect())
    }

    /// Builds settings from a map of variables (tests pass their own).
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, SettingsError> {
        let vars = Vars(vars);
        let addr = vars
            .get("TESSERA_ADDR")
            .unwrap_or("127.0.0.1:8080")
            .to_owned();
        if addr.parse::<SocketAddr>().is_err() {
            return Err(SettingsError(format!(
                "invalid TESSERA_ADDR: {addr:?} is not host:port, e.g. 127.0.0.1:8080"
            )));
        }
        let public_url = vars
            .get("TESSERA_PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            match url::Url::parse(u) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
                _ => {
                    return Err(SettingsError(format!(
                        "invalid TESSERA_PUBLIC_URL: {u:?} is not an http(s) URL"
                    )))
                }
            }
        }
        let data_dir = PathBuf::from(vars.get("TESSERA_DATA_DIR").unwrap_or("./data"));
        let frontend_dir =
            PathBuf::from(vars.get("TESSERA_FRONTEND_DIR").unwrap_or("frontend/dist"));
        let frontend_build = match vars.get("TESSERA_FRONTEND_BUILD").unwrap_or("auto") {
            "auto" => true,
            "off" => false,
            other => {
                return Err(SettingsError(format!(
                    "invalid TESSERA_FRONTEND_BUILD: {other:?} is not auto or off"
                )))
            }
        };
        let database_url = match vars.get("DATABASE_URL") {
            Some(url) => {
                if DbKind::of_url(url).is_none() {
                    return Err(SettingsError(
                        "invalid DATABASE_URL: must start with postgres://, postgresql:// or sqlite:".into(),
                    ));
                }
                url.to_owned()
            }
            None => tessera_infra::sql::sqlite_url(&data_dir),
        };
        let database_max_connections =
            vars.parse("DATABASE_MAX_CONNECTIONS", 10u32, "a whole number")?;
        if database_max_connections == 0 {
            return Err(SettingsError(
                "invalid DATABASE_MAX_CONNECTIONS: must be at least 1".into(),
            ));
        }
        // REDIS_CLUSTER_NODES selects Redis Cluster; a REDIS_URL beside it only gives the
        // nodes' credentials, and must name db 0 (the only db a cluster has).
        let redis_url = match (vars.get("REDIS_URL"), vars.get("REDIS_CLUSTER_NODES")) {
            (url, Some(nodes)) => Some(cluster_url(nodes, url).map_err(|e| {
                SettingsError(format!(
                    "invalid REDIS_CLUSTER_NODES: {e} (expected host:port,host:port,…; Redis Cluster has only db 0)"
                ))
            })?),
            (Some(url), None) => Some(url.to_owned()),
            (None, None) => None,
        };
        let redis = match redis_url.as_deref() {
            None => None,
            Some(url) => {
                parse_redis_url(url).map_err(|e| {
                    SettingsError(format!(
                        "invalid REDIS_URL: {e} (expected redis://host:port/db or redis-sentinel://host:26379/<master>/<db>)"
                    ))
                })?;
                let pool_size = vars.parse("REDIS_POOL_SIZE", 16u32, "a whole number")?;
                if pool_size == 0 {
                    return Err(SettingsError(
                        "invalid REDIS_POOL_SIZE: must be at least 1".into(),
                    ));
                }
                let state_url = match vars.get("REDIS_STATE_URL") {
                    Some(state) => {
                        parse_redis_url(state).map_err(|e| {
                            SettingsError(format!(
                                "invalid REDIS_STATE_URL: {e} (expected redis://host:port/db or redis-sentinel://host:26379/<master>/<db>)"
                            ))
                        })?;
                        state.to_owned()
                    }
                    None => url.to_owned(),
                };
                Some(RedisConfig {
                    url: url.to_owned(),
                    state_url,
                    pool_size,
                    connect_timeout: vars.millis("REDIS_CONNECT_TIMEOUT_MS", 1000)?,
                    command_timeout: vars.millis("REDIS_COMMAND_TIMEOUT_MS", 250)?,
                    local_ttl: vars.seconds("CACHE_LOCAL_TTL", 60)?,
                    local_max_bytes: vars
                        .parse("CACHE_LOCAL_MAX_MB", 64u64, "a whole number of MiB")?
                        .saturating_mul(1024 * 1024),
                })
            }
        };
        let s3 = match vars.get("S3_BUCKET") {
            None => {
                if vars.get("S3_ENDPOINT").is_some() {
                    return Err(SettingsError(
                        "S3_ENDPOINT is set but S3_BUCKET is not: set S3_BUCKET to use S3".into(),
                    ));
                }
                None
            }
            Some(bucket) => {
                let credentials = match (vars.get("S3_ACCESS_KEY_ID"), vars.get("S3_SECRET_ACCESS_KEY")) {
                    (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
                    (None, None) => None,
                    _ => {
                        return Err(SettingsError(
                            "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or neither, for the default chain)".into(),
                        ))
                    }
                };
                let endpoint = vars.get("S3_ENDPOINT").map(str::to_owned);
                if let Some(e) = &endpoint {
                    if !matches!(
                        url::Url::parse(e).map(|u| u.scheme().to_owned()).as_deref(),
                        Ok("http" | "https")
                    ) {
                        return Err(SettingsError(format!(
                            "invalid S3_ENDPOINT: {e:?} is not an http(s) URL"
                        )));
                    }
                }
                Some(S3Settings {
                    endpoint,
                    region: vars.get("S3_REGION").unwrap_or("us-east-1").to_owned(),
                    bucket: bucket.to_owned(),
                    credentials,
                    force_path_style: vars.flag("S3_FORCE_PATH_STYLE", false)?,
                })
            }
        };
        let app_env = match vars.get("APP_ENV").unwrap_or("development") {
            "development" | "dev" => AppEnv::Development,
            "test" => AppEnv::Test,
            "production" | "prod" => AppEnv::Production,
            other => {
                return Err(SettingsError(format!(
                    "invalid APP_ENV: {other:?} is not development, test or production"
                )))
            }
        };
        let jwt_secret = vars.get("JWT_SECRET").map(str::to_owned);
        match &jwt_secret {
            Some(s) if s.len() < 32 => {
                return Err(SettingsError(
                    "invalid JWT_SECRET: must be at least 32 characters".into(),
                ))
            }
            None if app_env == AppEnv::Production => {
                return Err(SettingsError(
                    "JWT_SECRET must be set when APP_ENV=production".into(),
                ))
            }
            _ => {}
        }
        let bootstrap_admin = match (
            vars.get("TESSERA_ADMIN_EMAIL"),
            vars.get("TESSERA_ADMIN_PASSWORD"),
        ) {
            (Some(email), Some(password)) => Some((email.to_owned(), password.to_owned())),
            (None, None) => None,
            _ => {
                return Err(SettingsError(
                    "TESSERA_ADMIN_EMAIL and TESSERA_ADMIN_PASSWORD must be set together".into(),
                ))
            }
        };
        let admin_otp_secret = match vars.get("ADMIN_OTP_SECRET") {
            None => None,
            Some(raw) => Some(
                OtpSecret::parse(raw)
                    .map_err(|e| SettingsError(format!("invalid ADMIN_OTP_SECRET: {e}")))?,
            ),
        };
        let url_policy = UrlPolicy {
            cache_ttl: vars.seconds("FILE_URL_CACHE_TTL", 2700)?,
            url_expires: vars.seconds("FILE_URL_EXPIRES", 14400)?,
            safety_floor: vars.seconds("FILE_URL_SAFETY_FLOOR", 300)?,
        };
        url_policy.check().map_err(SettingsError)?;
        let ttl = |name: &str, default: u64| -> Result<Duration, SettingsError> {
            let ttl = vars.seconds(name, default)?;
            if ttl.is_zero() {
                return Err(SettingsError(format!("invalid {name}: must be at least 1")));
            }
            Ok(ttl)
        };
        let cache_ttls = TtlClasses {
            dashboard: ttl("CACHE_TTL_DASHBOARD", 300)?,
            user_data: ttl("CACHE_TTL_USER_DATA", 1800)?,
            static_data: ttl("CACHE_TTL_STATIC", 3600)?,
            config: ttl("CACHE_TTL_CONFIG", 86400)?,
            file_url: url_policy.cache_ttl,
        };
        let upload_max_bytes = vars.parse(
            "UPLOAD_MAX_BYTES",
            10 * 1024 * 1024u64,
            "a whole number of bytes",
        )?;
        if upload_max_bytes == 0 {
            return Err(SettingsError(
                "invalid UPLOAD_MAX_BYTES: must be at least 1".into(),
            ));
        }
        let jwt_access_ttl = vars.seconds("JWT_ACCESS_TTL", 900)?;
        if jwt_access_ttl.is_zero() {
            return Err(SettingsError(
                "invalid JWT_ACCESS_TTL: must be at least 1".into(),
            ));
        }
        let jwt_refresh_ttl = vars.seconds("JWT_REFRESH_TTL", 14 * 24 * 3600)?;
        if jwt_refresh_ttl <= jwt_access_ttl {
            return Err(SettingsError(
                "invalid JWT_REFRESH_TTL: must be longer than JWT_ACCESS_TTL".into(),
            ));
        }
        let session_max_age = vars.seconds("SESSION_MAX_AGE", 90 * 24 * 3600)?;
        if session_max_age < jwt_refresh_ttl {
            return Err(SettingsError(
                "invalid SESSION_MAX_AGE: must be at least JWT_REFRESH_TTL".into(),
            ));
        }
        let log_format = match vars.get("LOG_FORMAT").unwrap_or("human") {
            "human" | "text" => LogFormat::Human,
            "json" => LogFormat::Json,
            other => {
                return Err(SettingsError(format!(
                    "invalid LOG_FORMAT: {other:?} is not human or json"
                )))
            }
        };
        let log_file = match vars.get("LOG_FILE") {
            None => None,
            Some(path) => {
                let rotation = match vars.get("LOG_ROTATION").unwrap_or("daily") {
                    "daily" => LogRotation::Daily,
                    "hourly" => LogRotation::Hourly,
                    "never" => LogRotation::Never,
                    other => {
                        return Err(SettingsError(format!(
                            "invalid LOG_ROTATION: {other:?} is not daily, hourly or never"
                        )))
                    }
                };
                let path = PathBuf::from(path);
                if path.file_name().is_none() {
                    return Err(SettingsError(format!(
                        "invalid LOG_FILE: {} does not name a file",
                        path.display()
                    )));
                }
                Some(LogFile {
                    path,
                    rotation,
                    max_files: vars.parse(
                        "LOG_MAX_FILES",
                        7usize,
                        "a whole number of files (0 keeps them all)",
                    )?,
                })
            }
        };
        let metrics_addr = match vars.get("METRICS_ADDR") {
            None => None,
            Some(raw) => {
                let parsed = raw.parse::<SocketAddr>().map_err(|_| {
                    SettingsError(format!(
                        "invalid METRICS_ADDR: {raw:?} is not host:port, e.g. 127.0.0.1:9090"
                    ))
                })?;
                // The metrics must never be served on the public port.
                if parsed.port() != 0 && addr.parse::<SocketAddr>().ok() == Some(parsed) {
                    return Err(SettingsError(format!(
                        "invalid METRICS_ADDR: {raw} is TESSERA_ADDR; metrics need a listener of their own"
                    )));
                }
                Some(raw.to_owned())
            }
        };
        let cors_origins = match vars.get("TESSERA_CORS_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|origin| match url::Url::parse(origin) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none() => {
                        Ok(origin.trim_end_matches('/').to_owned())
                    }
                    _ => Err(SettingsError(format!(
                        "invalid TESSERA_CORS_ORIGINS: {origin:?} is not an origin like https://app.example.org"
                    ))),
                })
                .collect::<Result<_, _>>()?,
        };
        let trusted_proxies = match vars.get("TESSERA_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse::<IpNet>()
                        .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            SettingsError(format!(
                                "invalid TESSERA_TRUSTED_PROXIES: {p:?} is not an address or CIDR range like 10.0.0.0/8"
                            ))
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let time_zone = match vars.get("TESSERA_TIME_ZONE") {
            None => chrono_tz::UTC,
            Some(name) => name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                SettingsError(format!(
                    "invalid TESSERA_TIME_ZONE: {name:?} is not an IANA time zone like America/Sao_Paulo"
                ))
            })?,
        };
        let per_minute = "a whole number of attempts per minute (0 turns the limit off)";
        let rate_limits = RateLimits {
            login_per_minute: vars.parse("RATE_LIMIT_LOGIN_PER_MINUTE", 5, per_minute)?,
            otp_per_minute: vars.parse("RATE_LIMIT_OTP_PER_MINUTE", 5, per_minute)?,
            api_per_minute: vars.parse("RATE_LIMIT_API_PER_MINUTE", 600, per_minute)?,
        };
        Ok(Self {
            time_zone,
            trusted_proxies,
            rate_limits,
            cors_origins,
            addr,
            public_url,
            data_dir,
            frontend_dir,
            frontend_build,
            database_url,
            database_max_connections,
            redis,
            cache_key_prefix: vars.0.get("CACHE_KEY_PREFIX").cloned().unwrap_or_default(),
            cache_max_entries: vars.parse("CACHE_MAX_ENTRIES", 100_000u64, "a whole number")?,
            cache_ttls,
            cache_compress_min_bytes: vars.parse(
                "CACHE_COMPRESS_MIN_BYTES",
                1024usize,
                "a whole number of bytes",
            )?,
            s3,
            jwt_secret,
            jwt_access_ttl,
            jwt_refresh_ttl,
            session_max_age,
            bootstrap_admin,
            admin_otp_secret,
            url_policy,
            upload_max_bytes,
            app_env,
            log_format,
            log_file,
            metrics_addr,
            posts_view_flush: vars.seconds("POSTS_VIEW_FLUSH_SECS", 60)?,
            jobs: JobSettings {
                refresh_every: vars.seconds("CACHE_REFRESH_EVERY", 300)?,
                warm_on_start: vars.flag("CACHE_WARM_ON_START", true)?,
                deploy_id: vars
                    .get("TESSERA_DEPLOY_ID")
                    .filter(|id| !id.trim().is_empty())
                    .map(str::to_owned),
                lock_ttl: vars
                    .seconds("JOBS_LOCK_TTL_SECS", 60)?
                    .max(Duration::from_secs(1)),
                test_hold: Duration::from_millis(vars.parse(
                    "JOBS_TEST_HOLD_MS",
                    0u64,
                    "a whole number of milliseconds",
                )?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn nothing_set_means_the_embedded_default() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.addr, "127.0.0.1:8080");
        assert!(s.database_url.starts_with("sqlite://"));
        assert!(s.redis.is_none() && s.s3.is_none());
        assert_eq!(s.url_policy.cache_ttl, Duration::from_secs(2700));
        assert_eq!(s.url_policy.url_expires, Duration::from_secs(14400));
        assert_eq!(s.upload_max_bytes, 10 * 1024 * 1024);
        assert!(s.metrics_addr.is_none() && s.log_file.is_none());
    }

    #[test]
    fn a_log_file_rotates_daily_and_keeps_a_week_unless_told() {
        let s = settings(&[("LOG_FILE", "/var/log/tessera/api.log")]).unwrap();
        assert_eq!(
            s.log_file,
            Some(LogFile {
                path: PathBuf::from("/var/log/tessera/api.log"),
                rotation: LogRotation::Daily,
                max_files: 7,
            })
        );
        let s = settings(&[
            ("LOG_FILE", "api.log"),
            ("LOG_ROTATION", "never"),
            ("LOG_MAX_FILES", "0"),
        ])
        .unwrap();
        let file = s.log_file.unwrap();
        assert_eq!((file.rotation, file.max_files), (LogRotation::Never, 0));
    }

    #[test]
    fn sentinel_and_cluster_urls_are_accepted_and_cluster_is_db_0_only() {
        let s = settings(&[(
            "REDIS_URL",
            "redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/tessera/2",
        )])
        .unwrap();
        let redis = s.redis.unwrap();
        assert!(redis.url.starts_with("redis-sentinel://"));
        assert_eq!(redis.state_url, redis.url);

        let s = settings(&[("REDIS_CLUSTER_NODES", "127.0.0.1:7001, 127.0.0.1:7002")]).unwrap();
        assert_eq!(
            s.redis.unwrap().url,
            "redis-cluster://127.0.0.1:7001,127.0.0.1:7002"
        );
        // A REDIS_URL beside the nodes gives their credentials, and must name db 0.
        let s = settings(&[
            ("REDIS_CLUSTER_NODES", "127.0.0.1:7001"),
            ("REDIS_URL", "redis://:secret@127.0.0.1:6379/0"),
        ])
        .unwrap();
        assert_eq!(
            s.redis.unwrap().url,
            "redis-cluster://:secret@127.0.0.1:7001"
        );
        let err = settings(&[
            ("REDIS_CLUSTER_NODES", "127.0.0.1:7001"),
            ("REDIS_URL", "redis://127.0.0.1:6379/2"),
        ])
        .err()
        .unwrap();
        assert!(
            err.0.contains("REDIS_CLUSTER_NODES") && err.0.contains("only db 0"),
            "{err}"
        );
        let err = settings(&[("REDIS_URL", "redis-cluster://127.0.0.1:7001/3")])
            .err()
            .unwrap();
        assert!(err.0.contains("only db 0"), "{err}");
        let err = settings(&[("REDIS_URL", "redis-sentinel://127.0.0.1:26379")])
            .err()
            .unwrap();
        assert!(err.0.contains("master"), "{err}");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let cases = [
            ("REDIS_URL", "localhost:6379", "REDIS_URL"),
            ("TESSERA_ADDR", "nowhere", "TESSERA_ADDR"),
            ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
            ("FILE_URL_CACHE_TTL", "soon", "FILE_URL_CACHE_TTL"),
            ("FILE_URL_EXPIRES", "1000", "FILE_URL_EXPIRES"),
            ("JWT_SECRET", "short", "JWT_SECRET"),
            ("S3_FORCE_PATH_STYLE", "maybe", "S3_FORCE_PATH_STYLE"),
            ("APP_ENV", "staging", "APP_ENV"),
            ("ADMIN_OTP_SECRET", "not base32!", "ADMIN_OTP_SECRET"),
            ("TESSERA_TIME_ZONE", "Mars/Olympus", "TESSERA_TIME_ZONE"),
            ("METRICS_ADDR", "9090", "METRICS_ADDR"),
            ("METRICS_ADDR", "127.0.0.1:8080", "METRICS_ADDR"),
            ("LOG_ROTATION", "weekly", "LOG_ROTATION"),
            ("LOG_MAX_FILES", "many", "LOG_MAX_FILES"),
        ];
        for (name, value, mentioned) in cases {
            let mut pairs = vec![(name, value)];
            if name == "S3_FORCE_PATH_STYLE" {
                pairs.push(("S3_BUCKET", "b"));
            }
            if name.starts_with("LOG_") {
                pairs.push(("LOG_FILE", "/tmp/tessera.log"));
            }
            let err = settings(&pairs)
                .err()
                .unwrap_or_else(|| panic!("{name}={value} should be refused"));
            assert!(err.0.contains(mentioned), "{err} should name {mentioned}");
        }
    }

    #[test]
    fn production_needs_a_jwt_secret() {
        assert!(settings(&[("APP_ENV", "production")]).is_err());
        assert!(settings(&[("APP_ENV", "production"), ("JWT_SECRET", &"x".repeat(32))]).is_ok());
    }
}
