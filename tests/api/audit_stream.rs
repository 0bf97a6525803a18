//! The audit log stream, against a real HTTP receiver on loopback: signed batches in sequence order,
//! retry with backoff after the receiver fails (the batch sent again), status for admins, settings that
//! refuse bad input and keep secrets, a test delivery, and organizations kept apart. Also the worker's
//! partition upkeep.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Session, TestApp, expect_problem, spawn_app, spawn_app_with};

const SECRET: &str = "a shared secret of some length";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The events of a `json` batch.
    fn events(&self) -> Vec<Value> {
        self.json()["events"].as_array().unwrap().clone()
    }

    fn seqs(&self) -> Vec<i64> {
        self.events()
            .iter()
            .map(|e| e["seal"]["seq"].as_i64().unwrap())
            .collect()
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    /// Statuses to answer with, first first; 200 once they run out.
    answers: Vec<u16>,
    /// How long to wait before answering.
    delay: std::time::Duration,
}

/// A SIEM stand-in: an HTTP server on 127.0.0.1 that keeps what it is sent.
struct Receiver {
    port: u16,
    inbox: Arc<Mutex<Inbox>>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let shared = inbox.clone();
        let server = HttpServer::new(move || {
            let inbox = shared.clone();
            App::new().default_service(web::to(move |request: HttpRequest, body: web::Bytes| {
                let inbox = inbox.clone();
                async move {
                    let delay = inbox.lock().unwrap().delay;
                    tokio::time::sleep(delay).await;
                    let mut inbox = inbox.lock().unwrap();
                    inbox.received.push(Received {
                        path: request.path().to_owned(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                            .collect(),
                        body: body.to_vec(),
                    });
                    let status = if inbox.answers.is_empty() {
                        200
                    } else {
                        inbox.answers.remove(0)
                    };
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .insert_header(("location", "http://127.0.0.1:1/elsewhere"))
                        .body(format!("answered {status}"))
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            port,
            inbox,
            server: handle,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn answer(&self, statuses: &[u16]) {
        self.inbox
            .lock()
            .unwrap()
            .answers
            .extend_from_slice(statuses);
    }

    fn delay(&self, delay: std::time::Duration) {
        self.inbox.lock().unwrap().delay = delay;
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let server = self.server.clone();
        tokio::spawn(async move { server.stop(false).await });
    }
}

/// Checks `Trellis-Signature` the way docs/audit.md tells a receiver to.
fn signature_holds(received: &Received, secret: &str) -> bool {
    let header = &received.headers["trellis-signature"];
    let (t, v1) = header.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&received.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn put_stream(
    app: &TestApp,
    slug: &str,
    session: &Session,
    body: Value,
) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        slug,
        "/api/v1/audit-stream",
        &session.access,
        &body,
    )
    .await
}

async fn status(app: &TestApp, slug: &str, session: &Session) -> Value {
    let response = app.get(slug, "/api/v1/audit-stream", &session.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `n` changes in `slug` (settings renamed back and forth), each its own audit event.
async fn changes(app: &TestApp, slug: &str, session: &Session, n: usize) {
    for i in 0..n {
        let response = app
            .send_json(
                Method::PATCH,
                slug,
                "/api/v1/org/settings",
                &session.access,
                &json!({ "display_name": format!("{slug} {i} {}", uuid::Uuid::now_v7().simple()) }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// Every event id of the organization's log, oldest first.
async fn log_ids(app: &TestApp, slug: &str, session: &Session) -> Vec<String> {
    let page: Value = app
        .get(slug, "/api/v1/audit-events?limit=200", &session.access)
        .await
        .json()
        .await
        .unwrap();
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.reverse();
    ids
}

#[tokio::test]
async fn batches_arrive_signed_in_order_and_a_failed_one_is_sent_again_after_backoff() {
    let app = spawn_app_with(|s| {
        s.audit.stream_batch = 4;
        s.audit.stream_backoff_base_secs = 30;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let receiver = Receiver::start().await;
    let created = put_stream(
        &app,
        "acme",
        &owner,
        json!({
            "url": receiver.url("/collector"),
            "secret": SECRET,
            "headers": { "Authorization": "Splunk token-123" },
            "start_at": "oldest",
        }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["header_names"], json!(["authorization"]));
    assert_eq!(created["secret_set"], json!(true));
    assert!(!created.to_string().contains(SECRET));
    assert!(!created.to_string().contains("token-123"));
    changes(&app, "acme", &owner, 5).await;
    app.worker.seal_audit().await.unwrap();
    let log = log_ids(&app, "acme", &owner).await;
    assert!(
        log.len() >= 7,
        "sign-in, stream created, five changes: {log:?}"
    );

    // The receiver fails the first batch: nothing is delivered, the status says why.
    receiver.answer(&[503]);
    assert_eq!(app.worker.deliver_audit_streams().await.unwrap(), 0);
    let failing = status(&app, "acme", &owner).await;
    assert_eq!(failing["delivery"]["state"], "failing", "{failing}");
    assert_eq!(failing["delivery"]["consecutive_failures"], 1);
    assert_eq!(failing["delivery"]["last_status"], 503);
    assert!(
        failing["delivery"]["last_error"]
            .as_str()
            .unwrap()
            .contains("answered 503"),
        "{failing}"
    );
    assert_eq!(failing["delivery"]["delivered_seq"], 0);
    assert_eq!(receiver.received().len(), 1);

    // Not due before its backoff runs out.
    app.clock.advance(chrono::Duration::seconds(29));
    assert_eq!(app.worker.deliver_audit_streams().await.unwrap(), 0);
    assert_eq!(receiver.received().len(), 1);

    // Then the same batch again, and the rest, four events a batch, in sequence order.
    app.clock.advance(chrono::Duration::seconds(2));
    let delivered = app.worker.deliver_audit_streams().await.unwrap();
    let received = receiver.received();
    assert_eq!(delivered as usize, log.len());
    assert_eq!(
        received[0].body, received[1].body,
        "the failed batch is sent again"
    );
    let sent: Vec<i64> = received[1..].iter().flat_map(Received::seqs).collect();
    assert_eq!(sent, (1..=log.len() as i64).collect::<Vec<_>>());
    assert!(received[1..].iter().all(|r| r.events().len() <= 4));
    assert_eq!(received.len(), 1 + log.len().div_ceil(4));
    let sent_ids: Vec<String> = received[1..]
        .iter()
        .flat_map(Received::events)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sent_ids, log,
        "every event of the log, in the chain's order"
    );
    for r in &received {
        assert_eq!(r.path, "/collector");
        assert!(signature_holds(r, SECRET), "signature of {:?}", r.headers);
        assert!(!signature_holds(r, "another secret of some length"));
        assert_eq!(r.headers["authorization"], "Splunk token-123");
        assert_eq!(r.headers["content-type"], "application/json");
        let seqs = r.seqs();
        assert_eq!(
            r.headers["trellis-sequence"],
            format!("{}-{}", seqs[0], seqs[seqs.len() - 1])
        );
    }
    let event = &received[1].events()[0];
    assert_eq!(event["tenant_id"], acme.id.to_string());
    assert_eq!(event["seal"]["hash"].as_str().unwrap().len(), 64);

    let healthy = status(&app, "acme", &owner).await;
    assert_eq!(healthy["delivery"]["state"], "up_to_date", "{healthy}");
    assert_eq!(healthy["delivery"]["consecutive_failures"], 0);
    assert_eq!(healthy["delivery"]["delivered_seq"], log.len() as i64);
    assert_eq!(healthy["delivery"]["delivered_events"], log.len() as i64);
    assert_eq!(healthy["delivery"]["last_error"], Value::Null);

    // Later events continue the sequence; nothing is sent twice once accepted.
    changes(&app, "acme", &owner, 2).await;
    app.worker.seal_audit().await.unwrap();
    let before = receiver.received().len();
    assert!(app.worker.deliver_audit_streams().await.unwrap() >= 2);
    let next = &receiver.received()[before];
    assert_eq!(next.seqs()[0], log.len() as i64 + 1);
    assert_eq!(app.worker.deliver_audit_streams().await.unwrap(), 0);
}

#[tokio::test]
async fn a_redirect_or_an_unreachable_receiver_is_a_failure_with_backoff() {
    let app = spawn_app_with(|s| s.audit.stream_backoff_base_secs = 10).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let receiver = Receiver::start().await;
    put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": receiver.url("/in"), "secret": SECRET, "start_at": "oldest" }),
    )
    .await;
    app.worker.seal_audit().await.unwrap();
    receiver.answer(&[302]);
    app.worker.deliver_audit_streams().await.unwrap();
    let redirected = status(&app, "acme", &owner).await;
    assert_eq!(redirected["delivery"]["last_status"], 302, "{redirected}");
    assert_eq!(redirected["delivery"]["delivered_seq"], 0);
    assert_eq!(receiver.received().len(), 1, "the redirect is not followed");

    // A port nobody listens on: no status, a transport error, and the backoff doubles.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let moved = put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": format!("http://127.0.0.1:{dead_port}/in"), "secret": SECRET }),
    )
    .await;
    assert_eq!(moved.status(), StatusCode::OK);
    for failures in 1..=2 {
        let now = trellis::clock::Clock::now(&app.clock);
        app.worker.deliver_audit_streams().await.unwrap();
        let down = status(&app, "acme", &owner).await;
        assert_eq!(down["delivery"]["consecutive_failures"], failures, "{down}");
        assert_eq!(down["delivery"]["last_status"], Value::Null);
        assert!(
            down["delivery"]["last_error"]
                .as_str()
                .unwrap()
                .contains("connect"),
            "{down}"
        );
        let next: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(down["delivery"]["next_attempt_at"].clone()).unwrap();
        // Stored to the microsecond.
        let backoff = chrono::Duration::seconds(10 * 2i64.pow(failures - 1));
        assert!(
            (next - now - backoff).num_milliseconds().abs() < 1,
            "{next} {now}"
        );
        app.clock.advance(next - now);
    }
}

#[tokio::test]
async fn start_at_now_sends_only_new_events_and_other_formats_are_laid_out_for_their_receiver() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    changes(&app, "acme", &owner, 3).await;
    app.worker.seal_audit().await.unwrap();
    let receiver = Receiver::start().await;
    put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": receiver.url("/hec"), "secret": SECRET, "format": "splunk_hec" }),
    )
    .await;
    app.worker.seal_audit().await.unwrap();
    // Only the stream's own creation is new.
    assert_eq!(app.worker.deliver_audit_streams().await.unwrap(), 1);
    let hec = &receiver.received()[0];
    let line: Value = serde_json::from_slice(&hec.body).unwrap();
    assert_eq!(line["sourcetype"], "trellis:audit");
    assert_eq!(line["event"]["action"], "audit_stream.created");
    assert!(line["time"].as_f64().unwrap() > 1.7e9);
    assert!(signature_holds(hec, SECRET));

    let moved = put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": receiver.url("/array"), "format": "json_array" }),
    )
    .await;
    assert_eq!(
        moved.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "another path: the secret does not follow without being sent again"
    );
    let changed = put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": receiver.url("/hec"), "format": "json_array" }),
    )
    .await;
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "same endpoint: the secret is kept"
    );
    changes(&app, "acme", &owner, 2).await;
    app.worker.seal_audit().await.unwrap();
    assert_eq!(app.worker.deliver_audit_streams().await.unwrap(), 3);
    let array = &receiver.received()[1];
    assert_eq!(array.path, "/hec");
    let events: Vec<Value> = serde_json::from_slice(&array.body).unwrap();
    assert_eq!(events[0]["action"], "audit_stream.updated");
    assert_eq!(events[1]["action"], "org.settings_updated");
    assert!(signature_holds(array, SECRET));
}

#[tokio::test]
async fn settings_refuse_bad_input_keep_secrets_and_are_audited() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    expect_problem(
        app.get("acme", "/api/v1/audit-stream", &owner.access).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for (body, field) in [
        (
            json!({ "url": "ftp://siem.example/in", "secret": SECRET }),
            "url",
        ),
        (
            json!({ "url": "https://u:p@siem.example/in", "secret": SECRET }),
            "url",
        ),
        (json!({ "url": "https://siem.example/in" }), "secret"),
        (
            json!({ "url": "https://siem.example/in", "secret": "short" }),
            "secret",
        ),
        (
            json!({ "url": "https://siem.example/in", "secret": SECRET, "format": "xml" }),
            "format",
        ),
        (
            json!({ "url": "https://siem.example/in", "secret": SECRET, "headers": { "Host": "x" } }),
            "headers.Host",
        ),
        (
            json!({ "url": "https://siem.example/in", "secret": SECRET, "headers": { "X-A": "a\nb" } }),
            "headers.X-A",
        ),
    ] {
        let response = put_stream(&app, "acme", &owner, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let unknown = put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": "https://siem.example/in", "secret": SECRET, "batch": 5 }),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    expect_problem(
        app.get("acme", "/api/v1/audit-stream", &owner.access).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(
        !app.audit_actions(acme.id)
            .await
            .iter()
            .any(|a| a.starts_with("audit_stream."))
    );

    let created = put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": "https://siem.example/in", "secret": SECRET, "headers": { "DD-API-KEY": "dd-key-1" } }),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // Another origin: neither the secret nor the headers follow the URL there.
    for body in [
        json!({ "url": "https://elsewhere.example/in" }),
        json!({ "url": "https://elsewhere.example/in", "secret": SECRET }),
    ] {
        let moved = put_stream(&app, "acme", &owner, body.clone()).await;
        assert_eq!(moved.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let moved = put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": "https://elsewhere.example/in", "secret": SECRET, "headers": {}, "enabled": false }),
    )
    .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["header_names"], json!([]));
    assert_eq!(moved["delivery"]["state"], "disabled");
    let deleted = app
        .delete("acme", "/api/v1/audit-stream", &owner.access)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    app.assert_audited(
        acme.id,
        &[
            "audit_stream.created",
            "audit_stream.updated",
            "audit_stream.deleted",
        ],
    )
    .await;
    let events: Value = app
        .get(
            "acme",
            "/api/v1/audit-events?action=audit_stream.",
            &owner.access,
        )
        .await
        .json()
        .await
        .unwrap();
    let text = events.to_string();
    assert_eq!(events["items"].as_array().unwrap().len(), 3, "{text}");
    assert!(
        !text.contains(SECRET) && !text.contains("dd-key-1"),
        "{text}"
    );
    assert!(text.contains("\"secret_changed\":true"), "{text}");

    // Compliance reads the log but does not configure its stream.
    let compliance = app.add_member(&acme, &owner, "carol", "compliance").await;
    let compliance = app.login("acme", &compliance).await;
    expect_problem(
        app.get("acme", "/api/v1/audit-stream", &compliance.access)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn a_test_delivery_reports_the_receivers_answer_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let receiver = Receiver::start().await;
    put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": receiver.url("/in"), "secret": SECRET, "headers": { "X-Token": "t1" } }),
    )
    .await;
    let actions = app.audit_actions(acme.id).await;
    let tested: Value = app
        .post(
            "acme",
            "/api/v1/audit-stream/test",
            &owner.access,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(tested["status"], 200);
    let test = &receiver.received()[0];
    assert_eq!(test.json()["test"], true);
    assert_eq!(test.events()[0]["action"], "audit_stream.test");
    assert_eq!(test.headers["x-token"], "t1");
    assert!(!test.headers.contains_key("trellis-sequence"));
    assert!(signature_holds(test, SECRET));

    receiver.answer(&[401]);
    let refused: Value = app
        .post(
            "acme",
            "/api/v1/audit-stream/test",
            &owner.access,
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["status"], 401);
    assert!(refused["error"].as_str().unwrap().contains("answered 401"));
    assert_eq!(
        app.audit_actions(acme.id).await.len(),
        actions.len(),
        "a test records nothing"
    );
    let unchanged = status(&app, "acme", &owner).await;
    assert_eq!(unchanged["delivery"]["consecutive_failures"], 0);
}

#[tokio::test]
async fn each_organization_streams_only_its_own_events() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let acme_owner = app.login_owner(&acme).await;
    let globex_owner = app.login_owner(&globex).await;
    let receiver = Receiver::start().await;
    for (slug, session) in [("acme", &acme_owner), ("globex", &globex_owner)] {
        let created = put_stream(
            &app,
            slug,
            session,
            json!({ "url": receiver.url(&format!("/{slug}")), "secret": format!("{SECRET} of {slug}"), "start_at": "oldest" }),
        )
        .await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    changes(&app, "acme", &acme_owner, 3).await;
    changes(&app, "globex", &globex_owner, 1).await;
    app.worker.seal_audit().await.unwrap();
    app.worker.deliver_audit_streams().await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        let slug = r.path.trim_start_matches('/');
        let tenant = if slug == "acme" { acme.id } else { globex.id };
        assert!(signature_holds(r, &format!("{SECRET} of {slug}")));
        for event in r.events() {
            assert_eq!(event["tenant_id"], tenant.to_string(), "{slug}: {event}");
        }
        assert_eq!(r.seqs()[0], 1, "each organization's own sequence");
    }
    let acme_ids = log_ids(&app, "acme", &acme_owner).await;
    let acme_batch = received.iter().find(|r| r.path == "/acme").unwrap();
    let sent: Vec<String> = acme_batch
        .events()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, acme_ids);
}

#[tokio::test]
async fn the_worker_makes_audit_partitions_ahead_and_the_app_role_cannot() {
    let app = spawn_app_with(|s| s.database.audit_partitions_ahead = 6).await;
    let mut admin = app.admin_connection().await;
    let count = "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'audit_events'::regclass AND c.relname <> 'audit_events_default'";
    let before: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let created = app.worker.ensure_audit_partitions().await.unwrap();
    let after: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(after, 7, "this month and six ahead");
    assert_eq!(after - before, created as i64);
    assert_eq!(
        app.worker.ensure_audit_partitions().await.unwrap(),
        0,
        "idempotent"
    );
    let owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(c.relowner)::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'audit_events'::regclass ORDER BY c.relname DESC LIMIT 1",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(owner, "trellis_owner");

    let mut as_app = app.app_connection().await;
    let refused = sqlx::query("SELECT app.ensure_audit_partitions(1)")
        .execute(&mut as_app)
        .await
        .unwrap_err();
    assert_eq!(crate::helpers::sqlstate(&refused), "42501");
}

#[tokio::test]
async fn a_settings_change_while_a_batch_is_in_flight_sends_it_again_from_the_new_cursor() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let receiver = Receiver::start().await;
    put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": receiver.url("/in"), "secret": SECRET, "start_at": "oldest" }),
    )
    .await;
    changes(&app, "acme", &owner, 2).await;
    app.worker.seal_audit().await.unwrap();
    receiver.delay(std::time::Duration::from_millis(1500));
    let worker = app.worker.clone();
    let in_flight = tokio::spawn(async move { worker.deliver_audit_streams().await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // The admin re-points the stream while the batch waits for its answer.
    let changed = put_stream(
        &app,
        "acme",
        &owner,
        json!({ "url": receiver.url("/in"), "format": "json", "start_at": "oldest" }),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK);
    in_flight.await.unwrap();
    assert_eq!(
        receiver.received().len(),
        1,
        "the batch in flight did arrive"
    );
    let after = status(&app, "acme", &owner).await;
    assert_eq!(
        after["delivery"]["delivered_seq"], 0,
        "the answer to a batch sent under the old settings does not move the new cursor: {after}"
    );
    receiver.delay(std::time::Duration::ZERO);
    app.worker.seal_audit().await.unwrap();
    app.worker.deliver_audit_streams().await.unwrap();
    let again = &receiver.received()[1];
    assert_eq!(again.seqs()[0], 1, "sent again from the start");
}

#[tokio::test]
async fn outside_development_the_sender_refuses_internal_addresses_at_delivery() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let receiver = Receiver::start().await;
    let sender =
        trellis::audit::stream::sender::Sender::new(std::time::Duration::from_secs(2), false)
            .unwrap();
    for url in [
        format!("https://localhost:{}/in", receiver.port),
        format!("https://127.0.0.1:{}/in", receiver.port),
        format!("http://siem.example:{}/in", receiver.port),
    ] {
        let attempt = sender
            .post(trellis::audit::stream::sender::Delivery {
                url: &url,
                secret: b"0123456789abcdef",
                headers: &[],
                body: b"{}".to_vec(),
                timestamp: 0,
                sequence: None,
            })
            .await;
        assert!(!attempt.succeeded(), "{url}");
        assert_eq!(attempt.status, None, "{url}: never reached");
    }
    assert!(receiver.received().is_empty());
}
