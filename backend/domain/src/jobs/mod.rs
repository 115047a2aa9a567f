//! Periodic jobs that run inside every server but, each run, on one instance only: a lock in
//! the state store with an expiry and a fencing token (`lock.rs`), the runner that decides when
//! a job is due and records what each run did where every instance can read it (`service.rs`),
//! and what a run looks like (`model.rs`). The jobs themselves (URL refresh, warm on deploy,
//! the post-view write-back) are the other contexts' services; the server names them.

pub mod lock;
pub mod model;
pub mod service;

pub use lock::{Holder, JobLock, Lease};
pub use model::{Fence, FencedWrite, JobResult, JobRun, JobStatus, Schedule};
pub use service::{Job, JobRunner};
