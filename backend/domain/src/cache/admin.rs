//! The admin cache operations of seed `001`: stats, clear, warm, refresh.

use std::sync::Arc;
use std::time::Duration;

use crate::access::Actor;
use crate::accounts::api_tokens::TOKEN_LOOKUPS;
use crate::accounts::PROFILES;
use crate::dashboard::DASHBOARDS;
use crate::files::urls::{file_url_key, FileUrls, EXPIRY_INDEX, FILE_URLS, FILE_URL_NAMESPACE};
use crate::files::{FileRepo, FileType, FILE_ROWS};
use crate::jobs::Lease;
use crate::materials::MATERIALS;
use crate::members::MEMBER_LISTS;
use crate::org::ORG_TREE;
use crate::posts::POST_LISTS;
use crate::shared::cache::{CacheBackend, CacheInfo};
use crate::shared::cached::Namespace;
use crate::shared::{DomainError, DomainResult, FileId};

/// How many files `warm {}` caches: the newest hundred, as the original.
pub const WARM_DEFAULT_COUNT: u32 = 100;
/// The most ids one `warm {"file_ids":[…]}` takes.
pub const WARM_MAX_IDS: usize = 1000;
/// `refresh` re-signs entries with less cache life left than this (5 minutes, as the original).
pub const REFRESH_BELOW: Duration = Duration::from_secs(300);

/// Every cache namespace the contexts declare: what stats show and `clear` may name. A new
/// namespace is one more line here.
pub static NAMESPACES: &[&Namespace] = &[
    &FILE_URLS,
    &MATERIALS,
    &MEMBER_LISTS,
    &ORG_TREE,
    &DASHBOARDS,
    &POST_LISTS,
    &PROFILES,
    &TOKEN_LOOKUPS,
    &FILE_ROWS,
];

/// The namespace called `name`.
pub fn namespace(name: &str) -> Option<&'static Namespace> {
    NAMESPACES.iter().copied().find(|ns| ns.name == name)
}

/// Hit and miss counts of one namespace, and how many entries it holds.
#[derive(Debug, Clone)]
pub struct NamespaceStats {
    /// The namespace (`file_url`).
    pub namespace: &'static str,
    /// Hits counted by this instance.
    pub hits: u64,
    /// Misses counted by this instance.
    pub misses: u64,
    /// Its entries now (`None` when the cache could not be asked).
    pub entries: Option<u64>,
}

impl NamespaceStats {
    /// Hits over lookups, 0 when there were none.
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

/// Everything the stats endpoint shows.
#[derive(Debug, Clone)]
pub struct CacheStats {
    /// Which cache is in use.
    pub backend: CacheBackend,
    /// Whether the cache is failing and being skipped.
    pub degraded: bool,
    /// Per-namespace counts, in the order of [`NAMESPACES`].
    pub namespaces: Vec<NamespaceStats>,
    /// URLs signed since start.
    pub signatures: u64,
    /// What the backend reports (`None` when it could not be asked).
    pub info: Option<CacheInfo>,
    /// The cache TTL of URLs, in seconds.
    pub file_url_cache_ttl: u64,
    /// The validity of signed URLs, in seconds.
    pub file_url_expires: u64,
}

impl CacheStats {
    /// The counts of one namespace.
    pub fn namespace(&self, name: &str) -> Option<&NamespaceStats> {
        self.namespaces.iter().find(|n| n.namespace == name)
    }
}

/// What `clear` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearTarget {
    /// One file's URL.
    File(FileId),
    /// Every entry of a namespace (`file_url` by default).
    Namespace(&'static Namespace),
}

/// What `warm` caches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarmTarget {
    /// The newest files (of one type, if given).
    Newest(Option<FileType>),
    /// These files (those of one type, if given).
    Files(Vec<FileId>, Option<FileType>),
}

/// The cache administration service; every call needs an administrator.
pub struct CacheAdmin {
    files: Arc<dyn FileRepo>,
    urls: Arc<FileUrls>,
}

impl CacheAdmin {
    /// The service over the file rows and the URL cache (whose layer holds every namespace).
    pub fn new(files: Arc<dyn FileRepo>, urls: Arc<FileUrls>) -> Self {
        Self { files, urls }
    }

    /// Counts, memory and health of the cache.
    pub async fn stats(&self, actor: &Actor) -> DomainResult<CacheStats> {
        actor.require_admin()?;
        let layer = self.urls.cache();
        let cache = layer.cache();
        let mut namespaces = Vec::with_capacity(NAMESPACES.len());
        for ns in NAMESPACES {
            let counters = layer.counters(ns);
            namespaces.push(NamespaceStats {
                namespace: ns.name,
                hits: counters.hits(),
                misses: counters.misses(),
                entries: layer.entries(ns).await,
            });
        }
        let policy = self.urls.policy();
        Ok(CacheStats {
            backend: cache.backend(),
            degraded: cache.is_degraded(),
            namespaces,
            signatures: self.urls.signatures(),
            info: cache.info().await.ok(),
            file_url_cache_ttl: policy.cache_ttl.as_secs(),
            file_url_expires: policy.url_expires.as_secs(),
        })
    }

    /// Removes cached entries; answers how many existed. Namespaces that keep tombstones
    /// (profiles, token lookups) cannot be cleared: they are refused, not emptied.
    pub async fn clear(&self, actor: &Actor, target: ClearTarget) -> DomainResult<u64> {
        actor.require_admin()?;
        let layer = self.urls.cache();
        let cleared = match target {
            ClearTarget::File(id) => {
                let cleared = layer
                    .cache()
                    .delete(&[file_url_key(id)])
                    .await
                    .map_err(unavailable)?;
                self.urls.unindex(&[id]).await;
                cleared
            }
            ClearTarget::Namespace(ns) if !ns.clearable() => {
                return Err(DomainError::invalid(
                    "namespace",
                    format!(
                        "{} cannot be cleared: it keeps tombstones of changes",
                        ns.name
                    ),
                ))
            }
            ClearTarget::Namespace(ns) => {
                let cleared = layer.clear(ns).await?;
                if ns.name == FILE_URL_NAMESPACE {
                    // The index is not an entry (it is not counted); it goes with them.
                    layer
                        .cache()
                        .delete(&[EXPIRY_INDEX.to_owned()])
                        .await
                        .map_err(unavailable)?;
                }
                cleared
            }
        };
        tracing::info!(cleared, "cleared {cleared} cache entries");
        Ok(cleared)
    }

    /// Signs and caches URLs ahead of use; answers how many were cached.
    pub async fn warm(&self, actor: &Actor, target: WarmTarget) -> DomainResult<usize> {
        actor.require_admin()?;
        self.warm_files(target).await
    }

    /// [`CacheAdmin::warm`] for the system itself (the warm-on-deploy job), no caller.
    pub async fn warm_files(&self, target: WarmTarget) -> DomainResult<usize> {
        let files = match target {
            WarmTarget::Newest(file_type) => {
                self.files
                    .newest_files(file_type, WARM_DEFAULT_COUNT)
                    .await?
            }
            WarmTarget::Files(ids, file_type) => {
                if ids.len() > WARM_MAX_IDS {
                    return Err(DomainError::invalid(
                        "file_ids",
                        format!("at most {WARM_MAX_IDS} ids at a time"),
                    ));
                }
                // The cache's ping goes out while the rows are read: one round trip less.
                let (files, ()) =
                    futures::try_join!(self.files.files_by_ids(&ids), self.ensure_cache_up())?;
                let mut files = files;
                files.retain(|f| file_type.is_none_or(|t| f.file_type == t));
                return self.urls.resign(&files).await;
            }
        };
        self.ensure_cache_up().await?;
        self.urls.resign(&files).await
    }

    /// Re-signs the cached URLs whose entries have less than five minutes to live; entries of
    /// files that no longer exist are removed. Answers how many were refreshed.
    pub async fn refresh(&self, actor: &Actor) -> DomainResult<usize> {
        actor.require_admin()?;
        self.refresh_expiring(None).await
    }

    /// [`CacheAdmin::refresh`] for the system itself (the refresh job). The entries about to
    /// expire come from the expiry index (`ZRANGEBYSCORE`), never from the TTL of every entry;
    /// an id whose entry is gone, or whose file is, leaves the index. Re-signed URLs are only
    /// stored where their entries still are (`SET … XX`), so a file deleted meanwhile keeps
    /// none. With a lease (the job's lock), each batch is written only while the lock still
    /// holds the lease's token; a run that lost it stops.
    pub async fn refresh_expiring(&self, lease: Option<&Lease>) -> DomainResult<usize> {
        const BATCH: usize = 500;
        let layer = self.urls.cache();
        let cache = layer.cache();
        let expiring = self
            .urls
            .expiring(REFRESH_BELOW)
            .await
            .map_err(unavailable)?;
        let mut refreshed = 0;
        for chunk in expiring.chunks(BATCH) {
            let keys: Vec<String> = chunk.iter().map(|id| file_url_key(*id)).collect();
            let cached = cache.get_many(&keys).await.map_err(unavailable)?;
            let (present, absent): (Vec<_>, Vec<_>) = chunk
                .iter()
                .zip(cached)
                .partition(|(_, value)| value.is_some());
            let absent: Vec<FileId> = absent.into_iter().map(|(id, _)| *id).collect();
            self.urls.unindex(&absent).await;
            let present: Vec<FileId> = present.into_iter().map(|(id, _)| *id).collect();
            if present.is_empty() {
                continue;
            }
            let files = self.files.files_by_ids(&present).await?;
            let gone: Vec<FileId> = present
                .iter()
                .filter(|id| !files.iter().any(|f| f.id == **id))
                .copied()
                .collect();
            if !gone.is_empty() {
                let keys: Vec<String> = gone.iter().map(|id| file_url_key(*id)).collect();
                cache.delete(&keys).await.map_err(unavailable)?;
                self.urls.unindex(&gone).await;
            }
            if let Some(lease) = lease {
                if !lease.still_held().await {
                    return Err(DomainError::Unexpected(anyhow::anyhow!(
                        "the job's lock expired or was taken over (fence {}); stopped after {refreshed} URLs",
                        lease.fence().token
                    )));
                }
            }
            let (replaced, _) = self.urls.resign_cached(&files).await?;
            refreshed += replaced.len();
        }
        if refreshed > 0 {
            tracing::info!(refreshed, "refreshed {refreshed} expiring URLs");
        }
        Ok(refreshed)
    }

    async fn ensure_cache_up(&self) -> DomainResult<()> {
        self.urls.cache().cache().ping().await.map_err(unavailable)
    }
}

/// The cache is down: the cause goes to the log, never to the client.
fn unavailable(e: crate::shared::cache::CacheError) -> DomainError {
    tracing::warn!(error = %e, "an admin cache call found the cache down");
    DomainError::Unavailable("the cache".into())
}
