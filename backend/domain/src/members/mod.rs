//! Members: the people of the organisation, each in one cell. Unit users see and change the
//! members of their subtree; a treasurer also sees (read only) every member that dues or
//! payments refer to.

pub mod model;
pub mod repo;
pub mod service;

pub use model::{Member, MemberFilter, MemberInput, MemberStatus, MemberUpdate, NewMember};
pub use repo::MemberRepo;
pub use service::{MemberService, MEMBER_LISTS};
