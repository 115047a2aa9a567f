//! `/healthz` and `/readyz`: liveness and readiness, for load balancers and ops.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::caller::Public;
use crate::http::endpoint::endpoints;

/// Registers `/healthz` and `/readyz` (outside `/api`, where probes expect them).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(endpoints![healthz])
        .service(endpoints![readyz]);
}

/// Always `ok`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Alive {
    /// The process answers.
    Ok,
}

/// The liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LivenessDto {
    /// Always `ok`.
    pub status: Alive,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses(
    (status = 200, description = "Alive", body = LivenessDto),
))]
pub async fn healthz(_caller: Public) -> HttpResponse {
    HttpResponse::Ok().json(LivenessDto { status: Alive::Ok })
}

/// One dependency's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It answers.
    Up,
    /// It is failing and skipped; the API still answers without it (the cache only).
    Degraded,
    /// It does not answer.
    Down,
}

/// One dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckDto {
    /// Its state.
    pub status: CheckStatus,
    /// Which implementation: `postgres` or `sqlite`; `redis` or `in_process`; `s3` or `local`.
    pub backend: &'static str,
}

/// The dependencies checked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecksDto {
    /// The relational database.
    pub database: CheckDto,
    /// The cache.
    pub cache: CheckDto,
    /// Where file bytes live.
    pub object_store: CheckDto,
}

/// The overall state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Everything answers.
    Ready,
    /// The cache is down; the API still answers.
    Degraded,
    /// The database or the object store is down.
    Unavailable,
}

/// The readiness report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyDto {
    /// The overall state.
    pub status: Readiness,
    /// Each dependency.
    pub checks: ChecksDto,
}

/// Readiness: the database, the cache and the object store, each with its state. 200 while the
/// API can serve (a degraded cache included), 503 when the database or object store is down.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready or degraded", body = ReadyDto),
    (status = 503, description = "The database or the object store is down", body = ReadyDto),
))]
pub async fn readyz(caller: Public) -> HttpResponse {
    let state = caller.state();
    let (database, cache, objects) =
        tokio::join!(state.db.ping(), state.cache.ping(), state.objects.ping());
    let up_or_down = |ok: bool| {
        if ok {
            CheckStatus::Up
        } else {
            CheckStatus::Down
        }
    };
    let cache_status = if cache.is_ok() && !state.cache.is_degraded() {
        CheckStatus::Up
    } else {
        CheckStatus::Degraded
    };
    let checks = ChecksDto {
        database: CheckDto {
            status: up_or_down(database.is_ok()),
            backend: tessera_infra::sql::DbKind::of_url(&state.settings.database_url)
                .map_or("unknown", |kind| kind.as_str()),
        },
        cache: CheckDto {
            status: cache_status,
            backend: state.cache.backend().as_str(),
        },
        object_store: CheckDto {
            status: up_or_down(objects.is_ok()),
            backend: state.objects.kind(),
        },
    };
    let (status, code) = if database.is_err() || objects.is_err() {
        (Readiness::Unavailable, StatusCode::SERVICE_UNAVAILABLE)
    } else if cache_status != CheckStatus::Up {
        (Readiness::Degraded, StatusCode::OK)
    } else {
        (Readiness::Ready, StatusCode::OK)
    };
    let mut response = HttpResponse::build(code);
    if code == StatusCode::SERVICE_UNAVAILABLE {
        // Load balancers and scripts get the same hint as every other 503.
        response.insert_header((
            actix_web::http::header::RETRY_AFTER,
            crate::http::problem::RETRY_AFTER_UNAVAILABLE,
        ));
    }
    response.json(ReadyDto { status, checks })
}
