//! The posts board through every role: who reads which board (announcements flow down), who
//! writes, edits, deletes and pins; validation field by field; images through the file-URL
//! cache; views counted per read, written back exactly once (also by two app instances sharing
//! one Redis and one database), and the popular list ordered by views in the caller's scope.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::posts::FlushOutcome;
use tessera_domain::shared::cache::Cache;
use tessera_infra::cache::redis::RedisCache;

use crate::both_backends;
use crate::helpers::{
    png, spawn_app_with, units, Backend, ServerProcess, Services, TestApp, Units,
};

/// The write-back job stays off: these tests run it themselves, when they mean to.
const NO_JOB: &[(&str, &str)] = &[("POSTS_VIEW_FLUSH_SECS", "0")];

/// CC → CR1 → S1 → {cell A, cell B}; CC → CR2 → S2 → cell C; a token for each role.
struct World {
    cc: i64,
    cr1: i64,
    s1: i64,
    a: i64,
    b: i64,
    cr2: i64,
    c: i64,
    admin: String,
    central: String,
    regional: String,
    sector: String,
    cell_a: String,
    cell_a2: String,
    treasurer_b: String,
    cell_c: String,
    no_unit: String,
}

async fn world(app: &TestApp) -> World {
    let Units {
        cc,
        cr1,
        s1,
        a,
        b,
        cr2,
        c,
        ..
    } = units(app).await;
    World {
        cc,
        cr1,
        s1,
        a,
        b,
        cr2,
        c,
        admin: app.admin_token.clone(),
        central: app.unit_user_token(cc, false).await,
        regional: app.unit_user_token(cr1, false).await,
        sector: app.unit_user_token(s1, false).await,
        cell_a: app.unit_user_token(a, false).await,
        cell_a2: app.unit_user_token(a, false).await,
        treasurer_b: app.unit_user_token(b, true).await,
        cell_c: app.unit_user_token(c, false).await,
        no_unit: app.user_token().await,
    }
}

/// Creates a post; answers it.
async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.post_json("/api/posts", token, body.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{body}");
    res.json().await.unwrap()
}

async fn on(app: &TestApp, token: &str, unit: i64, title: &str) -> i64 {
    post(
        app,
        token,
        json!({"org_unit_id": unit, "title": title, "body": format!("About {title}")}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

async fn page(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

async fn invalid(res: reqwest::Response) -> Vec<String> {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "validation_failed");
    field_names(&problem)
}

both_backends!(
    each_role_reads_its_subtrees_boards_and_the_announcements_above_it,
    NO_JOB,
    |app: TestApp| async move {
        let w = world(&app).await;
        // One post per board, oldest first; the CC announcement is pinned.
        let p_cc = post(
            &app,
            &w.admin,
            json!({"org_unit_id": w.cc, "title": "Congress", "body": "To all", "pinned": true}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        let p_cr1 = on(&app, &w.regional, w.cr1, "CR 1 news").await;
        let p_s1 = on(&app, &w.sector, w.s1, "S 1 news").await;
        let p_a = on(&app, &w.cell_a, w.a, "A news").await;
        let p_b = on(&app, &w.treasurer_b, w.b, "B news").await;
        let p_cr2 = on(&app, &w.admin, w.cr2, "CR 2 news").await;
        let p_c = on(&app, &w.cell_c, w.c, "C news").await;
        let all = [p_cc, p_cr1, p_s1, p_a, p_b, p_cr2, p_c];
        // Pinned first, then newest first.
        let roles: [(&str, &str, Vec<i64>); 8] = [
            (
                "admin",
                &w.admin,
                vec![p_cc, p_c, p_cr2, p_b, p_a, p_s1, p_cr1],
            ),
            (
                "central",
                &w.central,
                vec![p_cc, p_c, p_cr2, p_b, p_a, p_s1, p_cr1],
            ),
            ("regional", &w.regional, vec![p_cc, p_b, p_a, p_s1, p_cr1]),
            ("sector", &w.sector, vec![p_cc, p_b, p_a, p_s1, p_cr1]),
            ("cell A", &w.cell_a, vec![p_cc, p_a, p_s1, p_cr1]),
            // A treasurer reads posts as the user of its unit: money does not widen the board.
            ("treasurer B", &w.treasurer_b, vec![p_cc, p_b, p_s1, p_cr1]),
            ("cell C", &w.cell_c, vec![p_cc, p_c, p_cr2]),
            ("no unit", &w.no_unit, vec![]),
        ];
        for (role, token, visible) in &roles {
            // Twice: the second answer comes from the cache and must be the same.
            for _ in 0..2 {
                let list = page(&app, "/api/posts", token).await;
                assert_eq!(&ids(&list), visible, "{role} lists");
                assert_eq!(list["total"], visible.len(), "{role}");
                assert_eq!(
                    (list["page"].as_u64(), list["per_page"].as_u64()),
                    (Some(1), Some(20))
                );
            }
            for id in all {
                let res = app.get(&format!("/api/posts/{id}"), token).await;
                let expected = if visible.contains(&id) {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(res.status(), expected, "{role} reads post {id}");
            }
        }
        // A board filter never opens a board the caller does not read.
        let board = page(&app, &format!("/api/posts?org_unit_id={}", w.a), &w.cell_a).await;
        assert_eq!(ids(&board), vec![p_a]);
        let board = page(&app, &format!("/api/posts?org_unit_id={}", w.b), &w.cell_a).await;
        assert_eq!(ids(&board), Vec::<i64>::new());
        let board = page(&app, &format!("/api/posts?org_unit_id={}", w.cc), &w.cell_a).await;
        assert_eq!(ids(&board), vec![p_cc]);
        // Paging.
        let second = page(&app, "/api/posts?page=2&per_page=2", &w.cell_a).await;
        assert_eq!(ids(&second), vec![p_s1, p_cr1]);
        assert_eq!(second["total"], 4);

        // An announcement from above shows its unit's name, and says the unit is not the
        // reader's to open (the unit itself stays closed to it).
        let res = app.get(&format!("/api/posts/{p_cc}"), &w.cell_a).await;
        let seen: Value = res.json().await.unwrap();
        assert_eq!(seen["org_unit_name"], "CC");
        assert_eq!(seen["org_unit_in_scope"], false);
        assert_eq!(seen["can_edit"], false);
        assert_eq!(seen["can_pin"], false);
        let res = app
            .get(&format!("/api/org-units/{}", w.cc), &w.cell_a)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = app.get(&format!("/api/posts/{p_a}"), &w.sector).await;
        let seen: Value = res.json().await.unwrap();
        assert_eq!(
            (
                seen["org_unit_name"].as_str(),
                seen["org_unit_in_scope"].as_bool()
            ),
            (Some("Cell A"), Some(true))
        );
        assert_eq!(seen["can_pin"], true, "a writer of the unit pins");
        assert_eq!(seen["can_edit"], false, "but only the author edits");

        // Who may write where: its own unit and below, never above or beside.
        let units = [w.cc, w.cr1, w.s1, w.a, w.b, w.cr2, w.c];
        let writable: [(&str, &str, Vec<i64>); 7] = [
            ("central", &w.central, units.to_vec()),
            ("regional", &w.regional, vec![w.cr1, w.s1, w.a, w.b]),
            ("sector", &w.sector, vec![w.s1, w.a, w.b]),
            ("cell A", &w.cell_a, vec![w.a]),
            ("treasurer B", &w.treasurer_b, vec![w.b]),
            ("cell C", &w.cell_c, vec![w.c]),
            ("no unit", &w.no_unit, vec![]),
        ];
        for (role, token, may) in writable {
            for unit in units {
                let res = app
                    .post_json(
                        "/api/posts",
                        token,
                        json!({"org_unit_id": unit, "title": "t", "body": "b"}),
                    )
                    .await;
                if may.contains(&unit) {
                    assert_eq!(res.status(), StatusCode::CREATED, "{role} posts on {unit}");
                } else {
                    assert_eq!(
                        invalid(res).await,
                        ["org_unit_id"],
                        "{role} posts on {unit}"
                    );
                }
            }
        }
        // A write makes the next (cached) read fresh.
        let fresh = on(&app, &w.cell_a, w.a, "Fresh").await;
        assert_eq!(
            ids(&page(&app, "/api/posts?per_page=2", &w.cell_a).await),
            vec![p_cc, fresh]
        );
    }
);

both_backends!(
    a_renamed_author_shows_its_new_name_in_cached_lists_at_once,
    NO_JOB,
    |app: TestApp| async move {
        let cc = app.org_unit("CC", "central", None).await;
        let (email, author) = app
            .create_user("author-password-1", json!({"org_unit_id": cc}))
            .await;
        let token = app.login(&email, "author-password-1").await;
        on(&app, &token, cc, "Hello").await;
        let names = |list: Value| -> Vec<String> {
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["author_name"].as_str().unwrap().to_owned())
                .collect()
        };
        // Read twice, so the list is cached before each rename.
        for _ in 0..2 {
            assert_eq!(names(page(&app, "/api/posts", &token).await), ["Ana"]);
        }

        let res = app
            .patch("/api/auth/me", &token, json!({"name": "Ana Maria"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(names(page(&app, "/api/posts", &token).await), ["Ana Maria"]);

        let res = app
            .patch(
                &format!("/api/users/{author}"),
                &app.admin_token,
                json!({"name": "Ana M. Souza"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            names(page(&app, "/api/posts", &app.admin_token).await),
            ["Ana M. Souza"]
        );
        assert_eq!(
            names(page(&app, "/api/posts", &token).await),
            ["Ana M. Souza"]
        );
    }
);

both_backends!(
    authors_and_admins_edit_and_delete_and_the_units_writers_pin,
    NO_JOB,
    |app: TestApp| async move {
        let w = world(&app).await;
        let created = post(
            &app,
            &w.cell_a,
            json!({"org_unit_id": w.a, "title": "  Meeting  ", "body": "  # Agenda\n\n<script>alert(1)</script>\n"}),
        )
        .await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["title"], "Meeting", "titles are trimmed");
        assert_eq!(
            created["body"], "  # Agenda\n\n<script>alert(1)</script>\n",
            "bodies are stored as written"
        );
        assert_eq!(created["org_unit_id"], w.a);
        assert_eq!(created["org_unit_name"], "Cell A");
        assert_eq!(created["pinned"], false);
        assert_eq!(created["view_count"], 0);
        assert_eq!(created["images"], json!([]));
        assert_eq!(
            (created["can_edit"].as_bool(), created["can_pin"].as_bool()),
            (Some(true), Some(true))
        );
        assert_eq!(created["author_name"], "Ana");
        assert!(created["created_at"].is_string() && created["updated_at"].is_string());
        let path = format!("/api/posts/{id}");

        // Another user of the cell, the sector above and the centre may pin, not edit.
        for (who, token) in [
            ("cell A 2", &w.cell_a2),
            ("sector", &w.sector),
            ("central", &w.central),
        ] {
            let res = app.patch(&path, token, json!({"title": "Mine now"})).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who} edits");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["code"], "forbidden");
            let res = app
                .patch(&path, token, json!({"pinned": true, "body": "x"}))
                .await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{who} pins and edits at once"
            );
            let res = app.patch(&path, token, json!({"pinned": true})).await;
            assert_eq!(res.status(), StatusCode::OK, "{who} pins");
            let pinned: Value = res.json().await.unwrap();
            assert_eq!(
                (pinned["pinned"].as_bool(), pinned["title"].as_str()),
                (Some(true), Some("Meeting"))
            );
            assert_eq!(
                app.delete(&path, token).await.status(),
                StatusCode::FORBIDDEN,
                "{who} deletes"
            );
        }
        // Outside the unit's board: not even seen.
        for token in [&w.cell_c, &w.treasurer_b, &w.no_unit] {
            assert_eq!(
                app.patch(&path, token, json!({"pinned": false}))
                    .await
                    .status(),
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                app.delete(&path, token).await.status(),
                StatusCode::NOT_FOUND
            );
        }
        // A reader of an announcement from above cannot pin it.
        let announcement = on(&app, &w.admin, w.s1, "From the sector").await;
        let res = app
            .patch(
                &format!("/api/posts/{announcement}"),
                &w.cell_a,
                json!({"pinned": true}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);

        // The author edits (and unpins: it writes in its unit); an admin edits anything.
        let res = app
            .patch(
                &path,
                &w.cell_a,
                json!({"title": "Meeting moved", "pinned": false}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let changed: Value = res.json().await.unwrap();
        assert_eq!(
            (changed["title"].as_str(), changed["pinned"].as_bool()),
            (Some("Meeting moved"), Some(false))
        );
        assert_eq!(changed["body"], created["body"], "absent fields stay");
        let res = app
            .patch(&path, &w.admin, json!({"body": "Edited by the admin"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.get(&path, &w.cell_a2).await;
        let seen: Value = res.json().await.unwrap();
        assert_eq!(
            (seen["title"].as_str(), seen["body"].as_str()),
            (Some("Meeting moved"), Some("Edited by the admin"))
        );

        // Ids that do not parse, and posts that do not exist, are 404.
        for bad in ["/api/posts/abc", "/api/posts/0", "/api/posts/999999"] {
            assert_eq!(
                app.get(bad, &w.admin).await.status(),
                StatusCode::NOT_FOUND,
                "{bad}"
            );
        }
        assert_eq!(
            app.delete("/api/posts/abc", &w.admin).await.status(),
            StatusCode::NOT_FOUND
        );

        // The author deletes; then it is gone for everyone.
        assert_eq!(
            app.delete(&path, &w.cell_a).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.get(&path, &w.admin).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.delete(&path, &w.admin).await.status(),
            StatusCode::NOT_FOUND
        );
        assert!(!ids(&page(&app, "/api/posts", &w.admin).await).contains(&id));
        // An admin deletes anyone's.
        let other = on(&app, &w.cell_a2, w.a, "Other").await;
        assert_eq!(
            app.delete(&format!("/api/posts/{other}"), &w.admin)
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        // Without a token: 401.
        let res = app.client.get(app.url("/api/posts")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    invalid_posts_name_each_field_and_change_nothing,
    NO_JOB,
    |app: TestApp| async move {
        let w = world(&app).await;
        let general = app.upload_as(&w.cell_a, "general", "a.png", png()).await;
        let general: Value = general.json().await.unwrap();
        let image = app.upload_as(&w.cell_a, "post_image", "a.png", png()).await;
        let image: Value = image.json().await.unwrap();
        let theirs = app.upload_as(&w.cell_c, "post_image", "c.png", png()).await;
        let theirs: Value = theirs.json().await.unwrap();
        let (general, image, theirs) = (
            general["id"].as_i64().unwrap(),
            image["id"].as_i64().unwrap(),
            theirs["id"].as_i64().unwrap(),
        );
        let a = w.a;
        let ok = |extra: Value| {
            let mut body = json!({"org_unit_id": a, "title": "Title", "body": "Body"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (ok(json!({"title": ""})), vec!["title"]),
            (ok(json!({"title": "   "})), vec!["title"]),
            (ok(json!({"title": "a\u{7}b"})), vec!["title"]),
            (ok(json!({"title": "x".repeat(201)})), vec!["title"]),
            (ok(json!({"title": 5})), vec!["title"]),
            (ok(json!({"body": " \n\t "})), vec!["body"]),
            (ok(json!({"body": "x".repeat(20001)})), vec!["body"]),
            (ok(json!({"body": "a\u{0}b"})), vec!["body"]),
            (ok(json!({"pinned": "yes"})), vec!["pinned"]),
            (ok(json!({"pinned": null})), vec!["pinned"]),
            (ok(json!({"image_file_ids": null})), vec!["image_file_ids"]),
            (
                ok(json!({"image_file_ids": (1..=11).collect::<Vec<i64>>()})),
                vec!["image_file_ids"],
            ),
            (
                ok(json!({"image_file_ids": ["1"]})),
                vec!["image_file_ids[0]"],
            ),
            (
                ok(json!({"image_file_ids": [general]})),
                vec!["image_file_ids[0]"],
            ),
            (
                ok(json!({"image_file_ids": [image, image]})),
                vec!["image_file_ids[1]"],
            ),
            (
                ok(json!({"image_file_ids": [image, theirs]})),
                vec!["image_file_ids[1]"],
            ),
            (
                ok(json!({"image_file_ids": [999999]})),
                vec!["image_file_ids[0]"],
            ),
            (ok(json!({"org_unit_id": 999999})), vec!["org_unit_id"]),
            (ok(json!({"org_unit_id": 0})), vec!["org_unit_id"]),
            // Every field the domain refuses is named, not only the first.
            (
                ok(json!({"org_unit_id": w.c, "image_file_ids": [general, 999999]})),
                vec!["org_unit_id", "image_file_ids[0]", "image_file_ids[1]"],
            ),
            (json!({"title": "", "body": ""}), vec!["body", "title"]),
        ];
        for (body, fields) in &cases {
            let res = app.post_json("/api/posts", &w.cell_a, body.clone()).await;
            let mut named = invalid(res).await;
            named.sort();
            let mut fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
            fields.sort();
            // A missing required field is named by the schema check as the body itself.
            if body.get("org_unit_id").is_none() {
                assert!(named.contains(&"body".to_owned()), "{body}: {named:?}");
                continue;
            }
            assert_eq!(named, fields, "{body}");
        }
        // A field the schema does not know, or one it requires, is named itself, so the post's
        // own `body` field is never confused with the whole request.
        let res = app
            .post_json("/api/posts", &w.cell_a, ok(json!({"author_id": 1})))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(
            problem["errors"],
            json!([{"field": "author_id", "message": "is not a field of this request"}])
        );
        let res = app
            .post_json(
                "/api/posts",
                &w.cell_a,
                json!({"org_unit_id": w.a, "title": "T"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(
            problem["errors"],
            json!([{"field": "body", "message": "is required"}])
        );
        assert_eq!(
            page(&app, "/api/posts", &w.admin).await["total"],
            0,
            "nothing was created"
        );

        let created = post(&app, &w.cell_a, ok(json!({"image_file_ids": [image]}))).await;
        let path = format!("/api/posts/{}", created["id"]);
        for (body, field) in [
            (json!({"title": null}), "title"),
            (json!({"body": ""}), "body"),
            (json!({"image_file_ids": [general]}), "image_file_ids[0]"),
            // A post stays on its board: the change's schema has no `org_unit_id`.
            (json!({"org_unit_id": w.b}), "org_unit_id"),
            (
                json!({"title": "New", "image_file_ids": [theirs]}),
                "image_file_ids[0]",
            ),
        ] {
            let res = app.patch(&path, &w.cell_a, body.clone()).await;
            assert_eq!(invalid(res).await, [field], "{body}");
        }
        let res = app.get(&path, &w.cell_a).await;
        let unchanged: Value = res.json().await.unwrap();
        assert_eq!(unchanged["title"], "Title");
        assert_eq!(unchanged["images"][0]["file_id"], image);
        // Query parameters are checked too.
        for bad in [
            "/api/posts?page=0",
            "/api/posts?per_page=101",
            "/api/posts?org_unit_id=x",
            "/api/posts?org_unit_id=0",
            "/api/posts/popular?per_page=0",
        ] {
            assert_eq!(
                app.get(bad, &w.cell_a).await.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{bad}"
            );
        }
    }
);

both_backends!(
    images_are_shown_in_order_with_cached_urls,
    NO_JOB,
    |app: TestApp| async move {
        let w = world(&app).await;
        let mut images = Vec::new();
        for name in ["one.png", "two.png"] {
            let res = app.upload_as(&w.cell_a, "post_image", name, png()).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            images.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        }
        let created = post(
            &app,
            &w.cell_a,
            json!({"org_unit_id": w.a, "title": "Photos", "body": "Look", "image_file_ids": [images[1], images[0]]}),
        )
        .await;
        let shown: Vec<i64> = created["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["file_id"].as_i64().unwrap())
            .collect();
        assert_eq!(shown, vec![images[1], images[0]]);
        let signatures = app.signatures().await;
        // The list and the post show the same cached URLs, signed once.
        let list = page(&app, "/api/posts", &w.sector).await;
        let res = app
            .get(&format!("/api/posts/{}", created["id"]), &w.cell_a2)
            .await;
        let one: Value = res.json().await.unwrap();
        assert_eq!(list["items"][0]["images"], created["images"]);
        assert_eq!(one["images"], created["images"]);
        assert_eq!(app.signatures().await, signatures, "no new signature");
        let url = one["images"][0]["url"].as_str().unwrap();
        let res = app.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/png");

        // Someone else's image of the same cell can be attached (it is in scope); the author
        // keeps images already on the post when it edits, and `[]` removes them.
        let path = format!("/api/posts/{}", created["id"]);
        let res = app
            .patch(&path, &w.cell_a, json!({"image_file_ids": [images[0]]}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .patch(&path, &w.cell_a, json!({"image_file_ids": []}))
            .await;
        let cleared: Value = res.json().await.unwrap();
        assert_eq!(cleared["images"], json!([]));

        // A deleted image leaves the post without it.
        let res = app
            .patch(&path, &w.cell_a, json!({"image_file_ids": images}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .delete(&format!("/api/files/{}", images[0]), &w.admin)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = app.get(&path, &w.cell_a).await;
        let left: Value = res.json().await.unwrap();
        assert_eq!(left["images"].as_array().unwrap().len(), 1);
        assert_eq!(left["images"][0]["file_id"], images[1]);
    }
);

both_backends!(
    views_are_counted_written_back_once_and_rank_the_popular_posts_in_scope,
    NO_JOB,
    |app: TestApp| async move {
        let w = world(&app).await;
        let p1 = on(&app, &w.cell_a, w.a, "One").await;
        let p2 = on(&app, &w.cell_a, w.a, "Two").await;
        let p3 = on(&app, &w.cell_c, w.c, "Three").await;
        let p4 = on(&app, &w.admin, w.cc, "Four").await;
        let unseen = on(&app, &w.admin, w.cc, "Unseen").await;
        let views: [(i64, u64); 4] = [(p1, 3), (p2, 1), (p3, 5), (p4, 3)];
        for (id, n) in views {
            for i in 1..=n {
                let res = app.get(&format!("/api/posts/{id}"), &w.admin).await;
                let seen: Value = res.json().await.unwrap();
                assert_eq!(seen["view_count"], i, "each read counts and shows its view");
            }
        }
        // Lists show stored counts: nothing written back yet.
        let list = page(&app, "/api/posts", &w.admin).await;
        assert!(list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["view_count"] == 0));

        // Popular: by views, ties newest first; only what the caller reads; never unviewed.
        let popular = page(&app, "/api/posts/popular", &w.admin).await;
        assert_eq!(ids(&popular), vec![p3, p4, p1, p2]);
        let counts: Vec<i64> = popular["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["view_count"].as_i64().unwrap())
            .collect();
        assert_eq!(counts, vec![5, 3, 3, 1]);
        assert_eq!(
            (
                popular["total"].as_i64(),
                popular["page"].as_i64(),
                popular["per_page"].as_i64()
            ),
            (Some(4), Some(1), Some(20))
        );
        assert!(!ids(&popular).contains(&unseen));
        assert_eq!(
            ids(&page(&app, "/api/posts/popular", &w.cell_a).await),
            vec![p4, p1, p2]
        );
        assert_eq!(
            ids(&page(&app, "/api/posts/popular", &w.cell_c).await),
            vec![p3, p4]
        );
        assert_eq!(
            ids(&page(&app, "/api/posts/popular", &w.no_unit).await),
            Vec::<i64>::new()
        );
        let second = page(&app, "/api/posts/popular?page=2&per_page=1", &w.cell_a).await;
        assert_eq!(
            (ids(&second), second["total"].as_i64()),
            (vec![p1], Some(3))
        );

        // One run writes every view back; the next finds nothing.
        let outcome = app.state.posts.flush_views().await.unwrap();
        assert_eq!(
            outcome,
            FlushOutcome::Flushed {
                posts: 4,
                views: 12
            }
        );
        assert_eq!(
            app.state.posts.flush_views().await.unwrap(),
            FlushOutcome::Flushed { posts: 0, views: 0 }
        );
        let list = page(&app, "/api/posts", &w.admin).await;
        let stored: HashMap<i64, i64> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_i64().unwrap(), p["view_count"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            stored,
            HashMap::from([(p1, 3), (p2, 1), (p3, 5), (p4, 3), (unseen, 0)])
        );
        // Reads after a write-back go on from the stored count.
        let res = app.get(&format!("/api/posts/{p2}"), &w.cell_a).await;
        assert_eq!(res.json::<Value>().await.unwrap()["view_count"], 2);
        assert_eq!(
            ids(&page(&app, "/api/posts/popular", &w.admin).await),
            vec![p3, p4, p1, p2]
        );

        if app.backend == Backend::Services {
            // The pending count lives in Redis, the ranking in a sorted set; clearing the post
            // lists' namespace touches neither.
            let mut redis = app.redis().await;
            let pending: Option<i64> = redis::cmd("GET")
                .arg(app.redis_key(&format!("post_views:{p2}")))
                .query_async(&mut redis)
                .await
                .unwrap();
            assert_eq!(pending, Some(1));
            app.admin_cache("clear", json!({"namespace": "post_lists"}))
                .await;
            let score: Option<f64> = redis::cmd("ZSCORE")
                .arg(app.redis_key("posts:popular"))
                .arg(p2.to_string())
                .query_async(&mut redis)
                .await
                .unwrap();
            assert_eq!(score, Some(2.0));
            let pending: Option<i64> = redis::cmd("GET")
                .arg(app.redis_key(&format!("post_views:{p2}")))
                .query_async(&mut redis)
                .await
                .unwrap();
            assert_eq!(pending, Some(1));
            // A ranking lost to eviction comes back from the database.
            let _: () = redis::cmd("DEL")
                .arg(app.redis_key("posts:popular"))
                .query_async(&mut redis)
                .await
                .unwrap();
            let popular = page(&app, "/api/posts/popular", &w.admin).await;
            assert_eq!(ids(&popular), vec![p3, p4, p1, p2]);
        }
        // A deleted post leaves the ranking.
        assert_eq!(
            app.delete(&format!("/api/posts/{p3}"), &w.admin)
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            ids(&page(&app, "/api/posts/popular", &w.admin).await),
            vec![p4, p1, p2]
        );
        assert_eq!(
            app.state.posts.flush_views().await.unwrap(),
            FlushOutcome::Flushed { posts: 1, views: 1 }
        );
    }
);

both_backends!(
    a_moved_unit_reads_its_new_ancestors_boards_even_through_cached_lists,
    NO_JOB,
    |app: TestApp| async move {
        let w = world(&app).await;
        let p_cr1 = on(&app, &w.admin, w.cr1, "CR 1").await;
        let p_cr2 = on(&app, &w.admin, w.cr2, "CR 2").await;
        let p_a = on(&app, &w.cell_a, w.a, "A").await;
        // Cached for the scopes of cell A and of CR 1...
        for _ in 0..2 {
            for token in [&w.cell_a, &w.regional] {
                assert_eq!(
                    ids(&page(&app, "/api/posts", token).await),
                    vec![p_a, p_cr1]
                );
            }
        }
        let hits = app.stats().await["namespaces"]["post_lists"]["hits"]
            .as_u64()
            .unwrap();
        assert!(hits >= 2, "the second lists came from the cache");
        // ...until S 1 (with cell A) moves under CR 2: the paths, hence the boards, change.
        let res = app
            .patch(
                &format!("/api/org-units/{}", w.s1),
                &w.admin,
                json!({"parent_id": w.cr2}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            ids(&page(&app, "/api/posts", &w.cell_a).await),
            vec![p_a, p_cr2]
        );
        assert_eq!(
            app.get(&format!("/api/posts/{p_cr1}"), &w.cell_a)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        // CR 1's scope tag did not change, its cached list did: the move moved the version.
        assert_eq!(
            ids(&page(&app, "/api/posts", &w.regional).await),
            vec![p_cr1]
        );
    }
);

/// Two app instances (one process, two servers) sharing one PostgreSQL database and one Redis:
/// views read through both while both run the write-back job at once; the database ends with
/// exactly the number of reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_redis_and_the_database_write_each_view_back_exactly_once() {
    let first = spawn_app_with(Backend::Services, NO_JOB).await;
    let database_url = first.state.settings.database_url.clone();
    let second = spawn_app_with(
        Backend::Services,
        &[
            ("POSTS_VIEW_FLUSH_SECS", "0"),
            ("DATABASE_URL", &database_url),
            ("CACHE_KEY_PREFIX", &first.key_prefix),
        ],
    )
    .await;
    let cc = first.org_unit("CC", "central", None).await;
    let id = on(&first, &first.admin_token, cc, "Hot").await;
    let path = format!("/api/posts/{id}");
    const READS: usize = 120;
    let flushes = async {
        let mut outcomes = Vec::new();
        for _ in 0..15 {
            let (a, b) = tokio::join!(
                first.state.posts.flush_views(),
                second.state.posts.flush_views()
            );
            outcomes.push(a.unwrap());
            outcomes.push(b.unwrap());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        outcomes
    };
    let reads = futures::future::join_all((0..READS).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        let token = app.admin_token.clone();
        let path = path.clone();
        async move {
            let res = app.get(&path, &token).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
    }));
    let (outcomes, _) = tokio::join!(flushes, reads);
    let (a, b) = tokio::join!(
        first.state.posts.flush_views(),
        second.state.posts.flush_views()
    );
    let mut outcomes = outcomes;
    outcomes.extend([a.unwrap(), b.unwrap()]);
    // Whatever is left after the last concurrent round, one more run takes.
    outcomes.push(first.state.posts.flush_views().await.unwrap());
    let written: i64 = outcomes
        .iter()
        .map(|o| match o {
            FlushOutcome::Flushed { views, .. } => *views,
            FlushOutcome::Busy => 0,
        })
        .sum();
    assert_eq!(written, READS as i64, "{outcomes:?}");
    assert!(
        outcomes.contains(&FlushOutcome::Busy),
        "the lock kept a run to one instance at least once: {outcomes:?}"
    );
    // Both instances read the same stored count from the one database.
    for app in [&first, &second] {
        let list = page(app, "/api/posts", &app.admin_token).await;
        assert_eq!(list["items"][0]["view_count"], READS);
    }
}

/// Two `tessera serve` processes sharing PostgreSQL and Redis, each running the write-back job
/// every second on its own timer: views read through both end in the database exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_write_each_view_back_exactly_once() {
    // This app only creates the data; its job is off, so the two processes do all the writing.
    let app = spawn_app_with(Backend::Services, NO_JOB).await;
    let cc = app.org_unit("CC", "central", None).await;
    let id = on(&app, &app.admin_token, cc, "Hot").await;
    let job = [("POSTS_VIEW_FLUSH_SECS", "1")];
    let servers = [
        ServerProcess::start(&app, &job),
        ServerProcess::start(&app, &job),
    ];
    const READS: usize = 120;
    let path = format!("/api/posts/{id}");
    let reads = futures::future::join_all((0..READS).map(|i| {
        let url = servers[i % 2].url(&path);
        let request = app.client.get(url).bearer_auth(&app.admin_token);
        async move {
            let res = request.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
    }));
    reads.await;
    let stored = format!("SELECT view_count AS n FROM posts WHERE id = {id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.sql_count(&stored).await < READS as i64 {
        assert!(
            std::time::Instant::now() < deadline,
            "the jobs wrote {} of {READS} views back in 20 s",
            app.sql_count(&stored).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both jobs keep running for another round each; nothing is written twice.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    drop(servers);
    assert_eq!(app.sql_count(&stored).await, READS as i64);
}

/// The Redis implementation of the operations the posts board added to the cache port.
#[tokio::test]
async fn redis_counts_takes_locks_and_ranks() {
    let services = Services::from_env();
    let redis = RedisCache::new(crate::helpers::redis_settings(
        &services.redis_url,
        &format!("test{}:", uuid::Uuid::new_v4().simple()),
    ))
    .unwrap();
    assert_eq!(redis.incr_by("views:1", 1).await.unwrap(), 1);
    assert_eq!(redis.incr_by("views:1", 2).await.unwrap(), 3);
    assert_eq!(
        redis.ttls(&["views:1".into()]).await.unwrap(),
        vec![None],
        "no TTL"
    );
    assert_eq!(redis.take("views:1").await.unwrap().as_deref(), Some("3"));
    assert_eq!(redis.take("views:1").await.unwrap(), None);

    let ttl = Duration::from_secs(60);
    assert!(redis.set_if_absent("lock:job", "mine", ttl).await.unwrap());
    assert!(!redis
        .set_if_absent("lock:job", "theirs", ttl)
        .await
        .unwrap());
    assert!(!redis.delete_if_equal("lock:job", "theirs").await.unwrap());
    assert_eq!(
        redis.get("lock:job").await.unwrap().as_deref(),
        Some("mine")
    );
    assert!(redis.delete_if_equal("lock:job", "mine").await.unwrap());
    assert_eq!(redis.get("lock:job").await.unwrap(), None);

    assert_eq!(redis.zincr_by("top", "1", 1.0, ttl).await.unwrap(), 1.0);
    assert_eq!(redis.zincr_by("top", "2", 3.0, ttl).await.unwrap(), 3.0);
    redis
        .zset_scores("top", &[("3".into(), 2.0), ("1".into(), 5.0)], ttl)
        .await
        .unwrap();
    assert_eq!(
        redis.zrev_range("top", None).await.unwrap(),
        vec![("1".into(), 5.0), ("2".into(), 3.0), ("3".into(), 2.0)]
    );
    assert_eq!(
        redis.zrev_range("top", Some(1)).await.unwrap(),
        vec![("1".to_owned(), 5.0)]
    );
    assert!(
        redis.ttls(&["top".into()]).await.unwrap()[0].is_some(),
        "the set has a TTL"
    );
    assert_eq!(
        redis.zrem("top", &["1".into(), "9".into()]).await.unwrap(),
        1
    );
    assert_eq!(
        redis.zrem("top", &["2".into(), "3".into()]).await.unwrap(),
        2
    );
    assert!(redis.zrev_range("top", None).await.unwrap().is_empty());
}
