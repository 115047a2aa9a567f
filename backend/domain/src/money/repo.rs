//! What the money context needs from storage.

use async_trait::async_trait;

use crate::money::model::{
    Dues, DuesFilter, DuesUpdate, NewDues, NewPayment, Payment, PaymentFilter,
};
use crate::shared::{DomainResult, DuesId, Page, PageRequest, PaymentId};

/// Dues and payments.
#[async_trait]
pub trait MoneyRepo: Send + Sync {
    /// Records dues; `Conflict` `dues_exist` when the member already has dues for the period.
    async fn insert_dues(&self, dues: NewDues) -> DomainResult<Dues>;
    /// The dues with this id, if any.
    async fn dues_by_id(&self, id: DuesId) -> DomainResult<Option<Dues>>;
    /// A page of dues matching the filter, newest period first.
    async fn list_dues(&self, filter: DuesFilter, page: PageRequest) -> DomainResult<Page<Dues>>;
    /// Applies a change to dues.
    async fn update_dues(&self, id: DuesId, change: &DuesUpdate) -> DomainResult<Dues>;
    /// Deletes dues; `Conflict` `dues_in_use` while payments refer to them; `false` when absent.
    async fn delete_dues(&self, id: DuesId) -> DomainResult<bool>;
    /// Records a payment and, when it pays dues, marks them paid, in one transaction.
    async fn insert_payment(&self, payment: NewPayment) -> DomainResult<Payment>;
    /// The payment with this id, if any.
    async fn payment_by_id(&self, id: PaymentId) -> DomainResult<Option<Payment>>;
    /// A page of payments matching the filter, newest first.
    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Payment>>;
    /// Deletes a payment; `false` when absent.
    async fn delete_payment(&self, id: PaymentId) -> DomainResult<bool>;
}
