//! Sessions: your own list, an admin's view, revocation, and the organization's idle and absolute
//! timeouts (with a fixed clock).

use chrono::Duration;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, expect_problem, spawn_app},
    isolation::session_id_of,
};

async fn login_with_agent(app: &TestApp, email: &str, agent: &str) -> Session {
    let response = app
        .request(Method::POST, "acme", "/api/v1/auth/login")
        .header(header::USER_AGENT, agent)
        .json(&json!({ "email": email, "password": crate::helpers::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    Session {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(Method::POST, "acme", "/api/v1/auth/refresh")
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn members_see_and_end_their_own_sessions() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let laptop = login_with_agent(
        &app,
        &acme.owner.email,
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    )
    .await;
    let phone = login_with_agent(&app, &acme.owner.email, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1").await;
    let tablet = login_with_agent(&app, &acme.owner.email, "curl/8.5.0").await;

    let list: Value = app
        .get("acme", "/api/v1/me/sessions", &laptop.access)
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Firefox on Linux");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert!(items.iter().any(|s| s["device"] == "Safari on iOS"));

    let phone_id = session_id_of(&phone.access);
    let ended = app
        .delete(
            "acme",
            &format!("/api/v1/me/sessions/{phone_id}"),
            &laptop.access,
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("acme", "/api/v1/me", &phone.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, &phone.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let twice = app
        .delete(
            "acme",
            &format!("/api/v1/me/sessions/{phone_id}"),
            &laptop.access,
        )
        .await;
    assert_eq!(twice.status(), StatusCode::NOT_FOUND);

    let others = app
        .delete("acme", "/api/v1/me/sessions", &laptop.access)
        .await;
    let others: Value = others.json().await.unwrap();
    assert_eq!(others["revoked"], 1);
    assert_eq!(
        app.get("acme", "/api/v1/me", &tablet.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("acme", "/api/v1/me", &laptop.access).await.status(),
        StatusCode::OK
    );
    app.assert_audited(acme.id, &["session.revoked", "session.revoked_all"])
        .await;
}

#[tokio::test]
async fn admins_see_and_end_a_members_sessions_but_not_an_owners() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let admin_user = app.add_member(&acme, &owner, "admin", "admin").await;
    let admin = app.login("acme", &admin_user).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_session = app.login("acme", &ada).await;

    let path = format!("/api/v1/members/{}/sessions", ada.id);
    let list: Value = app
        .get("acme", &path, &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "the invitation's sign-in and the login"
    );
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["current"] == false)
    );
    let ended: Value = app
        .delete("acme", &path, &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ended["revoked"], 2);
    assert_eq!(
        app.get("acme", "/api/v1/me", &ada_session.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    let owner_path = format!("/api/v1/members/{}/sessions", acme.owner.id);
    let denied = app.delete("acme", &owner_path, &admin.access).await;
    assert_eq!(
        expect_problem(denied, StatusCode::FORBIDDEN).await,
        "role_escalation"
    );
    assert_eq!(
        app.get("acme", "/api/v1/me", &owner.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_idle_session_ends_and_an_active_one_lives_until_its_absolute_limit() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let set = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "session_idle_minutes": 30, "session_absolute_hours": 2 }),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let settings: Value = set.json().await.unwrap();
    assert_eq!(
        (
            settings["session_idle_minutes"].as_i64(),
            settings["session_absolute_hours"].as_i64()
        ),
        (Some(30), Some(2))
    );

    // Active every 10 minutes (a request, then refreshing the expired access token): alive.
    let mut session = app.login_owner(&acme).await;
    // 11 x 10 minutes: 110 minutes after sign-in.
    for _ in 0..11 {
        app.clock.advance(Duration::minutes(10));
        let refreshed = refresh(&app, &session.refresh).await;
        assert_eq!(
            refreshed.status(),
            StatusCode::OK,
            "an active session was ended early"
        );
        let body: Value = refreshed.json().await.unwrap();
        session = Session {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        };
        assert_eq!(
            app.get("acme", "/api/v1/me", &session.access)
                .await
                .status(),
            StatusCode::OK
        );
    }
    // Past two hours from sign-in: over, however active.
    app.clock.advance(Duration::minutes(15));
    assert_eq!(
        refresh(&app, &session.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A fresh session left idle for 31 minutes is over too.
    let idle = app.login_owner(&acme).await;
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        refresh(&app, &idle.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let invalid = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &idle.access,
            &json!({ "session_idle_minutes": 2 }),
        )
        .await;
    assert_eq!(
        invalid.status(),
        StatusCode::UNAUTHORIZED,
        "the idle session's access token is dead too"
    );
}
