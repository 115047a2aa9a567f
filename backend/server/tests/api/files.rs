//! Uploads, signed URLs and their cache.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{pdf, png, Backend, TestApp};

both_backends!(
    an_uploaded_file_is_served_byte_for_byte_through_its_signed_url,
    |app: TestApp| async move {
        let bytes = png();
        let file = app.upload("avatar", "me.png", bytes.clone()).await;
        assert_eq!(file["file_type"], "avatar");
        assert_eq!(file["content_type"], "image/png");
        assert_eq!(file["size"], bytes.len());
        assert_eq!(file["original_name"], "me.png");
        assert!(file["created_at"].is_string() && file["url_expires_at"].is_string());

        let got = app.get_file(file["id"].as_i64().unwrap()).await;
        let url = got["url"].as_str().unwrap();
        let res = app.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);
    }
);

both_backends!(a_tampered_signature_is_refused, |app: TestApp| async move {
    let file = app.upload("avatar", "me.png", png()).await;
    let url = file["url"].as_str().unwrap().to_owned();
    let signature_param = if app.backend == Backend::Services {
        "X-Amz-Signature="
    } else {
        "signature="
    };
    let at = url.find(signature_param).unwrap() + signature_param.len();
    let mut tampered = url.clone().into_bytes();
    tampered[at] = if tampered[at] == b'a' { b'b' } else { b'a' };
    let res = app
        .client
        .get(String::from_utf8(tampered).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
});

both_backends!(
    non_images_are_shown_inline_with_their_name,
    |app: TestApp| async move {
        let file = app.upload("material", "relatório.pdf", pdf()).await;
        let res = app
            .client
            .get(file["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        let disposition = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(disposition.starts_with("inline"), "{disposition}");
        assert!(disposition.contains("relat%C3%B3rio.pdf"), "{disposition}");
    }
);

both_backends!(
    the_url_is_cached_under_file_url_id_for_45_minutes_and_valid_for_4_hours,
    |app: TestApp| async move {
        let file = app.upload("avatar", "me.png", png()).await;
        let id = file["id"].as_i64().unwrap();
        let url = file["url"].as_str().unwrap();
        let created = chrono::Utc::now();
        let expires: chrono::DateTime<chrono::Utc> =
            file["url_expires_at"].as_str().unwrap().parse().unwrap();
        let validity = (expires - created).num_seconds();
        assert!(
            (14390..=14400).contains(&validity),
            "URL valid for {validity} s"
        );
        if app.backend == Backend::Services {
            assert!(url.contains("X-Amz-Expires=14400"), "{url}");
            let mut redis = app.redis().await;
            let ttl: i64 = redis::cmd("TTL")
                .arg(app.redis_key(&format!("file_url:{id}")))
                .query_async(&mut redis)
                .await
                .unwrap();
            assert!(ttl > 2600 && ttl <= 2700, "TTL {ttl}");
            let raw: String = redis::cmd("GET")
                .arg(app.redis_key(&format!("file_url:{id}")))
                .query_async(&mut redis)
                .await
                .unwrap();
            let cached: Value = serde_json::from_str(&raw).unwrap();
            assert_eq!(cached["url"], url);
        }
        assert_eq!(app.stats().await["file_url_entries"], 1);
    }
);

both_backends!(
    a_second_get_does_not_sign_again,
    |app: TestApp| async move {
        let file = app.upload("avatar", "me.png", png()).await;
        let id = file["id"].as_i64().unwrap();
        let before = app.stats().await;
        let first = app.get_file(id).await;
        let second = app.get_file(id).await;
        let after = app.stats().await;
        assert_eq!(first["url"], second["url"]);
        assert_eq!(after["signatures"], before["signatures"]);
        assert_eq!(
            after["hits"].as_u64().unwrap(),
            before["hits"].as_u64().unwrap() + 2
        );
    }
);

both_backends!(
    fifty_concurrent_first_gets_sign_once,
    |app: TestApp| async move {
        let file = app.upload("avatar", "me.png", png()).await;
        let id = file["id"].as_i64().unwrap();
        let cleared = app.admin_cache("clear", json!({"file_id": id})).await;
        assert_eq!(cleared["cleared_count"], 1);
        let before = app.signatures().await;
        let path = format!("/api/files/{id}");
        let responses = join_all((0..50).map(|_| app.get(&path, &app.admin_token))).await;
        let mut urls = Vec::new();
        for res in responses {
            assert_eq!(res.status(), StatusCode::OK);
            urls.push(
                res.json::<Value>().await.unwrap()["url"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(
            app.signatures().await - before,
            1,
            "50 concurrent misses must sign once"
        );
        urls.dedup();
        assert_eq!(urls.len(), 1);
    }
);

both_backends!(
    deleting_a_file_evicts_its_url_and_removes_the_object,
    |app: TestApp| async move {
        let file = app.upload("avatar", "me.png", png()).await;
        let id = file["id"].as_i64().unwrap();
        let url = file["url"].as_str().unwrap().to_owned();
        let res = app
            .delete(&format!("/api/files/{id}"), &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        if app.backend == Backend::Services {
            let mut redis = app.redis().await;
            let exists: i64 = redis::cmd("EXISTS")
                .arg(app.redis_key(&format!("file_url:{id}")))
                .query_async(&mut redis)
                .await
                .unwrap();
            assert_eq!(exists, 0);
        }
        assert_eq!(
            app.admin_cache("clear", json!({"file_id": id})).await["cleared_count"],
            0
        );
        assert_eq!(
            app.get(&format!("/api/files/{id}"), &app.admin_token)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.client.get(url).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
);

both_backends!(
    files_are_listed_newest_first_with_paging_and_a_type_filter,
    |app: TestApp| async move {
        let a = app.upload("avatar", "a.png", png()).await;
        let b = app.upload("material", "b.pdf", pdf()).await;
        let c = app.upload("avatar", "c.png", png()).await;
        let page: Value = app
            .get("/api/files?per_page=2", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 3);
        assert_eq!(page["page"], 1);
        let ids: Vec<_> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].clone())
            .collect();
        assert_eq!(ids, vec![c["id"].clone(), b["id"].clone()]);
        assert!(page["items"][0]["url"].is_string());
        let avatars: Value = app
            .get("/api/files?file_type=avatar", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<_> = avatars["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].clone())
            .collect();
        assert_eq!(ids, vec![c["id"].clone(), a["id"].clone()]);
        let res = app.get("/api/files?per_page=101", &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);

both_backends!(
    a_user_sees_only_their_own_files_and_others_are_not_found,
    |app: TestApp| async move {
        let (ana, bia, id) = two_users_and_an_avatar_of_the_first(&app).await;
        assert_eq!(
            app.get(&format!("/api/files/{id}"), &ana).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get(&format!("/api/files/{id}"), &bia).await.status(),
            StatusCode::NOT_FOUND
        );
        let res = app.delete(&format!("/api/files/{id}"), &bia).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let listed: Value = app.get("/api/files", &bia).await.json().await.unwrap();
        assert_eq!(listed["total"], 0);
        assert_eq!(
            app.get(&format!("/api/files/{id}"), &app.admin_token)
                .await
                .status(),
            StatusCode::OK
        );
    }
);

both_backends!(
    content_is_sniffed_and_checked_against_the_file_type,
    |app: TestApp| async move {
        let res = app
            .upload_as(&app.admin_token, "avatar", "fake.png", pdf())
            .await;
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let res = app
            .upload_as(
                &app.admin_token,
                "avatar",
                "page.png",
                b"<svg onload=alert(1)></svg>".to_vec(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let res = app
            .upload_as(&app.admin_token, "video", "a.png", png())
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let listed: Value = app
            .get("/api/files", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["total"], 0, "a refused upload stores nothing");
    }
);

both_backends!(
    a_direct_upload_is_put_to_its_presigned_url_and_completed,
    |app: TestApp| async move {
        let bytes = pdf();
        let res = app
        .post_json(
            "/api/files/uploads",
            &app.admin_token,
            json!({"file_type": "receipt", "original_name": "recibo.pdf", "content_type": "application/pdf", "size": bytes.len()}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let started: Value = res.json().await.unwrap();
        let id = started["file"]["id"].as_i64().unwrap();
        assert_eq!(started["file"]["status"], "pending");
        assert!(started["file"]["url"].is_null());

        let early = app
            .post_json(
                &format!("/api/files/{id}/complete"),
                &app.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(early.status(), StatusCode::CONFLICT);

        let put = app
            .client
            .put(started["upload_url"].as_str().unwrap())
            .header("content-type", "application/pdf")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "PUT answered {}", put.status());

        let done = app
            .post_json(
                &format!("/api/files/{id}/complete"),
                &app.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(done.status(), StatusCode::OK);
        let done: Value = done.json().await.unwrap();
        assert_eq!(done["status"], "uploaded");
        let fetched = app
            .client
            .get(done["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);
    }
);

both_backends!(
    uploads_over_the_limit_answer_413,
    |app: TestApp| async move {
        let mut big = png();
        big.resize(app.upload_max_bytes as usize + 1, 0);
        let res = app
            .upload_as(&app.admin_token, "avatar", "big.png", big)
            .await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let res = app
        .post_json(
            "/api/files/uploads",
            &app.admin_token,
            json!({"file_type": "general", "original_name": "big.zip", "content_type": "application/zip", "size": app.upload_max_bytes + 1}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
);

both_backends!(
    a_file_read_answers_what_its_row_and_url_are_now_as_they_change,
    |app: TestApp| async move {
        // The rendered answer is kept per worker; enough reads that every worker keeps one.
        let reads = |id: i64| {
            let app = &app;
            async move {
                let first = app.get_file(id).await;
                for _ in 0..8 {
                    assert_eq!(
                        app.get_file(id).await,
                        first,
                        "the same answer until a change"
                    );
                }
                first
            }
        };
        let bytes = pdf();
        let started =
            start_direct_upload(&app, "receipt", "application/pdf", bytes.len() as u64).await;
        let id = started["file"]["id"].as_i64().unwrap();
        let pending = reads(id).await;
        assert_eq!(pending["status"], "pending");
        assert!(pending["url"].is_null());

        let put = put_upload(&app, &started, "application/pdf", bytes).await;
        assert!(put.status().is_success(), "PUT answered {}", put.status());
        let done = complete(&app, id).await;
        assert_eq!(done.status(), StatusCode::OK);
        let done: Value = done.json().await.unwrap();
        let uploaded = reads(id).await;
        assert_eq!(
            uploaded, done,
            "the completed row and its URL, not the pending answer"
        );

        let other = app.upload("avatar", "me.png", png()).await;
        let other_id = other["id"].as_i64().unwrap();
        assert_eq!(reads(other_id).await["original_name"], "me.png");

        let res = app
            .delete(&format!("/api/files/{id}"), &app.admin_token)
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        for _ in 0..8 {
            let res = app.get(&format!("/api/files/{id}"), &app.admin_token).await;
            assert_eq!(
                res.status(),
                StatusCode::NOT_FOUND,
                "a deleted file is not answered"
            );
        }
        assert_eq!(reads(other_id).await["id"], other_id);
    }
);

both_backends!(
    a_kept_file_answer_goes_only_to_callers_who_may_see_it_however_the_path_is_spelled,
    |app: TestApp| async move {
        let (ana, bia, id) = two_users_and_an_avatar_of_the_first(&app).await;
        let encoded: String = id
            .to_string()
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        let spellings = [
            format!("/api/files/{id}"),
            format!("//api/files/{id}"),
            format!("/api/files/{encoded}"),
            format!("/api/files/0{id}"),
        ];
        // Many reads at once by its owner: every worker keeps the answer, and all agree.
        let reads = join_all((0..24).map(|i| app.get(&spellings[i % spellings.len()], &ana))).await;
        let mut bodies = Vec::new();
        for res in reads {
            assert_eq!(res.status(), StatusCode::OK);
            bodies.push(res.json::<Value>().await.unwrap());
        }
        assert!(bodies.iter().all(|b| *b == bodies[0] && b["id"] == id));
        // Another user, however the path is spelled and however often: not found.
        let tries = join_all((0..24).map(|i| app.get(&spellings[i % spellings.len()], &bia))).await;
        for res in tries {
            assert_eq!(res.status(), StatusCode::NOT_FOUND);
        }
        assert_eq!(
            app.get_file(id).await,
            bodies[0],
            "the administrator sees it"
        );
    }
);

/// Starts a direct upload as the admin; answers the started upload.
/// Two users, Ana and Bia, and the id of an avatar Ana uploaded.
async fn two_users_and_an_avatar_of_the_first(app: &TestApp) -> (String, String, i64) {
    let ana = app.user_token().await;
    let bia = app.user_token().await;
    let res = app.upload_as(&ana, "avatar", "ana.png", png()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    (ana, bia, id)
}

async fn start_direct_upload(
    app: &TestApp,
    file_type: &str,
    content_type: &str,
    size: u64,
) -> Value {
    let res = app
        .post_json(
            "/api/files/uploads",
            &app.admin_token,
            json!({"file_type": file_type, "original_name": "upload.bin", "content_type": content_type, "size": size}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// PUTs `body` to a started upload's URL with this content type (and the body's own length).
async fn put_upload(
    app: &TestApp,
    started: &Value,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .put(started["upload_url"].as_str().unwrap())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn complete(app: &TestApp, id: i64) -> reqwest::Response {
    app.post_json(
        &format!("/api/files/{id}/complete"),
        &app.admin_token,
        json!({}),
    )
    .await
}

/// A PDF of exactly `len` bytes, unique per call.
fn pdf_of(len: usize) -> Vec<u8> {
    let mut bytes = pdf();
    bytes.resize(len, b' ');
    bytes
}

both_backends!(
    a_put_of_another_length_or_content_type_than_declared_stores_nothing,
    |app: TestApp| async move {
        let bytes = pdf_of(64);
        let started = start_direct_upload(&app, "receipt", "application/pdf", 64).await;
        let id = started["file"]["id"].as_i64().unwrap();

        let longer = put_upload(&app, &started, "application/pdf", pdf_of(65)).await;
        assert_eq!(longer.status(), StatusCode::FORBIDDEN, "a longer body");
        let shorter = put_upload(&app, &started, "application/pdf", pdf_of(63)).await;
        assert_eq!(shorter.status(), StatusCode::FORBIDDEN, "a shorter body");
        let retyped = put_upload(&app, &started, "image/png", bytes.clone()).await;
        assert_eq!(
            retyped.status(),
            StatusCode::FORBIDDEN,
            "another content type"
        );
        if app.backend == Backend::Embedded {
            assert_eq!(
                retyped.json::<Value>().await.unwrap()["code"],
                "signature_invalid"
            );
        }

        let res = complete(&app, id).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "upload_missing");

        assert_eq!(
            started["upload_headers"],
            json!({"Content-Type": "application/pdf", "Content-Length": "64"})
        );
        let put = put_upload(&app, &started, "application/pdf", bytes.clone()).await;
        assert!(
            put.status().is_success(),
            "the declared PUT answered {}",
            put.status()
        );
        let done = complete(&app, id).await;
        assert_eq!(done.status(), StatusCode::OK);
        let done: Value = done.json().await.unwrap();
        assert_eq!(done["size"], 64);
        let served = app
            .client
            .get(done["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(served.bytes().await.unwrap().to_vec(), bytes);
    }
);

both_backends!(
    after_complete_a_second_put_to_the_upload_url_does_not_change_the_file,
    |app: TestApp| async move {
        let first = pdf_of(100);
        let second = pdf_of(100);
        let started = start_direct_upload(&app, "material", "application/pdf", 100).await;
        let id = started["file"]["id"].as_i64().unwrap();
        let put = put_upload(&app, &started, "application/pdf", first.clone()).await;
        assert!(put.status().is_success(), "PUT answered {}", put.status());
        if app.backend == Backend::Embedded {
            // The local store's URLs work once: the stored object is not replaced even before
            // the upload is completed.
            let again = put_upload(&app, &started, "application/pdf", second.clone()).await;
            assert_eq!(again.status(), StatusCode::FORBIDDEN);
            assert_eq!(again.json::<Value>().await.unwrap()["code"], "url_expired");
        }
        let res = complete(&app, id).await;
        assert_eq!(res.status(), StatusCode::OK);

        let replay = put_upload(&app, &started, "application/pdf", second.clone()).await;
        if app.backend == Backend::Embedded {
            assert_eq!(replay.status(), StatusCode::FORBIDDEN);
        }
        let again = complete(&app, id).await;
        assert_eq!(
            again.status(),
            StatusCode::OK,
            "completing again answers the file"
        );

        // Past the URL cache too: a freshly signed URL must serve the first bytes as well.
        app.admin_cache("clear", json!({"file_id": id})).await;
        let got = app.get_file(id).await;
        let served = app
            .client
            .get(got["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.bytes().await.unwrap().to_vec(), first);
    }
);

/// Every file under `dir`, recursively, with its size.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.metadata() {
            Ok(meta) if meta.is_dir() => found.extend(files_under(&path)),
            Ok(meta) => found.push((path, meta.len())),
            Err(_) => {}
        }
    }
    found
}

/// A chunked PUT over a raw connection, so the test decides when each part of the body is sent:
/// `head` first, then, once `go` is received, `tail` and the end of the body. Answers the status.
fn chunked_put(
    address: &str,
    path_and_query: &str,
    content_type: &str,
    head: Vec<u8>,
    tail: Vec<u8>,
    go: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<u16> {
    use std::io::{Read, Write};
    let host = address.trim_start_matches("http://").to_owned();
    let request = format!(
        "PUT {path_and_query} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    std::thread::spawn(move || {
        let mut conn = std::net::TcpStream::connect(&host).unwrap();
        conn.write_all(request.as_bytes()).unwrap();
        conn.write_all(format!("{:x}\r\n", head.len()).as_bytes())
            .unwrap();
        conn.write_all(&head).unwrap();
        conn.write_all(b"\r\n").unwrap();
        conn.flush().unwrap();
        go.recv().unwrap();
        // The server may answer (and stop reading) as soon as the body is too long.
        let _ = conn
            .write_all(format!("{:x}\r\n", tail.len()).as_bytes())
            .and_then(|()| conn.write_all(&tail))
            .and_then(|()| conn.write_all(b"\r\n0\r\n\r\n"));
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|status| status.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_put_streams_to_disk_and_over_the_limit_answers_413_leaving_no_file() {
    const LIMIT: usize = 1024 * 1024;
    let data_dir = tempfile::tempdir().unwrap();
    let app = crate::helpers::spawn_app_with(
        Backend::Embedded,
        &[
            ("TESSERA_DATA_DIR", data_dir.path().to_str().unwrap()),
            ("UPLOAD_MAX_BYTES", &LIMIT.to_string()),
        ],
    )
    .await;
    let objects = data_dir.path().join("objects");
    let started = start_direct_upload(&app, "general", "application/zip", LIMIT as u64).await;
    let url = started["upload_url"].as_str().unwrap();
    let path_and_query = url.strip_prefix(&app.address).unwrap();

    let (go, wait) = std::sync::mpsc::channel();
    let head = vec![b'z'; LIMIT - 1];
    let put = chunked_put(
        &app.address,
        path_and_query,
        "application/zip",
        head,
        b"zz".to_vec(),
        wait,
    );

    // While the body is still coming, its bytes are on disk (a temporary file), not in memory.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let files = files_under(&objects);
        if files.iter().any(|(_, len)| *len == (LIMIT - 1) as u64) {
            assert!(
                files
                    .iter()
                    .all(|(path, _)| path.to_string_lossy().contains(".part-")),
                "only a temporary file while the body is coming: {files:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first {} bytes never reached the disk: {files:?}",
            LIMIT - 1
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    go.send(()).unwrap();
    let status = tokio::task::spawn_blocking(move || put.join().unwrap())
        .await
        .unwrap();
    assert_eq!(status, 413, "one byte over UPLOAD_MAX_BYTES");
    assert_eq!(
        files_under(&objects),
        vec![],
        "a refused PUT leaves no file"
    );

    let id = started["file"]["id"].as_i64().unwrap();
    let res = complete(&app, id).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_with_less_than_the_safety_floor_left_is_resigned_not_served() {
    let app = crate::helpers::spawn_app(Backend::Services).await;
    let file = app.upload("avatar", "me.png", png()).await;
    let id = file["id"].as_i64().unwrap();
    let key = app.redis_key(&format!("file_url:{id}"));
    let stale = json!({"url": "http://127.0.0.1:9/stale", "expires_at": chrono::Utc::now().timestamp() + 100}).to_string();
    let mut redis = app.redis().await;
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(&stale)
        .arg("EX")
        .arg(2000)
        .query_async(&mut redis)
        .await
        .unwrap();
    let before = app.signatures().await;
    let got = app.get_file(id).await;
    assert_ne!(got["url"], "http://127.0.0.1:9/stale");
    assert_eq!(app.signatures().await - before, 1);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        ttl > 2600,
        "the fresh URL replaced the stale entry (TTL {ttl})"
    );
}

both_backends!(
    an_upload_with_a_part_the_form_does_not_have_is_refused_and_stores_nothing,
    |app: TestApp| async move {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(png()).file_name("a.png"),
            )
            .text("file_type", "avatar")
            .text("is_public", "true");
        let res = app
            .client
            .post(app.url("/api/files"))
            .bearer_auth(&app.admin_token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "is_public");
        let listed: Value = app
            .get("/api/files", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["total"], 0);
    }
);

/// `url` with the value of query parameter `name` passed through `change`.
fn with_param(url: &str, name: &str, change: impl Fn(&str) -> String) -> String {
    let (path, query) = url.split_once('?').unwrap();
    let mut found = false;
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((n, v)) if n == name => {
                found = true;
                format!("{n}={}", change(v))
            }
            _ => pair.to_owned(),
        })
        .collect();
    assert!(found, "no {name} in the URL");
    format!("{path}?{}", query.join("&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_url_with_any_signed_part_changed_is_refused_while_the_original_works() {
    let app = crate::helpers::spawn_app(Backend::Services).await;
    let bytes = pdf();
    let file = app
        .upload("material", "relatório a+b.pdf", bytes.clone())
        .await;
    app.post_json("/api/admin/cache/clear", &app.admin_token, json!({}))
        .await;
    // Signed on a miss, and by a warm (the batch path): both URLs must work and resist tampering.
    let read = app.get_file(file["id"].as_i64().unwrap()).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_json(
            "/api/admin/cache/warm",
            &app.admin_token,
            json!({"file_ids": [file["id"]]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let warmed = app.get_file(file["id"].as_i64().unwrap()).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    for url in [read, warmed] {
        let flip = |v: &str| {
            let mut v = v.to_owned();
            let last = v.pop().unwrap();
            v.push(if last == '0' { '1' } else { '0' });
            v
        };
        let (path, query) = url.split_once('?').unwrap();
        let tampered = [
            ("signature", with_param(&url, "X-Amz-Signature", flip)),
            (
                "expiry",
                with_param(&url, "X-Amz-Expires", |v| format!("{v}0")),
            ),
            (
                "signing time",
                // Seconds off: …T123042Z → …T123040Z, …T123040Z → …T123041Z.
                with_param(&url, "X-Amz-Date", |v| {
                    format!("{}Z", flip(v.strip_suffix('Z').unwrap()))
                }),
            ),
            (
                "credential: key id",
                with_param(&url, "X-Amz-Credential", |v| format!("x{v}")),
            ),
            (
                "credential: region",
                with_param(&url, "X-Amz-Credential", |v| {
                    // <key id>/<date>/<region>/s3/aws4_request
                    let mut scope: Vec<String> = v.split("%2F").map(str::to_owned).collect();
                    scope[2].push('x');
                    scope.join("%2F")
                }),
            ),
            ("key", format!("{}x?{query}", path)),
            (
                "response type",
                with_param(&url, "response-content-type", |_| "text%2Fhtml".into()),
            ),
        ];
        for (what, changed) in tampered {
            assert_ne!(changed, url, "{what} was not changed");
            let res = app.client.get(&changed).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what} changed");
        }
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "application/pdf");
        assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);
    }
}
