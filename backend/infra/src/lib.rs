//! The implementations of Tessera's ports: the sqlx store (PostgreSQL and SQLite), the Redis and
//! in-process caches, and the S3 and local-disk object stores.

pub mod cache_memory;
pub mod cache_redis;
pub mod objects_local;
pub mod objects_s3;
pub mod store;
