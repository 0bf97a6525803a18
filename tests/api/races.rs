//! What concurrent and misbehaving clients must not achieve: leaked transactions, a pool held by slow
//! bodies, more password guesses than the limit, an invitation used twice.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::helpers::{PASSWORD, TestApp, invitation_token, spawn_app_with};

/// Connections of this test's database left inside a transaction (polled: rollbacks of abandoned
/// transactions run just after the response).
async fn idle_in_transaction(app: &TestApp) -> i64 {
    let mut admin = app.admin_connection().await;
    let mut count = 0;
    for _ in 0..20 {
        count = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if count == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    count
}

#[tokio::test]
async fn failing_requests_leave_no_transaction_open_on_a_pooled_connection() {
    let app = spawn_app_with(|s| s.database.max_connections = 1).await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let a = app.login_owner(&acme).await;
    let b = app.login_owner(&globex).await;
    let bad: Vec<reqwest::Response> = vec![
        app.get("acme", "/api/v1/members/not-a-uuid", &a.access)
            .await,
        app.get("acme", "/api/v1/members?limit=0", &a.access).await,
        app.request(Method::POST, "acme", "/api/v1/invitations")
            .bearer_auth(&a.access)
            .header(header::CONTENT_TYPE, "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
        app.post(
            "acme",
            "/api/v1/invitations",
            &a.access,
            &json!({ "email": 1 }),
        )
        .await,
        app.post(
            "acme",
            "/api/v1/invitations",
            &a.access,
            &json!({ "email": "dup@acme.example" }),
        )
        .await,
        app.post(
            "acme",
            "/api/v1/invitations",
            &a.access,
            &json!({ "email": "dup@acme.example" }),
        )
        .await,
    ];
    assert!(bad.iter().any(|r| r.status().is_client_error()));
    assert_eq!(
        idle_in_transaction(&app).await,
        0,
        "a connection went back to the pool inside a transaction"
    );
    let members = app.get("globex", "/api/v1/members", &b.access).await;
    assert_eq!(members.status(), StatusCode::OK);
    assert!(
        !members.text().await.unwrap().contains("acme"),
        "B saw A's data"
    );
}

#[tokio::test]
async fn a_slow_body_holds_no_database_connection() {
    let app = spawn_app_with(|s| {
        s.database.max_connections = 1;
        s.database.acquire_timeout_ms = 2000;
        s.server.body_timeout_secs = 2;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    // Three clients announce a body and send one byte of it.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .unwrap();
        let head = format!(
            "PATCH /api/v1/org/settings HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{{",
            app.host("acme"),
            owner.access
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let me = app.get("acme", "/api/v1/me", &owner.access).await;
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "the only connection was held by a slow client"
    );
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "waited for a connection: {:?}",
        start.elapsed()
    );
    drop(sockets);
}

#[tokio::test]
async fn concurrent_guesses_do_not_slip_under_the_account_limit() {
    let app = spawn_app_with(|s| {
        s.auth.login_account_limit = 3;
        s.auth.login_ip_limit = 1000;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        let email = acme.owner.email.clone();
        async move {
            app.try_login("acme", &email, &format!("guess number {i}"))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let tried = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, refused), (3, 17), "{statuses:?}");
    let audited = app
        .audit_actions(acme.id)
        .await
        .iter()
        .filter(|a| *a == "auth.login_failed")
        .count();
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn an_invitation_is_accepted_once_however_many_try_at_once() {
    let app = spawn_app_with(|_| {}).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let invited = app
        .invite("acme", &owner, "grace@acme.example", "member")
        .await;
    let token = invitation_token(&invited);
    let attempts = (0..6).map(|_| {
        let app = &app;
        let token = token.clone();
        async move { app.accept("acme", &token, PASSWORD).await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        5,
        "{statuses:?}"
    );
    let accepted = app
        .audit_actions(acme.id)
        .await
        .iter()
        .filter(|a| *a == "invitation.accepted")
        .count();
    assert_eq!(accepted, 1);
}

/// Found by the OpenAPI fuzzer: an edit that read the role just before a delete committed updated no
/// row and answered 500. Each edit racing a delete now either lands first or finds no role.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn editing_a_role_while_it_is_deleted_is_a_404_never_a_500() {
    let app = spawn_app_with(|_| {}).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    for round in 0..10 {
        let created = app
            .post(
                "acme",
                "/api/v1/roles",
                &owner.access,
                &json!({ "name": format!("temp_{round}"), "permissions": ["members:read"] }),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let id = created.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/v1/roles/{id}");
        let bodies: Vec<serde_json::Value> = (0..4)
            .map(|i| json!({ "description": format!("edit {i}") }))
            .collect();
        let edits = bodies
            .iter()
            .map(|body| app.send_json(Method::PATCH, "acme", &path, &owner.access, body));
        let (deleted, edited) = tokio::join!(
            app.delete("acme", &path, &owner.access),
            futures_util::future::join_all(edits)
        );
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        for response in edited {
            let status = response.status();
            assert!(
                status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                "round {round}: {status}"
            );
        }
    }
}
