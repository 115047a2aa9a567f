//! The benchmark data set (`tessera seed --members --payments --files`), small: the counts asked
//! for, dues and payments consistent, images in the object store, the dashboard equal to a direct
//! count and fresh after the load, the sequences past the loaded ids, and a second run refused.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::accounts::UserRepo;
use tessera_domain::shared::validation::Email;
use tessera_server::seed::bulk::{seed_bulk, BulkOptions};

use crate::both_backends;
use crate::dashboard_summaries::assert_summaries_exact;
use crate::helpers::{TestApp, ADMIN_EMAIL};

const OPTIONS: BulkOptions = BulkOptions {
    members: 200,
    payments: 1000,
    files: 20,
};

async fn seed(app: &TestApp) -> anyhow::Result<tessera_server::seed::BulkReport> {
    let admin = app
        .state
        .db
        .user_by_email(&Email::parse(ADMIN_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    seed_bulk(&app.state, &admin.actor(), OPTIONS, false).await
}

async fn dashboard(app: &TestApp) -> Value {
    let res = app.get("/api/dashboard", &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

both_backends!(
    a_small_bulk_set_is_complete_consistent_and_counted_by_the_dashboard,
    |app: TestApp| async move {
        let cc = app.org_unit("CC", "central", None).await;
        let cr = app.org_unit("CR", "regional", Some(cc)).await;
        let s = app.org_unit("S", "sector", Some(cr)).await;
        let c1 = app.org_unit("C1", "cell", Some(s)).await;
        let c2 = app.org_unit("C2", "cell", Some(s)).await;
        // Cached before the load: the load must move it on.
        assert_eq!(dashboard(&app).await["members"]["total"], 0);

        let report = seed(&app).await.unwrap();
        assert_eq!(
            (report.members, report.dues, report.payments, report.files),
            (200, 2400, 1000, 20)
        );
        assert_eq!(
            app.sql_count("SELECT COUNT(*) AS n FROM members").await,
            200
        );
        assert_eq!(app.sql_count("SELECT COUNT(*) AS n FROM dues").await, 2400);
        assert_eq!(
            app.sql_count("SELECT COUNT(*) AS n FROM payments").await,
            1000
        );
        // The COPY (PostgreSQL) and the multi-row INSERTs (SQLite) kept the summaries exact.
        assert_summaries_exact(&app, "bulk load").await;
        assert_eq!(app.sql_count("SELECT COUNT(*) AS n FROM files").await, 20);
        // Spread over both cells; every member searchable by its folded name and email.
        for cell in [c1, c2] {
            let n = app
                .sql_count(&format!(
                    "SELECT COUNT(*) AS n FROM members WHERE org_unit_id = {cell}"
                ))
                .await;
            assert_eq!(n, 100, "cell {cell}");
        }
        assert_eq!(
            app.sql_count(
                "SELECT COUNT(*) AS n FROM members WHERE search_text NOT LIKE '%bench.tessera.example.org'"
            )
            .await,
            0
        );
        assert_eq!(
            app.sql_count("SELECT COUNT(*) AS n FROM members WHERE avatar_file_id IS NOT NULL")
                .await,
            20
        );

        // Dues and payments agree: each dues payment settles paid dues of its member, for their
        // amount, and each paid dues has exactly one payment.
        assert_eq!(
            app.sql_count(
                "SELECT COUNT(*) AS n FROM payments p JOIN dues d ON d.id = p.dues_id \
                 WHERE d.status <> 'paid' OR d.member_id <> p.member_id \
                    OR d.amount_cents <> p.amount_cents OR p.purpose <> 'dues'"
            )
            .await,
            0
        );
        let dues_payments = app
            .sql_count("SELECT COUNT(*) AS n FROM payments WHERE purpose = 'dues'")
            .await;
        assert!(dues_payments > 0);
        assert_eq!(
            app.sql_count("SELECT COUNT(*) AS n FROM dues WHERE status = 'paid'")
                .await,
            dues_payments
        );
        assert_eq!(
            app.sql_count(
                "SELECT COUNT(*) AS n FROM payments WHERE purpose = 'dues' AND dues_id IS NULL"
            )
            .await,
            0
        );
        assert_eq!(
            app.sql_count(
                "SELECT COUNT(*) AS n FROM (SELECT dues_id FROM payments WHERE dues_id IS NOT NULL \
                 GROUP BY dues_id HAVING COUNT(*) > 1) twice"
            )
            .await,
            0
        );
        assert!(
            app.sql_count("SELECT COUNT(*) AS n FROM payments WHERE purpose = 'donation'")
                .await
                > 0
        );

        // The dashboard (fresh after the load) equals direct counts.
        let board = dashboard(&app).await;
        let period = board["period"].as_str().unwrap().to_owned();
        assert_eq!(board["members"]["total"], 200);
        let active = app
            .sql_count("SELECT COUNT(*) AS n FROM members WHERE status = 'active'")
            .await;
        assert_eq!(board["members"]["by_status"]["active"], active);
        let dues = &board["dues"][0];
        assert_eq!(dues["currency"], "BRL");
        let expected = app
            .sql_count(&format!(
                "SELECT COUNT(*) AS n FROM dues WHERE period = '{period}' AND status <> 'waived'"
            ))
            .await;
        assert_eq!(dues["expected_count"], expected);
        assert_eq!(expected, 200, "this month's dues are never waived");
        let collected = app
            .sql_count(&format!(
                "SELECT CAST(COALESCE(SUM(p.amount_cents), 0) AS BIGINT) AS n FROM payments p \
                 JOIN dues d ON d.id = p.dues_id WHERE d.period = '{period}'"
            ))
            .await;
        assert_eq!(dues["collected_cents"], collected);
        let months = board["payments"].as_array().unwrap();
        let counted: i64 = months.iter().map(|m| m["count"].as_i64().unwrap()).sum();
        assert_eq!(
            counted, 1000,
            "every payment falls in the last twelve months"
        );
        let last = months.last().unwrap();
        let this_month = app
            .sql_count(&format!(
                "SELECT COUNT(*) AS n FROM payments WHERE paid_on LIKE '{period}-%'"
            ))
            .await;
        assert_eq!(last["count"], this_month);

        // The images are in the object store, as PNGs.
        let file = app.get_file(1).await;
        assert_eq!(file["file_type"], "avatar");
        let url = file["url"].as_str().unwrap();
        let url = if url.starts_with('/') {
            app.url(url)
        } else {
            url.to_owned()
        };
        let bytes = app
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

        // Member search finds them.
        let res = app
            .get("/api/members?q=bench.tessera&per_page=1", &app.admin_token)
            .await;
        assert_eq!(res.json::<Value>().await.unwrap()["total"], 200);

        // New rows get ids past the loaded ones.
        let res = app
            .post_json(
                "/api/members",
                &app.admin_token,
                json!({"name": "After the load", "org_unit_id": c1}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let member = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        assert_eq!(member, 201);
        let res = app
            .post_json(
                "/api/dues",
                &app.admin_token,
                json!({"member_id": member, "period": period, "amount_cents": 100,
                       "currency": "BRL", "due_date": format!("{period}-10")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = app
            .post_json(
                "/api/payments",
                &app.admin_token,
                json!({"member_id": member, "purpose": "donation", "amount_cents": 100,
                       "method": "pix"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);

        // A second run refuses and adds nothing.
        let refused = seed(&app).await.unwrap_err().to_string();
        assert!(refused.contains("already"), "{refused}");
        assert_eq!(
            app.sql_count("SELECT COUNT(*) AS n FROM members").await,
            201
        );
    }
);
