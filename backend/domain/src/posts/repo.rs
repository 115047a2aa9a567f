//! What the posts context needs from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::jobs::{Fence, FencedWrite};
use crate::posts::model::{BoardScope, NewPost, Post, PostFilter, PostUpdate};
use crate::shared::{DomainResult, Page, PageRequest, PostId};

/// The posts and their images.
#[async_trait]
pub trait PostRepo: Send + Sync {
    /// Creates a post with its images, in one transaction.
    async fn insert_post(&self, post: NewPost) -> DomainResult<Post>;
    /// The post with this id, if any.
    async fn post_by_id(&self, id: PostId) -> DomainResult<Option<Post>>;
    /// A page of the posts matching the filter: pinned first, then newest first.
    async fn list_posts(&self, filter: PostFilter, page: PageRequest) -> DomainResult<Page<Post>>;
    /// The posts with these ids that `scope` reads, in no particular order.
    async fn posts_by_ids(&self, scope: &BoardScope, ids: &[PostId]) -> DomainResult<Vec<Post>>;
    /// Applies a change (images replaced in the same transaction); `None` when the post is gone.
    async fn update_post(&self, id: PostId, change: &PostUpdate) -> DomainResult<Option<Post>>;
    /// Deletes a post and its image links; `false` when it did not exist.
    async fn delete_post(&self, id: PostId) -> DomainResult<bool>;
    /// Adds views to posts' stored counts, all in one transaction (a post that is gone is
    /// skipped). With a fence, the same transaction records its token for the job and writes
    /// nothing when a larger token is recorded already (a later holder of the job's lock ran).
    async fn add_views(
        &self,
        views: &[(PostId, i64)],
        fence: Option<&Fence>,
    ) -> DomainResult<FencedWrite>;
    /// Every post written at or after `since`, with its stored view count.
    async fn view_counts_since(&self, since: DateTime<Utc>) -> DomainResult<Vec<(PostId, i64)>>;
}
