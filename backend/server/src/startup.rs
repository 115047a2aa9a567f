//! Start-up: connect the ports, migrate, bootstrap the first admin, bind, and serve.
//! `Application::build` binds first, so tests can ask for port 0 and read the real port.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tessera_domain::access::rate_limit::RateLimiter;
use tessera_domain::accounts::api_tokens::{ApiTokenService, TOKEN_LOOKUPS};
use tessera_domain::accounts::sessions::SessionService;
use tessera_domain::accounts::{
    AccountService, AuthLimits, AuthService, SessionLifetimes, PROFILES, SESSION_NAMESPACE,
};
use tessera_domain::audit::AuditLog;
use tessera_domain::cache::CacheAdmin;
use tessera_domain::dashboard::{DashboardService, DASHBOARDS};
use tessera_domain::files::FileUrls;
use tessera_domain::files::ObjectStore;
use tessera_domain::files::{FileService, FILE_ROWS};
use tessera_domain::materials::{MaterialService, MATERIALS};
use tessera_domain::members::{MemberPorts, MemberService, MEMBER_LISTS};
use tessera_domain::money::DuesService;
use tessera_domain::money::PaymentService;
use tessera_domain::org::{OrgUnitService, ORG_TREE};
use tessera_domain::posts::{PostService, POST_LISTS};
use tessera_domain::shared::cache::{Cache, CacheBackend};
use tessera_domain::shared::cached::CacheLayer;
use tessera_domain::shared::events::{Events, Listener};
use tessera_domain::shared::time::{Clock, SystemClock};
use tessera_infra::cache::memory::MemoryCache;
use tessera_infra::cache::redis::{RedisCache, RedisSettings};
use tessera_infra::cache::tiered::{TierSettings, TieredCache};
use tessera_infra::objects::local::{derive_key, LocalObjects};
use tessera_infra::objects::s3::S3Objects;
use tessera_infra::sql::SqlStore;
use utoipa_actix_web::AppExt;

use crate::http::caller::AppHandle;
use crate::http::jwt::JwtKeys;
use crate::http::schema::BodySchemas;
use crate::http::slashes::MergeSlashes;
use crate::http::{problem, rate_limit};
use crate::jobs::{self, JobPorts};
use crate::metrics::{self, MetricSources, Metrics};
use crate::openapi::{self, SpecJson};
use crate::settings::{AppEnv, Settings};
use crate::state::AppState;
use crate::{routes, telemetry};

/// How many rate-limit counters the in-process state store keeps.
const STATE_ENTRIES: u64 = 100_000;

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<(u16, Server)>,
    state: web::Data<AppState>,
}

impl Application {
    /// Connects everything, applies migrations, binds `settings.addr` and prepares the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.addr)
            .with_context(|| format!("cannot listen on TESSERA_ADDR={}", settings.addr))?;
        let local = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let state = web::Data::new(build_state(settings, &public_url).await?);
        jobs::spawn(&state);
        let metrics = match &state.settings.metrics_addr {
            Some(addr) => Some(metrics::listen(addr, Arc::clone(&state.metrics))?),
            None => None,
        };
        let metrics_data = web::Data::from(Arc::clone(&state.metrics));
        let server_state = state.clone();
        let frontend_dir = state.settings.frontend_dir.clone();
        let cors_origins = state.settings.cors_origins.clone();
        let json_limit = 64 * 1024;
        // The document is built once, here; the workers mount the routes without it.
        let document = openapi::spec();
        let spec = web::Data::new(SpecJson(openapi::to_json(&document)));
        // Bodies are checked against the schemas of the document served.
        let schemas = web::Data::new(BodySchemas::from_spec(&document)?);
        drop(document);
        let server = HttpServer::new(move || {
            let (app, _) = routes::mount(App::new().into_utoipa_app()).split_for_parts();
            app.app_data(AppHandle::new(server_state.clone()))
                .app_data(metrics_data.clone())
                .app_data(web::PayloadConfig::new(json_limit))
                .app_data(schemas.clone())
                .app_data(web::PathConfig::default().error_handler(problem::path_error))
                .configure(|cfg| routes::docs::configure(cfg, spec.clone()))
                .configure(|cfg| routes::spa::configure(cfg, &frontend_dir))
                .default_service(web::to(problem::not_found))
                .wrap(from_fn(rate_limit::headers))
                // `//api/users` is `/api/users`; a trailing slash stays a different path (404).
                .wrap(MergeSlashes)
                .wrap(ErrorHandlers::new().default_handler(problem::ensure_problem))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(security_headers())
                .wrap(from_fn(telemetry::request_context))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        tracing::info!(address = %local, "Tessera is listening on http://{local}");
        Ok(Self {
            port: local.port(),
            server,
            metrics,
            state,
        })
    }

    /// The port the server is bound to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `METRICS_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The shared state (tests read settings from it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is told to stop; the metrics listener stops with the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let handle = metrics.handle();
        let served = async {
            let result = self.server.await;
            handle.stop(true).await;
            result
        };
        let (result, metrics_result) = futures::join!(served, metrics);
        if let Err(e) = metrics_result {
            tracing::warn!(error = %e, "the metrics listener failed");
        }
        result
    }
}

/// Cross-origin access for the configured SPA origins: bearer tokens, no cookies.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::HeaderName::from_static(
            telemetry::REQUEST_ID_HEADER,
        )])
        .max_age(3600)
}

/// Headers every response carries: no MIME sniffing, no framing, no referrer leaks (signed URLs
/// must not travel in a Referer).
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"))
}

/// Connects the store and applies migrations (`tessera migrate` and every start).
pub async fn connect_store(settings: &Settings) -> anyhow::Result<SqlStore> {
    if settings.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create TESSERA_DATA_DIR={}",
                settings.data_dir.display()
            )
        })?;
    }
    let store =
        SqlStore::connect(&settings.database_url, settings.database_max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

/// Connects the database (applying migrations), the cache and the object store of `settings`
/// and builds every service on them: what the server runs with, and what `tessera seed` writes
/// through. `public_url` is the base of local-disk file URLs. It binds nothing and starts no
/// background job (`Application::build` does both): `tessera seed` and `tessera cache` run on it.
pub async fn build_state(settings: Settings, public_url: &str) -> anyhow::Result<AppState> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let db = Arc::new(connect_store(&settings).await?);
    let jwt_secret = jwt_secret(&settings)?;

    // Two caches: `cache` for data, which may be evicted, and `state` for rate-limit counters,
    // which must not be (a counter evicted is a limit lifted). On Redis they may be two servers
    // (REDIS_STATE_URL, noeviction); in-process they are two bounded caches, so a flood of
    // list keys cannot push a counter out.
    let redis = |url: &str, forget_on_recovery: Vec<String>| -> anyhow::Result<RedisCache> {
        let Some(config) = &settings.redis else {
            anyhow::bail!("no REDIS_URL");
        };
        RedisCache::new(RedisSettings {
            url: url.to_owned(),
            key_prefix: settings.cache_key_prefix.clone(),
            pool_size: config.pool_size,
            connect_timeout: config.connect_timeout,
            command_timeout: config.command_timeout,
            admin_timeout: Duration::from_secs(10),
            forget_on_recovery,
            compress_min_bytes: settings.cache_compress_min_bytes,
        })
        .map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))
    };
    // What a change during an outage could not reach is dropped when Redis answers again:
    // who may do what, and member lists (a member moved out of a cell must leave its list).
    let stale_after_outage = vec![
        format!("{SESSION_NAMESPACE}:"),
        format!("{}:", PROFILES.name),
        format!("{}:", TOKEN_LOOKUPS.name),
        format!("{}:", MEMBER_LISTS.name),
        format!("{}:", ORG_TREE.name),
        format!("{}:", DASHBOARDS.name),
        format!("{}:", POST_LISTS.name),
        format!("{}:", MATERIALS.name),
        format!("{}:", FILE_ROWS.name),
    ];
    let mut tier = None;
    let (cache, state): (Arc<dyn Cache>, Arc<dyn Cache>) = match &settings.redis {
        Some(config) => {
            let remote = redis(&config.url, stale_after_outage)?;
            // Counters and locks go to Redis itself: they change with every call, so an
            // in-process tier would only add invalidations.
            let state: Arc<dyn Cache> = if config.state_url == config.url {
                Arc::new(remote.clone())
            } else {
                Arc::new(redis(&config.state_url, Vec::new())?)
            };
            let cache: Arc<dyn Cache> = if config.local_ttl.is_zero() {
                Arc::new(remote)
            } else {
                let tiered = TieredCache::new(
                    remote,
                    TierSettings {
                        ttl: config.local_ttl,
                        max_bytes: config.local_max_bytes,
                    },
                );
                tier = Some(tiered.clone());
                Arc::new(tiered)
            };
            (cache, state)
        }
        None => (
            Arc::new(MemoryCache::new(settings.cache_max_entries)),
            Arc::new(MemoryCache::new(STATE_ENTRIES)),
        ),
    };
    // Rate-limit counters move here while the state store is down, so limits hold through an
    // outage.
    let local_state: Arc<dyn Cache> = match state.backend() {
        CacheBackend::Redis => Arc::new(MemoryCache::new(STATE_ENTRIES)),
        CacheBackend::InProcess => Arc::clone(&state),
    };
    if cache.ping().await.is_err() {
        tracing::warn!("the cache does not answer at start; serving without it until it does");
    }

    let (objects, local_objects): (Arc<dyn ObjectStore>, _) = match &settings.s3 {
        Some(s3) => {
            let objects = S3Objects::new(s3, Arc::clone(&clock)).await;
            (Arc::new(objects), None)
        }
        None => {
            let local = LocalObjects::new(
                settings.data_dir.join("objects"),
                public_url,
                &derive_key(&jwt_secret, b"tessera local object URLs v1"),
                Arc::clone(&clock),
            )?;
            (Arc::new(local.clone()), Some(local))
        }
    };

    // Every cached read goes through this one layer (namespaces, TTL classes, stampedes).
    let layer = CacheLayer::new(Arc::clone(&cache), Arc::clone(&clock), settings.cache_ttls);
    let urls = Arc::new(FileUrls::new(
        layer.clone(),
        Arc::clone(&objects),
        settings.url_policy,
    ));
    let audit = Arc::new(AuditLog::new(db.clone()));
    let sessions = Arc::new(SessionService::new(
        db.clone(),
        Arc::clone(&cache),
        Arc::clone(&clock),
        &derive_key(&jwt_secret, b"tessera refresh tokens v1"),
        SessionLifetimes {
            idle: settings.jwt_refresh_ttl,
            max_age: settings.session_max_age,
            access_token: settings.jwt_access_ttl,
        },
    ));
    // What one context changes, the others that keep something derived from it hear about;
    // the listeners are wired below, once every service exists.
    let events = Events::default();
    let accounts = Arc::new(
        AccountService::new(
            db.clone(),
            db.clone(),
            db.clone(),
            Arc::clone(&sessions),
            layer.clone(),
            Arc::clone(&audit),
            events.clone(),
        )
        .await?,
    );
    // Post views are counted in the state store too: a counter evicted would be views lost.
    let posts = Arc::new(PostService::new(
        db.clone(),
        db.clone(),
        db.clone(),
        Arc::clone(&urls),
        layer.clone(),
        Arc::clone(&state),
        Arc::clone(&clock),
    ));
    // Job locks, tokens and last runs live in the state store: never evicted, seen by all.
    let jobs = Arc::new(jobs::runner(
        &settings,
        JobPorts {
            state: Arc::clone(&state),
            clock: Arc::clone(&clock),
            files: db.clone(),
            urls: Arc::clone(&urls),
            posts: Arc::clone(&posts),
        },
    ));
    let limiter = Arc::new(RateLimiter::new(state, local_state));
    if let Some((email, password)) = &settings.bootstrap_admin {
        if accounts
            .ensure_first_admin(email, password, settings.admin_otp_secret.as_ref())
            .await
            .context("creating the first admin from TESSERA_ADMIN_EMAIL/TESSERA_ADMIN_PASSWORD")?
        {
            tracing::info!("created the first admin from TESSERA_ADMIN_EMAIL");
        }
    }
    let members = Arc::new(MemberService::new(
        MemberPorts {
            members: db.clone(),
            units: db.clone(),
            files: db.clone(),
            urls: Arc::clone(&urls),
            clock: Arc::clone(&clock),
        },
        layer.clone(),
        events.clone(),
        Arc::clone(&audit),
    ));
    let dashboard = Arc::new(DashboardService::new(
        db.clone(),
        db.clone(),
        layer.clone(),
        Arc::clone(&clock),
        settings.time_zone,
    ));
    events.wire(vec![
        Arc::clone(&accounts) as Arc<dyn Listener>,
        Arc::clone(&members) as Arc<dyn Listener>,
        Arc::clone(&dashboard) as Arc<dyn Listener>,
        Arc::clone(&posts) as Arc<dyn Listener>,
    ]);
    let metrics = Arc::new(Metrics::new(
        settings.metrics_addr.is_some(),
        MetricSources {
            layer: layer.clone(),
            urls: Arc::clone(&urls),
            cache: Arc::clone(&cache),
            tier: tier.clone(),
            db: Arc::clone(&db),
        },
    ));
    if let Some(tier) = &tier {
        // Weak: the tier lives in the metrics' sources, which must not keep the tier alive.
        let metrics = Arc::downgrade(&metrics);
        tier.observe_lag(Box::new(move |lag| {
            if let Some(metrics) = metrics.upgrade() {
                metrics.record_pubsub_lag(lag);
            }
        }));
    }
    Ok(AppState {
        metrics,
        dues: DuesService::new(
            db.clone(),
            db.clone(),
            db.clone(),
            Arc::clone(&clock),
            events.clone(),
            Arc::clone(&audit),
        ),
        payments: PaymentService::new(
            db.clone(),
            db.clone(),
            db.clone(),
            db.clone(),
            events.clone(),
            Arc::clone(&audit),
        ),
        materials: MaterialService::new(
            db.clone(),
            db.clone(),
            db.clone(),
            Arc::clone(&urls),
            layer.clone(),
            Arc::clone(&audit),
        ),
        files: FileService::new(
            db.clone(),
            db.clone(),
            Arc::clone(&objects),
            Arc::clone(&urls),
            Arc::clone(&clock),
            settings.upload_max_bytes,
        ),
        org_units: OrgUnitService::new(db.clone(), layer.clone(), events),
        dashboard,
        cache_admin: CacheAdmin::new(db.clone(), Arc::clone(&urls)),
        members,
        posts,
        auth: AuthService::new(
            Arc::clone(&accounts),
            Arc::clone(&sessions),
            Arc::clone(&cache),
            Arc::clone(&limiter),
            Arc::clone(&audit),
            AuthLimits {
                login_per_minute: settings.rate_limits.login_per_minute,
                otp_per_minute: settings.rate_limits.otp_per_minute,
            },
        ),
        accounts,
        sessions,
        jwt: JwtKeys::new(&jwt_secret, settings.jwt_access_ttl)?,
        tokens: ApiTokenService::new(
            db.clone(),
            layer.clone(),
            Arc::clone(&clock),
            Arc::clone(&audit),
        ),
        audit,
        limiter,
        settings,
        db,
        cache,
        objects,
        local_objects,
        urls,
        clock,
        jobs,
    })
}

/// `JWT_SECRET`, or (outside production) a secret generated once and kept in the data dir.
fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    if settings.app_env == AppEnv::Production {
        anyhow::bail!("JWT_SECRET must be set when APP_ENV=production");
    }
    let path = settings.data_dir.join("jwt_secret");
    read_or_create_secret(&path)
}

fn read_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(secret) if secret.trim().len() >= 32 => return Ok(secret.trim().as_bytes().to_vec()),
        Ok(_) => anyhow::bail!(
            "{} is shorter than 32 characters: delete it to have a new one made",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let secret: String = {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a JWT secret (set JWT_SECRET to choose one)");
    Ok(secret.into_bytes())
}
