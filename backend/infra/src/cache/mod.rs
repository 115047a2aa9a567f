//! The cache port's two implementations: Redis (`REDIS_URL`) and the in-process cache.

pub mod memory;
pub mod redis;
