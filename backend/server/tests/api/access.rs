//! Who may call what, checked route by route from the served spec: every operation is called by
//! every kind of caller and by odd spellings of its path, and must answer what its `security`
//! says. A route added tomorrow is covered by this test the moment it exists.

use std::collections::BTreeMap;

use chrono::Utc;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET};

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Nobody,
    Expired,
    User,
    Admin,
    TokenWithScope,
    TokenWithoutScope,
}

/// What an operation's `security` asks: whether a session must be an administrator's, and the
/// scope an API token needs (`None`: no API token may call).
#[derive(Debug)]
struct Requirement {
    admin: bool,
    token_scope: Option<String>,
}

fn requirement(operation: &Value) -> Option<Requirement> {
    let security = operation.get("security")?.as_array()?;
    let mut requirement = Requirement {
        admin: false,
        token_scope: None,
    };
    for alternative in security {
        if let Some(roles) = alternative.get("session") {
            requirement.admin = roles.as_array().unwrap().iter().any(|r| r == "admin");
        }
        if let Some(scopes) = alternative.get("api_token") {
            let scopes = scopes.as_array().unwrap();
            assert_eq!(scopes.len(), 1, "one scope per operation");
            requirement.token_scope = Some(scopes[0].as_str().unwrap().to_owned());
        }
    }
    Some(requirement)
}

/// The refusal a kind of caller must meet, or `None` when it must be let through.
fn expected_refusal(kind: Kind, requirement: &Requirement) -> Option<(StatusCode, &'static str)> {
    match kind {
        Kind::Nobody | Kind::Expired => Some((StatusCode::UNAUTHORIZED, "unauthenticated")),
        Kind::User if requirement.admin => Some((StatusCode::FORBIDDEN, "admin_required")),
        Kind::User | Kind::Admin => None,
        Kind::TokenWithScope | Kind::TokenWithoutScope if requirement.token_scope.is_none() => {
            Some((StatusCode::FORBIDDEN, "session_required"))
        }
        Kind::TokenWithScope => None,
        Kind::TokenWithoutScope => Some((StatusCode::FORBIDDEN, "insufficient_scope")),
    }
}

const REFUSALS: [&str; 4] = [
    "unauthenticated",
    "admin_required",
    "insufficient_scope",
    "session_required",
];

struct Callers {
    user: (String, String),
    admin: String,
    tokens: BTreeMap<Vec<&'static str>, String>,
    expired: String,
}

impl Callers {
    async fn new(app: &TestApp) -> Self {
        let (email, _) = app.create_user("user-password-1", json!({})).await;
        let mut tokens = BTreeMap::new();
        for scopes in [
            vec!["cache:admin"],
            vec!["read"],
            vec!["write"],
            vec!["read", "write"],
            vec!["cache:admin", "write"],
            vec!["cache:admin", "read"],
        ] {
            let res = app
                .post_json(
                    "/api/tokens",
                    &app.admin_token,
                    json!({"name": "matrix", "scopes": scopes}),
                )
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let body: Value = res.json().await.unwrap();
            tokens.insert(scopes, body["token"].as_str().unwrap().to_owned());
        }
        let now = Utc::now().timestamp();
        let expired = encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "1", "exp": now - 600, "iat": now - 1500, "jti": "expired",
                    "iss": "tessera", "aud": "tessera-api"}),
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        Self {
            user: (email.clone(), app.login(&email, "user-password-1").await),
            admin: app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await,
            tokens,
            expired,
        }
    }

    /// Logs the user and the admin in again (after a logout ended their sessions).
    async fn log_in_again(&mut self, app: &TestApp) {
        self.user.1 = app.login(&self.user.0, "user-password-1").await;
        self.admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }

    /// The bearer token of a kind of caller for an operation needing `requirement`.
    fn token(&self, kind: Kind, requirement: &Requirement) -> Option<String> {
        let scope = requirement.token_scope.as_deref().unwrap_or("read");
        match kind {
            Kind::Nobody => None,
            Kind::Expired => Some(self.expired.clone()),
            Kind::User => Some(self.user.1.clone()),
            Kind::Admin => Some(self.admin.clone()),
            Kind::TokenWithScope => Some(self.tokens[&vec![scope]].clone()),
            Kind::TokenWithoutScope => {
                let others: Vec<&str> = ["cache:admin", "read", "write"]
                    .into_iter()
                    .filter(|s| *s != scope)
                    .collect();
                Some(self.tokens[&others].clone())
            }
        }
    }
}

/// Every operation of the served spec: method, path template and the operation.
async fn operations(app: &TestApp) -> Vec<(Method, String, Value)> {
    let spec: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            found.push((method, path.clone(), operation.clone()));
        }
    }
    assert!(
        found.len() > 40,
        "the spec lists {} operations",
        found.len()
    );
    found
}

/// A concrete path for a template: ids that exist nowhere, a well-formed object key.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "999999")
        .replace("{key}", "general/2026/01/nothing.txt")
}

/// Odd spellings of a path: a percent-encoded letter, a doubled slash, a trailing slash.
fn spellings(path: &str) -> Vec<(&'static str, String)> {
    let encoded = match path.strip_prefix("/api/") {
        Some(rest) => {
            let first = rest.chars().next().unwrap();
            format!("/api/%{:02X}{}", first as u32, &rest[1..])
        }
        None => format!("/%{:02X}{}", path.as_bytes()[1], &path[2..]),
    };
    vec![
        ("percent-encoded", encoded),
        ("double slash", format!("/{path}")),
        ("trailing slash", format!("{path}/")),
    ]
}

async fn call(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String) {
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        request = request.json(&json!({}));
    }
    let res = request.send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

both_backends!(
    every_route_admits_exactly_the_callers_its_spec_names,
    |app: TestApp| async move {
        let mut callers = Callers::new(&app).await;
        let kinds = [
            Kind::Nobody,
            Kind::Expired,
            Kind::User,
            Kind::Admin,
            Kind::TokenWithScope,
            Kind::TokenWithoutScope,
        ];
        let mut protected = 0;
        for (method, template, operation) in operations(&app).await {
            let path = concrete(&template);
            let Some(requirement) = requirement(&operation) else {
                // Open to anyone: every spelling still answers what the path answers.
                let canonical = call(&app, &method, &path, None).await;
                assert_ne!(canonical.1, "unauthenticated", "{method} {path} is open");
                for (spelling, odd) in spellings(&path) {
                    let answer = call(&app, &method, &odd, None).await;
                    assert!(
                        answer == canonical
                            || (spelling == "trailing slash" && answer.0 == StatusCode::NOT_FOUND),
                        "{method} {odd} ({spelling}) answered {answer:?}, {path} {canonical:?}"
                    );
                }
                continue;
            };
            protected += 1;
            for kind in kinds {
                let token = callers.token(kind, &requirement);
                let canonical = call(&app, &method, &path, token.as_deref()).await;
                match expected_refusal(kind, &requirement) {
                    Some(refusal) => assert_eq!(
                        (canonical.0, canonical.1.as_str()),
                        refusal,
                        "{method} {path} as {kind:?}"
                    ),
                    None => assert!(
                        canonical.0 != StatusCode::UNAUTHORIZED
                            && !REFUSALS.contains(&canonical.1.as_str()),
                        "{method} {path} as {kind:?} was refused: {canonical:?}"
                    ),
                }
                let logged_out = template == "/api/auth/logout";
                if logged_out {
                    callers.log_in_again(&app).await;
                }
                for (spelling, odd) in spellings(&path) {
                    let token = callers.token(kind, &requirement);
                    let answer = call(&app, &method, &odd, token.as_deref()).await;
                    let same = answer == canonical
                        || (spelling == "trailing slash" && answer.0 == StatusCode::NOT_FOUND);
                    assert!(
                        same,
                        "{method} {odd} ({spelling}) as {kind:?} answered {answer:?}, \
                         but {path} answered {canonical:?}"
                    );
                    if logged_out {
                        callers.log_in_again(&app).await;
                    }
                }
            }
        }
        assert!(protected > 40, "{protected} protected operations");
    }
);

both_backends!(
    a_wrong_method_answers_405_with_the_methods_the_spec_lists,
    |app: TestApp| async move {
        let mut by_path: BTreeMap<String, Vec<Method>> = BTreeMap::new();
        for (method, template, _) in operations(&app).await {
            by_path.entry(template).or_default().push(method);
        }
        for (template, methods) in by_path {
            let path = concrete(&template);
            let wrong = [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ]
            .into_iter()
            .find(|m| !methods.contains(m))
            .unwrap();
            let res = app
                .client
                .request(wrong.clone(), app.url(&path))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{wrong} {path}"
            );
            let mut allowed: Vec<String> = res.headers()["allow"]
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_owned())
                .collect();
            allowed.sort();
            let mut listed: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
            listed.sort();
            assert_eq!(allowed, listed, "Allow of {path}");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
        }
    }
);
