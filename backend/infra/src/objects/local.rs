//! The local-disk object store (no `S3_BUCKET`): objects are files under a root directory and
//! their URLs are signed by the server itself (HMAC-SHA256 over method, key, expiry and the
//! response headers) and served by the server's `/api/objects/{key}` route. Keys are checked
//! before any path is built, so no URL can reach outside the root.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use tessera_domain::files::{GetUrlOptions, ObjectMeta, ObjectStore, SignedUrl};
use tessera_domain::shared::time::{after, Clock};
use tessera_domain::shared::{DomainError, DomainResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The route prefix the server serves local objects under.
pub const OBJECTS_ROUTE: &str = "/api/objects";

const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The local-disk implementation of the object store port.
#[derive(Clone)]
pub struct LocalObjects {
    root: PathBuf,
    base_url: String,
    key: Arc<[u8]>,
    clock: Arc<dyn Clock>,
}

/// The query of a signed local-object URL.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SignedQuery {
    /// `GET` or `PUT`.
    pub method: String,
    /// Unix seconds after which the URL is refused.
    pub expires: i64,
    /// Response content type (GET) or the content type to upload (PUT).
    pub content_type: String,
    /// Response content disposition (GET only; empty for PUT).
    #[serde(default)]
    pub disposition: String,
    /// Hex HMAC-SHA256 of the above and the key.
    pub signature: String,
}

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The signature does not match (tampered or for another method).
    BadSignature,
    /// The URL has expired.
    Expired,
    /// The key is not a valid object key.
    BadKey,
}

impl LocalObjects {
    /// A store under `root`, whose URLs start with `base_url` and are signed with `signing_key`.
    pub fn new(
        root: PathBuf,
        base_url: &str,
        signing_key: &[u8],
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create the object directory {}", root.display()))?;
        Ok(Self {
            root,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: Arc::from(signing_key),
            clock,
        })
    }

    fn mac(
        &self,
        method: &str,
        key: &str,
        expires: i64,
        content_type: &str,
        disposition: &str,
    ) -> Hmac<Sha256> {
        // Length-prefixed fields: no two different inputs share a message.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for field in [method, key, &expires.to_string(), content_type, disposition] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    fn sign(
        &self,
        method: &str,
        key: &str,
        expires_in: Duration,
        content_type: &str,
        disposition: &str,
    ) -> DomainResult<SignedUrl> {
        let path = checked_key(key)
            .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("invalid object key")))?;
        let expires_at = after(self.clock.now(), expires_in);
        let expires = expires_at.timestamp();
        let signature = hex::encode(
            self.mac(method, key, expires, content_type, disposition)
                .finalize()
                .into_bytes(),
        );
        let encoded_key: Vec<String> = path
            .iter()
            .map(|s| utf8_percent_encode(s, QUERY_VALUE).to_string())
            .collect();
        let url = format!(
            "{}{}/{}?method={}&expires={}&content_type={}&disposition={}&signature={}",
            self.base_url,
            OBJECTS_ROUTE,
            encoded_key.join("/"),
            method,
            expires,
            utf8_percent_encode(content_type, QUERY_VALUE),
            utf8_percent_encode(disposition, QUERY_VALUE),
            signature
        );
        Ok(SignedUrl { url, expires_at })
    }

    /// Checks a signed request for `key` with `method`; answers the object's path when it may proceed.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        query: &SignedQuery,
        now: DateTime<Utc>,
    ) -> Result<PathBuf, Refusal> {
        let segments = checked_key(key).ok_or(Refusal::BadKey)?;
        let signature = hex::decode(&query.signature).map_err(|_| Refusal::BadSignature)?;
        // verify_slice compares in constant time.
        self.mac(
            method,
            key,
            query.expires,
            &query.content_type,
            &query.disposition,
        )
        .verify_slice(&signature)
        .map_err(|_| Refusal::BadSignature)?;
        if query.method != method {
            return Err(Refusal::BadSignature);
        }
        if now.timestamp() > query.expires {
            return Err(Refusal::Expired);
        }
        Ok(segments
            .iter()
            .fold(self.root.clone(), |path, s| path.join(s)))
    }

    fn path(&self, key: &str) -> DomainResult<PathBuf> {
        let segments = checked_key(key)
            .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("invalid object key")))?;
        Ok(segments
            .iter()
            .fold(self.root.clone(), |path, s| path.join(s)))
    }

    /// Writes `body` to `path` through a temporary file, so readers never see half an object.
    pub async fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let tmp = path.with_extension(format!("part-{}", uuid::Uuid::new_v4()));
        let mut file = tokio::fs::File::create(&tmp).await?;
        file.write_all(body).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, path).await
    }
}

/// A key for one purpose derived from the server secret (HMAC-SHA256), so one secret never
/// signs two kinds of thing.
pub fn derive_key(secret: &[u8], purpose: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(purpose);
    mac.finalize().into_bytes().to_vec()
}

/// The segments of a valid object key: 1 to 512 bytes of `[A-Za-z0-9._-]` segments joined by
/// `/`, none empty, none `.` or `..`.
pub fn checked_key(key: &str) -> Option<Vec<&str>> {
    if key.is_empty() || key.len() > 512 {
        return None;
    }
    let segments: Vec<&str> = key.split('/').collect();
    let valid = segments.iter().all(|s| {
        !s.is_empty()
            && *s != "."
            && *s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    valid.then_some(segments)
}

fn io_error(e: std::io::Error) -> DomainError {
    DomainError::Unexpected(anyhow::Error::new(e).context("local object store"))
}

#[async_trait]
impl ObjectStore for LocalObjects {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn ping(&self) -> DomainResult<()> {
        let meta = tokio::fs::metadata(&self.root)
            .await
            .map_err(|_| DomainError::Unavailable("the object directory".into()))?;
        if meta.is_dir() && !meta.permissions().readonly() {
            Ok(())
        } else {
            Err(DomainError::Unavailable("the object directory".into()))
        }
    }

    async fn put(&self, key: &str, body: Bytes, _content_type: &str) -> DomainResult<()> {
        Self::write_atomically(&self.path(key)?, &body)
            .await
            .map_err(io_error)
    }

    async fn head(&self, key: &str) -> DomainResult<Option<ObjectMeta>> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectMeta { size: meta.len() })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn read_prefix(&self, key: &str, len: usize) -> DomainResult<Bytes> {
        let file = tokio::fs::File::open(self.path(key)?)
            .await
            .map_err(io_error)?;
        let mut buf = Vec::with_capacity(len);
        file.take(len as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(io_error)?;
        Ok(Bytes::from(buf))
    }

    async fn delete(&self, key: &str) -> DomainResult<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
        options: &GetUrlOptions,
    ) -> DomainResult<SignedUrl> {
        self.sign(
            "GET",
            key,
            expires,
            &options.content_type,
            &options.content_disposition,
        )
    }

    async fn presign_put(
        &self,
        key: &str,
        expires: Duration,
        content_type: &str,
    ) -> DomainResult<SignedUrl> {
        self.sign("PUT", key, expires, content_type, "")
    }
}

#[cfg(test)]
mod tests {
    use tessera_domain::shared::time::SystemClock;

    use super::*;

    fn store() -> (tempfile::TempDir, LocalObjects) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalObjects::new(
            dir.path().to_path_buf(),
            "http://127.0.0.1:8080/",
            b"secret",
            Arc::new(SystemClock),
        )
        .unwrap();
        (dir, store)
    }

    fn query_of(url: &str) -> (String, SignedQuery) {
        let url = url::Url::parse(url).unwrap();
        let key = url.path().strip_prefix("/api/objects/").unwrap().to_owned();
        (key, serde_urlencoded_like(url.query().unwrap()))
    }

    fn serde_urlencoded_like(query: &str) -> SignedQuery {
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        SignedQuery {
            method: pairs["method"].clone(),
            expires: pairs["expires"].parse().unwrap(),
            content_type: pairs["content_type"].clone(),
            disposition: pairs["disposition"].clone(),
            signature: pairs["signature"].clone(),
        }
    }

    #[tokio::test]
    async fn a_signed_url_verifies_and_any_edit_is_refused() {
        let (_dir, store) = store();
        let options = GetUrlOptions {
            content_type: "application/pdf".into(),
            content_disposition: "inline; filename=\"a.pdf\"".into(),
        };
        let signed = store
            .presign_get("material/2026/11/x.pdf", Duration::from_secs(60), &options)
            .await
            .unwrap();
        let (key, query) = query_of(&signed.url);
        let now = Utc::now();
        assert!(store.verify("GET", &key, &query, now).is_ok());
        assert_eq!(
            store.verify("PUT", &key, &query, now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            store.verify("GET", "material/2026/11/y.pdf", &query, now),
            Err(Refusal::BadSignature)
        );
        let edited = SignedQuery {
            content_type: "text/html".into(),
            ..query.clone()
        };
        assert_eq!(
            store.verify("GET", &key, &edited, now),
            Err(Refusal::BadSignature)
        );
        let later = SignedQuery {
            expires: query.expires + 3600,
            ..query.clone()
        };
        assert_eq!(
            store.verify("GET", &key, &later, now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            store.verify("GET", &key, &query, now + chrono::TimeDelta::seconds(120)),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn keys_cannot_leave_the_root() {
        for bad in [
            "",
            "../etc/passwd",
            "a/../../b",
            "/abs",
            "a//b",
            "a/./b",
            "a/b c",
            "a\\b",
            "a/%2e%2e/b",
        ] {
            assert!(checked_key(bad).is_none(), "{bad:?} should be refused");
        }
        assert_eq!(
            checked_key("avatar/2026/11/x.png").unwrap(),
            vec!["avatar", "2026", "11", "x.png"]
        );
    }

    #[tokio::test]
    async fn objects_round_trip_and_deleting_twice_is_fine() {
        let (_dir, store) = store();
        store
            .put("general/a.txt", Bytes::from_static(b"hello"), "text/plain")
            .await
            .unwrap();
        assert_eq!(
            store.head("general/a.txt").await.unwrap(),
            Some(ObjectMeta { size: 5 })
        );
        assert_eq!(
            store.read_prefix("general/a.txt", 2).await.unwrap(),
            Bytes::from_static(b"he")
        );
        store.delete("general/a.txt").await.unwrap();
        store.delete("general/a.txt").await.unwrap();
        assert_eq!(store.head("general/a.txt").await.unwrap(), None);
    }
}
