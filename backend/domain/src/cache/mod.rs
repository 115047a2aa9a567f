//! Cache administration (seed `001`): stats and clear of every namespace, warm and refresh of
//! the file-URL cache.

pub mod admin;

pub use admin::{
    namespace, CacheAdmin, CacheStats, ClearTarget, NamespaceStats, WarmTarget, NAMESPACES,
};
