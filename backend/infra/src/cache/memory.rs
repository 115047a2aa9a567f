//! The in-process cache (no `REDIS_URL`): moka with a TTL per entry, behaving like the Redis
//! cache for every call the domain makes. It never degrades. Sorted sets live in a moka cache
//! of their own as real ordered sets (a member's score and an ordered index), so adding one
//! member to a set of 100 000 (the file URLs' expiry index) costs a lookup, not a rewrite.
//! Each thread keeps its own copies of the entries it reads in a [`Front`], which every write
//! here invalidates.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::future::Cache as Moka;
use moka::ops::compute::{CompResult, Op};
use moka::Expiry;
use tessera_domain::shared::cache::{Cache, CacheBackend, CacheError, CacheInfo, CachedValue};

use crate::cache::front::{is_volatile, Front};

#[derive(Clone)]
struct Entry {
    value: CachedValue,
    expires_at: Instant,
}

struct ExpireAtEntryTime;

impl Expiry<String, Entry> for ExpireAtEntryTime {
    fn expire_after_create(&self, _key: &String, entry: &Entry, now: Instant) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }
}

/// Set members are stored joined by this (members are ids, which never contain it).
const MEMBER_SEPARATOR: &str = "\n";

fn split_members(value: &str) -> Vec<String> {
    value
        .split(MEMBER_SEPARATOR)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A score with a total order (as `f64::total_cmp`), so sets can be ordered by it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A sorted set: each member's score, and the members ordered by score then member (as Redis).
#[derive(Default)]
struct SortedSet {
    scores: HashMap<String, f64>,
    ordered: BTreeSet<(Score, String)>,
}

impl SortedSet {
    fn set(&mut self, member: &str, score: f64) {
        if let Some(old) = self.scores.insert(member.to_owned(), score) {
            self.ordered.remove(&(Score(old), member.to_owned()));
        }
        self.ordered.insert((Score(score), member.to_owned()));
    }

    fn remove(&mut self, member: &str) -> bool {
        match self.scores.remove(member) {
            Some(old) => {
                self.ordered.remove(&(Score(old), member.to_owned()));
                true
            }
            None => false,
        }
    }
}

#[derive(Clone)]
struct SetEntry {
    set: Arc<Mutex<SortedSet>>,
    expires_at: Instant,
}

struct SetExpiry;

impl Expiry<String, SetEntry> for SetExpiry {
    fn expire_after_create(&self, _: &String, entry: &SetEntry, now: Instant) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &SetEntry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }
}

/// How the in-process caches hash their keys: foldhash, seeded per process, as actix-http's
/// header maps; moka's default, SipHash, cost more than the rest of a lookup. Keys are built by
/// this program (namespaces, ids, hashes), so a caller cannot choose them freely.
pub type KeyHasher = foldhash::fast::RandomState;

/// The in-process implementation of the cache port.
#[derive(Clone)]
pub struct MemoryCache {
    entries: Moka<String, Entry, KeyHasher>,
    sets: Moka<String, SetEntry, KeyHasher>,
    /// Each thread's copies of what it read from `entries`.
    front: Arc<Front>,
    max_entries: u64,
}

impl MemoryCache {
    /// A cache holding at most `max_entries` entries (least recently used go first).
    pub fn new(max_entries: u64) -> Self {
        Self {
            entries: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(ExpireAtEntryTime)
                .build_with_hasher(KeyHasher::default()),
            sets: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(SetExpiry)
                .build_with_hasher(KeyHasher::default()),
            front: Arc::default(),
            max_entries,
        }
    }

    fn live(&self, entry: Entry) -> Option<Entry> {
        (entry.expires_at > Instant::now()).then_some(entry)
    }

    /// The live value of `key`: this thread's copy, else the shared entry (then copied).
    async fn read(&self, key: &str) -> Option<CachedValue> {
        if is_volatile(key) {
            return self
                .entries
                .get(key)
                .await
                .and_then(|e| self.live(e))
                .map(|e| e.value);
        }
        let now = Instant::now();
        let ticket = match self.front.get(key, now) {
            Ok(value) => return Some(value),
            Err(ticket) => ticket,
        };
        let entry = self.entries.get(key).await.filter(|e| e.expires_at > now)?;
        self.front.keep(ticket, key, &entry.value, entry.expires_at);
        Some(entry.value)
    }

    /// Called after every write to `entries` under `key`: the threads' copies are dropped
    /// (see [`Front`]), unless the key is never copied.
    fn wrote(&self, key: &str) {
        if !is_volatile(key) {
            self.front.invalidate();
        }
    }
}

impl MemoryCache {
    /// Changes the sorted set under `key` in one atomic step and gives it the TTL `ttl`; an
    /// empty set is removed, as Redis does. `ttl` `None` keeps the set's TTL (and does nothing
    /// to a set that is not there). Answers what `change` answered.
    async fn update_sorted_set<R: Default>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        change: impl FnOnce(&mut SortedSet) -> R,
    ) -> R {
        let mut answer = None;
        self.sets
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let current = current
                    .map(|e| e.into_value())
                    .filter(|e| e.expires_at > Instant::now());
                let op = match (current, ttl) {
                    (None, None) => Op::Nop,
                    (current, _) => {
                        let expires_at = match (ttl, &current) {
                            (Some(ttl), _) => Instant::now() + ttl,
                            (None, Some(e)) => e.expires_at,
                            (None, None) => Instant::now(),
                        };
                        let set = current.map_or_else(Arc::default, |e| e.set);
                        let mut guard = set.lock().unwrap_or_else(PoisonError::into_inner);
                        answer = Some(change(&mut guard));
                        let empty = guard.scores.is_empty();
                        drop(guard);
                        if empty {
                            Op::Remove
                        } else {
                            Op::Put(SetEntry { set, expires_at })
                        }
                    }
                };
                std::future::ready(op)
            })
            .await;
        answer.unwrap_or_default()
    }

    /// The live sorted set under `key`, if any.
    async fn sorted_set(&self, key: &str) -> Option<Arc<Mutex<SortedSet>>> {
        self.sets
            .get(key)
            .await
            .filter(|e| e.expires_at > Instant::now())
            .map(|e| e.set)
    }
}

/// When an entry without a TTL expires: far beyond any process's life.
fn never() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

#[async_trait]
impl Cache for MemoryCache {
    fn backend(&self) -> CacheBackend {
        CacheBackend::InProcess
    }

    fn is_degraded(&self) -> bool {
        false
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<CachedValue>, CacheError> {
        Ok(self.read(key).await)
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<CachedValue>>, CacheError> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.read(key).await);
        }
        Ok(values)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let entry = Entry {
            value: CachedValue::from(value),
            expires_at: Instant::now() + ttl,
        };
        self.entries.insert(key.to_owned(), entry).await;
        self.wrote(key);
        Ok(())
    }

    async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), CacheError> {
        for (key, value, ttl) in entries {
            self.set(key, value, *ttl).await?;
        }
        Ok(())
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let entry = Entry {
            value: CachedValue::from(value),
            expires_at: Instant::now() + ttl,
        };
        // One atomic step: concurrent callers see exactly one fresh insert.
        let fresh = self
            .entries
            .entry(key.to_owned())
            .or_insert(entry)
            .await
            .is_fresh();
        if fresh {
            self.wrote(key);
        }
        Ok(fresh)
    }

    async fn delete(&self, keys: &[String]) -> Result<u64, CacheError> {
        let mut deleted = 0;
        for key in keys {
            let removed = self.entries.remove(key).await;
            self.wrote(key);
            if removed.and_then(|e| self.live(e)).is_some() {
                deleted += 1;
            }
            if self
                .sets
                .remove(key)
                .await
                .is_some_and(|e| e.expires_at > Instant::now())
            {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    async fn add_member(&self, key: &str, member: &str, ttl: Duration) -> Result<(), CacheError> {
        let expires_at = Instant::now() + ttl;
        self.entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let mut members = current
                    .map(|e| e.into_value())
                    .and_then(|e| self.live(e))
                    .map(|e| split_members(&e.value))
                    .unwrap_or_default();
                if !members.iter().any(|m| m == member) {
                    members.push(member.to_owned());
                }
                std::future::ready(Op::Put(Entry {
                    value: CachedValue::from(members.join(MEMBER_SEPARATOR)),
                    expires_at,
                }))
            })
            .await;
        self.wrote(key);
        Ok(())
    }

    async fn members(&self, key: &str) -> Result<Vec<String>, CacheError> {
        Ok(self
            .get(key)
            .await?
            .map(|value| split_members(&value))
            .unwrap_or_default())
    }

    async fn remove_member(&self, key: &str, member: &str) -> Result<(), CacheError> {
        self.entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let op = match current.map(|e| e.into_value()).and_then(|e| self.live(e)) {
                    Some(entry) => {
                        let members: Vec<String> = split_members(&entry.value)
                            .into_iter()
                            .filter(|m| m != member)
                            .collect();
                        if members.is_empty() {
                            Op::Remove
                        } else {
                            Op::Put(Entry {
                                value: CachedValue::from(members.join(MEMBER_SEPARATOR)),
                                expires_at: entry.expires_at,
                            })
                        }
                    }
                    None => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        self.wrote(key);
        Ok(())
    }

    async fn count_hits(
        &self,
        key: &str,
        hits: u64,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError> {
        let now = Instant::now();
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let entry = match current.map(|e| e.into_value()).and_then(|e| self.live(e)) {
                    Some(entry) => Entry {
                        value: CachedValue::from(
                            (entry.value.parse::<u64>().unwrap_or(0) + hits).to_string(),
                        ),
                        expires_at: entry.expires_at,
                    },
                    None => Entry {
                        value: CachedValue::from(hits.to_string()),
                        expires_at: now + window,
                    },
                };
                std::future::ready(Op::Put(entry))
            })
            .await;
        self.wrote(key);
        let entry = match result {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) => e.into_value(),
            _ => return Err(CacheError("the counter was not stored".into())),
        };
        Ok((
            entry.value.parse().unwrap_or(u64::MAX),
            entry.expires_at.saturating_duration_since(now),
        ))
    }

    async fn incr_by(&self, key: &str, by: i64) -> Result<i64, CacheError> {
        let mut invalid = false;
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let current = current.map(|e| e.into_value()).and_then(|e| self.live(e));
                let op = match current.as_ref().map(|e| e.value.parse::<i64>()) {
                    Some(Err(_)) => {
                        invalid = true;
                        Op::Nop
                    }
                    Some(Ok(n)) => Op::Put(Entry {
                        value: CachedValue::from(n.saturating_add(by).to_string()),
                        expires_at: current.map_or_else(never, |e| e.expires_at),
                    }),
                    None => Op::Put(Entry {
                        value: CachedValue::from(by.to_string()),
                        expires_at: never(),
                    }),
                };
                std::future::ready(op)
            })
            .await;
        self.wrote(key);
        if invalid {
            return Err(CacheError("the value is not an integer".into()));
        }
        match result {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) => e
                .into_value()
                .value
                .parse()
                .map_err(|_| CacheError("the counter was not stored".into())),
            _ => Err(CacheError("the counter was not stored".into())),
        }
    }

    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        let removed = self.entries.remove(key).await;
        self.wrote(key);
        Ok(removed
            .and_then(|e| self.live(e))
            .map(|e| e.value.to_string()))
    }

    async fn delete_if_equal(&self, key: &str, expected: &str) -> Result<bool, CacheError> {
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let held = current
                    .map(|e| e.into_value())
                    .and_then(|e| self.live(e))
                    .is_some_and(|e| &*e.value == expected);
                std::future::ready(if held { Op::Remove } else { Op::Nop })
            })
            .await;
        self.wrote(key);
        Ok(matches!(result, CompResult::Removed(_)))
    }

    async fn zincr_by(
        &self,
        key: &str,
        member: &str,
        by: f64,
        ttl: Duration,
    ) -> Result<f64, CacheError> {
        Ok(self
            .update_sorted_set(key, Some(ttl), |set| {
                let score = set.scores.get(member).copied().unwrap_or(0.0) + by;
                set.set(member, score);
                score
            })
            .await)
    }

    async fn zset_scores(
        &self,
        key: &str,
        scores: &[(String, f64)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        if scores.is_empty() {
            return Ok(());
        }
        self.update_sorted_set(key, Some(ttl), |set| {
            for (member, score) in scores {
                set.set(member, *score);
            }
        })
        .await;
        Ok(())
    }

    async fn zrev_range(
        &self,
        key: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, f64)>, CacheError> {
        let Some(set) = self.sorted_set(key).await else {
            return Ok(Vec::new());
        };
        let set = set.lock().unwrap_or_else(PoisonError::into_inner);
        // As Redis: highest score first, ties in reverse byte order.
        Ok(set
            .ordered
            .iter()
            .rev()
            .take(limit.unwrap_or(usize::MAX))
            .map(|(score, member)| (member.clone(), score.0))
            .collect())
    }

    async fn zrem(&self, key: &str, members: &[String]) -> Result<u64, CacheError> {
        Ok(self
            .update_sorted_set(key, None, |set| {
                members.iter().filter(|m| set.remove(m)).count() as u64
            })
            .await)
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        let now = Instant::now();
        let mut keys: Vec<String> = self
            .entries
            .iter()
            .filter(|(key, entry)| key.starts_with(prefix) && entry.expires_at > now)
            .map(|(key, _)| key.as_ref().clone())
            .collect();
        keys.extend(
            self.sets
                .iter()
                .filter(|(key, entry)| key.starts_with(prefix) && entry.expires_at > now)
                .map(|(key, _)| key.as_ref().clone()),
        );
        keys.sort_unstable();
        Ok(keys)
    }

    async fn ttls(&self, keys: &[String]) -> Result<Vec<Option<Duration>>, CacheError> {
        let now = Instant::now();
        let mut ttls = Vec::with_capacity(keys.len());
        for key in keys {
            ttls.push(
                self.entries
                    .get(key)
                    .await
                    .map(|e| e.expires_at.saturating_duration_since(now))
                    .filter(|d| !d.is_zero()),
            );
        }
        Ok(ttls)
    }

    async fn info(&self) -> Result<CacheInfo, CacheError> {
        self.entries.run_pending_tasks().await;
        self.sets.run_pending_tasks().await;
        Ok(CacheInfo {
            total_keys: Some(self.entries.entry_count() + self.sets.entry_count()),
            redis: None,
            max_entries: Some(self.max_entries),
        })
    }

    async fn zrange_by_score(&self, key: &str, max: f64) -> Result<Vec<(String, f64)>, CacheError> {
        let Some(set) = self.sorted_set(key).await else {
            return Ok(Vec::new());
        };
        let set = set.lock().unwrap_or_else(PoisonError::into_inner);
        // As Redis: lowest score first, ties in byte order.
        Ok(set
            .ordered
            .iter()
            .take_while(|(score, _)| score.0 <= max)
            .map(|(score, member)| (member.clone(), score.0))
            .collect())
    }

    async fn replace_many(
        &self,
        entries: &[(String, String, Duration)],
    ) -> Result<Vec<bool>, CacheError> {
        let mut stored = Vec::with_capacity(entries.len());
        for (key, value, ttl) in entries {
            let expires_at = Instant::now() + *ttl;
            let result = self
                .entries
                .entry(key.clone())
                .and_compute_with(|current| {
                    let present = current
                        .map(|e| e.into_value())
                        .and_then(|e| self.live(e))
                        .is_some();
                    std::future::ready(if present {
                        Op::Put(Entry {
                            value: CachedValue::from(value.as_str()),
                            expires_at,
                        })
                    } else {
                        Op::Nop
                    })
                })
                .await;
            self.wrote(key);
            stored.push(matches!(result, CompResult::ReplacedWith(_)));
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counters_count_within_their_window_then_start_over() {
        let cache = MemoryCache::new(100);
        let window = Duration::from_millis(80);
        assert_eq!(cache.count_hit("rl:a", window).await.unwrap().0, 1);
        let (count, left) = cache.count_hit("rl:a", window).await.unwrap();
        assert_eq!(count, 2);
        assert!(left <= window && !left.is_zero());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(cache.count_hit("rl:a", window).await.unwrap().0, 1);
    }

    #[tokio::test]
    async fn sets_add_list_and_remove_members() {
        let cache = MemoryCache::new(100);
        let ttl = Duration::from_secs(60);
        cache.add_member("s", "a", ttl).await.unwrap();
        cache.add_member("s", "b", ttl).await.unwrap();
        cache.add_member("s", "a", ttl).await.unwrap();
        let mut members = cache.members("s").await.unwrap();
        members.sort();
        assert_eq!(members, vec!["a", "b"]);
        cache.remove_member("s", "a").await.unwrap();
        assert_eq!(cache.members("s").await.unwrap(), vec!["b"]);
        cache.remove_member("s", "b").await.unwrap();
        assert!(cache.members("s").await.unwrap().is_empty());
        assert!(cache.members("none").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn counters_add_and_are_taken_once() {
        let cache = MemoryCache::new(100);
        assert_eq!(cache.incr_by("views:1", 1).await.unwrap(), 1);
        assert_eq!(cache.incr_by("views:1", 2).await.unwrap(), 3);
        let left = cache.ttls(&["views:1".into()]).await.unwrap()[0].unwrap();
        assert!(
            left > Duration::from_secs(365 * 24 * 3600),
            "no TTL to speak of"
        );
        assert_eq!(cache.take("views:1").await.unwrap().as_deref(), Some("3"));
        assert_eq!(cache.take("views:1").await.unwrap(), None);
        assert_eq!(cache.incr_by("views:1", 1).await.unwrap(), 1);
        cache
            .set("text", "abc", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(cache.incr_by("text", 1).await.is_err());
        assert_eq!(cache.get("text").await.unwrap().as_deref(), Some("abc"));
    }

    #[tokio::test]
    async fn an_expiry_index_answers_members_up_to_a_score_and_replace_keeps_deleted_keys_out() {
        let cache = MemoryCache::new(1000);
        let ttl = Duration::from_secs(60);
        let scores: Vec<(String, f64)> = (0..500).map(|i| (i.to_string(), f64::from(i))).collect();
        cache.zset_scores("idx", &scores, ttl).await.unwrap();
        cache
            .zset_scores("idx", &[("7".into(), 1000.0)], ttl)
            .await
            .unwrap();
        let due = cache.zrange_by_score("idx", 3.0).await.unwrap();
        assert_eq!(
            due,
            vec![
                ("0".into(), 0.0),
                ("1".into(), 1.0),
                ("2".into(), 2.0),
                ("3".into(), 3.0)
            ]
        );
        assert_eq!(
            cache
                .zrem("idx", &["0".into(), "nope".into()])
                .await
                .unwrap(),
            1
        );
        assert_eq!(cache.zrange_by_score("idx", 1.0).await.unwrap().len(), 1);
        assert_eq!(
            cache.zrev_range("idx", Some(1)).await.unwrap(),
            vec![("7".into(), 1000.0)]
        );
        assert_eq!(cache.delete(&["idx".into()]).await.unwrap(), 1);
        assert!(cache.zrange_by_score("idx", 1e9).await.unwrap().is_empty());

        cache.set("file_url:1", "old", ttl).await.unwrap();
        let stored = cache
            .replace_many(&[
                ("file_url:1".into(), "new".into(), ttl),
                ("file_url:2".into(), "new".into(), ttl),
            ])
            .await
            .unwrap();
        assert_eq!(stored, vec![true, false]);
        assert_eq!(
            cache.get("file_url:1").await.unwrap().as_deref(),
            Some("new")
        );
        assert_eq!(cache.get("file_url:2").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_lock_is_released_by_its_holder_only() {
        let cache = MemoryCache::new(100);
        let ttl = Duration::from_secs(60);
        assert!(cache.set_if_absent("lock:job", "mine", ttl).await.unwrap());
        assert!(!cache
            .set_if_absent("lock:job", "theirs", ttl)
            .await
            .unwrap());
        assert!(!cache.delete_if_equal("lock:job", "theirs").await.unwrap());
        assert_eq!(
            cache.get("lock:job").await.unwrap().as_deref(),
            Some("mine")
        );
        assert!(cache.delete_if_equal("lock:job", "mine").await.unwrap());
        assert_eq!(cache.get("lock:job").await.unwrap(), None);
        assert!(!cache.delete_if_equal("lock:job", "mine").await.unwrap());
    }

    #[tokio::test]
    async fn sorted_sets_keep_scores_in_order() {
        let cache = MemoryCache::new(100);
        let ttl = Duration::from_secs(60);
        assert_eq!(cache.zincr_by("top", "1", 1.0, ttl).await.unwrap(), 1.0);
        assert_eq!(cache.zincr_by("top", "2", 1.0, ttl).await.unwrap(), 1.0);
        assert_eq!(cache.zincr_by("top", "2", 2.0, ttl).await.unwrap(), 3.0);
        cache
            .zset_scores("top", &[("3".into(), 2.0), ("1".into(), 5.0)], ttl)
            .await
            .unwrap();
        assert_eq!(
            cache.zrev_range("top", None).await.unwrap(),
            vec![("1".into(), 5.0), ("2".into(), 3.0), ("3".into(), 2.0)]
        );
        assert_eq!(
            cache.zrev_range("top", Some(1)).await.unwrap(),
            vec![("1".to_owned(), 5.0)]
        );
        assert_eq!(
            cache.zrem("top", &["1".into(), "9".into()]).await.unwrap(),
            1
        );
        assert_eq!(
            cache.zrem("top", &["2".into(), "3".into()]).await.unwrap(),
            2
        );
        assert!(cache.zrev_range("top", None).await.unwrap().is_empty());
        assert_eq!(
            cache.get("top").await.unwrap(),
            None,
            "an empty set is no key"
        );
    }

    /// Each thread reads through its own copies; a write on any thread is what every other
    /// thread reads next, however often they read meanwhile.
    #[test]
    fn a_write_on_one_thread_is_what_every_thread_reads_next() {
        use futures::executor::block_on;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

        let cache = Arc::new(MemoryCache::new(100));
        let ttl = Duration::from_secs(60);
        block_on(cache.set("profile:1", "0", ttl)).unwrap();
        let written = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (cache, written, done) = (cache.clone(), written.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut last = 0;
                    let mut reads = 0u64;
                    loop {
                        let finished = done.load(Ordering::Acquire);
                        // Whatever was written before this read started is seen by it.
                        let floor = written.load(Ordering::Acquire);
                        let value = block_on(cache.get("profile:1")).unwrap().unwrap();
                        let value: u64 = value.parse().unwrap();
                        assert!(value >= floor, "read {value} after {floor} was written");
                        assert!(value >= last, "read {value} after {last}");
                        last = value;
                        reads += 1;
                        if finished {
                            return (last, reads);
                        }
                    }
                })
            })
            .collect();
        for n in 1..=2000u64 {
            block_on(cache.set("profile:1", &n.to_string(), ttl)).unwrap();
            written.store(n, Ordering::Release);
            if n % 500 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        done.store(true, Ordering::Release);
        for reader in readers {
            let (last, reads) = reader.join().unwrap();
            assert_eq!(last, 2000);
            assert!(reads > 1);
        }
        block_on(cache.delete(&["profile:1".into()])).unwrap();
        assert_eq!(block_on(cache.get("profile:1")).unwrap(), None);
    }

    #[tokio::test]
    async fn entries_expire_with_their_own_ttl() {
        let cache = MemoryCache::new(100);
        cache
            .set("file_url:1", "a", Duration::from_millis(30))
            .await
            .unwrap();
        cache
            .set("file_url:2", "b", Duration::from_secs(60))
            .await
            .unwrap();
        cache
            .set("other:1", "c", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            cache.scan_prefix("file_url:").await.unwrap(),
            vec!["file_url:1", "file_url:2"]
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get("file_url:1").await.unwrap(), None);
        assert_eq!(
            cache.scan_prefix("file_url:").await.unwrap(),
            vec!["file_url:2"]
        );
        let ttls = cache
            .ttls(&["file_url:2".into(), "file_url:9".into()])
            .await
            .unwrap();
        assert!(ttls[0].unwrap() > Duration::from_secs(59));
        assert_eq!(ttls[1], None);
        assert_eq!(
            cache
                .delete(&["file_url:2".into(), "file_url:2".into()])
                .await
                .unwrap(),
            1
        );
    }
}
