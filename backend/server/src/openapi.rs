//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` and the DTOs.
//! `tessera openapi` writes it to `openapi/openapi.json`; a test fails when the committed file
//! differs from what the code generates.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::{FieldProblem, Problem};
use crate::routes::{
    admin_cache, audit, auth, dues, files, health, members, objects, org_units, payments, tokens,
    users,
};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera API", description = "Membership, dues and files for hierarchical organisations. Every error is RFC 9457 application/problem+json."),
    paths(
        health::healthz, health::readyz,
        auth::login, auth::refresh, auth::logout, auth::me, auth::update_me, auth::otp_setup, auth::otp_enable, auth::otp_disable,
        tokens::create_token, tokens::list_tokens, tokens::revoke_token,
        audit::list_audit,
        users::create_user, users::list_users, users::get_user, users::update_user, users::delete_user,
        org_units::create_org_unit, org_units::list_org_units, org_units::get_org_unit, org_units::update_org_unit, org_units::delete_org_unit,
        members::create_member, members::list_members, members::get_member, members::update_member, members::delete_member,
        dues::create_dues, dues::list_dues, dues::get_dues, dues::update_dues, dues::delete_dues,
        payments::create_payment, payments::list_payments, payments::get_payment, payments::delete_payment,
        files::upload_file, files::list_files, files::get_file, files::delete_file, files::start_upload, files::complete_upload,
        admin_cache::stats, admin_cache::clear, admin_cache::warm, admin_cache::refresh,
        objects::get_object, objects::put_object,
    ),
    components(schemas(Problem, FieldProblem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Login and the caller's account"),
        (name = "users", description = "User administration"),
        (name = "tokens", description = "API tokens for scripts and third-party clients (administrators)"),
        (name = "audit", description = "The audit log of security events (administrators)"),
        (name = "org units", description = "The organisation tree: central committee, regional committees, sectors, cells"),
        (name = "members", description = "The people of the organisation, each in one cell"),
        (name = "dues", description = "What members owe per month (treasurers see all)"),
        (name = "payments", description = "Money received from members (treasurers see all)"),
        (name = "files", description = "Uploads and signed, cached view URLs"),
        (name = "admin cache", description = "The file-URL cache: stats, clear, warm, refresh (administrators)"),
        (name = "objects", description = "Signed URLs of the local-disk object store"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A login access token (JWT), or an API token (`tsk_…`) limited to its scopes"))
                    .build(),
            ),
        );
    }
}

/// The document.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a trailing newline, exactly as committed.
pub fn spec_json() -> String {
    let mut json = spec().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// Serves the OpenAPI document.
pub async fn serve_spec() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec_json())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_spec_matches_the_code() {
        let committed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../openapi/openapi.json"
        ))
        .unwrap_or_default();
        assert!(
            committed == super::spec_json(),
            "openapi/openapi.json is out of date: run `cargo run --bin tessera -- openapi` and commit it"
        );
    }
}
