//! Prometheus metrics: `GET /metrics` on a listener of its own (`METRICS_ADDR`, off by default),
//! never on the public port. Request counts and latencies by matched route pattern, cache hits,
//! misses and entries per namespace and tier, URL signing, the cache breaker, the database
//! pool; and the extension points other parts of the server report to (pub/sub lag, jobs and
//! their locks, a cache tier in front of the shared one). Names and labels: docs/runbook.md,
//! "Metrics and logs".
//!
//! Counters kept elsewhere (cache hits, signatures) are read when Prometheus scrapes, not
//! copied on every request; what is recorded here costs nothing while metrics are off.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::dev::Server;
use actix_web::http::header::ContentType;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tessera_domain::cache::NAMESPACES;
use tessera_domain::files::FileUrls;
use tessera_domain::shared::cache::Cache;
use tessera_domain::shared::cached::CacheLayer;
use tessera_infra::cache::tiered::TieredCache;
use tessera_infra::sql::SqlStore;

/// The tier label of a second, in-process tier kept in front of the shared cache.
pub const LOCAL_TIER: &str = "local";

/// How long counted cache entries are reused between scrapes: counting them is a `SCAN` per
/// namespace on Redis.
pub const ENTRIES_MAX_AGE: Duration = Duration::from_secs(60);

/// Latency buckets, in seconds: from half a millisecond (a cached read) to ten seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Job-run buckets, in seconds: from a millisecond to ten minutes.
const JOB_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.025, 0.1, 0.25, 1.0, 2.5, 10.0, 30.0, 60.0, 300.0, 600.0,
];

/// Pub/sub lag buckets, in seconds: from a millisecond to five seconds (the target is 100 ms).
const LAG_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobRunLabels {
    job: String,
    outcome: String,
}

/// The server's metrics. One per application (no global registry, so test apps in one process
/// keep theirs apart); `AppState::metrics` holds it.
pub struct Metrics {
    enabled: bool,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RequestLabels, Histogram>,
    pubsub_lag: Histogram,
    pubsub_connected: Gauge,
    job_runs: Family<JobRunLabels, Counter>,
    job_seconds: Family<JobLabels, Histogram>,
    job_last_run: Family<JobLabels, Gauge<f64, AtomicU64>>,
    scraped: Arc<Scraped>,
}

/// What the metrics read from the rest of the server when scraped.
pub struct MetricSources {
    /// The cache layer every service shares (its namespaces' hit and miss counters).
    pub layer: CacheLayer,
    /// The file-URL cache (its signature count).
    pub urls: Arc<FileUrls>,
    /// The shared cache (its backend, which is the tier label, and its breaker).
    pub cache: Arc<dyn Cache>,
    /// The in-process tier in front of Redis, when there is one (its reads per namespace,
    /// entries and subscription).
    pub tier: Option<TieredCache>,
    /// The database (its pool).
    pub db: Arc<SqlStore>,
}

impl Metrics {
    /// The metrics over `sources`; recording is skipped unless `enabled` (`METRICS_ADDR` set).
    pub fn new(enabled: bool, sources: MetricSources) -> Self {
        let mut registry = Registry::with_prefix("tessera");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route pattern (`unmatched` when none) and status",
            requests.clone(),
        );
        let request_seconds = Family::<RequestLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> _,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, matched route pattern and status",
            request_seconds.clone(),
        );
        let pubsub_lag = Histogram::new(LAG_BUCKETS);
        registry.register(
            "pubsub_lag_seconds",
            "Delay between publishing a cache invalidation and this instance receiving it",
            pubsub_lag.clone(),
        );
        let pubsub_connected = Gauge::default();
        registry.register(
            "pubsub_connected",
            "1 while this instance is subscribed to cache invalidations, 0 while it is not",
            pubsub_connected.clone(),
        );
        let job_runs = Family::<JobRunLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Runs of a periodic job started by this instance, by job and outcome (ok, failed, skipped: another instance held the lock)",
            job_runs.clone(),
        );
        let job_seconds =
            Family::<JobLabels, Histogram>::new_with_constructor(job_histogram as fn() -> _);
        registry.register(
            "job_run_duration_seconds",
            "Time a periodic job's run took on this instance",
            job_seconds.clone(),
        );
        let job_last_run = Family::<JobLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "job_last_run_timestamp_seconds",
            "When a periodic job last finished a run on this instance (Unix time)",
            job_last_run.clone(),
        );
        // Every declared namespace shows from the first scrape, looked up yet or not.
        for ns in NAMESPACES {
            sources.layer.register(ns);
        }
        let scraped = Arc::new(Scraped {
            sources,
            entries: Mutex::default(),
        });
        registry.register_collector(Box::new(Arc::clone(&scraped)));
        Self {
            enabled,
            registry,
            requests,
            request_seconds,
            pubsub_lag,
            pubsub_connected,
            job_runs,
            job_seconds,
            job_last_run,
            scraped,
        }
    }

    /// Whether metrics are served (`METRICS_ADDR` set); when not, recording does nothing.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Counts one answered request. `route` is the matched pattern (`/api/files/{id}`), never a
    /// raw path.
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Extension point for the cache-invalidation channel: how long an invalidation took from
    /// its publication to this instance (`tessera_pubsub_lag_seconds`).
    pub fn record_pubsub_lag(&self, lag: Duration) {
        if self.enabled {
            self.pubsub_lag.observe(lag.as_secs_f64());
        }
    }

    /// Extension point for the job runner: one run of `job` finished (or was skipped) on this
    /// instance. `outcome` is `ok`, `failed` or `skipped` (another instance held the lock);
    /// `elapsed` is how long it took. Feeds `tessera_job_runs_total`,
    /// `tessera_job_run_duration_seconds` and `tessera_job_last_run_timestamp_seconds` (the
    /// last two only for runs that ran).
    pub fn record_job_run(&self, job: &str, outcome: &str, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        self.job_runs
            .get_or_create(&JobRunLabels {
                job: job.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        if outcome == "skipped" {
            return;
        }
        let labels = JobLabels {
            job: job.to_owned(),
        };
        self.job_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.job_last_run
            .get_or_create(&labels)
            .set(now.as_secs_f64());
    }

    /// The metrics in the Prometheus text format (version 0.0.4). Counts the cache's entries
    /// first when the last count is older than [`ENTRIES_MAX_AGE`].
    pub async fn scrape(&self) -> Result<String, fmt::Error> {
        self.scraped.count_entries().await;
        if let Some(tier) = &self.scraped.sources.tier {
            self.pubsub_connected.set(i64::from(tier.stats().trusted));
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn job_histogram() -> Histogram {
    Histogram::new(JOB_BUCKETS)
}

/// The entries of each namespace in the shared cache, as last counted.
#[derive(Default)]
struct Entries {
    counted_at: Option<Instant>,
    by_namespace: Vec<(&'static str, u64)>,
}

/// What is read at scrape time.
struct Scraped {
    sources: MetricSources,
    entries: Mutex<Entries>,
}

impl fmt::Debug for Scraped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scraped").finish_non_exhaustive()
    }
}

impl Scraped {
    /// Counts the entries of every namespace, unless the last count is recent enough. A
    /// namespace the cache cannot count (it is down) is left out.
    async fn count_entries(&self) {
        let fresh = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counted_at
            .is_some_and(|at| at.elapsed() < ENTRIES_MAX_AGE);
        if fresh {
            return;
        }
        let namespaces = self.sources.layer.namespaces();
        let mut by_namespace = Vec::with_capacity(namespaces.len());
        for ns in namespaces {
            if let Some(n) = self.sources.layer.entries(ns.namespace).await {
                by_namespace.push((ns.namespace.name, n));
            }
        }
        *self.entries.lock().unwrap_or_else(PoisonError::into_inner) = Entries {
            counted_at: Some(Instant::now()),
            by_namespace,
        };
    }
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let sources = &self.sources;
        let shared_tier = sources.cache.backend().as_str();

        let mut lookups: Vec<(&str, &str, u64, u64)> = sources
            .layer
            .namespaces()
            .into_iter()
            .map(|ns| {
                let c = &ns.counters;
                (ns.namespace.name, shared_tier, c.hits(), c.misses())
            })
            .collect();
        let local = sources
            .tier
            .as_ref()
            .map(TieredCache::namespace_stats)
            .unwrap_or_default();
        lookups.extend(
            local
                .iter()
                .map(|n| (n.namespace.as_str(), LOCAL_TIER, n.hits, n.misses)),
        );
        for (name, help, pick) in [
            (
                "cache_hits",
                "Cache lookups answered from the cache, by namespace and tier (redis, in_process, local), since start",
                (|&(_, _, hits, _)| hits) as fn(&(&str, &str, u64, u64)) -> u64,
            ),
            (
                "cache_misses",
                "Cache lookups that had to load, by namespace and tier, since start",
                |&(_, _, _, misses)| misses,
            ),
        ] {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for row in &lookups {
                let labels = [("namespace", row.0), ("tier", row.1)];
                ConstCounter::new(pick(row)).encode(family.encode_family(&labels)?)?;
            }
        }

        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut family = encoder.encode_descriptor(
            "cache_entries",
            "Entries a namespace holds, by tier (the shared cache counted at most once a minute)",
            None,
            MetricType::Gauge,
        )?;
        for (name, n) in &entries.by_namespace {
            let labels = [("namespace", *name), ("tier", shared_tier)];
            ConstGauge::new(*n as i64).encode(family.encode_family(&labels)?)?;
        }
        for n in &local {
            let labels = [("namespace", n.namespace.as_str()), ("tier", LOCAL_TIER)];
            ConstGauge::new(n.entries as i64).encode(family.encode_family(&labels)?)?;
        }
        drop(entries);

        ConstCounter::new(sources.urls.signatures()).encode(encoder.encode_descriptor(
            "file_url_signatures",
            "File URLs signed by this instance since start (each cache miss of a file URL signs once)",
            None,
            MetricType::Counter,
        )?)?;
        ConstGauge::new(i64::from(sources.cache.is_degraded())).encode(
            encoder.encode_descriptor(
                "cache_degraded",
                "1 while the cache's breaker is open (calls are skipped and reads go to the source), 0 otherwise",
                None,
                MetricType::Gauge,
            )?,
        )?;

        let pool = sources.db.pool_stats();
        let mut family = encoder.encode_descriptor(
            "db_pool_connections",
            "Database pool connections, by state (idle, in_use)",
            None,
            MetricType::Gauge,
        )?;
        for (state, n) in [("idle", pool.idle), ("in_use", pool.size - pool.idle)] {
            ConstGauge::new(i64::from(n)).encode(family.encode_family(&[("state", state)])?)?;
        }
        ConstGauge::new(i64::from(pool.max)).encode(encoder.encode_descriptor(
            "db_pool_max_connections",
            "The database pool's size limit (DATABASE_MAX_CONNECTIONS)",
            None,
            MetricType::Gauge,
        )?)?;
        Ok(())
    }
}

/// Binds `addr` and prepares the metrics listener: `GET /metrics` and nothing else. Answers
/// the bound port and the server (to run beside the public one).
pub fn listen(addr: &str, metrics: Arc<Metrics>) -> anyhow::Result<(u16, Server)> {
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on METRICS_ADDR={addr}"))?;
    let port = listener.local_addr()?.port();
    let data = web::Data::from(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(serve_metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .shutdown_timeout(1)
    .run();
    tracing::info!(address = %addr, port, "metrics are served on /metrics");
    Ok((port, server))
}

/// `GET /metrics`: the Prometheus text exposition.
async fn serve_metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.scrape().await {
        Ok(text) => HttpResponse::Ok()
            .insert_header(ContentType(
                prometheus_text::CONTENT_TYPE
                    .parse()
                    .unwrap_or(mime::TEXT_PLAIN_UTF_8),
            ))
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
