//! What the dashboard needs from storage: one query per figure, each an aggregate over indexes.

use async_trait::async_trait;

use crate::access::UnitScope;
use crate::dashboard::model::{
    AdminCounts, DuesFigures, MemberFigures, MonthWindow, PaymentMonthRow,
};
use crate::shared::DomainResult;

/// Aggregates over members, dues and payments.
#[async_trait]
pub trait DashboardRepo: Send + Sync {
    /// The members of `units`: by status, by unit, new since the month began.
    async fn member_figures(
        &self,
        units: &UnitScope,
        window: &MonthWindow,
    ) -> DomainResult<MemberFigures>;
    /// The dues of the window's month for members of `units`, per currency.
    async fn dues_figures(
        &self,
        units: &UnitScope,
        window: &MonthWindow,
    ) -> DomainResult<Vec<DuesFigures>>;
    /// Payments from members of `units` paid in the window, per month, purpose and currency.
    async fn payment_months(
        &self,
        units: &UnitScope,
        window: &MonthWindow,
    ) -> DomainResult<Vec<PaymentMonthRow>>;
    /// How many of each thing there is.
    async fn admin_counts(&self) -> DomainResult<AdminCounts>;
}
