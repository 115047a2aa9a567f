//! Every error answer is RFC 9457 `application/problem+json` with a stable `code` from the
//! domain's one table ([`ErrorCode`]) and the `request_id`: domain errors, the framework's own
//! (bad JSON, unknown route, wrong method, oversize body, wrong media type, bad path or query),
//! and anything else that slips through. 5xx causes go to the log; the client gets a generic
//! detail.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::PathError;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use tessera_domain::shared::limits::Decision;
use tessera_domain::shared::ErrorCode;
use tessera_domain::shared::{DomainError, FieldError};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::telemetry::current_request_id;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_UNAVAILABLE: u64 = 5;

/// The one table from codes to statuses.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::InvalidJson | C::InvalidMultipart | C::InvalidBody | C::BadRequest => {
            StatusCode::BAD_REQUEST
        }
        C::Unauthenticated | C::OtpRequired | C::OtpInvalid => StatusCode::UNAUTHORIZED,
        C::AdminRequired
        | C::InsufficientScope
        | C::SessionRequired
        | C::Forbidden
        | C::PasswordChangeRequired
        | C::SignatureInvalid
        | C::UrlExpired => StatusCode::FORBIDDEN,
        C::NotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::EmailTaken
        | C::OrgUnitInUse
        | C::UserInUse
        | C::MemberInUse
        | C::DuesExist
        | C::DuesInUse
        | C::DuesNotOpen
        | C::MaterialTypeExists
        | C::MaterialTypeInUse
        | C::MaterialInUse
        | C::InsufficientStock
        | C::UploadMissing
        | C::OtpAlreadyEnabled
        | C::OtpNotEnrolled => StatusCode::CONFLICT,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
        C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        C::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        C::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The spec's view of [`ErrorCode`]: a string enum of every code.
pub struct Code;

impl PartialSchema for Code {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A stable snake_case code to branch on (docs/errors.md)",
            ))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl ToSchema for Code {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("ErrorCode")
    }
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field as the client named it.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl From<&FieldError> for FieldProblem {
    fn from(f: &FieldError) -> Self {
        Self {
            field: f.field.clone(),
            message: f.message.clone(),
        }
    }
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
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// A stable snake_case code to branch on.
    #[serde(serialize_with = "code_name")]
    #[schema(value_type = Code)]
    pub code: ErrorCode,
    /// The id of the request, also in the `x-request-id` header and in every log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Field errors, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// The original API's error text, kept for clients of the seed (`Admin access required`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `insufficient_stock`: how many the unit holds now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub available: Option<i64>,
}

fn code_name<S: serde::Serializer>(code: &ErrorCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(code.as_str())
}

impl Problem {
    /// A problem with this code (its status follows from it) and detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = status_of(code);
        Self {
            type_: format!("urn:tessera:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            request_id: current_request_id(),
            errors: Vec::new(),
            error: None,
            available: None,
        }
    }

    fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    fn status(&self) -> StatusCode {
        status_of(self.code)
    }

    /// The HTTP response carrying this problem.
    pub fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response.content_type(PROBLEM_JSON);
        match self.status() {
            StatusCode::UNAUTHORIZED => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE));
            }
            _ => {}
        }
        response.body(serde_json::to_string(self).unwrap_or_default())
    }
}

/// The API's error: a domain error, a problem already shaped, or a rate-limit refusal.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An error from the domain.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A problem already shaped (framework and request errors).
    #[error("{}", .0.detail)]
    Problem(Box<Problem>),
}

impl ApiError {
    /// A ready-made problem.
    pub fn problem(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Problem(Box::new(Problem::new(code, detail)))
    }

    /// Missing or invalid credentials.
    pub fn unauthenticated(detail: &str) -> Self {
        Self::Domain(DomainError::Unauthenticated(detail.to_owned()))
    }

    fn to_problem(&self) -> Problem {
        match self {
            ApiError::Problem(p) => (**p).clone(),
            ApiError::Domain(e) => domain_problem(e),
        }
    }
}

/// The problem a domain error answers with.
fn domain_problem(e: &DomainError) -> Problem {
    let code = e.code();
    match e {
        DomainError::NotFound(what) => Problem::new(code, format!("{what} not found")),
        DomainError::Conflict { message, .. } => Problem::new(code, message.clone()),
        DomainError::InsufficientStock { available } => {
            let mut p = Problem::new(
                code,
                format!("the unit has only {available} in stock; nothing was taken"),
            );
            p.available = Some(*available);
            p
        }
        DomainError::Validation(fields) => {
            let mut p = Problem::new(code, "some fields are invalid");
            p.errors = fields.iter().map(FieldProblem::from).collect();
            p
        }
        DomainError::Forbidden { message, .. } => {
            let p = Problem::new(code, message.clone());
            match code {
                ErrorCode::AdminRequired => p.with_error("Admin access required"),
                _ => p,
            }
        }
        DomainError::OtpRequired => Problem::new(
            code,
            "this account needs a one-time code: send otp_code (or a recovery_code)",
        )
        .with_error("One-time code required"),
        DomainError::OtpInvalid => {
            Problem::new(code, "the one-time code is wrong, expired or already used")
                .with_error("Invalid one-time code")
        }
        DomainError::Unauthenticated(detail) => {
            Problem::new(code, detail.clone()).with_error(detail.clone())
        }
        DomainError::PayloadTooLarge { limit } => Problem::new(
            code,
            format!("the body is larger than the limit of {limit} bytes"),
        ),
        DomainError::UnsupportedMediaType(detail) => Problem::new(code, detail.clone()),
        DomainError::RateLimited(decision) => Problem::new(
            code,
            format!(
                "too many attempts: try again in {} s",
                retry_after(decision)
            ),
        )
        .with_error("Too many requests"),
        DomainError::Unavailable(what) => {
            Problem::new(code, format!("{what} is unavailable; try again shortly"))
        }
        DomainError::Unexpected(cause) => {
            tracing::error!(error = ?cause, "unexpected error");
            Problem::new(code, "something went wrong on our side")
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.to_problem().status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut response = self.to_problem().response();
        if let ApiError::Domain(DomainError::RateLimited(decision)) = self {
            let headers = response.headers_mut();
            for (name, value) in rate_limit_headers(decision) {
                headers.insert(name, value);
            }
            headers.insert(header::RETRY_AFTER, retry_after(decision).into());
        }
        response
    }
}

/// Whole seconds until a refused client may try again (at least 1).
fn retry_after(decision: &Decision) -> u64 {
    decision.reset.as_secs_f64().ceil().max(1.0) as u64
}

/// The `RateLimit-Policy` header's name, made once (a name given as text is parsed, and
/// allocated, on every use).
pub const RATE_LIMIT_POLICY: header::HeaderName =
    header::HeaderName::from_static("ratelimit-policy");
/// The `RateLimit` header's name.
const RATE_LIMIT: header::HeaderName = header::HeaderName::from_static("ratelimit");

/// The IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-09):
/// `"login";q=5;w=60` and `"login";r=0;t=42`.
pub fn rate_limit_headers(decision: &Decision) -> [(header::HeaderName, header::HeaderValue); 2] {
    let policy = decision.policy;
    // Written on every counted answer: `concat` and itoa, not `format!`'s machinery.
    let field = |(first, a): (&str, u64), (second, b): (&str, u64)| {
        let (mut a_text, mut b_text) = (itoa::Buffer::new(), itoa::Buffer::new());
        let text = [
            "\"",
            policy.name,
            first,
            a_text.format(a),
            second,
            b_text.format(b),
        ]
        .concat();
        header::HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
            .unwrap_or(header::HeaderValue::from_static(""))
    };
    let reset = decision.reset.as_secs_f64().ceil() as u64;
    [
        (
            RATE_LIMIT_POLICY,
            field(("\";q=", policy.limit), (";w=", policy.window.as_secs())),
        ),
        (
            RATE_LIMIT,
            field(("\";r=", decision.remaining), (";t=", reset)),
        ),
    ]
}

/// Path parameters that do not parse (`/api/files/abc`, an id beyond 64 bits) name no record:
/// 404, as an id that parses but does not exist.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::problem(ErrorCode::NotFound, format!("no such record: {err}")).into()
}

/// The answer for unknown routes.
pub async fn not_found() -> HttpResponse {
    Problem::new(ErrorCode::NotFound, "no such route").response()
}

/// Turns any error response that is not problem+json yet (405 from a resource, a framework
/// default, a panic's 500) into one, keeping its status and headers (`Allow` on a 405). A JSON
/// body a handler chose for its error status (the readiness report of a 503 `/readyz`) is its
/// documented answer and stays.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let content_type = res.headers().get(header::CONTENT_TYPE);
    let is_problem =
        content_type.is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    let is_json = content_type.is_some_and(|v| {
        v.as_bytes()
            .starts_with(mime::APPLICATION_JSON.as_ref().as_bytes())
    });
    if is_problem || is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such route".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this route does not accept that method; Allow lists those it does".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "the body is too large".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "that media type is not accepted here".to_owned(),
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            ErrorCode::ServiceUnavailable,
            "the service is unavailable; try again shortly".to_owned(),
        ),
        s if s.is_server_error() => (
            ErrorCode::InternalError,
            "something went wrong on our side".to_owned(),
        ),
        s => (
            ErrorCode::BadRequest,
            s.canonical_reason().unwrap_or("bad request").to_lowercase(),
        ),
    };
    let mut problem = Problem::new(code, detail);
    // The status stays what the framework answered, whatever the code's usual one is.
    problem.status = status.as_u16();
    problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
    let body = serde_json::to_string(&problem).unwrap_or_default();
    let (req, old) = res.into_parts();
    let mut builder = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && !old.headers().contains_key(header::RETRY_AFTER)
    {
        builder.insert_header((header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE));
    }
    let res = builder.content_type(PROBLEM_JSON).body(body);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after_ensure_problem(res: HttpResponse) -> HttpResponse {
        let res = actix_web::test::TestRequest::default().to_srv_response(res);
        match ensure_problem(res) {
            Ok(ErrorHandlerResponse::Response(res)) => res.into_parts().1.map_into_boxed_body(),
            _ => panic!("ensure_problem answers at once"),
        }
    }

    #[test]
    fn a_bare_503_becomes_service_unavailable_with_retry_after() {
        let res = after_ensure_problem(HttpResponse::ServiceUnavailable().finish());
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
        assert_eq!(
            res.headers().get(header::RETRY_AFTER).unwrap(),
            RETRY_AFTER_UNAVAILABLE.to_string().as_str()
        );
    }

    #[test]
    fn a_json_body_a_handler_chose_stays() {
        let res = after_ensure_problem(
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable"})),
        );
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
    }

    #[test]
    fn every_code_has_an_error_status() {
        for code in ErrorCode::ALL {
            let status = status_of(*code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}"
            );
        }
    }
}
