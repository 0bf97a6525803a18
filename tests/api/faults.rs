//! Database faults that a test can cause without disturbing its neighbours (they share the PostgreSQL
//! server, so a restart of it is a bench/ script). The server's connections are terminated again and
//! again while members write: every answer is a success or a 503 (never a 500 or a hang), the server
//! recovers without a restart, and what was committed matches the audit log exactly — no change without
//! its event, no event without its change. Connections terminated while idle in the pool cost no
//! request at all. And revocations made on one instance hold on another at the next request.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app_with;

/// Terminates every backend of the server's pools (`application_name = 'trellis'`); returns how many.
async fn terminate_the_pools_backends(admin: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'trellis' \
         AND pid <> pg_backend_pid()",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminated_connections_give_503s_then_recovery_and_never_a_half_write() {
    let app = spawn_app_with(|s| {
        s.plans.enterprise.api_requests_per_minute = 1_000_000;
        s.database.acquire_timeout_ms = 2_000;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;

    // The killer: terminates every backend of the server's pool, every 30 ms, while the writers run.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let mut admin = app.admin_connection().await;
    let killer = tokio::spawn(async move {
        let mut killed = 0i64;
        while !*stopped.borrow() {
            killed += terminate_the_pools_backends(&mut admin).await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(30)) => {}
                _ = stopped.changed() => {}
            }
        }
        killed
    });

    // Four writers, 60 role creations each (a role and its `role.created` event per success).
    let writers = (0..4).map(|w| {
        let (app, token) = (&app, owner.access.clone());
        async move {
            let mut statuses = Vec::new();
            for i in 0..60 {
                let response = app
                    .request(Method::POST, "acme", "/api/v1/roles")
                    .bearer_auth(&token)
                    .json(&json!({ "name": format!("r{w}_{i}"), "permissions": ["members:read"] }))
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status());
            }
            statuses
        }
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .flatten()
        .collect();
    stop.send(true).unwrap();
    let killed = killer.await.unwrap();

    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let unavailable = statuses
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let other: Vec<_> = statuses
        .iter()
        .filter(|s| **s != StatusCode::CREATED && **s != StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(
        other.is_empty(),
        "answers other than 201 and 503: {other:?}"
    );
    assert!(
        killed > 0 && unavailable > 0,
        "the fault did not bite: {killed} killed, {unavailable} 503s"
    );
    assert!(created > 0, "nothing got through");

    // Recovery without a restart: the pool replaces what was killed.
    let mut recovered = false;
    for _ in 0..50 {
        if app
            .get("acme", "/api/v1/roles", &owner.access)
            .await
            .status()
            == StatusCode::OK
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the server did not recover");

    // Committed changes and their events, one for one. A 503 may still have committed (the commit
    // reached the server, its answer did not come back): then its role and its event are both there.
    let owner_pool = app.owner_pool().await;
    let (roles, events) =
        crate::helpers::roles_and_created_events(&owner_pool, acme.id, "r%\\_%").await;
    assert_eq!(
        roles, events,
        "roles committed without their event, or the reverse"
    );
    assert!(roles as usize >= created && roles as usize <= created + unavailable);
}

/// Revocation across instances: two servers share the database and Redis; what one instance does to a
/// member (a role taken away, a deactivation) holds on the other at the very next request, with the old
/// access token and under the other's warm caches, because each request reads the session and the role
/// in its own transaction.
#[tokio::test]
async fn revocations_hold_on_every_instance_at_the_next_request() {
    let a = spawn_app_with(|_| {}).await;
    let b = crate::helpers::spawn_peer(&a).await;
    let acme = a.create_tenant("acme").await;
    let owner = a.login_owner(&acme).await;
    let ada = a.add_member(&acme, &owner, "ada", "admin").await;
    let ada_session = a.login("acme", &ada).await;
    // Both instances serve her, as an admin (warming whatever they cache).
    for app in [&a, &b] {
        for _ in 0..3 {
            let roles = app.get("acme", "/api/v1/roles", &ada_session.access).await;
            assert_eq!(roles.status(), StatusCode::OK);
        }
    }

    // Instance A takes the admin role away; instance B refuses what only an admin may do.
    let path = format!("/api/v1/members/{}/role", ada.id);
    let changed = a
        .send_json(
            Method::PUT,
            "acme",
            &path,
            &owner.access,
            &json!({ "role": "member" }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let refused = b.get("acme", "/api/v1/roles", &ada_session.access).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Instance A deactivates her; instance B refuses her token and her refresh token.
    let path = format!("/api/v1/members/{}/deactivate", ada.id);
    assert_eq!(
        a.post("acme", &path, &owner.access, &json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        b.get("acme", "/api/v1/me", &ada_session.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refreshed = b
        .request(Method::POST, "acme", "/api/v1/auth/refresh")
        .json(&json!({ "refresh_token": ada_session.refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_closed_while_idle_cost_no_request() {
    let app = spawn_app_with(|s| s.database.max_connections = 4).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let mut admin = app.admin_connection().await;
    for round in 0..3 {
        // Every connection of the pool opened and returned.
        let warm = (0..8).map(|_| app.get("acme", "/api/v1/members", &owner.access));
        for response in futures_util::future::join_all(warm).await {
            assert_eq!(response.status(), StatusCode::OK);
        }
        // The server closes them all while they sit idle (a restart, an operator's pg_terminate_backend).
        let killed = terminate_the_pools_backends(&mut admin).await;
        assert!(killed > 0, "round {round}: no connection to close");
        // No request pays for them: each opening message that meets a dead one goes again on another.
        for _ in 0..6 {
            let response = app.get("acme", "/api/v1/members", &owner.access).await;
            assert_eq!(response.status(), StatusCode::OK, "round {round}");
        }
    }
}
