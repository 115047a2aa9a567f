//! Tessera's domain: entities, the newtypes that parse input, the services that hold the rules,
//! and the ports (traits) those services need. No web framework, database driver, Redis client
//! or cloud SDK is allowed in here; `.ci/run` checks that.

pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod cache_admin;
pub mod clock;
pub mod content_type;
pub mod dues;
pub mod error;
pub mod file;
pub mod file_urls;
pub mod files;
pub mod members;
pub mod money;
pub mod org;
pub mod org_units;
pub mod otp;
pub mod payments;
pub mod ports;
pub mod rate_limit;
pub mod sessions;
pub mod user;

pub use error::{DomainError, FieldError};
