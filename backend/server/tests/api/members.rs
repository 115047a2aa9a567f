//! Members, dues and payments through every role: who sees, changes and deletes what, the
//! treasurer's organisation-wide view of money, and cached member lists that never cross scopes.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{units, TestApp, Units};

/// A tree with two regions: CC → CR1 → S1 → {cell A, cell B}, CC → CR2 → S2 → cell C; a member
/// in each cell; a token for each role.
struct World {
    cells: [i64; 3],
    members: [i64; 3],
    admin: String,
    central: String,
    regional: String,
    sector: String,
    cell_a: String,
    cell_b: String,
    treasurer_b: String,
    no_unit: String,
}

async fn world(app: &TestApp) -> World {
    let Units {
        cc,
        cr1,
        s1,
        a,
        b,
        c,
        ..
    } = units(app).await;
    let mut members = [0; 3];
    for (i, cell) in [a, b, c].into_iter().enumerate() {
        let res = app
            .post_json(
                "/api/members",
                &app.admin_token,
                json!({"name": format!("Member {i}"), "org_unit_id": cell, "email": format!("m{i}@example.org")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "active");
        members[i] = body["id"].as_i64().unwrap();
    }
    World {
        cells: [a, b, c],
        members,
        admin: app.admin_token.clone(),
        central: app.unit_user_token(cc, false).await,
        regional: app.unit_user_token(cr1, false).await,
        sector: app.unit_user_token(s1, false).await,
        cell_a: app.unit_user_token(a, false).await,
        cell_b: app.unit_user_token(b, false).await,
        treasurer_b: app.unit_user_token(b, true).await,
        no_unit: app.user_token().await,
    }
}

async fn ids(app: &TestApp, path: &str, token: &str) -> Vec<i64> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let body: Value = res.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

both_backends!(
    each_role_sees_and_changes_the_members_of_its_subtree_only,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, mb, mc] = w.members;
        let roles: [(&str, &str, &[i64]); 8] = [
            ("admin", &w.admin, &[ma, mb, mc]),
            ("central", &w.central, &[ma, mb, mc]),
            ("regional", &w.regional, &[ma, mb]),
            ("sector", &w.sector, &[ma, mb]),
            ("cell A", &w.cell_a, &[ma]),
            ("cell B", &w.cell_b, &[mb]),
            // No dues or payments yet: a treasurer sees its own unit's members only.
            ("treasurer B", &w.treasurer_b, &[mb]),
            ("no unit", &w.no_unit, &[]),
        ];
        for (role, token, visible) in roles {
            // Twice: the second answer comes from the cache and must be the same.
            for _ in 0..2 {
                assert_eq!(
                    ids(&app, "/api/members", token).await,
                    visible,
                    "{role} lists"
                );
            }
            for member in w.members {
                let path = format!("/api/members/{member}");
                let expected = if visible.contains(&member) {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(
                    app.get(&path, token).await.status(),
                    expected,
                    "{role} gets {member}"
                );
                let res = app.patch(&path, token, json!({"status": "active"})).await;
                assert_eq!(res.status(), expected, "{role} updates {member}");
            }
        }
        // Writes outside the scope change nothing and reveal nothing.
        let res = app
            .post_json(
                "/api/members",
                &w.cell_a,
                json!({"name": "X", "org_unit_id": w.cells[1]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .patch(
                &format!("/api/members/{ma}"),
                &w.cell_a,
                json!({"org_unit_id": w.cells[2]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.delete(&format!("/api/members/{mb}"), &w.cell_a)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(ids(&app, "/api/members", &w.cell_b).await, [mb]);
        // Inside the scope: a move within the sector, then a delete.
        let res = app
            .patch(
                &format!("/api/members/{ma}"),
                &w.sector,
                json!({"org_unit_id": w.cells[1], "email": null}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let moved: Value = res.json().await.unwrap();
        assert!(moved["email"].is_null());
        assert_eq!(
            ids(&app, "/api/members", &w.cell_a).await,
            Vec::<i64>::new()
        );
        assert_eq!(ids(&app, "/api/members", &w.cell_b).await, [ma, mb]);
        assert_eq!(
            app.delete(&format!("/api/members/{ma}"), &w.cell_b)
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(ids(&app, "/api/members", &w.cell_b).await, [mb]);
        let stats = app.stats().await;
        assert!(stats["namespaces"]["members"]["hits"].as_u64().unwrap() >= 8);
    }
);

both_backends!(
    treasurers_see_all_dues_and_payments_and_the_members_they_refer_to,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, mb, mc] = w.members;
        // The treasurer's member list is cached before any money exists.
        assert_eq!(ids(&app, "/api/members", &w.treasurer_b).await, [mb]);

        let res = app
            .post_json(
                "/api/dues",
                &w.regional,
                json!({"member_id": mc, "period": "2026-11", "amount_cents": 2500}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "CR1 cannot bill cell C"
        );
        let res = app
            .post_json(
                "/api/dues",
                &w.treasurer_b,
                json!({"member_id": mc, "period": "2026-11", "amount_cents": 2500, "due_date": "2026-11-10"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let dues: Value = res.json().await.unwrap();
        let dues_id = dues["id"].as_i64().unwrap();
        assert_eq!(dues["currency"], "BRL");
        assert_eq!(dues["status"], "open");
        let res = app
            .post_json(
                "/api/dues",
                &w.admin,
                json!({"member_id": mc, "period": "2026-11", "amount_cents": 2500}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);

        // Cell A records a donation from its member.
        let res = app
            .post_json(
                "/api/payments",
                &w.cell_a,
                json!({"member_id": ma, "purpose": "donation", "amount_cents": 1000, "method": "pix", "paid_on": "2026-11-05"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let donation = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

        // The treasurer now sees both members the money refers to: the cached list was dropped.
        assert_eq!(
            ids(&app, "/api/members", &w.treasurer_b).await,
            [ma, mb, mc]
        );
        assert_eq!(ids(&app, "/api/dues", &w.treasurer_b).await, [dues_id]);
        assert_eq!(ids(&app, "/api/payments", &w.treasurer_b).await, [donation]);
        // Outside its own unit, the treasurer sees who and where, not how to reach them.
        let listed: Value = app
            .get("/api/members", &w.treasurer_b)
            .await
            .json()
            .await
            .unwrap();
        let emails: Vec<&Value> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["email"])
            .collect();
        assert_eq!(
            emails,
            [&Value::Null, &json!("m1@example.org"), &Value::Null]
        );
        let outside: Value = app
            .get(&format!("/api/members/{mc}"), &w.treasurer_b)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(outside["name"], "Member 2");
        assert_eq!(outside["org_unit_id"], w.cells[2]);
        assert!(outside["email"].is_null(), "{outside}");
        let own: Value = app
            .get(&format!("/api/members/{mb}"), &w.treasurer_b)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(own["email"], "m1@example.org");
        for token in [&w.admin, &w.regional] {
            let full: Value = app
                .get(&format!("/api/members/{ma}"), token)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(
                full["email"], "m0@example.org",
                "the unit's own users see contacts"
            );
        }
        // Read only, outside its own unit.
        let res = app
            .patch(
                &format!("/api/members/{mc}"),
                &w.treasurer_b,
                json!({"name": "Renamed"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        // Everyone else still sees only their subtree's money.
        for (role, token, dues, payments) in [
            ("admin", &w.admin, vec![dues_id], vec![donation]),
            ("regional", &w.regional, vec![], vec![donation]),
            ("cell A", &w.cell_a, vec![], vec![donation]),
            ("cell B", &w.cell_b, vec![], vec![]),
            ("no unit", &w.no_unit, vec![], vec![]),
        ] {
            assert_eq!(ids(&app, "/api/dues", token).await, dues, "{role} dues");
            assert_eq!(
                ids(&app, "/api/payments", token).await,
                payments,
                "{role} payments"
            );
            let expected = if dues.is_empty() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            assert_eq!(
                app.get(&format!("/api/dues/{dues_id}"), token)
                    .await
                    .status(),
                expected,
                "{role}"
            );
        }
        assert_eq!(ids(&app, "/api/members", &w.cell_b).await, [mb]);

        // Paying the dues marks them paid; the member, the dues and the user who recorded it
        // can no longer be deleted.
        let res = app
            .post_json(
                "/api/payments",
                &w.treasurer_b,
                json!({"member_id": mc, "dues_id": dues_id, "purpose": "dues", "amount_cents": 2500, "method": "cash"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let paid: Value = app
            .get(&format!("/api/dues/{dues_id}"), &w.treasurer_b)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["overdue"], false);
        let res = app.delete(&format!("/api/dues/{dues_id}"), &w.admin).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let res = app.delete(&format!("/api/members/{mc}"), &w.admin).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "member_in_use");
        let treasurer: Value = app
            .get("/api/auth/me", &w.treasurer_b)
            .await
            .json()
            .await
            .unwrap();
        let res = app
            .delete(&format!("/api/users/{}", treasurer["id"]), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "user_in_use");
    }
);

both_backends!(
    bad_money_input_is_refused_field_by_field,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, mb, _] = w.members;
        for (body, field) in [
            (
                json!({"member_id": ma, "period": "2026-13", "amount_cents": 100}),
                "period",
            ),
            (
                json!({"member_id": ma, "period": "2026-11", "amount_cents": 0}),
                "amount_cents",
            ),
            (
                json!({"member_id": ma, "period": "2026-11", "amount_cents": 100, "currency": "real"}),
                "currency",
            ),
            (
                json!({"member_id": ma, "period": "2026-11", "amount_cents": 100, "due_date": "30/11"}),
                "due_date",
            ),
            (
                json!({"member_id": 999999, "period": "2026-11", "amount_cents": 100}),
                "member_id",
            ),
        ] {
            let res = app.post_json("/api/dues", &w.admin, body.clone()).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let res = app
            .post_json(
                "/api/dues",
                &w.admin,
                json!({"member_id": ma, "period": "2026-10", "amount_cents": 100}),
            )
            .await;
        let dues: Value = res.json().await.unwrap();
        assert_eq!(
            dues["due_date"], "2026-10-31",
            "due at the end of the period"
        );
        assert_eq!(dues["overdue"], true);
        for (body, field) in [
            (
                json!({"member_id": ma, "purpose": "dues", "amount_cents": 100, "method": "cash"}),
                "dues_id",
            ),
            (
                json!({"member_id": mb, "purpose": "dues", "dues_id": dues["id"], "amount_cents": 100, "method": "cash"}),
                "dues_id",
            ),
            (
                json!({"member_id": ma, "purpose": "gift", "amount_cents": 100, "method": "cash"}),
                "purpose",
            ),
            (
                json!({"member_id": ma, "purpose": "donation", "amount_cents": 100, "method": "bitcoin"}),
                "method",
            ),
        ] {
            let res = app.post_json("/api/payments", &w.admin, body.clone()).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        assert_eq!(
            ids(&app, "/api/payments", &w.admin).await,
            Vec::<i64>::new()
        );
        let res = app
            .post_json(
                "/api/members",
                &w.admin,
                json!({"name": "X", "org_unit_id": w.cells[0], "status": "gone"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);

both_backends!(
    users_link_to_their_member_and_units_with_members_stay,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, _, _] = w.members;
        let (_, user) = app
            .create_user("user-password-1", json!({"member_id": ma}))
            .await;
        let shown: Value = app
            .get(&format!("/api/users/{user}"), &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shown["member_id"], ma);
        let res = app
            .patch(
                &format!("/api/users/{user}"),
                &app.admin_token,
                json!({"member_id": 999999}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .patch(
                &format!("/api/users/{user}"),
                &app.admin_token,
                json!({"member_id": null}),
            )
            .await;
        assert!(res.json::<Value>().await.unwrap()["member_id"].is_null());

        let res = app
            .delete(&format!("/api/org-units/{}", w.cells[0]), &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "org_unit_in_use");
        assert_eq!(
            problem["detail"],
            "the unit still has 1 user and 1 member: move or delete them first"
        );
    }
);

both_backends!(
    a_payment_never_tells_whether_dues_outside_the_scope_exist,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, _, mc] = w.members;
        let res = app
            .post_json(
                "/api/dues",
                &w.admin,
                json!({"member_id": mc, "period": "2026-11", "amount_cents": 2500, "currency": "USD"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let dues_c = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let answer = |member: i64, dues: i64| {
            let app = &app;
            let token = w.cell_a.clone();
            async move {
                let res = app
                    .post_json(
                        "/api/payments",
                        &token,
                        json!({"member_id": member, "purpose": "dues", "dues_id": dues,
                               "amount_cents": 2500, "currency": "BRL", "method": "cash"}),
                    )
                    .await;
                assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
                let problem: Value = res.json().await.unwrap();
                problem["errors"].clone()
            }
        };
        // Cell A's own member with dues of cell C (in another currency) or with dues that do
        // not exist: the same answer, no currency named.
        let existing = answer(ma, dues_c).await;
        assert_eq!(existing, answer(ma, 999_999).await);
        assert_eq!(
            existing,
            json!([{"field": "dues_id", "message": "no such dues of this member"}])
        );
        // Cell C's member, out of scope: only the member is named, whatever the dues.
        let out_of_scope = answer(mc, dues_c).await;
        assert_eq!(out_of_scope, answer(mc, 999_999).await);
        assert_eq!(
            out_of_scope,
            json!([{"field": "member_id", "message": "no such member in your scope"}])
        );
    }
);

both_backends!(
    deleting_members_dues_and_payments_is_audited_with_what_they_were,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, mb, _] = w.members;
        let dues: Value = app
            .post_json(
                "/api/dues",
                &w.cell_b,
                json!({"member_id": mb, "period": "2026-10", "amount_cents": 1500}),
            )
            .await
            .json()
            .await
            .unwrap();
        let payment: Value = app
            .post_json(
                "/api/payments",
                &w.cell_b,
                json!({"member_id": mb, "purpose": "donation", "amount_cents": 700, "method": "pix", "paid_on": "2026-10-02"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let me: Value = app
            .get("/api/auth/me", &w.cell_b)
            .await
            .json()
            .await
            .unwrap();
        for path in [
            format!("/api/payments/{}", payment["id"]),
            format!("/api/dues/{}", dues["id"]),
        ] {
            let res = app.delete(&path, &w.cell_b).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path}");
        }
        let res = app.delete(&format!("/api/members/{ma}"), &w.cell_a).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        // A refused deletion records nothing.
        let res = app.delete(&format!("/api/members/{mb}"), &w.cell_a).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        let events: Value = app
            .get("/api/audit?per_page=3", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let events = events["items"].as_array().unwrap();
        assert_eq!(events[0]["action"], "member_deleted");
        assert_eq!(events[0]["subject"], format!("member:{ma}"));
        assert_eq!(
            events[0]["detail"]["before"],
            json!({"name": "Member 0", "email": "m0@example.org", "org_unit_id": w.cells[0], "status": "active"})
        );
        assert_eq!(events[1]["action"], "dues_deleted");
        assert_eq!(events[1]["subject"], format!("dues:{}", dues["id"]));
        assert_eq!(events[1]["actor_user_id"], me["id"]);
        assert_eq!(
            events[1]["detail"]["before"],
            json!({"member_id": mb, "period": "2026-10", "amount_cents": 1500, "currency": "BRL",
                   "due_date": "2026-10-31", "status": "open"})
        );
        assert_eq!(events[2]["action"], "payment_deleted");
        assert_eq!(events[2]["subject"], format!("payment:{}", payment["id"]));
        assert_eq!(events[2]["client_ip"], "127.0.0.1");
        assert_eq!(
            events[2]["detail"]["before"],
            json!({"member_id": mb, "dues_id": null, "purpose": "donation", "amount_cents": 700,
                   "currency": "BRL", "method": "pix", "paid_on": "2026-10-02",
                   "material_id": null, "quantity": null, "stock_org_unit_id": null,
                   "note": null, "receipt_file_id": null, "recorded_by": me["id"]})
        );
    }
);
