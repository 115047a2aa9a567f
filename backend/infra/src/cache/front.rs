//! Each thread's own copy of the hottest entries of an in-process cache, consulted before the
//! shared one. A cached request reads four entries (session, profile, file row, URL); in the
//! shared moka cache each read takes its hash table's atomics, queues a read for the eviction
//! policy and sometimes runs its housekeeping, all on memory that every worker thread writes,
//! so the cores take turns owning it. Here a read is a hash, a string comparison and a load of
//! one number that only writes change.
//!
//! Coherence: the cache that owns a front calls [`Front::invalidate`] after every write (and
//! every invalidation it hears of), which moves one generation number. A copy remembers the
//! generation read *before* the shared read it came from, and is used only while the
//! generation is still that one: a write that landed after the copy was read moves it, and a
//! write that landed before is in the copy. So a copy is never older than the shared cache,
//! and a write costs the fronts every copy they hold (they refill from the shared cache, one
//! read per key and thread).
//!
//! Each copy also keeps the time its shared entry expires, and is not used after it. A front is
//! direct-mapped (a key has one slot per thread; a colliding key replaces it), so its memory is
//! fixed: [`SLOTS`] per thread that used it.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tessera_domain::shared::cache::CachedValue;
use thread_local::ThreadLocal;

use crate::cache::memory::KeyHasher;

/// Slots per thread.
pub const SLOTS: usize = 512;

/// Prefixes of keys whose values change with every call and are read by atomic operations, not
/// `GET`: locks, rate counters, pending post views and job state. They are never kept in an
/// in-process tier or front, and their writes invalidate nothing there.
const VOLATILE: &[&str] = &["lock:", "rate:", "post_views:", "job:"];

/// Whether `key` is one of those ([`VOLATILE`]).
pub fn is_volatile(key: &str) -> bool {
    VOLATILE.iter().any(|p| key.starts_with(p))
}

/// One thread's copy of one entry.
struct Slot {
    key: Box<str>,
    value: CachedValue,
    expires_at: Instant,
    generation: u64,
}

/// Each thread's copies of a cache's hottest entries; see the module docs.
pub struct Front {
    generation: AtomicU64,
    hasher: KeyHasher,
    slots: ThreadLocal<RefCell<Box<[Option<Slot>]>>>,
}

impl Default for Front {
    fn default() -> Self {
        Self {
            generation: AtomicU64::new(0),
            hasher: KeyHasher::default(),
            slots: ThreadLocal::new(),
        }
    }
}

/// Where a read started: the generation to stamp on what the shared cache answers.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl Front {
    /// This thread's copy of `key` if it is still good at `now`; otherwise the ticket to keep
    /// what the shared cache answers with ([`Front::keep`]). The ticket is taken before the
    /// shared read, so a write between the two makes the kept copy unusable.
    pub fn get(&self, key: &str, now: Instant) -> Result<CachedValue, Ticket> {
        let generation = self.generation.load(Ordering::Acquire);
        let slots = self.thread_slots().borrow();
        match &slots[self.index(key)] {
            Some(slot)
                if slot.generation == generation && slot.expires_at > now && *slot.key == *key =>
            {
                Ok(slot.value.clone())
            }
            _ => Err(Ticket(generation)),
        }
    }

    /// Keeps on this thread what the shared cache answered for `key` under `ticket`.
    pub fn keep(&self, ticket: Ticket, key: &str, value: &CachedValue, expires_at: Instant) {
        let mut slots = self.thread_slots().borrow_mut();
        slots[self.index(key)] = Some(Slot {
            key: key.into(),
            value: value.clone(),
            expires_at,
            generation: ticket.0,
        });
    }

    /// Makes every copy on every thread unusable: called after each write to the shared cache.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn thread_slots(&self) -> &RefCell<Box<[Option<Slot>]>> {
        self.slots
            .get_or(|| RefCell::new((0..SLOTS).map(|_| None).collect()))
    }

    fn index(&self, key: &str) -> usize {
        // The low bits of a 64-bit hash; SLOTS is a power of two.
        (self.hasher.hash_one(key) as usize) & (SLOTS - 1)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_copy_is_used_until_a_write_or_its_expiry() {
        let front = Front::default();
        let now = Instant::now();
        let ticket = front.get("a", now).unwrap_err();
        front.keep(ticket, "a", &CachedValue::from("1"), later());
        assert_eq!(front.get("a", now).unwrap().as_str(), "1");
        assert!(front.get("b", now).is_err(), "another key is not this one");

        front.invalidate();
        let ticket = front.get("a", now).expect_err("a write drops the copy");
        front.keep(
            ticket,
            "a",
            &CachedValue::from("2"),
            now + Duration::from_millis(5),
        );
        assert_eq!(front.get("a", now).unwrap().as_str(), "2");
        assert!(
            front.get("a", now + Duration::from_millis(5)).is_err(),
            "nor is it used once its entry expired"
        );
    }

    #[test]
    fn a_value_read_before_a_write_is_never_used_after_it() {
        let front = Front::default();
        let now = Instant::now();
        // The ticket is taken, the shared read answers the old value, then a write lands and
        // invalidates before the reader keeps what it read.
        let ticket = front.get("a", now).unwrap_err();
        front.invalidate();
        front.keep(ticket, "a", &CachedValue::from("old"), later());
        assert!(front.get("a", now).is_err());
    }

    #[test]
    fn each_thread_keeps_its_own_copies() {
        let front = std::sync::Arc::new(Front::default());
        let now = Instant::now();
        let ticket = front.get("a", now).unwrap_err();
        front.keep(ticket, "a", &CachedValue::from("1"), later());
        let other = std::sync::Arc::clone(&front);
        let seen = std::thread::spawn(move || other.get("a", Instant::now()).is_ok())
            .join()
            .unwrap();
        assert!(!seen, "another thread reads the shared cache first");
        assert!(front.get("a", now).is_ok());
    }

    #[test]
    fn colliding_keys_replace_each_other_and_are_told_apart() {
        let front = Front::default();
        let now = Instant::now();
        let first = "k0".to_owned();
        let second = (1..)
            .map(|i| format!("k{i}"))
            .find(|k| front.index(k) == front.index(&first))
            .unwrap();
        let ticket = front.get(&first, now).unwrap_err();
        front.keep(ticket, &first, &CachedValue::from("first"), later());
        assert!(front.get(&second, now).is_err());
        let ticket = front.get(&second, now).unwrap_err();
        front.keep(ticket, &second, &CachedValue::from("second"), later());
        assert!(front.get(&first, now).is_err());
        assert_eq!(front.get(&second, now).unwrap().as_str(), "second");
    }
}
