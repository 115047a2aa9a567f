//! What every context shares: the error type and the one table of error codes, entity ids,
//! paging, input parsing, time, hit counters, the cache port, and the hook that carries effects
//! from one context to another.

pub mod cache;
pub mod cached;
pub mod counters;
pub mod error;
pub mod events;
#[cfg(test)]
pub mod fakes;
pub mod ids;
pub mod limits;
pub mod paging;
pub mod time;
pub mod validation;

pub use error::{collect_field, finish, DomainError, DomainResult, ErrorCode, FieldError};
pub use ids::{
    ApiTokenId, DuesId, FileId, MaterialId, MaterialTypeId, MemberId, OrgUnitId, PaymentId, PostId,
    UserId,
};
pub use paging::{Page, PageRequest};
