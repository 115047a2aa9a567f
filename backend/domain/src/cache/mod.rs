//! Cache administration (seed `001`): stats, clear, warm and refresh of the file-URL cache.

pub mod admin;

pub use admin::{CacheAdmin, CacheStats, ClearTarget, NamespaceStats, WarmTarget};
