//! The S3 object store: any S3-compatible service through aws-sdk-s3 (AWS, Aliyun OSS's S3
//! endpoint, MinIO, Garage, s3s-fs…). URLs are SigV4 presigned; a URL signed with temporary
//! credentials is reported to expire when those credentials do, if that comes first. GET URLs
//! are signed directly with `aws-sigv4` once a probe shows that gives the SDK's very URLs
//! ([`super::presign`]); upload URLs, and GET URLs when the probe disagrees, go through the
//! SDK's presigner.
//!
//! A presigned PUT cannot be made single-use: until it expires it replaces the object as often as
//! it is used. So a completed direct upload is sealed by copying it to a key no URL was issued for
//! (see [`ObjectStore::seal_upload`]); later PUTs to the URL land on the upload key, which nothing
//! serves.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tessera_domain::files::{GetUrlOptions, ObjectMeta, ObjectStore, SignedUrl};
use tessera_domain::shared::time::{after, Clock};
use tessera_domain::shared::{DomainError, DomainResult};
use tokio::sync::OnceCell;

use super::presign::{probe_options, sdk_presigned_get, CredentialCache, GetSigner, PROBE_KEY};

/// Where and how to reach the S3-compatible service.
#[derive(Clone)]
pub struct S3Settings {
    /// A custom endpoint (`http://127.0.0.1:9000`); `None` for AWS itself.
    pub endpoint: Option<String>,
    /// The region (`us-east-1`).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// Static credentials; `None` uses the AWS default chain (environment, profile, IMDS…).
    pub credentials: Option<(String, String)>,
    /// Path-style URLs (`endpoint/bucket/key`), which most self-hosted services need.
    pub force_path_style: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .field("force_path_style", &self.force_path_style)
            .finish()
    }
}

/// The S3 implementation of the object store port.
#[derive(Clone)]
pub struct S3Objects {
    client: Client,
    bucket: String,
    /// The credentials signing uses, read from the chain at most once a minute.
    credentials: Option<Arc<CredentialCache>>,
    /// The direct GET signer once the probe has run: `None` inside when the probe showed URLs
    /// signed here would differ from the SDK's (then the SDK presigns every URL).
    direct: Arc<OnceCell<Option<GetSigner>>>,
    clock: Arc<dyn Clock>,
}

/// How long the probe URL is valid for: any value does, nothing fetches it.
const PROBE_EXPIRES: Duration = Duration::from_secs(3600);

impl S3Objects {
    /// A client for `settings`. Does not call the service.
    pub async fn new(settings: &S3Settings, clock: Arc<dyn Clock>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()));
        if let Some((key_id, secret)) = &settings.credentials {
            loader = loader.credentials_provider(Credentials::new(
                key_id,
                secret,
                None,
                None,
                "tessera-settings",
            ));
        }
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style)
            .build();
        Self {
            client: Client::from_conf(config),
            bucket: settings.bucket.clone(),
            credentials: shared
                .credentials_provider()
                .map(|provider| Arc::new(CredentialCache::new(provider))),
            direct: Arc::default(),
            clock,
        }
    }

    /// When the credentials used for signing expire (`None`: they do not).
    async fn credential_expiry(&self) -> Option<SystemTime> {
        self.credentials.as_ref()?.get().await.ok()?.expiry()
    }

    /// The direct GET signer, probing for it on first use; `None` when GET URLs must come from
    /// the SDK. A probe that fails for want of credentials is tried again on the next call.
    async fn direct_signer(&self) -> Option<&GetSigner> {
        self.direct
            .get_or_try_init(|| self.probe())
            .await
            .ok()?
            .as_ref()
    }

    /// Has the SDK presign [`PROBE_KEY`] with the cached credentials at a fixed time, learns
    /// the direct signer from its URL and keeps it only if it signs that very URL itself.
    /// Nothing is sent to the service, and no URL is logged.
    async fn probe(&self) -> Result<Option<GetSigner>, ()> {
        let Some(cache) = &self.credentials else {
            tracing::info!("S3 GET URLs are presigned by the SDK: no credentials provider");
            return Ok(None);
        };
        let credentials = cache.get().await.map_err(|e| {
            tracing::warn!(error = %e, "could not read S3 credentials to sign URLs");
        })?;
        let at = SystemTime::now();
        let options = probe_options();
        let presigned = sdk_presigned_get(
            &self.client,
            &credentials,
            &self.bucket,
            PROBE_KEY,
            &options,
            at,
            PROBE_EXPIRES,
        )
        .await
        .map_err(|e| tracing::warn!(error = %e, "S3 presigning probe failed"))?;
        let expected = presigned.uri();
        let signer = GetSigner::from_probe(expected)
            .filter(|_| presigned.headers().next().is_none())
            .filter(|signer| {
                signer
                    .sign(&credentials, at, PROBE_EXPIRES, [(PROBE_KEY, &options)])
                    .is_ok_and(|ours| ours.first().map(String::as_str) == Some(expected))
            });
        if signer.is_some() {
            tracing::debug!("S3 GET URLs are signed directly");
        } else {
            tracing::warn!("S3 GET URLs are presigned by the SDK: its URLs differ from those signed directly (another endpoint type or SDK version?)");
        }
        Ok(signer)
    }

    /// A GET URL from the SDK's presigner.
    async fn sdk_presign_get(
        &self,
        key: &str,
        expires: Duration,
        options: &GetUrlOptions,
    ) -> DomainResult<SignedUrl> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(&options.content_type)
            .response_content_disposition(&options.content_disposition)
            .presigned(presigning(expires)?)
            .await
            .map_err(|e| {
                s3_error(
                    "presigning GET",
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string_error(),
                )
            })?;
        Ok(self.signed(request.uri().to_owned(), expires).await)
    }

    async fn signed(&self, uri: String, expires: Duration) -> SignedUrl {
        let mut expires_at = after(self.clock.now(), expires);
        if let Some(credential_expiry) = self.credential_expiry().await {
            expires_at = expires_at.min(DateTime::<Utc>::from(credential_expiry));
        }
        SignedUrl {
            url: uri.into(),
            expires_at,
        }
    }
}

fn s3_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> DomainError {
    DomainError::Unexpected(anyhow::Error::new(e).context(format!("S3 {what} failed")))
}

/// What a copy source may carry unencoded: the key's own characters and its `/`.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn presigning(expires: Duration) -> DomainResult<PresigningConfig> {
    PresigningConfig::expires_in(expires).map_err(|e| s3_error("presigning configuration", e))
}

#[async_trait]
impl ObjectStore for S3Objects {
    fn kind(&self) -> &'static str {
        "s3"
    }

    async fn ping(&self) -> DomainResult<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|_| DomainError::Unavailable("the S3 bucket".into()))
    }

    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> DomainResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                s3_error(
                    "PUT",
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string_error(),
                )
            })?;
        Ok(())
    }

    async fn head(&self, key: &str) -> DomainResult<Option<ObjectMeta>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectMeta {
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error(
                "HEAD",
                aws_sdk_s3::error::DisplayErrorContext(e).to_string_error(),
            )),
        }
    }

    async fn read_prefix(&self, key: &str, len: usize) -> DomainResult<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", len - 1))
            .send()
            .await
            .map_err(|e| {
                s3_error(
                    "GET",
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string_error(),
                )
            })?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| s3_error("GET body", e))?;
        let mut bytes = body.into_bytes();
        bytes.truncate(len);
        Ok(bytes)
    }

    async fn delete(&self, key: &str) -> DomainResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                s3_error(
                    "DELETE",
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string_error(),
                )
            })?;
        Ok(())
    }

    async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
        options: &GetUrlOptions,
    ) -> DomainResult<SignedUrl> {
        let mut urls = self
            .presign_gets(&[(key, options.clone())], expires)
            .await?;
        urls.pop()
            .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("no URL was signed")))
    }

    /// Signs the whole batch directly with one read of the credentials and one signing time;
    /// through the SDK, one by one, when the probe said so.
    async fn presign_gets(
        &self,
        objects: &[(&str, GetUrlOptions)],
        expires: Duration,
    ) -> DomainResult<Vec<SignedUrl>> {
        let (Some(signer), Some(cache)) = (self.direct_signer().await, &self.credentials) else {
            let mut urls = Vec::with_capacity(objects.len());
            for (key, options) in objects {
                urls.push(self.sdk_presign_get(key, expires, options).await?);
            }
            return Ok(urls);
        };
        let credentials = cache
            .get()
            .await
            .map_err(|e| s3_error("reading credentials", e))?;
        // Checked as the SDK's presigner does, which refuses more than a week.
        presigning(expires)?;
        let urls = signer
            .sign(
                &credentials,
                SystemTime::now(),
                expires,
                objects.iter().map(|(key, options)| (*key, options)),
            )
            .map_err(|e| s3_error("presigning GET", e))?;
        let mut expires_at = after(self.clock.now(), expires);
        if let Some(credential_expiry) = credentials.expiry() {
            expires_at = expires_at.min(DateTime::<Utc>::from(credential_expiry));
        }
        Ok(urls
            .into_iter()
            .map(|url| SignedUrl {
                url: url.into(),
                expires_at,
            })
            .collect())
    }

    async fn presign_upload(
        &self,
        key: &str,
        expires: Duration,
        content_type: &str,
        size: u64,
    ) -> DomainResult<SignedUrl> {
        let size = i64::try_from(size).map_err(|e| s3_error("presigning PUT", e))?;
        // Set on the request, both headers become signed headers (X-Amz-SignedHeaders): a PUT
        // with another length or content type fails the signature check (403).
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size)
            .presigned(presigning(expires)?)
            .await
            .map_err(|e| {
                s3_error(
                    "presigning PUT",
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string_error(),
                )
            })?;
        Ok(self.signed(request.uri().to_owned(), expires).await)
    }

    /// Copies the object to `sealed_key` (CopyObject keeps its content type); the caller deletes
    /// the upload key once the copy is recorded.
    async fn seal_upload(&self, key: &str, sealed_key: &str) -> DomainResult<Option<String>> {
        let copied = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!(
                "{}/{}",
                self.bucket,
                utf8_percent_encode(key, COPY_SOURCE)
            ))
            .key(sealed_key)
            .send()
            .await;
        match copied {
            Ok(_) => Ok(Some(sealed_key.to_owned())),
            Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(s3_error(
                "COPY",
                aws_sdk_s3::error::DisplayErrorContext(e).to_string_error(),
            )),
        }
    }
}

/// Turns an SDK error's full context into a plain error for the log.
trait ToStringError {
    fn to_string_error(self) -> std::io::Error;
}

impl<E: std::error::Error> ToStringError for aws_sdk_s3::error::DisplayErrorContext<E> {
    fn to_string_error(self) -> std::io::Error {
        std::io::Error::other(self.to_string())
    }
}
