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
    static REQUEST_ID: String;
}

/// The response (and accepted request) header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

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
    REQUEST_ID.try_with(Clone::clone).ok()
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

/// A request id: the bits as 32 lowercase hex digits, written by uuid's encoder (a
/// `format!("{:032x}")` cost a request about 750 instructions more).
fn request_id_of(bits: u128) -> String {
    uuid::Uuid::from_u128(bits)
        .simple()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}

fn accepted_id(value: &HeaderValue) -> Option<String> {
    let id = value.to_str().ok()?;
    let sane = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    sane.then(|| id.to_owned())
}

/// Middleware: gives the request an id and a span that every log line inherits; when it
/// completes, writes its access line and counts it in the metrics.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(accepted_id)
        // 128 random bits from the thread's generator: unlike `Uuid::new_v4`, no system call
        // per request.
        .unwrap_or_else(|| request_id_of(rand::random::<u128>()));
    let method = req.method().clone();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let started = Instant::now();
    let result = REQUEST_ID
        .scope(id.clone(), next.call(req))
        .instrument(span)
        .await;
    let elapsed = started.elapsed();
    // The pattern is read once the request went through (the path normalised); a request that
    // failed before it had a response has none.
    let (status, route, caller) = match &result {
        Ok(res) => (
            res.status(),
            res.request().match_pattern(),
            res.request().extensions().get::<CallerId>().copied(),
        ),
        Err(e) => (e.as_response_error().status_code(), None, None),
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
        &id,
        method.as_str(),
        route,
        status.as_u16(),
        elapsed,
        caller,
    );
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
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
    caller: Option<CallerId>,
) {
    // Microseconds are as fine as it gets; more digits are noise.
    let duration_ms = elapsed.as_micros() as f64 / 1000.0;
    let caller = caller.map(|c| c.to_string());
    let caller = caller.as_deref().unwrap_or("-");
    if status >= 500 {
        tracing::error!(
            target: ACCESS_TARGET,
            request_id,
            method,
            route,
            status,
            duration_ms,
            caller,
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
            caller,
            "request completed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::request_id_of;

    #[test]
    fn a_request_id_is_the_bits_in_32_lowercase_hex_digits() {
        for bits in [
            0,
            1,
            0xABCD,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            assert_eq!(request_id_of(bits), format!("{bits:032x}"));
        }
    }
}
