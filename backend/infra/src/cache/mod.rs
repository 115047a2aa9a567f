//! The cache port's implementations: Redis (`REDIS_URL`), the in-process tier in front of it
//! (kept coherent across instances through pub/sub), and the in-process cache of the embedded
//! default.

pub mod front;
pub mod memory;
pub mod redis;
pub mod tiered;
