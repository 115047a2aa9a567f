//! The job runner: decides whether this instance runs a job's turn, runs it under the job's
//! lock, and records the run where every instance reads it.
//!
//! Keys in the state store, per job: `job:<name>:lock` and `job:<name>:fence` (`lock.rs`);
//! `job:<name>:done:<period or deploy>` (who ran it, so no other instance runs it again in that
//! period or deploy); `job:<name>:last` (the last run, JSON); `job:<name>:runs` (the last 100
//! runs with their start and end, a sorted set by start: how tests see that runs never overlap).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::jobs::lock::{JobLock, Lease};
use crate::jobs::model::{JobResult, JobRun, JobStatus, Schedule};
use crate::shared::cache::Cache;
use crate::shared::time::Clock;
use crate::shared::DomainResult;

/// How long a job's last run is kept.
const LAST_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long the record of runs is kept after the last one.
const RUNS_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How many runs the record keeps.
const RUNS_KEPT: usize = 100;
/// How long "this deploy was done" is remembered.
const DEPLOY_DONE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A periodic job: what it is called, when it is due, and the work of one run.
#[async_trait]
pub trait Job: Send + Sync {
    /// Its name: the key of its lock, status and setting (`refresh_file_urls`).
    fn name(&self) -> &'static str;
    /// When it is due.
    fn schedule(&self) -> Schedule;
    /// One run, holding `lease`; answers a short summary ("Refreshed 12 expiring URLs"). Writes
    /// another holder could also make carry the lease's fence, or check the lease first.
    async fn run(&self, lease: &Lease) -> DomainResult<String>;
}

/// One entry of `job:<name>:runs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpan {
    /// The instance that ran it.
    pub instance: String,
    /// Its fencing token.
    pub fence: u64,
    /// Start, unix milliseconds.
    pub start_ms: i64,
    /// End, unix milliseconds.
    pub end_ms: i64,
    /// How it ended.
    pub result: JobResult,
}

/// Runs jobs once across instances and tells how they went.
pub struct JobRunner {
    lock: JobLock,
    state: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    instance: String,
    hold: Duration,
    jobs: Vec<(Arc<dyn Job>, bool)>,
    here: Mutex<HashMap<&'static str, JobRun>>,
}

impl JobRunner {
    /// A runner whose locks live in `lock`'s store; `instance` names this process in the
    /// records; `hold` keeps every run's lock that much longer before its work (0 in
    /// production: tests make runs long with it).
    pub fn new(
        lock: JobLock,
        state: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
        instance: String,
        hold: Duration,
    ) -> Self {
        Self {
            lock,
            state,
            clock,
            instance,
            hold,
            jobs: Vec::new(),
            here: Mutex::default(),
        }
    }

    /// Adds a job; `enabled` false lists it in the status without running it here.
    pub fn with(mut self, job: Arc<dyn Job>, enabled: bool) -> Self {
        self.jobs.push((job, enabled));
        self
    }

    /// The jobs this instance runs.
    pub fn enabled(&self) -> Vec<Arc<dyn Job>> {
        self.jobs
            .iter()
            .filter(|(_, on)| *on)
            .map(|(job, _)| Arc::clone(job))
            .collect()
    }

    /// This process's name in the records.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// One turn of `job` on this instance: run it if it is due and the lock is free, else
    /// skip. Answers what happened (also kept for [`JobRunner::status`]).
    pub async fn turn(&self, job: &dyn Job) -> JobRun {
        let started = self.clock.now();
        let name = job.name();
        let done = done_key(name, &job.schedule(), started);
        let run = match self.turn_locked(job, &done, started).await {
            Ok(run) => run,
            Err(message) => self.finished(started, JobResult::Error, message, None),
        };
        match run.result {
            JobResult::Ok => {
                tracing::info!(job = name, fence = ?run.fence, duration_ms = run.duration_ms, "job {name}: {}", run.message)
            }
            JobResult::Error => {
                tracing::warn!(job = name, fence = ?run.fence, "job {name} failed: {}", run.message)
            }
            JobResult::Skipped => {
                tracing::debug!(job = name, "job {name} skipped: {}", run.message)
            }
        }
        self.here
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, run.clone());
        run
    }

    async fn turn_locked(
        &self,
        job: &dyn Job,
        done: &str,
        started: DateTime<Utc>,
    ) -> Result<JobRun, String> {
        let name = job.name();
        let state_down =
            |e: crate::shared::cache::CacheError| format!("the state store does not answer: {e}");
        if let Some(by) = self.state.get(done).await.map_err(state_down)? {
            return Ok(self.finished(
                started,
                JobResult::Skipped,
                format!("already ran for this turn on {by}"),
                None,
            ));
        }
        let Some(lease) = self.lock.acquire(name).await.map_err(state_down)? else {
            let holder = self.lock.holder(name).await.ok().flatten();
            let message = match holder {
                Some(token) => format!("another instance holds the lock (fence {token})"),
                None => "another instance held the lock".to_owned(),
            };
            return Ok(self.finished(started, JobResult::Skipped, message, None));
        };
        let token = lease.fence().token;
        // Whoever held the lock just before may have finished this turn.
        if let Ok(Some(by)) = self.state.get(done).await {
            lease.release().await;
            return Ok(self.finished(
                started,
                JobResult::Skipped,
                format!("already ran for this turn on {by}"),
                None,
            ));
        }
        if !self.hold.is_zero() {
            tokio::time::sleep(self.hold).await;
        }
        let outcome = job.run(&lease).await;
        let run = match outcome {
            Ok(summary) => {
                let ttl = match job.schedule() {
                    Schedule::Every(every) => every * 2 + Duration::from_secs(60),
                    Schedule::OncePerDeploy(_) => DEPLOY_DONE_TTL,
                };
                if let Err(e) = self.state.set(done, &self.instance, ttl).await {
                    tracing::warn!(job = name, error = %e, "could not mark a job's turn as done");
                }
                self.finished(started, JobResult::Ok, summary, Some(token))
            }
            Err(e) => self.finished(started, JobResult::Error, e.to_string(), Some(token)),
        };
        self.record(name, &run, token).await;
        lease.release().await;
        Ok(run)
    }

    fn finished(
        &self,
        started: DateTime<Utc>,
        result: JobResult,
        message: String,
        fence: Option<u64>,
    ) -> JobRun {
        let took = (self.clock.now() - started).num_milliseconds();
        JobRun {
            started_at: started,
            duration_ms: u64::try_from(took).unwrap_or(0),
            result,
            message,
            instance: self.instance.clone(),
            fence,
        }
    }

    /// Keeps a run that held the lock: as the job's last run, and in its record of runs.
    async fn record(&self, name: &'static str, run: &JobRun, fence: u64) {
        if let Ok(json) = serde_json::to_string(run) {
            if let Err(e) = self.state.set(&last_key(name), &json, LAST_TTL).await {
                tracing::warn!(job = name, error = %e, "could not record a job's last run");
            }
        }
        let start_ms = run.started_at.timestamp_millis();
        let span = RunSpan {
            instance: run.instance.clone(),
            fence,
            start_ms,
            end_ms: self.clock.now().timestamp_millis(),
            result: run.result,
        };
        let Ok(member) = serde_json::to_string(&span) else {
            return;
        };
        let key = runs_key(name);
        if self
            .state
            .zset_scores(&key, &[(member, start_ms as f64)], RUNS_TTL)
            .await
            .is_ok()
        {
            if let Ok(runs) = self.state.zrev_range(&key, None).await {
                let old: Vec<String> = runs.into_iter().skip(RUNS_KEPT).map(|(m, _)| m).collect();
                if !old.is_empty() {
                    let _ = self.state.zrem(&key, &old).await;
                }
            }
        }
    }

    /// Every job's status: its last run on any instance and this instance's last turn.
    pub async fn status(&self) -> Vec<JobStatus> {
        let here = self
            .here
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut statuses = Vec::with_capacity(self.jobs.len());
        for (job, enabled) in &self.jobs {
            let name = job.name();
            let last_run = self
                .state
                .get(&last_key(name))
                .await
                .ok()
                .flatten()
                .and_then(|raw| serde_json::from_str(&raw).ok());
            statuses.push(JobStatus {
                name,
                enabled: *enabled,
                every_secs: match job.schedule() {
                    Schedule::Every(every) => Some(every.as_secs()),
                    Schedule::OncePerDeploy(_) => None,
                },
                last_run,
                last_turn_here: here.get(name).cloned(),
            });
        }
        statuses
    }

    /// The recorded runs of `name`, oldest first (tests check that none overlap).
    pub async fn runs(&self, name: &str) -> Vec<RunSpan> {
        let mut runs: Vec<RunSpan> = self
            .state
            .zrev_range(&runs_key(name), None)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(m, _)| serde_json::from_str(&m).ok())
            .collect();
        runs.sort_by_key(|r| r.start_ms);
        runs
    }
}

/// When the next turn of a job run every `every` is due after `now`: at the next multiple of
/// the period on the wall clock, so every instance's turn falls at the same moment.
pub fn next_turn(now: DateTime<Utc>, every: Duration) -> Duration {
    let period = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    let now_ms = now.timestamp_millis();
    let next = (now_ms.div_euclid(period) + 1) * period;
    Duration::from_millis(u64::try_from(next - now_ms).unwrap_or(0))
}

/// The key that says a turn was done: per period for periodic jobs, per deploy for the others.
fn done_key(name: &str, schedule: &Schedule, now: DateTime<Utc>) -> String {
    match schedule {
        Schedule::Every(every) => {
            let period = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
            // Half a period of slack: a turn that wakes a little early still names its period.
            let slot = (now.timestamp_millis() + period / 2).div_euclid(period);
            format!("job:{name}:done:{slot}")
        }
        Schedule::OncePerDeploy(deploy) => format!("job:{name}:done:{deploy}"),
    }
}

/// `job:<name>:last`.
pub fn last_key(name: &str) -> String {
    format!("job:{name}:last")
}

/// `job:<name>:runs`.
pub fn runs_key(name: &str) -> String {
    format!("job:{name}:runs")
}
