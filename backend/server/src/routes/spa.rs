//! The single-page app: served from `TESSERA_FRONTEND_DIR` when it has been built, with
//! `index.html` for client-side routes; a small page that says how to build it otherwise.
//! Unknown `/api/…` paths always answer a problem+json 404.

use std::path::Path;

use actix_files::{Files, NamedFile};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};

use crate::http::problem::not_found;

const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tessera</title></head>\
<body><h1>Tessera</h1><p>The API is running. The web app is not part of this build yet, so this page is all \
that <code>/</code> shows; the API is documented at <a href=\"/api/docs/\">/api/docs/</a> \
(the document itself: <a href=\"/api/openapi.json\">/api/openapi.json</a>).</p>\
<p>Data lives in <code>TESSERA_DATA_DIR</code> (<code>./data</code> by default: the SQLite database, uploaded files and \
the generated JWT secret). To start afresh, stop the server and delete that directory.</p></body></html>";

/// Mounts the SPA (or the placeholder) and the 404 for everything else.
pub fn configure(cfg: &mut web::ServiceConfig, dir: &Path) {
    // Looked at once, at start: the SPA is built before the server runs.
    let index = dir.join("index.html");
    if index.is_file() {
        cfg.service(
            Files::new("/", dir)
                .index_file("index.html")
                .default_handler(fn_service(move |req: ServiceRequest| {
                    let index = index.clone();
                    async move {
                        let (req, _) = req.into_parts();
                        if req.path().starts_with("/api/") {
                            let response = not_found().await;
                            return Ok(ServiceResponse::new(req, response));
                        }
                        let file = NamedFile::open_async(&index).await?;
                        let response = file.into_response(&req);
                        Ok(ServiceResponse::new(req, response))
                    }
                })),
        );
    } else {
        cfg.service(web::resource("/").route(web::get().to(placeholder)));
    }
}

async fn placeholder() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PLACEHOLDER)
}
