//! The admin cache endpoints, with the original's answers.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{pdf, png, spawn_app_with, Backend, TestApp};

both_backends!(
    clear_one_file_counts_one_then_zero,
    |app: TestApp| async move {
        let file = app.upload("avatar", "me.png", png()).await;
        let id = file["id"].as_i64().unwrap();
        let first = app.admin_cache("clear", json!({"file_id": id})).await;
        assert_eq!(
            first,
            json!({"success": true, "message": "Cleared 1 cache entries", "cleared_count": 1})
        );
        let again = app.admin_cache("clear", json!({"file_id": id})).await;
        assert_eq!(again["cleared_count"], 0);
    }
);

both_backends!(
    clear_all_removes_every_file_url_and_nothing_else,
    |app: TestApp| async move {
        for _ in 0..3 {
            app.upload("avatar", "me.png", png()).await;
        }
        let mut other_keys = Vec::new();
        if app.backend == Backend::Services {
            let mut redis = app.redis().await;
            for key in ["other:1", "file_url_archive:1", "user:999999:profile"] {
                let key = app.redis_key(key);
                let _: () = redis::cmd("SET")
                    .arg(&key)
                    .arg("keep")
                    .arg("EX")
                    .arg(600)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                other_keys.push(key);
            }
        }
        let cleared = app.admin_cache("clear", json!({})).await;
        assert_eq!(cleared["cleared_count"], 3);
        assert_eq!(cleared["message"], "Cleared 3 cache entries");
        assert_eq!(app.stats().await["file_url_entries"], 0);
        if app.backend == Backend::Services {
            let mut redis = app.redis().await;
            for key in other_keys {
                let value: Option<String> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                assert_eq!(value.as_deref(), Some("keep"), "{key} must survive clear");
                let _: () = redis::cmd("DEL")
                    .arg(&key)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
            }
        }
    }
);

both_backends!(
    warm_by_type_caches_exactly_that_type,
    |app: TestApp| async move {
        let a1 = app.upload("avatar", "a1.png", png()).await;
        let a2 = app.upload("avatar", "a2.png", png()).await;
        let m = app.upload("material", "m.pdf", pdf()).await;
        app.admin_cache("clear", json!({})).await;
        let before = app.signatures().await;
        let warmed = app
            .admin_cache("warm", json!({"file_type": "avatar"}))
            .await;
        assert_eq!(
            warmed,
            json!({"success": true, "message": "Cached 2 file URLs", "cached_count": 2})
        );
        assert_eq!(app.signatures().await - before, 2);
        assert_eq!(app.stats().await["file_url_entries"], 2);
        for (file, cached) in [(&a1, 1), (&a2, 1), (&m, 0)] {
            let cleared = app
                .admin_cache("clear", json!({"file_id": file["id"]}))
                .await;
            assert_eq!(
                cleared["cleared_count"], cached,
                "{}",
                file["original_name"]
            );
        }
    }
);

both_backends!(
    warm_with_nothing_or_ids_caches_those_files,
    |app: TestApp| async move {
        let a = app.upload("avatar", "a.png", png()).await;
        let m = app.upload("material", "m.pdf", pdf()).await;
        app.admin_cache("clear", json!({})).await;
        let warmed = app.admin_cache("warm", json!({})).await;
        assert_eq!(warmed["cached_count"], 2);
        app.admin_cache("clear", json!({})).await;
        let warmed = app
            .admin_cache("warm", json!({"file_ids": [m["id"], 999_999]}))
            .await;
        assert_eq!(warmed["cached_count"], 1);
        // An id given twice, or one that cannot exist, is one file or none (the ids are one
        // bound list, not a join).
        let again = app
            .admin_cache("warm", json!({"file_ids": [m["id"], m["id"], -5, 0]}))
            .await;
        assert_eq!(again["cached_count"], 1);
        assert_eq!(
            app.admin_cache("clear", json!({"file_id": a["id"]})).await["cleared_count"],
            0
        );
        assert_eq!(
            app.admin_cache("clear", json!({"file_id": m["id"]})).await["cleared_count"],
            1
        );
        // Ids and a type: those of the ids that are of the type.
        app.admin_cache("clear", json!({})).await;
        let both = app
            .admin_cache(
                "warm",
                json!({"file_type": "avatar", "file_ids": [a["id"], m["id"]]}),
            )
            .await;
        assert_eq!(both["cached_count"], 1);
        let empty = app
            .post_json(
                "/api/admin/cache/warm",
                &app.admin_token,
                json!({"file_ids": []}),
            )
            .await;
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);

both_backends!(
    refresh_resigns_only_entries_about_to_expire,
    |app: TestApp| async move {
        let mut files: Vec<Value> = Vec::new();
        for i in 0..3 {
            files.push(app.upload("avatar", &format!("{i}.png"), png()).await);
        }
        let nothing = app
            .post_json("/api/admin/cache/refresh", &app.admin_token, json!({}))
            .await;
        assert_eq!(nothing.json::<Value>().await.unwrap()["refreshed_count"], 0);
        if app.backend != Backend::Services {
            return;
        }
        let mut redis = app.redis().await;
        let expiring = app.redis_key(&format!("file_url:{}", files[0]["id"]));
        let _: () = redis::cmd("EXPIRE")
            .arg(&expiring)
            .arg(100)
            .query_async(&mut redis)
            .await
            .unwrap();
        // Refresh finds it through the expiry index, which says when each entry goes.
        let soon = chrono::Utc::now().timestamp() + 100;
        let _: () = redis::cmd("ZADD")
            .arg(app.redis_key("file_url_expiry"))
            .arg(soon)
            .arg(files[0]["id"].as_i64().unwrap())
            .query_async(&mut redis)
            .await
            .unwrap();
        let before = app.signatures().await;
        let res = app
            .client
            .post(app.url("/api/admin/cache/refresh"))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let refreshed: Value = res.json().await.unwrap();
        assert_eq!(
            refreshed,
            json!({"success": true, "message": "Refreshed 1 expiring URLs", "refreshed_count": 1})
        );
        assert_eq!(app.signatures().await - before, 1);
        let ttl: i64 = redis::cmd("TTL")
            .arg(&expiring)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(ttl > 2600, "refreshed TTL {ttl}");
        for file in &files[1..] {
            let ttl: i64 = redis::cmd("TTL")
                .arg(app.redis_key(&format!("file_url:{}", file["id"])))
                .query_async(&mut redis)
                .await
                .unwrap();
            assert!(ttl > 2600 && ttl <= 2700);
        }
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_on_the_embedded_cache_resigns_entries_with_a_short_life() {
    // A cache TTL under five minutes makes every entry "about to expire".
    let app = spawn_app_with(Backend::Embedded, &[("FILE_URL_CACHE_TTL", "200")]).await;
    app.upload("avatar", "a.png", png()).await;
    app.upload("avatar", "b.png", png()).await;
    let refreshed = app.admin_cache("refresh", json!({})).await;
    assert_eq!(refreshed["refreshed_count"], 2);
}

both_backends!(
    stats_show_entries_counts_and_the_backend,
    |app: TestApp| async move {
        let file = app.upload("avatar", "a.png", png()).await;
        app.get_file(file["id"].as_i64().unwrap()).await;
        let res = app.get("/api/admin/cache/stats", &app.admin_token).await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["success"], true);
        let stats = &body["stats"];
        assert_eq!(stats["file_url_entries"], 1);
        assert_eq!(stats["degraded"], false);
        assert!(stats["hits"].as_u64().unwrap() >= 1);
        assert!(stats["hit_ratio"].as_f64().unwrap() > 0.0);
        assert_eq!(stats["namespaces"]["file_url"]["hits"], stats["hits"]);
        assert!(
            stats["namespaces"]["user"]["hits"].as_u64().unwrap() >= 1,
            "profiles are cached"
        );
        assert_eq!(stats["file_url_cache_ttl"], 2700);
        match app.backend {
            Backend::Services => {
                assert_eq!(stats["backend"], "redis");
                let redis = &stats["redis"];
                for field in ["used_memory_human", "maxmemory_policy", "redis_version"] {
                    assert!(redis[field].is_string(), "{field}");
                }
                for field in [
                    "maxmemory",
                    "evicted_keys",
                    "connected_clients",
                    "total_commands_processed",
                ] {
                    assert!(redis[field].is_u64(), "{field}");
                }
            }
            Backend::Embedded => {
                assert_eq!(stats["backend"], "in_process");
                assert!(stats["redis"].is_null());
            }
        }
    }
);

both_backends!(
    admin_endpoints_need_a_token_and_an_admin,
    |app: TestApp| async move {
        let user = app.user_token().await;
        for (method, path) in [
            ("GET", "/api/admin/cache/stats"),
            ("POST", "/api/admin/cache/clear"),
            ("POST", "/api/admin/cache/warm"),
            ("POST", "/api/admin/cache/refresh"),
        ] {
            let anonymous = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(
                anonymous.headers()["content-type"],
                "application/problem+json"
            );
            let forbidden = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .bearer_auth(&user)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(forbidden.status(), StatusCode::FORBIDDEN, "{path}");
            let body: Value = forbidden.json().await.unwrap();
            assert_eq!(body["error"], "Admin access required");
            assert_eq!(body["code"], "admin_required");
            let garbage = app
                .client
                .request(method.parse().unwrap(), app.url(path))
                .bearer_auth("not.a.token")
                .send()
                .await
                .unwrap();
            assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED, "{path}");
        }
    }
);

both_backends!(
    clear_takes_any_cache_namespace_but_never_the_security_ones,
    |app: TestApp| async move {
        let cell = app.org_unit("Central", "central", None).await;
        let res = app
            .post_json(
                "/api/members",
                &app.admin_token,
                json!({"name": "Ana", "org_unit_id": cell}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "not a cell");
        let regional = app.org_unit("CR", "regional", Some(cell)).await;
        let sector = app.org_unit("S", "sector", Some(regional)).await;
        let cell = app.org_unit("C", "cell", Some(sector)).await;
        app.post_json(
            "/api/members",
            &app.admin_token,
            json!({"name": "Ana", "org_unit_id": cell}),
        )
        .await;
        for _ in 0..2 {
            let res = app.get("/api/members", &app.admin_token).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
        let stats = app.stats().await;
        let members = &stats["namespaces"]["members"];
        assert_eq!(
            (members["hits"].as_u64(), members["misses"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(members["entries"], 1);
        for name in ["file_url", "user", "api_token"] {
            assert!(stats["namespaces"][name].is_object(), "{name}: {stats}");
        }

        let cleared = app
            .admin_cache("clear", json!({"namespace": "members"}))
            .await;
        assert_eq!(
            cleared,
            json!({"success": true, "message": "Cleared 1 cache entries", "cleared_count": 1})
        );
        assert_eq!(app.stats().await["namespaces"]["members"]["entries"], 0);
        let res = app.get("/api/members", &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(app.stats().await["namespaces"]["members"]["misses"], 2);

        // Profiles and token lookups keep tombstones of changes: never cleared.
        for (body, field) in [
            (json!({"namespace": "user"}), "namespace"),
            (json!({"namespace": "api_token"}), "namespace"),
            (json!({"namespace": "session"}), "namespace"),
            // Beside file_id only file_url: the published schema has no such shape.
            (json!({"namespace": "members", "file_id": 1}), "namespace"),
        ] {
            let res = app
                .post_json("/api/admin/cache/clear", &app.admin_token, body.clone())
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        assert_eq!(
            app.get("/api/auth/me", &app.admin_token).await.status(),
            StatusCode::OK
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_cached_values_are_stored_compressed_in_redis_and_read_back_whole() {
    use redis::AsyncCommands;

    let app = spawn_app_with(Backend::Services, &[]).await;
    let central = app.org_unit("Central", "central", None).await;
    let regional = app.org_unit("CR", "regional", Some(central)).await;
    let sector = app.org_unit("S", "sector", Some(regional)).await;
    let cell = app.org_unit("C", "cell", Some(sector)).await;
    for n in 0..30 {
        let res = app
            .post_json(
                "/api/members",
                &app.admin_token,
                json!({"name": format!("Maria da Silva {n}"), "org_unit_id": cell,
                       "email": format!("maria{n}@example.org")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let first: Value = app
        .get("/api/members?per_page=100", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["total"], 30);
    let mut redis = app.redis().await;
    let keys: Vec<String> = redis
        .keys(app.redis_key("members:v*:list:*"))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let raw: Vec<u8> = redis.get(&keys[0]).await.unwrap();
    assert!(raw.starts_with(b"\x00z"), "stored compressed");
    assert!(
        raw.len() < first.to_string().len() / 2,
        "{} bytes",
        raw.len()
    );
    let second: Value = app
        .get("/api/members?per_page=100", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second, first);
    assert_eq!(app.stats().await["namespaces"]["members"]["hits"], 1);
}
