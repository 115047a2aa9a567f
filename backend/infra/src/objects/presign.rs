//! Presigned GET URLs signed here with `aws-sigv4` (the signer the SDK itself uses) rather than
//! through the SDK's presigner, whose orchestrator (interceptors, endpoint rules, a config bag
//! per call) costs several times the signature itself: warming 100 000 URLs spent most of its
//! time there.
//!
//! What the SDK decides per request (endpoint, path or virtual-host style, signing region and
//! name) is learnt once from a URL the SDK presigns for [`PROBE_KEY`]; a URL signed here for the
//! same key, time and credentials must come out byte for byte as the SDK's, or the store keeps
//! presigning through the SDK (see `S3Objects`). Credentials are read through [`CredentialCache`]
//! instead of the provider on every call.

use std::sync::{PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::sign::v4;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use sha2::{Digest, Sha256};
use tessera_domain::files::GetUrlOptions;

/// What the SDK percent-encodes in a query parameter (aws-smithy-http's `BASE_SET`): the URL
/// must match its output byte for byte.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'/')
    .add(b':')
    .add(b',')
    .add(b'?')
    .add(b'#')
    .add(b'[')
    .add(b']')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'@')
    .add(b'!')
    .add(b'$')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b';')
    .add(b'=')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'^')
    .add(b'`')
    .add(b'\\');

/// What the SDK percent-encodes in an object key (a "greedy" label: `/` stays).
const OBJECT_KEY: &AsciiSet = &QUERY_VALUE.remove(b'/');

/// The object key the SDK presigns once to show how it builds URLs. Its odd characters (space,
/// non-ASCII, `+`, `%`, `/`) make the comparison cover the key's encoding too. No object is
/// read or written under it.
pub const PROBE_KEY: &str = "tessera/presign probe ü+%.txt";

/// The response headers the probe URL asks for, with characters the query encoding must handle.
pub fn probe_options() -> GetUrlOptions {
    GetUrlOptions {
        content_type: "text/plain; charset=utf-8".into(),
        content_disposition: "inline; filename=\"a b.txt\"; filename*=UTF-8''a%20b+c.txt".into(),
    }
}

/// The algorithm the SDK signs plain S3 requests with; anything else (SigV4a for multi-region
/// access points, S3 Express sessions) stays with the SDK.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Signs GET URLs for one bucket as the SDK's presigner would.
///
/// The canonical request of a presigned GetObject is always the same shape (one signed header,
/// `host`; an unsigned payload; the same nine query parameters, whose sorted order is fixed), so
/// it is written out here and hashed as it is written, rather than built by `aws-sigv4`'s
/// general request signer, which parses the URL again, decodes, re-encodes and sorts the
/// parameters and allocates for each part: that was most of the cost of a URL. The signing key,
/// which depends only on the day, region and secret, is derived once per batch. `aws-sigv4`
/// still derives the key and computes the signature; the tests compare every byte with the
/// SDK's own URLs, and `S3Objects` does once at run time.
#[derive(Debug, Clone)]
pub struct GetSigner {
    /// Everything before `/<key>`: scheme, host and, path-style, the bucket.
    base: String,
    /// The path part of `base` (`/bucket`, or empty), which starts the canonical path.
    base_path: String,
    /// The `host` header as signed: the authority, less a default port.
    host: String,
    /// The signing region, from the probe's credential scope.
    region: String,
    /// The signing name (`s3`), from the probe's credential scope.
    service: String,
}

/// A URL could not be signed.
#[derive(Debug)]
pub struct SignError(String);

impl std::error::Error for SignError {}

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not sign a URL: {}", self.0)
    }
}

impl GetSigner {
    /// The signer that reproduces `probe_url`, the SDK's presigned GET of [`PROBE_KEY`] with
    /// [`probe_options`]; `None` when the URL is not of the shape this module writes (another
    /// algorithm, extra signed headers, another parameter order).
    pub fn from_probe(probe_url: &str) -> Option<Self> {
        let (path, query) = probe_url.split_once('?')?;
        let encoded_key = utf8_percent_encode(PROBE_KEY, OBJECT_KEY).to_string();
        let base = path.strip_suffix(&encoded_key)?.strip_suffix('/')?;
        let (scheme, rest) = base.split_once("://")?;
        let (authority, base_path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let default_port = match scheme {
            "http" => ":80",
            "https" => ":443",
            _ => return None,
        };
        let host = authority.strip_suffix(default_port).unwrap_or(authority);
        if host.is_empty() || host.contains('@') {
            return None;
        }
        let credential = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))?;
        // <key id>/<date>/<region>/<service>/aws4_request, `/` encoded as %2F.
        let scope: Vec<&str> = credential.rsplitn(5, "%2F").collect();
        let [terminator, service, region, _date, _key_id] = scope.as_slice() else {
            return None;
        };
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if *terminator != "aws4_request" || !plain(region) || !plain(service) {
            return None;
        }
        if !query.contains(&format!("X-Amz-Algorithm={ALGORITHM}&"))
            || !query.contains("X-Amz-SignedHeaders=host&")
        {
            return None;
        }
        Some(Self {
            base: base.to_owned(),
            base_path: base_path.to_owned(),
            host: host.to_owned(),
            region: (*region).to_owned(),
            service: (*service).to_owned(),
        })
    }

    /// Presigned GET URLs of `objects` (key and response headers), signed with `credentials` at
    /// `at`, valid for `expires`, in the order given.
    pub fn sign<'a>(
        &self,
        credentials: &Credentials,
        at: SystemTime,
        expires: Duration,
        objects: impl IntoIterator<Item = (&'a str, &'a GetUrlOptions)>,
    ) -> Result<Vec<String>, SignError> {
        let batch = Batch::new(self, credentials, at, expires)?;
        Ok(objects
            .into_iter()
            .map(|(key, options)| batch.url(key, options))
            .collect())
    }
}

/// What every URL of one batch shares: the signing key, the credential scope, the query
/// parameters of the signature.
struct Batch<'a> {
    signer: &'a GetSigner,
    signing_key: Vec<u8>,
    /// `X-Amz-Algorithm=…&…&X-Amz-SignedHeaders=host&` in canonical (sorted) order, the
    /// session token included: the start of every canonical query.
    canonical_query_start: String,
    /// `&X-Amz-Algorithm=…&X-Amz-SignedHeaders=host&X-Amz-Signature=` as the SDK appends them.
    url_signature_start: String,
    /// `&X-Amz-Security-Token=…`, which the SDK appends after the signature; or empty.
    url_token: String,
    /// The string to sign up to the hash of the canonical request.
    string_to_sign_start: String,
}

impl<'a> Batch<'a> {
    fn new(
        signer: &'a GetSigner,
        credentials: &Credentials,
        at: SystemTime,
        expires: Duration,
    ) -> Result<Self, SignError> {
        let expires = expires.as_secs();
        if expires == 0 {
            return Err(SignError(
                "a URL must be valid for at least a second".into(),
            ));
        }
        let date_time = chrono::DateTime::<chrono::Utc>::from(at)
            .format("%Y%m%dT%H%M%SZ")
            .to_string();
        let date = &date_time[..8];
        let scope = format!("{date}/{}/{}/aws4_request", signer.region, signer.service);
        let credential = utf8_percent_encode(
            &format!("{}/{scope}", credentials.access_key_id()),
            QUERY_VALUE,
        )
        .to_string();
        let token = credentials
            .session_token()
            .map(|t| utf8_percent_encode(t, QUERY_VALUE).to_string());
        let common = format!(
            "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={credential}&X-Amz-Date={date_time}&X-Amz-Expires={expires}"
        );
        let canonical_query_start = match &token {
            Some(token) => {
                format!("{common}&X-Amz-Security-Token={token}&X-Amz-SignedHeaders=host&")
            }
            None => format!("{common}&X-Amz-SignedHeaders=host&"),
        };
        let signing_key = v4::generate_signing_key(
            credentials.secret_access_key(),
            at,
            &signer.region,
            &signer.service,
        )
        .as_ref()
        .to_vec();
        Ok(Self {
            signer,
            signing_key,
            canonical_query_start,
            url_signature_start: format!("&{common}&X-Amz-SignedHeaders=host&X-Amz-Signature="),
            url_token: token
                .map(|t| format!("&X-Amz-Security-Token={t}"))
                .unwrap_or_default(),
            string_to_sign_start: format!("{ALGORITHM}\n{date_time}\n{scope}\n"),
        })
    }

    /// One URL: the request as the SDK serialises it, then the signature's parameters.
    fn url(&self, key: &str, options: &GetUrlOptions) -> String {
        let signer = self.signer;
        let key = utf8_percent_encode(key, OBJECT_KEY);
        let disposition = utf8_percent_encode(&options.content_disposition, QUERY_VALUE);
        let content_type = utf8_percent_encode(&options.content_type, QUERY_VALUE);

        // The canonical request, hashed as it is written.
        let mut hash = Sha256::new();
        hash.update(b"GET\n");
        hash.update(signer.base_path.as_bytes());
        hash.update(b"/");
        hash_encoded(&mut hash, key.clone());
        hash.update(b"\n");
        hash.update(self.canonical_query_start.as_bytes());
        hash.update(b"response-content-disposition=");
        hash_encoded(&mut hash, disposition.clone());
        hash.update(b"&response-content-type=");
        hash_encoded(&mut hash, content_type.clone());
        hash.update(b"&x-id=GetObject\nhost:");
        hash.update(signer.host.as_bytes());
        hash.update(b"\n\nhost\nUNSIGNED-PAYLOAD");
        let mut string_to_sign = String::with_capacity(self.string_to_sign_start.len() + 64);
        string_to_sign.push_str(&self.string_to_sign_start);
        string_to_sign.push_str(&hex::encode(hash.finalize()));
        let signature = v4::calculate_signature(&self.signing_key, string_to_sign.as_bytes());

        let mut url = String::with_capacity(
            signer.base.len() + self.url_signature_start.len() + self.url_token.len() + 512,
        );
        url.push_str(&signer.base);
        url.push('/');
        url.extend(key);
        url.push_str("?x-id=GetObject&response-content-disposition=");
        url.extend(disposition);
        url.push_str("&response-content-type=");
        url.extend(content_type);
        url.push_str(&self.url_signature_start);
        url.push_str(&signature);
        url.push_str(&self.url_token);
        url
    }
}

/// How long credentials read from the provider are reused.
const REUSE_FOR: Duration = Duration::from_secs(60);
/// Credentials this close to their expiry are read again, so no URL is signed with credentials
/// about to lapse.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(10);

/// The credentials to sign with, read from the provider at most once a minute (sooner when
/// they are within 10 s of expiry): the default chain's providers (IMDS, STS, a process) are far
/// too slow to ask for every URL.
#[derive(Debug)]
pub struct CredentialCache {
    provider: SharedCredentialsProvider,
    /// The last credentials read and when.
    current: RwLock<Option<(Credentials, SystemTime)>>,
    /// Held while reading the provider, so concurrent callers read it once.
    reading: tokio::sync::Mutex<()>,
}

impl CredentialCache {
    /// A cache over `provider`; nothing is read until the first call.
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            current: RwLock::new(None),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// Credentials fit to sign with now.
    pub async fn get(&self) -> Result<Credentials, CredentialsError> {
        if let Some(credentials) = self.fresh(SystemTime::now()) {
            return Ok(credentials);
        }
        let _reading = self.reading.lock().await;
        let now = SystemTime::now();
        if let Some(credentials) = self.fresh(now) {
            return Ok(credentials);
        }
        let credentials = self.provider.provide_credentials().await?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Some((credentials.clone(), now));
        Ok(credentials)
    }

    fn fresh(&self, now: SystemTime) -> Option<Credentials> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        let (credentials, read_at) = current.as_ref()?;
        let recent = now
            .duration_since(*read_at)
            .is_ok_and(|age| age < REUSE_FOR);
        let lasting = credentials
            .expiry()
            .is_none_or(|expiry| expiry > now + RENEW_BEFORE_EXPIRY);
        (recent && lasting).then(|| credentials.clone())
    }
}

/// Hashes a percent-encoded value as it is written, without collecting it first.
fn hash_encoded<'a>(hash: &mut Sha256, encoded: impl Iterator<Item = &'a str>) {
    for part in encoded {
        hash.update(part.as_bytes());
    }
}

/// The SDK's presigned GET of `key` as of `at` with these credentials: what the probe compares
/// a URL signed here against.
pub(crate) async fn sdk_presigned_get(
    client: &aws_sdk_s3::Client,
    credentials: &Credentials,
    bucket: &str,
    key: &str,
    options: &GetUrlOptions,
    at: SystemTime,
    expires: Duration,
) -> Result<aws_sdk_s3::presigning::PresignedRequest, String> {
    let config = aws_sdk_s3::presigning::PresigningConfig::builder()
        .start_time(at)
        .expires_in(expires)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .get_object()
        .bucket(bucket)
        .key(key)
        .response_content_type(&options.content_type)
        .response_content_disposition(&options.content_disposition)
        .customize()
        .config_override(
            aws_sdk_s3::config::Builder::default().credentials_provider(credentials.clone()),
        )
        .presigned(config)
        .await
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_s3::config::{BehaviorVersion, Region};

    fn client(endpoint: Option<&str>, region: &str, path_style: bool) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .force_path_style(path_style);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    async fn sdk_url(
        client: &aws_sdk_s3::Client,
        credentials: &Credentials,
        bucket: &str,
        key: &str,
        options: &GetUrlOptions,
        at: SystemTime,
        expires: Duration,
    ) -> String {
        sdk_presigned_get(client, credentials, bucket, key, options, at, expires)
            .await
            .unwrap()
            .uri()
            .to_owned()
    }

    const KEYS: &[&str] = &[
        "avatar/1.png",
        "bench/99999-3f2a.png",
        "a b/c d.pdf",
        "relatório final ü.pdf",
        "x+y=z&w.png",
        "100%/real%20.txt",
        "//double//slash/",
        "🎉 émoji/日本語.txt",
        "tilde~dash-under_dot.txt",
        "quote\"apos'paren(1)[2]{3}.txt",
    ];

    #[tokio::test]
    async fn urls_signed_here_are_the_sdks_byte_for_byte() {
        let long_lived = Credentials::new("AKIDEXAMPLE", "secret/with+odd=chars", None, None, "t");
        let session = Credentials::new(
            "ASIAEXAMPLE",
            "another-secret",
            Some("token/with+odd=chars%".into()),
            Some(SystemTime::now() + Duration::from_secs(3600)),
            "t",
        );
        let setups = [
            (
                client(Some("http://127.0.0.1:9300"), "us-east-1", true),
                "tessera-files",
            ),
            (
                client(Some("https://objects.example.org/prefix"), "garage", true),
                "b",
            ),
            (client(None, "eu-west-1", false), "tessera-files"),
            (client(None, "us-east-1", true), "dotted.bucket.name"),
        ];
        let options = [
            probe_options(),
            GetUrlOptions {
                content_type: "image/png".into(),
                content_disposition: "inline".into(),
            },
            GetUrlOptions {
                content_type: "application/pdf".into(),
                content_disposition:
                    "inline; filename=\"relat_rio final.pdf\"; filename*=UTF-8''relat%C3%B3rio%20final.pdf"
                        .into(),
            },
        ];
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_123);
        let expires = Duration::from_secs(14400);
        for (client, bucket) in &setups {
            for credentials in [&long_lived, &session] {
                let probe = sdk_url(
                    client,
                    credentials,
                    bucket,
                    PROBE_KEY,
                    &probe_options(),
                    at,
                    PROBE_EXPIRES_IN_TEST,
                )
                .await;
                let signer = GetSigner::from_probe(&probe).expect("the probe URL is understood");
                for key in KEYS {
                    for options in &options {
                        let expected =
                            sdk_url(client, credentials, bucket, key, options, at, expires).await;
                        let ours = signer
                            .sign(credentials, at, expires, [(*key, options)])
                            .unwrap();
                        assert_eq!(ours, [expected], "key {key:?}");
                    }
                }
                // One batch signs like single calls.
                let batch = signer
                    .sign(
                        credentials,
                        at,
                        expires,
                        KEYS.iter().map(|k| (*k, &options[1])),
                    )
                    .unwrap();
                assert_eq!(batch.len(), KEYS.len());
                for (key, url) in KEYS.iter().zip(&batch) {
                    assert_eq!(
                        *url,
                        sdk_url(client, credentials, bucket, key, &options[1], at, expires).await
                    );
                }
            }
        }
    }

    const PROBE_EXPIRES_IN_TEST: Duration = Duration::from_secs(3600);

    #[test]
    fn a_probe_url_of_another_shape_is_not_used() {
        let good = "http://h/b/tessera/presign%20probe%20%C3%BC%2B%25.txt?x-id=GetObject&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261204%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261204T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        assert!(GetSigner::from_probe(good).is_some());
        for bad in [
            good.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
            good.replace(
                "SignedHeaders=host&",
                "SignedHeaders=host%3Bx-amz-checksum-mode&",
            ),
            good.replace("presign%20probe", "other"),
            good.replace("aws4_request", "aws5_request"),
            good.replace('?', "#"),
        ] {
            assert!(GetSigner::from_probe(&bad).is_none(), "{bad}");
        }
    }

    #[tokio::test]
    async fn credentials_are_read_once_while_fresh_and_again_near_their_expiry() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        #[derive(Debug)]
        struct Counting(Arc<AtomicUsize>, Duration);
        impl ProvideCredentials for Counting {
            fn provide_credentials<'a>(
                &'a self,
            ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(
                    Credentials::new(
                        format!("AK{n}"),
                        "s",
                        None,
                        Some(SystemTime::now() + self.1),
                        "t",
                    ),
                ))
            }
        }

        let reads = Arc::new(AtomicUsize::new(0));
        let lasting = CredentialCache::new(SharedCredentialsProvider::new(Counting(
            Arc::clone(&reads),
            Duration::from_secs(3600),
        )));
        for _ in 0..3 {
            assert_eq!(lasting.get().await.unwrap().access_key_id(), "AK0");
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);

        let reads = Arc::new(AtomicUsize::new(0));
        let expiring = CredentialCache::new(SharedCredentialsProvider::new(Counting(
            Arc::clone(&reads),
            Duration::from_secs(5),
        )));
        expiring.get().await.unwrap();
        expiring.get().await.unwrap();
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "within 10 s of expiry: read again"
        );
    }
}
