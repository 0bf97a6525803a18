//! Members and invitations through the API: list, search, filter, paginate; invite, accept, revoke;
//! seats; deactivate, reactivate, remove; and the audit trail each change leaves.

use std::collections::BTreeSet;

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, expect_problem, invitation_token, spawn_app};

#[tokio::test]
async fn members_are_listed_searched_filtered_and_paginated() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    for (name, role) in [
        ("ada", "admin"),
        ("bob", "member"),
        ("cy", "hr"),
        ("dee", "member"),
        ("eve", "member"),
    ] {
        app.invite("acme", &owner, &format!("{name}@acme.example"), role)
            .await;
    }
    let _accepted = app.add_member(&acme, &owner, "fay", "manager").await;

    // Pages of two, in email order, until next_cursor is null.
    let mut emails = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/members?limit=2".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app
            .get("acme", &path, &owner.access)
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        emails.extend(
            items
                .iter()
                .map(|m| m["email"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted);
    assert_eq!(emails.len(), 7);
    assert_eq!(
        emails.iter().collect::<BTreeSet<_>>().len(),
        7,
        "no member twice"
    );

    let list = |query: &'static str| {
        let app = &app;
        let token = owner.access.clone();
        async move {
            let body: Value = app
                .get("acme", &format!("/api/v1/members?{query}"), &token)
                .await
                .json()
                .await
                .unwrap();
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["email"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("q=BO").await, vec!["bob@acme.example"]);
    assert_eq!(
        list("q=%25").await,
        Vec::<String>::new(),
        "% is a literal in search"
    );
    assert_eq!(
        list("role=member").await,
        vec!["bob@acme.example", "dee@acme.example", "eve@acme.example"]
    );
    assert_eq!(
        list("status=active").await,
        vec!["fay@acme.example", "owner@acme.example"]
    );
    assert_eq!(
        list("role=member&status=invited&q=d").await,
        vec!["dee@acme.example"]
    );

    for bad in ["limit=0", "limit=201", "status=sleeping", "cursor=%21%21"] {
        let response = app
            .get("acme", &format!("/api/v1/members?{bad}"), &owner.access)
            .await;
        assert_eq!(
            expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_failed",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn an_invitation_is_accepted_once_and_signs_the_member_in() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let invited = app.invite("acme", &owner, "Grace@ACME.example", "hr").await;
    assert_eq!(invited["member"]["email"], "grace@acme.example");
    assert_eq!(invited["member"]["status"], "invited");
    assert_eq!(invited["invitation"]["status"], "pending");
    let url = invited["accept_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("http://{}/", app.host("acme"))),
        "{url}"
    );
    let token = invitation_token(&invited);

    // The invitee cannot sign in before accepting.
    let early = app.try_login("acme", "grace@acme.example", PASSWORD).await;
    assert_eq!(early.status(), StatusCode::UNAUTHORIZED);

    let accept = |password: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            app.request(Method::POST, "acme", "/api/v1/invitations/accept")
                .json(&json!({ "token": token, "password": password, "display_name": "Grace Hopper" }))
                .send()
                .await
                .unwrap()
        }
    };
    let weak = accept("short").await;
    assert_eq!(
        expect_problem(weak, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    let accepted = accept(PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let tokens: Value = accepted.json().await.unwrap();
    let me: Value = app
        .get(
            "acme",
            "/api/v1/me",
            tokens["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "hr");
    assert_eq!(me["display_name"], "Grace Hopper");
    let again = accept(PASSWORD).await;
    assert_eq!(
        expect_problem(again, StatusCode::UNAUTHORIZED).await,
        "invitation_invalid"
    );
    // On another tenant's host the token means nothing.
    app.create_tenant("globex").await;
    let elsewhere = app.accept("globex", &token, PASSWORD).await;
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);

    app.assert_audited(acme.id, &["member.invited", "invitation.accepted"])
        .await;
}

#[tokio::test]
async fn an_expired_or_revoked_invitation_cannot_be_accepted() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;

    let expiring = app
        .invite("acme", &owner, "late@acme.example", "member")
        .await;
    app.clock.advance(Duration::hours(169));
    let owner = app.login_owner(&acme).await;
    let late = app
        .accept("acme", &invitation_token(&expiring), PASSWORD)
        .await;
    assert_eq!(
        expect_problem(late, StatusCode::UNAUTHORIZED).await,
        "invitation_invalid"
    );
    let listed: Value = app
        .get("acme", "/api/v1/invitations?status=expired", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["email"], "late@acme.example");

    let revoked = app
        .invite("acme", &owner, "nope@acme.example", "member")
        .await;
    let id = revoked["invitation"]["id"].as_str().unwrap();
    let response = app
        .post(
            "acme",
            &format!("/api/v1/invitations/{id}/revoke"),
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "revoked");
    let twice = app
        .post(
            "acme",
            &format!("/api/v1/invitations/{id}/revoke"),
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "invitation_not_pending"
    );
    let accept = app
        .accept("acme", &invitation_token(&revoked), PASSWORD)
        .await;
    assert_eq!(accept.status(), StatusCode::UNAUTHORIZED);
    // The invited member is gone, so the address can be invited again.
    let members: Value = app
        .get("acme", "/api/v1/members?q=nope", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members["items"].as_array().unwrap().len(), 0);
    app.invite("acme", &owner, "nope@acme.example", "member")
        .await;
}

#[tokio::test]
async fn seats_are_a_hard_limit_even_under_concurrent_invitations() {
    let app = spawn_app().await;
    let acme = app.create_tenant_with_seats("acme", 4).await;
    let owner = app.login_owner(&acme).await;
    let attempts = (0..8).map(|i| {
        let app = &app;
        let token = owner.access.clone();
        async move {
            app.post(
                "acme",
                "/api/v1/invitations",
                &token,
                &json!({ "email": format!("p{i}@acme.example") }),
            )
            .await
            .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (3, 5), "{statuses:?}");
    let org: Value = app
        .get("acme", "/api/v1/org", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(org["seats_used"], 4);
    assert_eq!(org["seat_limit"], 4);
    let over = app
        .post(
            "acme",
            "/api/v1/invitations",
            &owner.access,
            &json!({ "email": "one-more@acme.example" }),
        )
        .await;
    assert_eq!(
        expect_problem(over, StatusCode::CONFLICT).await,
        "seat_limit_reached"
    );
}

#[tokio::test]
async fn deactivation_frees_a_seat_and_reactivation_needs_one() {
    let app = spawn_app().await;
    let acme = app.create_tenant_with_seats("acme", 2).await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let deactivate = format!("/api/v1/members/{}/deactivate", ada.id);
    let reactivate = format!("/api/v1/members/{}/reactivate", ada.id);

    let response = app
        .post("acme", &deactivate, &owner.access, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "deactivated");
    assert!(body["deactivated_at"].is_string());
    let twice = app
        .post("acme", &deactivate, &owner.access, &json!({}))
        .await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "member_status"
    );

    app.invite("acme", &owner, "taker@acme.example", "member")
        .await;
    let full = app
        .post("acme", &reactivate, &owner.access, &json!({}))
        .await;
    assert_eq!(
        expect_problem(full, StatusCode::CONFLICT).await,
        "seat_limit_reached"
    );

    let invitations: Value = app
        .get("acme", "/api/v1/invitations?status=pending", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    let id = invitations["items"][0]["id"].as_str().unwrap();
    app.post(
        "acme",
        &format!("/api/v1/invitations/{id}/revoke"),
        &owner.access,
        &json!({}),
    )
    .await;
    let back = app
        .post("acme", &reactivate, &owner.access, &json!({}))
        .await;
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(
        app.try_login("acme", &ada.email, &ada.password)
            .await
            .status(),
        StatusCode::OK
    );

    app.assert_audited(
        acme.id,
        &[
            "member.deactivated",
            "member.reactivated",
            "invitation.revoked",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_removed_member_is_gone_but_their_history_stays() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_session = app.login("acme", &ada).await;
    let path = format!("/api/v1/members/{}", ada.id);
    let removed = app.delete("acme", &path, &owner.access).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        expect_problem(
            app.get("acme", &path, &owner.access).await,
            StatusCode::NOT_FOUND
        )
        .await,
        "not_found"
    );
    assert_eq!(
        app.get("acme", "/api/v1/me", &ada_session.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // The removed member's sign-ins stay in the log.
    app.assert_audited(acme.id, &["member.removed", "auth.login_succeeded"])
        .await;
}

#[tokio::test]
async fn role_changes_are_audited_with_before_and_after() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let response = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/members/{}/role", ada.id),
            &owner.access,
            &json!({ "role": "compliance" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pool = app.owner_pool().await;
    let (actor, target, metadata, ip, request_id): (
        Option<uuid::Uuid>,
        Option<String>,
        Value,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT actor_id, target_id, metadata, ip, request_id FROM audit_events \
             WHERE tenant_id = $1 AND action = 'member.role_changed'",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(actor, Some(acme.owner.id.as_uuid()));
    assert_eq!(target, Some(ada.id.to_string()));
    assert_eq!(
        metadata,
        json!({ "before": { "role": "member" }, "after": { "role": "compliance" } })
    );
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert!(request_id.is_some());
}
