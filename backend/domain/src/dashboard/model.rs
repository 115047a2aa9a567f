//! What the dashboard shows, and the window of months it is computed over.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::access::UnitScope;
use crate::shared::cached::Cacheable;
use crate::shared::OrgUnitId;

/// How many months of payments the dashboard shows, the current one included.
pub const PAYMENT_MONTHS: u32 = 12;

/// "Today" and the months around it, in the organisation's time zone (`TESSERA_TIME_ZONE`):
/// a payment on the evening of the 31st in São Paulo belongs to that month, not the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthWindow {
    /// The organisation's time zone.
    pub time_zone: Tz,
    /// Today's date there.
    pub today: NaiveDate,
    /// The current month, `YYYY-MM` (the dues period).
    pub period: String,
    /// The first instant of the current month there.
    pub month_start: DateTime<Utc>,
    /// The first day of the oldest month shown.
    pub first_month: NaiveDate,
}

impl MonthWindow {
    /// The window around `now` in `time_zone`.
    pub fn at(now: DateTime<Utc>, time_zone: Tz) -> Self {
        let today = now.with_timezone(&time_zone).date_naive();
        let first_of_month = today.with_day(1).unwrap_or(today);
        // Midnight may not exist on a day clocks jump forward: take the first instant there is.
        let month_start = time_zone
            .from_local_datetime(&first_of_month.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(now, |t| t.with_timezone(&Utc));
        let first_month = first_of_month
            .checked_sub_months(Months::new(PAYMENT_MONTHS - 1))
            .unwrap_or(first_of_month);
        Self {
            time_zone,
            today,
            period: first_of_month.format("%Y-%m").to_string(),
            month_start,
            first_month,
        }
    }

    /// The months shown, oldest first, `YYYY-MM`.
    pub fn months(&self) -> Vec<String> {
        (0..PAYMENT_MONTHS)
            .filter_map(|i| self.first_month.checked_add_months(Months::new(i)))
            .map(|m| m.format("%Y-%m").to_string())
            .collect()
    }
}

/// What one dashboard is computed over: whose members, whose money, which months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardQuery {
    /// The units whose members count.
    pub members: UnitScope,
    /// The units whose dues and payments count (a treasurer's are the whole organisation's).
    pub money: UnitScope,
    /// The months.
    pub window: MonthWindow,
}

/// The figures of one scope on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The day the figures are for, in the organisation's time zone.
    pub as_of: NaiveDate,
    /// The current month, `YYYY-MM`.
    pub period: String,
    /// The organisation's time zone (IANA name).
    pub time_zone: String,
    /// The members in scope.
    pub members: MemberFigures,
    /// The current month's dues, per currency.
    pub dues: Vec<DuesFigures>,
    /// Payments per month, oldest first, every month of the window (empty ones too).
    pub payments: Vec<PaymentMonth>,
    /// When the figures were computed (they may be served from the cache for a few minutes).
    pub computed_at: DateTime<Utc>,
}

impl Cacheable for Dashboard {}

/// Members by status and by unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFigures {
    /// Every member in scope.
    pub total: i64,
    /// By status.
    pub by_status: StatusCounts,
    /// By unit, in tree order; units without members are left out.
    pub by_unit: Vec<UnitCount>,
    /// Members registered since the first day of the current month.
    pub new_this_month: i64,
}

/// Members per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Active.
    pub active: i64,
    /// Inactive.
    pub inactive: i64,
    /// Suspended.
    pub suspended: i64,
}

/// The members of one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitCount {
    /// The unit.
    pub org_unit_id: OrgUnitId,
    /// Its name.
    pub name: String,
    /// How many members it has.
    pub count: i64,
}

/// The current month's dues in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuesFigures {
    /// ISO currency code.
    pub currency: String,
    /// Dues of the month that are not waived: what the month should bring.
    pub expected_cents: i64,
    /// How many.
    pub expected_count: i64,
    /// What payments for the month's dues brought.
    pub collected_cents: i64,
    /// How many payments.
    pub collected_count: i64,
    /// Dues of the month still open after their due date.
    pub overdue_cents: i64,
    /// How many.
    pub overdue_count: i64,
}

/// The payments of one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// How many payments, every purpose and currency.
    pub count: i64,
    /// Units of material the month's material payments handed out.
    pub materials_distributed: i64,
    /// Amounts by purpose and currency.
    pub amounts: Vec<PurposeAmount>,
}

/// What payments of one purpose in one currency brought in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeAmount {
    /// `dues`, `material` or `donation`.
    pub purpose: String,
    /// ISO currency code.
    pub currency: String,
    /// The sum, in cents.
    pub amount_cents: i64,
    /// How many payments.
    pub count: i64,
}

/// One row of the payments-per-month query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMonthRow {
    /// `YYYY-MM`.
    pub month: String,
    /// The purpose's wire name.
    pub purpose: String,
    /// ISO currency code.
    pub currency: String,
    /// The sum, in cents.
    pub amount_cents: i64,
    /// How many payments.
    pub count: i64,
    /// Units of material they settled (0 but for material payments).
    pub quantity: i64,
}

/// How many of each thing the organisation holds (the administrators' dashboard).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminCounts {
    /// Users.
    pub users: i64,
    /// Org units.
    pub org_units: i64,
    /// Members.
    pub members: i64,
    /// Dues records.
    pub dues: i64,
    /// Payments.
    pub payments: i64,
    /// Files.
    pub files: i64,
    /// API tokens not revoked.
    pub api_tokens: i64,
    /// Audit events.
    pub audit_events: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_is_the_organisations_not_utcs() {
        // 02:30 UTC on 1 December is still 30 November in São Paulo (UTC-3).
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 2, 30, 0).unwrap();
        let sp = MonthWindow::at(now, chrono_tz::America::Sao_Paulo);
        assert_eq!(sp.period, "2026-11");
        assert_eq!(sp.today, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(
            sp.month_start,
            Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap()
        );
        let utc = MonthWindow::at(now, chrono_tz::UTC);
        assert_eq!(utc.period, "2026-12");
    }

    #[test]
    fn twelve_months_end_with_the_current_one() {
        let now = Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap();
        let window = MonthWindow::at(now, chrono_tz::UTC);
        let months = window.months();
        assert_eq!(months.len(), 12);
        assert_eq!(months[0], "2025-04");
        assert_eq!(months[11], "2026-03");
        assert_eq!(
            window.first_month,
            NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
        );
    }
}
