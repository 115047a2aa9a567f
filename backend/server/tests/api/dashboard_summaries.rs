//! The dashboard's summary tables (kept by database triggers) stay equal to a direct count of
//! members, dues and payments through every kind of write: members created, moved, changed and
//! deleted; dues created, generated, waived, reopened, changed and deleted; payments of every
//! purpose recorded and deleted (the bulk load is checked in `bulk_seed.rs`).

use chrono::{Days, Months, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

/// Each summary against the same figure counted from the facts: rows of one side missing from
/// the other, both ways (zero rows of a summary are kept but count as absent).
const CHECKS: [(&str, &str, &str); 4] = [
    (
        "member_counts",
        "SELECT org_unit_id, status, CAST(n AS BIGINT) AS n FROM member_counts WHERE n <> 0",
        "SELECT org_unit_id, status, CAST(COUNT(*) AS BIGINT) AS n FROM members \
         GROUP BY org_unit_id, status",
    ),
    (
        "dues_totals",
        "SELECT period, org_unit_id, currency, status, due_date, CAST(n AS BIGINT) AS n, \
                CAST(amount_cents AS BIGINT) AS a \
         FROM dues_totals WHERE n <> 0 OR amount_cents <> 0",
        "SELECT d.period, m.org_unit_id, d.currency, d.status, d.due_date, \
                CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(d.amount_cents) AS BIGINT) AS a \
         FROM dues d JOIN members m ON m.id = d.member_id \
         GROUP BY d.period, m.org_unit_id, d.currency, d.status, d.due_date",
    ),
    (
        "dues_paid_totals",
        "SELECT period, org_unit_id, currency, CAST(n AS BIGINT) AS n, \
                CAST(amount_cents AS BIGINT) AS a \
         FROM dues_paid_totals WHERE n <> 0 OR amount_cents <> 0",
        "SELECT d.period, m.org_unit_id, p.currency, CAST(COUNT(*) AS BIGINT) AS n, \
                CAST(SUM(p.amount_cents) AS BIGINT) AS a \
         FROM payments p JOIN dues d ON d.id = p.dues_id JOIN members m ON m.id = p.member_id \
         WHERE p.purpose = 'dues' GROUP BY d.period, m.org_unit_id, p.currency",
    ),
    (
        "payment_month_totals",
        "SELECT month, org_unit_id, purpose, currency, CAST(n AS BIGINT) AS n, \
                CAST(amount_cents AS BIGINT) AS a, CAST(quantity AS BIGINT) AS q \
         FROM payment_month_totals WHERE n <> 0 OR amount_cents <> 0 OR quantity <> 0",
        "SELECT substr(p.paid_on, 1, 7) AS month, m.org_unit_id, p.purpose, p.currency, \
                CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(p.amount_cents) AS BIGINT) AS a, \
                CAST(COALESCE(SUM(p.quantity), 0) AS BIGINT) AS q \
         FROM payments p JOIN members m ON m.id = p.member_id \
         GROUP BY substr(p.paid_on, 1, 7), m.org_unit_id, p.purpose, p.currency",
    ),
];

/// Fails, naming `step` and the table, unless every summary equals its direct count.
pub async fn assert_summaries_exact(app: &TestApp, step: &str) {
    for (table, summary, direct) in CHECKS {
        for (left, right, side) in [
            (summary, direct, "in the summary only"),
            (direct, summary, "in the facts only"),
        ] {
            let differing = app
                .sql_count(&format!(
                    "SELECT COUNT(*) AS n FROM ({left} EXCEPT {right}) AS differing"
                ))
                .await;
            assert_eq!(differing, 0, "{step}: {table} has {differing} rows {side}");
        }
    }
}

async fn created(res: reqwest::Response) -> i64 {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body["id"].as_i64().unwrap()
}

async fn ok(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

both_backends!(
    the_summaries_equal_a_direct_count_through_every_write,
    |app: TestApp| async move {
        let admin = app.admin_token.clone();
        let today = Utc::now().date_naive();
        let period = today.format("%Y-%m").to_string();
        let last_month = today.checked_sub_months(Months::new(1)).unwrap();
        let last_period = last_month.format("%Y-%m").to_string();

        let cc = app.org_unit("CC", "central", None).await;
        let cr = app.org_unit("CR", "regional", Some(cc)).await;
        let s1 = app.org_unit("S1", "sector", Some(cr)).await;
        let c1 = app.org_unit("C1", "cell", Some(s1)).await;
        let c2 = app.org_unit("C2", "cell", Some(s1)).await;
        let member = |name: &str, unit: i64, status: &str| {
            app.post_json(
                "/api/members",
                &admin,
                json!({"name": name, "org_unit_id": unit, "status": status}),
            )
        };
        let a = created(member("Ana", c1, "active").await).await;
        let b = created(member("Bia", c1, "active").await).await;
        let c = created(member("Cid", c2, "inactive").await).await;
        let d = created(member("Davi", c2, "active").await).await;
        assert_summaries_exact(&app, "members created").await;
        assert_eq!(
            app.sql_count("SELECT CAST(SUM(n) AS BIGINT) AS n FROM member_counts")
                .await,
            4
        );

        // Dues: one by hand, then a period generated for every active member.
        let a_dues = created(
            app.post_json(
                "/api/dues",
                &admin,
                json!({"member_id": a, "period": period, "amount_cents": 2500,
                       "currency": "BRL", "due_date": (today - Days::new(1)).to_string()}),
            )
            .await,
        )
        .await;
        let generated = ok(app
            .post_json(
                "/api/dues/generate",
                &admin,
                json!({"period": last_period, "amount_cents": 1500}),
            )
            .await)
        .await;
        assert_eq!(generated["created"], 3, "{generated}");
        let b_dues = created(
            app.post_json(
                "/api/dues",
                &admin,
                json!({"member_id": b, "period": period, "amount_cents": 2500,
                       "currency": "BRL", "due_date": (today + Days::new(3)).to_string()}),
            )
            .await,
        )
        .await;
        assert_summaries_exact(&app, "dues created").await;
        let dues_path = format!("/api/dues/{b_dues}");
        ok(app
            .patch(&dues_path, &admin, json!({"status": "waived"}))
            .await)
        .await;
        assert_summaries_exact(&app, "dues waived").await;
        ok(app
            .patch(&dues_path, &admin, json!({"status": "open"}))
            .await)
        .await;
        assert_summaries_exact(&app, "dues reopened").await;
        ok(app
            .patch(&dues_path, &admin, json!({"amount_cents": 3100}))
            .await)
        .await;
        assert_summaries_exact(&app, "dues amount changed").await;

        // Payments of every purpose.
        let dues_payment = created(
            app.post_json(
                "/api/payments",
                &admin,
                json!({"member_id": a, "purpose": "dues", "dues_id": a_dues, "amount_cents": 2500,
                       "currency": "BRL", "method": "pix", "paid_on": today.to_string()}),
            )
            .await,
        )
        .await;
        let donation = created(
            app.post_json(
                "/api/payments",
                &admin,
                json!({"member_id": d, "purpose": "donation", "amount_cents": 900,
                       "currency": "BRL", "method": "cash", "paid_on": last_month.to_string()}),
            )
            .await,
        )
        .await;
        let kind = created(
            app.post_json("/api/material-types", &admin, json!({"name": "Jornal"}))
                .await,
        )
        .await;
        let material = created(
            app.post_json(
                "/api/materials",
                &admin,
                json!({"material_type_id": kind, "title": "Edição 1", "unit_price_cents": 400,
                       "currency": "BRL", "stock": [{"org_unit_id": c1, "quantity": 10}]}),
            )
            .await,
        )
        .await;
        let material_payment = created(
            app.post_json(
                "/api/payments",
                &admin,
                json!({"member_id": a, "purpose": "material", "material_id": material,
                       "quantity": 3, "amount_cents": 1200, "currency": "BRL",
                       "method": "cash", "paid_on": today.to_string()}),
            )
            .await,
        )
        .await;
        assert_summaries_exact(&app, "payments recorded").await;
        assert_eq!(
            app.sql_count("SELECT CAST(SUM(quantity) AS BIGINT) AS n FROM payment_month_totals")
                .await,
            3
        );

        // A move takes the member's dues and payments to the new unit; a status change moves
        // the member between statuses.
        ok(app
            .patch(
                &format!("/api/members/{a}"),
                &admin,
                json!({"org_unit_id": c2}),
            )
            .await)
        .await;
        assert_summaries_exact(&app, "member moved").await;
        ok(app
            .patch(
                &format!("/api/members/{b}"),
                &admin,
                json!({"status": "suspended"}),
            )
            .await)
        .await;
        assert_summaries_exact(&app, "member status changed").await;
        let cell = app.unit_user_token(c2, false).await;
        let res = app.get("/api/dashboard", &cell).await;
        let dashboard = ok(res).await;
        assert_eq!(dashboard["members"]["total"], 3, "{dashboard}");
        assert_eq!(dashboard["dues"][0]["collected_cents"], 2500, "{dashboard}");

        // Deleting reverts each.
        for payment in [dues_payment, donation, material_payment] {
            let res = app
                .delete(&format!("/api/payments/{payment}"), &admin)
                .await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
            assert_summaries_exact(&app, &format!("payment {payment} deleted")).await;
        }
        assert_eq!(
            app.sql_count("SELECT CAST(SUM(n) AS BIGINT) AS n FROM payment_month_totals")
                .await,
            0
        );
        let res = app.delete(&format!("/api/dues/{a_dues}"), &admin).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_summaries_exact(&app, "dues deleted").await;
        let res = app.delete(&format!("/api/members/{c}"), &admin).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_summaries_exact(&app, "member deleted").await;
        assert_eq!(
            app.sql_count("SELECT CAST(SUM(n) AS BIGINT) AS n FROM member_counts")
                .await,
            3
        );
    }
);
