//! The HTTP routes, one module per resource, and where they are mounted.

use std::path::Path;

use actix_web::http::StatusCode;
use actix_web::web;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

pub mod admin_cache;
pub mod audit;
pub mod auth;
pub mod dues;
pub mod files;
pub mod health;
pub mod members;
pub mod objects;
pub mod org_units;
pub mod payments;
pub mod spa;
pub mod tokens;
pub mod users;

/// Mounts every route. Resources are registered with `web::resource` so a wrong method on a
/// known path answers 405, and anything unknown falls through to a problem+json 404.
pub fn configure(cfg: &mut web::ServiceConfig, frontend_dir: &Path) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/api/auth/login").route(web::post().to(auth::login)))
        .service(web::resource("/api/auth/refresh").route(web::post().to(auth::refresh)))
        .service(web::resource("/api/auth/logout").route(web::post().to(auth::logout)))
        .service(web::resource("/api/auth/otp/setup").route(web::post().to(auth::otp_setup)))
        .service(web::resource("/api/auth/otp/enable").route(web::post().to(auth::otp_enable)))
        .service(web::resource("/api/auth/otp/disable").route(web::post().to(auth::otp_disable)))
        .service(
            web::resource("/api/auth/me")
                .route(web::get().to(auth::me))
                .route(web::patch().to(auth::update_me)),
        )
        .service(
            web::resource("/api/tokens")
                .route(web::post().to(tokens::create_token))
                .route(web::get().to(tokens::list_tokens)),
        )
        .service(web::resource("/api/tokens/{id}").route(web::delete().to(tokens::revoke_token)))
        .service(web::resource("/api/audit").route(web::get().to(audit::list_audit)))
        .service(
            web::resource("/api/users")
                .route(web::post().to(users::create_user))
                .route(web::get().to(users::list_users)),
        )
        .service(
            web::resource("/api/users/{id}")
                .route(web::get().to(users::get_user))
                .route(web::patch().to(users::update_user))
                .route(web::delete().to(users::delete_user)),
        )
        .service(
            web::resource("/api/org-units")
                .route(web::post().to(org_units::create_org_unit))
                .route(web::get().to(org_units::list_org_units)),
        )
        .service(
            web::resource("/api/org-units/{id}")
                .route(web::get().to(org_units::get_org_unit))
                .route(web::patch().to(org_units::update_org_unit))
                .route(web::delete().to(org_units::delete_org_unit)),
        )
        .service(
            web::resource("/api/members")
                .route(web::post().to(members::create_member))
                .route(web::get().to(members::list_members)),
        )
        .service(
            web::resource("/api/members/{id}")
                .route(web::get().to(members::get_member))
                .route(web::patch().to(members::update_member))
                .route(web::delete().to(members::delete_member)),
        )
        .service(
            web::resource("/api/dues")
                .route(web::post().to(dues::create_dues))
                .route(web::get().to(dues::list_dues)),
        )
        .service(
            web::resource("/api/dues/{id}")
                .route(web::get().to(dues::get_dues))
                .route(web::patch().to(dues::update_dues))
                .route(web::delete().to(dues::delete_dues)),
        )
        .service(
            web::resource("/api/payments")
                .route(web::post().to(payments::create_payment))
                .route(web::get().to(payments::list_payments)),
        )
        .service(
            web::resource("/api/payments/{id}")
                .route(web::get().to(payments::get_payment))
                .route(web::delete().to(payments::delete_payment)),
        )
        .service(
            web::resource("/api/files")
                .route(web::post().to(files::upload_file))
                .route(web::get().to(files::list_files)),
        )
        .service(web::resource("/api/files/uploads").route(web::post().to(files::start_upload)))
        .service(
            web::resource("/api/files/{id}/complete").route(web::post().to(files::complete_upload)),
        )
        .service(
            web::resource("/api/files/{id}")
                .route(web::get().to(files::get_file))
                .route(web::delete().to(files::delete_file)),
        )
        .service(web::resource("/api/admin/cache/stats").route(web::get().to(admin_cache::stats)))
        .service(web::resource("/api/admin/cache/clear").route(web::post().to(admin_cache::clear)))
        .service(web::resource("/api/admin/cache/warm").route(web::post().to(admin_cache::warm)))
        .service(
            web::resource("/api/admin/cache/refresh").route(web::post().to(admin_cache::refresh)),
        )
        .service(
            web::resource("/api/objects/{key:.*}")
                .route(web::get().to(objects::get_object))
                .route(web::put().to(objects::put_object)),
        )
        .service(
            web::resource("/api/openapi.json").route(web::get().to(crate::openapi::serve_spec)),
        )
        .service(web::redirect("/api/docs", "/api/docs/"))
        .service(
            // The UI reads the spec served above; it does not register a second copy.
            utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}")
                .config(utoipa_swagger_ui::Config::from("/api/openapi.json")),
        )
        .configure(|cfg| spa::configure(cfg, frontend_dir));
}

/// An optional JSON body: empty means `{}` (the seed's curl calls send none for refresh).
pub(crate) fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("the JSON body does not fit: {e}"),
            )
        } else {
            ApiError::problem(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not valid JSON: {e}"),
            )
        }
    })
}
