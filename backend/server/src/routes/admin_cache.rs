//! `/api/admin/cache`: the admin cache endpoints of seed `001`, answering the original's shapes:
//! `{"success":true,…}` with `cleared_count`, `cached_count`, `refreshed_count`.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::audit::{AuditAction, NewAuditEvent};
use tessera_domain::cache::{CacheStats, ClearTarget, WarmTarget, NAMESPACES};
use tessera_domain::files::urls::FILE_URLS;
use tessera_domain::files::FileType;
use tessera_domain::files::FILE_URL_NAMESPACE;
use tessera_domain::jobs::{JobResult, JobRun, JobStatus};
use tessera_domain::shared::cache::CacheBackend;
use tessera_domain::shared::cached::Namespace;
use tessera_domain::shared::{DomainError, FileId, UserId};
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use utoipa_actix_web::scope::Scope;

use crate::http::caller::{policy, Caller};
use crate::http::endpoint::endpoints;
use crate::http::extract::OptionalJson;
use crate::http::problem::ApiError;
use crate::routes::files::FileTypeDto;
use crate::routes::Routes;

/// The routes of `/api/admin/cache`.
pub fn scope() -> Scope<impl Routes> {
    utoipa_actix_web::scope("/api/admin/cache")
        .service(endpoints![stats])
        .service(endpoints![clear])
        .service(endpoints![warm])
        .service(endpoints![refresh])
}

/// Which cache implementation is in use.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheBackendDto {
    /// Redis (`REDIS_URL`).
    Redis,
    /// The in-process cache (no `REDIS_URL`).
    InProcess,
}

impl From<CacheBackend> for CacheBackendDto {
    fn from(backend: CacheBackend) -> Self {
        match backend {
            CacheBackend::Redis => CacheBackendDto::Redis,
            CacheBackend::InProcess => CacheBackendDto::InProcess,
        }
    }
}

/// A cache namespace that can be cleared: one the domain declares
/// ([`tessera_domain::cache::NAMESPACES`]) and that keeps no tombstones.
#[derive(Debug, Clone, Copy)]
pub struct ClearableNamespace(pub &'static Namespace);

/// The names of the namespaces that can be cleared.
fn clearable_names() -> Vec<&'static str> {
    NAMESPACES
        .iter()
        .filter(|ns| ns.clearable())
        .map(|ns| ns.name)
        .collect()
}

impl<'de> Deserialize<'de> for ClearableNamespace {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        tessera_domain::cache::namespace(&name)
            .filter(|ns| ns.clearable())
            .map(ClearableNamespace)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("must be one of {}", clearable_names().join(", ")))
            })
    }
}

impl PartialSchema for ClearableNamespace {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A cache namespace that can be cleared (`user`, `api_token` and `file` keep tombstones \
                 of changes and cannot)",
            ))
            .enum_values(Some(clearable_names()))
            .into()
    }
}

impl ToSchema for ClearableNamespace {}

/// Hits and misses of one namespace, counted by this instance, and its entries.
#[derive(Serialize, ToSchema)]
pub struct NamespaceDto {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to go to the source.
    pub misses: u64,
    /// hits / (hits + misses); 0 before any lookup.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub hit_ratio: f64,
    /// Keys the namespace holds now (null when the cache cannot be asked).
    pub entries: Option<u64>,
}

/// Redis `INFO` fields, named as Redis names them.
#[derive(Serialize, ToSchema)]
pub struct RedisInfoDto {
    /// Server version.
    pub redis_version: String,
    /// Memory in use, bytes.
    pub used_memory: u64,
    /// Memory in use, human readable.
    pub used_memory_human: String,
    /// Memory limit, bytes (0: none).
    pub maxmemory: u64,
    /// Memory limit, human readable.
    pub maxmemory_human: String,
    /// Eviction policy.
    pub maxmemory_policy: String,
    /// Keys evicted for memory.
    pub evicted_keys: u64,
    /// Keys expired.
    pub expired_keys: u64,
    /// Clients connected.
    pub connected_clients: u64,
    /// Commands processed since start.
    pub total_commands_processed: u64,
    /// Server-wide key hits.
    pub keyspace_hits: u64,
    /// Server-wide key misses.
    pub keyspace_misses: u64,
}

/// Cache statistics.
#[derive(Serialize, ToSchema)]
pub struct StatsDto {
    /// Which cache implementation is in use.
    pub backend: CacheBackendDto,
    /// True while the cache is failing and being skipped (requests fall back to signing).
    pub degraded: bool,
    /// How many `file_url:*` entries exist (null when the cache cannot be asked).
    pub file_url_entries: Option<u64>,
    /// `file_url` hits counted by this instance.
    pub hits: u64,
    /// `file_url` misses counted by this instance.
    pub misses: u64,
    /// `file_url` hit ratio.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub hit_ratio: f64,
    /// Counts per namespace.
    pub namespaces: BTreeMap<&'static str, NamespaceDto>,
    /// Object-store signing calls made by this instance.
    pub signatures: u64,
    /// Every key in the cache database (null when unknown).
    pub total_keys: Option<u64>,
    /// The in-process cache's capacity (in-process backend only).
    pub max_entries: Option<u64>,
    /// Redis server figures (Redis backend only, null when unreachable).
    pub redis: Option<RedisInfoDto>,
    /// Seconds a URL stays cached (`FILE_URL_CACHE_TTL`).
    pub file_url_cache_ttl: u64,
    /// Seconds a signed URL is valid (`FILE_URL_EXPIRES`).
    pub file_url_expires: u64,
    /// The periodic jobs by name (`refresh_file_urls`, `warm_on_deploy`, `post_views_flush`):
    /// their last run on any instance and this instance's last turn.
    pub jobs: BTreeMap<&'static str, JobStatusDto>,
}

/// A periodic job: when it runs and how its last runs went.
#[derive(Serialize, ToSchema)]
pub struct JobStatusDto {
    /// Whether this instance runs it (its setting may turn it off).
    pub enabled: bool,
    /// Its period in seconds; null for `warm_on_deploy`, which runs once per deploy.
    pub every_secs: Option<u64>,
    /// The last run on any instance that held the job's lock (null: none recorded).
    pub last_run: Option<JobRunDto>,
    /// This instance's last turn, `skipped` when another instance held the lock or had run
    /// it already (null: no turn since this instance started).
    pub last_turn_here: Option<JobRunDto>,
}

/// One run (or skipped turn) of a job.
#[derive(Serialize, ToSchema)]
pub struct JobRunDto {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// How it ended.
    pub result: JobResultDto,
    /// What it did ("Refreshed 12 expiring URLs"), why it failed, or why it was skipped.
    pub message: String,
    /// The instance that ran it (`<host>:<pid>`).
    pub instance: String,
    /// The fencing token it held (null when skipped).
    pub fence: Option<u64>,
}

/// How a job's run ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobResultDto {
    /// It ran to the end.
    Ok,
    /// It failed.
    Error,
    /// Another instance held the lock, or it already ran in this period or deploy.
    Skipped,
}

impl From<JobRun> for JobRunDto {
    fn from(run: JobRun) -> Self {
        Self {
            started_at: run.started_at,
            duration_ms: run.duration_ms,
            result: match run.result {
                JobResult::Ok => JobResultDto::Ok,
                JobResult::Error => JobResultDto::Error,
                JobResult::Skipped => JobResultDto::Skipped,
            },
            message: run.message,
            instance: run.instance,
            fence: run.fence,
        }
    }
}

/// Every job's status, by name.
pub fn job_dtos(statuses: Vec<JobStatus>) -> BTreeMap<&'static str, JobStatusDto> {
    statuses
        .into_iter()
        .map(|s| {
            (
                s.name,
                JobStatusDto {
                    enabled: s.enabled,
                    every_secs: s.every_secs,
                    last_run: s.last_run.map(Into::into),
                    last_turn_here: s.last_turn_here.map(Into::into),
                },
            )
        })
        .collect()
}

/// The stats answer.
#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    /// Always true.
    pub success: bool,
    /// The figures.
    pub stats: StatsDto,
}

/// What to clear: `{}` every file URL, `{"file_id":N}` one, `{"namespace":"members"}` a whole
/// namespace. A `file_id` names a file URL, so beside it `namespace` may only be `file_url`: the
/// published schema says so (one of two shapes), and the handler checks it again.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    /// Only this file's entry.
    pub file_id: Option<i64>,
    /// The namespace to clear (default `file_url`); with `file_id`, only `file_url`.
    pub namespace: Option<ClearableNamespace>,
}

impl PartialSchema for ClearRequest {
    fn schema() -> RefOr<Schema> {
        let one_file = ObjectBuilder::new()
            .title(Some("One file's URL"))
            .property(
                "file_id",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(1))
                    .description(Some("Only this file's entry.")),
            )
            .property(
                "namespace",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([FILE_URLS.name]))
                    .description(Some("Beside `file_id`, only `file_url`.")),
            )
            .required("file_id")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let one_namespace = ObjectBuilder::new()
            .title(Some("A whole namespace"))
            .property("namespace", ClearableNamespace::schema())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .item(one_file)
            .item(one_namespace)
            .description(Some(
                "`{}` clears every file URL, `{\"file_id\":N}` one, `{\"namespace\":…}` a whole namespace",
            ))
            .into()
    }
}

impl ToSchema for ClearRequest {}

/// The clear answer.
#[derive(Serialize, ToSchema)]
pub struct ClearResponse {
    /// Always true.
    pub success: bool,
    /// `Cleared N cache entries`.
    pub message: String,
    /// How many entries existed and were removed.
    pub cleared_count: u64,
}

/// What to warm: `{}` the newest 100 files, `{"file_type":"avatar"}` the newest 100 of a type,
/// `{"file_ids":[…]}` these files (at most 1000; with `file_type`, those of that type); with
/// `"dashboards": true`, also today's dashboard of the organisation and of every unit.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarmRequest {
    /// Only files of this type.
    pub file_type: Option<FileTypeDto>,
    /// These files.
    #[schema(min_items = 1, max_items = 1000)]
    pub file_ids: Option<Vec<i64>>,
    /// Also compute and cache today's dashboard of the whole organisation and of every unit
    /// (as the unit's own users see it).
    #[serde(default)]
    pub dashboards: bool,
}

/// The warm answer.
#[derive(Serialize, ToSchema)]
pub struct WarmResponse {
    /// Always true.
    pub success: bool,
    /// `Cached N file URLs`, and `and M dashboards` when they were asked for.
    pub message: String,
    /// How many URLs were signed and cached.
    pub cached_count: usize,
    /// How many dashboards were computed and cached; only when they were asked for, so the
    /// answer to a plain warm keeps the original's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboards_count: Option<usize>,
}

/// The refresh answer.
#[derive(Serialize, ToSchema)]
pub struct RefreshResponse {
    /// Always true.
    pub success: bool,
    /// `Refreshed N expiring URLs`.
    pub message: String,
    /// How many entries were re-signed.
    pub refreshed_count: usize,
}

/// Cache statistics: entries, app-counted hits and misses, Redis memory and health. A caller
/// that is not an administrator gets 403 with `{"error":"Admin access required"}`, as the
/// original.
#[utoipa::path(get, path = "/stats", tag = "admin cache", responses(
    (status = 200, description = "Statistics", body = StatsResponse),
))]
pub async fn stats(caller: Caller<policy::CacheAdmin>) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let stats = state.cache_admin.stats(&caller.actor()).await?;
    let jobs = state.jobs.status().await;
    Ok(HttpResponse::Ok().json(stats_response(stats, jobs)))
}

/// The stats answer built from the domain's figures and the jobs' status: what the endpoint
/// answers and what `tessera cache stats --json` prints.
pub fn stats_response(stats: CacheStats, jobs: Vec<JobStatus>) -> StatsResponse {
    let (hits, misses, hit_ratio, file_url_entries) = stats
        .namespace(FILE_URL_NAMESPACE)
        .map_or((0, 0, 0.0, None), |n| {
            (n.hits, n.misses, n.hit_ratio(), n.entries)
        });
    let namespaces = namespace_dtos(&stats);
    let jobs = job_dtos(jobs);
    let info = stats.info.unwrap_or_default();
    StatsResponse {
        success: true,
        stats: StatsDto {
            backend: stats.backend.into(),
            degraded: stats.degraded,
            file_url_entries,
            hits,
            misses,
            hit_ratio,
            namespaces,
            signatures: stats.signatures,
            total_keys: info.total_keys,
            max_entries: info.max_entries,
            redis: info.redis.map(|r| RedisInfoDto {
                redis_version: r.redis_version,
                used_memory: r.used_memory,
                used_memory_human: r.used_memory_human,
                maxmemory: r.maxmemory,
                maxmemory_human: r.maxmemory_human,
                maxmemory_policy: r.maxmemory_policy,
                evicted_keys: r.evicted_keys,
                expired_keys: r.expired_keys,
                connected_clients: r.connected_clients,
                total_commands_processed: r.total_commands_processed,
                keyspace_hits: r.keyspace_hits,
                keyspace_misses: r.keyspace_misses,
            }),
            file_url_cache_ttl: stats.file_url_cache_ttl,
            file_url_expires: stats.file_url_expires,
            jobs,
        },
    }
}

/// Each namespace's counts, by name.
pub fn namespace_dtos(stats: &CacheStats) -> BTreeMap<&'static str, NamespaceDto> {
    stats
        .namespaces
        .iter()
        .map(|n| {
            (
                n.namespace,
                NamespaceDto {
                    hits: n.hits,
                    misses: n.misses,
                    hit_ratio: n.hit_ratio(),
                    entries: n.entries,
                },
            )
        })
        .collect()
}

/// Clears cached entries: `{}` every file URL (`file_url:*` only, found with SCAN, removed with
/// UNLINK in batches), `{"file_id":N}` one, `{"namespace":"members"}` every entry of that
/// namespace. Sessions, token lookups, profiles and rate counters are never cleared.
#[utoipa::path(post, path = "/clear", tag = "admin cache",
    request_body(content = Option<ClearRequest>, description = "Optional; none means `{}`"),
    responses(
        (status = 200, description = "Cleared", body = ClearResponse, example = json!({"success": true, "message": "Cleared 1 cache entries", "cleared_count": 1})),
    ))]
pub async fn clear(
    caller: Caller<policy::CacheAdmin>,
    body: OptionalJson<ClearRequest>,
) -> Result<HttpResponse, ApiError> {
    let state = caller.state();
    let target = clear_target(&body.0)?;
    let cleared_count = state.cache_admin.clear(&caller.actor(), target).await?;
    state
        .audit
        .record(clear_audit_event(
            Some(caller.user.id),
            caller.ip,
            target,
            cleared_count,
        ))
        .await;
    Ok(HttpResponse::Ok().json(clear_response(cleared_count)))
}

/// What a clear body asks to remove: `{}` every file URL, `{"file_id":N}` one,
/// `{"namespace":…}` a namespace (a `file_id` beside any namespace but `file_url` is refused).
pub fn clear_target(request: &ClearRequest) -> Result<ClearTarget, DomainError> {
    let namespace = request.namespace.map_or(&FILE_URLS, |n| n.0);
    match request.file_id {
        Some(_) if namespace != &FILE_URLS => Err(DomainError::invalid(
            "file_id",
            "names a file URL: leave namespace out or give file_url",
        )),
        Some(id) => Ok(ClearTarget::File(FileId(id))),
        None => Ok(ClearTarget::Namespace(namespace)),
    }
}

/// The audit event of a clear, by `user` from `ip` (both `None` on the command line).
pub fn clear_audit_event(
    user: Option<UserId>,
    ip: Option<std::net::IpAddr>,
    target: ClearTarget,
    cleared_count: u64,
) -> NewAuditEvent {
    let subject = match target {
        ClearTarget::File(id) => format!("file_url:{}", id.0),
        ClearTarget::Namespace(ns) => format!("{}:*", ns.name),
    };
    NewAuditEvent::new(AuditAction::CacheCleared, user)
        .subject(subject)
        .from_ip(ip)
        .detail(serde_json::json!({"cleared_count": cleared_count}))
}

/// The clear answer: `Cleared N cache entries`.
pub fn clear_response(cleared_count: u64) -> ClearResponse {
    ClearResponse {
        success: true,
        message: format!("Cleared {cleared_count} cache entries"),
        cleared_count,
    }
}

/// Warms the cache: signs URLs in parallel and writes them in one pipeline; with
/// `"dashboards": true`, also computes today's dashboard of the organisation and of every unit.
#[utoipa::path(post, path = "/warm", tag = "admin cache",
    request_body(content = Option<WarmRequest>, description = "Optional; none means `{}`"),
    responses(
        (status = 200, description = "Warmed", body = WarmResponse, example = json!({"success": true, "message": "Cached 12 file URLs", "cached_count": 12})),
    ))]
pub async fn warm(
    caller: Caller<policy::CacheAdmin>,
    body: OptionalJson<WarmRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let target = warm_target(&request);
    let state = caller.state();
    let actor = caller.actor();
    let cached_count = state.cache_admin.warm(&actor, target).await?;
    let dashboards_count = if request.dashboards {
        Some(state.dashboard.warm(&actor).await?)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(warm_response(cached_count, dashboards_count)))
}

/// What a warm body asks to sign: these files, or the newest (of a type, if given).
pub fn warm_target(request: &WarmRequest) -> WarmTarget {
    let file_type = request.file_type.map(FileType::from);
    match &request.file_ids {
        Some(ids) => WarmTarget::Files(ids.iter().copied().map(FileId).collect(), file_type),
        None => WarmTarget::Newest(file_type),
    }
}

/// The warm answer: `Cached N file URLs`, and `and M dashboards` when they were asked for.
pub fn warm_response(cached_count: usize, dashboards_count: Option<usize>) -> WarmResponse {
    let message = match dashboards_count {
        Some(dashboards) => format!("Cached {cached_count} file URLs and {dashboards} dashboards"),
        None => format!("Cached {cached_count} file URLs"),
    };
    WarmResponse {
        success: true,
        message,
        cached_count,
        dashboards_count,
    }
}

/// Re-signs the cached URLs whose entries have less than five minutes of cache life left.
#[utoipa::path(post, path = "/refresh", tag = "admin cache", responses(
    (status = 200, description = "Refreshed", body = RefreshResponse, example = json!({"success": true, "message": "Refreshed 3 expiring URLs", "refreshed_count": 3})),
))]
pub async fn refresh(caller: Caller<policy::CacheAdmin>) -> Result<HttpResponse, ApiError> {
    let refreshed_count = caller.state().cache_admin.refresh(&caller.actor()).await?;
    Ok(HttpResponse::Ok().json(refresh_response(refreshed_count)))
}

/// The refresh answer: `Refreshed N expiring URLs`.
pub fn refresh_response(refreshed_count: usize) -> RefreshResponse {
    RefreshResponse {
        success: true,
        message: format!("Refreshed {refreshed_count} expiring URLs"),
        refreshed_count,
    }
}
