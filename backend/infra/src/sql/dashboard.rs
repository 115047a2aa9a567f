//! The dashboard's aggregates: one query per figure. Over the whole organisation they read the
//! fact tables alone; over a subtree they join the member's unit and filter on its path range.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{Datelike, Months};
use sqlx::AssertSqlSafe;
use tessera_domain::access::UnitScope;
use tessera_domain::dashboard::{
    AdminCounts, DashboardRepo, DuesFigures, MemberFigures, MonthWindow, PaymentMonthRow, UnitCount,
};
use tessera_domain::shared::{DomainResult, OrgUnitId};

use super::{bind, corrupt, date_text, db_error, get, now_ms, Arg, SqlStore};

/// How a query over member-owned rows is narrowed to a scope: the joins it needs, its
/// condition, and their binds (`$1…`), after which the query's own binds follow.
struct Scoped {
    /// Joins from `m` (members) to `ou` (their unit), or nothing for the whole organisation.
    join: &'static str,
    /// The condition on the unit's path (`TRUE`-like when nothing narrows it).
    condition: &'static str,
    args: Vec<Arg>,
}

fn scoped(scope: &UnitScope) -> Scoped {
    match scope {
        UnitScope::All => Scoped {
            join: "",
            condition: "1 = 1",
            args: Vec::new(),
        },
        UnitScope::Subtree(path) => {
            let (start, end) = path.subtree_range();
            Scoped {
                join: "JOIN org_units ou ON ou.id = m.org_unit_id",
                condition: "ou.path >= $1 AND ou.path < $2",
                args: vec![Arg::Text(Some(start)), Arg::Text(Some(end))],
            }
        }
        UnitScope::Nothing => Scoped {
            join: "",
            condition: "1 = 0",
            args: Vec::new(),
        },
    }
}

/// `$n` for the query's own binds, numbered after the scope's.
fn param(scoped: &Scoped, n: usize) -> String {
    format!("${}", scoped.args.len() + n)
}

#[async_trait]
impl DashboardRepo for SqlStore {
    async fn member_figures(
        &self,
        units: &UnitScope,
        window: &MonthWindow,
    ) -> DomainResult<MemberFigures> {
        // Members per unit and status (a few rows per unit); the unit names come with them.
        let scope = scoped(units);
        let sql = format!(
            "SELECT m.org_unit_id, ou.name, ou.path, m.status, COUNT(*) AS n, \
                    CAST(SUM(CASE WHEN m.created_at >= {since} THEN 1 ELSE 0 END) AS BIGINT) AS new \
             FROM members m JOIN org_units ou ON ou.id = m.org_unit_id \
             WHERE {condition} \
             GROUP BY m.org_unit_id, ou.name, ou.path, m.status \
             ORDER BY ou.path, m.status",
            since = param(&scope, 1),
            condition = scope.condition,
        );
        let mut args = scope.args;
        args.push(Arg::Int(Some(window.month_start.timestamp_millis())));
        let rows = bind(sqlx::query(AssertSqlSafe(sql)), &args)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut figures = MemberFigures::default();
        let mut by_unit: Vec<UnitCount> = Vec::new();
        for row in &rows {
            let unit = OrgUnitId(get(row, "org_unit_id")?);
            let status: String = get(row, "status")?;
            let n: i64 = get(row, "n")?;
            figures.total += n;
            figures.new_this_month += get::<i64>(row, "new")?;
            match status.as_str() {
                "active" => figures.by_status.active += n,
                "inactive" => figures.by_status.inactive += n,
                "suspended" => figures.by_status.suspended += n,
                other => return Err(corrupt("member status", other)),
            }
            match by_unit.last_mut() {
                Some(last) if last.org_unit_id == unit => last.count += n,
                _ => by_unit.push(UnitCount {
                    org_unit_id: unit,
                    name: get(row, "name")?,
                    count: n,
                }),
            }
        }
        figures.by_unit = by_unit;
        Ok(figures)
    }

    async fn dues_figures(
        &self,
        units: &UnitScope,
        window: &MonthWindow,
    ) -> DomainResult<Vec<DuesFigures>> {
        let scope = scoped(units);
        let owed = format!(
            "SELECT d.currency, \
                CAST(SUM(CASE WHEN d.status <> 'waived' THEN d.amount_cents ELSE 0 END) AS BIGINT) AS expected_cents, \
                CAST(SUM(CASE WHEN d.status <> 'waived' THEN 1 ELSE 0 END) AS BIGINT) AS expected_count, \
                CAST(SUM(CASE WHEN d.status = 'open' AND d.due_date < {today} THEN d.amount_cents ELSE 0 END) AS BIGINT) AS overdue_cents, \
                CAST(SUM(CASE WHEN d.status = 'open' AND d.due_date < {today} THEN 1 ELSE 0 END) AS BIGINT) AS overdue_count \
             FROM dues d JOIN members m ON m.id = d.member_id {join} \
             WHERE {condition} AND d.period = {period} \
             GROUP BY d.currency",
            today = param(&scope, 1),
            period = param(&scope, 2),
            join = scope.join,
            condition = scope.condition,
        );
        let collected = format!(
            "SELECT p.currency, CAST(SUM(p.amount_cents) AS BIGINT) AS collected_cents, \
                    COUNT(*) AS collected_count \
             FROM payments p JOIN dues d ON d.id = p.dues_id JOIN members m ON m.id = p.member_id {join} \
             WHERE {condition} AND p.purpose = 'dues' AND d.period = {period} \
             GROUP BY p.currency",
            period = param(&scope, 1),
            join = scope.join,
            condition = scope.condition,
        );
        let mut owed_args = scoped(units).args;
        owed_args.push(Arg::Text(Some(date_text(window.today))));
        owed_args.push(Arg::Text(Some(window.period.clone())));
        let mut collected_args = scope.args;
        collected_args.push(Arg::Text(Some(window.period.clone())));
        let (owed_rows, collected_rows) = futures::try_join!(
            bind(sqlx::query(AssertSqlSafe(owed)), &owed_args).fetch_all(&self.pool),
            bind(sqlx::query(AssertSqlSafe(collected)), &collected_args).fetch_all(&self.pool),
        )
        .map_err(db_error)?;
        let mut by_currency: BTreeMap<String, DuesFigures> = BTreeMap::new();
        for row in &owed_rows {
            let currency: String = get(row, "currency")?;
            let figures = by_currency.entry(currency.clone()).or_default();
            figures.currency = currency;
            figures.expected_cents = get(row, "expected_cents")?;
            figures.expected_count = get(row, "expected_count")?;
            figures.overdue_cents = get(row, "overdue_cents")?;
            figures.overdue_count = get(row, "overdue_count")?;
        }
        for row in &collected_rows {
            let currency: String = get(row, "currency")?;
            let figures = by_currency.entry(currency.clone()).or_default();
            figures.currency = currency;
            figures.collected_cents = get(row, "collected_cents")?;
            figures.collected_count = get(row, "collected_count")?;
        }
        Ok(by_currency.into_values().collect())
    }

    async fn payment_months(
        &self,
        units: &UnitScope,
        window: &MonthWindow,
    ) -> DomainResult<Vec<PaymentMonthRow>> {
        let scope = scoped(units);
        // `paid_on` is ISO text: its first seven characters are the month, and a range on it
        // is a range of dates.
        let sql = format!(
            "SELECT substr(p.paid_on, 1, 7) AS month, p.purpose, p.currency, \
                    CAST(SUM(p.amount_cents) AS BIGINT) AS amount_cents, COUNT(*) AS n, \
                    CAST(COALESCE(SUM(p.quantity), 0) AS BIGINT) AS quantity \
             FROM payments p {members} \
             WHERE {condition} AND p.paid_on >= {from} AND p.paid_on < {until} \
             GROUP BY substr(p.paid_on, 1, 7), p.purpose, p.currency \
             ORDER BY 1, 2, 3",
            members = if scope.join.is_empty() {
                String::new()
            } else {
                format!("JOIN members m ON m.id = p.member_id {}", scope.join)
            },
            condition = scope.condition,
            from = param(&scope, 1),
            until = param(&scope, 2),
        );
        let next_month = window
            .today
            .with_day0(0)
            .and_then(|first| first.checked_add_months(Months::new(1)))
            .ok_or_else(|| corrupt("date", &window.today.to_string()))?;
        let mut args = scope.args;
        args.push(Arg::Text(Some(date_text(window.first_month))));
        args.push(Arg::Text(Some(date_text(next_month))));
        let rows = bind(sqlx::query(AssertSqlSafe(sql)), &args)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(PaymentMonthRow {
                    month: get(row, "month")?,
                    purpose: get(row, "purpose")?,
                    currency: get(row, "currency")?,
                    amount_cents: get(row, "amount_cents")?,
                    count: get(row, "n")?,
                    quantity: get(row, "quantity")?,
                })
            })
            .collect()
    }

    async fn admin_counts(&self) -> DomainResult<AdminCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM users) AS users, \
                    (SELECT COUNT(*) FROM org_units) AS org_units, \
                    (SELECT COUNT(*) FROM members) AS members, \
                    (SELECT COUNT(*) FROM dues) AS dues, \
                    (SELECT COUNT(*) FROM payments) AS payments, \
                    (SELECT COUNT(*) FROM files) AS files, \
                    (SELECT COUNT(*) FROM api_tokens WHERE expires_at > $1) AS api_tokens, \
                    (SELECT COUNT(*) FROM audit_events) AS audit_events",
        )
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(AdminCounts {
            users: get(&row, "users")?,
            org_units: get(&row, "org_units")?,
            members: get(&row, "members")?,
            dues: get(&row, "dues")?,
            payments: get(&row, "payments")?,
            files: get(&row, "files")?,
            api_tokens: get(&row, "api_tokens")?,
            audit_events: get(&row, "audit_events")?,
        })
    }
}
