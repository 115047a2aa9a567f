//! The audit log of security events, kept in the database and readable by administrators.

pub mod model;
pub mod repo;
pub mod service;

pub use model::{parse_action, AuditAction, AuditEvent, AuditFilter, NewAuditEvent};
pub use repo::AuditRepo;
pub use service::AuditLog;
