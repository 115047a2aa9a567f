//! The in-process cache (no `REDIS_URL`): moka with a TTL per entry, behaving like the Redis
//! cache for every call the domain makes. It never degrades.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::future::Cache as Moka;
use moka::ops::compute::{CompResult, Op};
use moka::Expiry;
use tessera_domain::shared::cache::{Cache, CacheBackend, CacheError, CacheInfo};

#[derive(Clone)]
struct Entry {
    value: Arc<str>,
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

/// The in-process implementation of the cache port.
#[derive(Clone)]
pub struct MemoryCache {
    entries: Moka<String, Entry>,
    max_entries: u64,
}

impl MemoryCache {
    /// A cache holding at most `max_entries` entries (least recently used go first).
    pub fn new(max_entries: u64) -> Self {
        Self {
            entries: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(ExpireAtEntryTime)
                .build(),
            max_entries,
        }
    }

    fn live(&self, entry: Entry) -> Option<Entry> {
        (entry.expires_at > Instant::now()).then_some(entry)
    }
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

    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self
            .entries
            .get(key)
            .await
            .and_then(|e| self.live(e))
            .map(|e| e.value.to_string()))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, CacheError> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key).await?);
        }
        Ok(values)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let entry = Entry {
            value: Arc::from(value),
            expires_at: Instant::now() + ttl,
        };
        self.entries.insert(key.to_owned(), entry).await;
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
            value: Arc::from(value),
            expires_at: Instant::now() + ttl,
        };
        // One atomic step: concurrent callers see exactly one fresh insert.
        Ok(self
            .entries
            .entry(key.to_owned())
            .or_insert(entry)
            .await
            .is_fresh())
    }

    async fn delete(&self, keys: &[String]) -> Result<u64, CacheError> {
        let mut deleted = 0;
        for key in keys {
            if self
                .entries
                .remove(key)
                .await
                .and_then(|e| self.live(e))
                .is_some()
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
                    value: Arc::from(members.join(MEMBER_SEPARATOR)),
                    expires_at,
                }))
            })
            .await;
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
                                value: Arc::from(members.join(MEMBER_SEPARATOR)),
                                expires_at: entry.expires_at,
                            })
                        }
                    }
                    None => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        Ok(())
    }

    async fn count_hit(&self, key: &str, window: Duration) -> Result<(u64, Duration), CacheError> {
        let now = Instant::now();
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let entry = match current.map(|e| e.into_value()).and_then(|e| self.live(e)) {
                    Some(entry) => Entry {
                        value: Arc::from((entry.value.parse::<u64>().unwrap_or(0) + 1).to_string()),
                        expires_at: entry.expires_at,
                    },
                    None => Entry {
                        value: Arc::from("1"),
                        expires_at: now + window,
                    },
                };
                std::future::ready(Op::Put(entry))
            })
            .await;
        let entry = match result {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) => e.into_value(),
            _ => return Err(CacheError("the counter was not stored".into())),
        };
        Ok((
            entry.value.parse().unwrap_or(u64::MAX),
            entry.expires_at.saturating_duration_since(now),
        ))
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        let now = Instant::now();
        let mut keys: Vec<String> = self
            .entries
            .iter()
            .filter(|(key, entry)| key.starts_with(prefix) && entry.expires_at > now)
            .map(|(key, _)| key.as_ref().clone())
            .collect();
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
        Ok(CacheInfo {
            total_keys: Some(self.entries.entry_count()),
            redis: None,
            max_entries: Some(self.max_entries),
        })
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
