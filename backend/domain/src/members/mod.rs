//! Members: the people of the organisation, each in one cell. Unit users see and change the
//! members of their subtree; a treasurer also sees (read only) every member that dues or
//! payments refer to.

pub mod model;
pub mod repo;
pub mod service;

pub use model::{
    fold, search_text, Member, MemberFilter, MemberInput, MemberQuery, MemberSort, MemberStatus,
    MemberUpdate, NewMember, SEARCH_SEPARATOR,
};
pub use repo::MemberRepo;
pub use service::{MemberPorts, MemberService, MemberView, MEMBER_LISTS};
