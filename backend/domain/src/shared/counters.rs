//! Hits and misses per cache namespace, counted by the app: Redis cannot tell namespaces apart.

use std::sync::atomic::{AtomicU64, Ordering};

/// Hit and miss counts of one cache namespace, counted by the app (Redis cannot tell namespaces apart).
#[derive(Debug, Default)]
pub struct NamespaceCounters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl NamespaceCounters {
    /// Counts one hit.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one miss.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Hits so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Misses so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}
