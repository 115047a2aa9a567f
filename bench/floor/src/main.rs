//! The benchmark's floor: an actix-web server that does no work, to measure what the machine,
//! the HTTP stack and wrk cost on their own, so `scripts/bench` can report tessera's cached
//! `GET /api/files/{id}` as a ratio of it measured in the same run.
//!
//! It answers `GET /api/files/{id}` with a fixed JSON body (by default one of the same shape
//! and size as tessera's answer; `BENCH_FLOOR_BODY` replaces it, and `scripts/bench` passes the
//! body tessera answered for a real file) when an `Authorization` header is present, and 401
//! otherwise. Nothing is parsed, looked up or logged. Workers: actix's default, one per core,
//! as `tessera serve`; `BENCH_FLOOR_WORKERS` overrides it. `BENCH_FLOOR_RUNTIME=tokio` starts it
//! inside a multi-threaded tokio runtime as `tessera serve` is, to see what that costs.
//!
//! ```sh
//! cargo build --release -p tessera-bench-floor
//! BENCH_FLOOR_ADDR=127.0.0.1:18081 target/release/bench-floor
//! ```

use actix_web::{http::header, web, App, HttpRequest, HttpResponse, HttpServer};

/// What a request to the floor is answered with.
struct Body(web::Bytes);

/// The sole route: present an `Authorization` header, get the fixed body.
async fn file(request: HttpRequest, body: web::Data<Body>) -> HttpResponse {
    if request.headers().contains_key(header::AUTHORIZATION) {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body.0.clone())
    } else {
        HttpResponse::Unauthorized().finish()
    }
}

/// Readiness, as tessera's, so the bench waits for both the same way.
async fn ready() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// A `FileDto` of the size tessera answers for an uploaded avatar with an S3 URL.
const DEFAULT_BODY: &str = concat!(
    r#"{"id":1,"file_type":"avatar","content_type":"image/png","size":24,"original_name":"1.png","#,
    r#""status":"ready","uploaded_by":1,"org_unit_id":1,"created_at":"2026-12-03T23:00:00.000000Z","#,
    r#""url":"http://127.0.0.1:9000/bench1/avatars/2026/12/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.png"#,
    r#"?x-id=GetObject&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=tessera%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"#,
    r#"&X-Amz-Date=20261203T230000Z&X-Amz-Expires=14400&X-Amz-SignedHeaders=host"#,
    r#"&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","#,
    r#""url_expires_at":"2026-12-04T03:00:00Z"}"#
);

fn main() -> std::io::Result<()> {
    // `BENCH_FLOOR_RUNTIME=tokio` runs the server inside a multi-threaded tokio runtime, as
    // `tessera serve` does (actix then starts in the existing runtime); by default it runs on
    // actix's own runtime, as a plain actix-web program does.
    if std::env::var("BENCH_FLOOR_RUNTIME").as_deref() == Ok("tokio") {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(serve())
    } else {
        actix_web::rt::System::new().block_on(serve())
    }
}

/// Serves the floor until the process is stopped.
async fn serve() -> std::io::Result<()> {
    let addr = std::env::var("BENCH_FLOOR_ADDR").unwrap_or_else(|_| "127.0.0.1:18081".into());
    let body = std::env::var("BENCH_FLOOR_BODY").unwrap_or_else(|_| DEFAULT_BODY.into());
    let body = web::Data::new(Body(web::Bytes::from(body)));
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(body.clone())
            .route("/api/files/{id}", web::get().to(file))
            .route("/readyz", web::get().to(ready))
    });
    if let Some(workers) = std::env::var("BENCH_FLOOR_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
    {
        server = server.workers(workers);
    }
    server.bind(&addr)?.run().await
}
