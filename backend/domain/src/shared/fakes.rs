//! Small in-memory stand-ins for the ports, for the services' unit tests: enough to watch what a
//! rule reads and writes, nothing more. The real adapters are tested against real services in
//! the server's HTTP tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::audit::{AuditEvent, AuditFilter, AuditRepo, NewAuditEvent};
use crate::shared::cache::{Cache, CacheBackend, CacheError, CacheInfo, CachedValue};
use crate::shared::{DomainResult, Page, PageRequest};

/// A cache in a map, without TTLs. `.1` makes it say it is Redis: a cache shared by several
/// instances.
#[derive(Default)]
pub struct MapCache(pub Mutex<HashMap<String, String>>, pub bool);

impl MapCache {
    /// A map that says it is Redis, for what only a shared cache does (the load lock).
    pub fn shared() -> Self {
        Self(Mutex::default(), true)
    }

    /// The value under `key`, if any.
    pub fn value(&self, key: &str) -> Option<String> {
        self.0.lock().unwrap().get(key).cloned()
    }
}

#[async_trait]
impl Cache for MapCache {
    fn backend(&self) -> CacheBackend {
        if self.1 {
            CacheBackend::Redis
        } else {
            CacheBackend::InProcess
        }
    }
    fn is_degraded(&self) -> bool {
        false
    }
    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<CachedValue>, CacheError> {
        Ok(self.value(key).map(CachedValue::from))
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<CachedValue>>, CacheError> {
        let map = self.0.lock().unwrap();
        Ok(keys
            .iter()
            .map(|k| map.get(k).map(|v| CachedValue::from(v.as_str())))
            .collect())
    }
    async fn set(&self, key: &str, value: &str, _ttl: Duration) -> Result<(), CacheError> {
        self.0
            .lock()
            .unwrap()
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), CacheError> {
        for (k, v, ttl) in entries {
            self.set(k, v, *ttl).await?;
        }
        Ok(())
    }
    async fn set_if_absent(&self, key: &str, value: &str, _: Duration) -> Result<bool, CacheError> {
        let mut map = self.0.lock().unwrap();
        if map.contains_key(key) {
            return Ok(false);
        }
        map.insert(key.to_owned(), value.to_owned());
        Ok(true)
    }
    async fn delete(&self, keys: &[String]) -> Result<u64, CacheError> {
        let mut map = self.0.lock().unwrap();
        Ok(keys.iter().filter(|k| map.remove(*k).is_some()).count() as u64)
    }
    async fn add_member(&self, _: &str, _: &str, _: Duration) -> Result<(), CacheError> {
        Err(CacheError("sets are not kept by the test cache".into()))
    }
    async fn members(&self, _: &str) -> Result<Vec<String>, CacheError> {
        Err(CacheError("sets are not kept by the test cache".into()))
    }
    async fn remove_member(&self, _: &str, _: &str) -> Result<(), CacheError> {
        Err(CacheError("sets are not kept by the test cache".into()))
    }
    async fn count_hits(
        &self,
        key: &str,
        hits: u64,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError> {
        let mut map = self.0.lock().unwrap();
        let count = map
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + hits;
        map.insert(key.to_owned(), count.to_string());
        Ok((count, window))
    }
    async fn incr_by(&self, key: &str, by: i64) -> Result<i64, CacheError> {
        let mut map = self.0.lock().unwrap();
        let value = map
            .get(key)
            .map(|v| v.parse::<i64>())
            .transpose()
            .map_err(|_| CacheError("not an integer".into()))?
            .unwrap_or(0)
            + by;
        map.insert(key.to_owned(), value.to_string());
        Ok(value)
    }
    async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.0.lock().unwrap().remove(key))
    }
    async fn delete_if_equal(&self, key: &str, expected: &str) -> Result<bool, CacheError> {
        let mut map = self.0.lock().unwrap();
        if map.get(key).is_some_and(|v| v == expected) {
            map.remove(key);
            return Ok(true);
        }
        Ok(false)
    }
    async fn zincr_by(
        &self,
        key: &str,
        member: &str,
        by: f64,
        _: Duration,
    ) -> Result<f64, CacheError> {
        let mut map = self.0.lock().unwrap();
        let mut set = sorted_set(map.get(key));
        let score = set.get(member).copied().unwrap_or(0.0) + by;
        set.insert(member.to_owned(), score);
        map.insert(key.to_owned(), serde_json::to_string(&set).unwrap());
        Ok(score)
    }
    async fn zset_scores(
        &self,
        key: &str,
        scores: &[(String, f64)],
        _: Duration,
    ) -> Result<(), CacheError> {
        let mut map = self.0.lock().unwrap();
        let mut set = sorted_set(map.get(key));
        set.extend(scores.iter().cloned());
        map.insert(key.to_owned(), serde_json::to_string(&set).unwrap());
        Ok(())
    }
    async fn zrev_range(
        &self,
        key: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, f64)>, CacheError> {
        let set = sorted_set(self.0.lock().unwrap().get(key));
        let mut members: Vec<(String, f64)> = set.into_iter().collect();
        members.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        members.truncate(limit.unwrap_or(usize::MAX));
        Ok(members)
    }
    async fn zrem(&self, key: &str, members: &[String]) -> Result<u64, CacheError> {
        let mut map = self.0.lock().unwrap();
        let mut set = sorted_set(map.get(key));
        let removed = members.iter().filter(|m| set.remove(*m).is_some()).count();
        if set.is_empty() {
            map.remove(key);
        } else {
            map.insert(key.to_owned(), serde_json::to_string(&set).unwrap());
        }
        Ok(removed as u64)
    }
    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn ttls(&self, keys: &[String]) -> Result<Vec<Option<Duration>>, CacheError> {
        Ok(keys.iter().map(|_| None).collect())
    }
    async fn info(&self) -> Result<CacheInfo, CacheError> {
        Ok(CacheInfo::default())
    }
    async fn zrange_by_score(&self, key: &str, max: f64) -> Result<Vec<(String, f64)>, CacheError> {
        let set = sorted_set(self.0.lock().unwrap().get(key));
        let mut members: Vec<(String, f64)> = set.into_iter().filter(|(_, s)| *s <= max).collect();
        members.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(members)
    }
    async fn replace_many(
        &self,
        entries: &[(String, String, Duration)],
    ) -> Result<Vec<bool>, CacheError> {
        let mut map = self.0.lock().unwrap();
        Ok(entries
            .iter()
            .map(|(k, v, _)| match map.get_mut(k) {
                Some(old) => {
                    *old = v.clone();
                    true
                }
                None => false,
            })
            .collect())
    }
}

/// A sorted set as the test cache keeps it: member → score, stored as JSON.
fn sorted_set(raw: Option<&String>) -> HashMap<String, f64> {
    raw.and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or_default()
}

/// An audit log that keeps what it is given.
#[derive(Default)]
pub struct Recorded(pub Mutex<Vec<NewAuditEvent>>);

impl Recorded {
    /// The recorded events, oldest first.
    pub fn events(&self) -> Vec<NewAuditEvent> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl AuditRepo for Recorded {
    async fn insert_audit_event(&self, event: NewAuditEvent) -> DomainResult<()> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
    async fn list_audit_events(
        &self,
        _: AuditFilter,
        _: PageRequest,
    ) -> DomainResult<Page<AuditEvent>> {
        Ok(Page {
            items: Vec::new(),
            total: 0,
        })
    }
}
