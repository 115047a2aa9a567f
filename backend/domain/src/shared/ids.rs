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
                // Ids become cache keys on every cached read: itoa unless a width asks for
                // padding (what `i64`'s own `Display` does, at several times the cost).
                if f.width().is_none() && !f.sign_plus() {
                    f.write_str(itoa::Buffer::new().format(self.0))
                } else {
                    self.0.fmt(f)
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_displays_as_its_number_does() {
        for n in [0, 7, -5, 1_234_567, i64::MAX, i64::MIN] {
            let id = FileId(n);
            assert_eq!(id.to_string(), n.to_string());
            assert_eq!(
                format!("{id:>25}|{id:<25}|{id:+}|{id:05}"),
                format!("{n:>25}|{n:<25}|{n:+}|{n:05}")
            );
        }
    }
}
