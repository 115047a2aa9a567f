//! Integration tests over HTTP against the real server. Every test in `both_backends!` runs
//! twice: on the embedded default (SQLite, in-process cache, local disk) and on the services
//! (PostgreSQL, Redis, the SigV4-checking S3 server s3s-fs) that `scripts/services up` starts.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod helpers;

mod access;
mod admin_cache;
mod audit;
mod bulk_seed;
mod cli;
mod dashboard;
mod dashboard_summaries;
mod demo_seed;
mod errors;
mod files;
mod instances;
mod jobs;
mod logs;
mod materials;
mod members;
mod members_completed;
mod metrics;
mod money;
mod org_units;
mod otp;
mod outage;
mod posts;
mod rate_limits;
mod redis_ha;
mod resilience;
mod sessions;
mod spa;
mod startup;
mod tokens;
mod users;
