//! Who the client is (its address, through trusted proxies only) and the API rate limit.

use std::net::{IpAddr, SocketAddr};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use ipnet::IpNet;
use tessera_domain::api_tokens::TOKEN_PREFIX;
use tessera_domain::rate_limit::{Policy, Subject};

use crate::problem::{rate_limit_headers, ApiError};
use crate::state::AppState;

/// The client's address: the peer, unless the peer is a trusted proxy; then the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy. Entries left of an untrusted hop are
/// the client's to forge, so they are never read.
pub fn client_ip(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return Some(ip),
            // A hop that is not an address: stop at the last one a trusted proxy vouched for.
            Err(_) => return Some(client),
        }
    }
    Some(client)
}

/// The client address of a request as text (`unknown` when there is no peer, as in tests that
/// call services directly).
pub fn client_ip_of(req: &actix_web::HttpRequest, state: &AppState) -> String {
    client_ip(
        req.peer_addr(),
        req.headers(),
        &state.settings.trusted_proxies,
    )
    .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Paths the API limit leaves alone: login has limits of its own, signed object URLs are
/// authorised by their signature, and the docs are static.
fn is_limited(path: &str) -> bool {
    path.starts_with("/api/")
        && path != "/api/auth/login"
        && !path.starts_with("/api/objects/")
        && !path.starts_with("/api/docs")
}

/// Limits API requests per user (or API token), or per address when anonymous; over the limit
/// answers 429 before the handler runs. Every limited answer carries the `RateLimit` headers.
pub async fn api_rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state.filter(|s| s.settings.rate_limits.api_per_minute > 0) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if !is_limited(req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let policy = Policy::per_minute("api", state.settings.rate_limits.api_per_minute);
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let ip = client_ip(
        req.peer_addr(),
        req.headers(),
        &state.settings.trusted_proxies,
    )
    .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    // A verified access token picks the counter and is kept for `AuthUser`, which then checks
    // the rest (session, logout, user) without verifying the signature again.
    let subject = match bearer.as_deref() {
        Some(token) if token.starts_with(TOKEN_PREFIX) => Subject::ApiToken(token),
        Some(token) => match state.jwt.verify(token) {
            Ok(access) => {
                let user = access.user_id.0;
                req.extensions_mut().insert(access);
                Subject::User(user)
            }
            Err(_) => Subject::Ip(&ip),
        },
        None => Subject::Ip(&ip),
    };
    let decision = state.limiter.hit(policy, &subject).await;
    if !decision.allowed {
        let response = ApiError::RateLimited(decision).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    // A refusal by an endpoint's own limit (one-time codes) keeps its own fields.
    if !res.headers().contains_key("ratelimit-policy") {
        for (name, value) in rate_limit_headers(&decision) {
            res.headers_mut().insert(name, value);
        }
    }
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(xff).unwrap(),
        );
        map
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |peer, xff: &str, trusted: &[IpNet]| {
            client_ip(Some(peer), &headers(xff), trusted)
                .unwrap()
                .to_string()
        };
        // Not behind a trusted proxy: the header is the client's own words.
        assert_eq!(ip(stranger, "1.2.3.4", &trusted), "203.0.113.9");
        assert_eq!(ip(proxy, "1.2.3.4", &[]), "10.0.0.2");
        // Behind one: the right-most untrusted hop, never what the client put before it.
        assert_eq!(ip(proxy, "6.6.6.6, 1.2.3.4", &trusted), "1.2.3.4");
        assert_eq!(ip(proxy, "1.2.3.4, 10.0.0.7", &trusted), "1.2.3.4");
        assert_eq!(ip(proxy, "junk, 10.0.0.7", &trusted), "10.0.0.7");
        assert_eq!(ip(proxy, "", &trusted), "10.0.0.2");
    }
}
