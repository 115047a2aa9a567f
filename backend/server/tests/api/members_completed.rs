//! Members, completed: phone, joining date, notes and avatar (validated field by field, shown
//! with a signed avatar URL); search by name and email whatever the case and accents; the
//! subtree filter, sorting and pages; what a treasurer sees of members outside its subtree.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{pdf, png, units, Backend, TestApp, Units};

/// CC → CR1 → S1 → {cell A, cell B}, CC → CR2 → S2 → cell C, and a token for most of them.
struct Tree {
    cc: i64,
    s1: i64,
    a: i64,
    b: i64,
    c: i64,
    sector: String,
    cell_a: String,
    treasurer_b: String,
}

async fn tree(app: &TestApp) -> Tree {
    let Units {
        cc, s1, a, b, c, ..
    } = units(app).await;
    Tree {
        cc,
        s1,
        a,
        b,
        c,
        sector: app.unit_user_token(s1, false).await,
        cell_a: app.unit_user_token(a, false).await,
        treasurer_b: app.unit_user_token(b, true).await,
    }
}

/// Creates a member as the admin; answers its id.
async fn member(app: &TestApp, body: Value) -> i64 {
    let res = app.post_json("/api/members", &app.admin_token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn page(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// The ids of a list, and its total.
async fn listed(app: &TestApp, path: &str, token: &str) -> (Vec<i64>, i64) {
    let body = page(app, path, token).await;
    let ids = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    (ids, body["total"].as_i64().unwrap())
}

async fn ids(app: &TestApp, path: &str, token: &str) -> Vec<i64> {
    listed(app, path, token).await.0
}

/// The fields of a 422 answer, in order.
async fn refused(res: reqwest::Response) -> Vec<String> {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "validation_failed", "{problem}");
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

fn signed(app: &TestApp, url: &str) -> bool {
    match app.backend {
        Backend::Services => {
            url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=14400")
        }
        Backend::Embedded => url.contains("signature="),
    }
}

both_backends!(
    new_fields_are_stored_validated_field_by_field_and_cleared,
    |app: TestApp| async move {
        let t = tree(&app).await;
        // Cell A's own avatar; the admin's has no unit (cell A does not see it); a material.
        let picture = png();
        let res = app
            .upload_as(&t.cell_a, "avatar", "me.png", picture.clone())
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let avatar = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let hidden_avatar = app.upload("avatar", "admin.png", png()).await["id"]
            .as_i64()
            .unwrap();
        let res = app.upload_as(&t.cell_a, "material", "doc.pdf", pdf()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let material = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

        let res = app
            .post_json(
                "/api/members",
                &t.cell_a,
                json!({"name": "Ana", "org_unit_id": t.a, "phone": "+55 (11) 98765-4321",
                       "joined_on": "2020-02-29", "notes": "line one\nline two",
                       "avatar_file_id": avatar}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let created: Value = res.json().await.unwrap();
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["phone"], "+55 (11) 98765-4321");
        assert_eq!(created["joined_on"], "2020-02-29");
        assert_eq!(created["notes"], "line one\nline two");
        assert_eq!(created["avatar_file_id"], avatar);
        let url = created["avatar_url"].as_str().unwrap().to_owned();
        assert!(signed(&app, &url), "{url}");
        let shown = app.client.get(&url).send().await.unwrap();
        assert_eq!(shown.status(), StatusCode::OK);
        assert_eq!(shown.bytes().await.unwrap().to_vec(), picture);
        let path = format!("/api/members/{id}");
        let detail = page(&app, &path, &t.cell_a).await;
        assert_eq!(detail, created, "the same member, the same (cached) URL");
        let listed = page(&app, "/api/members", &t.cell_a).await;
        assert_eq!(listed["items"][0], created);

        // Each invalid value: 422 naming the field, nothing created.
        let base = json!({"name": "Bad", "org_unit_id": t.a});
        let long_notes = "x".repeat(2001);
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!({"phone": "1234567"}), vec!["phone"]),
            (json!({"phone": "123456789012345678901"}), vec!["phone"]),
            (json!({"phone": "12345678x"}), vec!["phone"]),
            (json!({"phone": "+() -+() -"}), vec!["phone"]),
            (json!({"phone": 12345678}), vec!["phone"]),
            (json!({"joined_on": "2021-02-29"}), vec!["joined_on"]),
            (json!({"joined_on": "29/02/2020"}), vec!["joined_on"]),
            (json!({"joined_on": "2999-01-01"}), vec!["joined_on"]),
            (json!({"notes": long_notes}), vec!["notes"]),
            (json!({"notes": "bell \u{7}"}), vec!["notes"]),
            (json!({"avatar_file_id": 0}), vec!["avatar_file_id"]),
            (json!({"avatar_file_id": 999_999}), vec!["avatar_file_id"]),
            (
                json!({"avatar_file_id": hidden_avatar}),
                vec!["avatar_file_id"],
            ),
            (json!({"avatar_file_id": material}), vec!["avatar_file_id"]),
            // Domain checks name every field at once.
            (
                json!({"joined_on": "2999-01-01", "avatar_file_id": material}),
                vec!["joined_on", "avatar_file_id"],
            ),
        ];
        for (extra, fields) in &cases {
            let mut body = base.clone();
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let res = app.post_json("/api/members", &t.cell_a, body).await;
            assert_eq!(&refused(res).await, fields, "create {extra}");
        }
        // A file outside the caller's scope and one that does not exist read the same.
        let messages = async |file: i64| {
            let res = app
                .post_json(
                    "/api/members",
                    &t.cell_a,
                    json!({"name": "X", "org_unit_id": t.a, "avatar_file_id": file}),
                )
                .await;
            res.json::<Value>().await.unwrap()["errors"].clone()
        };
        assert_eq!(messages(hidden_avatar).await, messages(999_999).await);
        assert_eq!(listed_total(&app, &t.cell_a).await, 1, "nothing created");

        // The same values refused by PATCH leave the member as it was.
        for (extra, fields) in &cases {
            let res = app.patch(&path, &t.cell_a, extra.clone()).await;
            assert_eq!(&refused(res).await, fields, "patch {extra}");
        }
        // Several fields at once, one bad: nothing changes.
        let res = app
            .patch(
                &path,
                &t.cell_a,
                json!({"name": "Changed", "phone": "11 2222-3333", "joined_on": "2999-12-31"}),
            )
            .await;
        assert_eq!(refused(res).await, ["joined_on"]);
        assert_eq!(page(&app, &path, &t.cell_a).await, created);

        // One field at a time, then every new field set to null.
        let res = app
            .patch(&path, &t.cell_a, json!({"phone": "11 2222-3333"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let changed: Value = res.json().await.unwrap();
        assert_eq!(changed["phone"], "11 2222-3333");
        assert_eq!(changed["notes"], created["notes"]);
        assert_eq!(changed["avatar_file_id"], avatar);
        let res = app
            .patch(
                &path,
                &t.cell_a,
                json!({"phone": null, "joined_on": null, "notes": null, "avatar_file_id": null}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let cleared: Value = res.json().await.unwrap();
        for field in [
            "phone",
            "joined_on",
            "notes",
            "avatar_file_id",
            "avatar_url",
        ] {
            assert!(cleared[field].is_null(), "{field}: {cleared}");
        }
        assert_eq!(cleared["name"], "Ana");
        assert_eq!(page(&app, &path, &t.cell_a).await, cleared);
        // Blank notes are none.
        let res = app.patch(&path, &t.cell_a, json!({"notes": "  "})).await;
        assert!(res.json::<Value>().await.unwrap()["notes"].is_null());
    }
);

async fn listed_total(app: &TestApp, token: &str) -> i64 {
    listed(app, "/api/members", token).await.1
}

both_backends!(
    an_avatar_url_is_signed_in_lists_and_gone_once_the_file_is_deleted,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let mut avatars = Vec::new();
        let mut members = Vec::new();
        for i in 0..3 {
            let file = app.upload("avatar", "a.png", png()).await["id"]
                .as_i64()
                .unwrap();
            avatars.push(file);
            members.push(
                member(
                    &app,
                    json!({"name": format!("M{i}"), "org_unit_id": t.b, "avatar_file_id": file}),
                )
                .await,
            );
        }
        let plain = member(&app, json!({"name": "No picture", "org_unit_id": t.b})).await;
        let signatures = app.signatures().await;
        let list = page(&app, "/api/members", &app.admin_token).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        for (item, file) in items.iter().zip(&avatars) {
            assert_eq!(item["avatar_file_id"], *file);
            assert!(signed(&app, item["avatar_url"].as_str().unwrap()));
        }
        assert_eq!(items[3]["id"], plain);
        assert!(items[3]["avatar_url"].is_null());
        assert_eq!(
            app.signatures().await,
            signatures,
            "the URLs signed at upload are served from the file-URL cache"
        );

        // Deleting the file removes the avatar from the (cached) list and from the detail.
        let res = app
            .delete(&format!("/api/files/{}", avatars[1]), &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let list = page(&app, "/api/members", &app.admin_token).await;
        assert!(list["items"][1]["avatar_url"].is_null(), "{list}");
        assert!(list["items"][1]["avatar_file_id"].is_null());
        assert!(list["items"][0]["avatar_url"].is_string());
        let detail = page(
            &app,
            &format!("/api/members/{}", members[1]),
            &app.admin_token,
        )
        .await;
        assert!(detail["avatar_url"].is_null());
        assert!(detail["avatar_file_id"].is_null());
    }
);

both_backends!(
    search_ignores_case_and_accents_and_takes_wildcards_literally,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let joao = member(&app, json!({"name": "João Pereira", "org_unit_id": t.a})).await;
        let bea = member(
            &app,
            json!({"name": "Bea Costa", "org_unit_id": t.a, "email": "silva@x.org"}),
        )
        .await;
        let percent = member(&app, json!({"name": "100% Real_Name", "org_unit_id": t.a})).await;
        let plain = member(&app, json!({"name": "100 Real Name", "org_unit_id": t.a})).await;
        let all = vec![joao, bea, percent, plain];
        let admin = app.admin_token.clone();
        for (q, expected) in [
            ("joao", vec![joao]),
            ("JOÃO", vec![joao]),
            ("ão pe", vec![joao]),
            ("SILVA", vec![bea]),
            ("x.org", vec![bea]),
            ("%25", vec![percent]),
            ("_", vec![percent]),
            ("l_n", vec![percent]),
            ("100", vec![percent, plain]),
            ("%20%20", all.clone()),
            ("nobody", vec![]),
        ] {
            let (found, total) = listed(&app, &format!("/api/members?q={q}"), &admin).await;
            assert_eq!(found, expected, "q={q}");
            assert_eq!(total, expected.len() as i64, "q={q}");
        }
        // Pages of a search, in every sort: together the whole sorted result, each with the
        // exact total; a page past the end is empty and still says how many match.
        for sort in ["name", "-name", "joined_on", "-joined_on"] {
            let (whole, _) =
                listed(&app, &format!("/api/members?q=%20%20&sort={sort}"), &admin).await;
            let mut paged = Vec::new();
            for number in 1..=3 {
                let path = format!("/api/members?q=%20%20&sort={sort}&per_page=2&page={number}");
                let (found, total) = listed(&app, &path, &admin).await;
                assert_eq!(total, 4, "{path}");
                paged.extend(found);
            }
            assert_eq!(paged, whole, "sort={sort}");
        }
        let (found, total) = listed(&app, "/api/members?q=joao&page=2", &admin).await;
        assert_eq!((found, total), (vec![], 1));
        // Bounds: empty, too long, control characters.
        for q in ["", &"a".repeat(101), "a%07b"] {
            let res = app.get(&format!("/api/members?q={q}"), &admin).await;
            assert_eq!(refused(res).await, ["q"], "q={q}");
        }
        let res = app
            .get(&format!("/api/members?q={}", "a".repeat(100)), &admin)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        // Status, alone and with the search.
        let res = app
            .patch(
                &format!("/api/members/{plain}"),
                &admin,
                json!({"status": "suspended"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            ids(&app, "/api/members?status=suspended", &admin).await,
            [plain]
        );
        assert_eq!(
            ids(&app, "/api/members?status=active&q=100", &admin).await,
            [percent]
        );
        let res = app.get("/api/members?status=gone", &admin).await;
        assert_eq!(refused(res).await, ["status"]);
        // A renamed member is found under its new name at once (the cached list was dropped).
        assert_eq!(
            ids(&app, "/api/members?q=zeca", &admin).await,
            Vec::<i64>::new()
        );
        let res = app
            .patch(
                &format!("/api/members/{bea}"),
                &admin,
                json!({"name": "Zéca"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(ids(&app, "/api/members?q=zeca", &admin).await, [bea]);
        assert_eq!(
            ids(&app, "/api/members?q=costa", &admin).await,
            Vec::<i64>::new()
        );
        // The email is searched as changed, and not once removed.
        let res = app
            .patch(
                &format!("/api/members/{bea}"),
                &admin,
                json!({"email": null}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            ids(&app, "/api/members?q=silva", &admin).await,
            Vec::<i64>::new()
        );
        // Another scope sees only its own matches.
        assert_eq!(
            ids(&app, "/api/members?q=joao", &t.treasurer_b).await,
            Vec::<i64>::new()
        );
        assert_eq!(ids(&app, "/api/members?q=joao", &t.sector).await, [joao]);
    }
);

both_backends!(
    the_unit_filter_takes_the_subtree_and_lists_sort_and_page,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let carla = member(
            &app,
            json!({"name": "Carla", "org_unit_id": t.a, "joined_on": "2022-03-01"}),
        )
        .await;
        let alvaro = member(
            &app,
            json!({"name": "alvaro", "org_unit_id": t.a, "joined_on": "2020-01-01"}),
        )
        .await;
        let bruno = member(
            &app,
            json!({"name": "Bruno", "org_unit_id": t.b, "joined_on": "2021-05-05"}),
        )
        .await;
        let agata = member(&app, json!({"name": "Ágata", "org_unit_id": t.c})).await;
        let admin = app.admin_token.clone();

        // The filter takes the unit and everything below it.
        for (unit, expected) in [
            (t.cc, vec![carla, alvaro, bruno, agata]),
            (t.s1, vec![carla, alvaro, bruno]),
            (t.a, vec![carla, alvaro]),
            (t.b, vec![bruno]),
            (t.c, vec![agata]),
        ] {
            let path = format!("/api/members?org_unit_id={unit}");
            assert_eq!(ids(&app, &path, &admin).await, expected, "unit {unit}");
        }
        // Sorting, each way; no joining date sorts last both ways.
        for (sort, expected) in [
            ("name", vec![agata, alvaro, bruno, carla]),
            ("-name", vec![carla, bruno, alvaro, agata]),
            ("joined_on", vec![alvaro, bruno, carla, agata]),
            ("-joined_on", vec![carla, bruno, alvaro, agata]),
        ] {
            let path = format!("/api/members?sort={sort}");
            assert_eq!(ids(&app, &path, &admin).await, expected, "sort={sort}");
        }
        let res = app.get("/api/members?sort=email", &admin).await;
        assert_eq!(refused(res).await, ["sort"]);
        // Pages of a sorted, filtered list: the total counts every page.
        for (page_no, expected) in [
            (1, vec![agata, alvaro]),
            (2, vec![bruno, carla]),
            (3, vec![]),
        ] {
            let path = format!("/api/members?sort=name&per_page=2&page={page_no}");
            assert_eq!(
                listed(&app, &path, &admin).await,
                (expected, 4),
                "page {page_no}"
            );
        }
        let path = format!(
            "/api/members?org_unit_id={}&sort=-name&per_page=2&page=2",
            t.s1
        );
        assert_eq!(listed(&app, &path, &admin).await, (vec![alvaro], 3));

        // The filter narrows what the caller sees: a unit outside the scope, or none at all, is
        // an empty page (existence is not revealed); a unit above the caller's, its own subtree.
        for (token, unit, expected) in [
            (&t.cell_a, t.c, vec![]),
            (&t.cell_a, 999_999, vec![]),
            (&t.cell_a, t.b, vec![]),
            (&t.cell_a, t.s1, vec![carla, alvaro]),
            (&t.cell_a, t.cc, vec![carla, alvaro]),
            (&t.sector, t.b, vec![bruno]),
            (&t.sector, t.c, vec![]),
        ] {
            let path = format!("/api/members?org_unit_id={unit}");
            assert_eq!(
                listed(&app, &path, token).await,
                (expected.clone(), expected.len() as i64),
                "{path}"
            );
        }
        for unit in ["abc", "0", "-3"] {
            let res = app
                .get(&format!("/api/members?org_unit_id={unit}"), &t.cell_a)
                .await;
            assert_eq!(refused(res).await, ["org_unit_id"], "{unit}");
        }

        // A move changes what the filter finds (the tree change drops the cached lists).
        let res = app
            .patch(
                &format!("/api/members/{bruno}"),
                &admin,
                json!({"org_unit_id": t.a}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let path = format!("/api/members?org_unit_id={}", t.a);
        assert_eq!(ids(&app, &path, &admin).await, [carla, alvaro, bruno]);
        let stats = app.stats().await;
        assert!(stats["namespaces"]["members"]["hits"].as_u64().is_some());
    }
);

both_backends!(
    a_treasurer_sees_no_contacts_nor_notes_outside_its_subtree_and_cannot_search_them,
    |app: TestApp| async move {
        let t = tree(&app).await;
        let own = member(
            &app,
            json!({"name": "Own", "org_unit_id": t.b, "email": "own@x.org",
                   "phone": "11 1111-1111", "notes": "own notes"}),
        )
        .await;
        let far = member(
            &app,
            json!({"name": "Far Away", "org_unit_id": t.c, "email": "secret@x.org",
                   "phone": "22 2222-2222", "notes": "far notes", "joined_on": "2019-09-09"}),
        )
        .await;
        // Before any money, the treasurer's list holds its own member only (and is cached).
        assert_eq!(ids(&app, "/api/members", &t.treasurer_b).await, [own]);
        let res = app
            .post_json(
                "/api/dues",
                &app.admin_token,
                json!({"member_id": far, "period": "2026-11", "amount_cents": 2500}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);

        // Twice: from the database, then from the cache.
        for _ in 0..2 {
            let list = page(&app, "/api/members", &t.treasurer_b).await;
            let items = list["items"].as_array().unwrap();
            assert_eq!(items.len(), 2);
            assert_eq!(items[0]["id"], own);
            assert_eq!(items[0]["email"], "own@x.org");
            assert_eq!(items[0]["phone"], "11 1111-1111");
            assert_eq!(items[0]["notes"], "own notes");
            assert_eq!(items[1]["id"], far);
            assert_eq!(items[1]["name"], "Far Away");
            assert_eq!(items[1]["joined_on"], "2019-09-09");
            for field in ["email", "phone", "notes"] {
                assert!(items[1][field].is_null(), "{field}: {list}");
            }
        }
        let detail = page(&app, &format!("/api/members/{far}"), &t.treasurer_b).await;
        for field in ["email", "phone", "notes"] {
            assert!(detail[field].is_null(), "{field}: {detail}");
        }
        // The same list as the admin (another scope): everything, never the treasurer's copy.
        let full = page(&app, &format!("/api/members/{far}"), &app.admin_token).await;
        assert_eq!(full["email"], "secret@x.org");
        assert_eq!(full["phone"], "22 2222-2222");
        assert_eq!(full["notes"], "far notes");
        let list = page(&app, "/api/members", &app.admin_token).await;
        assert_eq!(list["items"][1]["notes"], "far notes");

        // Searching: the outside member by its name, never by the email it cannot see.
        assert_eq!(ids(&app, "/api/members?q=far", &t.treasurer_b).await, [far]);
        assert_eq!(
            ids(&app, "/api/members?q=secret", &t.treasurer_b).await,
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(&app, "/api/members?q=x.org", &t.treasurer_b).await,
            [own]
        );
        assert_eq!(
            ids(&app, "/api/members?q=secret", &app.admin_token).await,
            [far]
        );
        // The unit filter applies to the treasurer's view too.
        let path = format!("/api/members?org_unit_id={}", t.c);
        assert_eq!(ids(&app, &path, &t.treasurer_b).await, [far]);
        let path = format!("/api/members?org_unit_id={}", t.b);
        assert_eq!(ids(&app, &path, &t.treasurer_b).await, [own]);
    }
);
