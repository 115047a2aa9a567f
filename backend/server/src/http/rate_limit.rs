//! The `RateLimit-Policy` and `RateLimit` headers on every answer the API limit counted. The
//! counting itself happens in the caller extractors (`crate::http::caller`), on the matched
//! route, so no spelling of a path escapes it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tessera_domain::shared::limits::Decision;

use crate::http::problem::{rate_limit_headers, RATE_LIMIT_POLICY};

/// Middleware: copies the request's rate-limit decision into the response headers, unless an
/// endpoint's own limit (login, one-time codes) already wrote its own.
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let decision = res.request().extensions().get::<Decision>().copied();
    if let Some(decision) = decision {
        if !res.headers().contains_key(RATE_LIMIT_POLICY) {
            for (name, value) in rate_limit_headers(&decision) {
                res.headers_mut().insert(name, value);
            }
        }
    }
    Ok(res)
}
