//! Dues generation, the dues a PATCH may and may not change, and payments of every kind: who
//! records, reads and deletes which, and how a payment and the dues or the stock it settles stay
//! consistent, deletes and two payments for the last unit in stock included.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{pdf, png, units, TestApp, Units};

/// CC → CR1 → S1 → {cell A, cell B}, CC → CR2 → S2 → cell C; an active member in each cell and
/// an inactive one in cell A; a token for each role.
pub struct World {
    pub cc: i64,
    pub cr1: i64,
    pub s1: i64,
    pub cells: [i64; 3],
    /// The active members of cells A, B and C.
    pub members: [i64; 3],
    pub inactive: i64,
    pub admin: String,
    pub central: String,
    pub regional: String,
    pub sector: String,
    pub cell_a: String,
    pub cell_b: String,
    pub treasurer_b: String,
    pub no_unit: String,
}

pub async fn world(app: &TestApp) -> World {
    let Units {
        cc,
        cr1,
        s1,
        a,
        b,
        c,
        ..
    } = units(app).await;
    let member = |name: String, cell: i64, status: &'static str| async move {
        let res = app
            .post_json(
                "/api/members",
                &app.admin_token,
                json!({"name": name, "org_unit_id": cell, "status": status}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    };
    let mut members = [0; 3];
    for (i, cell) in [a, b, c].into_iter().enumerate() {
        members[i] = member(format!("Member {i}"), cell, "active").await;
    }
    let inactive = member("Gone".into(), a, "inactive").await;
    World {
        cc,
        cr1,
        s1,
        cells: [a, b, c],
        members,
        inactive,
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

/// The ids of a list, and its total.
pub async fn ids(app: &TestApp, path: &str, token: &str) -> Vec<i64> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let body: Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(
        body["total"].as_i64().unwrap(),
        items.len() as i64,
        "{path}"
    );
    assert_eq!(body["page"], 1);
    items.iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

/// PUTs JSON.
pub async fn put_json(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The fields a 422 names, in order.
pub async fn fields(res: reqwest::Response) -> Vec<String> {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "validation_failed");
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

async fn generate(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .post_json("/api/dues/generate", token, body.clone())
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{body}");
    res.json().await.unwrap()
}

/// Dues of a member for a period, as the admin sees them.
async fn dues_of(app: &TestApp, member: i64, period: &str) -> Vec<Value> {
    let res = app
        .get(
            &format!("/api/dues?member_id={member}&period={period}"),
            &app.admin_token,
        )
        .await;
    res.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

both_backends!(
    dues_generation_creates_each_active_members_dues_once,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, mb, mc] = w.members;
        // The sector's subtree: cells A and B; the inactive member gets nothing.
        let first = generate(
            &app,
            &w.admin,
            json!({"period": "2026-11", "amount_cents": 2500, "org_unit_id": w.s1}),
        )
        .await;
        assert_eq!(first, json!({"created": 2, "skipped": 0}));
        let again = generate(
            &app,
            &w.admin,
            json!({"period": "2026-11", "amount_cents": 2500, "org_unit_id": w.s1}),
        )
        .await;
        assert_eq!(again, json!({"created": 0, "skipped": 2}));
        // The whole organisation: only cell C's member is new.
        let all = generate(
            &app,
            &w.admin,
            json!({"period": "2026-11", "amount_cents": 9999, "currency": "USD"}),
        )
        .await;
        assert_eq!(all, json!({"created": 1, "skipped": 2}));
        let made = dues_of(&app, ma, "2026-11").await;
        assert_eq!(made.len(), 1);
        assert_eq!(made[0]["amount_cents"], 2500, "the first generation stays");
        assert_eq!(made[0]["currency"], "BRL");
        assert_eq!(made[0]["status"], "open");
        assert_eq!(made[0]["due_date"], "2026-11-30");
        let c_dues = dues_of(&app, mc, "2026-11").await;
        assert_eq!(c_dues[0]["currency"], "USD");
        assert!(dues_of(&app, w.inactive, "2026-11").await.is_empty());

        // Each role generates in its own scope.
        for (role, token, body, expected) in [
            (
                "central",
                &w.central,
                json!({"period": "2026-01", "amount_cents": 100}),
                json!({"created": 3, "skipped": 0}),
            ),
            (
                "regional",
                &w.regional,
                json!({"period": "2026-02", "amount_cents": 100}),
                json!({"created": 2, "skipped": 0}),
            ),
            (
                "sector",
                &w.sector,
                json!({"period": "2026-02", "amount_cents": 100}),
                json!({"created": 0, "skipped": 2}),
            ),
            (
                "cell A",
                &w.cell_a,
                json!({"period": "2026-03", "amount_cents": 100}),
                json!({"created": 1, "skipped": 0}),
            ),
            (
                "treasurer B",
                &w.treasurer_b,
                json!({"period": "2026-03", "amount_cents": 100}),
                json!({"created": 2, "skipped": 1}),
            ),
            (
                "no unit",
                &w.no_unit,
                json!({"period": "2026-04", "amount_cents": 100}),
                json!({"created": 0, "skipped": 0}),
            ),
        ] {
            assert_eq!(generate(&app, token, body).await, expected, "{role}");
        }
        assert_eq!(dues_of(&app, mb, "2026-03").await.len(), 1);
        assert_eq!(
            dues_of(&app, mc, "2026-02").await.len(),
            0,
            "CR1 cannot bill cell C"
        );

        // A unit outside the scope, and bad fields: named, nothing created.
        let before = ids(&app, "/api/dues?per_page=100", &w.admin).await;
        let res = app
            .post_json(
                "/api/dues/generate",
                &w.regional,
                json!({"period": "2026-05", "amount_cents": 100, "org_unit_id": w.cells[2]}),
            )
            .await;
        assert_eq!(fields(res).await, ["org_unit_id"]);
        let res = app
            .post_json(
                "/api/dues/generate",
                &w.admin,
                json!({"period": "2026-13", "amount_cents": 0, "currency": "real", "due_date": "soon"}),
            )
            .await;
        let mut named = fields(res).await;
        named.sort();
        assert_eq!(named, ["amount_cents", "currency", "due_date", "period"]);
        let res = app
            .post_json(
                "/api/dues/generate",
                &w.admin,
                json!({"period": "2026-05", "amount_cents": 100, "org_unit_id": 999_999}),
            )
            .await;
        assert_eq!(fields(res).await, ["org_unit_id"]);
        let res = app
            .post_json("/api/dues/generate", &w.admin, json!({"amount_cents": 100}))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(ids(&app, "/api/dues?per_page=100", &w.admin).await, before);
        // A due date of its own.
        let res = generate(
            &app,
            &w.cell_b,
            json!({"period": "2026-06", "amount_cents": 100, "due_date": "2026-06-10"}),
        )
        .await;
        assert_eq!(res, json!({"created": 1, "skipped": 0}));
        assert_eq!(
            dues_of(&app, mb, "2026-06").await[0]["due_date"],
            "2026-06-10"
        );
        // Only POST.
        let res = app.get("/api/dues/generate", &w.admin).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
);

both_backends!(
    dues_become_paid_only_through_a_payment_and_open_again_when_it_is_deleted,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, _, _] = w.members;
        let res = app
            .post_json(
                "/api/dues",
                &w.cell_a,
                json!({"member_id": ma, "period": "2026-11", "amount_cents": 2500, "status": "paid"}),
            )
            .await;
        assert_eq!(fields(res).await, ["status"]);
        let dues: Value = app
            .post_json(
                "/api/dues",
                &w.cell_a,
                json!({"member_id": ma, "period": "2026-11", "amount_cents": 2500}),
            )
            .await
            .json()
            .await
            .unwrap();
        let path = format!("/api/dues/{}", dues["id"]);
        let res = app.patch(&path, &w.cell_a, json!({"status": "paid"})).await;
        assert_eq!(fields(res).await, ["status"]);
        let res = app
            .patch(&path, &w.cell_a, json!({"status": "waived"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "waived");

        let pay = |amount: i64| {
            let body = json!({"member_id": ma, "purpose": "dues", "dues_id": dues["id"],
                              "amount_cents": amount, "method": "cash", "paid_on": "2026-11-03"});
            let app = &app;
            let token = w.cell_a.clone();
            async move { app.post_json("/api/payments", &token, body).await }
        };
        let res = pay(2500).await;
        assert_eq!(
            res.status(),
            StatusCode::CONFLICT,
            "waived dues are not paid"
        );
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "dues_not_open");
        let res = app.patch(&path, &w.cell_a, json!({"status": "open"})).await;
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "open");
        // No partial payment, no overpayment.
        assert_eq!(fields(pay(2000).await).await, ["amount_cents"]);
        assert_eq!(fields(pay(3000).await).await, ["amount_cents"]);
        assert_eq!(
            ids(&app, "/api/payments", &w.admin).await,
            Vec::<i64>::new()
        );

        let res = pay(2500).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let payment: Value = res.json().await.unwrap();
        assert_eq!(payment["dues_id"], dues["id"]);
        assert!(payment["material_id"].is_null());
        let shown: Value = app.get(&path, &w.cell_a).await.json().await.unwrap();
        assert_eq!(shown["status"], "paid");
        // Paid once only; paid dues change only by deleting the payment.
        let res = pay(2500).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "dues_not_open");
        for change in [
            json!({"status": "waived"}),
            json!({"status": "open"}),
            json!({"amount_cents": 100}),
        ] {
            let res = app.patch(&path, &w.admin, change.clone()).await;
            assert_eq!(res.status(), StatusCode::CONFLICT, "{change}");
            assert_eq!(res.json::<Value>().await.unwrap()["code"], "dues_in_use");
        }
        let shown: Value = app.get(&path, &w.cell_a).await.json().await.unwrap();
        assert_eq!(shown["status"], "paid");
        assert_eq!(shown["amount_cents"], 2500);
        let res = app.delete(&path, &w.admin).await;
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "dues_in_use");

        // Deleting the payment opens the dues again, and is audited with what it was.
        let res = app
            .delete(&format!("/api/payments/{}", payment["id"]), &w.cell_a)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let shown: Value = app.get(&path, &w.cell_a).await.json().await.unwrap();
        assert_eq!(shown["status"], "open");
        let events: Value = app
            .get("/api/audit?per_page=1", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(events["items"][0]["action"], "payment_deleted");
        assert_eq!(
            events["items"][0]["detail"]["before"]["dues_id"],
            dues["id"]
        );
        assert_eq!(events["items"][0]["detail"]["before"]["purpose"], "dues");
        // Open again, it can be paid again, and once deleted the dues may be deleted too.
        assert_eq!(pay(2500).await.status(), StatusCode::CREATED);
        let res = app
            .patch(&path, &w.cell_a, json!({"due_date": "2026-12-01"}))
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
    }
);

both_backends!(
    each_role_records_reads_changes_and_deletes_the_dues_of_its_scope,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, mb, mc] = w.members;
        let generated = generate(
            &app,
            &w.admin,
            json!({"period": "2026-10", "amount_cents": 800}),
        )
        .await;
        assert_eq!(generated, json!({"created": 3, "skipped": 0}));
        let mut dues = Vec::new();
        for member in w.members {
            dues.push(
                dues_of(&app, member, "2026-10").await[0]["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        let [da, db, dc] = [dues[0], dues[1], dues[2]];
        let roles: [(&str, &str, &[i64], &[i64]); 8] = [
            ("admin", &w.admin, &[ma, mb, mc], &[dc, db, da]),
            ("central", &w.central, &[ma, mb, mc], &[dc, db, da]),
            ("regional", &w.regional, &[ma, mb], &[db, da]),
            ("sector", &w.sector, &[ma, mb], &[db, da]),
            ("cell A", &w.cell_a, &[ma], &[da]),
            ("cell B", &w.cell_b, &[mb], &[db]),
            ("treasurer B", &w.treasurer_b, &[ma, mb, mc], &[dc, db, da]),
            ("no unit", &w.no_unit, &[], &[]),
        ];
        for (n, (role, token, writable, visible)) in roles.into_iter().enumerate() {
            assert_eq!(
                ids(&app, "/api/dues?period=2026-10", token).await,
                visible,
                "{role} lists"
            );
            for d in [da, db, dc] {
                let path = format!("/api/dues/{d}");
                let seen = visible.contains(&d);
                let expected = if seen {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(
                    app.get(&path, token).await.status(),
                    expected,
                    "{role} gets {d}"
                );
                let res = app.patch(&path, token, json!({"status": "waived"})).await;
                assert_eq!(res.status(), expected, "{role} waives {d}");
                let res = app
                    .patch(
                        &path,
                        token,
                        json!({"status": "open", "amount_cents": 800 + n as i64}),
                    )
                    .await;
                assert_eq!(res.status(), expected, "{role} opens {d}");
                if !seen {
                    assert_eq!(
                        app.delete(&path, token).await.status(),
                        StatusCode::NOT_FOUND,
                        "{role} deletes {d}"
                    );
                }
            }
            for member in w.members {
                let res = app
                    .post_json("/api/dues", token, json!({"member_id": member, "period": format!("2025-{:02}", n + 1), "amount_cents": 100}))
                    .await;
                if writable.contains(&member) {
                    assert_eq!(res.status(), StatusCode::CREATED, "{role} bills {member}");
                    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                    assert_eq!(
                        app.delete(&format!("/api/dues/{id}"), token).await.status(),
                        StatusCode::NO_CONTENT,
                        "{role}"
                    );
                } else {
                    assert_eq!(fields(res).await, ["member_id"], "{role} bills {member}");
                }
            }
        }
        // Every dues record is still there, open, with the amount its last writer gave it.
        let shown: Value = app
            .get(&format!("/api/dues/{da}"), &w.admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shown["status"], "open");
        assert_eq!(shown["amount_cents"], 806, "treasurer B changed it last");
        let shown: Value = app
            .get(&format!("/api/dues/{dc}"), &w.admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shown["amount_cents"], 806);
        assert_eq!(
            ids(&app, "/api/dues?per_page=100", &w.admin).await,
            [dc, db, da]
        );
    }
);

both_backends!(
    each_role_records_reads_and_deletes_the_payments_of_its_scope,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, mb, mc] = w.members;
        let donate = |token: &str, member: i64| {
            let app = &app;
            let token = token.to_owned();
            async move {
                app.post_json(
                    "/api/payments",
                    &token,
                    json!({"member_id": member, "purpose": "donation", "amount_cents": 500, "method": "pix"}),
                )
                .await
            }
        };
        let mut made = Vec::new();
        for member in w.members {
            let res = donate(&w.admin, member).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["note"], Value::Null);
            assert_eq!(body["receipt_file_id"], Value::Null);
            made.push(body["id"].as_i64().unwrap());
        }
        let [pa, pb, pc] = [made[0], made[1], made[2]];
        let roles: [(&str, &str, &[i64], &[i64]); 8] = [
            ("admin", &w.admin, &[ma, mb, mc], &[pc, pb, pa]),
            ("central", &w.central, &[ma, mb, mc], &[pc, pb, pa]),
            ("regional", &w.regional, &[ma, mb], &[pb, pa]),
            ("sector", &w.sector, &[ma, mb], &[pb, pa]),
            ("cell A", &w.cell_a, &[ma], &[pa]),
            ("cell B", &w.cell_b, &[mb], &[pb]),
            ("treasurer B", &w.treasurer_b, &[ma, mb, mc], &[pc, pb, pa]),
            ("no unit", &w.no_unit, &[], &[]),
        ];
        for (role, token, writable, visible) in roles {
            assert_eq!(
                ids(&app, "/api/payments", token).await,
                visible,
                "{role} lists"
            );
            for payment in [pa, pb, pc] {
                let expected = if visible.contains(&payment) {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                let res = app.get(&format!("/api/payments/{payment}"), token).await;
                assert_eq!(res.status(), expected, "{role} gets {payment}");
            }
            for member in w.members {
                let res = donate(token, member).await;
                if writable.contains(&member) {
                    assert_eq!(
                        res.status(),
                        StatusCode::CREATED,
                        "{role} records for {member}"
                    );
                    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                    let res = app.delete(&format!("/api/payments/{id}"), token).await;
                    assert_eq!(res.status(), StatusCode::NO_CONTENT, "{role} deletes {id}");
                } else {
                    assert_eq!(
                        fields(res).await,
                        ["member_id"],
                        "{role} records for {member}"
                    );
                }
            }
            // Deleting what it does not see is not found, and deletes nothing.
            for payment in [pa, pb, pc] {
                if !visible.contains(&payment) {
                    let res = app.delete(&format!("/api/payments/{payment}"), token).await;
                    assert_eq!(
                        res.status(),
                        StatusCode::NOT_FOUND,
                        "{role} deletes {payment}"
                    );
                }
            }
        }
        assert_eq!(ids(&app, "/api/payments", &w.admin).await, [pc, pb, pa]);
        assert_eq!(
            ids(&app, "/api/payments?purpose=donation", &w.admin).await,
            [pc, pb, pa]
        );
        assert_eq!(
            ids(&app, "/api/payments?purpose=dues", &w.admin).await,
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(&app, &format!("/api/payments?member_id={mb}"), &w.admin).await,
            [pb]
        );
        let res = app.get("/api/payments/abc", &w.admin).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
);

/// A material priced 1250 BRL with `stock` units in each of the given units; answers its id.
pub async fn material(app: &TestApp, stock: &[(i64, i64)]) -> i64 {
    let res = app
        .post_json(
            "/api/material-types",
            &app.admin_token,
            json!({"name": format!("Type {}", uuid::Uuid::new_v4().simple())}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let kind = res.json::<Value>().await.unwrap()["id"].clone();
    let stock: Vec<Value> = stock
        .iter()
        .map(|(unit, quantity)| json!({"org_unit_id": unit, "quantity": quantity}))
        .collect();
    let res = app
        .post_json(
            "/api/materials",
            &app.admin_token,
            json!({"material_type_id": kind, "title": "Manifesto", "unit_price_cents": 1250, "stock": stock}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// A unit's stock of a material as the admin sees it (0 when it has no row).
pub async fn stock_of(app: &TestApp, material: i64, unit: i64) -> i64 {
    let body: Value = app
        .get(&format!("/api/materials/{material}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    body["stock"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["org_unit_id"] == unit)
        .map_or(0, |s| s["quantity"].as_i64().unwrap())
}

both_backends!(
    a_material_payment_takes_the_stock_of_the_members_unit_and_its_deletion_puts_it_back,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, _, _] = w.members;
        let [a, b, _] = w.cells;
        let manifesto = material(&app, &[(a, 5), (b, 1)]).await;
        let buy = |member: i64, extra: Value| {
            let mut body = json!({"member_id": member, "purpose": "material", "material_id": manifesto,
                                  "quantity": 2, "amount_cents": 2500, "method": "cash"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let app = &app;
            let token = w.cell_a.clone();
            async move { app.post_json("/api/payments", &token, body).await }
        };
        // Field by field, nothing taken.
        for (extra, named) in [
            (json!({"material_id": null}), vec!["material_id"]),
            (json!({"quantity": null}), vec!["quantity"]),
            (json!({"material_id": 999_999}), vec!["material_id"]),
            (json!({"amount_cents": 2400}), vec!["note"]),
            (json!({"amount_cents": 2400, "note": "   "}), vec!["note"]),
            (json!({"currency": "USD"}), vec!["currency"]),
            (json!({"dues_id": 1}), vec!["dues_id"]),
            (json!({"note": "x".repeat(501)}), vec!["note"]),
            (json!({"quantity": 0}), vec!["quantity"]),
        ] {
            let res = buy(ma, extra.clone()).await;
            assert_eq!(fields(res).await, named, "{extra}");
        }
        for purpose in ["donation", "dues"] {
            let res = app
                .post_json(
                    "/api/payments",
                    &w.admin,
                    json!({"member_id": ma, "purpose": purpose, "material_id": manifesto, "quantity": 1,
                           "amount_cents": 1250, "method": "cash", "dues_id": null}),
                )
                .await;
            let named = fields(res).await;
            assert!(
                named.contains(&"material_id".to_owned()),
                "{purpose}: {named:?}"
            );
            assert!(
                named.contains(&"quantity".to_owned()),
                "{purpose}: {named:?}"
            );
        }
        assert_eq!(stock_of(&app, manifesto, a).await, 5);

        // Price × quantity, or another amount with a note.
        let res = buy(ma, json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let first: Value = res.json().await.unwrap();
        assert_eq!(first["material_id"], manifesto);
        assert_eq!(first["quantity"], 2);
        assert_eq!(first["stock_org_unit_id"], a);
        assert!(first["recorded_by"].is_i64());
        assert_eq!(stock_of(&app, manifesto, a).await, 3);
        let res = buy(
            ma,
            json!({"amount_cents": 2000, "note": "  discount for students  "}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let second: Value = res.json().await.unwrap();
        assert_eq!(second["note"], "discount for students");
        assert_eq!(stock_of(&app, manifesto, a).await, 1);
        // Too few left: 409 with what there is, and nothing taken or recorded.
        let res = buy(ma, json!({})).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "insufficient_stock");
        assert_eq!(problem["available"], 1);
        assert_eq!(stock_of(&app, manifesto, a).await, 1);
        assert_eq!(
            ids(&app, "/api/payments?purpose=material", &w.admin)
                .await
                .len(),
            2
        );
        // A unit without a stock row has none.
        let res = app
            .post_json(
                "/api/payments",
                &w.admin,
                json!({"member_id": w.members[2], "purpose": "material", "material_id": manifesto,
                       "quantity": 1, "amount_cents": 1250, "method": "cash"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(res.json::<Value>().await.unwrap()["available"], 0);

        // The member moves to cell B; deleting the first payment puts the quantity back into
        // cell A's stock, where it came from.
        let res = app
            .patch(
                &format!("/api/members/{ma}"),
                &w.admin,
                json!({"org_unit_id": b}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .delete(&format!("/api/payments/{}", first["id"]), &w.sector)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(stock_of(&app, manifesto, a).await, 3);
        assert_eq!(stock_of(&app, manifesto, b).await, 1);
        // Now in cell B, the member's next purchase takes cell B's stock.
        let res = app
            .post_json(
                "/api/payments",
                &w.treasurer_b,
                json!({"member_id": ma, "purpose": "material", "material_id": manifesto,
                       "quantity": 1, "amount_cents": 1250, "method": "pix"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(stock_of(&app, manifesto, b).await, 0);
        // Stock set to 0 meanwhile gets back what the payment took.
        let res = put_json(
            &app,
            &format!("/api/materials/{manifesto}/stock/{a}"),
            &w.admin,
            json!({"quantity": 0}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .delete(&format!("/api/payments/{}", second["id"]), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(stock_of(&app, manifesto, a).await, 2);
        // A material payments refer to stays.
        let res = app
            .delete(&format!("/api/materials/{manifesto}"), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "material_in_use"
        );
        let events: Value = app
            .get("/api/audit?per_page=1", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let before = &events["items"][0]["detail"]["before"];
        assert_eq!(before["material_id"], manifesto);
        assert_eq!(before["quantity"], 2);
        assert_eq!(before["stock_org_unit_id"], a);
        assert_eq!(before["note"], "discount for students");
    }
);

both_backends!(
    two_payments_for_the_last_unit_in_stock_cannot_both_take_it,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, _, _] = w.members;
        let a = w.cells[0];
        for round in 0..3 {
            let manifesto = material(&app, &[(a, 1)]).await;
            let body = json!({"member_id": ma, "purpose": "material", "material_id": manifesto,
                              "quantity": 1, "amount_cents": 1250, "method": "cash"});
            let (one, two) = tokio::join!(
                app.post_json("/api/payments", &w.cell_a, body.clone()),
                app.post_json("/api/payments", &w.treasurer_b, body.clone()),
            );
            let mut statuses = [one.status(), two.status()];
            statuses.sort();
            assert_eq!(
                statuses,
                [StatusCode::CREATED, StatusCode::CONFLICT],
                "round {round}"
            );
            let refused = if one.status() == StatusCode::CONFLICT {
                one
            } else {
                two
            };
            let problem: Value = refused.json().await.unwrap();
            assert_eq!(problem["code"], "insufficient_stock");
            assert_eq!(problem["available"], 0);
            assert_eq!(stock_of(&app, manifesto, a).await, 0, "round {round}");
            let paid = ids(&app, "/api/payments?purpose=material", &w.admin).await;
            assert_eq!(paid.len(), round + 1);
        }
        // Two payments for the same open dues: one pays them.
        let dues: Value = app
            .post_json(
                "/api/dues",
                &w.admin,
                json!({"member_id": ma, "period": "2026-11", "amount_cents": 2500}),
            )
            .await
            .json()
            .await
            .unwrap();
        let body = json!({"member_id": ma, "purpose": "dues", "dues_id": dues["id"],
                          "amount_cents": 2500, "method": "cash"});
        let (one, two) = tokio::join!(
            app.post_json("/api/payments", &w.cell_a, body.clone()),
            app.post_json("/api/payments", &w.treasurer_b, body.clone()),
        );
        let mut statuses = [one.status(), two.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
        assert_eq!(
            ids(&app, "/api/payments?purpose=dues", &w.admin)
                .await
                .len(),
            1
        );
    }
);

both_backends!(
    a_receipt_is_a_receipt_file_the_caller_sees,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [ma, _, _] = w.members;
        let upload = |token: String, file_type: &'static str| {
            let app = &app;
            async move {
                let res = app.upload_as(&token, file_type, "r.pdf", pdf()).await;
                assert_eq!(res.status(), StatusCode::CREATED);
                res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
            }
        };
        let receipt = upload(w.cell_a.clone(), "receipt").await;
        let general = upload(w.cell_a.clone(), "general").await;
        let elsewhere = upload(w.cell_b.clone(), "receipt").await;
        let avatar = {
            let res = app.upload_as(&w.cell_a, "avatar", "a.png", png()).await;
            res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
        };
        let pay = |file: i64| {
            let app = &app;
            let token = w.cell_a.clone();
            async move {
                app.post_json(
                    "/api/payments",
                    &token,
                    json!({"member_id": ma, "purpose": "donation", "amount_cents": 100,
                           "method": "cash", "receipt_file_id": file}),
                )
                .await
            }
        };
        for file in [general, avatar, elsewhere, 999_999] {
            assert_eq!(fields(pay(file).await).await, ["receipt_file_id"], "{file}");
        }
        let res = pay(receipt).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let payment: Value = res.json().await.unwrap();
        assert_eq!(payment["receipt_file_id"], receipt);
        let shown: Value = app
            .get(&format!("/api/payments/{}", payment["id"]), &w.treasurer_b)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shown["receipt_file_id"], receipt);
    }
);
