//! The shapes clients rely on, as snapshots (ids, times, tokens and request ids redacted).
//! After an intended change: `cargo insta review` (or INSTA_UPDATE=always) and commit the .snap files.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn api_bodies_keep_their_shape() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let invited = app.invite("acme", &owner, "grace@acme.example", "hr").await;
    insta::assert_json_snapshot!("invitation_created", invited, {
        ".member.id" => "[id]", ".member.created_at" => "[time]",
        ".invitation.id" => "[id]", ".invitation.member_id" => "[id]", ".invitation.invited_by" => "[id]",
        ".invitation.created_at" => "[time]", ".invitation.expires_at" => "[time]",
        ".accept_url" => "[url]",
    });

    let members: Value = app
        .get("acme", "/api/v1/members", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("members_page", members, {
        ".items[].id" => "[id]", ".items[].created_at" => "[time]", ".items[].last_login_at" => "[time]",
    });

    let me: Value = app
        .get("acme", "/api/v1/me", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("me", me, { ".id" => "[id]", ".tenant.id" => "[id]" });

    let invalid = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "invitation_ttl_hours": 0, "timezone": "" }),
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = invalid.json().await.unwrap();
    insta::assert_json_snapshot!("validation_problem", problem, { ".request_id" => "[request id]" });
}
