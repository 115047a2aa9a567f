//! The dashboard: figures equal a direct count in every scope, are cached per scope and day,
//! and are fresh after any write; the administrators' dashboard; warming every unit's.

use chrono::{Days, Months, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;

/// CC → CR → S1 → C1, CR → S2 → C2; members a, b, c in C1 and d, e in C2.
struct Org {
    cr: i64,
    c1: i64,
    s2: i64,
    c2: i64,
    a: i64,
    b: i64,
    d: i64,
    e: i64,
}

async fn member(app: &TestApp, name: &str, unit: i64, status: &str) -> i64 {
    let res = app
        .post_json(
            "/api/members",
            &app.admin_token,
            json!({"name": name, "org_unit_id": unit, "status": status}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn dues(app: &TestApp, member_id: i64, cents: i64, due: chrono::NaiveDate) -> i64 {
    let res = app
        .post_json(
            "/api/dues",
            &app.admin_token,
            json!({"member_id": member_id, "period": period(), "amount_cents": cents,
                   "currency": "BRL", "due_date": due.to_string()}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn payment(app: &TestApp, body: Value) {
    let res = app.post_json("/api/payments", &app.admin_token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}

fn period() -> String {
    today().format("%Y-%m").to_string()
}

/// The organisation above, with this month's dues (a paid, b overdue, d open, e waived) and
/// payments (a's dues and a donation from a this month, a donation from d two months ago).
async fn org(app: &TestApp) -> Org {
    let cc = app.org_unit("CC", "central", None).await;
    let cr = app.org_unit("CR", "regional", Some(cc)).await;
    let s1 = app.org_unit("S1", "sector", Some(cr)).await;
    let c1 = app.org_unit("C1", "cell", Some(s1)).await;
    let s2 = app.org_unit("S2", "sector", Some(cr)).await;
    let c2 = app.org_unit("C2", "cell", Some(s2)).await;
    let a = member(app, "Ana", c1, "active").await;
    let b = member(app, "Bruno", c1, "active").await;
    member(app, "Caio", c1, "suspended").await;
    let d = member(app, "Dora", c2, "active").await;
    let e = member(app, "Edu", c2, "inactive").await;

    let yesterday = today() - Days::new(1);
    let a_dues = dues(app, a, 5000, yesterday).await;
    dues(app, b, 5000, yesterday).await;
    dues(app, d, 3000, today() + Days::new(10)).await;
    let e_dues = dues(app, e, 3000, today() + Days::new(10)).await;
    let res = app
        .patch(
            &format!("/api/dues/{e_dues}"),
            &app.admin_token,
            json!({"status": "waived"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    payment(
        app,
        json!({"member_id": a, "purpose": "dues", "dues_id": a_dues, "amount_cents": 5000,
               "currency": "BRL", "method": "pix", "paid_on": today().to_string()}),
    )
    .await;
    payment(
        app,
        json!({"member_id": a, "purpose": "donation", "amount_cents": 700, "currency": "BRL",
               "method": "cash", "paid_on": today().to_string()}),
    )
    .await;
    let two_months_ago = today().checked_sub_months(Months::new(2)).unwrap();
    payment(
        app,
        json!({"member_id": d, "purpose": "donation", "amount_cents": 1000, "currency": "BRL",
               "method": "cash", "paid_on": two_months_ago.to_string()}),
    )
    .await;
    Org {
        cr,
        c1,
        s2,
        c2,
        a,
        b,
        d,
        e,
    }
}

async fn dashboard(app: &TestApp, token: &str) -> Value {
    let res = app.get("/api/dashboard", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn month<'a>(dashboard: &'a Value, month: &str) -> &'a Value {
    dashboard["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == month)
        .unwrap_or_else(|| panic!("{month} is not in {dashboard}"))
}

/// The dashboard namespace's hits and misses.
async fn dashboard_counts(app: &TestApp) -> (u64, u64) {
    let stats = app.stats().await;
    let ns = &stats["namespaces"]["dashboard"];
    (ns["hits"].as_u64().unwrap(), ns["misses"].as_u64().unwrap())
}

fn this_month(dashboard: &Value) -> &Value {
    month(dashboard, &period())
}

both_backends!(
    the_figures_equal_a_direct_count_in_every_scope,
    |app: TestApp| async move {
        let o = org(&app).await;
        let all = dashboard(&app, &app.admin_token).await;

        assert_eq!(all["period"], period());
        assert_eq!(all["as_of"], today().to_string());
        assert_eq!(all["time_zone"], "UTC");
        let members = &all["members"];
        assert_eq!(
            members["total"],
            app.sql_count("SELECT COUNT(*) AS n FROM members").await
        );
        assert_eq!(
            members["by_status"],
            json!({"active": 3, "inactive": 1, "suspended": 1})
        );
        assert_eq!(
            members["by_unit"],
            json!([{"org_unit_id": o.c1, "name": "C1", "count": 3},
                   {"org_unit_id": o.c2, "name": "C2", "count": 2}])
        );
        assert_eq!(members["new_this_month"], 5);

        let expected = app
            .sql_count(&format!(
                "SELECT CAST(SUM(amount_cents) AS BIGINT) AS n FROM dues \
                 WHERE period = '{}' AND status <> 'waived'",
                period()
            ))
            .await;
        assert_eq!(expected, 13000);
        assert_eq!(
            all["dues"],
            json!([{"currency": "BRL", "expected_cents": expected, "expected_count": 3,
                    "collected_cents": 5000, "collected_count": 1,
                    "overdue_cents": 5000, "overdue_count": 1}])
        );

        let payments = all["payments"].as_array().unwrap();
        assert_eq!(payments.len(), 12);
        assert_eq!(payments[11]["month"], period());
        let now = this_month(&all);
        assert_eq!(now["count"], 2);
        assert_eq!(
            now["amounts"],
            json!([{"purpose": "donation", "currency": "BRL", "amount_cents": 700, "count": 1},
                   {"purpose": "dues", "currency": "BRL", "amount_cents": 5000, "count": 1}])
        );
        let earlier = today().checked_sub_months(Months::new(2)).unwrap();
        let then = month(&all, &earlier.format("%Y-%m").to_string());
        assert_eq!(
            then["amounts"],
            json!([{"purpose": "donation", "currency": "BRL", "amount_cents": 1000, "count": 1}])
        );
        assert!(payments.iter().all(|m| m["materials_distributed"] == 0));
        let listed: i64 = payments.iter().map(|m| m["count"].as_i64().unwrap()).sum();
        assert_eq!(
            listed,
            app.sql_count("SELECT COUNT(*) AS n FROM payments").await
        );

        // A cell sees its own members and money.
        let cell = dashboard(&app, &app.unit_user_token(o.c1, false).await).await;
        assert_eq!(cell["members"]["total"], 3);
        assert_eq!(
            cell["members"]["by_unit"],
            json!([{"org_unit_id": o.c1, "name": "C1", "count": 3}])
        );
        assert_eq!(cell["dues"][0]["expected_cents"], 10000);
        assert_eq!(cell["dues"][0]["collected_cents"], 5000);
        assert_eq!(cell["dues"][0]["overdue_cents"], 5000);
        assert_eq!(this_month(&cell)["count"], 2);
        assert_eq!(
            month(&cell, &earlier.format("%Y-%m").to_string())["count"],
            0
        );

        // The other sector sees C2 only: d's dues are open but not yet due, e's waived.
        let sector = dashboard(&app, &app.unit_user_token(o.s2, false).await).await;
        assert_eq!(sector["members"]["total"], 2);
        assert_eq!(
            sector["dues"],
            json!([{"currency": "BRL", "expected_cents": 3000, "expected_count": 1,
                    "collected_cents": 0, "collected_count": 0,
                    "overdue_cents": 0, "overdue_count": 0}])
        );
        assert_eq!(this_month(&sector)["count"], 0);

        // A treasurer of the cell: its members, the whole organisation's money.
        let treasurer = dashboard(&app, &app.unit_user_token(o.c1, true).await).await;
        assert_eq!(treasurer["members"]["total"], 3);
        assert_eq!(treasurer["dues"], all["dues"]);
        assert_eq!(treasurer["payments"], all["payments"]);

        // A user without a unit sees nothing, and every month is still listed.
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let nobody = dashboard(&app, &app.login(&email, "user-password-1").await).await;
        assert_eq!(nobody["members"]["total"], 0);
        assert_eq!(nobody["dues"], json!([]));
        assert_eq!(nobody["payments"].as_array().unwrap().len(), 12);
        let _ = (o.cr, o.a, o.b, o.d, o.e);
    }
);

both_backends!(
    dashboards_are_cached_per_scope_and_fresh_after_every_write,
    |app: TestApp| async move {
        let o = org(&app).await;
        let cell_user = app.unit_user_token(o.c1, false).await;

        let first = dashboard(&app, &app.admin_token).await;
        let again = dashboard(&app, &app.admin_token).await;
        assert_eq!(first, again);
        assert_eq!(dashboard_counts(&app).await, (1, 1));
        // Another scope is another entry, never the admin's figures.
        assert_eq!(dashboard(&app, &cell_user).await["members"]["total"], 3);
        assert_eq!(dashboard_counts(&app).await, (1, 2));

        // A new member.
        member(&app, "Fabi", o.c1, "active").await;
        assert_eq!(
            dashboard(&app, &app.admin_token).await["members"]["total"],
            6
        );
        assert_eq!(dashboard(&app, &cell_user).await["members"]["total"], 4);

        // A payment.
        payment(
            &app,
            json!({"member_id": o.b, "purpose": "donation", "amount_cents": 300,
                   "currency": "BRL", "method": "cash", "paid_on": today().to_string()}),
        )
        .await;
        assert_eq!(this_month(&dashboard(&app, &cell_user).await)["count"], 3);

        // A material handed out from the cell's stock.
        let res = app
            .post_json(
                "/api/material-types",
                &app.admin_token,
                json!({"name": "Jornal"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let type_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let res = app
            .post_json(
                "/api/materials",
                &app.admin_token,
                json!({"material_type_id": type_id, "title": "Edição 12", "unit_price_cents": 500,
                       "currency": "BRL", "stock": [{"org_unit_id": o.c1, "quantity": 10}]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let material_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        payment(
            &app,
            json!({"member_id": o.b, "purpose": "material", "material_id": material_id,
                   "quantity": 3, "amount_cents": 1500, "currency": "BRL", "method": "cash",
                   "paid_on": today().to_string()}),
        )
        .await;
        let cell = dashboard(&app, &cell_user).await;
        assert_eq!(this_month(&cell)["count"], 4);
        assert_eq!(this_month(&cell)["materials_distributed"], 3);
        assert_eq!(
            this_month(&cell)["materials_distributed"],
            app.sql_count("SELECT CAST(SUM(quantity) AS BIGINT) AS n FROM payments")
                .await
        );

        // A renamed unit.
        let res = app
            .patch(
                &format!("/api/org-units/{}", o.c2),
                &app.admin_token,
                json!({"name": "Célula Dois"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let all = dashboard(&app, &app.admin_token).await;
        assert_eq!(all["members"]["by_unit"][1]["name"], "Célula Dois");

        // A member moved out of the cell.
        let res = app
            .patch(
                &format!("/api/members/{}", o.a),
                &app.admin_token,
                json!({"org_unit_id": o.c2}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(dashboard(&app, &cell_user).await["members"]["total"], 3);
    }
);

both_backends!(
    administrators_get_counts_of_everything_and_the_cache_summary,
    |app: TestApp| async move {
        let o = org(&app).await;
        let res = app.get("/api/admin/dashboard", &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let admin: Value = res.json().await.unwrap();
        for (field, table) in [
            ("users", "users"),
            ("org_units", "org_units"),
            ("members", "members"),
            ("dues", "dues"),
            ("payments", "payments"),
            ("files", "files"),
            ("audit_events", "audit_events"),
        ] {
            let direct = app
                .sql_count(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .await;
            assert_eq!(admin["counts"][field], direct, "{field}");
        }
        assert_eq!(admin["counts"]["members"], 5);
        assert_eq!(admin["counts"]["payments"], 3);
        let cache = &admin["cache"];
        assert_eq!(cache["degraded"], false);
        assert!(cache["namespaces"]["dashboard"].is_object(), "{cache}");
        assert!(cache["hit_ratio"].as_f64().unwrap() <= 1.0);

        let cell_user = app.unit_user_token(o.c1, false).await;
        let res = app.get("/api/admin/dashboard", &cell_user).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
);

both_backends!(
    warm_precomputes_the_dashboard_of_every_unit,
    |app: TestApp| async move {
        let o = org(&app).await;
        let warmed = app.admin_cache("warm", json!({"dashboards": true})).await;
        // The organisation's and each of the six units'.
        assert_eq!(warmed["dashboards_count"], 7, "{warmed}");
        assert!(warmed["message"]
            .as_str()
            .unwrap()
            .ends_with("and 7 dashboards"));
        let sector = dashboard(&app, &app.unit_user_token(o.s2, false).await).await;
        assert_eq!(sector["members"]["total"], 2);
        let cell = dashboard(&app, &app.unit_user_token(o.c1, false).await).await;
        assert_eq!(cell["members"]["total"], 3);
        let ns = &app.stats().await["namespaces"]["dashboard"];
        assert_eq!(
            (ns["hits"].as_u64(), ns["misses"].as_u64()),
            (Some(2), Some(0))
        );

        // Without the flag, warm leaves dashboards alone.
        let plain = app.admin_cache("warm", json!({})).await;
        assert!(plain.get("dashboards_count").is_none(), "{plain}");
    }
);

both_backends!(
    concurrent_first_reads_of_a_dashboard_compute_it_once,
    |app: TestApp| async move {
        let o = org(&app).await;
        let cell_user = app.unit_user_token(o.c1, false).await;
        // Eight readers at once on a cold entry: one computes, the others get its value (the
        // same computed_at to the nanosecond), and every one sees only its own scope.
        let reads = (0..8).map(|i| {
            let token = if i % 2 == 0 {
                app.admin_token.clone()
            } else {
                cell_user.clone()
            };
            let app = &app;
            async move { dashboard(app, &token).await }
        });
        let answers = futures::future::join_all(reads).await;
        for (i, answer) in answers.iter().enumerate() {
            let same_scope = &answers[i % 2];
            assert_eq!(answer["computed_at"], same_scope["computed_at"], "read {i}");
            let total = if i % 2 == 0 { 5 } else { 3 };
            assert_eq!(answer["members"]["total"], total, "read {i}");
        }
        assert_ne!(answers[0]["computed_at"], answers[1]["computed_at"]);
    }
);
