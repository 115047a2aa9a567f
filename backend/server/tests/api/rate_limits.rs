//! Rate limits: login and one-time codes per account and per address, the API per user or
//! address; 429 with `Retry-After` and the IETF `RateLimit` fields; counters that always expire.

use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app_with, Backend, TestApp};

const LIMITED: &[(&str, &str)] = &[
    ("RATE_LIMIT_LOGIN_PER_MINUTE", "5"),
    ("RATE_LIMIT_OTP_PER_MINUTE", "5"),
    ("RATE_LIMIT_API_PER_MINUTE", "1000"),
    ("TESSERA_TRUSTED_PROXIES", "127.0.0.1"),
];

const API_LIMITED: &[(&str, &str)] = &[
    ("RATE_LIMIT_API_PER_MINUTE", "4"),
    ("TESSERA_TRUSTED_PROXIES", "127.0.0.1"),
];

/// A login attempt from `ip`, as the trusted proxy in front of us says.
async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn assert_limited(res: reqwest::Response, policy: &str, limit: u64) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let retry: u64 = header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        header("ratelimit-policy"),
        format!("\"{policy}\";q={limit};w=60")
    );
    assert!(header("ratelimit").starts_with(&format!("\"{policy}\";r=0;t=")));
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(problem["status"], 429);
}

both_backends!(
    password_guessing_is_stopped_per_account_even_from_many_addresses,
    LIMITED,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        for n in 0..5 {
            let res = login_from(&app, &format!("198.51.100.{n}"), &email, "wrong-guess").await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        }
        // The right password is refused too: the account's window is spent.
        let res = login_from(&app, "198.51.100.99", &email, "user-password-1").await;
        assert_limited(res, "login", 5).await;
        // Another account from a fresh address is not affected.
        let (other, _) = app.create_user("user-password-1", json!({})).await;
        let res = login_from(&app, "198.51.100.100", &other, "user-password-1").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
);

both_backends!(
    one_address_trying_many_accounts_is_stopped,
    LIMITED,
    |app: TestApp| async move {
        for n in 0..5 {
            let res = login_from(
                &app,
                "203.0.113.7",
                &format!("guess{n}@example.org"),
                "x-password",
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        }
        for _ in 0..3 {
            let res = login_from(&app, "203.0.113.7", "guess9@example.org", "x-password").await;
            assert_limited(res, "login", 5).await;
        }
        let res = login_from(&app, "203.0.113.8", "guess9@example.org", "x-password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // A flood is recorded once per window, not once per request.
        let log: Value = app
            .get("/api/audit?action=rate_limited", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(log["total"], 1);
        assert_eq!(log["items"][0]["client_ip"], "203.0.113.7");
    }
);

both_backends!(
    password_checks_when_changing_ones_password_count_against_the_login_limit,
    LIMITED,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let token = app.login(&email, "user-password-1").await;
        // Each guess from another address: the limit per user is what stops them.
        let guess = |n: u32| {
            app.client
                .patch(app.url("/api/auth/me"))
                .bearer_auth(&token)
                .header("x-forwarded-for", format!("198.51.100.{n}"))
                .json(&json!({"password": "a-new-password", "current_password": format!("guess-{n}")}))
                .send()
        };
        for n in 0..5 {
            let res = guess(n).await.unwrap();
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        assert_limited(guess(5).await.unwrap(), "login", 5).await;
    }
);

both_backends!(
    one_time_code_guessing_is_stopped,
    LIMITED,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let token = app.login(&email, "user-password-1").await;
        let res = app
            .post_json(
                "/api/auth/otp/setup",
                &token,
                json!({"current_password": "user-password-1"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let enable = |code: &str| {
            app.post_json(
                "/api/auth/otp/enable",
                &token,
                json!({"current_password": "user-password-1", "code": code}),
            )
        };
        for code in ["000000", "111111", "222222", "333333", "444444"] {
            assert_eq!(
                enable(code).await.status(),
                StatusCode::UNPROCESSABLE_ENTITY
            );
        }
        assert_limited(enable("555555").await, "otp", 5).await;
    }
);

both_backends!(
    the_api_is_limited_per_user_and_per_anonymous_address,
    API_LIMITED,
    |app: TestApp| async move {
        // The admin's login happened before; its API window starts with this request.
        for _ in 0..4 {
            let res = app.get("/api/auth/me", &app.admin_token).await;
            assert_eq!(res.status(), StatusCode::OK);
            let policy = res.headers()["ratelimit-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(policy, "\"api\";q=4;w=60");
        }
        assert_limited(app.get("/api/auth/me", &app.admin_token).await, "api", 4).await;
        // Health checks are not counted against the API (a login is, per address).
        let res = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        let anonymous = |ip: &'static str| {
            app.client
                .get(app.url("/api/files"))
                .header("x-forwarded-for", ip)
                .send()
        };
        for _ in 0..4 {
            assert_eq!(
                anonymous("192.0.2.1").await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        }
        assert_limited(anonymous("192.0.2.1").await.unwrap(), "api", 4).await;
        assert_eq!(
            anonymous("192.0.2.2").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
);

both_backends!(
    a_burst_of_one_callers_requests_at_once_gets_exactly_the_limit_through,
    &[("RATE_LIMIT_API_PER_MINUTE", "40")],
    |app: TestApp| async move {
        // 120 requests at once on the server's workers: the hits that arrive while one of
        // them reports to the shared counter count too, so exactly 40 pass.
        let answers =
            futures::future::join_all((0..120).map(|_| app.get("/api/auth/me", &app.admin_token)))
                .await;
        let passed = answers
            .iter()
            .filter(|res| res.status() == StatusCode::OK)
            .count();
        let refused = answers
            .iter()
            .filter(|res| res.status() == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!((passed, refused), (40, 80));
        // And the shared counter heard of all of them by the next request.
        assert_limited(app.get("/api/auth/me", &app.admin_token).await, "api", 40).await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_in_redis_always_carry_a_ttl() {
    let app = spawn_app_with(Backend::Services, LIMITED).await;
    // A counter some other client left without a TTL (the INCR-then-EXPIRE race) is healed by
    // the next hit instead of blocking its subject forever.
    let mut redis = app.redis().await;
    let stuck = app.redis_key("rate:login:ip:192.0.2.50");
    let _: () = redis.set(&stuck, 3).await.unwrap();
    login_from(&app, "192.0.2.50", "nobody@example.org", "x-password").await;
    for n in 0..3 {
        login_from(
            &app,
            &format!("192.0.2.{n}"),
            "nobody@example.org",
            "x-password",
        )
        .await;
    }
    app.get("/api/auth/me", &app.admin_token).await;

    let keys: Vec<String> = redis.keys(app.redis_key("rate:*")).await.unwrap();
    assert!(keys.len() >= 6, "{keys:?}");
    for key in &keys {
        let ttl: i64 = redis.ttl(key).await.unwrap();
        assert!((1..=60).contains(&ttl), "{key} has TTL {ttl}");
    }
    let count: u64 = redis.get(&stuck).await.unwrap();
    assert_eq!(count, 4);
    // Emails never appear in keys.
    assert!(keys.iter().all(|k| !k.contains("example.org")), "{keys:?}");
}

both_backends!(
    forwarded_addresses_from_untrusted_peers_are_ignored,
    &[("RATE_LIMIT_LOGIN_PER_MINUTE", "5")],
    |app: TestApp| async move {
        // No trusted proxies: X-Forwarded-For is the client's own claim, so a new one per attempt
        // buys nothing. The admin's login at start-up was the first attempt from this address.
        for n in 0..4 {
            let res = login_from(
                &app,
                &format!("198.51.100.{n}"),
                &format!("u{n}@example.org"),
                "x-password",
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        }
        let res = login_from(&app, "198.51.100.9", "u9@example.org", "x-password").await;
        assert_limited(res, "login", 5).await;
    }
);

both_backends!(
    guessing_one_time_codes_at_login_is_stopped,
    LIMITED,
    |app: TestApp| async move {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let token = app.login(&email, "user-password-1").await;
        let setup: Value = app
            .post_json(
                "/api/auth/otp/setup",
                &token,
                json!({"current_password": "user-password-1"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let secret =
            tessera_domain::accounts::otp::OtpSecret::parse(setup["secret"].as_str().unwrap())
                .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let res = app
            .post_json(
                "/api/auth/otp/enable",
                &token,
                json!({"current_password": "user-password-1", "code": secret.code_at(now)}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        // The password is known; the attacker guesses codes, each from a new address. The first
        // login above was this account's first attempt.
        let guess = |n: u32| {
            app.client
                .post(app.url("/api/auth/login"))
                .header("x-forwarded-for", format!("198.51.100.{n}"))
                .json(&json!({"email": email, "password": "user-password-1", "otp_code": format!("{:06}", n)}))
                .send()
        };
        for n in 0..4 {
            let res = guess(n).await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(res.json::<Value>().await.unwrap()["code"], "otp_invalid");
        }
        assert_limited(guess(4).await.unwrap(), "login", 5).await;
    }
);

both_backends!(
    invented_api_tokens_count_against_the_address,
    API_LIMITED,
    |app: TestApp| async move {
        let invented = |ip: &'static str, n: usize| {
            app.client
                .get(app.url("/api/members"))
                .header("x-forwarded-for", ip)
                .bearer_auth(format!("tsk_{n:0>43}"))
                .send()
        };
        for n in 0..4 {
            let res = invented("192.0.2.77", n).await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["code"], "unauthenticated");
        }
        // A new invented token each time buys nothing: the address is out of requests.
        assert_limited(invented("192.0.2.77", 4).await.unwrap(), "api", 4).await;
        assert_eq!(
            invented("192.0.2.78", 0).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
);
