//! Who the client is: its address, read through trusted proxies only.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ipnet::IpNet;

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

/// The client address of a request (`None` when there is no peer, as in tests that call
/// services directly). Kept as an address: it is formatted only when something records it.
pub fn client_ip_of(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    client_ip(req.peer_addr(), req.headers(), trusted)
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
