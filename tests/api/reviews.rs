//! Document reviews through HTTP as the app role: an approval chain decided strictly in order, any-of
//! settled by the first decision, the document's state following (and saves refused while in review),
//! who hears what in the app and by mail, and reminders while it stays someone's turn.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    career::ok,
    comments::{app_with_smtp, save, space},
    helpers::{Session, TestApp, TestUser, expect_problem},
    smtp::TestSmtp,
};

async fn kinds(app: &TestApp, session: &Session) -> Vec<String> {
    ok(app
        .get("acme", "/api/v1/notifications", &session.access)
        .await)
    .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn decide(
    app: &TestApp,
    session: &Session,
    review: &str,
    decision: &str,
    comment: &str,
) -> reqwest::Response {
    app.post(
        "acme",
        &format!("{review}/decision"),
        &session.access,
        &json!({ "decision": decision, "comment": comment }),
    )
    .await
}

async fn state(app: &TestApp, session: &Session, doc: &str) -> String {
    ok(app.get("acme", doc, &session.access).await).await["review_state"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn review_mails(smtp: &TestSmtp, to: &TestUser, subject: &str) -> usize {
    smtp.messages_to(&to.email)
        .into_iter()
        .filter(|m| m.subject.contains(subject))
        .count()
}

#[tokio::test]
async fn an_approval_chain_is_decided_in_order_and_the_document_follows() {
    let (app, smtp) = app_with_smtp().await;
    let s = space(&app, "Dear team,\n").await;
    let (ed, cora, olga, vic) = (&s.editor, &s.commenter, &s.owner, &s.viewer);
    let reviews = format!("{}/reviews", s.doc);
    // Approvers must be able to comment, be named once, and not be the requester.
    for (approvers, why) in [
        (json!([vic.0.id]), "a viewer"),
        (json!([cora.0.id, cora.0.id]), "twice"),
        (json!([ed.0.id]), "oneself"),
        (json!([s.outsider.0.id]), "not a member"),
        (json!([]), "nobody"),
    ] {
        let refused = app
            .post(
                "acme",
                &reviews,
                &ed.1.access,
                &json!({ "mode": "chain", "approvers": approvers }),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    let by_commenter = app
        .post(
            "acme",
            &reviews,
            &cora.1.access,
            &json!({ "mode": "chain", "approvers": [olga.0.id] }),
        )
        .await;
    assert_eq!(by_commenter.status(), StatusCode::FORBIDDEN);
    assert_eq!(state(&app, &vic.1, &s.doc).await, "draft");

    let asked = app
        .post(
            "acme",
            &reviews,
            &ed.1.access,
            &json!({ "mode": "chain", "approvers": [cora.0.id, olga.0.id], "message": "Last look please" }),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::CREATED);
    let review: Value = asked.json().await.unwrap();
    assert_eq!(review["version"], 1);
    assert_eq!(review["waiting_on"], json!([cora.0.id]));
    let path = format!("{reviews}/{}", review["id"].as_str().unwrap());
    assert_eq!(state(&app, &vic.1, &s.doc).await, "in_review");
    assert_eq!(kinds(&app, &cora.1).await, ["review.requested"]);
    assert!(
        kinds(&app, &olga.1).await.is_empty(),
        "the second approver hears of it in their turn"
    );
    let again = app
        .post(
            "acme",
            &reviews,
            &ed.1.access,
            &json!({ "mode": "any", "approvers": [olga.0.id] }),
        )
        .await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "review_open"
    );
    let edit = app
        .request(Method::PUT, "acme", &s.doc)
        .bearer_auth(&ed.1.access)
        .header(header::IF_MATCH, "\"v1\"")
        .json(&json!({ "body": "changed meanwhile" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(edit, StatusCode::CONFLICT).await,
        "document_in_review"
    );

    // Out of turn, not an approver, no comment for changes: refused, nothing decided.
    assert_eq!(
        expect_problem(
            decide(&app, &olga.1, &path, "approve", "").await,
            StatusCode::CONFLICT
        )
        .await,
        "not_your_turn"
    );
    assert_eq!(
        expect_problem(
            decide(&app, &vic.1, &path, "approve", "").await,
            StatusCode::FORBIDDEN
        )
        .await,
        "not_an_approver"
    );
    assert_eq!(
        decide(&app, &s.outsider.1, &path, "approve", "")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        decide(&app, &cora.1, &path, "request_changes", " ")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        decide(&app, &cora.1, &path, "maybe", "").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // An approver the review waits for stays until they decide or it is withdrawn.
    let member = format!("{}/members/{}", s.base, cora.0.id);
    let removed = app
        .request(Method::DELETE, "acme", &member)
        .bearer_auth(&olga.1.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(removed, StatusCode::CONFLICT).await,
        "pending_approver"
    );
    let demoted = app
        .send_json(
            Method::PUT,
            "acme",
            &member,
            &olga.1.access,
            &json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(
        expect_problem(demoted, StatusCode::CONFLICT).await,
        "pending_approver"
    );

    // The first approves: the turn passes to the second, who is told now.
    let first = ok(decide(&app, &cora.1, &path, "approve", "Good").await).await;
    assert_eq!(first["status"], "open");
    assert_eq!(first["waiting_on"], json!([olga.0.id]));
    assert_eq!(first["approvers"][0]["decision"], "approved");
    assert_eq!(kinds(&app, &olga.1).await, ["review.requested"]);
    assert_eq!(
        expect_problem(
            decide(&app, &cora.1, &path, "approve", "").await,
            StatusCode::CONFLICT
        )
        .await,
        "already_decided"
    );
    let last = ok(decide(&app, &olga.1, &path, "approve", "Ship it").await).await;
    assert_eq!(last["status"], "approved");
    assert_eq!(last["waiting_on"], json!([]));
    assert_eq!(state(&app, &vic.1, &s.doc).await, "approved");
    assert_eq!(
        kinds(&app, &ed.1).await,
        ["review.approved"],
        "the requester hears the outcome once"
    );
    assert_eq!(
        expect_problem(
            app.post(
                "acme",
                &format!("{path}/withdraw"),
                &ed.1.access,
                &json!({})
            )
            .await,
            StatusCode::CONFLICT
        )
        .await,
        "review_closed"
    );
    // The next save is a draft again: the approval named version 1.
    let saved = save(&app, &ed.1, &s.doc, 1, "Dear hiring team,\n").await;
    assert_eq!(saved["review_state"], "draft");
    let history = ok(app.get("acme", &reviews, &vic.1.access).await).await;
    assert_eq!(history["items"][0]["version"], 1);
    assert_eq!(history["items"][0]["status"], "approved");

    while app.worker.run_once().await.unwrap() > 0 {}
    assert_eq!(review_mails(&smtp, &cora.0, "Review requested"), 1);
    assert_eq!(review_mails(&smtp, &olga.0, "Review requested"), 1);
    // The mail links to the document's reviews in the portal, on the organization's host.
    let page = format!(
        "http://{}{}#reviews-h",
        app.host("acme"),
        s.doc.trim_start_matches("/api/v1")
    );
    let asked = smtp.messages_to(&cora.0.email);
    assert!(
        asked
            .iter()
            .any(|m| m.subject.contains("Review requested") && m.text.contains(&page)),
        "{page}"
    );
    let approved = smtp
        .messages_to(&ed.0.email)
        .into_iter()
        .filter(|m| m.subject.contains("approved"))
        .collect::<Vec<_>>();
    assert_eq!(approved.len(), 1);
    assert!(approved[0].text.contains("Ship it"), "{}", approved[0].text);

    let owner_pool = app.owner_pool().await;
    let actions: Vec<(String, Value)> = sqlx::query_as(
        "SELECT action, metadata FROM audit_events WHERE action LIKE 'review.%' ORDER BY occurred_at, id",
    )
    .fetch_all(&owner_pool)
    .await
    .unwrap();
    owner_pool.close().await;
    let outcomes: Vec<(&str, &Value)> = actions
        .iter()
        .map(|(a, m)| (a.as_str(), &m["outcome"]))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("review.requested", &Value::Null),
            ("review.decided", &json!("next_turn")),
            ("review.decided", &json!("approved")),
        ]
    );
}

#[tokio::test]
async fn any_of_is_settled_by_the_first_decision_and_a_review_can_be_withdrawn() {
    let (app, smtp) = app_with_smtp().await;
    let s = space(&app, "Dear team,\n").await;
    let (ed, cora, olga) = (&s.editor, &s.commenter, &s.owner);
    let reviews = format!("{}/reviews", s.doc);
    let review = ok(app
        .post(
            "acme",
            &reviews,
            &ed.1.access,
            &json!({ "mode": "any", "approvers": [cora.0.id, olga.0.id] }),
        )
        .await)
    .await;
    assert_eq!(review["waiting_on"], json!([cora.0.id, olga.0.id]));
    assert_eq!(kinds(&app, &cora.1).await, ["review.requested"]);
    assert_eq!(kinds(&app, &olga.1).await, ["review.requested"]);
    let path = format!("{reviews}/{}", review["id"].as_str().unwrap());
    let changes = ok(decide(
        &app,
        &olga.1,
        &path,
        "request_changes",
        "Shorten the opening.",
    )
    .await)
    .await;
    assert_eq!(changes["status"], "changes_requested");
    assert_eq!(state(&app, &cora.1, &s.doc).await, "changes_requested");
    assert_eq!(
        expect_problem(
            decide(&app, &cora.1, &path, "approve", "").await,
            StatusCode::CONFLICT
        )
        .await,
        "review_closed"
    );
    assert_eq!(kinds(&app, &ed.1).await, ["review.changes_requested"]);

    // Asked again and withdrawn: a draft, and only its requester or an owner withdraws.
    let second = ok(app
        .post(
            "acme",
            &reviews,
            &ed.1.access,
            &json!({ "mode": "any", "approvers": [cora.0.id] }),
        )
        .await)
    .await;
    let second = format!("{reviews}/{}", second["id"].as_str().unwrap());
    let by_approver = app
        .post(
            "acme",
            &format!("{second}/withdraw"),
            &cora.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(by_approver.status(), StatusCode::FORBIDDEN);
    let withdrawn = ok(app
        .post(
            "acme",
            &format!("{second}/withdraw"),
            &olga.1.access,
            &json!({}),
        )
        .await)
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(state(&app, &cora.1, &s.doc).await, "draft");
    let listed = ok(app.get("acme", &reviews, &cora.1.access).await).await;
    let statuses: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["withdrawn", "changes_requested"]);
    while app.worker.run_once().await.unwrap() > 0 {}
    let to_ed: Vec<_> = smtp
        .messages_to(&ed.0.email)
        .into_iter()
        .filter(|m| m.subject.contains("asks for changes"))
        .collect();
    assert_eq!(to_ed.len(), 1);
    assert!(to_ed[0].text.contains("Shorten the opening."));
}

#[tokio::test]
async fn whoever_a_review_waits_on_is_reminded_in_their_turn_only() {
    let (app, smtp) = app_with_smtp().await;
    let s = space(&app, "Dear team,\n").await;
    let (ed, cora, olga) = (&s.editor, &s.commenter, &s.owner);
    let reviews = format!("{}/reviews", s.doc);
    let review = ok(app
        .post(
            "acme",
            &reviews,
            &ed.1.access,
            &json!({ "mode": "chain", "approvers": [cora.0.id, olga.0.id] }),
        )
        .await)
    .await;
    let path = format!("{reviews}/{}", review["id"].as_str().unwrap());
    let drain = || async { while app.worker.run_once().await.unwrap() > 0 {} };
    drain().await;
    assert_eq!(review_mails(&smtp, &cora.0, "reminder: review"), 0);
    app.clock.advance(chrono::Duration::hours(49));
    // The same reminder job twice (a retry after a lost acknowledgement) reminds once.
    let owner_pool = app.owner_pool().await;
    let copied = sqlx::query(
        "INSERT INTO jobs (tenant_id, id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
         SELECT tenant_id, gen_random_uuid(), kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at \
         FROM jobs WHERE kind = 'review.reminder' AND status = 'queued'",
    )
    .execute(&owner_pool)
    .await
    .unwrap();
    assert_eq!(copied.rows_affected(), 1);
    owner_pool.close().await;
    drain().await;
    assert_eq!(review_mails(&smtp, &cora.0, "reminder: review"), 1);
    assert_eq!(review_mails(&smtp, &olga.0, "reminder: review"), 0);
    app.clock.advance(chrono::Duration::hours(49));
    drain().await;
    assert_eq!(review_mails(&smtp, &cora.0, "reminder: review"), 2);

    // Cora approves: the chain moves on, her reminders stop and Olga's start.
    let cora_s = app.login("acme", &cora.0).await;
    ok(decide(&app, &cora_s, &path, "approve", "").await).await;
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::hours(49));
        drain().await;
    }
    assert_eq!(review_mails(&smtp, &cora.0, "reminder: review"), 2);
    assert_eq!(
        review_mails(&smtp, &olga.0, "reminder: review"),
        3,
        "at most three reminders in a turn"
    );
    app.clock.advance(chrono::Duration::hours(49));
    drain().await;
    assert_eq!(review_mails(&smtp, &olga.0, "reminder: review"), 3);
    let olga_s = app.login("acme", &olga.0).await;
    let inbox = ok(app
        .get("acme", "/api/v1/notifications", &olga_s.access)
        .await)
    .await;
    let reminders = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "review.reminder")
        .count();
    assert_eq!(reminders, 3);
    let now = ok(app.get("acme", &path, &olga_s.access).await).await;
    assert_eq!(now["approvers"][0]["reminded"], 2);
    assert_eq!(now["approvers"][1]["reminded"], 3);
}
