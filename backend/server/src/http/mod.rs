//! What every route shares: who the caller is, how a route is declared with its OpenAPI entry,
//! problem+json errors, paging, optional bodies, the client's address, access tokens and
//! timestamps in bodies.

pub mod caller;
pub mod client_ip;
pub mod endpoint;
pub mod extract;
pub mod jwt;
pub mod paging;
pub mod problem;
pub mod rate_limit;
pub mod schema;
pub mod slashes;
pub mod timestamp;
