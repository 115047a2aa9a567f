//! The ops verbs of the `tessera` command line: `doctor` (is this deployment healthy, and what
//! to do when it is not) and `cache stats|clear|warm|refresh|keys|monitor`. `main.rs` parses
//! and dispatches; each verb builds its own runtime, logs to stderr only (stdout carries the
//! answer, `--json` included), and answers an exit code: 0 ok, 1 failure, 2 bad usage.

pub mod cache;
pub mod doctor;

use std::process::ExitCode;

/// Exit code of a command that ran and found something failing (Redis down, API unreachable).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a command given something it cannot use (arguments, settings, missing token).
pub const EXIT_USAGE: u8 = 2;

/// Why a command stopped: the message for stderr and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// 1 (failure) or 2 (bad usage).
    pub code: u8,
    /// One line saying what is wrong and what to do.
    pub message: String,
}

impl CliError {
    /// Something failed while running (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// The command was given something it cannot use (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::failure(format!("{e:#}"))
    }
}

/// Logs to stderr, `warn` and above unless `RUST_LOG` says otherwise: the answer goes to stdout
/// alone, so `--json` can be piped.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The multi-threaded runtime every command runs on; `None` (said on stderr) when it cannot
/// start.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .inspect_err(|e| eprintln!("error: cannot start the runtime: {e}"))
        .ok()
}

/// Runs `work` on a runtime of its own and turns its outcome into an exit code.
pub fn run<F>(work: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), CliError>>,
{
    init_logging();
    let Some(runtime) = runtime() else {
        return ExitCode::from(EXIT_FAILURE);
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// A Redis URL as it may be shown: scheme, host, port and database, never the password.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(unparsable URL)".to_owned();
    };
    // Hosts may be several (`redis-sentinel://h1:26379,h2:26379/…`), so no URL parser.
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    // A query may carry a password (`?sentinel_password=`).
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() {
        format!("{scheme}://{hosts}")
    } else {
        format!("{scheme}://{hosts}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_url_never_shows_the_password() {
        let shown = redacted_url("redis://:s3cret@cache.internal:6380/2");
        assert_eq!(shown, "redis://cache.internal:6380/2");
        assert!(!redacted_url("rediss://user:pw@h/0").contains("pw"));
        assert_eq!(
            redacted_url("redis-sentinel://:pw@h1:26379,h2:26379/tessera/0?sentinel_password=x"),
            "redis-sentinel://h1:26379,h2:26379/tessera/0"
        );
        assert_eq!(
            redacted_url("redis-cluster://h1:7001,h2:7002"),
            "redis-cluster://h1:7001,h2:7002"
        );
    }
}
