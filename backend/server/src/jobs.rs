//! The periodic jobs every server runs, each turn on one instance only (the runner and its
//! lock are in `tessera_domain::jobs`): re-signing cached file URLs about to expire, warming
//! the newest file URLs once per deploy, and writing post views back to the database.
//! `docs/runbook.md` ("Periodic jobs") says what each does and where to see its last run.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use async_trait::async_trait;
use tessera_domain::cache::{CacheAdmin, WarmTarget};
use tessera_domain::files::{FileRepo, FileUrls};
use tessera_domain::jobs::service::next_turn;
use tessera_domain::jobs::{Job, JobLock, JobResult, JobRun, JobRunner, Lease, Schedule};
use tessera_domain::posts::{FlushOutcome, PostService, FLUSH_JOB};
use tessera_domain::shared::cache::Cache;
use tessera_domain::shared::time::Clock;
use tessera_domain::shared::DomainResult;

use crate::settings::Settings;
use crate::state::AppState;

/// The name of the refresh job.
pub const REFRESH_JOB: &str = "refresh_file_urls";
/// The name of the warm-on-deploy job.
pub const WARM_JOB: &str = "warm_on_deploy";

/// Re-signs cached file URLs about to expire (the seed's `schedule_cache_refresh`).
struct RefreshFileUrls {
    admin: CacheAdmin,
    every: Duration,
}

#[async_trait]
impl Job for RefreshFileUrls {
    fn name(&self) -> &'static str {
        REFRESH_JOB
    }
    fn schedule(&self) -> Schedule {
        Schedule::Every(self.every)
    }
    async fn run(&self, lease: &Lease) -> DomainResult<String> {
        let refreshed = self.admin.refresh_expiring(Some(lease)).await?;
        Ok(format!("Refreshed {refreshed} expiring URLs"))
    }
}

/// Warms the newest 100 file URLs (as `POST /api/admin/cache/warm {}`) once per deploy.
struct WarmOnDeploy {
    admin: CacheAdmin,
    deploy: String,
}

#[async_trait]
impl Job for WarmOnDeploy {
    fn name(&self) -> &'static str {
        WARM_JOB
    }
    fn schedule(&self) -> Schedule {
        Schedule::OncePerDeploy(self.deploy.clone())
    }
    // A warm writes nothing a later run could have written better (a URL signed a moment
    // earlier), so it needs no fence.
    async fn run(&self, _lease: &Lease) -> DomainResult<String> {
        let cached = self.admin.warm_files(WarmTarget::Newest(None)).await?;
        Ok(format!("Cached {cached} file URLs"))
    }
}

/// Writes pending post views back to the database, under the fence.
struct FlushPostViews {
    posts: Arc<PostService>,
    every: Duration,
}

#[async_trait]
impl Job for FlushPostViews {
    fn name(&self) -> &'static str {
        FLUSH_JOB
    }
    fn schedule(&self) -> Schedule {
        Schedule::Every(self.every)
    }
    async fn run(&self, lease: &Lease) -> DomainResult<String> {
        Ok(match self.posts.flush_views_under(lease).await? {
            FlushOutcome::Flushed { posts, views } => {
                format!("Wrote {views} views of {posts} posts back")
            }
            FlushOutcome::Busy => "Another run held the lock".to_owned(),
        })
    }
}

/// The ports the jobs work through.
pub struct JobPorts {
    /// The state store (locks, tokens, last runs).
    pub state: Arc<dyn Cache>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The file rows (refresh and warm read them).
    pub files: Arc<dyn FileRepo>,
    /// The file-URL cache.
    pub urls: Arc<FileUrls>,
    /// The post-view write-back.
    pub posts: Arc<PostService>,
}

/// The runner with every job; those whose setting turns them off are listed, not run.
pub fn runner(settings: &Settings, ports: JobPorts) -> JobRunner {
    let jobs = &settings.jobs;
    let lock = JobLock::new(Arc::clone(&ports.state), jobs.lock_ttl);
    let refresh_every = jobs.refresh_every;
    let flush_every = settings.posts_view_flush;
    JobRunner::new(
        lock,
        ports.state,
        ports.clock,
        instance_name(),
        jobs.test_hold,
    )
    .with(
        Arc::new(RefreshFileUrls {
            admin: CacheAdmin::new(Arc::clone(&ports.files), Arc::clone(&ports.urls)),
            every: refresh_every,
        }),
        !refresh_every.is_zero(),
    )
    .with(
        Arc::new(WarmOnDeploy {
            admin: CacheAdmin::new(ports.files, ports.urls),
            deploy: jobs.deploy_id.clone().unwrap_or_else(default_deploy_id),
        }),
        jobs.warm_on_start,
    )
    .with(
        Arc::new(FlushPostViews {
            posts: ports.posts,
            every: flush_every,
        }),
        !flush_every.is_zero(),
    )
}

/// Starts every enabled job: periodic ones at each period's start on the wall clock (every
/// instance's turn falls at the same moment, and one of them runs it), from the first such
/// start a whole period after this one; the deploy's warm once now, without delaying start-up.
pub fn spawn(state: &web::Data<AppState>) {
    let runner = Arc::clone(&state.jobs);
    for job in runner.enabled() {
        let runner = Arc::clone(&runner);
        let clock = Arc::clone(&state.clock);
        let metrics = Arc::clone(&state.metrics);
        let job_name = job.name();
        let turn = move |run: JobRun| {
            let outcome = match run.result {
                JobResult::Ok => "ok",
                JobResult::Error => "failed",
                JobResult::Skipped => "skipped",
            };
            let took = Duration::from_millis(run.duration_ms);
            metrics.record_job_run(job_name, outcome, took);
        };
        tokio::spawn(async move {
            match job.schedule() {
                Schedule::OncePerDeploy(_) => {
                    turn(runner.turn(job.as_ref()).await);
                }
                Schedule::Every(every) => {
                    // The first turn waits a whole period after start, as a plain interval
                    // would: a process that just started (a test's, a restart) runs nothing
                    // at once.
                    let first = tokio::time::Instant::now() + every;
                    loop {
                        tokio::time::sleep(next_turn(clock.now(), every)).await;
                        if tokio::time::Instant::now() + Duration::from_millis(50) < first {
                            continue;
                        }
                        turn(runner.turn(job.as_ref()).await);
                    }
                }
            }
        });
    }
}

/// `<host>:<pid>`: which instance ran a job.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

/// A deploy, when `TESSERA_DEPLOY_ID` does not name it: the version and the modification time
/// of the executable, the same for every instance started from one build or image.
fn default_deploy_id() -> String {
    let built = std::env::current_exe()
        .and_then(std::fs::metadata)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    format!("{}@{built}", env!("CARGO_PKG_VERSION"))
}
