//! The single-page app: served from `TESSERA_FRONTEND_DIR` when it has been built (or from the
//! binary itself with the `embed-frontend` feature), with `index.html` for client-side routes; a
//! small page that says how to build it otherwise.
//!
//! What falls back to `index.html`: any GET path the router does not know, except under `/api/`
//! (always a problem+json 404, so a client never mistakes the app for an API answer) and under
//! `/assets/` (a missing script must fail as a 404, not run HTML as JavaScript).
//! Vite names the files under `/assets/` by their content hash, so they are cached for a year;
//! `index.html` is revalidated on every load, so a new build is picked up at once.

use std::path::Path;

use actix_files::{Files, NamedFile};
use actix_web::body::MessageBody;
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, HttpResponse};

use crate::http::problem::not_found;

const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tessera</title></head>\
<body><h1>Tessera</h1><p>The API is running, but the web app has not been built, so this page is all \
that <code>/</code> shows. With Node.js 20 and npm installed, <code>tessera serve</code> builds it from \
<code>frontend/</code> when it starts (or run <code>npm ci &amp;&amp; npm run build</code> there). \
The API is documented at <a href=\"/api/docs/\">/api/docs/</a> \
(the document itself: <a href=\"/api/openapi.json\">/api/openapi.json</a>).</p>\
<p>Data lives in <code>TESSERA_DATA_DIR</code> (<code>./data</code> by default: the SQLite database, uploaded files and \
the generated JWT secret). To start afresh, stop the server and delete that directory.</p></body></html>";

/// Hashed build output: never changes under the same name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html` and unhashed files: revalidate (ETag) on every load.
const REVALIDATE: &str = "no-cache";

/// Mounts the SPA (or the placeholder) and the 404 for everything else.
pub fn configure(cfg: &mut web::ServiceConfig, dir: &Path) {
    #[cfg(feature = "embed-frontend")]
    if embedded::configure(cfg) {
        return;
    }
    // Looked at once, at start: `tessera serve` builds the SPA before it listens.
    let index = dir.join("index.html");
    if index.is_file() {
        // Registered after every route, so this scope only sees paths no route took; other
        // methods go on to the app's problem+json 404 (a 405 would claim the path exists).
        cfg.service(
            web::scope("")
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .wrap(from_fn(cache_control))
                .service(
                    Files::new("", dir)
                        .index_file("index.html")
                        .default_handler(fn_service(move |req: ServiceRequest| {
                            let index = index.clone();
                            async move {
                                let (req, _) = req.into_parts();
                                if !falls_back(req.path()) {
                                    let response = not_found().await;
                                    return Ok(ServiceResponse::new(req, response));
                                }
                                let file = NamedFile::open_async(&index).await?;
                                let response = file.into_response(&req);
                                Ok(ServiceResponse::new(req, response))
                            }
                        })),
                ),
        );
    } else {
        cfg.service(web::resource("/").route(web::get().to(placeholder)));
    }
}

/// Sets `Cache-Control` on what the SPA's files answer (`actix-files` has no per-file hook).
async fn cache_control(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> actix_web::Result<ServiceResponse<impl MessageBody>> {
    let assets = req.path().starts_with("/assets/");
    let mut res = next.call(req).await?;
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        let value = if assets { IMMUTABLE } else { REVALIDATE };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    Ok(res)
}

/// Whether an unknown path is a client-side route (answered with `index.html`). `/metrics` is
/// not: a scraper pointed at the public port by mistake gets a 404, never a page (the metrics
/// have a listener of their own, `METRICS_ADDR`).
fn falls_back(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path == "/api"
        || path.starts_with("/assets/")
        || path == "/metrics")
}

async fn placeholder() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, REVALIDATE))
        .body(PLACEHOLDER)
}

/// The app compiled into the binary (`cargo build --release --features embed-frontend` after
/// `npm run build`): a deployment is one file, and `TESSERA_FRONTEND_DIR` is not read.
#[cfg(feature = "embed-frontend")]
mod embedded {
    use actix_web::http::header::{self, EntityTag, HeaderValue};
    use actix_web::http::Method;
    use actix_web::{web, HttpRequest, HttpResponse};
    use rust_embed::RustEmbed;

    use super::{falls_back, not_found, IMMUTABLE, REVALIDATE};

    #[derive(RustEmbed)]
    #[folder = "../../frontend/dist"]
    struct Assets;

    /// Mounts the embedded app; false when the build embedded none (no `index.html`).
    pub fn configure(cfg: &mut web::ServiceConfig) -> bool {
        if Assets::get("index.html").is_none() {
            return false;
        }
        // Registered after every route, so this scope only sees paths no route took.
        cfg.service(web::scope("").default_service(web::to(serve)));
        true
    }

    async fn serve(req: HttpRequest) -> HttpResponse {
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return not_found().await;
        }
        let path = req.path();
        let name = path.trim_start_matches('/');
        let file = match Assets::get(if name.is_empty() { "index.html" } else { name }) {
            Some(file) => file,
            None if falls_back(path) => match Assets::get("index.html") {
                Some(file) => file,
                None => return not_found().await,
            },
            None => return not_found().await,
        };
        let etag = EntityTag::new_strong(hex(&file.metadata.sha256_hash()));
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag.to_string()));
        let cache = if path.starts_with("/assets/") {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let mut response = if fresh {
            HttpResponse::NotModified().finish()
        } else {
            HttpResponse::Ok()
                .content_type(file.metadata.mimetype())
                .body(file.data.into_owned())
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if let Ok(value) = HeaderValue::from_str(&etag.to_string()) {
            headers.insert(header::ETAG, value);
        }
        response
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
