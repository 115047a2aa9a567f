//! Tessera's domain, grouped by context: each context folder holds its model, its service (the
//! rules) and the narrow repository trait the service needs; `shared` holds what they all use.
//! No web framework, database driver, Redis client or cloud SDK is allowed in here; `.ci/run`
//! checks that. Contexts depend on each other in one direction only (`docs/architecture.md`
//! draws the arrows); effects that cross back go through `shared::events`.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod cache;
pub mod dashboard;
pub mod files;
pub mod jobs;
pub mod materials;
pub mod members;
pub mod money;
pub mod org;
pub mod posts;
pub mod shared;
