//! Bad input gets a clear 4xx problem and changes nothing.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, problem, spawn_app, spawn_app_with};

/// Row counts of every tenant table, read behind the API.
async fn fingerprint(app: &TestApp) -> Vec<(String, i64)> {
    let pool = app.owner_pool().await;
    let mut counts = Vec::new();
    for table in [
        "users",
        "memberships",
        "invitations",
        "sessions",
        "refresh_tokens",
        "audit_events",
        "org_settings",
        "jobs",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&pool)
                .await
                .unwrap();
        counts.push((table.to_owned(), n));
    }
    let settings: String =
        sqlx::query_scalar("SELECT string_agg(row_to_json(s)::text, ',') FROM org_settings s")
            .fetch_one(&pool)
            .await
            .unwrap();
    counts.push((settings, 0));
    pool.close().await;
    counts
}

#[tokio::test]
async fn malformed_bodies_are_422_415_or_413_and_change_nothing() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = 4096).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let before = fingerprint(&app).await;
    let raw = |body: &'static str, content_type: &'static str| {
        let app = &app;
        let token = owner.access.clone();
        async move {
            app.request(Method::POST, "acme", "/api/v1/invitations")
                .bearer_auth(token)
                .header(header::CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };

    let cases: Vec<(&str, &str, StatusCode, Option<&str>)> = vec![
        (
            r#"{"email": "#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            r#"{"email": 42}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("email"),
        ),
        (
            r#"{"role": "member"}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("email"),
        ),
        (
            r#"{"email": "a@acme.example", "admin": true}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("admin"),
        ),
        (
            r#"{"email": "not an email"}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("email"),
        ),
        (
            r#"{"email": "a@acme.example"}"#,
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
    ];
    for (body, content_type, status, field) in cases {
        let response = raw(body, content_type).await;
        assert_eq!(response.status(), status, "{body}");
        let problem = problem(response).await;
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
            assert!(
                problem["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    }
    let huge = format!(
        r#"{{"email": "a@acme.example", "display_name": "{}"}}"#,
        "x".repeat(5000)
    );
    let response = app
        .request(Method::POST, "acme", "/api/v1/invitations")
        .bearer_auth(&owner.access)
        .header(header::CONTENT_TYPE, "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await,
        "payload_too_large"
    );

    // Every bad settings field is reported at once, and nothing is written.
    let response = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "display_name": "  ", "default_locale": "english", "invitation_ttl_hours": 0,
                     "allowed_email_domains": ["ok.example", "not a domain"] }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = problem(response).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "display_name",
            "default_locale",
            "invitation_ttl_hours",
            "allowed_email_domains[1]"
        ]
    );
    let bad_zone = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "timezone": "Mars/Olympus" }),
        )
        .await;
    assert_eq!(
        expect_problem(bad_zone, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    let malformed_id = app
        .get("acme", "/api/v1/members/not-a-uuid", &owner.access)
        .await;
    assert_eq!(
        expect_problem(malformed_id, StatusCode::NOT_FOUND).await,
        "not_found"
    );

    assert_eq!(
        fingerprint(&app).await,
        before,
        "a failed request changed the database"
    );
}

#[tokio::test]
async fn settings_updates_are_partial_and_audited() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let response = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "display_name": "Acme Corporation", "timezone": "Europe/Berlin",
                     "allowed_email_domains": ["Acme.Example"] }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let settings: Value = response.json().await.unwrap();
    assert_eq!(settings["display_name"], "Acme Corporation");
    assert_eq!(settings["timezone"], "Europe/Berlin");
    assert_eq!(settings["default_locale"], "en", "untouched");
    assert_eq!(settings["allowed_email_domains"], json!(["acme.example"]));

    // Invitations now stay inside the allowed domain.
    let outside = app
        .post(
            "acme",
            "/api/v1/invitations",
            &owner.access,
            &json!({ "email": "x@elsewhere.example" }),
        )
        .await;
    assert_eq!(
        expect_problem(outside, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    app.invite("acme", &owner, "inside@acme.example", "member")
        .await;

    let pool = app.owner_pool().await;
    let metadata: Value = sqlx::query_scalar(
        "SELECT metadata FROM audit_events WHERE tenant_id = $1 AND action = 'org.settings_updated'",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(metadata["before"]["timezone"], "UTC");
    assert_eq!(metadata["after"]["timezone"], "Europe/Berlin");
    assert!(
        metadata["before"].get("default_locale").is_none(),
        "unchanged settings are not listed"
    );

    // A member may read the settings but not change them.
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada = app.login("acme", &ada).await;
    assert_eq!(
        app.get("acme", "/api/v1/org", &ada.access).await.status(),
        StatusCode::OK
    );
    let denied = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &ada.access,
            &json!({ "timezone": "UTC" }),
        )
        .await;
    assert_eq!(
        expect_problem(denied, StatusCode::FORBIDDEN).await,
        "forbidden"
    );
}

#[tokio::test]
async fn every_error_is_a_problem_document_with_the_request_id() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let response = app
        .request(Method::GET, "acme", "/api/v1/members")
        .send()
        .await
        .unwrap();
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body = problem(response).await;
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["status"], 401);
    assert_eq!(body["type"], "urn:trellis:problem:authentication_required");
    let other = app
        .request(Method::GET, "acme", "/api/v1/nowhere")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(other).await["status"], 404);
    // Outside the API an organization's host is the employee portal: its errors are pages for a
    // person, with the request id all the same.
    let page = app
        .request(Method::GET, "acme", "/nowhere")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let id = page.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(page.text().await.unwrap().contains(&id));
}
