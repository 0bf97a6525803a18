//! Custom roles: made from permissions their maker holds, assigned like any role, effective on every
//! instance within a second of a change.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, spawn_app, spawn_app_with, spawn_peer};

async fn create_role(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("acme", "/api/v1/roles", token, &body).await
}

#[tokio::test]
async fn a_custom_role_grants_exactly_its_permissions() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let response = create_role(
        &app,
        &owner.access,
        json!({ "name": "team_lead", "description": "Directory and invitations", "permissions": ["members:read", "members:invite"] }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let role: Value = response.json().await.unwrap();
    assert_eq!(role["builtin"], false);
    assert_eq!(
        role["permissions"],
        json!(["members:read", "members:invite"])
    );

    let lead = app.add_member(&acme, &owner, "lead", "team_lead").await;
    let lead = app.login("acme", &lead).await;
    let me: Value = app
        .get("acme", "/api/v1/me", &lead.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "team_lead");
    assert_eq!(me["permissions"], json!(["members:read", "members:invite"]));
    assert_eq!(
        app.get("acme", "/api/v1/members", &lead.access)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("acme", "/api/v1/invitations", &lead.access)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // The lead may invite as member (its permissions are a subset), not as team_lead... also a subset.
    let invite = app
        .post(
            "acme",
            "/api/v1/invitations",
            &lead.access,
            &json!({ "email": "x@acme.example", "role": "member" }),
        )
        .await;
    assert_eq!(
        invite.status(),
        StatusCode::FORBIDDEN,
        "member holds org_settings:read, which team_lead lacks"
    );

    let roles: Value = app
        .get("acme", "/api/v1/roles", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "owner",
            "admin",
            "hr",
            "compliance",
            "manager",
            "member",
            "team_lead"
        ]
    );
    let lead_role = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "team_lead")
        .unwrap();
    assert_eq!(lead_role["members"], 1);

    // Edit: take members:read away; the member loses it on the next request.
    let path = format!("/api/v1/roles/{}", role["id"].as_str().unwrap());
    let edited = app
        .send_json(
            Method::PATCH,
            "acme",
            &path,
            &owner.access,
            &json!({ "permissions": ["members:invite"] }),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    assert_eq!(
        app.get("acme", "/api/v1/members", &lead.access)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // In use: cannot be deleted until nobody holds it.
    let in_use = app.delete("acme", &path, &owner.access).await;
    assert_eq!(
        expect_problem(in_use, StatusCode::CONFLICT).await,
        "role_in_use"
    );
    let me: Value = app
        .get("acme", "/api/v1/me", &lead.access)
        .await
        .json()
        .await
        .unwrap();
    let member_path = format!("/api/v1/members/{}/role", me["id"].as_str().unwrap());
    app.send_json(
        Method::PUT,
        "acme",
        &member_path,
        &owner.access,
        &json!({ "role": "member" }),
    )
    .await;
    // Given by the directory (a group mapping): still in use.
    let mappings = "/api/v1/sso/role-mappings";
    let mapped = json!({ "default_role": "member", "mappings": [{ "group": "leads", "role": "team_lead" }] });
    app.send_json(Method::PUT, "acme", mappings, &owner.access, &mapped)
        .await;
    let in_directory = app.delete("acme", &path, &owner.access).await;
    assert_eq!(
        expect_problem(in_directory, StatusCode::CONFLICT).await,
        "role_in_use"
    );
    let unmapped = json!({ "default_role": "member", "mappings": [] });
    app.send_json(Method::PUT, "acme", mappings, &owner.access, &unmapped)
        .await;
    assert_eq!(
        app.delete("acme", &path, &owner.access).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("acme", &path, &owner.access).await.status(),
        StatusCode::NOT_FOUND
    );
    app.assert_audited(
        acme.id,
        &[
            "role.created",
            "role.updated",
            "sso.role_mappings_updated",
            "role.deleted",
        ],
    )
    .await;
}

#[tokio::test]
async fn roles_are_validated_and_never_exceed_their_maker() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let admin = app.add_member(&acme, &owner, "admin", "admin").await;
    let admin = app.login("acme", &admin).await;

    let bad = create_role(
        &app,
        &owner.access,
        json!({ "name": "Bad Name", "permissions": ["members:fly", "members:read"] }),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad.json().await.unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "permissions[0]"]);
    let builtin = create_role(
        &app,
        &owner.access,
        json!({ "name": "admin", "permissions": ["members:read"] }),
    )
    .await;
    assert_eq!(builtin.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let empty = create_role(
        &app,
        &owner.access,
        json!({ "name": "empty", "permissions": [] }),
    )
    .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // An admin lacks billing:manage, so cannot put it in a role.
    let escalate = create_role(
        &app,
        &admin.access,
        json!({ "name": "biller", "permissions": ["billing:manage"] }),
    )
    .await;
    assert_eq!(
        expect_problem(escalate, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    let ok = create_role(
        &app,
        &admin.access,
        json!({ "name": "auditor", "permissions": ["audit_log:read"] }),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let twice = create_role(
        &app,
        &admin.access,
        json!({ "name": "auditor", "permissions": ["audit_log:read"] }),
    )
    .await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "role_exists"
    );

    // A role the owner made with billing:manage cannot be edited or deleted by the admin.
    let billing: Value = create_role(
        &app,
        &owner.access,
        json!({ "name": "billing", "permissions": ["billing:manage"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/api/v1/roles/{}", billing["id"].as_str().unwrap());
    let edit = app
        .send_json(
            Method::PATCH,
            "acme",
            &path,
            &admin.access,
            &json!({ "description": "mine now" }),
        )
        .await;
    assert_eq!(
        expect_problem(edit, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    assert_eq!(
        app.delete("acme", &path, &admin.access).await.status(),
        StatusCode::FORBIDDEN
    );

    let permissions: Value = app
        .get("acme", "/api/v1/permissions", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        permissions
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["permission"] == "roles:manage")
    );
}

#[tokio::test]
async fn a_role_change_reaches_another_instance_within_a_second() {
    let first = spawn_app_with(|s| s.tenancy.cache_ttl_secs = 3600).await;
    let second = spawn_peer(&first).await;
    let acme = first.create_tenant("acme").await;
    let owner = first.login_owner(&acme).await;
    let role: Value = create_role(
        &first,
        &owner.access,
        json!({ "name": "viewer", "permissions": ["members:read"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    let viewer = first.add_member(&acme, &owner, "viewer", "viewer").await;
    let viewer = first.login("acme", &viewer).await;
    // The second instance builds (and caches) acme's enforcer with the role as it is.
    assert_eq!(
        second
            .get("acme", "/api/v1/members", &viewer.access)
            .await
            .status(),
        StatusCode::OK
    );

    let path = format!("/api/v1/roles/{}", role["id"].as_str().unwrap());
    let edited = first
        .send_json(
            Method::PATCH,
            "acme",
            &path,
            &owner.access,
            &json!({ "permissions": ["org_settings:read"] }),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let start = Instant::now();
    loop {
        if second
            .get("acme", "/api/v1/members", &viewer.access)
            .await
            .status()
            == StatusCode::FORBIDDEN
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the other instance still grants the old permissions"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        second
            .get("acme", "/api/v1/org", &viewer.access)
            .await
            .status(),
        StatusCode::OK
    );
}
