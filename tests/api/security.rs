//! Probes an attacker would try first: the security headers on every kind of answer, Host headers
//! that are missing, malformed or spoofed (sent over a raw socket, as a client library would never
//! send them), and a forged `X-Forwarded-For` from a peer that is not a trusted proxy.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with};

/// Every path of the OpenAPI document with its GET (ids made up: the answers are 404s and 200s alike).
fn get_paths(schema: &Value) -> Vec<String> {
    schema["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(path, _)| {
            path.split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        segment.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

fn assert_secured(response: &reqwest::Response, what: &str, hsts: bool) {
    let headers = response.headers();
    let value = |name: header::HeaderName| {
        headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name} ({})", response.status()))
            .to_owned()
    };
    assert_eq!(value(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(value(header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert!(!value(header::REFERRER_POLICY).is_empty(), "{what}");
    assert!(
        value(header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"),
        "{what}"
    );
    let cache = value(header::CACHE_CONTROL);
    assert!(
        cache == "no-store" || cache == "no-cache",
        "{what}: {cache}"
    );
    assert_eq!(
        headers.contains_key(header::STRICT_TRANSPORT_SECURITY),
        hsts,
        "{what}: HSTS"
    );
}

#[tokio::test]
async fn every_kind_of_answer_carries_the_security_headers() {
    let app = spawn_app_with(|s| s.server.hsts = true).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let schema = app.openapi("acme").await;
    let paths = get_paths(&schema);
    assert!(paths.len() > 30, "{} GET operations", paths.len());
    let mut checked = 0;
    for path in &paths {
        let response = app.get("acme", path, &owner.access).await;
        assert!(
            response.status().as_u16() < 500,
            "{path}: {}",
            response.status()
        );
        assert_secured(&response, path, true);
        checked += 1;
    }
    let base = format!("{}:{}", app.settings.server.base_domain, app.port);
    let others: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "sign-in refused (422)",
            app.request(Method::POST, "acme", "/api/v1/auth/login")
                .json(&json!({})),
        ),
        (
            "no token (401)",
            app.request(Method::GET, "acme", "/api/v1/members"),
        ),
        (
            "unknown route (404)",
            app.request(Method::GET, "acme", "/api/v1/nothing-here"),
        ),
        (
            "wrong method (405)",
            app.request(Method::PUT, "acme", "/api/v1/me"),
        ),
        (
            "unknown organization",
            app.request(Method::GET, "nobody", "/api/v1/me"),
        ),
        (
            "SCIM without a token",
            app.request(Method::GET, "acme", "/scim/v2/Users"),
        ),
        ("sign-in page", app.request(Method::GET, "acme", "/login")),
        (
            "console's former sign-in address",
            app.request(Method::GET, "acme", "/admin/login"),
        ),
        ("portal redirect", app.request(Method::GET, "acme", "/")),
        (
            "portal page that does not exist",
            app.request(Method::GET, "acme", "/no-such-page"),
        ),
        (
            "console script",
            app.request(Method::GET, "acme", "/admin/static/console.js"),
        ),
        (
            "console redirect",
            app.request(Method::GET, "acme", "/admin"),
        ),
        (
            "healthz",
            app.request_with_host(Method::GET, Some(&base), "/healthz"),
        ),
        (
            "readyz",
            app.request_with_host(Method::GET, Some(&base), "/readyz"),
        ),
        (
            "metrics",
            app.request_with_host(Method::GET, Some(&base), "/metrics"),
        ),
        (
            "landing",
            app.request_with_host(Method::GET, Some(&base), "/"),
        ),
    ];
    for (what, request) in others {
        let response = request.send().await.unwrap();
        assert!(
            response.status().as_u16() < 500,
            "{what}: {}",
            response.status()
        );
        assert_secured(&response, what, true);
        checked += 1;
    }
    // A console page keeps its own policy (it allows its script), with framing still refused.
    let page = app
        .request(Method::GET, "acme", "/login")
        .send()
        .await
        .unwrap();
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    // And an API answer allows nothing to load.
    let answer = app.get("acme", "/api/v1/me", &owner.access).await;
    assert_eq!(
        answer.headers()[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert!(checked > 40);

    // Without `server.hsts` (local, test), no Strict-Transport-Security.
    let plain = spawn_app().await;
    let response = plain.base_get("/healthz").await;
    assert_secured(&response, "healthz without hsts", false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_headers_are_read_strictly_and_never_from_forwarding_headers() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let port = app.port;
    let auth = format!("Authorization: Bearer {}", owner.access);
    let cases: Vec<(String, u16, &str)> = vec![
        // The organization, however its name is spelled.
        (format!("Host: acme.localhost:{port}"), 200, ""),
        (format!("Host: ACME.LocalHost:{port}"), 200, ""),
        (format!("Host: acme.localhost.:{port}"), 200, ""),
        ("Host: acme.localhost".to_owned(), 200, ""),
        // Not an organization, or not a host at all.
        (format!("Host: localhost:{port}"), 404, "not_found"),
        (format!("Host: [::1]:{port}"), 404, "tenant_not_found"),
        (format!("Host: 127.0.0.1:{port}"), 404, "tenant_not_found"),
        (
            format!("Host: evil.example:{port}"),
            404,
            "tenant_not_found",
        ),
        (
            format!("Host: nobody.localhost:{port}"),
            404,
            "tenant_not_found",
        ),
        (
            format!("Host: acme.localhost:{port}x"),
            400,
            "malformed_host",
        ),
        (
            format!("Host: acme..localhost:{port}"),
            400,
            "malformed_host",
        ),
        (
            format!("Host: acme.localhost/x:{port}"),
            400,
            "malformed_host",
        ),
        (
            format!("Host: user@acme.localhost:{port}"),
            400,
            "malformed_host",
        ),
        ("Host: acmé.localhost".to_owned(), 400, "malformed_host"),
        // Forwarding headers never choose the organization.
        (
            format!("Host: localhost:{port}\r\nX-Forwarded-Host: acme.localhost:{port}"),
            404,
            "not_found",
        ),
        (
            format!("Host: evil.example:{port}\r\nForwarded: host=acme.localhost"),
            404,
            "tenant_not_found",
        ),
    ];
    for (host, status, code) in cases {
        let head = format!("GET /api/v1/me HTTP/1.1\r\n{host}\r\n{auth}");
        let (got, body) = tokio::task::spawn_blocking(move || TestProbe { port }.send(&head))
            .await
            .unwrap();
        assert_eq!(got, status, "{host}: {body}");
        if !code.is_empty() {
            assert!(
                body.contains(&format!("\"code\":\"{code}\"")),
                "{host}: {body}"
            );
        }
    }
    // HTTP/1.0 without a Host: refused with a problem, not a crash (HTTP/1.1 requires one, and
    // actix refuses its absence itself).
    let (got, body) =
        tokio::task::spawn_blocking(move || TestProbe { port }.send("GET /api/v1/me HTTP/1.0"))
            .await
            .unwrap();
    assert_eq!(got, 400, "{body}");
}

/// A raw HTTP/1.x request over its own socket: heads no client library would send.
struct TestProbe {
    port: u16,
}

impl TestProbe {
    fn send(&self, head: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    }
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit() {
    let app = spawn_app_with(|s| {
        s.auth.login_ip_limit = 5;
        s.auth.login_account_limit = 1000;
    })
    .await;
    app.create_tenant("acme").await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let response = app
            .request(Method::POST, "acme", "/api/v1/auth/login")
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({ "email": format!("u{i}@acme.example"), "password": "wrong password" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    assert_eq!(statuses[6], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_clients_address_counts_not_the_proxys() {
    let app = spawn_app_with(|s| {
        s.auth.login_ip_limit = 3;
        s.auth.login_account_limit = 1000;
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.create_tenant("acme").await;
    let attempt = |client: &'static str, i: usize| {
        app.request(Method::POST, "acme", "/api/v1/auth/login")
            // A forged left-most entry is ignored: the right-most untrusted address is the client.
            .header("x-forwarded-for", format!("198.51.100.{i}, {client}"))
            .json(&json!({ "email": format!("u{i}@acme.example"), "password": "wrong password" }))
            .send()
    };
    for i in 0..3 {
        assert_eq!(
            attempt("192.0.2.1", i).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt("192.0.2.1", 3).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy has its own budget.
    assert_eq!(
        attempt("192.0.2.2", 4).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn secrets_are_at_rest_only_as_hashes_or_sealed() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    // SSO with a client secret, a log stream with a secret and a header (isolation's fixtures).
    crate::isolation::make_fixtures(&app, &acme).await;
    let session = app.login_owner(&acme).await;
    let key: Value = app
        .post(
            "acme",
            "/api/v1/api-keys",
            &session.access,
            &json!({ "name": "ci", "role": "member" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let scim_token = crate::scim::scim_token(&app, &acme).await;
    let invited = app
        .invite("acme", &session, "newcomer@acme.example", "member")
        .await;
    let totp: Value = app
        .post("acme", "/api/v1/me/mfa/totp", &session.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secrets = [
        ("the owner's password", acme.owner.password.clone()),
        ("a refresh token", session.refresh.clone()),
        ("an API key", key["key"].as_str().unwrap().to_owned()),
        ("a SCIM token", scim_token),
        (
            "an invitation token",
            crate::helpers::invitation_token(&invited),
        ),
        ("a TOTP seed", totp["secret"].as_str().unwrap().to_owned()),
        ("an SSO client secret", "acme-secret-client-secret".into()),
        ("a log stream's secret", "acme-secret-stream-secret".into()),
        ("a log stream's header", "acme-secret-stream-token".into()),
    ];

    // Every row of every table, as text, read as the superuser (past row-level security).
    let mut admin = app.admin_connection().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    for table in &tables {
        // The table names come from the catalog, quoted by format('%I').
        let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(string_agg(to_jsonb(t)::text, E'\\n'), '') FROM {table} t"
        )))
        .fetch_one(&mut admin)
        .await
        .unwrap();
        for (what, secret) in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} is stored in clear in {table}"
            );
        }
    }
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(acme.owner.id.as_uuid())
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}
