//! API keys: shown once, scoped to a role or permissions, audited as `api_key`, revocable, expiring,
//! and worthless on another organization's host.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, spawn_app};

async fn create_key(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("acme", "/api/v1/api-keys", token, &body).await
}

#[tokio::test]
async fn a_key_does_what_its_role_or_permissions_allow_and_nothing_else() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;

    let created = create_key(
        &app,
        &owner.access,
        json!({ "name": "reader", "role": "member" }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let member_key = created["key"].as_str().unwrap().to_owned();
    assert!(member_key.starts_with(created["api_key"]["prefix"].as_str().unwrap()));
    assert_eq!(
        app.get("acme", "/api/v1/org", &member_key).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("acme", "/api/v1/members", &member_key)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let me = app.get("acme", "/api/v1/me", &member_key).await;
    assert_eq!(expect_problem(me, StatusCode::FORBIDDEN).await, "user_only");

    let scoped: Value = create_key(
        &app,
        &owner.access,
        json!({ "name": "HRIS sync", "permissions": ["members:read", "members:invite"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    let sync_key = scoped["key"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("acme", "/api/v1/members", &sync_key).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("acme", "/api/v1/org", &sync_key).await.status(),
        StatusCode::FORBIDDEN
    );
    // The key's invitation is the key's doing: audited as api_key, invited by no person. The invitee's
    // role must be within the key's permissions: `member` holds org_settings:read, which it lacks.
    let too_much = app
        .post(
            "acme",
            "/api/v1/invitations",
            &sync_key,
            &json!({ "email": "a@acme.example", "role": "member" }),
        )
        .await;
    assert_eq!(
        expect_problem(too_much, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    app.post(
        "acme",
        "/api/v1/roles",
        &owner.access,
        &json!({ "name": "directory", "permissions": ["members:read"] }),
    )
    .await;
    let invited = app
        .post(
            "acme",
            "/api/v1/invitations",
            &sync_key,
            &json!({ "email": "b@acme.example", "role": "directory" }),
        )
        .await;
    assert_eq!(invited.status(), StatusCode::CREATED);
    let invited: Value = invited.json().await.unwrap();
    assert!(invited["invitation"]["invited_by"].is_null());
    let pool = app.owner_pool().await;
    let (actor_type, actor_id, actor_display): (String, Option<uuid::Uuid>, Option<String>) = sqlx::query_as(
        "SELECT actor_type, actor_id, actor_display FROM audit_events WHERE tenant_id = $1 AND action = 'member.invited'",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(actor_type, "api_key");
    assert_eq!(
        actor_id.map(|id| id.to_string()),
        scoped["api_key"]["id"].as_str().map(String::from)
    );
    assert_eq!(actor_display.as_deref(), Some("HRIS sync"));

    // Listed without secrets, with when each was last used.
    let list = app
        .get("acme", "/api/v1/api-keys", &owner.access)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !list.contains(&member_key) && !list.contains(&sync_key),
        "a key's secret was listed"
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["last_used_at"].is_string())
    );
}

#[tokio::test]
async fn revoked_expired_and_foreign_keys_are_refused() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    let in_an_hour = (trellis::clock::Clock::now(&app.clock) + Duration::hours(1)).to_rfc3339();
    let key: Value = create_key(
        &app,
        &owner.access,
        json!({ "name": "short", "role": "member", "expires_at": in_an_hour }),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = key["key"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("acme", "/api/v1/org", &secret).await.status(),
        StatusCode::OK
    );
    let elsewhere = app.get("globex", "/api/v1/org", &secret).await;
    assert_eq!(
        expect_problem(elsewhere, StatusCode::UNAUTHORIZED).await,
        "invalid_api_key"
    );
    let forged = format!("{}x", &secret[..secret.len() - 1]);
    assert_eq!(
        app.get("acme", "/api/v1/org", &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );

    app.clock.advance(Duration::hours(2));
    assert_eq!(
        app.get("acme", "/api/v1/org", &secret).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let owner = app.login_owner(&acme).await;
    let lasting: Value = create_key(
        &app,
        &owner.access,
        json!({ "name": "lasting", "role": "member" }),
    )
    .await
    .json()
    .await
    .unwrap();
    let lasting_secret = lasting["key"].as_str().unwrap().to_owned();
    let path = format!(
        "/api/v1/api-keys/{}",
        lasting["api_key"]["id"].as_str().unwrap()
    );
    let revoked: Value = app
        .delete("acme", &path, &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revoked["status"], "revoked");
    let after = app.get("acme", "/api/v1/org", &lasting_secret).await;
    assert_eq!(
        expect_problem(after, StatusCode::UNAUTHORIZED).await,
        "invalid_api_key"
    );
    app.assert_audited(acme.id, &["api_key.created", "api_key.revoked"])
        .await;
}

#[tokio::test]
async fn keys_are_validated_and_never_exceed_their_maker() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let admin = app.add_member(&acme, &owner, "admin", "admin").await;
    let admin = app.login("acme", &admin).await;
    for (body, field) in [
        (
            json!({ "name": "both", "role": "member", "permissions": ["members:read"] }),
            "role",
        ),
        (json!({ "name": "neither" }), "role"),
        (json!({ "name": "", "role": "member" }), "name"),
        (
            json!({ "name": "typo", "permissions": ["members:fly"] }),
            "permissions[0]",
        ),
        (
            json!({ "name": "past", "role": "member", "expires_at": "2000-01-01T00:00:00Z" }),
            "expires_at",
        ),
    ] {
        let response = create_key(&app, &admin.access, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let escalate = create_key(
        &app,
        &admin.access,
        json!({ "name": "biller", "permissions": ["billing:manage"] }),
    )
    .await;
    assert_eq!(
        expect_problem(escalate, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    let as_owner = create_key(
        &app,
        &admin.access,
        json!({ "name": "boss", "role": "owner" }),
    )
    .await;
    assert_eq!(
        expect_problem(as_owner, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
}

#[tokio::test]
async fn a_key_cannot_mint_keys_and_a_role_a_key_holds_cannot_be_deleted() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let role: Value = app
        .post(
            "acme",
            "/api/v1/roles",
            &owner.access,
            &json!({ "name": "key_admin", "permissions": ["api_keys:manage", "members:read"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let role_path = format!("/api/v1/roles/{}", role["id"].as_str().unwrap());
    let created: Value = create_key(
        &app,
        &owner.access,
        json!({ "name": "automation", "role": "key_admin" }),
    )
    .await
    .json()
    .await
    .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();

    // The key holds api_keys:manage, yet cannot create a key: every key traces back to a person.
    let minted = create_key(&app, &key, json!({ "name": "child", "role": "key_admin" })).await;
    assert_eq!(
        expect_problem(minted, StatusCode::FORBIDDEN).await,
        "user_only"
    );
    let list: Value = app
        .get("acme", "/api/v1/api-keys", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );

    // No member holds the role, but a usable key does: the role stays.
    let in_use = app.delete("acme", &role_path, &owner.access).await;
    let problem = crate::helpers::problem(in_use).await;
    assert_eq!(problem["code"], "role_in_use", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("1 API keys"),
        "{problem}"
    );
    assert_eq!(
        app.get("acme", "/api/v1/members", &key).await.status(),
        StatusCode::OK,
        "the key still works"
    );
    let key_path = format!(
        "/api/v1/api-keys/{}",
        created["api_key"]["id"].as_str().unwrap()
    );
    let revoked = app.delete("acme", &key_path, &owner.access).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        app.delete("acme", &role_path, &owner.access).await.status(),
        StatusCode::NO_CONTENT,
        "a revoked key no longer holds the role"
    );
}
