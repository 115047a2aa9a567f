//! The local-disk object store (no `S3_BUCKET`): objects are files under a root directory and
//! their URLs are signed by the server itself (HMAC-SHA256 over method, key, expiry, the
//! response headers and, for uploads, the length) and served by the server's
//! `/api/objects/{key}` route. Keys are checked before any path is built, so no URL can reach
//! outside the root.
//!
//! An upload URL works once: a PUT never replaces an object (see [`IncomingObject::commit`]), so
//! once the bytes are stored, and after the upload is completed, the URL can change nothing. A
//! client whose PUT failed may PUT again, since a failed PUT stores nothing.

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
    /// The exact length of the body to upload (PUT only).
    #[serde(default)]
    pub length: Option<u64>,
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
    /// The upload URL was used already: its object is stored.
    Used,
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
        length: Option<u64>,
    ) -> Hmac<Sha256> {
        // Length-prefixed fields: no two different inputs share a message. The upload length is
        // a sixth field only when there is one, so GET URLs signed (and cached) before it
        // existed still verify, while a PUT URL cannot lose or change its length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        let expires = expires.to_string();
        let length = length.map(|n| n.to_string());
        let fields = [method, key, &expires, content_type, disposition];
        for field in fields.into_iter().chain(length.as_deref()) {
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
        length: Option<u64>,
    ) -> DomainResult<SignedUrl> {
        let path = checked_key(key)
            .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("invalid object key")))?;
        let expires_at = after(self.clock.now(), expires_in);
        let expires = expires_at.timestamp();
        let signature = hex::encode(
            self.mac(method, key, expires, content_type, disposition, length)
                .finalize()
                .into_bytes(),
        );
        let encoded_key: Vec<String> = path
            .iter()
            .map(|s| utf8_percent_encode(s, QUERY_VALUE).to_string())
            .collect();
        let length = length.map(|n| format!("&length={n}")).unwrap_or_default();
        let url = format!(
            "{}{}/{}?method={}&expires={}&content_type={}&disposition={}{}&signature={}",
            self.base_url,
            OBJECTS_ROUTE,
            encoded_key.join("/"),
            method,
            expires,
            utf8_percent_encode(content_type, QUERY_VALUE),
            utf8_percent_encode(disposition, QUERY_VALUE),
            length,
            signature
        );
        Ok(SignedUrl {
            url: url.into(),
            expires_at,
        })
    }

    /// Checks a signed request for `key` with `method`; answers the object's path when it may
    /// proceed. A PUT URL must carry the length it was signed for.
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
            query.length,
        )
        .verify_slice(&signature)
        .map_err(|_| Refusal::BadSignature)?;
        if query.method != method || (method == "PUT" && query.length.is_none()) {
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
    async fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
        let mut incoming = IncomingObject::create(path).await?;
        incoming.write(body).await?;
        incoming.finish().await?;
        tokio::fs::rename(&incoming.tmp, path).await?;
        incoming.done = true;
        Ok(())
    }
}

/// An object being received: its bytes go to a temporary file beside the object's path, which
/// becomes the object only on [`IncomingObject::commit`], so readers never see half an object.
/// Dropped before that (an error, a refused body, a client that went away and took the request
/// future with it), the temporary file is removed.
#[derive(Debug)]
pub struct IncomingObject {
    path: PathBuf,
    tmp: PathBuf,
    file: tokio::fs::File,
    written: u64,
    /// The temporary file is gone (renamed or linked into place and removed).
    done: bool,
}

impl IncomingObject {
    /// Starts receiving the object at `path` (as [`LocalObjects::verify`] answered it).
    pub async fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        // In the object's own directory, so linking it into place never crosses a filesystem.
        let tmp = path.with_extension(format!("part-{}", uuid::Uuid::new_v4()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            file,
            written: 0,
            done: false,
        })
    }

    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.file.write_all(chunk).await?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    /// The bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes the bytes the object, unless an object is there already: that answers an error
    /// of kind [`std::io::ErrorKind::AlreadyExists`] and stores nothing.
    ///
    /// Linking the finished file to its final name fails when the name exists, atomically, where
    /// a check followed by a rename would let two concurrent PUTs both pass the check. This is
    /// what makes an upload URL work once: no PUT can replace what an earlier one stored (or
    /// what a completed upload serves).
    pub async fn commit(mut self) -> std::io::Result<()> {
        self.finish().await?;
        tokio::fs::hard_link(&self.tmp, &self.path).await?;
        tokio::fs::remove_file(&self.tmp).await?;
        self.done = true;
        Ok(())
    }

    /// Flushes the bytes to disk.
    async fn finish(&mut self) -> std::io::Result<()> {
        self.file.flush().await?;
        self.file.sync_all().await
    }
}

impl Drop for IncomingObject {
    fn drop(&mut self) {
        if !self.done {
            // Drop cannot await; unlinking one file does not block for long.
            if let Err(e) = std::fs::remove_file(&self.tmp) {
                tracing::warn!(error = %e, path = %self.tmp.display(), "could not remove a partial upload");
            }
        }
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
            None,
        )
    }

    async fn presign_upload(
        &self,
        key: &str,
        expires: Duration,
        content_type: &str,
        size: u64,
    ) -> DomainResult<SignedUrl> {
        self.sign("PUT", key, expires, content_type, "", Some(size))
    }

    /// The object stays where it is: a PUT never replaces an object, so once stored it is out of
    /// its URL's reach already.
    async fn seal_upload(&self, key: &str, _sealed_key: &str) -> DomainResult<Option<String>> {
        Ok(self.head(key).await?.map(|_| key.to_owned()))
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
            length: pairs.get("length").map(|n| n.parse().unwrap()),
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

    #[tokio::test]
    async fn an_upload_url_fixes_its_length_and_cannot_lose_it() {
        let (_dir, store) = store();
        let signed = store
            .presign_upload(
                "uploads/general/x.zip",
                Duration::from_secs(60),
                "application/zip",
                1234,
            )
            .await
            .unwrap();
        let (key, query) = query_of(&signed.url);
        assert_eq!(query.length, Some(1234));
        let now = Utc::now();
        assert!(store.verify("PUT", &key, &query, now).is_ok());
        for length in [None, Some(1235)] {
            let edited = SignedQuery {
                length,
                ..query.clone()
            };
            assert_eq!(
                store.verify("PUT", &key, &edited, now),
                Err(Refusal::BadSignature)
            );
        }
        let options = GetUrlOptions {
            content_type: "application/zip".into(),
            content_disposition: "attachment".into(),
        };
        let get = store
            .presign_get(&key, Duration::from_secs(60), &options)
            .await
            .unwrap();
        let (_, get) = query_of(&get.url);
        assert_eq!(get.length, None, "GET URLs carry no length");
        let as_put = SignedQuery {
            method: "PUT".into(),
            ..get
        };
        assert_eq!(
            store.verify("PUT", &key, &as_put, now),
            Err(Refusal::BadSignature),
            "a GET URL is no PUT URL, with or without a length"
        );
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn an_incoming_object_never_replaces_one_and_leaves_nothing_when_dropped() {
        let (dir, _store) = store();
        let path = dir.path().join("uploads").join("a.bin");
        let mut first = IncomingObject::create(&path).await.unwrap();
        first.write(b"first").await.unwrap();
        assert_eq!(first.written(), 5);
        first.commit().await.unwrap();

        let mut second = IncomingObject::create(&path).await.unwrap();
        second.write(b"second").await.unwrap();
        let refused = second.commit().await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");

        let mut dropped = IncomingObject::create(&dir.path().join("uploads").join("b.bin"))
            .await
            .unwrap();
        dropped.write(b"half").await.unwrap();
        drop(dropped);
        assert_eq!(names_in(&dir.path().join("uploads")), vec!["a.bin"]);
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
