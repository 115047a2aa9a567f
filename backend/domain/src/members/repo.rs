//! What the members context needs from storage.

use async_trait::async_trait;

use crate::members::model::{Member, MemberFilter, MemberUpdate, NewMember};
use crate::shared::{DomainResult, MemberId, Page, PageRequest};

/// The members.
#[async_trait]
pub trait MemberRepo: Send + Sync {
    /// Creates a member.
    async fn insert_member(&self, member: NewMember) -> DomainResult<Member>;
    /// The member with this id, if any.
    async fn member_by_id(&self, id: MemberId) -> DomainResult<Option<Member>>;
    /// Whether any dues or payment refers to the member.
    async fn member_has_money(&self, id: MemberId) -> DomainResult<bool>;
    /// A page of members matching the filter, by id.
    async fn list_members(
        &self,
        filter: MemberFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Member>>;
    /// Applies a change to a member.
    async fn update_member(&self, id: MemberId, change: &MemberUpdate) -> DomainResult<Member>;
    /// Deletes a member; `Conflict` `member_in_use` while dues or payments refer to it; `false`
    /// when absent.
    async fn delete_member(&self, id: MemberId) -> DomainResult<bool>;
}
