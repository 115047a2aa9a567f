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
        let Some(lease) = self
            .lock
            .acquire(name, &self.instance)
            .await
            .map_err(state_down)?
        else {
            let holder = self.lock.holder(name).await.ok().flatten();
            let message = match holder {
                Some(h) => format!(
                    "another instance holds the lock ({} with fence {})",
                    h.instance, h.token
                ),
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

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::TimeZone;

    use crate::jobs::lock::lock_key;
    use crate::shared::fakes::MapCache;
    use crate::shared::DomainError;

    /// A clock a test moves by hand.
    struct Hands(Mutex<DateTime<Utc>>);

    impl Clock for Hands {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }
    }

    impl Hands {
        fn at(secs: i64) -> Arc<Self> {
            Arc::new(Self(Mutex::new(Utc.timestamp_opt(secs, 0).unwrap())))
        }
        fn advance(&self, secs: i64) {
            *self.0.lock().unwrap() += chrono::TimeDelta::seconds(secs);
        }
    }

    /// Counts its runs; fails when told to.
    struct Counting {
        runs: AtomicUsize,
        fail: bool,
        schedule: Schedule,
    }

    #[async_trait]
    impl Job for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn schedule(&self) -> Schedule {
            self.schedule.clone()
        }
        async fn run(&self, lease: &Lease) -> DomainResult<String> {
            assert!(lease.still_held().await, "a run holds its lock");
            self.runs.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(DomainError::Unavailable("the database".into()));
            }
            Ok(format!("ran with fence {}", lease.fence().token))
        }
    }

    fn every_minute() -> Counting {
        Counting {
            runs: AtomicUsize::new(0),
            fail: false,
            schedule: Schedule::Every(Duration::from_secs(60)),
        }
    }

    fn runner(state: &Arc<MapCache>, clock: &Arc<Hands>, name: &str) -> JobRunner {
        let state = Arc::clone(state) as Arc<dyn Cache>;
        JobRunner::new(
            JobLock::new(Arc::clone(&state), Duration::from_secs(60)),
            state,
            Arc::clone(clock) as Arc<dyn Clock>,
            name.to_owned(),
            Duration::ZERO,
        )
    }

    #[tokio::test]
    async fn a_turn_whose_lock_another_instance_holds_is_skipped() {
        let state = Arc::new(MapCache::shared());
        let clock = Hands::at(1_800_000_000);
        let job = every_minute();
        state
            .set(&lock_key("counting"), "7@a:1", Duration::from_secs(60))
            .await
            .unwrap();
        let run = runner(&state, &clock, "b:2").turn(&job).await;
        assert_eq!(run.result, JobResult::Skipped);
        assert!(run.message.contains("fence 7"), "{}", run.message);
        assert_eq!(job.runs.load(Ordering::SeqCst), 0);
        assert_eq!(
            state.value(&lock_key("counting")).as_deref(),
            Some("7@a:1"),
            "not released by another"
        );
    }

    #[tokio::test]
    async fn each_period_runs_once_across_instances_with_a_larger_fence_each_time() {
        let state = Arc::new(MapCache::shared());
        let clock = Hands::at(1_800_000_000);
        let job = every_minute();
        let (a, b) = (runner(&state, &clock, "a:1"), runner(&state, &clock, "b:2"));
        let mut fences = Vec::new();
        for _ in 0..3 {
            let first = a.turn(&job).await;
            let second = b.turn(&job).await;
            assert_eq!(first.result, JobResult::Ok);
            assert_eq!(second.result, JobResult::Skipped, "already ran this period");
            fences.push(first.fence.unwrap());
            clock.advance(60);
        }
        assert_eq!(job.runs.load(Ordering::SeqCst), 3);
        assert!(fences.windows(2).all(|w| w[0] < w[1]), "{fences:?}");
        assert_eq!(state.value(&lock_key("counting")), None, "released");
        let status = b.status().await;
        assert!(status.is_empty(), "b lists no job it was not given");
        let last: JobRun =
            serde_json::from_str(&state.value(&last_key("counting")).unwrap()).unwrap();
        assert_eq!(
            (last.instance.as_str(), last.fence),
            ("a:1", Some(fences[2]))
        );
        assert_eq!(a.runs("counting").await.len(), 3);
    }

    #[tokio::test]
    async fn a_failed_run_is_recorded_as_an_error_and_not_marked_done() {
        let state = Arc::new(MapCache::shared());
        let clock = Hands::at(1_800_000_000);
        let job = Counting {
            fail: true,
            ..every_minute()
        };
        let a = runner(&state, &clock, "a:1");
        assert_eq!(a.turn(&job).await.result, JobResult::Error);
        // Not done: the next turn of the same period tries again.
        assert_eq!(a.turn(&job).await.result, JobResult::Error);
        assert_eq!(job.runs.load(Ordering::SeqCst), 2);
        assert_eq!(state.value(&lock_key("counting")), None);
    }

    #[tokio::test]
    async fn a_job_once_per_deploy_runs_once_for_each_deploy() {
        let state = Arc::new(MapCache::shared());
        let clock = Hands::at(1_800_000_000);
        let v1 = Counting {
            schedule: Schedule::OncePerDeploy("1.0@1".into()),
            ..every_minute()
        };
        let (a, b) = (runner(&state, &clock, "a:1"), runner(&state, &clock, "b:2"));
        assert_eq!(a.turn(&v1).await.result, JobResult::Ok);
        clock.advance(3600);
        assert_eq!(b.turn(&v1).await.result, JobResult::Skipped);
        let v2 = Counting {
            schedule: Schedule::OncePerDeploy("1.1@2".into()),
            ..every_minute()
        };
        assert_eq!(b.turn(&v2).await.result, JobResult::Ok);
        assert_eq!(
            v1.runs.load(Ordering::SeqCst) + v2.runs.load(Ordering::SeqCst),
            2
        );
    }

    #[tokio::test]
    async fn the_status_shows_the_last_run_anywhere_and_this_instance_s_turn() {
        let state = Arc::new(MapCache::shared());
        let clock = Hands::at(1_800_000_000);
        let job: Arc<dyn Job> = Arc::new(every_minute());
        let a = runner(&state, &clock, "a:1").with(Arc::clone(&job), true);
        let b = runner(&state, &clock, "b:2").with(Arc::clone(&job), true);
        a.turn(job.as_ref()).await;
        b.turn(job.as_ref()).await;
        let status = b.status().await.remove(0);
        assert_eq!(status.every_secs, Some(60));
        assert_eq!(status.last_run.unwrap().instance, "a:1");
        assert_eq!(status.last_turn_here.unwrap().result, JobResult::Skipped);
    }

    #[test]
    fn turns_fall_on_the_period_s_start_on_the_wall_clock() {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).unwrap();
        let minute = Duration::from_secs(60);
        assert_eq!(next_turn(at(60_000), minute), minute);
        assert_eq!(next_turn(at(61_500), minute), Duration::from_millis(58_500));
        let done = |ms| done_key("j", &Schedule::Every(minute), at(ms));
        // A turn woken a little late or early names the same period.
        assert_eq!(done(120_020), done(119_990));
        assert_ne!(done(120_020), done(180_020));
    }
}
