//! What instances share through Redis, and what happens when Redis is gone: cache invalidation
//! across instances, login rate limits, and the in-process fallbacks.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use trellis::coordination::Invalidation;

use crate::helpers::{TestApp, expect_problem, spawn_app_with, spawn_peer};

async fn suspend(app: &TestApp, tenant: &crate::helpers::TestTenant) {
    let pool = app.owner_pool().await;
    sqlx::query("UPDATE tenants SET status = 'suspended' WHERE id = $1")
        .bind(tenant.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
}

/// Polls until `slug` answers 403 on `app`, or `within` passes; returns how long it took.
async fn until_suspended(app: &TestApp, slug: &str, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        let response = app.try_login(slug, "x@x.example", "whatever it is").await;
        if response.status() == StatusCode::FORBIDDEN {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn a_tenant_change_reaches_every_instance_through_pub_sub() {
    // A long cache lifetime: only the invalidation message can explain a quick change.
    let first = spawn_app_with(|s| {
        s.tenancy.cache_ttl_secs = 3600;
        s.auth.login_ip_limit = 1000;
    })
    .await;
    let second = spawn_peer(&first).await;
    let acme = first.create_tenant("acme").await;
    for app in [&first, &second] {
        // Warm both caches with "active", once the subscriptions are live.
        let start = Instant::now();
        while !app.state.bus.health().is_up() && start.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(app.state.bus.health().is_up());
        assert_eq!(
            app.try_login("acme", "x@x.example", "whatever it is")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    suspend(&first, &acme).await;
    // Still cached as active on both until someone announces the change.
    assert_eq!(
        second
            .try_login("acme", "x@x.example", "whatever it is")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    first
        .state
        .bus
        .publish(Invalidation::Tenant {
            slug: "acme".into(),
        })
        .await;
    assert!(
        until_suspended(&first, "acme", Duration::from_secs(1))
            .await
            .is_some()
    );
    assert!(
        until_suspended(&second, "acme", Duration::from_secs(2))
            .await
            .is_some(),
        "the other instance never heard of the change"
    );
}

#[tokio::test]
async fn login_attempts_are_limited_per_account_and_per_ip() {
    let app = spawn_app_with(|s| {
        s.auth.login_account_limit = 3;
        s.auth.login_ip_limit = 8;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    for _ in 0..3 {
        let wrong = app
            .try_login("acme", &acme.owner.email, "not the password")
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // The account is locked for the window, even with the right password.
    let locked = app
        .try_login("acme", &acme.owner.email, &acme.owner.password)
        .await;
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(
        expect_problem(locked, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    // Other accounts from the same address go on until the address's own limit.
    let mut last = StatusCode::OK;
    for i in 0..5 {
        last = app
            .try_login("acme", &format!("u{i}@acme.example"), "whatever it is")
            .await
            .status();
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "the per-IP limit did not apply"
    );
    // The window passes.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        app.try_login("acme", &acme.owner.email, &acme.owner.password)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_redis_the_api_serves_limits_hold_and_caches_expire_within_a_second() {
    // Nothing listens on port 1 of loopback: every Redis call fails at once.
    let app = spawn_app_with(|s| {
        s.redis.url = secrecy::SecretString::from("redis://127.0.0.1:1".to_owned());
        s.tenancy.cache_ttl_secs = 3600;
        s.auth.login_account_limit = 3;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let ready: Value = app.base_get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["redis"], "down");
    assert_eq!(ready["invalidation"], "degraded");

    let session = app.login_owner(&acme).await;
    assert_eq!(
        app.get("acme", "/api/v1/members", &session.access)
            .await
            .status(),
        StatusCode::OK
    );

    for _ in 0..3 {
        app.try_login("acme", &acme.owner.email, "not the password")
            .await;
    }
    let locked = app
        .try_login("acme", &acme.owner.email, &acme.owner.password)
        .await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the in-process limit did not apply"
    );

    suspend(&app, &acme).await;
    let took = until_suspended(&app, "acme", Duration::from_secs(3)).await;
    assert!(
        took.is_some(),
        "a cached tenant outlived the one-second degraded lifetime"
    );
}
