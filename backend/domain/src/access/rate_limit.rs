//! Fixed-window rate limits kept in the cache (`rate:<policy>:<subject>`), counted in one atomic
//! step so no counter outlives its window. When the cache cannot answer, an in-process counter
//! takes over: limits are never lifted by a Redis outage.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::shared::cache::Cache;
pub use crate::shared::limits::{Decision, Policy};

/// The counter's subject: a user, an address, or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A client address.
    Ip(&'a str),
    /// A login name, hashed so no email appears in cache keys.
    Account(&'a str),
    /// A user.
    User(i64),
    /// An API token, hashed so no secret appears in cache keys.
    ApiToken(&'a str),
}

impl Subject<'_> {
    fn key_part(&self) -> String {
        match self {
            Subject::Ip(ip) => format!("ip:{ip}"),
            Subject::Account(name) => {
                format!("account:{}", short_hash(&name.trim().to_lowercase()))
            }
            Subject::User(id) => format!("user:{id}"),
            Subject::ApiToken(token) => format!("token:{}", short_hash(token)),
        }
    }
}

/// The first 128 bits of SHA-256, hex: enough to tell subjects apart, nothing to read back.
fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// Counts hits in the cache, or in-process while the cache is down.
pub struct RateLimiter {
    cache: Arc<dyn Cache>,
    fallback: Arc<dyn Cache>,
}

/// The cache key of a counter: `rate:<policy>:<subject>`.
pub fn counter_key(policy: &Policy, subject: &Subject<'_>) -> String {
    format!("rate:{}:{}", policy.name, subject.key_part())
}

impl RateLimiter {
    /// Counters in `cache`, and in `fallback` (an in-process cache) when `cache` fails.
    pub fn new(cache: Arc<dyn Cache>, fallback: Arc<dyn Cache>) -> Self {
        Self { cache, fallback }
    }

    /// Counts one hit of `subject` under `policy`.
    pub async fn hit(&self, policy: Policy, subject: &Subject<'_>) -> Decision {
        if !policy.is_on() {
            return Decision {
                policy,
                allowed: true,
                count: 0,
                remaining: u64::MAX,
                reset: Duration::ZERO,
            };
        }
        let key = counter_key(&policy, subject);
        let counted = match self.cache.count_hit(&key, policy.window).await {
            Ok(counted) => Ok(counted),
            Err(_) => self.fallback.count_hit(&key, policy.window).await,
        };
        // Neither could count: refuse rather than let attempts through unlimited.
        let (count, reset) = counted.unwrap_or((u64::MAX, policy.window));
        Decision {
            policy,
            allowed: count <= policy.limit,
            count,
            remaining: policy.limit.saturating_sub(count),
            reset,
        }
    }

    /// Counts one hit under each `(policy, subject)`; answers the first refusal, or the decision
    /// with the fewest hits left when all are allowed.
    pub async fn hit_all(&self, checks: &[(Policy, Subject<'_>)]) -> Option<Decision> {
        let mut tightest: Option<Decision> = None;
        for (policy, subject) in checks {
            let decision = self.hit(*policy, subject).await;
            if !decision.allowed {
                return Some(decision);
            }
            if decision.policy.is_on() && tightest.is_none_or(|t| decision.remaining < t.remaining)
            {
                tightest = Some(decision);
            }
        }
        tightest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_policy_and_hide_emails() {
        let login = Policy::per_minute("login", 5);
        assert_eq!(
            counter_key(&login, &Subject::Ip("10.0.0.1")),
            "rate:login:ip:10.0.0.1"
        );
        let key = counter_key(&login, &Subject::Account("Ana@Example.org"));
        assert!(key.starts_with("rate:login:account:"));
        assert!(!key.contains("example"));
        assert_eq!(
            key,
            counter_key(&login, &Subject::Account(" ana@example.org"))
        );
    }
}
