//! The demo organization: a few hundred people in departments with managers, the five sign-in
//! accounts working, and a second run changing nothing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestUser, spawn_app};

#[tokio::test]
async fn seed_demo_builds_a_realistic_organization_once() {
    let app = spawn_app().await;
    let seed = trellis::cli::seed_demo(&app.settings).await.unwrap();
    assert!(seed.created);
    assert!((250..=400).contains(&seed.added), "{} people", seed.added);
    let again = trellis::cli::seed_demo(&app.settings).await.unwrap();
    assert_eq!((again.created, again.added), (false, 0));

    let hr = TestUser {
        id: trellis::domain::UserId::new(),
        email: "hr@acme.localhost".into(),
        password: seed.password.clone(),
    };
    let session = app.login("acme", &hr).await;
    let me: Value = app
        .get("acme", "/api/v1/me", &session.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "hr");
    let engineers: Value = app
        .get(
            "acme",
            "/api/v1/members?department=Engineering&limit=200",
            &session.access,
        )
        .await
        .json()
        .await
        .unwrap();
    let engineers = engineers["items"].as_array().unwrap();
    assert!(engineers.len() >= 15, "{} engineers", engineers.len());
    assert!(
        engineers
            .iter()
            .all(|m| m["manager_id"].is_string() && m["title"].is_string())
    );
    for account in ["owner", "admin", "manager", "member"] {
        let response = app
            .try_login("acme", &format!("{account}@acme.localhost"), &seed.password)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{account}");
    }
}
