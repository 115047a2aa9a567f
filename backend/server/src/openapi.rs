//! The OpenAPI document. Each route brings its own entry when it is registered
//! (`crate::http::endpoint`), so the document is built by mounting the routes on an app and
//! keeping the spec (once, at start: [`spec`]); this module adds what they share: title, version, tags, the two ways to
//! authenticate and the problem answers every route refers to. `tessera openapi` writes it to
//! `openapi/openapi.json`; a test fails when the committed file differs from the code.

use actix_web::{web, App, HttpResponse};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::http::endpoint;
use crate::http::problem::{FieldProblem, Problem, PROBLEM_JSON};
use crate::routes;

/// The version of the API contract (`info.version`); `docs/changelog.md` says what each
/// version changed for clients.
pub const API_VERSION: &str = "0.2.0";

/// What the routes share.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera API",
        version = "0.2.0",
        description = "Membership, dues and files for hierarchical organisations. Every error is RFC 9457 application/problem+json with a stable `code` (docs/errors.md). Call with `Authorization: Bearer <token>`: a login access token (`session`) or an API token (`api_token`), whose scopes the `api_token` requirement of each operation names; `session: [admin]` means an administrator."
    ),
    components(schemas(Problem, FieldProblem)),
    modifiers(&Shared),
    tags(
        (name = "auth", description = "Login, sessions and the caller's own account"),
        (name = "users", description = "User administration"),
        (name = "tokens", description = "API tokens for scripts and third-party clients (administrators)"),
        (name = "audit", description = "The audit log of security events (administrators)"),
        (name = "org units", description = "The organisation tree: central committee, regional committees, sectors, cells"),
        (name = "members", description = "The people of the organisation, each in one cell"),
        (name = "dues", description = "What members owe per month (treasurers see all)"),
        (name = "payments", description = "Money received from members (treasurers see all)"),
        (name = "posts", description = "A bulletin board per org unit: posts with images, view counts, popular posts"),
        (name = "materials", description = "The material catalogue and its types (everyone reads, administrators write) and each unit's stock"),
        (name = "files", description = "Uploads and signed, cached view URLs"),
        (name = "admin cache", description = "The file-URL cache: stats, clear, warm, refresh (administrators)"),
        (name = "objects", description = "Signed URLs of the local-disk object store"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A login access token from `POST /api/auth/login` (15 minutes; refresh \
                         with `POST /api/auth/refresh`). The role `admin` means an administrator.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tsk_…")
                    .description(Some(
                        "An API token from `POST /api/tokens` or `tessera token create`; the \
                         requirement names the scope it must carry (`read`, `write`, \
                         `cache:admin`).",
                    ))
                    .build(),
            ),
        );
        let integer = || Object::with_type(Type::Integer);
        let text = || Object::with_type(Type::String);
        let problem = |description: &str| {
            ResponseBuilder::new().description(description).content(
                PROBLEM_JSON,
                Content::new(Some(Ref::from_schema_name("Problem"))),
            )
        };
        let shared = [
            ("BadRequest", problem("A malformed body (`invalid_json`) or multipart body (`invalid_multipart`)")),
            ("Unauthorized", problem("No, an invalid or an expired credential, a logged-out token or an ended session (`unauthenticated`)")
                .header("WWW-Authenticate", HeaderBuilder::new().schema(Some(text())).description(Some("`Bearer`")).build())),
            ("Forbidden", problem("The caller may not do this: not an administrator (`admin_required`, with `\"error\":\"Admin access required\"`), an API token without the scope (`insufficient_scope`) or on a route for logged-in users only (`session_required`), or a rule of the record (`forbidden`)")),
            ("NotFound", problem("No such record in the caller's scope (`not_found`), or a path id that is not one (`abc`, beyond 64 bits); a record's existence is never revealed")),
            ("PayloadTooLarge", problem("The body is over the limit (`payload_too_large`): 64 KiB of JSON, `UPLOAD_MAX_BYTES` of upload")),
            ("UnsupportedMediaType", problem("The body's media type is not accepted here (`unsupported_media_type`)")),
            ("UnprocessableEntity", problem("Fields are invalid (`validation_failed`); `errors[]` names them")),
            ("TooManyRequests", problem("Over a rate limit (`rate_limited`)")
                .header("Retry-After", HeaderBuilder::new().schema(Some(integer())).description(Some("Seconds until the window starts over")).build())
                .header("RateLimit-Policy", HeaderBuilder::new().schema(Some(text())).description(Some("`\"api\";q=600;w=60`: the policy, its quota and window")).build())
                .header("RateLimit", HeaderBuilder::new().schema(Some(text())).description(Some("`\"api\";r=0;t=42`: requests left and seconds until reset")).build())),
            ("ServiceUnavailable", problem("A dependency the call needs is down (`service_unavailable`): the database, or the cache for the admin cache calls; `Retry-After` says when to try again")
                .header("Retry-After", HeaderBuilder::new().schema(Some(integer())).description(Some("Seconds to wait before trying again")).build())),
        ];
        for (name, response) in shared {
            components
                .responses
                .insert(name.to_owned(), response.build().into());
        }
    }
}

/// The document, as the routes declare it: they are mounted on a throwaway app while
/// [`endpoint::describing`], and the app is dropped. Built once at start (and by
/// `tessera openapi`); the workers' apps carry no documentation.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, spec) = endpoint::describing(|| {
        let app = App::new().into_utoipa_app().openapi(Shared::openapi());
        routes::mount(app).split_for_parts()
    });
    spec
}

/// `spec` as pretty JSON with a trailing newline, exactly as committed and served.
pub fn to_json(spec: &utoipa::openapi::OpenApi) -> String {
    let mut json = spec.to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// The document as pretty JSON with a trailing newline, exactly as committed.
pub fn spec_json() -> String {
    to_json(&spec())
}

/// The document as served at `/api/openapi.json` (made once at start).
pub struct SpecJson(pub String);

/// Serves the OpenAPI document.
pub async fn serve_spec(spec: web::Data<SpecJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.0.clone())
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

    #[test]
    fn the_version_is_the_one_documented() {
        assert_eq!(super::spec().info.version, super::API_VERSION);
    }
}
