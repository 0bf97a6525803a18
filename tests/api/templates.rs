//! Workspace settings and the templates library through HTTP as the app role: owners set who may
//! comment, the default review mode and the reminder delay, and each takes effect; documents made from
//! a template of the workspace get its text with the placeholders filled in, and bad input changes
//! nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::ok,
    comments::{app_with_smtp, space},
    helpers::expect_problem,
};

#[tokio::test]
async fn owners_set_how_the_workspace_works_and_it_takes_effect() {
    let (app, smtp) = app_with_smtp().await;
    let s = space(&app, "Dear team,\n").await;
    let settings = |change: Value| json!({ "settings": change });
    let workspace = ok(app.get("acme", &s.base, &s.viewer.1.access).await).await;
    assert_eq!(
        workspace["settings"],
        json!({ "review_reminder_hours": 48, "default_review_mode": "chain", "comment_policy": "members" })
    );
    let by_editor = app
        .send_json(
            Method::PATCH,
            "acme",
            &s.base,
            &s.editor.1.access,
            &settings(json!({ "comment_policy": "off" })),
        )
        .await;
    assert_eq!(by_editor.status(), StatusCode::FORBIDDEN);
    for bad in [
        json!({ "review_reminder_hours": 0 }),
        json!({ "review_reminder_hours": 169 }),
        json!({ "default_review_mode": "all" }),
        json!({ "comment_policy": "everyone" }),
        json!({ "unknown": 1 }),
    ] {
        let refused = app
            .send_json(
                Method::PATCH,
                "acme",
                &s.base,
                &s.owner.1.access,
                &settings(bad.clone()),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let unchanged = ok(app.get("acme", &s.base, &s.viewer.1.access).await).await;
    assert_eq!(unchanged["settings"], workspace["settings"]);

    // Only editors comment.
    let changed = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &s.base,
            &s.owner.1.access,
            &settings(json!({ "comment_policy": "editors", "default_review_mode": "any", "review_reminder_hours": 12 })),
        )
        .await)
    .await;
    assert_eq!(changed["settings"]["comment_policy"], "editors");
    let comments = format!("{}/comments", s.doc);
    let by_commenter = app
        .post(
            "acme",
            &comments,
            &s.commenter.1.access,
            &json!({ "body": "Hi" }),
        )
        .await;
    assert_eq!(
        expect_problem(by_commenter, StatusCode::FORBIDDEN).await,
        "workspace_role"
    );
    ok(app
        .post(
            "acme",
            &comments,
            &s.editor.1.access,
            &json!({ "body": "Hi" }),
        )
        .await)
    .await;
    // A review request without a mode takes the workspace's; its approver is reminded after 12 hours.
    let review = ok(app
        .post(
            "acme",
            &format!("{}/reviews", s.doc),
            &s.editor.1.access,
            &json!({ "approvers": [s.owner.0.id, s.commenter.0.id] }),
        )
        .await)
    .await;
    assert_eq!(review["mode"], "any");
    assert_eq!(
        review["waiting_on"],
        json!([s.owner.0.id, s.commenter.0.id])
    );
    while app.worker.run_once().await.unwrap() > 0 {}
    app.clock.advance(chrono::Duration::hours(13));
    while app.worker.run_once().await.unwrap() > 0 {}
    let reminded = smtp
        .messages_to(&s.owner.0.email)
        .into_iter()
        .filter(|m| m.subject.contains("reminder: review"))
        .count();
    assert_eq!(reminded, 1);
    let reminders = |smtp: &crate::smtp::TestSmtp| {
        smtp.messages_to(&s.owner.0.email)
            .into_iter()
            .filter(|m| m.subject.contains("reminder: review"))
            .count()
    };
    // A longer delay set mid-review holds from the next reminder: not at 12 hours, at 24.
    let owner = app.login("acme", &s.owner.0).await;
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &s.base,
            &owner.access,
            &settings(json!({ "review_reminder_hours": 24 })),
        )
        .await)
    .await;
    app.clock.advance(chrono::Duration::hours(13));
    while app.worker.run_once().await.unwrap() > 0 {}
    assert_eq!(reminders(&smtp), 1, "13 hours after the last: not yet");
    app.clock.advance(chrono::Duration::hours(12));
    while app.worker.run_once().await.unwrap() > 0 {}
    assert_eq!(reminders(&smtp), 2, "25 hours after the last");

    // Comments off: nobody comments, threads stay readable.
    let owner = app.login("acme", &s.owner.0).await;
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &s.base,
            &owner.access,
            &settings(json!({ "comment_policy": "off" })),
        )
        .await)
    .await;
    let editor = app.login("acme", &s.editor.0).await;
    let off = app
        .post(
            "acme",
            &comments,
            &editor.access,
            &json!({ "body": "Again" }),
        )
        .await;
    assert_eq!(
        expect_problem(off, StatusCode::CONFLICT).await,
        "comments_off"
    );
    let threads = ok(app.get("acme", &comments, &editor.access).await).await;
    assert_eq!(threads["items"].as_array().unwrap().len(), 1);
    let viewer = app.login("acme", &s.viewer.0).await;
    let by_viewer = app
        .post(
            "acme",
            &comments,
            &viewer.access,
            &json!({ "body": "Again" }),
        )
        .await;
    assert_eq!(
        by_viewer.status(),
        StatusCode::FORBIDDEN,
        "a viewer never comments"
    );
    let first = threads["items"][0]["id"].as_str().unwrap().to_owned();
    for path in [
        format!("{comments}/{first}/replies"),
        format!("{comments}/{first}/resolve"),
    ] {
        let refused = app
            .post("acme", &path, &editor.access, &json!({ "body": "x" }))
            .await;
        assert_eq!(refused.status(), StatusCode::CONFLICT, "{path}");
    }

    let owner_pool = app.owner_pool().await;
    let (changes,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM audit_events WHERE action = 'workspace.updated' \
         AND metadata->'settings'->'before' IS DISTINCT FROM metadata->'settings'->'after'",
    )
    .fetch_one(&owner_pool)
    .await
    .unwrap();
    owner_pool.close().await;
    assert_eq!(changes, 3, "each change audited with before and after");
}

#[tokio::test]
async fn documents_made_from_a_template_have_its_placeholders_filled() {
    let (app, _smtp) = app_with_smtp().await;
    let s = space(&app, "Dear team,\n").await;
    let documents = format!("{}/documents", s.base);
    let template = ok(app
        .post(
            "acme",
            &documents,
            &s.editor.1.access,
            &json!({ "type": "template", "title": "Cover letter template",
                     "body": "Dear {{Company}} hiring team,\nI apply for {{ role }} at {{company}}.\n{{signature}}\n" }),
        )
        .await)
    .await;
    let template_id = template["id"].as_str().unwrap().to_owned();
    let library = ok(app
        .get("acme", &format!("{}/templates", s.base), &s.viewer.1.access)
        .await)
    .await;
    let items = library["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only templates: {library}");
    assert_eq!(
        items[0]["placeholders"],
        json!(["company", "role", "signature"])
    );
    assert_eq!(items[0]["used"], 0);

    let from = |fields: Value| {
        json!({ "type": "cover_letter", "title": "Cover letter: Acme",
                "template": { "id": template_id, "fields": fields } })
    };
    let made = app
        .post(
            "acme",
            &documents,
            &s.editor.1.access,
            &from(json!({ "company": "Acme", "ROLE": "Data Lead" })),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    assert_eq!(
        made["body"],
        "Dear Acme hiring team,\nI apply for Data Lead at Acme.\n{{signature}}\n"
    );
    assert_eq!(made["template_id"], template_id.as_str());
    let library = ok(app
        .get("acme", &format!("{}/templates", s.base), &s.viewer.1.access)
        .await)
    .await;
    assert_eq!(library["items"][0]["used"], 1);

    // A typo in a field, a document that is no template, a template and a body: refused, nothing made.
    let other = ok(app
        .post(
            "acme",
            "/api/v1/workspaces",
            &s.editor.1.access,
            &json!({ "name": "Elsewhere" }),
        )
        .await)
    .await;
    let foreign = ok(app
        .post(
            "acme",
            &format!(
                "/api/v1/workspaces/{}/documents",
                other["id"].as_str().unwrap()
            ),
            &s.editor.1.access,
            &json!({ "type": "template", "title": "Theirs", "body": "{{x}}" }),
        )
        .await)
    .await;
    let listed_before = ok(app.get("acme", &documents, &s.viewer.1.access).await).await;
    for (body, why) in [
        (from(json!({ "compnay": "Acme" })), "a placeholder it lacks"),
        (
            json!({ "type": "note", "title": "x", "template": { "id": made["id"] } }),
            "not a template",
        ),
        (
            json!({ "type": "note", "title": "x", "template": { "id": foreign["id"] } }),
            "another workspace's",
        ),
        (
            json!({ "type": "note", "title": "x", "body": "text", "template": { "id": template_id } }),
            "a body too",
        ),
    ] {
        let refused = app
            .post("acme", &documents, &s.editor.1.access, &body)
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    let listed_after = ok(app.get("acme", &documents, &s.viewer.1.access).await).await;
    assert_eq!(listed_before, listed_after);
    let feed = ok(app
        .get(
            "acme",
            &format!("{}/activity?limit=1", s.base),
            &s.viewer.1.access,
        )
        .await)
    .await;
    assert!(
        feed["items"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("from the template “Cover letter template”"),
        "{feed}"
    );
}
