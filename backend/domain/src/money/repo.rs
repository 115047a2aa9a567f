//! What the money context needs from storage.

use async_trait::async_trait;

use crate::money::model::{
    Dues, DuesFilter, DuesGenerated, DuesUpdate, GenerateDues, NewDues, NewPayment, Payment,
    PaymentFilter,
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
    /// Creates, in one transaction, the period's dues of every active member inside the
    /// scope that has none for it yet; answers how many were created and how many skipped.
    async fn generate_dues(&self, generate: &GenerateDues) -> DomainResult<DuesGenerated>;
    /// Applies a change to dues that are not paid; `Conflict` `dues_in_use` when they are (a
    /// payment paid them), decided in the same statement as the change.
    async fn update_dues(&self, id: DuesId, change: &DuesUpdate) -> DomainResult<Dues>;
    /// Deletes dues; `Conflict` `dues_in_use` while payments refer to them; `false` when absent.
    async fn delete_dues(&self, id: DuesId) -> DomainResult<bool>;
    /// Records a payment in one transaction with what it settles: dues it pays are marked paid
    /// when they are open and still of the payment's amount and currency (`Conflict`
    /// `dues_not_open` otherwise); a material's quantity is
    /// taken from the unit's stock by one conditional update (`InsufficientStock` with what the
    /// unit holds otherwise). On a refusal nothing is written.
    async fn insert_payment(&self, payment: NewPayment) -> DomainResult<Payment>;
    /// The payment with this id, if any.
    async fn payment_by_id(&self, id: PaymentId) -> DomainResult<Option<Payment>>;
    /// A page of payments matching the filter, newest first.
    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Payment>>;
    /// Deletes a payment and reverts what it changed, in one transaction: paid dues are open
    /// again, a material's quantity is back in the stock of the unit it was taken from.
    /// `false` when absent.
    async fn delete_payment(&self, id: PaymentId) -> DomainResult<bool>;
}
