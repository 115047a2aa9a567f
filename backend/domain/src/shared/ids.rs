//! The ids of every entity, in one place so contexts can name each other's records without
//! depending on each other.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident,)+) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )+};
}

ids! {
    /// A user's database id.
    UserId,
    /// An org unit's database id.
    OrgUnitId,
    /// A member's database id.
    MemberId,
    /// A dues record's database id.
    DuesId,
    /// A payment's database id.
    PaymentId,
    /// A file's database id; also the `<id>` of its `file_url:<id>` cache key.
    FileId,
    /// An API token's database id.
    ApiTokenId,
    /// A post's database id.
    PostId,
    /// A material type's database id.
    MaterialTypeId,
    /// A material's database id.
    MaterialId,
}
