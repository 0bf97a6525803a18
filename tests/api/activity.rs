//! The workspaces' activity feed and its live stream through HTTP as the app role: entries shaped as
//! Activity Streams activities for every kind of change, each member's feed across their workspaces,
//! Server-Sent Events delivered across two server instances sharing Redis (with polling too slow to
//! explain it), polling when Redis is down, and presence kept in Redis.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::ok,
    comments::{save, space},
    helpers::{Session, TestApp, eventually, spawn_app_with, spawn_peer},
};

/// Server-Sent Events read from a response, block by block.
struct Events {
    response: reqwest::Response,
    text: String,
}

impl Events {
    async fn open(app: &TestApp, session: &Session, path: &str) -> Events {
        let response = app.get("acme", path, &session.access).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events {
            response,
            text: String::new(),
        }
    }

    /// The next event of `kind` (skipping others and keep-alives), within `seconds`.
    async fn next(&mut self, kind: &str, seconds: u64) -> Option<(Option<String>, Value)> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::to_owned)
                };
                if field("event: ").as_deref() == Some(kind) {
                    let data = field("data: ").unwrap_or_default();
                    return Some((field("id: "), serde_json::from_str(&data).unwrap()));
                }
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }
}

#[tokio::test]
async fn every_change_is_an_activity_in_the_feeds_of_the_workspaces_members() {
    let app = spawn_app_with(|_| {}).await;
    let s = space(&app, "Dear team,\n").await;
    let comments = format!("{}/comments", s.doc);
    save(&app, &s.editor.1, &s.doc, 1, "Dear hiring team,\n").await;
    let thread = ok(app
        .post(
            "acme",
            &comments,
            &s.commenter.1.access,
            &json!({ "body": "Warmer?" }),
        )
        .await)
    .await;
    ok(app
        .post(
            "acme",
            &format!("{comments}/{}/resolve", thread["id"].as_str().unwrap()),
            &s.editor.1.access,
            &json!({}),
        )
        .await)
    .await;
    let review = ok(app
        .post(
            "acme",
            &format!("{}/reviews", s.doc),
            &s.editor.1.access,
            &json!({ "mode": "any", "approvers": [s.owner.0.id] }),
        )
        .await)
    .await;
    ok(app
        .post(
            "acme",
            &format!(
                "{}/reviews/{}/decision",
                s.doc,
                review["id"].as_str().unwrap()
            ),
            &s.owner.1.access,
            &json!({ "decision": "approve" }),
        )
        .await)
    .await;

    let feed = ok(app
        .get("acme", &format!("{}/activity", s.base), &s.viewer.1.access)
        .await)
    .await;
    let items = feed["items"].as_array().unwrap();
    let verbs: Vec<(&str, &str)> = items
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap(),
                a["object"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verbs,
        [
            ("Accept", "Review"),
            ("Offer", "Review"),
            ("Resolve", "Note"),
            ("Create", "Note"),
            ("Update", "Document"),
            ("Create", "Document"),
            ("Add", "Person"),
            ("Add", "Person"),
            ("Add", "Person"),
            ("Create", "Group"),
        ],
        "newest first: {feed}"
    );
    let saved = &items[4];
    assert_eq!(saved["actor"]["type"], "Person");
    assert_eq!(saved["actor"]["id"], s.editor.0.id.to_string());
    assert_eq!(saved["target"]["type"], "Group");
    assert_eq!(saved["object"]["name"], "Cover letter: Data Lead");
    assert!(
        saved["summary"]
            .as_str()
            .unwrap()
            .contains("saved version 2 of “Cover letter: Data Lead”"),
        "{saved}"
    );
    // Paging both ways.
    let page = ok(app
        .get(
            "acme",
            &format!("{}/activity?limit=4", s.base),
            &s.viewer.1.access,
        )
        .await)
    .await;
    let before = page["next_before"].as_str().unwrap();
    assert_eq!(before, items[3]["id"].as_str().unwrap());
    let older = ok(app
        .get(
            "acme",
            &format!("{}/activity?limit=4&before={before}", s.base),
            &s.viewer.1.access,
        )
        .await)
    .await;
    assert_eq!(older["items"][0]["id"], items[4]["id"]);
    let newer = ok(app
        .get(
            "acme",
            &format!(
                "{}/activity?after={}",
                s.base,
                items[2]["id"].as_str().unwrap()
            ),
            &s.viewer.1.access,
        )
        .await)
    .await;
    let newer: Vec<&Value> = newer["items"].as_array().unwrap().iter().collect();
    assert_eq!(newer.len(), 2);
    assert_eq!(newer[0]["id"], items[1]["id"], "oldest first");

    // Someone outside the workspace sees none of it; a member's own feed spans their workspaces.
    let hidden = app
        .get(
            "acme",
            &format!("{}/activity", s.base),
            &s.outsider.1.access,
        )
        .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    ok(app
        .post(
            "acme",
            "/api/v1/workspaces",
            &s.viewer.1.access,
            &json!({ "name": "Vic's own" }),
        )
        .await)
    .await;
    let mine = ok(app
        .get("acme", "/api/v1/activity", &s.viewer.1.access)
        .await)
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), items.len() + 1);
    assert_eq!(mine["items"][0]["target"]["name"], "Vic's own");
    let theirs = ok(app
        .get("acme", "/api/v1/activity", &s.outsider.1.access)
        .await)
    .await;
    assert!(theirs["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_a_stream_on_another_through_redis() {
    // Streams would read on their own only once a minute: only pub/sub explains a prompt delivery.
    let a = spawn_app_with(|s| s.workspaces.live_poll_ms = 60_000).await;
    let b = spawn_peer(&a).await;
    for app in [&a, &b] {
        eventually("the bus is live", 10, async || {
            let ready: Value = app.base_get("/readyz").await.json().await.unwrap();
            ready["invalidation"] == "live"
        })
        .await;
    }
    let s = space(&a, "Dear team,\n").await;
    let stream = format!("{}/activity/stream", s.base);
    let mut events = Events::open(&b, &s.viewer.1, &stream).await;
    let (_, presence) = events.next("presence", 10).await.expect("presence at once");
    assert_eq!(presence["available"], true);
    assert_eq!(presence["viewers"], json!([]));

    save(&a, &s.editor.1, &s.doc, 1, "Dear hiring team,\n").await;
    let (id, entry) = events
        .next("activity", 10)
        .await
        .expect("the save, through Redis");
    assert_eq!(entry["type"], "Update");
    assert_eq!(id.as_deref(), entry["id"].as_str());
    assert!(
        entry["summary"]
            .as_str()
            .unwrap()
            .contains("saved version 2")
    );

    // Someone opens the document on instance A: the stream on B shows them.
    let here = a
        .send_json(
            Method::PUT,
            "acme",
            &format!("{}/presence", s.doc),
            &s.commenter.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(here.status(), StatusCode::NO_CONTENT);
    let listed = ok(b
        .get("acme", &format!("{}/presence", s.base), &s.viewer.1.access)
        .await)
    .await;
    assert_eq!(
        listed["viewers"][0]["document_id"],
        s.doc.rsplit('/').next().unwrap()
    );
    let (_, presence) = events.next("presence", 10).await.expect("presence");
    assert_eq!(
        presence["viewers"][0]["user"]["id"],
        s.commenter.0.id.to_string()
    );
    let gone = a
        .request(Method::DELETE, "acme", &format!("{}/presence", s.doc))
        .bearer_auth(&s.commenter.1.access)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let (_, presence) = events.next("presence", 10).await.expect("gone");
    assert_eq!(presence["viewers"], json!([]));

    // Resuming with Last-Event-ID sends what came after, and nothing twice.
    let last = id.unwrap();
    let thread = ok(a
        .post(
            "acme",
            &format!("{}/comments", s.doc),
            &s.commenter.1.access,
            &json!({ "body": "Nice" }),
        )
        .await)
    .await;
    let (_, comment) = events.next("activity", 10).await.expect("the comment");
    assert_eq!(comment["object"]["id"], thread["id"]);
    drop(events);
    let resumed = b
        .request(Method::GET, "acme", &stream)
        .bearer_auth(&s.viewer.1.access)
        .header("Last-Event-ID", &last)
        .send()
        .await
        .unwrap();
    let mut resumed = Events {
        response: resumed,
        text: String::new(),
    };
    let (_, again) = resumed.next("activity", 10).await.expect("caught up");
    assert_eq!(again["id"], comment["id"]);
    assert!(resumed.next("activity", 2).await.is_none(), "nothing twice");

    // Nobody outside the workspace streams it or sees who is in it; a bad Last-Event-ID is refused.
    for path in [stream.clone(), format!("{}/presence", s.base)] {
        let hidden = b.get("acme", &path, &s.outsider.1.access).await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let hidden = b
        .send_json(
            Method::PUT,
            "acme",
            &format!("{}/presence", s.doc),
            &s.outsider.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    for bad in [
        "not-an-id".to_owned(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Builder::from_unix_timestamp_millis(4_000_000_000_000, &[0; 10])
            .into_uuid()
            .to_string(),
    ] {
        let refused = b
            .request(Method::GET, "acme", &stream)
            .bearer_auth(&s.viewer.1.access)
            .header("Last-Event-ID", &bad)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // A member removed from the workspace: their stream ends.
    let mut viewer = Events::open(&b, &s.viewer.1, &stream).await;
    viewer.next("presence", 10).await.expect("presence");
    let removed = a
        .request(
            Method::DELETE,
            "acme",
            &format!("{}/members/{}", s.base, s.viewer.0.id),
        )
        .bearer_auth(&s.owner.1.access)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert!(viewer.next("end", 10).await.is_some(), "the stream ends");
}

#[tokio::test]
async fn without_redis_streams_poll_and_presence_says_it_is_unavailable() {
    let app = spawn_app_with(|s| {
        s.redis.url = secrecy::SecretString::from("redis://127.0.0.1:1".to_owned());
        s.workspaces.live_poll_ms = 200;
    })
    .await;
    // A second instance, without Redis too: only reading the database can carry its changes.
    let peer = spawn_peer(&app).await;
    let s = space(&app, "Dear team,\n").await;
    let mut events = Events::open(&app, &s.viewer.1, &format!("{}/activity/stream", s.base)).await;
    let (_, presence) = events.next("presence", 10).await.expect("presence");
    assert_eq!(presence["available"], false);
    let here = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("{}/presence", s.doc),
            &s.commenter.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(here.status(), StatusCode::SERVICE_UNAVAILABLE);
    save(&peer, &s.editor.1, &s.doc, 1, "Dear hiring team,\n").await;
    let (_, entry) = events.next("activity", 10).await.expect("by polling");
    assert_eq!(entry["type"], "Update");

    // A burst larger than one read's page, written at once: every entry arrives, once.
    let owner_pool = app.owner_pool().await;
    let workspace_id = s.base.rsplit('/').next().unwrap().to_owned();
    let ids: Vec<uuid::Uuid> = (0..450).map(|_| uuid::Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO workspace_activity (tenant_id, id, workspace_id, actor_id, verb, object_type, object_id, \
         summary, created_at) SELECT w.tenant_id, i, w.id, NULL, 'Update', 'Group', w.id, 'burst', now() \
         FROM workspaces w, unnest($1::uuid[]) AS i WHERE w.id = $2::uuid",
    )
    .bind(&ids)
    .bind(&workspace_id)
    .execute(&owner_pool)
    .await
    .unwrap();
    owner_pool.close().await;
    let mut seen = std::collections::BTreeSet::new();
    while let Some((id, _)) = events.next("activity", 10).await {
        assert!(seen.insert(id.unwrap()), "sent twice");
        if seen.len() == ids.len() {
            break;
        }
    }
    assert_eq!(seen.len(), ids.len());
    assert!(events.next("activity", 2).await.is_none(), "nothing more");
}

#[tokio::test]
async fn a_stream_of_a_workspace_with_no_entries_yet_sends_them_oldest_first() {
    // Without Redis the stream reads every 200 ms, so entries written straight into the table arrive.
    let app = spawn_app_with(|s| {
        s.redis.url = secrecy::SecretString::from("redis://127.0.0.1:1".to_owned());
        s.workspaces.live_poll_ms = 200;
    })
    .await;
    let s = space(&app, "Dear team,\n").await;
    // A workspace from before the feed existed has no entries at all.
    let owner_pool = app.owner_pool().await;
    sqlx::query("DELETE FROM workspace_activity")
        .execute(&owner_pool)
        .await
        .unwrap();
    owner_pool.close().await;
    let mut events = Events::open(&app, &s.viewer.1, &format!("{}/activity/stream", s.base)).await;
    events.next("presence", 10).await.expect("presence");
    // Two entries commit together: they arrive in their order.
    let ids = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
    let owner_pool = app.owner_pool().await;
    sqlx::query(
        "INSERT INTO workspace_activity (tenant_id, id, workspace_id, actor_id, verb, object_type, object_id, \
         summary, created_at) SELECT w.tenant_id, i, w.id, NULL, 'Update', 'Group', w.id, 'together', now() \
         FROM workspaces w, unnest($1::uuid[]) AS i WHERE w.id = $2::uuid",
    )
    .bind(&ids[..])
    .bind(s.base.rsplit('/').next().unwrap())
    .execute(&owner_pool)
    .await
    .unwrap();
    owner_pool.close().await;
    let (first, _) = events.next("activity", 10).await.expect("the first");
    let (second, _) = events.next("activity", 10).await.expect("the second");
    assert_eq!(
        [first.unwrap(), second.unwrap()],
        [ids[0].to_string(), ids[1].to_string()],
        "oldest first"
    );
    save(&app, &s.editor.1, &s.doc, 1, "Second\n").await;
    let (_, saved) = events.next("activity", 10).await.expect("the save");
    assert!(
        saved["summary"].as_str().unwrap().contains("version 2"),
        "{saved}"
    );
}
