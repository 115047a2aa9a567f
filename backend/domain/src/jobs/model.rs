//! What a job run is: its fencing token, its schedule, its outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The fencing token of one run of a job: every holder of a job's lock gets a strictly larger
/// one than every holder before it. A write that a later holder may also make carries it, and
/// the store refuses it once a larger token has written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The job's name (`post_views_flush`).
    pub job: &'static str,
    /// The token.
    pub token: u64,
}

/// What a fenced write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FencedWrite {
    /// It was written.
    Written,
    /// Nothing was written: a later holder (this token) wrote already.
    Stale {
        /// The larger token the store holds.
        newer: u64,
    },
}

/// When a job is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Once per period across all instances, at the period's start (wall clock: instances tick
    /// together, and the one that gets the lock runs).
    Every(Duration),
    /// Once per deploy across all instances, when an instance starts: the deploy is named by
    /// this id (`TESSERA_DEPLOY_ID`, or the version and the executable's time).
    OncePerDeploy(String),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobResult {
    /// It ran to the end.
    Ok,
    /// It failed; the message says why.
    Error,
    /// This instance did not run it: another held the lock, or it already ran in this
    /// period or deploy.
    Skipped,
}

/// One run (or skipped turn) of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// How it ended.
    pub result: JobResult,
    /// What it did ("Refreshed 12 expiring URLs"), why it failed, or why it was skipped.
    pub message: String,
    /// The instance that ran it (`<host>:<pid>`).
    pub instance: String,
    /// The fencing token it held (`None` when skipped).
    pub fence: Option<u64>,
}

/// What stats and the dashboard show of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The job's name.
    pub name: &'static str,
    /// Whether this instance runs it (its setting may turn it off).
    pub enabled: bool,
    /// Its period in seconds (`None`: once per deploy).
    pub every_secs: Option<u64>,
    /// The last run on any instance that held the lock (`None`: none recorded).
    pub last_run: Option<JobRun>,
    /// This instance's last turn, skipped ones included (`None`: none since it started).
    pub last_turn_here: Option<JobRun>,
}
