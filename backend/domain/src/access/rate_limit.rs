//! Fixed-window rate limits kept in the cache (`rate:<policy>:<subject>`), counted in one atomic
//! step so no counter outlives its window. When the cache cannot answer, an in-process counter
//! takes over: limits are never lifted by a Redis outage.
//!
//! A batched policy (the API limit) counts a signed-in caller's hits in this instance and
//! reports them to the shared counter at most every [`REPORT_EVERY`] (one `INCRBY`), deciding
//! on the shared count it last heard plus its own hits since. From [`EXACT_FROM`] of the limit
//! on, every hit is reported at once, so the limit itself is exact as long as the other
//! instances' unreported hits (at most one period's worth) stay under the remaining fifth; a
//! caller flooding several instances may get through at most about one period of its own
//! rate more. Hits by address (no or a bad credential) are always counted exactly.
//!
//! One report per subject is on its way at a time, and the batch's lock is never held across
//! it: hits that arrive meanwhile are counted here (they count in every decision) and go with
//! the next report. Holding an async lock across the report made every worker thread wait for
//! the one reporting and then be woken by it, a cross-thread wake-up (a system call and an
//! interrupt) for about one cached read in five of a busy caller.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::shared::cache::Cache;
pub use crate::shared::limits::{Decision, Policy};

/// The counter's subject: a user, an address, or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A client address (`None`: not known, as for services called directly).
    Ip(Option<IpAddr>),
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
            Subject::Ip(Some(ip)) => format!("ip:{ip}"),
            Subject::Ip(None) => "ip:unknown".to_owned(),
            Subject::Account(name) => {
                format!("account:{}", short_hash(&name.trim().to_lowercase()))
            }
            // Once per signed-in request: itoa, not `format!`.
            Subject::User(id) => ["user:", itoa::Buffer::new().format(*id)].concat(),
            Subject::ApiToken(token) => format!("token:{}", short_hash(token)),
        }
    }
}

/// The first 128 bits of SHA-256, hex: enough to tell subjects apart, nothing to read back.
fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// How often a batched counter reports to the shared store at most.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);
/// From this share of the limit on (in fifths: 4/5), a batched counter reports every hit.
pub const EXACT_FROM: (u64, u64) = (4, 5);
/// Batched counters kept before expired ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// One subject's hits in the current window, as this instance knows them.
struct Batch {
    /// The shared count at the last report.
    known: u64,
    /// Hits on their way to the shared counter (a report not answered yet).
    reporting: u64,
    /// Hits counted here and not reported yet.
    pending: u64,
    /// When it last reported (`None`: never).
    reported_at: Option<Instant>,
    /// When the window ends (the shared counter's TTL, once heard).
    resets_at: Instant,
    /// Which window this is: an answer to a report of an earlier window is not applied.
    window: u64,
}

impl Batch {
    fn new(now: Instant, window: Duration) -> Self {
        Self {
            known: 0,
            reporting: 0,
            pending: 0,
            reported_at: None,
            resets_at: now + window,
            window: 0,
        }
    }

    /// Every hit this instance knows of in the window.
    fn count(&self) -> u64 {
        self.known + self.reporting + self.pending
    }

    /// The pending hits to report now, and the window they belong to, if a report is due
    /// (none on its way, and the period is over or the limit near).
    fn take_report(&mut self, policy: Policy, now: Instant) -> Option<(u64, u64)> {
        if self.reporting > 0 || self.pending == 0 {
            return None;
        }
        let near = self.count() * EXACT_FROM.1 >= policy.limit * EXACT_FROM.0;
        let due = near
            || self
                .reported_at
                .is_none_or(|at| now.duration_since(at) >= REPORT_EVERY);
        if !due {
            return None;
        }
        self.reporting = std::mem::take(&mut self.pending);
        Some((self.reporting, self.window))
    }

    /// What the shared store answered to a report of `hits` in window `window`: the shared
    /// count and its time left. Answers how many hits the other instances added since the last
    /// report. A store that failed gets the hits again with the next report (a limit is never
    /// lifted).
    fn reported(
        &mut self,
        window: u64,
        hits: u64,
        answer: Option<(u64, Duration)>,
        now: Instant,
    ) -> u64 {
        if window != self.window {
            return 0;
        }
        self.reporting = 0;
        self.reported_at = Some(now);
        match answer {
            Some((shared, left)) => {
                let others = shared.saturating_sub(self.known + hits);
                self.known = shared;
                self.resets_at = now + left;
                others
            }
            None => {
                self.pending += hits;
                0
            }
        }
    }
}

type Batches = HashMap<String, Arc<Mutex<Batch>>>;

/// Counts hits in the cache, or in-process while the cache is down.
pub struct RateLimiter {
    cache: Arc<dyn Cache>,
    fallback: Arc<dyn Cache>,
    batches: Mutex<Batches>,
}

/// The cache key of a counter: `rate:<policy>:<subject>`.
pub fn counter_key(policy: &Policy, subject: &Subject<'_>) -> String {
    ["rate:", policy.name, ":", &subject.key_part()].concat()
}

impl RateLimiter {
    /// Counters in `cache`, and in `fallback` (an in-process cache) when `cache` fails.
    pub fn new(cache: Arc<dyn Cache>, fallback: Arc<dyn Cache>) -> Self {
        Self {
            cache,
            fallback,
            batches: Mutex::default(),
        }
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
        if policy.batched && !matches!(subject, Subject::Ip(_)) {
            return self.hit_in_batch(policy, key).await;
        }
        let counted = match self.cache.count_hit(&key, policy.window).await {
            Ok(counted) => Ok(counted),
            Err(_) => self.fallback.count_hit(&key, policy.window).await,
        };
        // Neither could count: refuse rather than let attempts through unlimited.
        let (count, reset) = counted.unwrap_or((u64::MAX, policy.window));
        decision(policy, count, reset)
    }

    /// Counts one hit of a batched policy (see the module docs).
    async fn hit_in_batch(&self, policy: Policy, key: String) -> Decision {
        let batch = self.batch(&key, policy.window);
        let lock = || batch.lock().unwrap_or_else(PoisonError::into_inner);
        // The hit is decided on the count at its own arrival (the hits before it), not on what
        // arrived while it reported; a report adds only what other instances counted.
        let (count, resets_at, report) = {
            let mut batch = lock();
            let now = Instant::now();
            if batch.resets_at <= now {
                let window = batch.window + 1;
                *batch = Batch {
                    window,
                    ..Batch::new(now, policy.window)
                };
            }
            batch.pending += 1;
            (
                batch.count(),
                batch.resets_at,
                batch.take_report(policy, now),
            )
        };
        let (count, resets_at) = match report {
            Some((hits, window)) => {
                let answer = self.cache.count_hits(&key, hits, policy.window).await.ok();
                let mut batch = lock();
                let others = batch.reported(window, hits, answer, Instant::now());
                (count + others, batch.resets_at)
            }
            None => (count, resets_at),
        };
        decision(
            policy,
            count,
            resets_at.saturating_duration_since(Instant::now()),
        )
    }

    /// The batch of `key`, made on first use; expired batches are swept now and then, so
    /// callers who went away take no memory.
    fn batch(&self, key: &str, window: Duration) -> Arc<Mutex<Batch>> {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(batch) = batches.get(key) {
            return Arc::clone(batch);
        }
        if batches.len() >= SWEEP_ABOVE {
            let now = Instant::now();
            batches.retain(|_, batch| batch.try_lock().map_or(true, |batch| batch.resets_at > now));
        }
        let batch = Arc::new(Mutex::new(Batch::new(Instant::now(), window)));
        batches.insert(key.to_owned(), Arc::clone(&batch));
        batch
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

fn decision(policy: Policy, count: u64, reset: Duration) -> Decision {
    Decision {
        policy,
        allowed: count <= policy.limit,
        count,
        remaining: policy.limit.saturating_sub(count),
        reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::shared::fakes::MapCache;

    #[test]
    fn keys_name_the_policy_and_hide_emails() {
        let login = Policy::per_minute("login", 5);
        assert_eq!(
            counter_key(&login, &Subject::Ip(Some([10, 0, 0, 1].into()))),
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

    fn limiter() -> (RateLimiter, Arc<MapCache>) {
        let shared = Arc::new(MapCache::shared());
        let limiter = RateLimiter::new(
            Arc::clone(&shared) as Arc<dyn Cache>,
            Arc::new(MapCache::default()),
        );
        (limiter, shared)
    }

    #[tokio::test]
    async fn a_batched_limit_reports_now_and_then_and_every_hit_near_the_limit() {
        let (limiter, shared) = limiter();
        let api = Policy::per_minute("api", 10).in_batches();
        let key = counter_key(&api, &Subject::User(7));
        let counts: Vec<u64> = {
            let mut counts = Vec::new();
            for _ in 0..5 {
                let decision = limiter.hit(api, &Subject::User(7)).await;
                assert!(decision.allowed);
                counts.push(decision.count);
            }
            counts
        };
        assert_eq!(counts, [1, 2, 3, 4, 5], "the caller's own hits all count");
        // The first hit was reported at once; the next four wait for the period.
        assert_eq!(shared.value(&key).as_deref(), Some("1"));
        // Hits by another instance reach the shared counter meanwhile.
        shared.0.lock().unwrap().insert(key.clone(), "3".into());
        // From 4/5 of the limit on, every hit is reported: the limit holds exactly.
        let mut last = None;
        for _ in 0..6 {
            last = Some(limiter.hit(api, &Subject::User(7)).await);
        }
        let last = last.unwrap();
        assert!(!last.allowed);
        assert_eq!(shared.value(&key).as_deref(), Some("13"));
        assert_eq!(last.count, 13);
        assert_eq!(last.remaining, 0);
    }

    #[test]
    fn hits_during_a_report_count_and_go_with_the_next_and_a_failed_report_is_repeated() {
        let api = Policy::per_minute("api", 100).in_batches();
        let start = Instant::now();
        let mut batch = Batch::new(start, api.window);
        batch.pending = 3;
        let (hits, window) = batch.take_report(api, start).unwrap();
        assert_eq!((hits, batch.count()), (3, 3));
        // Two hits arrive while the report is on its way: counted, not reported twice.
        batch.pending += 2;
        assert_eq!(batch.take_report(api, start), None);
        assert_eq!(batch.count(), 5);
        // The shared counter had 10 from other instances: 13 with ours, 15 in all.
        let others = batch.reported(window, hits, Some((13, api.window)), start);
        assert_eq!((others, batch.count()), (10, 15));
        // The period is not over, so the two wait; once it is, they go.
        assert_eq!(batch.take_report(api, start), None);
        let later = start + REPORT_EVERY;
        let (hits, window) = batch.take_report(api, later).unwrap();
        assert_eq!(hits, 2);
        // The store fails: the hits are kept and go with the next report.
        assert_eq!(batch.reported(window, hits, None, later), 0);
        assert_eq!((batch.pending, batch.count()), (2, 15));
        // An answer for a window that has ended since is not applied to the new one.
        let (hits, old) = batch.take_report(api, later + REPORT_EVERY).unwrap();
        batch = Batch {
            window: old + 1,
            ..Batch::new(later, api.window)
        };
        assert_eq!(batch.reported(old, hits, Some((99, api.window)), later), 0);
        assert_eq!(batch.count(), 0);
    }

    #[tokio::test]
    async fn hits_by_address_are_always_counted_at_once() {
        let (limiter, shared) = limiter();
        let api = Policy::per_minute("api", 600).in_batches();
        for _ in 0..3 {
            limiter
                .hit(api, &Subject::Ip(Some([10, 0, 0, 9].into())))
                .await;
        }
        let key = counter_key(&api, &Subject::Ip(Some([10, 0, 0, 9].into())));
        assert_eq!(shared.value(&key).as_deref(), Some("3"));
    }
}
