//! The dashboard service: computes a scope's figures with one query each, caches them per
//! scope and day (`dashboard:v<version>:stats:<scope>:<day>`), and moves the namespace's version
//! whenever members, money or the tree change, so the next read is fresh.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono_tz::Tz;

use crate::access::{Actor, UnitScope};
use crate::dashboard::model::{
    AdminCounts, Dashboard, DashboardQuery, MonthWindow, PaymentMonth, PaymentMonthRow,
    PurposeAmount,
};
use crate::dashboard::repo::DashboardRepo;
use crate::org::OrgRepo;
use crate::shared::cached::{CacheLayer, Invalidation, Namespace, TtlClass};
use crate::shared::events::{Event, Listener};
use crate::shared::time::Clock;
use crate::shared::DomainResult;

/// Dashboards per scope and day, `dashboard:v<version>:stats:<scope>[+money:<scope>]:<day>`
/// (dashboard TTL): every change to members, dues, payments or the tree moves the version.
pub static DASHBOARDS: Namespace = Namespace {
    name: "dashboard",
    ttl: TtlClass::Dashboard,
    invalidation: Invalidation::Version,
};

/// Dashboards.
pub struct DashboardService {
    figures: Arc<dyn DashboardRepo>,
    units: Arc<dyn OrgRepo>,
    cache: CacheLayer,
    clock: Arc<dyn Clock>,
    time_zone: Tz,
}

impl DashboardService {
    /// The service over the aggregates (and the tree, to warm every unit's dashboard), caching
    /// in `cache`; months are those of `time_zone`.
    pub fn new(
        figures: Arc<dyn DashboardRepo>,
        units: Arc<dyn OrgRepo>,
        cache: CacheLayer,
        clock: Arc<dyn Clock>,
        time_zone: Tz,
    ) -> Self {
        cache.register(&DASHBOARDS);
        Self {
            figures,
            units,
            cache,
            clock,
            time_zone,
        }
    }

    /// The caller's dashboard: its members, and the money it may see (a treasurer's is the
    /// whole organisation's); from the cache when the same scope asked today since the last
    /// change.
    pub async fn get(&self, actor: &Actor) -> DomainResult<Dashboard> {
        self.for_scope(actor.units.clone(), actor.money_units())
            .await
    }

    /// The counts of everything; administrators only.
    pub async fn admin_counts(&self, actor: &Actor) -> DomainResult<AdminCounts> {
        actor.require_admin()?;
        self.figures.admin_counts().await
    }

    /// Computes and caches today's dashboard of the whole organisation and of every unit (as
    /// its members see it); answers how many were computed. Administrators only.
    pub async fn warm(&self, actor: &Actor) -> DomainResult<usize> {
        actor.require_admin()?;
        let mut scopes = vec![UnitScope::All];
        for unit in self.units.units(&UnitScope::All).await? {
            scopes.push(UnitScope::Subtree(unit.path));
        }
        let window = self.window();
        let queries: Vec<DashboardQuery> = scopes
            .into_iter()
            .map(|scope| DashboardQuery {
                members: scope.clone(),
                money: scope,
                window: window.clone(),
            })
            .collect();
        let mut entries = Vec::with_capacity(queries.len());
        for query in &queries {
            entries.push((dashboard_key(query), self.compute(query).await?));
        }
        let count = entries.len();
        self.cache.put_many(&DASHBOARDS, &entries).await;
        Ok(count)
    }

    async fn for_scope(&self, members: UnitScope, money: UnitScope) -> DomainResult<Dashboard> {
        let query = DashboardQuery {
            members,
            money,
            window: self.window(),
        };
        let key = dashboard_key(&query);
        self.cache
            .get_or_load(&DASHBOARDS, &key, || self.compute(&query))
            .await
    }

    fn window(&self) -> MonthWindow {
        MonthWindow::at(self.clock.now(), self.time_zone)
    }

    /// The figures, straight from the database: one query each, run together.
    async fn compute(&self, query: &DashboardQuery) -> DomainResult<Dashboard> {
        let window = &query.window;
        let (members, dues, rows) = futures::try_join!(
            self.figures.member_figures(&query.members, window),
            self.figures.dues_figures(&query.money, window),
            self.figures.payment_months(&query.money, window),
        )?;
        Ok(Dashboard {
            as_of: window.today,
            period: window.period.clone(),
            time_zone: window.time_zone.name().to_owned(),
            members,
            dues,
            payments: by_month(window, rows),
            computed_at: self.clock.now(),
        })
    }
}

/// Every change that moves a figure moves the version.
#[async_trait]
impl Listener for DashboardService {
    async fn on(&self, event: Event) {
        match event {
            Event::OrgTreeChanged
            | Event::OrgUnitsChanged
            | Event::MembersChanged
            | Event::MoneyChanged => self.cache.invalidate(&DASHBOARDS).await,
            // The figures count users nowhere.
            Event::UsersChanged => {}
        }
    }
}

/// The key of a dashboard inside [`DASHBOARDS`]: the members' scope, the money's when it
/// differs (a treasurer's), and the day (figures of "this month" change at midnight).
fn dashboard_key(query: &DashboardQuery) -> String {
    let money = if query.money == query.members {
        String::new()
    } else {
        format!("+money:{}", query.money.cache_tag())
    };
    format!(
        "stats:{}{money}:{}",
        query.members.cache_tag(),
        query.window.today
    )
}

/// Every month of the window, oldest first, with the rows that fall in it.
fn by_month(window: &MonthWindow, rows: Vec<PaymentMonthRow>) -> Vec<PaymentMonth> {
    let mut months: BTreeMap<String, PaymentMonth> = window
        .months()
        .into_iter()
        .map(|month| {
            (
                month.clone(),
                PaymentMonth {
                    month,
                    count: 0,
                    materials_distributed: 0,
                    amounts: Vec::new(),
                },
            )
        })
        .collect();
    for row in rows {
        if let Some(month) = months.get_mut(&row.month) {
            month.count += row.count;
            month.materials_distributed += row.quantity;
            month.amounts.push(PurposeAmount {
                purpose: row.purpose,
                currency: row.currency,
                amount_cents: row.amount_cents,
                count: row.count,
            });
        }
    }
    months.into_values().collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::access::UnitPath;
    use crate::shared::OrgUnitId;

    fn window() -> MonthWindow {
        MonthWindow::at(
            Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
            chrono_tz::UTC,
        )
    }

    #[test]
    fn keys_hold_the_scope_the_money_scope_and_the_day() {
        let cell = UnitScope::Subtree(UnitPath::root(OrgUnitId(1)).child(OrgUnitId(4)));
        let own = DashboardQuery {
            members: cell.clone(),
            money: cell.clone(),
            window: window(),
        };
        assert_eq!(dashboard_key(&own), "stats:u/1/4/:2026-12-03");
        let treasurer = DashboardQuery {
            money: UnitScope::All,
            ..own
        };
        assert_eq!(
            dashboard_key(&treasurer),
            "stats:u/1/4/+money:all:2026-12-03"
        );
    }

    #[test]
    fn every_month_is_listed_and_rows_land_in_theirs() {
        let rows = vec![
            PaymentMonthRow {
                month: "2026-12".into(),
                purpose: "dues".into(),
                currency: "BRL".into(),
                amount_cents: 5000,
                count: 2,
                quantity: 0,
            },
            PaymentMonthRow {
                month: "2026-12".into(),
                purpose: "donation".into(),
                currency: "BRL".into(),
                amount_cents: 100,
                count: 1,
                quantity: 0,
            },
            // Outside the window: not shown.
            PaymentMonthRow {
                month: "2025-12".into(),
                purpose: "dues".into(),
                currency: "BRL".into(),
                amount_cents: 1,
                count: 1,
                quantity: 0,
            },
        ];
        let months = by_month(&window(), rows);
        assert_eq!(months.len(), 12);
        assert_eq!(months[0].month, "2026-01");
        assert!(months[..11]
            .iter()
            .all(|m| m.count == 0 && m.amounts.is_empty()));
        assert_eq!(months[11].count, 3);
        assert_eq!(months[11].amounts.len(), 2);
    }
}
