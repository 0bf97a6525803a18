//! Comments on workspace documents through HTTP as the app role: anchors carried through later saves
//! (moved with their text, outdated when it is gone, found again when it comes back), threads with
//! replies, resolve and reopen, who may do what, and mentions that reach the member in the app and
//! through a real SMTP server.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    career::ok,
    helpers::{Session, TestApp, TestUser, expect_problem, spawn_app_with},
    smtp::TestSmtp,
};

pub async fn app_with_smtp() -> (TestApp, TestSmtp) {
    let smtp = TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    (app, smtp)
}

/// The character range of the first `quote` in `text`.
fn span_of(text: &str, quote: &str) -> (usize, usize) {
    let byte = text.find(quote).unwrap();
    let start = text[..byte].chars().count();
    (start, start + quote.chars().count())
}

/// The text of `text` in the character range `start..end`.
fn chars(text: &str, start: &Value, end: &Value) -> String {
    let (start, end) = (
        start.as_u64().unwrap() as usize,
        end.as_u64().unwrap() as usize,
    );
    text.chars().skip(start).take(end - start).collect()
}

pub struct Space {
    pub base: String,
    pub doc: String,
    pub owner: (TestUser, Session),
    pub editor: (TestUser, Session),
    pub commenter: (TestUser, Session),
    pub viewer: (TestUser, Session),
    pub outsider: (TestUser, Session),
}

/// A workspace with an owner, an editor, a commenter and a viewer, a member of the organization who
/// is not in it, and a document by the editor with `body`.
pub async fn space(app: &TestApp, body: &str) -> Space {
    let acme = app.create_tenant("acme").await;
    let admin = app.login_owner(&acme).await;
    let mut people = Vec::new();
    for name in ["olga", "ed", "cora", "vic", "otto"] {
        let user = app.add_member(&acme, &admin, name, "member").await;
        let session = app.login("acme", &user).await;
        people.push((user, session));
    }
    let [owner, editor, commenter, viewer, outsider] = <[_; 5]>::try_from(people).ok().unwrap();
    let workspace = ok(app
        .post(
            "acme",
            "/api/v1/workspaces",
            &owner.1.access,
            &json!({ "name": "Applications" }),
        )
        .await)
    .await;
    let base = format!("/api/v1/workspaces/{}", workspace["id"].as_str().unwrap());
    for (user, role) in [
        (&editor.0, "editor"),
        (&commenter.0, "commenter"),
        (&viewer.0, "viewer"),
    ] {
        ok(app
            .send_json(
                Method::PUT,
                "acme",
                &format!("{base}/members/{}", user.id),
                &owner.1.access,
                &json!({ "role": role }),
            )
            .await)
        .await;
    }
    let doc = ok(app
        .post(
            "acme",
            &format!("{base}/documents"),
            &editor.1.access,
            &json!({ "type": "cover_letter", "title": "Cover letter: Data Lead", "body": body }),
        )
        .await)
    .await;
    let doc = format!("{base}/documents/{}", doc["id"].as_str().unwrap());
    Space {
        base,
        doc,
        owner,
        editor,
        commenter,
        viewer,
        outsider,
    }
}

pub async fn save(app: &TestApp, session: &Session, doc: &str, version: i64, body: &str) -> Value {
    let response = app
        .request(Method::PUT, "acme", doc)
        .bearer_auth(&session.access)
        .header(header::IF_MATCH, format!("\"v{version}\""))
        .json(&json!({ "body": body }))
        .send()
        .await
        .unwrap();
    ok(response).await
}

async fn threads(app: &TestApp, session: &Session, doc: &str, status: &str) -> Vec<Value> {
    ok(app
        .get(
            "acme",
            &format!("{doc}/comments?status={status}"),
            &session.access,
        )
        .await)
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn anchors_follow_their_text_through_edits_and_are_outdated_when_it_is_gone() {
    let (app, _smtp) = app_with_smtp().await;
    let v1 = "Dear team,\nI led the data platform at Globex.\nIt served 40 teams.\nRegards\n";
    let s = space(&app, v1).await;
    let (start, end) = span_of(v1, "data platform");
    let (start2, end2) = span_of(v1, "40 teams");
    let started = app
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.commenter.1.access,
            &json!({ "body": "Name its size?", "anchor": { "version": 1, "start": start, "end": end } }),
        )
        .await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let thread: Value = started.json().await.unwrap();
    assert_eq!(thread["anchor"]["quote"], "data platform");
    assert_eq!(thread["anchor"]["located"]["version"], 1);
    ok(app
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.owner.1.access,
            &json!({ "body": "Say which teams", "anchor": { "version": 1, "start": start2, "end": end2 } }),
        )
        .await)
    .await;
    // An anchor must quote text that the version has.
    for (anchor, why) in [
        (json!({ "version": 1, "start": 5, "end": 5 }), "empty"),
        (
            json!({ "version": 1, "start": 70, "end": 900 }),
            "past the end",
        ),
        (
            json!({ "version": 7, "start": 0, "end": 4 }),
            "no such version",
        ),
        (json!({ "version": 1, "start": -1, "end": 4 }), "negative"),
    ] {
        let refused = app
            .post(
                "acme",
                &format!("{}/comments", s.doc),
                &s.commenter.1.access,
                &json!({ "body": "x", "anchor": anchor }),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }

    // Version 2 adds a line above and edits the anchored line round the quote: both anchors move with
    // their text.
    let v2 = "Dear hiring team,\nI am applying for Data Lead.\nSince 2021 I have led the data platform at Globex.\nIt served 40 teams.\nRegards\n";
    save(&app, &s.editor.1, &s.doc, 1, v2).await;
    let listed = threads(&app, &s.viewer.1, &s.doc, "all").await;
    assert_eq!(listed.len(), 2);
    for (thread, quote) in listed.iter().zip(["data platform", "40 teams"]) {
        let located = &thread["anchor"]["located"];
        assert_eq!(located["version"], 2, "{thread}");
        assert_eq!(thread["anchor"]["outdated"], false);
        assert_eq!(chars(v2, &located["start"], &located["end"]), quote);
        assert_eq!(thread["anchor"]["version"], 1, "where it was written stays");
    }

    // Version 3 rewrites the first quote away: that anchor is outdated from version 3, keeping its last
    // place in version 2; the other still follows its text.
    let v3 = "Dear hiring team,\nI am applying for Data Lead.\nSince 2021 I have run analytics at Globex.\nIt served 40 teams.\nRegards\n";
    let saved = save(&app, &s.editor.1, &s.doc, 2, v3).await;
    assert_eq!(saved["version"], 3);
    let listed = threads(&app, &s.viewer.1, &s.doc, "all").await;
    let first = &listed[0]["anchor"];
    assert_eq!(first["outdated"], true);
    assert_eq!(first["outdated_in_version"], 3);
    assert_eq!(first["located"]["version"], 2);
    assert_eq!(
        chars(v2, &first["located"]["start"], &first["located"]["end"]),
        "data platform"
    );
    let second = &listed[1]["anchor"];
    assert_eq!(second["outdated"], false);
    assert_eq!(second["located"]["version"], 3);
    assert_eq!(
        chars(v3, &second["located"]["start"], &second["located"]["end"]),
        "40 teams"
    );

    // Restoring version 1 brings the text back, and with it the anchor.
    let restored = app
        .request(
            Method::POST,
            "acme",
            &format!("{}/versions/1/restore", s.doc),
        )
        .bearer_auth(&s.editor.1.access)
        .header(header::IF_MATCH, "\"v3\"")
        .send()
        .await
        .unwrap();
    assert_eq!(restored.status(), StatusCode::OK);
    let listed = threads(&app, &s.viewer.1, &s.doc, "all").await;
    for (thread, quote) in listed.iter().zip(["data platform", "40 teams"]) {
        let anchor = &thread["anchor"];
        assert_eq!(anchor["outdated"], false, "{thread}");
        assert_eq!(anchor["outdated_in_version"], Value::Null);
        assert_eq!(anchor["located"]["version"], 4);
        assert_eq!(
            chars(v1, &anchor["located"]["start"], &anchor["located"]["end"]),
            quote
        );
    }

    // A deleted thread's anchor still follows the text, for the replies kept in it.
    let (regards_start, regards_end) = span_of(v1, "Regards");
    let doomed = ok(app
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.commenter.1.access,
            &json!({ "body": "Sign off?", "anchor": { "version": 4, "start": regards_start,
                     "end": regards_end, "quote": "Regards" } }),
        )
        .await)
    .await;
    let doomed_id = doomed["id"].as_str().unwrap().to_owned();
    ok(app
        .post(
            "acme",
            &format!("{}/comments/{doomed_id}/replies", s.doc),
            &s.owner.1.access,
            &json!({ "body": "Keep it" }),
        )
        .await)
    .await;
    let deleted = app
        .request(
            Method::DELETE,
            "acme",
            &format!("{}/comments/{doomed_id}", s.doc),
        )
        .bearer_auth(&s.commenter.1.access)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let v5 = format!("P.S.\n{v1}");
    save(&app, &s.editor.1, &s.doc, 4, &v5).await;
    let listed = threads(&app, &s.viewer.1, &s.doc, "all").await;
    let kept = listed
        .iter()
        .find(|t| t["id"] == doomed_id.as_str())
        .unwrap();
    assert_eq!(kept["comments"][0]["deleted"], true);
    assert_eq!(kept["anchor"]["located"]["version"], 5);
    assert_eq!(
        chars(
            &v5,
            &kept["anchor"]["located"]["start"],
            &kept["anchor"]["located"]["end"]
        ),
        "Regards"
    );
    // A quote that is not the range's text is refused: the client counted differently.
    let miscounted = app
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.commenter.1.access,
            &json!({ "body": "x", "anchor": { "version": 5, "start": 0, "end": 4, "quote": "Dear" } }),
        )
        .await;
    assert_eq!(miscounted.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A comment written on an old version is placed in the current one.
    let (old_start, old_end) = span_of(v2, "applying for Data Lead");
    let late = ok(app
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.commenter.1.access,
            &json!({ "body": "Keep this line", "anchor": { "version": 2, "start": old_start, "end": old_end } }),
        )
        .await)
    .await;
    assert_eq!(
        late["anchor"]["outdated"], true,
        "version 4 (= version 1) has no such line: {late}"
    );
    assert_eq!(late["anchor"]["outdated_in_version"], 5);

    let owner_pool = app.owner_pool().await;
    let (saves,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM audit_events WHERE action IN ('document.saved', 'document.restored') \
         AND metadata ? 'anchors'",
    )
    .fetch_one(&owner_pool)
    .await
    .unwrap();
    assert_eq!(saves, 4);
    owner_pool.close().await;
}

#[tokio::test]
async fn threads_are_replied_to_resolved_and_reopened_by_those_who_may() {
    let (app, _smtp) = app_with_smtp().await;
    let s = space(&app, "Hello\n").await;
    let comments = format!("{}/comments", s.doc);
    let by_viewer = app
        .post(
            "acme",
            &comments,
            &s.viewer.1.access,
            &json!({ "body": "Hi" }),
        )
        .await;
    assert_eq!(
        expect_problem(by_viewer, StatusCode::FORBIDDEN).await,
        "workspace_role"
    );
    let by_outsider = app
        .post(
            "acme",
            &comments,
            &s.outsider.1.access,
            &json!({ "body": "Hi" }),
        )
        .await;
    assert_eq!(by_outsider.status(), StatusCode::NOT_FOUND);
    let empty = app
        .post(
            "acme",
            &comments,
            &s.commenter.1.access,
            &json!({ "body": "  " }),
        )
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let thread = ok(app
        .post(
            "acme",
            &comments,
            &s.commenter.1.access,
            &json!({ "body": "Too short?" }),
        )
        .await)
    .await;
    assert_eq!(thread["anchor"], Value::Null);
    let first = thread["comments"][0]["id"].as_str().unwrap().to_owned();
    let replied = app
        .post(
            "acme",
            &format!("{comments}/{first}/replies"),
            &s.editor.1.access,
            &json!({ "body": "Lengthened it." }),
        )
        .await;
    assert_eq!(replied.status(), StatusCode::CREATED);
    let replied: Value = replied.json().await.unwrap();
    assert_eq!(replied["id"], first.as_str());
    assert_eq!(replied["comments"].as_array().unwrap().len(), 2);
    let reply = replied["comments"][1]["id"].as_str().unwrap().to_owned();

    // Only the author edits; the owner may delete anyone's, which keeps its place.
    let not_author = app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("{comments}/{reply}"),
            &s.owner.1.access,
            &json!({ "body": "rewritten" }),
        )
        .await;
    assert_eq!(
        expect_problem(not_author, StatusCode::FORBIDDEN).await,
        "comment_author"
    );
    let edited = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("{comments}/{reply}"),
            &s.editor.1.access,
            &json!({ "body": "Lengthened it, see v2." }),
        )
        .await)
    .await;
    assert_eq!(edited["comments"][1]["body"], "Lengthened it, see v2.");
    assert!(edited["comments"][1]["edited_at"].is_string());
    let not_owner = app
        .request(Method::DELETE, "acme", &format!("{comments}/{reply}"))
        .bearer_auth(&s.commenter.1.access)
        .send()
        .await
        .unwrap();
    assert_eq!(not_owner.status(), StatusCode::FORBIDDEN);

    // Resolving a reply resolves its thread; a resolved thread takes no reply until reopened.
    let resolved = ok(app
        .post(
            "acme",
            &format!("{comments}/{reply}/resolve"),
            &s.commenter.1.access,
            &json!({}),
        )
        .await)
    .await;
    assert_eq!(resolved["resolved"], true);
    assert_eq!(resolved["resolved_by"]["id"], s.commenter.0.id.to_string());
    assert_eq!(threads(&app, &s.viewer.1, &s.doc, "open").await.len(), 0);
    assert_eq!(
        threads(&app, &s.viewer.1, &s.doc, "resolved").await.len(),
        1
    );
    let late = app
        .post(
            "acme",
            &format!("{comments}/{first}/replies"),
            &s.owner.1.access,
            &json!({ "body": "One more thing" }),
        )
        .await;
    assert_eq!(
        expect_problem(late, StatusCode::CONFLICT).await,
        "thread_resolved"
    );
    let by_viewer = app
        .post(
            "acme",
            &format!("{comments}/{first}/reopen"),
            &s.viewer.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(by_viewer.status(), StatusCode::FORBIDDEN);
    let reopened = ok(app
        .post(
            "acme",
            &format!("{comments}/{first}/reopen"),
            &s.owner.1.access,
            &json!({}),
        )
        .await)
    .await;
    assert_eq!(reopened["resolved"], false);
    let deleted = app
        .request(Method::DELETE, "acme", &format!("{comments}/{reply}"))
        .bearer_auth(&s.owner.1.access)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let listed = threads(&app, &s.viewer.1, &s.doc, "all").await;
    let kept = &listed[0]["comments"][1];
    assert_eq!(kept["deleted"], true);
    assert_eq!(kept["body"], "");
    let edit_deleted = app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("{comments}/{reply}"),
            &s.editor.1.access,
            &json!({ "body": "back" }),
        )
        .await;
    assert_eq!(
        expect_problem(edit_deleted, StatusCode::CONFLICT).await,
        "comment_deleted"
    );

    // Every change was audited, in its own transaction with the change.
    let owner_pool = app.owner_pool().await;
    let actions: Vec<(String,)> = sqlx::query_as(
        "SELECT action FROM audit_events WHERE action LIKE 'comment.%' ORDER BY occurred_at, id",
    )
    .fetch_all(&owner_pool)
    .await
    .unwrap();
    owner_pool.close().await;
    let actions: Vec<&str> = actions.iter().map(|(a,)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "comment.created",
            "comment.created",
            "comment.edited",
            "comment.resolved",
            "comment.reopened",
            "comment.deleted"
        ]
    );
}

#[tokio::test]
async fn mentions_reach_members_in_the_app_and_by_mail_and_replies_reach_the_thread() {
    let (app, smtp) = app_with_smtp().await;
    let s = space(&app, "Hello\n").await;
    let comments = format!("{}/comments", s.doc);
    // Mentioning someone outside the workspace is refused, and nothing is written.
    let outside = app
        .post(
            "acme",
            &comments,
            &s.commenter.1.access,
            &json!({ "body": "Have a look", "mentions": [s.outsider.0.id] }),
        )
        .await;
    assert_eq!(outside.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(threads(&app, &s.viewer.1, &s.doc, "all").await.is_empty());

    let thread = ok(app
        .post(
            "acme",
            &comments,
            &s.commenter.1.access,
            &json!({ "body": "@vic could you read the opening?", "mentions": [s.viewer.0.id, s.commenter.0.id] }),
        )
        .await)
    .await;
    let first = thread["comments"][0]["id"].as_str().unwrap().to_owned();
    let inbox = |session: Session| {
        let app = &app;
        async move {
            ok(app
                .get("acme", "/api/v1/notifications", &session.access)
                .await)
            .await
        }
    };
    let vic = inbox(s.viewer.1.clone()).await;
    assert_eq!(vic["unread"], 1);
    let note = &vic["items"][0];
    assert_eq!(note["kind"], "comment.mentioned");
    assert_eq!(note["comment_id"], first.as_str());
    assert_eq!(note["actor"]["id"], s.commenter.0.id.to_string());
    assert!(
        note["title"]
            .as_str()
            .unwrap()
            .contains("Cover letter: Data Lead")
    );
    assert_eq!(
        inbox(s.commenter.1.clone()).await["unread"],
        0,
        "mentioning oneself tells nobody"
    );

    // The thread's writers hear of replies; someone mentioned in the reply hears only of the mention.
    ok(app
        .post(
            "acme",
            &format!("{comments}/{first}/replies"),
            &s.editor.1.access,
            &json!({ "body": "I will fix it, @olga FYI", "mentions": [s.owner.0.id] }),
        )
        .await)
    .await;
    let cora = inbox(s.commenter.1.clone()).await;
    assert_eq!(cora["unread"], 1);
    assert_eq!(cora["items"][0]["kind"], "comment.replied");
    let olga = inbox(s.owner.1.clone()).await;
    assert_eq!(olga["unread"], 1);
    assert_eq!(olga["items"][0]["kind"], "comment.mentioned");
    // Editing a comment to mention someone new tells only them.
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("{comments}/{first}"),
            &s.commenter.1.access,
            &json!({ "body": "@vic @ed could you read the opening?", "mentions": [s.viewer.0.id, s.editor.0.id] }),
        )
        .await)
    .await;
    assert_eq!(inbox(s.viewer.1.clone()).await["unread"], 1);
    assert_eq!(inbox(s.editor.1.clone()).await["unread"], 1);

    // Mails: one per mention, none for the reply.
    while app.worker.run_once().await.unwrap() > 0 {}
    let mentioned = |to: &TestUser| -> Vec<crate::smtp::ReceivedMail> {
        smtp.messages_to(&to.email)
            .into_iter()
            .filter(|m| m.subject.contains("mentioned you"))
            .collect()
    };
    let to_vic = mentioned(&s.viewer.0);
    assert_eq!(to_vic.len(), 1);
    assert!(
        to_vic[0].subject.contains("Cover letter: Data Lead"),
        "{}",
        to_vic[0].subject
    );
    assert!(
        to_vic[0].text.contains("could you read the opening?"),
        "{}",
        to_vic[0].text
    );
    // The mail links to the comment on the document's page in the portal, on the organization's host.
    let page = format!(
        "http://{}{}#comment-{first}",
        app.host("acme"),
        s.doc.trim_start_matches("/api/v1")
    );
    assert!(to_vic[0].text.contains(&page), "{page}: {}", to_vic[0].text);
    assert_eq!(mentioned(&s.owner.0).len(), 1);
    assert_eq!(mentioned(&s.editor.0).len(), 1);
    assert_eq!(mentioned(&s.commenter.0).len(), 0);

    // Marking read: one, then all up to the newest seen; a newer one stays unread.
    let vic_note = vic["items"][0]["id"].as_str().unwrap().to_owned();
    let read = app
        .post(
            "acme",
            &format!("/api/v1/notifications/{vic_note}/read"),
            &s.viewer.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(read.status(), StatusCode::NO_CONTENT);
    let vic = inbox(s.viewer.1.clone()).await;
    assert_eq!(vic["unread"], 0);
    assert!(vic["items"][0]["read_at"].is_string());
    let not_hers = app
        .post(
            "acme",
            &format!("/api/v1/notifications/{vic_note}/read"),
            &s.owner.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(not_hers.status(), StatusCode::NOT_FOUND);
    let seen = olga["items"][0]["id"].as_str().unwrap().to_owned();
    ok(app
        .post(
            "acme",
            &format!("{comments}/{first}/replies"),
            &s.commenter.1.access,
            &json!({ "body": "Thanks both, @olga too", "mentions": [s.owner.0.id] }),
        )
        .await)
    .await;
    let olga = inbox(s.owner.1.clone()).await;
    assert_eq!(olga["unread"], 2, "two mentions");
    let marked = ok(app
        .post(
            "acme",
            "/api/v1/notifications/read",
            &s.owner.1.access,
            &json!({ "up_to": seen }),
        )
        .await)
    .await;
    assert_eq!(marked["marked"], 1, "the one seen, not the newer one");
    assert_eq!(marked["unread"], 1);
    let olga = inbox(s.owner.1.clone()).await;
    assert!(olga["items"][0]["read_at"].is_null());
    assert!(olga["items"][1]["read_at"].is_string());
    let ed = inbox(s.editor.1.clone()).await;
    assert_eq!(ed["unread"], 2, "a mention and cora's reply");
    let unread_only = ok(app
        .get(
            "acme",
            "/api/v1/notifications?unread=true&limit=1",
            &s.editor.1.access,
        )
        .await)
    .await;
    assert_eq!(unread_only["items"].as_array().unwrap().len(), 1);
    assert_eq!(unread_only["items"][0]["kind"], "comment.replied");
    let before = unread_only["next_before"].as_str().unwrap();
    let next = ok(app
        .get(
            "acme",
            &format!("/api/v1/notifications?unread=true&limit=1&before={before}"),
            &s.editor.1.access,
        )
        .await)
    .await;
    assert_eq!(next["items"][0]["kind"], "comment.mentioned");

    // Someone who leaves the workspace no longer sees what was said in it.
    let left = app
        .request(
            Method::DELETE,
            "acme",
            &format!("{}/members/{}", s.base, s.editor.0.id),
        )
        .bearer_auth(&s.editor.1.access)
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    let ed = inbox(s.editor.1.clone()).await;
    assert_eq!(ed["unread"], 0);
    assert!(ed["items"].as_array().unwrap().is_empty());
    // Mentioned from a request whose Host names acme oddly (case, trailing dot, a port of the
    // requester's choosing): the link still leads to acme's own address.
    let crafted = format!("ACME.{}.:6666", app.settings.server.base_domain);
    let odd = app
        .request_with_host(Method::POST, Some(&crafted), &comments)
        .bearer_auth(&s.commenter.1.access)
        .json(&json!({ "body": "@vic once more", "mentions": [s.viewer.0.id] }))
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), StatusCode::CREATED);
    while app.worker.run_once().await.unwrap() > 0 {}
    let again = mentioned(&s.viewer.0);
    let odd_mail = again
        .iter()
        .find(|m| m.text.contains("once more"))
        .expect("a mail for the second mention");
    assert!(
        odd_mail
            .text
            .contains(&format!("http://{}/workspaces/", app.host("acme")))
            && !odd_mail.text.contains(":6666"),
        "{}",
        odd_mail.text
    );
}

#[tokio::test]
async fn anchors_count_characters_and_line_breaks_are_one_kind() {
    let (app, _smtp) = app_with_smtp().await;
    // Saved from Windows: CRLF line breaks become LF, so offsets and diffs see one kind.
    let s = space(&app, "Grüße 👋\r\nWir bauen Brücken.\r\n").await;
    let doc = ok(app.get("acme", &s.doc, &s.viewer.1.access).await).await;
    let v1 = doc["body"].as_str().unwrap().to_owned();
    assert_eq!(v1, "Grüße 👋\nWir bauen Brücken.\n");
    // Characters, not bytes nor UTF-16 units: the wave is one character.
    let (start, end) = span_of(&v1, "Brücken");
    assert_eq!((start, end), (18, 25));
    let thread = ok(app
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.commenter.1.access,
            &json!({ "body": "Bridges?", "anchor": { "version": 1, "start": start, "end": end, "quote": "Brücken" } }),
        )
        .await)
    .await;
    assert_eq!(thread["anchor"]["quote"], "Brücken");
    // UTF-16 offsets (the wave is two units) name other text, and the quote says so.
    let utf16 = app
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.commenter.1.access,
            &json!({ "body": "x", "anchor": { "version": 1, "start": 19, "end": 26, "quote": "Brücken" } }),
        )
        .await;
    assert_eq!(utf16.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v2 = "Liebe Grüße 👋👋\r\nWir bauen Brücken.\r\n";
    save(&app, &s.editor.1, &s.doc, 1, v2).await;
    let listed = threads(&app, &s.viewer.1, &s.doc, "all").await;
    let anchor = &listed[0]["anchor"];
    assert_eq!(anchor["outdated"], false);
    let now = v2.replace("\r\n", "\n");
    assert_eq!(
        chars(&now, &anchor["located"]["start"], &anchor["located"]["end"]),
        "Brücken"
    );
}
