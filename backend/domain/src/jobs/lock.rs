//! The lock of a job in the state store: `job:<name>:lock` holds the fencing token of its
//! holder and the holder's name, `<token>@<instance>` (`SET NX PX`) and expires by itself, so a crashed holder frees it; tokens come from
//! `INCR job:<name>:fence`, so each holder's is strictly larger than the one before; release is
//! compare-and-delete, so a holder that outlived its lock never frees another's.

use std::sync::Arc;
use std::time::Duration;

use crate::jobs::model::Fence;
use crate::shared::cache::{Cache, CacheError};

/// Takes, checks and releases job locks. Cloning is cheap.
#[derive(Clone)]
pub struct JobLock {
    state: Arc<dyn Cache>,
    ttl: Duration,
}

/// A held lock: its fencing token and a way to check it is still held.
#[derive(Clone)]
pub struct Lease {
    lock: JobLock,
    fence: Fence,
    value: String,
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its fencing token.
    pub token: u64,
    /// Its instance.
    pub instance: String,
}

impl JobLock {
    /// Locks in `state` (the store that is never evicted) that expire after `ttl`.
    pub fn new(state: Arc<dyn Cache>, ttl: Duration) -> Self {
        Self { state, ttl }
    }

    /// How long a lock holds at most.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes the lock of `job` for `instance` with a new fencing token; `None` when another
    /// holder has it.
    pub async fn acquire(
        &self,
        job: &'static str,
        instance: &str,
    ) -> Result<Option<Lease>, CacheError> {
        // A look first, so turns that find it held do not use up tokens.
        if self.holder(job).await?.is_some() {
            return Ok(None);
        }
        let token = self.state.incr_by(&fence_key(job), 1).await?;
        let token = u64::try_from(token).unwrap_or(0);
        let value = format!("{token}@{instance}");
        let taken = self
            .state
            .set_if_absent(&lock_key(job), &value, self.ttl)
            .await?;
        Ok(taken.then(|| Lease {
            lock: self.clone(),
            fence: Fence { job, token },
            value,
        }))
    }

    /// Whoever holds the lock of `job` now.
    pub async fn holder(&self, job: &str) -> Result<Option<Holder>, CacheError> {
        Ok(self.state.get(&lock_key(job)).await?.and_then(|value| {
            let (token, instance) = value.split_once('@')?;
            Some(Holder {
                token: token.parse().ok()?,
                instance: instance.to_owned(),
            })
        }))
    }

    /// Moves the token counter of `job` past `newer` (a store holds a token the counter has
    /// not given yet: the state store lost the counter), so the next holder's writes pass.
    pub async fn raise_past(&self, job: &'static str, newer: u64) -> Result<(), CacheError> {
        let now = self.state.incr_by(&fence_key(job), 0).await?;
        let now = u64::try_from(now).unwrap_or(0);
        if now <= newer {
            let by = i64::try_from(newer - now + 1).unwrap_or(i64::MAX);
            self.state.incr_by(&fence_key(job), by).await?;
        }
        Ok(())
    }
}

impl Lease {
    /// The fencing token of this hold.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// Whether the lock still holds this token (it has not expired and been taken by another).
    /// A store that does not answer counts as lost: writing on would be a guess.
    pub async fn still_held(&self) -> bool {
        matches!(self.lock.state.get(&lock_key(self.fence.job)).await, Ok(Some(v)) if *v == self.value)
    }

    /// Releases the lock if it still holds this token (compare and delete).
    pub async fn release(&self) {
        if let Err(e) = self
            .lock
            .state
            .delete_if_equal(&lock_key(self.fence.job), &self.value)
            .await
        {
            tracing::warn!(job = self.fence.job, error = %e, "could not release a job lock; it expires by itself");
        }
    }

    /// The lock this lease is of.
    pub fn lock(&self) -> &JobLock {
        &self.lock
    }
}

/// `job:<name>:lock`.
pub fn lock_key(job: &str) -> String {
    format!("job:{job}:lock")
}

/// `job:<name>:fence`.
pub fn fence_key(job: &str) -> String {
    format!("job:{job}:fence")
}
