//! The object store's two implementations: any S3-compatible service, and the local disk.

pub mod local;
pub mod presign;
pub mod s3;
