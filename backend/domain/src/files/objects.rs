//! The object-store port: where file bytes live (S3-compatible, or the local disk) and how their
//! URLs are signed.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::shared::DomainResult;

/// A signed URL and the instant it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUrl {
    /// The URL. It is a bearer credential: never log it.
    pub url: String,
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
    /// A URL that PUTs the object for `expires`, with this content type.
    async fn presign_put(
        &self,
        key: &str,
        expires: Duration,
        content_type: &str,
    ) -> DomainResult<SignedUrl>;
}
