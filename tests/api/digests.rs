//! Notification digests through HTTP as the app role and a real SMTP server: what was not mailed at
//! once goes out together when the member's digest is due (daily by default, hourly or never as they
//! choose), without what they read meanwhile, once even when the job runs twice.

use reqwest::Method;
use serde_json::json;

use crate::{
    career::ok,
    comments::{app_with_smtp, space},
    helpers::{Session, TestApp, TestUser},
    smtp::TestSmtp,
};

fn digests(smtp: &TestSmtp, to: &TestUser) -> Vec<crate::smtp::ReceivedMail> {
    smtp.messages_to(&to.email)
        .into_iter()
        .filter(|m| m.subject.contains("in your workspaces"))
        .collect()
}

async fn reply(app: &TestApp, session: &Session, comments: &str, thread: &str, body: &str) {
    ok(app
        .post(
            "acme",
            &format!("{comments}/{thread}/replies"),
            &session.access,
            &json!({ "body": body }),
        )
        .await)
    .await;
}

#[tokio::test]
async fn what_was_not_mailed_at_once_goes_out_in_one_digest_when_it_is_due() {
    let (app, smtp) = app_with_smtp().await;
    let s = space(&app, "Dear team,\n").await;
    let comments = format!("{}/comments", s.doc);
    let drain = || async { while app.worker.run_once().await.unwrap() > 0 {} };
    let preferences = ok(app
        .get(
            "acme",
            "/api/v1/notifications/preferences",
            &s.commenter.1.access,
        )
        .await)
    .await;
    assert_eq!(preferences["digest"], "daily");
    let bad = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/notifications/preferences",
            &s.commenter.1.access,
            &json!({ "digest": "weekly" }),
        )
        .await;
    assert_eq!(bad.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);

    // Cora starts a thread; two replies reach her (in the app only), and a mention mailed at once.
    let thread = ok(app
        .post(
            "acme",
            &comments,
            &s.commenter.1.access,
            &json!({ "body": "Too formal?" }),
        )
        .await)
    .await;
    let thread = thread["id"].as_str().unwrap().to_owned();
    reply(&app, &s.editor.1, &comments, &thread, "A little, yes").await;
    reply(&app, &s.owner.1, &comments, &thread, "I like it formal").await;
    ok(app
        .post(
            "acme",
            &comments,
            &s.editor.1.access,
            &json!({ "body": "@cora see the ending", "mentions": [s.commenter.0.id] }),
        )
        .await)
    .await;
    drain().await;
    assert!(
        digests(&smtp, &s.commenter.0).is_empty(),
        "not due before a day"
    );
    // A duplicate of the digest job (a retry) must not mail twice.
    let owner_pool = app.owner_pool().await;
    let copied = sqlx::query(
        "INSERT INTO jobs (tenant_id, id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
         SELECT tenant_id, gen_random_uuid(), kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at \
         FROM jobs WHERE kind = 'notification.digest' AND status = 'queued' AND payload->>'user_id' = $1",
    )
    .bind(s.commenter.0.id.to_string())
    .execute(&owner_pool)
    .await
    .unwrap();
    assert_eq!(copied.rows_affected(), 1, "one digest due, one job");
    owner_pool.close().await;
    app.clock.advance(chrono::Duration::hours(25));
    drain().await;
    let mailed = digests(&smtp, &s.commenter.0);
    assert_eq!(mailed.len(), 1);
    assert!(
        mailed[0].subject.contains("2 updates"),
        "{}",
        mailed[0].subject
    );
    assert!(
        mailed[0].text.contains("A little, yes"),
        "{}",
        mailed[0].text
    );
    assert!(mailed[0].text.contains("I like it formal"));
    assert!(
        !mailed[0].text.contains("see the ending"),
        "the mention was mailed at once"
    );

    // Hourly, and what she read meanwhile stays out.
    let cora = app.login("acme", &s.commenter.0).await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/notifications/preferences",
            &cora.access,
            &json!({ "digest": "hourly" }),
        )
        .await)
    .await;
    let editor = app.login("acme", &s.editor.0).await;
    reply(&app, &editor, &comments, &thread, "Third thoughts").await;
    reply(&app, &editor, &comments, &thread, "Fourth thoughts").await;
    let inbox = ok(app
        .get("acme", "/api/v1/notifications?unread=true", &cora.access)
        .await)
    .await;
    let newest = inbox["items"][0]["id"].as_str().unwrap();
    ok(app
        .post(
            "acme",
            &format!("/api/v1/notifications/{newest}/read"),
            &cora.access,
            &json!({}),
        )
        .await)
    .await;
    app.clock.advance(chrono::Duration::minutes(61));
    drain().await;
    let mailed = digests(&smtp, &s.commenter.0);
    assert_eq!(mailed.len(), 2);
    assert!(
        mailed[1].subject.contains("1 update"),
        "{}",
        mailed[1].subject
    );
    assert!(mailed[1].text.contains("Third thoughts"));
    assert!(!mailed[1].text.contains("Fourth thoughts"), "read already");

    // Off: nothing more.
    let cora = app.login("acme", &s.commenter.0).await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/notifications/preferences",
            &cora.access,
            &json!({ "digest": "off" }),
        )
        .await)
    .await;
    let editor = app.login("acme", &s.editor.0).await;
    reply(&app, &editor, &comments, &thread, "Fifth").await;
    app.clock.advance(chrono::Duration::hours(25));
    drain().await;
    assert_eq!(digests(&smtp, &s.commenter.0).len(), 2);
    // Back to daily: what waits is due a day from the change.
    let cora = app.login("acme", &s.commenter.0).await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/notifications/preferences",
            &cora.access,
            &json!({ "digest": "daily" }),
        )
        .await)
    .await;
    app.clock.advance(chrono::Duration::hours(23));
    drain().await;
    assert_eq!(digests(&smtp, &s.commenter.0).len(), 2);
    app.clock.advance(chrono::Duration::hours(2));
    drain().await;
    let mailed = digests(&smtp, &s.commenter.0);
    assert_eq!(mailed.len(), 3);
    assert!(mailed[2].text.contains("Fifth"), "{}", mailed[2].text);
}
