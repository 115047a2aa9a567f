//! Rate-limit policies and decisions: what a limit is and what one hit against it came to. The
//! counting is `access::rate_limit`'s; a refusal travels as `DomainError::RateLimited`.

use std::time::Duration;

/// A limit: at most `limit` hits per `window` for each subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The name in keys and in the `RateLimit` headers (`login`, `api`).
    pub name: &'static str,
    /// Hits allowed per window; 0 turns the policy off.
    pub limit: u64,
    /// The window.
    pub window: Duration,
    /// Whether an instance may count a signed-in caller's hits itself and report them to the
    /// shared store in batches (see `access::rate_limit`): for the API limit, where a round
    /// trip per request would cost more than the limit is worth. Logins and one-time codes are
    /// counted exactly, one round trip per attempt.
    pub batched: bool,
}

impl Policy {
    /// `limit` hits per minute under `name`.
    pub const fn per_minute(name: &'static str, limit: u64) -> Self {
        Self {
            name,
            limit,
            window: Duration::from_secs(60),
            batched: false,
        }
    }

    /// The same policy, counted in batches (see [`Policy::batched`]).
    pub const fn in_batches(self) -> Self {
        Self {
            batched: true,
            ..self
        }
    }

    /// Whether the policy limits anything.
    pub fn is_on(&self) -> bool {
        self.limit > 0
    }
}

/// What one hit came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The policy counted against.
    pub policy: Policy,
    /// Whether the hit is within the limit.
    pub allowed: bool,
    /// Hits in the window so far, this one included.
    pub count: u64,
    /// Hits left in the window.
    pub remaining: u64,
    /// Time until the window starts over.
    pub reset: Duration,
}

impl Decision {
    /// Whether this is the window's first refusal (worth recording once; the rest are the same
    /// flood).
    pub fn is_first_refusal(&self) -> bool {
        self.count == self.policy.limit + 1
    }
}
