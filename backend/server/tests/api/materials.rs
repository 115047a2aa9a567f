//! The material catalogue: types and materials that every role reads (through the cache too)
//! and only administrators write, field-by-field validation that changes nothing, and each
//! unit's stock, read in the caller's scope and set by whoever may write in that unit.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{pdf, TestApp};
use crate::money::{fields, ids, put_json, world};

async fn create_type(app: &TestApp, name: &str) -> i64 {
    let res = app
        .post_json(
            "/api/material-types",
            &app.admin_token,
            json!({"name": name, "description": "Printed\nand bound"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{name}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], name);
    body["id"].as_i64().unwrap()
}

both_backends!(
    material_types_are_read_by_everyone_and_written_by_administrators,
    |app: TestApp| async move {
        let w = world(&app).await;
        let papers = create_type(&app, "Newspapers").await;
        let books = create_type(&app, "Books").await;
        let shown: Value = app
            .get(&format!("/api/material-types/{books}"), &w.cell_a)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shown["description"], "Printed\nand bound");

        // Taken names and bad fields change nothing.
        let res = app
            .post_json("/api/material-types", &w.admin, json!({"name": " Books "}))
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "material_type_exists"
        );
        for (body, field) in [
            (json!({"name": ""}), "name"),
            (json!({"name": "   "}), "name"),
            (json!({"name": "a\u{7}b"}), "name"),
            (json!({"name": "x".repeat(201)}), "name"),
            (
                json!({"name": "Ok", "description": "d".repeat(2001)}),
                "description",
            ),
            (
                json!({"name": "Ok", "description": "bell\u{7}"}),
                "description",
            ),
        ] {
            let res = app
                .post_json("/api/material-types", &w.admin, body.clone())
                .await;
            assert_eq!(fields(res).await, [field], "{body}");
        }
        let res = app
            .post_json(
                "/api/material-types",
                &w.admin,
                json!({"name": "Ok", "colour": "red"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Everyone reads the same catalogue, twice (the second from the cache); nobody but
        // the administrator writes it.
        let readers = [
            ("central", &w.central),
            ("regional", &w.regional),
            ("sector", &w.sector),
            ("cell A", &w.cell_a),
            ("treasurer B", &w.treasurer_b),
            ("no unit", &w.no_unit),
        ];
        for (role, token) in readers {
            for _ in 0..2 {
                assert_eq!(
                    ids(&app, "/api/material-types", token).await,
                    [books, papers],
                    "{role}"
                );
            }
            let path = format!("/api/material-types/{papers}");
            assert_eq!(
                app.get(&path, token).await.status(),
                StatusCode::OK,
                "{role}"
            );
            let res = app
                .post_json("/api/material-types", token, json!({"name": role}))
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} creates");
            assert_eq!(res.json::<Value>().await.unwrap()["code"], "admin_required");
            let res = app.patch(&path, token, json!({"name": "Mine"})).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} renames");
            let res = app.delete(&path, token).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} deletes");
        }
        let stats = app.stats().await;
        assert!(
            stats["namespaces"]["materials"]["hits"].as_u64().unwrap() >= 6,
            "{stats}"
        );

        // A write is seen at once, by a reader whose list was cached.
        let res = app
            .patch(
                &format!("/api/material-types/{books}"),
                &w.admin,
                json!({"name": "Zines", "description": null}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let renamed: Value = res.json().await.unwrap();
        assert_eq!(renamed["name"], "Zines");
        assert!(renamed["description"].is_null());
        assert_eq!(
            ids(&app, "/api/material-types", &w.cell_a).await,
            [papers, books]
        );
        let res = app
            .patch(
                &format!("/api/material-types/{books}"),
                &w.admin,
                json!({"name": "Newspapers"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let res = app
            .patch(
                &format!("/api/material-types/{books}"),
                &w.admin,
                json!({"name": ""}),
            )
            .await;
        assert_eq!(fields(res).await, ["name"]);

        // A type in use stays; an unused one goes.
        let res = app
            .post_json(
                "/api/materials",
                &w.admin,
                json!({"material_type_id": papers, "title": "Daily", "unit_price_cents": 300}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = app
            .delete(&format!("/api/material-types/{papers}"), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "material_type_in_use"
        );
        let res = app
            .delete(&format!("/api/material-types/{books}"), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let event = last_audited(&app, "material_type_deleted").await;
        assert_eq!(event["subject"], format!("material_type:{books}"));
        assert_eq!(event["detail"]["before"]["name"], "Zines");
        // The refused delete of the type in use recorded nothing.
        let res = app
            .get("/api/audit?action=material_type_deleted", &w.admin)
            .await;
        assert_eq!(res.json::<Value>().await.unwrap()["total"], 1);
        let res = app
            .get(&format!("/api/material-types/{books}"), &w.cell_a)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(ids(&app, "/api/material-types", &w.cell_a).await, [papers]);
        let res = app.get("/api/material-types/abc", &w.cell_a).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
);

/// A role, its token, and what it should see or may do.
type Expect<'a, T> = (&'a str, &'a str, T);

/// The stock of a material as `token` sees it: `(unit, quantity)` by unit id.
/// The newest audit event of `action`, as administrators read it.
async fn last_audited(app: &TestApp, action: &str) -> Value {
    let res = app
        .get(&format!("/api/audit?action={action}"), &app.admin_token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["items"][0].clone()
}

async fn stock_seen(app: &TestApp, material: i64, token: &str) -> Vec<(i64, i64)> {
    let res = app.get(&format!("/api/materials/{material}"), token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["stock"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["org_unit_id"].as_i64().unwrap(),
                s["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

both_backends!(
    materials_show_the_stock_of_the_callers_scope_and_units_set_their_own,
    |app: TestApp| async move {
        let w = world(&app).await;
        let [a, b, c] = w.cells;
        let kind = create_type(&app, "Books").await;
        let cover = app.upload("material", "cover.pdf", pdf()).await["id"].clone();
        let general = app.upload("general", "other.pdf", pdf()).await["id"].clone();

        // Bad fields, named one by one; nothing created.
        for (body, named) in [
            (
                json!({"material_type_id": 999_999, "title": "T", "unit_price_cents": 100}),
                vec!["material_type_id"],
            ),
            (
                json!({"material_type_id": kind, "title": "T", "unit_price_cents": 0}),
                vec!["unit_price_cents"],
            ),
            (
                json!({"material_type_id": kind, "title": "", "unit_price_cents": 100}),
                vec!["title"],
            ),
            (
                json!({"material_type_id": kind, "title": "T", "unit_price_cents": 100, "currency": "brl"}),
                vec!["currency"],
            ),
            (
                json!({"material_type_id": kind, "title": "T", "unit_price_cents": 100, "file_id": general}),
                vec!["file_id"],
            ),
            (
                json!({"material_type_id": kind, "title": "T", "unit_price_cents": 100, "file_id": 999_999}),
                vec!["file_id"],
            ),
            (
                json!({"material_type_id": kind, "title": "T", "unit_price_cents": 100,
                    "stock": [{"org_unit_id": a, "quantity": -1}]}),
                vec!["stock[0].quantity"],
            ),
            (
                json!({"material_type_id": kind, "title": "T", "unit_price_cents": 100,
                    "stock": [{"org_unit_id": 999_999, "quantity": 1}]}),
                vec!["stock[0].org_unit_id"],
            ),
            (
                json!({"material_type_id": kind, "title": "T", "unit_price_cents": 100,
                    "stock": [{"org_unit_id": a, "quantity": 1}, {"org_unit_id": a, "quantity": 2}]}),
                vec!["stock[1].org_unit_id"],
            ),
            (
                json!({"material_type_id": 999_999, "title": "T", "unit_price_cents": 100, "file_id": general,
                    "stock": [{"org_unit_id": 999_999, "quantity": 1}]}),
                vec!["material_type_id", "file_id", "stock[0].org_unit_id"],
            ),
        ] {
            let res = app
                .post_json("/api/materials", &w.admin, body.clone())
                .await;
            assert_eq!(fields(res).await, named, "{body}");
        }
        assert_eq!(
            ids(&app, "/api/materials", &w.admin).await,
            Vec::<i64>::new()
        );

        let res = app
            .post_json(
                "/api/materials",
                &w.admin,
                json!({"material_type_id": kind, "title": "Capital", "edition": "3rd", "unit_price_cents": 4500,
                       "currency": "EUR", "file_id": cover,
                       "stock": [{"org_unit_id": c, "quantity": 7}, {"org_unit_id": a, "quantity": 5}, {"org_unit_id": b, "quantity": 3}]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let capital: Value = res.json().await.unwrap();
        assert_eq!(capital["edition"], "3rd");
        assert_eq!(capital["currency"], "EUR");
        assert_eq!(capital["file_id"], cover);
        assert!(
            capital["file_url"].as_str().unwrap().starts_with("http"),
            "{capital}"
        );
        let id = capital["id"].as_i64().unwrap();
        let res = app
            .post_json(
                "/api/materials",
                &w.admin,
                json!({"material_type_id": kind, "title": "Anthology", "unit_price_cents": 990}),
            )
            .await;
        let anthology = res.json::<Value>().await.unwrap();
        assert_eq!(anthology["currency"], "BRL");
        assert_eq!(anthology["stock"], json!([]));
        let anthology = anthology["id"].as_i64().unwrap();

        // Everyone reads the catalogue; the stock is the caller's scope's.
        let roles: [Expect<Vec<(i64, i64)>>; 8] = [
            ("admin", &w.admin, vec![(a, 5), (b, 3), (c, 7)]),
            ("central", &w.central, vec![(a, 5), (b, 3), (c, 7)]),
            ("regional", &w.regional, vec![(a, 5), (b, 3)]),
            ("sector", &w.sector, vec![(a, 5), (b, 3)]),
            ("cell A", &w.cell_a, vec![(a, 5)]),
            ("cell B", &w.cell_b, vec![(b, 3)]),
            ("treasurer B", &w.treasurer_b, vec![(b, 3)]),
            ("no unit", &w.no_unit, vec![]),
        ];
        for (role, token, stock) in &roles {
            for _ in 0..2 {
                assert_eq!(
                    ids(&app, "/api/materials", token).await,
                    [anthology, id],
                    "{role}"
                );
                let listed: Value = app.get("/api/materials", token).await.json().await.unwrap();
                let seen: Vec<(i64, i64)> = listed["items"][1]["stock"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        (
                            s["org_unit_id"].as_i64().unwrap(),
                            s["quantity"].as_i64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(&seen, stock, "{role} lists");
            }
            assert_eq!(&stock_seen(&app, id, token).await, stock, "{role} gets");
            assert_eq!(
                ids(
                    &app,
                    &format!("/api/materials?material_type_id={kind}"),
                    token
                )
                .await,
                [anthology, id]
            );
            // The catalogue is the administrator's.
            if *role != "admin" {
                let res = app
                    .post_json(
                        "/api/materials",
                        token,
                        json!({"material_type_id": kind, "title": "T", "unit_price_cents": 1}),
                    )
                    .await;
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
                let res = app
                    .patch(
                        &format!("/api/materials/{id}"),
                        token,
                        json!({"title": "Mine"}),
                    )
                    .await;
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
                let res = app
                    .delete(&format!("/api/materials/{anthology}"), token)
                    .await;
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
            }
        }

        // The cover's URL is part of the catalogue; a file deleted since shows as gone, even
        // from a cached page.
        let listed: Value = app
            .get("/api/materials", &w.cell_a)
            .await
            .json()
            .await
            .unwrap();
        assert!(listed["items"][1]["file_url"].is_string(), "{listed}");
        assert!(listed["items"][0]["file_url"].is_null());
        let res = app.delete(&format!("/api/files/{cover}"), &w.admin).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let listed: Value = app
            .get("/api/materials", &w.cell_a)
            .await
            .json()
            .await
            .unwrap();
        assert!(listed["items"][1]["file_id"].is_null(), "{listed}");
        assert!(listed["items"][1]["file_url"].is_null());
        let shown: Value = app
            .get(&format!("/api/materials/{id}"), &w.cell_a)
            .await
            .json()
            .await
            .unwrap();
        assert!(shown["file_id"].is_null(), "{shown}");

        // Stock is set by whoever may write in the unit; elsewhere the unit is not found.
        let units = [
            ("CC", w.cc),
            ("CR 1", w.cr1),
            ("S 1", w.s1),
            ("A", a),
            ("B", b),
            ("C", c),
        ];
        let writers: [(&str, &str, &[i64]); 8] = [
            ("admin", &w.admin, &[w.cc, w.cr1, w.s1, a, b, c]),
            ("central", &w.central, &[w.cc, w.cr1, w.s1, a, b, c]),
            ("regional", &w.regional, &[w.cr1, w.s1, a, b]),
            ("sector", &w.sector, &[w.s1, a, b]),
            ("cell A", &w.cell_a, &[a]),
            ("cell B", &w.cell_b, &[b]),
            ("treasurer B", &w.treasurer_b, &[b]),
            ("no unit", &w.no_unit, &[]),
        ];
        for (n, (role, token, allowed)) in writers.into_iter().enumerate() {
            for (name, unit) in units {
                let quantity = 10 + n as i64;
                let res = put_json(
                    &app,
                    &format!("/api/materials/{anthology}/stock/{unit}"),
                    token,
                    json!({"quantity": quantity}),
                )
                .await;
                if allowed.contains(&unit) {
                    assert_eq!(res.status(), StatusCode::OK, "{role} sets {name}");
                    let level: Value = res.json().await.unwrap();
                    assert_eq!(
                        level,
                        json!({"material_id": anthology, "org_unit_id": unit, "quantity": quantity})
                    );
                } else {
                    assert_eq!(res.status(), StatusCode::NOT_FOUND, "{role} sets {name}");
                }
            }
        }
        let event = last_audited(&app, "stock_set").await;
        assert_eq!(event["subject"], format!("material:{anthology}"));
        assert_eq!(event["detail"], json!({"org_unit_id": b, "quantity": 16}));
        // The last writer of each unit wins: B was last set by treasurer B (n = 6).
        assert_eq!(stock_seen(&app, anthology, &w.cell_b).await, [(b, 16)]);
        assert_eq!(stock_seen(&app, anthology, &w.cell_a).await, [(a, 14)]);
        assert_eq!(
            stock_seen(&app, anthology, &w.regional).await,
            [(w.cr1, 12), (w.s1, 13), (a, 14), (b, 16)]
        );
        let path = format!("/api/materials/{anthology}/stock/{a}");
        let res = put_json(&app, &path, &w.cell_a, json!({"quantity": -1})).await;
        assert_eq!(fields(res).await, ["quantity"]);
        let res = put_json(&app, &path, &w.cell_a, json!({"quantity": 1.5})).await;
        assert_eq!(fields(res).await, ["quantity"]);
        let res = put_json(&app, &path, &w.cell_a, json!({})).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(stock_seen(&app, anthology, &w.cell_a).await, [(a, 14)]);
        let res = put_json(
            &app,
            &format!("/api/materials/999999/stock/{a}"),
            &w.cell_a,
            json!({"quantity": 1}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = put_json(
            &app,
            &format!("/api/materials/{anthology}/stock/abc"),
            &w.cell_a,
            json!({"quantity": 1}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        // Changes, seen at once in every cached list.
        let res = app
            .patch(
                &format!("/api/materials/{id}"),
                &w.admin,
                json!({"title": "Capital, vol. 1", "edition": null, "unit_price_cents": 5000, "file_id": null}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let changed: Value = res.json().await.unwrap();
        assert_eq!(changed["title"], "Capital, vol. 1");
        assert!(changed["edition"].is_null());
        assert!(changed["file_id"].is_null());
        assert!(changed["file_url"].is_null());
        assert_eq!(changed["unit_price_cents"], 5000);
        assert_eq!(changed["currency"], "EUR");
        let listed: Value = app
            .get("/api/materials", &w.cell_a)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["items"][1]["title"], "Capital, vol. 1");
        for (body, field) in [
            (json!({"file_id": general}), "file_id"),
            (json!({"material_type_id": 999_999}), "material_type_id"),
            (json!({"unit_price_cents": -5}), "unit_price_cents"),
            (json!({"stock": []}), "body"),
        ] {
            let res = app
                .patch(&format!("/api/materials/{id}"), &w.admin, body.clone())
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            if field != "body" {
                assert_eq!(fields(res).await, [field], "{body}");
            }
        }
        let shown: Value = app
            .get(&format!("/api/materials/{id}"), &w.admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(shown["unit_price_cents"], 5000);
        assert!(shown["file_id"].is_null());

        // A material without payments goes, with its stock.
        let res = app
            .delete(&format!("/api/materials/{anthology}"), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let event = last_audited(&app, "material_deleted").await;
        assert_eq!(event["subject"], format!("material:{anthology}"));
        assert!(event["detail"]["before"]["title"].is_string(), "{event}");
        let res = app
            .get(&format!("/api/materials/{anthology}"), &w.cell_a)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(ids(&app, "/api/materials", &w.cell_b).await, [id]);
        let res = app
            .delete(&format!("/api/materials/{anthology}"), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
);

both_backends!(
    material_filters_and_descriptions_follow_the_published_schema,
    |app: TestApp| async move {
        // The spec says material_type_id >= 1: below it is refused, naming the parameter.
        let res = app
            .get("/api/materials?material_type_id=0", &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "material_type_id");

        // A control character other than a line break or tab: refused by the schema, naming
        // the field, and nothing is created.
        let res = app
            .post_json(
                "/api/material-types",
                &app.admin_token,
                json!({"name": "Jornal", "description": "linha\u{16}"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "description");
        let types: Value = app
            .get("/api/material-types", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(types["total"], 0);
        let res = app
            .post_json(
                "/api/material-types",
                &app.admin_token,
                json!({"name": "Jornal", "description": "linha 1\nlinha 2\tfim"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
);
