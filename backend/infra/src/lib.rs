//! The implementations of Tessera's ports: the sqlx repositories (PostgreSQL and SQLite), the
//! Redis and in-process caches, and the S3 and local-disk object stores.

pub mod cache;
pub mod objects;
pub mod sql;
