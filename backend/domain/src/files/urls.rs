//! The file-URL cache (seed `001`): a file's view URL is signed for `FILE_URL_EXPIRES` and kept
//! under `file_url:<id>` for `FILE_URL_CACHE_TTL`. Concurrent misses on one file sign once.
//! An entry is never served with less than the safety floor of validity left. URLs are bearer
//! credentials: they are never logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::files::content_type;
use crate::files::model::StoredFile;
use crate::files::objects::{GetUrlOptions, ObjectStore, SignedUrl};
use crate::shared::cache::Cache;
use crate::shared::counters::NamespaceCounters;
use crate::shared::time::Clock;
use crate::shared::{DomainError, DomainResult, FileId};

/// The key namespace of file URLs.
pub const FILE_URL_NAMESPACE: &str = "file_url";

/// The cache key of a file's URL: exactly `file_url:<id>`.
pub fn file_url_key(id: FileId) -> String {
    format!("{FILE_URL_NAMESPACE}:{id}")
}

/// The file id in a `file_url:<id>` key.
pub fn file_id_from_key(key: &str) -> Option<FileId> {
    key.strip_prefix("file_url:")?.parse().ok().map(FileId)
}

/// How long URLs live and are cached.
#[derive(Debug, Clone, Copy)]
pub struct UrlPolicy {
    /// How long an entry stays in the cache (`FILE_URL_CACHE_TTL`, 2700 s).
    pub cache_ttl: Duration,
    /// How long a signed URL is valid (`FILE_URL_EXPIRES`, 14400 s).
    pub url_expires: Duration,
    /// A cached URL with less validity left than this is re-signed (`FILE_URL_SAFETY_FLOOR`, 300 s).
    pub safety_floor: Duration,
}

impl Default for UrlPolicy {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(2700),
            url_expires: Duration::from_secs(14400),
            safety_floor: Duration::from_secs(300),
        }
    }
}

impl UrlPolicy {
    /// Checks the policy makes sense: a URL must outlive its cache entry by the safety floor.
    pub fn check(&self) -> Result<(), String> {
        if self.cache_ttl.is_zero() {
            return Err("FILE_URL_CACHE_TTL must be at least 1 second".into());
        }
        if self.url_expires > Duration::from_secs(7 * 24 * 3600) {
            return Err(
                "FILE_URL_EXPIRES must be at most 604800 seconds (7 days, the S3 maximum)".into(),
            );
        }
        if self.url_expires < self.cache_ttl + self.safety_floor {
            return Err(format!(
                "FILE_URL_EXPIRES ({}) must be at least FILE_URL_CACHE_TTL ({}) plus FILE_URL_SAFETY_FLOOR ({}), or cached URLs would expire while cached",
                self.url_expires.as_secs(),
                self.cache_ttl.as_secs(),
                self.safety_floor.as_secs()
            ));
        }
        Ok(())
    }
}

/// What is stored under `file_url:<id>`: the URL and when it stops working.
#[derive(Debug, Serialize, Deserialize)]
struct CachedUrl {
    url: String,
    /// Unix seconds.
    expires_at: i64,
}

/// The URL cache's counters since start.
#[derive(Debug, Default)]
pub struct UrlCacheCounters {
    /// Reads of `file_url:*`.
    pub lookups: NamespaceCounters,
    /// Signing calls made to the object store.
    signatures: AtomicU64,
}

impl UrlCacheCounters {
    /// How many URLs were signed since start.
    pub fn signatures(&self) -> u64 {
        self.signatures.load(Ordering::Relaxed)
    }
}

type SharedSigning = Shared<BoxFuture<'static, Result<SignedUrl, Arc<DomainError>>>>;

/// Signs and caches file view URLs. Cloning is cheap and shares everything (counters included).
#[derive(Clone)]
pub struct FileUrls {
    cache: Arc<dyn Cache>,
    objects: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    policy: UrlPolicy,
    counters: Arc<UrlCacheCounters>,
    in_flight: Arc<Mutex<HashMap<FileId, SharedSigning>>>,
}

impl FileUrls {
    /// The URL service over these ports.
    pub fn new(
        cache: Arc<dyn Cache>,
        objects: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
        policy: UrlPolicy,
    ) -> Self {
        Self {
            cache,
            objects,
            clock,
            policy,
            counters: Arc::default(),
            in_flight: Arc::default(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> UrlPolicy {
        self.policy
    }

    /// The counters since start.
    pub fn counters(&self) -> &UrlCacheCounters {
        &self.counters
    }

    /// The cache these URLs live in.
    pub fn cache(&self) -> &Arc<dyn Cache> {
        &self.cache
    }

    /// The view URL of an uploaded file: from the cache when a fresh entry is there, else signed
    /// (once, however many callers ask at the same moment) and cached.
    pub async fn url_for(&self, file: &StoredFile) -> DomainResult<SignedUrl> {
        match self.cache.get(&file_url_key(file.id)).await {
            Ok(Some(raw)) => {
                if let Some(url) = self.usable(&raw) {
                    self.counters.lookups.hit();
                    tracing::debug!(file_id = %file.id, "using cached URL for file {}", file.id);
                    return Ok(url);
                }
            }
            Ok(None) => {}
            // The cache logs its own failures once per episode; we fall back to signing.
            Err(_) => {}
        }
        self.counters.lookups.miss();
        tracing::info!(file_id = %file.id, "generating new signed URL for file {} (cache miss)", file.id);
        self.sign_once(file).await
    }

    /// The view URLs of many uploaded files: one cache round trip, then the misses signed in
    /// parallel and written back in one pipeline.
    pub async fn urls_for(&self, files: &[StoredFile]) -> DomainResult<HashMap<FileId, SignedUrl>> {
        let keys: Vec<String> = files.iter().map(|f| file_url_key(f.id)).collect();
        let cached = if keys.is_empty() {
            Vec::new()
        } else {
            self.cache.get_many(&keys).await.unwrap_or_default()
        };
        let mut urls = HashMap::with_capacity(files.len());
        let mut missing = Vec::new();
        for (i, file) in files.iter().enumerate() {
            match cached
                .get(i)
                .and_then(Option::as_deref)
                .and_then(|raw| self.usable(raw))
            {
                Some(url) => {
                    self.counters.lookups.hit();
                    tracing::debug!(file_id = %file.id, "using cached URL for file {}", file.id);
                    urls.insert(file.id, url);
                }
                None => {
                    self.counters.lookups.miss();
                    tracing::info!(file_id = %file.id, "generating new signed URL for file {} (cache miss)", file.id);
                    missing.push(file.clone());
                }
            }
        }
        urls.extend(self.sign_and_store(&missing).await?);
        Ok(urls)
    }

    /// Signs fresh URLs for these files and caches them, whatever is cached now (warm, refresh).
    /// Answers how many were cached.
    pub async fn resign(&self, files: &[StoredFile]) -> DomainResult<usize> {
        Ok(self.sign_and_store(files).await?.len())
    }

    /// Removes a file's cached URL at once (delete, replace).
    pub async fn evict(&self, id: FileId) {
        if let Err(e) = self.cache.delete(&[file_url_key(id)]).await {
            tracing::warn!(file_id = %id, error = %e, "could not evict the cached URL; it expires with its TTL");
        }
    }

    /// Parses a cache entry and keeps it only if it is valid for at least the safety floor.
    fn usable(&self, raw: &str) -> Option<SignedUrl> {
        let cached: CachedUrl = serde_json::from_str(raw).ok()?;
        let expires_at = DateTime::from_timestamp(cached.expires_at, 0)?;
        let floor = TimeDelta::from_std(self.policy.safety_floor).ok()?;
        (expires_at - self.clock.now() >= floor).then_some(SignedUrl {
            url: cached.url,
            expires_at,
        })
    }

    /// The entry to cache for a signed URL and its TTL: never longer than the URL stays valid
    /// beyond the safety floor. `None` when it should not be cached at all.
    fn entry(&self, id: FileId, url: &SignedUrl) -> Option<(String, String, Duration)> {
        let valid_for = (url.expires_at - self.clock.now()).to_std().ok()?;
        let ttl = self
            .policy
            .cache_ttl
            .min(valid_for.checked_sub(self.policy.safety_floor)?);
        if ttl < Duration::from_secs(1) {
            return None;
        }
        let value = serde_json::to_string(&CachedUrl {
            url: url.url.clone(),
            expires_at: url.expires_at.timestamp(),
        })
        .ok()?;
        Some((file_url_key(id), value, ttl))
    }

    /// Signs (once across concurrent callers) and caches one file's URL.
    async fn sign_once(&self, file: &StoredFile) -> DomainResult<SignedUrl> {
        let id = file.id;
        let flight = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            in_flight
                .entry(id)
                .or_insert_with(|| self.signing(file.clone()).boxed().shared())
                .clone()
        };
        let result = flight.clone().await;
        {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if in_flight.get(&id).is_some_and(|f| f.ptr_eq(&flight)) {
                in_flight.remove(&id);
            }
        }
        result.map_err(|e| match Arc::try_unwrap(e) {
            Ok(e) => e,
            Err(shared) => {
                DomainError::Unexpected(anyhow::anyhow!("signing file {id} failed: {shared}"))
            }
        })
    }

    /// The future that signs one URL and caches it; shared by concurrent callers.
    fn signing(
        &self,
        file: StoredFile,
    ) -> impl std::future::Future<Output = Result<SignedUrl, Arc<DomainError>>> + Send + 'static
    {
        let this = self.clone();
        async move {
            // A caller that missed just before the previous flight stored its URL must not sign again.
            if let Ok(Some(raw)) = this.cache.get(&file_url_key(file.id)).await {
                if let Some(url) = this.usable(&raw) {
                    return Ok(url);
                }
            }
            this.counters.signatures.fetch_add(1, Ordering::Relaxed);
            let url = this
                .objects
                .presign_get(&file.object_key, this.policy.url_expires, &view_options(&file))
                .await
                .map_err(|e| {
                    tracing::error!(file_id = %file.id, error = %e, "failed to generate signed URL for file {}", file.id);
                    Arc::new(e)
                })?;
            if let Some((key, value, ttl)) = this.entry(file.id, &url) {
                if this.cache.set(&key, &value, ttl).await.is_ok() {
                    tracing::info!(file_id = %file.id, "cached URL for file {} for {} seconds", file.id, ttl.as_secs());
                }
            }
            Ok(url)
        }
    }

    /// Signs many URLs in parallel (bounded) and writes them to the cache in one pipeline.
    async fn sign_and_store(
        &self,
        files: &[StoredFile],
    ) -> DomainResult<HashMap<FileId, SignedUrl>> {
        const PARALLEL_SIGNING: usize = 16;
        let signed: Vec<(FileId, DomainResult<SignedUrl>)> = stream::iter(files.iter().cloned())
            .map(|file| async move {
                self.counters.signatures.fetch_add(1, Ordering::Relaxed);
                let url = self
                    .objects
                    .presign_get(
                        &file.object_key,
                        self.policy.url_expires,
                        &view_options(&file),
                    )
                    .await;
                (file.id, url)
            })
            .buffer_unordered(PARALLEL_SIGNING)
            .collect()
            .await;
        let mut urls = HashMap::with_capacity(signed.len());
        for (id, url) in signed {
            urls.insert(id, url?);
        }
        let entries: Vec<_> = urls
            .iter()
            .filter_map(|(id, url)| self.entry(*id, url))
            .collect();
        if !entries.is_empty() && self.cache.set_many(&entries).await.is_ok() {
            tracing::info!(count = entries.len(), "cached {} file URLs", entries.len());
        }
        Ok(urls)
    }
}

/// Response headers for viewing a file: its type, shown inline; non-images carry their name.
pub fn view_options(file: &StoredFile) -> GetUrlOptions {
    let content_disposition = if content_type::is_image(&file.content_type) {
        "inline".to_owned()
    } else {
        inline_with_filename(&file.original_name)
    };
    GetUrlOptions {
        content_type: file.content_type.clone(),
        content_disposition,
    }
}

/// `inline; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback and the exact name.
fn inline_with_filename(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::AtomicUsize;

    use async_trait::async_trait;
    use bytes::Bytes;
    use chrono::Utc;

    use crate::files::model::{FileStatus, FileType};
    use crate::files::objects::ObjectMeta;
    use crate::shared::fakes::MapCache;
    use crate::shared::time::{after, SystemClock};
    use crate::shared::{DomainResult, UserId};

    /// Signs slowly and counts, so concurrent misses overlap.
    #[derive(Default)]
    struct SlowSigner(AtomicUsize);

    #[async_trait]
    impl ObjectStore for SlowSigner {
        fn kind(&self) -> &'static str {
            "test"
        }
        async fn ping(&self) -> DomainResult<()> {
            Ok(())
        }
        async fn put(&self, _: &str, _: Bytes, _: &str) -> DomainResult<()> {
            Ok(())
        }
        async fn head(&self, _: &str) -> DomainResult<Option<ObjectMeta>> {
            Ok(None)
        }
        async fn read_prefix(&self, _: &str, _: usize) -> DomainResult<Bytes> {
            Ok(Bytes::new())
        }
        async fn delete(&self, _: &str) -> DomainResult<()> {
            Ok(())
        }
        async fn presign_get(
            &self,
            key: &str,
            expires: Duration,
            _: &GetUrlOptions,
        ) -> DomainResult<SignedUrl> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(SignedUrl {
                url: format!("https://objects.test/{key}?n={n}"),
                expires_at: after(Utc::now(), expires),
            })
        }
    }

    fn file(id: i64) -> StoredFile {
        StoredFile {
            id: FileId(id),
            file_type: FileType::Avatar,
            object_key: format!("avatar/{id}.png"),
            original_name: "a.png".into(),
            content_type: "image/png".into(),
            size: 1,
            status: FileStatus::Uploaded,
            uploaded_by: UserId(1),
            org_unit_id: None,
            unit_path: None,
            created_at: Utc::now(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_on_one_file_sign_once_and_share_the_url() {
        let cache = Arc::new(MapCache::default());
        let signer = Arc::new(SlowSigner::default());
        let urls = Arc::new(FileUrls::new(
            cache.clone(),
            signer.clone(),
            Arc::new(SystemClock),
            UrlPolicy::default(),
        ));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let urls = Arc::clone(&urls);
                tokio::spawn(async move { urls.url_for(&file(7)).await.unwrap().url })
            })
            .collect();
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.unwrap());
        }
        seen.dedup();
        assert_eq!(seen.len(), 1);
        assert_eq!(signer.0.load(Ordering::SeqCst), 1);
        assert_eq!(urls.counters().signatures(), 1);
        assert!(cache.0.lock().unwrap().contains_key("file_url:7"));
        // A later read is a hit.
        urls.url_for(&file(7)).await.unwrap();
        assert_eq!(signer.0.load(Ordering::SeqCst), 1);
        assert_eq!(urls.counters().lookups.hits(), 1);
    }

    #[tokio::test]
    async fn an_entry_below_the_safety_floor_is_signed_again() {
        let cache = Arc::new(MapCache::default());
        let signer = Arc::new(SlowSigner::default());
        let urls = FileUrls::new(
            cache.clone(),
            signer.clone(),
            Arc::new(SystemClock),
            UrlPolicy::default(),
        );
        let stale =
            serde_json::json!({"url": "https://old", "expires_at": Utc::now().timestamp() + 299})
                .to_string();
        cache
            .set("file_url:3", &stale, Duration::from_secs(60))
            .await
            .unwrap();
        let url = urls.url_for(&file(3)).await.unwrap();
        assert_ne!(url.url, "https://old");
        assert_eq!(signer.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn keys_are_exactly_file_url_and_the_id() {
        assert_eq!(file_url_key(FileId(123)), "file_url:123");
        assert_eq!(file_id_from_key("file_url:123"), Some(FileId(123)));
        assert_eq!(file_id_from_key("flask_cache_file_url:123"), None);
        assert_eq!(file_id_from_key("file_url:abc"), None);
    }

    #[test]
    fn a_url_must_outlive_its_cache_entry() {
        assert!(UrlPolicy::default().check().is_ok());
        let bad = UrlPolicy {
            url_expires: Duration::from_secs(2800),
            ..UrlPolicy::default()
        };
        assert!(bad.check().is_err());
    }

    #[test]
    fn non_ascii_names_are_encoded_in_the_disposition() {
        assert_eq!(
            inline_with_filename("relatório final.pdf"),
            "inline; filename=\"relat_rio final.pdf\"; filename*=UTF-8''relat%C3%B3rio%20final.pdf"
        );
        assert_eq!(
            inline_with_filename("a\"b.pdf"),
            "inline; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b.pdf"
        );
    }
}
