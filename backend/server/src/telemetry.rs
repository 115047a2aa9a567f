//! Logs: human lines by default, JSON by `LOG_FORMAT=json`, on the console and, with `LOG_FILE`,
//! also in a rotated file. A request id on every line of a request (taken from a sane
//! `x-request-id` header or made here), in the response header and in error bodies; one access
//! line per request when it completes (target `tessera::access`). Query strings are never
//! logged: signed URLs carry their signature there.

use std::fmt;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use anyhow::Context;
use tracing::Instrument;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::metrics::Metrics;
use crate::settings::{LogFile, LogFormat, LogRotation};

tokio::task_local! {
    static REQUEST_ID: RequestId;
}

/// The response (and accepted request) header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] as a header name, made once: a name given as text is parsed, and
/// allocated, on every lookup.
const REQUEST_ID_NAME: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// The target of the access-log lines, one per request (`RUST_LOG=tessera::access=off` silences
/// them).
pub const ACCESS_TARGET: &str = "tessera::access";

/// The route label of a request that matched no route (a 404 or a method not allowed), so raw
/// paths never become labels or log fields of their own.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The route label of what the web app's files answered (its pages, `/assets/…`), whatever
/// the path.
pub const SPA_ROUTE: &str = "spa";

/// Lines that may wait for a writer before newer ones are dropped. tracing-appender's default
/// (128,000) allocates its whole queue up front: about 5 MiB a writer, a tenth of the idle
/// server.
const BUFFERED_LINES: usize = 8192;

/// A writer on a thread of its own, so a slow terminal, pipe or disk never holds a request up.
fn non_blocking<W: std::io::Write + Send + 'static>(
    writer: W,
) -> (tracing_appender::non_blocking::NonBlocking, WorkerGuard) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(true)
        .finish(writer)
}

/// Starts logging; `RUST_LOG` filters (default `info`). Lines are written by threads of their
/// own (the console's, the file's), so a slow terminal, pipe or disk never holds a request up.
/// Answers the guards that flush them: keep them alive as long as the process logs. Safe to call
/// more than once (later calls change nothing).
pub fn init(format: LogFormat, file: Option<&LogFile>) -> anyhow::Result<LogGuards> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (stdout, console_guard) = non_blocking(std::io::stdout());
    let mut guards = vec![console_guard];
    // Colours only for a person at a terminal: not in pipes and files, nor with NO_COLOR.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let console = layer(format, stdout, colour);
    let file_layer = match file {
        None => None,
        Some(file) => {
            let (writer, guard) = non_blocking(appender(file)?);
            guards.push(guard);
            Some(layer(format, writer, false))
        }
    };
    let _already_set = tracing_subscriber::registry()
        .with(console.and_then(file_layer).with_filter(filter))
        .try_init();
    Ok(LogGuards { _guards: guards })
}

/// Flushes the log's writers when dropped (at the end of `main`).
#[must_use = "the log stops being written when this is dropped"]
pub struct LogGuards {
    _guards: Vec<WorkerGuard>,
}

/// One output of the log in the chosen format. JSON lines carry their target, so the access
/// log can be told apart (`"target":"tessera::access"`).
fn layer<W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Human => base.with_target(false).boxed(),
        LogFormat::Json => base
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
}

/// The rotating file of `LOG_FILE`: rotated files add the date (and hour) to its name, and only
/// the newest `LOG_MAX_FILES` are kept.
fn appender(file: &LogFile) -> anyhow::Result<RollingFileAppender> {
    let name = file
        .path
        .file_name()
        .context("LOG_FILE does not name a file")?;
    let dir = match file.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the LOG_FILE directory {}", dir.display()))?;
    let rotation = match file.rotation {
        LogRotation::Daily => Rotation::DAILY,
        LogRotation::Hourly => Rotation::HOURLY,
        LogRotation::Never => Rotation::NEVER,
    };
    let mut builder = RollingFileAppender::builder()
        .rotation(rotation)
        .filename_prefix(name.to_string_lossy());
    if file.max_files > 0 {
        builder = builder.max_log_files(file.max_files);
    }
    builder
        .build(dir)
        .with_context(|| format!("cannot open LOG_FILE={}", file.path.display()))
}

/// The id of the request being handled, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.as_str().to_owned()).ok()
}

/// Who made a request, once its credential was accepted: kept on the request by the caller
/// extractor for the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerId {
    /// A user logged in (`user:<id>`).
    User(i64),
    /// An API token (`token:<id>`, as in the audit log), acting as its user.
    ApiToken(i64),
}

impl fmt::Display for CallerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallerId::User(id) => write!(f, "user:{id}"),
            CallerId::ApiToken(id) => write!(f, "token:{id}"),
        }
    }
}

/// The caller field of an access line: the caller, or `-` when none was accepted. Written only
/// when the line is.
struct CallerField(Option<CallerId>);

impl fmt::Display for CallerField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(caller) => caller.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// The longest request id accepted from a client.
const MAX_REQUEST_ID: usize = 64;

/// A request id, kept on the stack: the task-local and every copy of it cost no allocation.
#[derive(Clone, Copy)]
struct RequestId {
    len: u8,
    bytes: [u8; MAX_REQUEST_ID],
}

impl RequestId {
    /// The bits as 32 lowercase hex digits, written by uuid's encoder (a `format!("{:032x}")`
    /// cost a request about 750 instructions more).
    fn of_bits(bits: u128) -> Self {
        let mut id = Self {
            len: 32,
            bytes: [0; MAX_REQUEST_ID],
        };
        uuid::Uuid::from_u128(bits)
            .simple()
            .encode_lower(&mut id.bytes[..32]);
        id
    }

    /// A client's id when it is sane: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
    fn accepted(value: &HeaderValue) -> Option<Self> {
        let text = value.as_bytes();
        let sane = !text.is_empty()
            && text.len() <= MAX_REQUEST_ID
            && text
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b));
        if !sane {
            return None;
        }
        let mut id = Self {
            len: text.len() as u8,
            bytes: [0; MAX_REQUEST_ID],
        };
        id.bytes[..text.len()].copy_from_slice(text);
        Some(id)
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever written in.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Middleware: gives the request an id and a span that every log line inherits; when it
/// completes, writes its access line and counts it in the metrics.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_NAME)
        .and_then(RequestId::accepted)
        // 128 random bits from the thread's generator: unlike `Uuid::new_v4`, no system call
        // per request.
        .unwrap_or_else(|| RequestId::of_bits(rand::random::<u128>()));
    let method = req.method().clone();
    // Taken only when it records: its reference count is shared by every worker.
    let metrics = req
        .app_data::<web::Data<Metrics>>()
        .filter(|m| m.enabled())
        .cloned();
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let started = Instant::now();
    let result = REQUEST_ID.scope(id, next.call(req)).instrument(span).await;
    let elapsed = started.elapsed();
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    // The route is worked out (an allocation) only for whoever takes it: the metrics, or an
    // access line the log filter lets through.
    let logged = if status.is_server_error() {
        tracing::enabled!(target: ACCESS_TARGET, tracing::Level::ERROR)
    } else {
        tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
    };
    if metrics.is_some() || logged {
        // The pattern is read once the request went through (the path normalised); a request
        // that failed before it had a response has none.
        let (route, caller) = match &result {
            Ok(res) => (
                res.request().match_pattern(),
                res.request().extensions().get::<CallerId>().copied(),
            ),
            Err(_) => (None, None),
        };
        let route = match route.as_deref() {
            None => UNMATCHED_ROUTE,
            // The web app's scope is mounted at the root with no pattern of its own.
            Some("") => SPA_ROUTE,
            Some(pattern) => pattern,
        };
        if let Some(metrics) = &metrics {
            metrics.record_request(method.as_str(), route, status.as_u16(), elapsed);
        }
        access_line(
            id.as_str(),
            method.as_str(),
            route,
            status.as_u16(),
            elapsed,
            CallerField(caller),
        );
    }
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_bytes(id.as_str().as_bytes()) {
        res.headers_mut().insert(REQUEST_ID_NAME, value);
    }
    Ok(res)
}

/// The access line of one request: at `error` for a 5xx, `info` otherwise.
fn access_line(
    request_id: &str,
    method: &str,
    route: &str,
    status: u16,
    elapsed: std::time::Duration,
    caller: CallerField,
) {
    // Microseconds are as fine as it gets; more digits are noise.
    let duration_ms = elapsed.as_micros() as f64 / 1000.0;
    if status >= 500 {
        tracing::error!(
            target: ACCESS_TARGET,
            request_id,
            method,
            route,
            status,
            duration_ms,
            caller = %caller,
            "request failed"
        );
    } else {
        tracing::info!(
            target: ACCESS_TARGET,
            request_id,
            method,
            route,
            status,
            duration_ms,
            caller = %caller,
            "request completed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_the_bits_in_32_lowercase_hex_digits() {
        for bits in [
            0,
            1,
            0xABCD,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            assert_eq!(RequestId::of_bits(bits).as_str(), format!("{bits:032x}"));
        }
    }

    #[test]
    fn a_client_request_id_is_taken_only_when_sane() {
        let taken = |text: &str| {
            RequestId::accepted(&HeaderValue::from_str(text).unwrap()).map(|id| id.to_string())
        };
        assert_eq!(taken("abc-123_x.y").as_deref(), Some("abc-123_x.y"));
        let longest = "a".repeat(MAX_REQUEST_ID);
        assert_eq!(taken(&longest), Some(longest.clone()));
        assert_eq!(taken(&format!("{longest}a")), None);
        assert_eq!(taken(""), None);
        assert_eq!(taken("a b"), None);
        assert_eq!(taken("a/b"), None);
    }

    #[test]
    fn the_caller_field_names_the_caller_or_none() {
        assert_eq!(CallerField(Some(CallerId::User(7))).to_string(), "user:7");
        assert_eq!(
            CallerField(Some(CallerId::ApiToken(3))).to_string(),
            "token:3"
        );
        assert_eq!(CallerField(None).to_string(), "-");
    }
}
