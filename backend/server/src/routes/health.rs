//! Liveness and readiness.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// One dependency's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckDto {
    /// `up`, `degraded` or `down`.
    pub status: &'static str,
    /// Which implementation (`postgres`, `redis`, `s3`, …).
    pub backend: &'static str,
}

/// The readiness report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyDto {
    /// `ready` (all up), `degraded` (the cache is down; the API still answers) or `unavailable`.
    pub status: &'static str,
    /// `database`, `cache` and `object_store`.
    pub checks: BTreeMap<&'static str, CheckDto>,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive", body = Object, example = json!({"status": "ok"}))))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database, the cache and the object store, each with its state. 200 while the
/// API can serve (a degraded cache included), 503 when the database or object store is down.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready or degraded", body = ReadyDto),
    (status = 503, description = "A required dependency is down", body = ReadyDto),
))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (database, cache, objects) =
        tokio::join!(state.store.ping(), state.cache.ping(), state.objects.ping());
    let database_backend = match tessera_infra::store::DbKind::of_url(&state.settings.database_url)
    {
        Some(kind) => kind.as_str(),
        None => "unknown",
    };
    let cache_status = if cache.is_ok() && !state.cache.is_degraded() {
        "up"
    } else {
        "degraded"
    };
    let mut checks = BTreeMap::new();
    checks.insert(
        "database",
        CheckDto {
            status: if database.is_ok() { "up" } else { "down" },
            backend: database_backend,
        },
    );
    checks.insert(
        "cache",
        CheckDto {
            status: cache_status,
            backend: state.cache.backend().as_str(),
        },
    );
    checks.insert(
        "object_store",
        CheckDto {
            status: if objects.is_ok() { "up" } else { "down" },
            backend: state.objects.kind(),
        },
    );
    let (status, code) = if database.is_err() || objects.is_err() {
        (
            "unavailable",
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        )
    } else if cache_status != "up" {
        ("degraded", actix_web::http::StatusCode::OK)
    } else {
        ("ready", actix_web::http::StatusCode::OK)
    };
    HttpResponse::build(code).json(ReadyDto { status, checks })
}
