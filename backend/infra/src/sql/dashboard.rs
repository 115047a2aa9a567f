//! The dashboard's aggregates: one query per figure, over the summary tables the database's
//! triggers keep exact in every write's transaction (`member_counts`, `dues_totals`,
//! `dues_paid_totals`, `payment_month_totals`: migration `20261203000060_dashboard_summaries`),
//! a few rows per unit and month instead of every payment. Over a subtree they join the row's
//! unit and filter on its path range. Only "new this month" reads members, by creation time.

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

/// The condition on `ou` (the summary row's unit) for a scope. It always binds `$1` and `$2`
/// (the path range, or two unused texts), so the queries' own binds start at `$3`.
fn summary_condition(scope: &UnitScope) -> &'static str {
    match scope {
        UnitScope::All => "CAST($1 AS TEXT) IS NULL AND CAST($2 AS TEXT) IS NULL",
        UnitScope::Subtree(_) => "ou.path >= $1 AND ou.path < $2",
        UnitScope::Nothing => "CAST($1 AS TEXT) IS NULL AND CAST($2 AS TEXT) IS NULL AND 1 = 0",
    }
}

/// The two binds of [`summary_condition`].
fn summary_args(scope: &UnitScope) -> [Arg; 2] {
    match scope {
        UnitScope::Subtree(path) => {
            let (start, end) = path.subtree_range();
            [Arg::Text(Some(start)), Arg::Text(Some(end))]
        }
        UnitScope::All | UnitScope::Nothing => [Arg::Text(None), Arg::Text(None)],
    }
}

/// `YYYY-MM` of a date, as the summaries key months.
fn month_text(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m").to_string()
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
        let counts = format!(
            "SELECT c.org_unit_id, ou.name, c.status, c.n \
             FROM member_counts c JOIN org_units ou ON ou.id = c.org_unit_id \
             WHERE {condition} AND c.n <> 0 \
             ORDER BY ou.path, c.status",
            condition = summary_condition(units),
        );
        // The month's new members: an index range on the creation time (the month's start
        // depends on the organisation's time zone, which the summaries do not know).
        let new = format!(
            "SELECT COUNT(*) AS n FROM members m {join} WHERE {condition} AND m.created_at >= {since}",
            join = scope.join,
            condition = scope.condition,
            since = param(&scope, 1),
        );
        let mut new_args = scope.args;
        new_args.push(Arg::Int(Some(window.month_start.timestamp_millis())));
        let count_args = summary_args(units);
        let (rows, new_row) = futures::try_join!(
            bind(sqlx::query(AssertSqlSafe(counts)), &count_args).fetch_all(&self.pool),
            bind(sqlx::query(AssertSqlSafe(new)), &new_args).fetch_one(&self.pool),
        )
        .map_err(db_error)?;
        let mut figures = MemberFigures {
            new_this_month: get(&new_row, "n")?,
            ..MemberFigures::default()
        };
        let mut by_unit: Vec<UnitCount> = Vec::new();
        for row in &rows {
            let unit = OrgUnitId(get(row, "org_unit_id")?);
            let status: String = get(row, "status")?;
            let n: i64 = get(row, "n")?;
            figures.total += n;
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
        let condition = summary_condition(units);
        let owed = format!(
            "SELECT t.currency, \
                CAST(SUM(CASE WHEN t.status <> 'waived' THEN t.amount_cents ELSE 0 END) AS BIGINT) AS expected_cents, \
                CAST(SUM(CASE WHEN t.status <> 'waived' THEN t.n ELSE 0 END) AS BIGINT) AS expected_count, \
                CAST(SUM(CASE WHEN t.status = 'open' AND t.due_date < $3 THEN t.amount_cents ELSE 0 END) AS BIGINT) AS overdue_cents, \
                CAST(SUM(CASE WHEN t.status = 'open' AND t.due_date < $3 THEN t.n ELSE 0 END) AS BIGINT) AS overdue_count \
             FROM dues_totals t JOIN org_units ou ON ou.id = t.org_unit_id \
             WHERE {condition} AND t.period = $4 \
             GROUP BY t.currency HAVING SUM(t.n) <> 0",
        );
        let collected = format!(
            "SELECT t.currency, CAST(SUM(t.amount_cents) AS BIGINT) AS collected_cents, \
                    CAST(SUM(t.n) AS BIGINT) AS collected_count \
             FROM dues_paid_totals t JOIN org_units ou ON ou.id = t.org_unit_id \
             WHERE {condition} AND t.period = $3 \
             GROUP BY t.currency HAVING SUM(t.n) <> 0",
        );
        let mut owed_args = Vec::from(summary_args(units));
        owed_args.push(Arg::Text(Some(date_text(window.today))));
        owed_args.push(Arg::Text(Some(window.period.clone())));
        let mut collected_args = Vec::from(summary_args(units));
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
        // Months are `YYYY-MM` text (the first seven characters of `paid_on`, an ISO date): a
        // range on them is a range of months.
        let sql = format!(
            "SELECT t.month, t.purpose, t.currency, \
                    CAST(SUM(t.amount_cents) AS BIGINT) AS amount_cents, \
                    CAST(SUM(t.n) AS BIGINT) AS n, CAST(SUM(t.quantity) AS BIGINT) AS quantity \
             FROM payment_month_totals t JOIN org_units ou ON ou.id = t.org_unit_id \
             WHERE {condition} AND t.month >= $3 AND t.month < $4 \
             GROUP BY t.month, t.purpose, t.currency HAVING SUM(t.n) <> 0 \
             ORDER BY 1, 2, 3",
            condition = summary_condition(units),
        );
        let next_month = window
            .today
            .with_day0(0)
            .and_then(|first| first.checked_add_months(Months::new(1)))
            .ok_or_else(|| corrupt("date", &window.today.to_string()))?;
        let mut args = Vec::from(summary_args(units));
        args.push(Arg::Text(Some(month_text(window.first_month))));
        args.push(Arg::Text(Some(month_text(next_month))));
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
