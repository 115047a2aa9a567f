//! Posts: a bulletin board per org unit (seed `001`'s forum). A post is read by the users of
//! its unit's subtree (announcements flow down) and by everyone whose scope covers the unit;
//! written by whoever may write in the unit; edited and deleted by its author or an
//! administrator; pinned by administrators and the unit's writers. Views are counted in the
//! state store and written back to the database by a periodic job; the popular list is a
//! sorted set in the cache.

pub mod model;
pub mod repo;
pub mod service;
pub mod views;

pub use model::{BoardScope, NewPost, Post, PostFilter, PostInput, PostUpdate, PostView};
pub use repo::PostRepo;
pub use service::{PostService, POST_LISTS};
pub use views::{FlushOutcome, FLUSH_JOB, POPULAR_KEY, POPULAR_WINDOW};
