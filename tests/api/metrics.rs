//! `GET /metrics`: request series by route pattern and status, the job queue and the audit sealing lag
//! as the database holds them, and who may scrape (not organizations' hosts unless configured; the
//! bearer token when one is set).

use reqwest::{Method, StatusCode, header};
use secrecy::SecretString;

use crate::helpers::{TestApp, expect_problem, spawn_app, spawn_app_with};

async fn scrape(app: &TestApp) -> String {
    let response = app.base_get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn requests_are_counted_by_route_pattern_and_status_and_queues_are_reported() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let missing = uuid::Uuid::new_v4();
    for _ in 0..2 {
        let response = app
            .get("acme", &format!("/api/v1/members/{missing}"), &owner.access)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let response = app.get("acme", "/api/v1/members", &owner.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    // An invitation queues its mail and writes an audit event the sealer has not chained yet.
    app.invite("acme", &owner, "ada@acme.test", "member").await;

    let text = scrape(&app).await;
    let by_id = r#"{method="GET",route="/api/v1/members/{member_id}",status="404"}"#;
    assert_eq!(
        sample(
            &text,
            &format!("trellis_http_request_duration_seconds_count{by_id}")
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"trellis_http_request_duration_seconds_bucket{method="GET",route="/api/v1/members/{member_id}",status="404",le="+Inf"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"trellis_http_request_duration_seconds_count{method="GET",route="/api/v1/members",status="200"}"#
        ),
        Some(1.0)
    );
    assert!(
        !text.contains(&missing.to_string()),
        "a raw path leaked into a label"
    );
    assert_eq!(sample(&text, "trellis_database_up"), Some(1.0));
    assert_eq!(sample(&text, "trellis_redis_up"), Some(1.0));
    assert_eq!(sample(&text, r#"trellis_jobs{state="ready"}"#), Some(1.0));
    assert!(sample(&text, "trellis_jobs_oldest_ready_age_seconds").is_some_and(|s| s >= 0.0));
    let unsealed = sample(&text, "trellis_audit_unsealed_events").unwrap_or_default();
    assert!(unsealed >= 1.0, "{text}");
    assert_eq!(sample(&text, "trellis_db_pool_max_connections"), Some(5.0));
    assert!(sample(&text, "process_resident_memory_bytes").is_some_and(|b| b > 1e6));

    // A job whose worker died mid-run (running, its lease over) is stalled, not running.
    let owner_pool = app.owner_pool().await;
    sqlx::query(
        "UPDATE jobs SET status = 'running', locked_by = 'gone', \
         locked_until = now() - interval '1 minute'",
    )
    .execute(&owner_pool)
    .await
    .unwrap();
    let text = scrape(&app).await;
    assert_eq!(sample(&text, r#"trellis_jobs{state="stalled"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"trellis_jobs{state="running"}"#), Some(0.0));
    assert_eq!(sample(&text, r#"trellis_jobs{state="ready"}"#), Some(0.0));
    sqlx::query("UPDATE jobs SET status = 'queued', locked_by = NULL, locked_until = NULL")
        .execute(&owner_pool)
        .await
        .unwrap();

    // The worker sends the mail and the sealer chains the events: the queue and the lag empty.
    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    assert!(app.worker.seal_audit().await.unwrap() > 0);
    let text = scrape(&app).await;
    assert_eq!(sample(&text, r#"trellis_jobs{state="ready"}"#), Some(0.0));
    assert_eq!(
        sample(&text, "trellis_jobs_oldest_ready_age_seconds"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "trellis_audit_unsealed_events"), Some(0.0));
    assert_eq!(
        sample(&text, "trellis_audit_sealing_lag_seconds"),
        Some(0.0)
    );
}

#[tokio::test]
async fn organizations_hosts_do_not_serve_metrics_unless_configured() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let response = app
        .request(Method::GET, "acme", "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(response, StatusCode::NOT_FOUND).await,
        "route_not_found"
    );

    let open = spawn_app_with(|s| s.metrics.tenant_hosts = true).await;
    open.create_tenant("acme").await;
    let response = open
        .request(Method::GET, "acme", "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let off = spawn_app_with(|s| s.metrics.enabled = false).await;
    let response = off.base_get("/metrics").await;
    assert_eq!(
        expect_problem(response, StatusCode::NOT_FOUND).await,
        "route_not_found"
    );
}

#[tokio::test]
async fn a_configured_token_is_required() {
    let app =
        spawn_app_with(|s| s.metrics.token = Some(SecretString::from("scrape-secret-0123"))).await;
    let host = format!("{}:{}", app.settings.server.base_domain, app.port);
    for sent in [
        None,
        Some("Bearer wrong-secret"),
        Some("scrape-secret-0123"),
    ] {
        let mut request = app.request_with_host(Method::GET, Some(&host), "/metrics");
        if let Some(value) = sent {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            expect_problem(response, StatusCode::UNAUTHORIZED).await,
            "invalid_token",
            "{sent:?}"
        );
    }
    let response = app
        .request_with_host(Method::GET, Some(&host), "/metrics")
        .header(header::AUTHORIZATION, "Bearer scrape-secret-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
