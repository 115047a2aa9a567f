//! The API's documentation: the OpenAPI document at `/api/openapi.json` and Swagger UI at
//! `/api/docs/` (served offline, reading that same document). Not part of the contract itself.

use actix_web::web;

use crate::openapi::{serve_spec, SpecJson};

/// Mounts the document and the UI.
pub fn configure(config: &mut web::ServiceConfig, spec: web::Data<SpecJson>) {
    config
        .service(
            web::resource("/api/openapi.json")
                .app_data(spec)
                .route(web::get().to(serve_spec)),
        )
        .service(web::redirect("/api/docs", "/api/docs/"))
        .service(
            // The UI reads the document served above; it does not register a second copy.
            utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}")
                .config(utoipa_swagger_ui::Config::from("/api/openapi.json")),
        );
}
