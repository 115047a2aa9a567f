//! The organisation tree and the scopes it gives: each user sees its unit and everything below.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{png, TestApp};

/// CC → CR1 → S1 → C1, CR1 → S2 → C2, CC → CR2.
struct Tree {
    cc: i64,
    cr1: i64,
    s1: i64,
    c1: i64,
    s2: i64,
    c2: i64,
    cr2: i64,
}

async fn tree(app: &TestApp) -> Tree {
    let cc = app.org_unit("Comitê Central", "central", None).await;
    let cr1 = app.org_unit("CR Sul", "regional", Some(cc)).await;
    let s1 = app.org_unit("Setor Porto", "sector", Some(cr1)).await;
    let c1 = app.org_unit("Célula A", "cell", Some(s1)).await;
    let s2 = app.org_unit("Setor Serra", "sector", Some(cr1)).await;
    let c2 = app.org_unit("Célula B", "cell", Some(s2)).await;
    let cr2 = app.org_unit("CR Norte", "regional", Some(cc)).await;
    Tree {
        cc,
        cr1,
        s1,
        c1,
        s2,
        c2,
        cr2,
    }
}

async fn unit_ids(app: &TestApp, token: &str) -> Vec<i64> {
    let units: Value = app.get("/api/org-units", token).await.json().await.unwrap();
    units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect()
}

both_backends!(
    units_nest_only_at_the_level_below_their_parent,
    |app: TestApp| async move {
        let t = tree(&app).await;
        for (kind, parent) in [
            ("cell", Some(t.cr1)),
            ("sector", Some(t.cc)),
            ("regional", None),
            ("central", Some(t.cc)),
        ] {
            let res = app
                .post_json(
                    "/api/org-units",
                    &app.admin_token,
                    json!({"name": "x", "kind": kind, "parent_id": parent}),
                )
                .await;
            assert_eq!(
                res.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{kind} under {parent:?}"
            );
        }
        let res = app
            .post_json(
                "/api/org-units",
                &app.admin_token,
                json!({"name": "x", "kind": "branch"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let unit: Value = app
            .get(&format!("/api/org-units/{}", t.c1), &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            unit["path"],
            format!("/{}/{}/{}/{}/", t.cc, t.cr1, t.s1, t.c1)
        );
        assert_eq!(unit["kind"], "cell");
        assert_eq!(unit_ids(&app, &app.admin_token).await.len(), 7);
        let member = app.unit_user_token(t.c1, false).await;
        let res = app
            .post_json(
                "/api/org-units",
                &member,
                json!({"name": "x", "kind": "cell", "parent_id": t.s1}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
);

both_backends!(
    moving_a_unit_re_parents_its_whole_subtree,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let s3 = app.org_unit("Setor Norte", "sector", Some(t.cr2)).await;
        // A user of the moving unit, whose profile (with its unit's path) is cached before the move.
        let porto = app.unit_user_token(t.s1, false).await;
        assert_eq!(unit_ids(&app, &porto).await, vec![t.s1, t.c1]);
        let res = app
            .patch(
                &format!("/api/org-units/{}", t.s1),
                &app.admin_token,
                json!({"parent_id": t.cr2, "name": "Setor Porto Novo"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let moved: Value = res.json().await.unwrap();
        assert_eq!(moved["path"], format!("/{}/{}/{}/", t.cc, t.cr2, t.s1));
        assert_eq!(moved["name"], "Setor Porto Novo");
        let cell: Value = app
            .get(&format!("/api/org-units/{}", t.c1), &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            cell["path"],
            format!("/{}/{}/{}/{}/", t.cc, t.cr2, t.s1, t.c1)
        );
        // The regional user of the new parent now sees the moved subtree; the old one does not.
        let north = app.unit_user_token(t.cr2, false).await;
        let mut seen = unit_ids(&app, &north).await;
        seen.sort_unstable();
        let mut expected = vec![t.cr2, t.s1, t.c1, s3];
        expected.sort_unstable();
        assert_eq!(seen, expected);
        let mut seen = unit_ids(&app, &porto).await;
        seen.sort_unstable();
        assert_eq!(
            seen,
            vec![t.s1, t.c1],
            "the moved unit's users keep their subtree"
        );
        let south = app.unit_user_token(t.cr1, false).await;
        assert!(!unit_ids(&app, &south).await.contains(&t.c1));
        // A unit cannot move below itself or to the wrong level.
        let res = app
            .patch(
                &format!("/api/org-units/{}", t.cr1),
                &app.admin_token,
                json!({"parent_id": t.s2}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .patch(
                &format!("/api/org-units/{}", t.c2),
                &app.admin_token,
                json!({"parent_id": t.cr1}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);

both_backends!(
    moves_and_inserts_at_once_never_leave_a_stale_path,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let cc2 = app.org_unit("Comitê Central 2", "central", None).await;
        let patch = |id: i64, parent: i64| {
            app.client
                .patch(app.url(&format!("/api/org-units/{id}")))
                .bearer_auth(&app.admin_token)
                .json(&json!({"parent_id": parent}))
                .send()
        };
        let insert = |parent: i64| {
            app.client
                .post(app.url("/api/org-units"))
                .bearer_auth(&app.admin_token)
                .json(&json!({"name": "Célula nova", "kind": "cell", "parent_id": parent}))
                .send()
        };
        // A region moves between the centrals while its sector moves between regions and cells
        // are added to that sector: each write derives paths from a unit another one moves.
        for round in 0..8 {
            let (region, sector, cell) = tokio::join!(
                patch(t.cr1, if round % 2 == 0 { cc2 } else { t.cc }),
                patch(t.s1, if round % 2 == 0 { t.cr2 } else { t.cr1 }),
                insert(t.s1),
            );
            assert_eq!(region.unwrap().status(), StatusCode::OK, "round {round}");
            assert_eq!(sector.unwrap().status(), StatusCode::OK, "round {round}");
            assert_eq!(cell.unwrap().status(), StatusCode::CREATED, "round {round}");
        }
        let units: Value = app
            .get("/api/org-units", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let units = units.as_array().unwrap();
        assert_eq!(units.len(), 8 + 8);
        let path_of = |id: &Value| {
            units
                .iter()
                .find(|u| &u["id"] == id)
                .map(|u| u["path"].as_str().unwrap().to_owned())
                .unwrap()
        };
        for unit in units {
            let expected = match &unit["parent_id"] {
                Value::Null => format!("/{}/", unit["id"]),
                parent => format!("{}{}/", path_of(parent), unit["id"]),
            };
            assert_eq!(unit["path"], expected, "{unit}");
        }
    }
);

both_backends!(a_unit_in_use_cannot_be_deleted, |app: TestApp| async move {
    let t = tree(&app).await;
    let delete = |id: i64| {
        app.client
            .delete(app.url(&format!("/api/org-units/{id}")))
            .bearer_auth(&app.admin_token)
            .send()
    };
    let res = delete(t.s2).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "org_unit_in_use"
    );
    let member = app.unit_user_token(t.c2, false).await;
    assert_eq!(
        delete(t.c2).await.unwrap().status(),
        StatusCode::CONFLICT,
        "a unit with a user"
    );
    let _ = member;
    let empty = app.org_unit("Célula C", "cell", Some(t.s2)).await;
    let res = app
        .upload_as(&app.admin_token, "avatar", "c.png", png())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        delete(empty).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(delete(empty).await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(unit_ids(&app, &app.admin_token).await.len(), 7);
});

both_backends!(
    each_user_sees_the_files_of_its_unit_and_below_and_nothing_else,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let c1_user = app.unit_user_token(t.c1, false).await;
        let c2_user = app.unit_user_token(t.c2, false).await;
        let in_c1 = app
            .upload_as(&c1_user, "avatar", "a.png", png())
            .await
            .json::<Value>()
            .await
            .unwrap();
        let in_c2 = app
            .upload_as(&c2_user, "avatar", "b.png", png())
            .await
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(in_c1["org_unit_id"], t.c1);
        let (a, b) = (in_c1["id"].as_i64().unwrap(), in_c2["id"].as_i64().unwrap());

        let cases = [
            ("central", t.cc, true, true),
            ("regional of both", t.cr1, true, true),
            ("sector of A", t.s1, true, false),
            ("sector of B", t.s2, false, true),
            ("cell A", t.c1, true, false),
            ("other regional", t.cr2, false, false),
        ];
        for (who, unit, sees_a, sees_b) in cases {
            let token = app.unit_user_token(unit, false).await;
            for (id, sees) in [(a, sees_a), (b, sees_b)] {
                let status = app.get(&format!("/api/files/{id}"), &token).await.status();
                assert_eq!(
                    status,
                    if sees {
                        StatusCode::OK
                    } else {
                        StatusCode::NOT_FOUND
                    },
                    "{who} reading file {id}"
                );
            }
            let listed: Value = app.get("/api/files", &token).await.json().await.unwrap();
            assert_eq!(
                listed["total"],
                i64::from(sees_a) + i64::from(sees_b),
                "{who} listing"
            );
            if !sees_b {
                let res = app
                    .client
                    .delete(app.url(&format!("/api/files/{b}")))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    res.status(),
                    StatusCode::NOT_FOUND,
                    "{who} deleting outside its scope"
                );
            }
        }
        let sector_b = app.unit_user_token(t.s2, false).await;
        let res = app
            .client
            .delete(app.url(&format!("/api/files/{b}")))
            .bearer_auth(&sector_b)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::NO_CONTENT,
            "deleting inside its scope"
        );
    }
);

both_backends!(
    a_cached_url_is_never_served_outside_its_scope,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let a_user = app.unit_user_token(t.c1, false).await;
        let b_user = app.unit_user_token(t.c2, false).await;
        let file = app
            .upload_as(&a_user, "avatar", "a.png", png())
            .await
            .json::<Value>()
            .await
            .unwrap();
        let id = file["id"].as_i64().unwrap();
        assert_eq!(
            app.get(&format!("/api/files/{id}"), &a_user).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get(&format!("/api/files/{id}"), &a_user).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get(&format!("/api/files/{id}"), &b_user).await.status(),
            StatusCode::NOT_FOUND
        );
        let listed: Value = app.get("/api/files", &b_user).await.json().await.unwrap();
        assert_eq!(listed["total"], 0);
    }
);

both_backends!(
    a_file_can_be_filed_under_a_unit_in_scope_only,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let sector_user = app.unit_user_token(t.s1, false).await;
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(png()).file_name("a.png"),
            )
            .text("file_type", "avatar")
            .text("org_unit_id", t.c1.to_string());
        let res = app
            .client
            .post(app.url("/api/files"))
            .bearer_auth(&sector_user)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.json::<Value>().await.unwrap()["org_unit_id"], t.c1);
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(png()).file_name("a.png"),
            )
            .text("file_type", "avatar")
            .text("org_unit_id", t.c2.to_string());
        let res = app
            .client
            .post(app.url("/api/files"))
            .bearer_auth(&sector_user)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);

both_backends!(
    the_org_tree_is_cached_per_scope_and_fresh_after_every_change,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let cell_user = app.unit_user_token(t.c1, false).await;
        let names = |units: Value| -> Vec<String> {
            units
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["name"].as_str().unwrap().to_owned())
                .collect()
        };

        // The admin's whole tree is cached; the cell user, asking next, gets its own.
        assert_eq!(unit_ids(&app, &app.admin_token).await.len(), 7);
        assert_eq!(unit_ids(&app, &app.admin_token).await.len(), 7);
        assert_eq!(unit_ids(&app, &cell_user).await, vec![t.c1]);
        let org = &app.stats().await["namespaces"]["org"];
        assert_eq!(
            (org["hits"].as_u64(), org["misses"].as_u64()),
            (Some(1), Some(2))
        );

        // A rename, a create, a move and a delete are each seen by the next read.
        let res = app
            .patch(
                &format!("/api/org-units/{}", t.c1),
                &app.admin_token,
                json!({"name": "Célula Alfa"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let units: Value = app
            .get("/api/org-units", &cell_user)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(names(units), vec!["Célula Alfa"]);

        let c3 = app.org_unit("Célula C", "cell", Some(t.s1)).await;
        assert!(unit_ids(&app, &app.admin_token).await.contains(&c3));

        let res = app
            .patch(
                &format!("/api/org-units/{c3}"),
                &app.admin_token,
                json!({"parent_id": t.s2}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let sector_user = app.unit_user_token(t.s2, false).await;
        assert!(unit_ids(&app, &sector_user).await.contains(&c3));

        let res = app
            .delete(&format!("/api/org-units/{c3}"), &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(!unit_ids(&app, &app.admin_token).await.contains(&c3));
        assert!(!unit_ids(&app, &sector_user).await.contains(&c3));
    }
);
