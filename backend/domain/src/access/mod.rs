//! Access: who the caller is ([`Actor`]), which units' data it sees ([`UnitScope`]), and the
//! rate limits that keep callers within bounds.

pub mod rate_limit;
pub mod scope;

pub use scope::{Actor, UnitPath, UnitScope};
