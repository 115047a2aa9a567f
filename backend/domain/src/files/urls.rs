//! The file-URL cache (seed `001`): a file's view URL is signed for `FILE_URL_EXPIRES` and kept
//! under `file_url:<id>` for `FILE_URL_CACHE_TTL`. Concurrent misses on one file sign once.
//! An entry is never served with less than the safety floor of validity left. URLs are bearer
//! credentials: they are never logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::files::content_type;
use crate::files::model::StoredFile;
use crate::files::objects::{GetUrlOptions, ObjectStore, SignedUrl};
use crate::shared::cache::CacheError;
use crate::shared::cached::{CacheLayer, Cacheable, Invalidation, Namespace, TtlClass};
use crate::shared::{DomainError, DomainResult, FileId};

/// The key namespace of file URLs.
pub const FILE_URL_NAMESPACE: &str = "file_url";

/// The cache key of a file's URL: exactly `file_url:<id>`.
pub fn file_url_key(id: FileId) -> String {
    format!("{FILE_URL_NAMESPACE}:{id}")
}

/// The sorted set of cached file URLs ordered by when their entries leave the cache:
/// members are file ids, scores unix seconds. `refresh` reads the entries about to go from it
/// instead of the TTL of every entry. Its name is not under `file_url:`, so it is neither an
/// entry in stats nor removed by a scan of the namespace; clearing file URLs drops it too.
pub const EXPIRY_INDEX: &str = "file_url_expiry";

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

/// File view URLs, `file_url:<id>`, for `FILE_URL_CACHE_TTL`; deleting or replacing a file
/// deletes its entry.
pub static FILE_URLS: Namespace = Namespace {
    name: FILE_URL_NAMESPACE,
    ttl: TtlClass::FileUrl,
    invalidation: Invalidation::Delete,
};

/// What is stored under `file_url:<id>`: the URL, when it stops working and until when it may
/// be served (the safety floor before that).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedUrl {
    /// Shared by every read of the entry (and by what answers were made of it).
    url: Arc<str>,
    /// Unix seconds.
    expires_at: i64,
    /// Unix seconds: `expires_at` less the safety floor.
    serve_until: i64,
}

impl CachedUrl {
    fn new(url: &SignedUrl, policy: &UrlPolicy) -> Self {
        let floor = i64::try_from(policy.safety_floor.as_secs()).unwrap_or(i64::MAX);
        let expires_at = url.expires_at.timestamp();
        Self {
            url: url.url.clone(),
            expires_at,
            serve_until: expires_at.saturating_sub(floor),
        }
    }

    /// When the entry leaves the cache (unix seconds): a cache TTL after signing, or sooner
    /// when the URL's serving time ends first. Known from the value alone, so every writer of
    /// the same value gives the index the same score.
    fn leaves_cache_at(&self, policy: &UrlPolicy) -> i64 {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let signed_at = self.expires_at.saturating_sub(secs(policy.url_expires));
        signed_at
            .saturating_add(secs(policy.cache_ttl))
            .min(self.serve_until)
    }

    fn signed(self) -> Option<SignedUrl> {
        Some(SignedUrl {
            url: self.url,
            expires_at: DateTime::from_timestamp(self.expires_at, 0)?,
        })
    }
}

impl Cacheable for CachedUrl {
    fn usable(&self, now: DateTime<Utc>) -> bool {
        now.timestamp() < self.serve_until
    }

    /// Never longer than the URL may be served.
    fn ttl(&self, class: Duration, now: DateTime<Utc>) -> Option<Duration> {
        let left = u64::try_from(self.serve_until - now.timestamp()).ok()?;
        let ttl = class.min(Duration::from_secs(left));
        (ttl >= Duration::from_secs(1)).then_some(ttl)
    }
}

/// Signs and caches file view URLs. Cloning is cheap and shares everything (counters included).
#[derive(Clone)]
pub struct FileUrls {
    cache: CacheLayer,
    objects: Arc<dyn ObjectStore>,
    policy: UrlPolicy,
    signatures: Arc<AtomicU64>,
}

impl FileUrls {
    /// The URL service over these ports; entries live for the layer's file-URL TTL.
    pub fn new(cache: CacheLayer, objects: Arc<dyn ObjectStore>, policy: UrlPolicy) -> Self {
        cache.register(&FILE_URLS);
        Self {
            cache,
            objects,
            policy,
            signatures: Arc::default(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> UrlPolicy {
        self.policy
    }

    /// How many URLs were signed since start.
    pub fn signatures(&self) -> u64 {
        self.signatures.load(Ordering::Relaxed)
    }

    /// The cache these URLs live in.
    pub fn cache(&self) -> &CacheLayer {
        &self.cache
    }

    /// The view URL of an uploaded file: from the cache when a fresh entry is there, else signed
    /// (once, however many callers ask at the same moment) and cached.
    pub async fn url_for(&self, file: &StoredFile) -> DomainResult<SignedUrl> {
        let found = self
            .cache
            .lookup(&FILE_URLS, &file.id.to_string(), || async {
                tracing::info!(file_id = %file.id, "generating new signed URL for file {} (cache miss)", file.id);
                let url = self.sign(file).await?;
                Ok(CachedUrl::new(&url, &self.policy))
            })
            .await?;
        if found.hit {
            tracing::debug!(file_id = %file.id, "using cached URL for file {}", file.id);
        } else {
            self.index(&[(file.id, found.value.leaves_cache_at(&self.policy))])
                .await;
        }
        unusable(found.value.signed(), file.id)
    }

    /// The view URLs of many uploaded files: one cache round trip, then the misses signed in
    /// parallel and written back in one pipeline.
    pub async fn urls_for(&self, files: &[StoredFile]) -> DomainResult<HashMap<FileId, SignedUrl>> {
        let keys: Vec<String> = files.iter().map(|f| f.id.to_string()).collect();
        let found = self
            .cache
            .lookup_many(&FILE_URLS, &keys, |missing| async move {
                let missing: Vec<StoredFile> = missing.iter().map(|i| files[*i].clone()).collect();
                for file in &missing {
                    tracing::info!(file_id = %file.id, "generating new signed URL for file {} (cache miss)", file.id);
                }
                let signed = self.sign_many(&missing).await?;
                Ok(signed
                    .iter()
                    .map(|url| CachedUrl::new(url, &self.policy))
                    .collect())
            })
            .await?;
        let mut urls = HashMap::with_capacity(files.len());
        let mut signed = Vec::new();
        for (file, found) in files.iter().zip(found) {
            if found.hit {
                tracing::debug!(file_id = %file.id, "using cached URL for file {}", file.id);
            } else {
                signed.push((file.id, found.value.leaves_cache_at(&self.policy)));
            }
            urls.insert(file.id, unusable(found.value.signed(), file.id)?);
        }
        self.index(&signed).await;
        Ok(urls)
    }

    /// Fresh URLs for these files, as cache entries keyed by file id.
    async fn signed_entries(&self, files: &[StoredFile]) -> DomainResult<Vec<(String, CachedUrl)>> {
        let signed = self.sign_many(files).await?;
        Ok(files
            .iter()
            .zip(&signed)
            .map(|(file, url)| (file.id.to_string(), CachedUrl::new(url, &self.policy)))
            .collect())
    }

    /// Signs fresh URLs for these files and caches them, whatever is cached now (warm, refresh).
    /// Answers how many were cached.
    pub async fn resign(&self, files: &[StoredFile]) -> DomainResult<usize> {
        let entries = self.signed_entries(files).await?;
        let scores: Vec<(FileId, i64)> = files
            .iter()
            .zip(&entries)
            .map(|(file, (_, url))| (file.id, url.leaves_cache_at(&self.policy)))
            .collect();
        // The entries and their places in the expiry index are written side by side, not one
        // round trip after the other (warm writes 1000 of each per call). An index member whose
        // entry could not be written costs nothing: refresh finds no entry and drops it.
        let (cached, ()) = futures::join!(
            self.cache.put_many(&FILE_URLS, &entries),
            self.index(&scores)
        );
        if cached > 0 {
            tracing::info!(count = cached, "cached {cached} file URLs");
        }
        Ok(cached)
    }

    /// Signs fresh URLs for these files and stores them only where their entries are still
    /// cached (`SET … XX`): a file deleted while this runs keeps no entry. Answers the ids
    /// whose entries were replaced and the ids that had none any more (dropped from the index).
    pub async fn resign_cached(
        &self,
        files: &[StoredFile],
    ) -> DomainResult<(Vec<FileId>, Vec<FileId>)> {
        let entries = self.signed_entries(files).await?;
        let stored = self.cache.replace_many(&FILE_URLS, &entries).await;
        let mut replaced = Vec::new();
        let mut scores = Vec::new();
        let mut gone = Vec::new();
        for ((file, (_, url)), stored) in files.iter().zip(&entries).zip(stored) {
            if stored {
                replaced.push(file.id);
                scores.push((file.id, url.leaves_cache_at(&self.policy)));
            } else {
                gone.push(file.id);
            }
        }
        self.index(&scores).await;
        self.unindex(&gone).await;
        Ok((replaced, gone))
    }

    /// Removes a file's cached URL at once (delete, replace), and its place in the index.
    pub async fn evict(&self, id: FileId) {
        self.cache.forget(&FILE_URLS, &[id.to_string()]).await;
        self.unindex(&[id]).await;
    }

    /// The files whose cached URLs leave the cache within `within` from now (or are already
    /// gone), soonest first: read from [`EXPIRY_INDEX`], never from the TTL of every entry.
    pub async fn expiring(&self, within: Duration) -> Result<Vec<FileId>, CacheError> {
        let until =
            self.cache.now().timestamp() + i64::try_from(within.as_secs()).unwrap_or(i64::MAX / 2);
        let members = self
            .cache
            .cache()
            .zrange_by_score(EXPIRY_INDEX, until as f64)
            .await?;
        let mut ids = Vec::with_capacity(members.len());
        let mut junk = Vec::new();
        for (member, _) in members {
            match member.parse() {
                Ok(id) => ids.push(FileId(id)),
                Err(_) => junk.push(member),
            }
        }
        if !junk.is_empty() {
            let _ = self.cache.cache().zrem(EXPIRY_INDEX, &junk).await;
        }
        Ok(ids)
    }

    /// Records when these files' entries leave the cache. A failure only costs the refresh of
    /// those entries: they expire and are signed again on their next read.
    async fn index(&self, scores: &[(FileId, i64)]) {
        if scores.is_empty() {
            return;
        }
        let members: Vec<(String, f64)> = scores
            .iter()
            .map(|(id, at)| (id.to_string(), *at as f64))
            .collect();
        // The index outlives every entry it names by a minute.
        let ttl = self.policy.cache_ttl + Duration::from_secs(60);
        if let Err(e) = self
            .cache
            .cache()
            .zset_scores(EXPIRY_INDEX, &members, ttl)
            .await
        {
            tracing::debug!(error = %e, "could not record cached URLs in the expiry index");
        }
    }

    /// Drops files from the index (their entries were deleted or are gone).
    pub async fn unindex(&self, ids: &[FileId]) {
        if ids.is_empty() {
            return;
        }
        let members: Vec<String> = ids.iter().map(ToString::to_string).collect();
        if let Err(e) = self.cache.cache().zrem(EXPIRY_INDEX, &members).await {
            tracing::debug!(error = %e, "could not drop files from the expiry index");
        }
    }

    /// Signs one URL.
    async fn sign(&self, file: &StoredFile) -> DomainResult<SignedUrl> {
        self.signatures.fetch_add(1, Ordering::Relaxed);
        self.objects
            .presign_get(&file.object_key, self.policy.url_expires, &view_options(file))
            .await
            .inspect_err(|e| {
                tracing::error!(file_id = %file.id, error = %e, "failed to generate signed URL for file {}", file.id);
            })
    }

    /// Signs many URLs in one call to the store (which may sign a batch far more cheaply than
    /// one URL at a time), in the order of `files`.
    async fn sign_many(&self, files: &[StoredFile]) -> DomainResult<Vec<SignedUrl>> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let objects: Vec<(&str, GetUrlOptions)> = files
            .iter()
            .map(|f| (f.object_key.as_str(), view_options(f)))
            .collect();
        self.signatures
            .fetch_add(files.len() as u64, Ordering::Relaxed);
        self.objects
            .presign_gets(&objects, self.policy.url_expires)
            .await
            .inspect_err(|e| {
                tracing::error!(count = files.len(), error = %e, "failed to generate signed URLs for {} files", files.len());
            })
    }
}

/// A stored URL whose expiry does not parse cannot be served.
fn unusable(url: Option<SignedUrl>, id: FileId) -> DomainResult<SignedUrl> {
    url.ok_or_else(|| {
        DomainError::Unexpected(anyhow::anyhow!(
            "the cached URL of file {id} has no valid expiry"
        ))
    })
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
    use crate::shared::cache::Cache;
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
                url: format!("https://objects.test/{key}?n={n}").into(),
                expires_at: after(Utc::now(), expires),
            })
        }
    }

    fn layer(cache: &Arc<MapCache>) -> CacheLayer {
        CacheLayer::new(
            Arc::clone(cache) as Arc<dyn Cache>,
            Arc::new(SystemClock),
            crate::shared::cached::TtlClasses::default(),
        )
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
            layer(&cache),
            signer.clone(),
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
        assert_eq!(urls.signatures(), 1);
        assert!(cache.0.lock().unwrap().contains_key("file_url:7"));
        // A later read is a hit.
        urls.url_for(&file(7)).await.unwrap();
        assert_eq!(signer.0.load(Ordering::SeqCst), 1);
        assert_eq!(urls.cache().counters(&FILE_URLS).hits(), 1);
    }

    #[tokio::test]
    async fn an_entry_below_the_safety_floor_is_signed_again() {
        let cache = Arc::new(MapCache::default());
        let signer = Arc::new(SlowSigner::default());
        let urls = FileUrls::new(layer(&cache), signer.clone(), UrlPolicy::default());
        let now = Utc::now().timestamp();
        let stale = serde_json::json!({"url": "https://old", "expires_at": now + 299, "serve_until": now - 1})
            .to_string();
        cache
            .set("file_url:3", &stale, Duration::from_secs(60))
            .await
            .unwrap();
        let url = urls.url_for(&file(3)).await.unwrap();
        assert_ne!(&*url.url, "https://old");
        assert_eq!(signer.0.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn every_cached_url_is_in_the_expiry_index_until_its_entry_goes() {
        let cache = Arc::new(MapCache::default());
        let urls = FileUrls::new(
            layer(&cache),
            Arc::new(SlowSigner::default()),
            UrlPolicy::default(),
        );
        urls.url_for(&file(1)).await.unwrap();
        urls.urls_for(&[file(1), file(2)]).await.unwrap();
        urls.resign(&[file(3)]).await.unwrap();
        let now = Utc::now().timestamp();
        let index = cache.zrange_by_score(EXPIRY_INDEX, f64::MAX).await.unwrap();
        let ids: Vec<&str> = index.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        for (_, score) in &index {
            // A cache TTL (45 min) from now, give or take the test's own time.
            assert!((*score as i64 - (now + 2700)).abs() <= 2, "{score}");
        }
        assert!(urls.expiring(REFRESH_WINDOW).await.unwrap().is_empty());
        urls.evict(FileId(2)).await;
        let left: Vec<String> = cache
            .zrange_by_score(EXPIRY_INDEX, f64::MAX)
            .await
            .unwrap()
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(left, ["1", "3"]);
        // An entry about to leave is found.
        cache
            .zset_scores(
                EXPIRY_INDEX,
                &[("3".into(), (now + 100) as f64)],
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(urls.expiring(REFRESH_WINDOW).await.unwrap(), [FileId(3)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_deleted_while_it_is_re_signed_does_not_come_back() {
        let cache = Arc::new(MapCache::default());
        let urls = Arc::new(FileUrls::new(
            layer(&cache),
            Arc::new(SlowSigner::default()),
            UrlPolicy::default(),
        ));
        urls.url_for(&file(5)).await.unwrap();
        urls.url_for(&file(6)).await.unwrap();
        let resigning = {
            let urls = Arc::clone(&urls);
            tokio::spawn(async move { urls.resign_cached(&[file(5), file(6)]).await.unwrap() })
        };
        // The file is deleted while its URL is being signed (the signer takes 20 ms).
        tokio::time::sleep(Duration::from_millis(5)).await;
        urls.evict(FileId(5)).await;
        let (replaced, gone) = resigning.await.unwrap();
        assert_eq!((replaced, gone), (vec![FileId(6)], vec![FileId(5)]));
        assert_eq!(
            cache.value("file_url:5"),
            None,
            "no entry for a deleted file"
        );
        let left = cache.zrange_by_score(EXPIRY_INDEX, f64::MAX).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].0, "6");
    }

    /// The refresh window of the admin call, five minutes.
    const REFRESH_WINDOW: Duration = Duration::from_secs(300);

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
