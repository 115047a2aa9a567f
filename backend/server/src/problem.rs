//! Every error answer is RFC 9457 `application/problem+json` with a stable snake_case `code` and
//! the `request_id`: domain errors, the framework's own (bad JSON, unknown route, wrong method,
//! oversize body, wrong media type, bad path or query), and anything else that slips through.
//! 5xx causes go to the log; the client gets a generic detail.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use tessera_domain::rate_limit::Decision;
use tessera_domain::DomainError;
use utoipa::ToSchema;

use crate::telemetry::current_request_id;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field as the client named it.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:tessera:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// A stable snake_case code to branch on.
    pub code: String,
    /// The id of the request, also in the `x-request-id` header and in every log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Field errors, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// The original API's error text, kept for clients of the seed (`Admin access required`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Problem {
    /// A problem with this status, code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("urn:tessera:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            request_id: current_request_id(),
            errors: Vec::new(),
            error: None,
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The HTTP response carrying this problem.
    pub fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response.content_type(PROBLEM_JSON);
        if self.status == 401 {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(serde_json::to_string(self).unwrap_or_default())
    }
}

/// The API's error: a domain error or a framework problem, rendered as problem+json.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An error from the domain.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A problem already shaped (framework and request errors).
    #[error("{}", .0.detail)]
    Problem(Box<Problem>),
    /// Over a rate limit: 429 with `Retry-After` and the `RateLimit` headers.
    #[error("too many requests")]
    RateLimited(Decision),
}

impl ApiError {
    /// A ready-made problem.
    pub fn problem(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self::Problem(Box::new(Problem::new(status, code, detail)))
    }

    /// Missing or invalid credentials.
    pub fn unauthenticated(detail: &str) -> Self {
        Self::Domain(DomainError::Unauthenticated(detail.to_owned()))
    }

    fn to_problem(&self) -> Problem {
        match self {
            ApiError::Problem(p) => (**p).clone(),
            ApiError::Domain(e) => domain_problem(e),
            ApiError::RateLimited(decision) => {
                let mut p = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "too many attempts: try again in {} s",
                        retry_after(decision)
                    ),
                );
                p.error = Some("Too many requests".into());
                p
            }
        }
    }
}

/// The one table from domain errors to statuses and codes.
fn domain_problem(e: &DomainError) -> Problem {
    match e {
        DomainError::NotFound(what) => Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        ),
        DomainError::Conflict { code, message } => {
            Problem::new(StatusCode::CONFLICT, code, message.clone())
        }
        DomainError::Validation(fields) => {
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "some fields are invalid",
            );
            p.errors = fields
                .iter()
                .map(|f| FieldProblem {
                    field: f.field.clone(),
                    message: f.message.clone(),
                })
                .collect();
            p
        }
        DomainError::Forbidden(detail) => {
            Problem::new(StatusCode::FORBIDDEN, "forbidden", detail.clone())
        }
        DomainError::AdminRequired => {
            let mut p = Problem::new(
                StatusCode::FORBIDDEN,
                "admin_required",
                "Admin access required",
            );
            p.error = Some("Admin access required".into());
            p
        }
        DomainError::OtpRequired => {
            let mut p = Problem::new(
                StatusCode::UNAUTHORIZED,
                "otp_required",
                "this account needs a one-time code: send otp_code",
            );
            p.error = Some("One-time code required".into());
            p
        }
        DomainError::OtpInvalid => {
            let mut p = Problem::new(
                StatusCode::UNAUTHORIZED,
                "otp_invalid",
                "the one-time code is wrong, expired or already used",
            );
            p.error = Some("Invalid one-time code".into());
            p
        }
        DomainError::Unauthenticated(detail) => {
            let mut p = Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail.clone());
            p.error = Some(detail.clone());
            p
        }
        DomainError::PayloadTooLarge { limit } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the limit of {limit} bytes"),
        ),
        DomainError::UnsupportedMediaType(detail) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            detail.clone(),
        ),
        DomainError::Unavailable(what) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            format!("{what} is unavailable; try again shortly"),
        ),
        DomainError::Unexpected(cause) => {
            tracing::error!(error = ?cause, "unexpected error");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "something went wrong on our side",
            )
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.to_problem().status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut response = self.to_problem().response();
        if let ApiError::RateLimited(decision) = self {
            let headers = response.headers_mut();
            for (name, value) in rate_limit_headers(decision) {
                headers.insert(name, value);
            }
            if let Ok(value) = header::HeaderValue::from_str(&retry_after(decision).to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Whole seconds until a refused client may try again (at least 1).
fn retry_after(decision: &Decision) -> u64 {
    decision.reset.as_secs_f64().ceil().max(1.0) as u64
}

/// The IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-09):
/// `"login";q=5;w=60` and `"login";r=0;t=42`.
pub fn rate_limit_headers(decision: &Decision) -> [(header::HeaderName, header::HeaderValue); 2] {
    let policy = decision.policy;
    let value = |text: String| {
        header::HeaderValue::from_str(&text).unwrap_or(header::HeaderValue::from_static(""))
    };
    [
        (
            header::HeaderName::from_static("ratelimit-policy"),
            value(format!(
                "\"{}\";q={};w={}",
                policy.name,
                policy.limit,
                policy.window.as_secs()
            )),
        ),
        (
            header::HeaderName::from_static("ratelimit"),
            value(format!(
                "\"{}\";r={};t={}",
                policy.name,
                decision.remaining,
                decision.reset.as_secs_f64().ceil() as u64
            )),
        ),
    ]
}

/// Bad or oversize JSON bodies.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let problem = match &err {
        JsonPayloadError::ContentType => ApiError::problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON (Content-Type: application/json)",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the JSON body is larger than the limit of {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("the JSON body does not fit: {e}"),
        ),
        other => ApiError::problem(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {other}"),
        ),
    };
    problem.into()
}

/// Path parameters that do not parse (`/api/files/abc`).
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::problem(
        StatusCode::BAD_REQUEST,
        "invalid_path_parameter",
        format!("a path parameter is invalid: {err}"),
    )
    .into()
}

/// Query strings that do not parse.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::problem(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        format!("the query string is invalid: {err}"),
    )
    .into()
}

/// The answer for unknown routes.
pub async fn not_found() -> HttpResponse {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such route").response()
}

/// Turns any error response that is not problem+json yet (405 from a resource, a framework
/// default, a panic's 500) into one, keeping its status.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not accept that method".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the body is too large".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "that media type is not accepted here".to_owned(),
        ),
        s if s.is_server_error() => (
            "internal_error",
            "something went wrong on our side".to_owned(),
        ),
        s => (
            "bad_request",
            s.canonical_reason().unwrap_or("bad request").to_lowercase(),
        ),
    };
    let body = serde_json::to_string(&Problem::new(status, code, detail)).unwrap_or_default();
    let (req, _) = res.into_parts();
    let res = HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .body(body);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body(),
    ))
}
