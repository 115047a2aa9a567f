//! The object-store port: where file bytes live (S3-compatible, or the local disk) and how their
//! URLs are signed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::shared::{DomainError, DomainResult};

/// A signed URL and the instant it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUrl {
    /// The URL. It is a bearer credential: never log it. Shared, not copied, by every read of
    /// a cached URL.
    pub url: Arc<str>,
    /// When the signature (or the credential it was made with) expires, whichever is first.
    pub expires_at: DateTime<Utc>,
}

/// How a signed GET URL should make the object store answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUrlOptions {
    /// The `Content-Type` the response carries.
    pub content_type: String,
    /// The `Content-Disposition` the response carries.
    pub content_disposition: String,
}

/// What a HEAD of an object tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Size in bytes.
    pub size: u64,
}

/// Where the file bytes live.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// `s3` or `local`.
    fn kind(&self) -> &'static str;
    /// Checks the store answers (the bucket exists, the directory is writable).
    async fn ping(&self) -> DomainResult<()>;
    /// Stores an object.
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> DomainResult<()>;
    /// The object's metadata, or `None` when it does not exist.
    async fn head(&self, key: &str) -> DomainResult<Option<ObjectMeta>>;
    /// Up to `len` leading bytes of the object.
    async fn read_prefix(&self, key: &str, len: usize) -> DomainResult<Bytes>;
    /// Removes an object (absent is fine).
    async fn delete(&self, key: &str) -> DomainResult<()>;
    /// A URL that GETs the object for `expires`.
    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
        options: &GetUrlOptions,
    ) -> DomainResult<SignedUrl>;
    /// URLs that GET these objects (key and response headers) for `expires`, in the order
    /// given: what warming and refreshing many cached URLs call. The default asks
    /// [`ObjectStore::presign_get`] for each (16 at a time); a store that can sign a batch more
    /// cheaply overrides it.
    async fn presign_gets(
        &self,
        objects: &[(&str, GetUrlOptions)],
        expires: Duration,
    ) -> DomainResult<Vec<SignedUrl>> {
        const PARALLEL_SIGNING: usize = 16;
        // By index: a closure over `&(&str, …)` items makes the future not `Send` (rustc's
        // higher-ranked lifetime limitation), which every caller needs.
        futures::stream::iter(0..objects.len())
            .map(|i| self.presign_get(objects[i].0, expires, &objects[i].1))
            .buffered(PARALLEL_SIGNING)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }
    /// A URL that PUTs the object for `expires`; the PUT must carry exactly this `Content-Type`
    /// and a `Content-Length` of exactly `size`, both covered by the signature.
    ///
    /// The default refuses, so a store that does not fix the length cannot hand out upload URLs.
    async fn presign_upload(
        &self,
        _key: &str,
        _expires: Duration,
        _content_type: &str,
        _size: u64,
    ) -> DomainResult<SignedUrl> {
        Err(cannot("sign an upload URL"))
    }
    /// Puts a directly uploaded object out of its upload URL's reach and answers the key it can
    /// be read under from now on: `key` itself when the store's upload URLs cannot replace a
    /// stored object, or `sealed_key` (a key no URL was ever issued for) when the store had to
    /// copy it there. The object at `key` is left as it is: the caller removes it once the copy
    /// is recorded, so a failure before that leaves the upload to complete again. `None` when
    /// nothing was uploaded to `key`.
    ///
    /// The default refuses, so a store that cannot keep a used URL from replacing an object
    /// cannot complete direct uploads.
    async fn seal_upload(&self, _key: &str, _sealed_key: &str) -> DomainResult<Option<String>> {
        Err(cannot("seal a direct upload"))
    }
}

fn cannot(what: &str) -> DomainError {
    DomainError::Unexpected(anyhow::anyhow!("this object store cannot {what}"))
}
