//! The audit log as compliance staff use it: search and pages, export, the hash chain's verification
//! against tampering done directly in SQL as the owner, retention, and signing-key rotation.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, PgPool};
use trellis::clock::Clock;

use crate::helpers::{
    Session, TestApp, TestTenant, expect_problem, spawn_app, spawn_app_with, spawn_peer_with,
};

/// `n` invitations, each its own request (`member.invited`), one clock second apart in pairs, so some
/// events share their `occurred_at` (ties the cursor must order by id).
async fn invite_many(app: &TestApp, session: &Session, n: usize) {
    for i in 0..n {
        let response = app
            .post(
                "acme",
                "/api/v1/invitations",
                &session.access,
                &json!({
                    "email": format!("person{i}-{}@acme.example", uuid::Uuid::now_v7().simple()),
                    "role": "member",
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        if i % 2 == 1 {
            app.clock.advance(chrono::Duration::seconds(1));
        }
    }
}

async fn page(app: &TestApp, session: &Session, query: &str) -> Value {
    let response = app
        .get(
            "acme",
            &format!("/api/v1/audit-events?{query}"),
            &session.access,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_pages_newest_first_through_ties_and_new_events() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    invite_many(&app, &owner, 9).await;

    let everything = page(&app, &owner, "limit=200").await;
    let all = ids(&everything);
    let times: Vec<(String, String)> = everything["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["occurred_at"].as_str().unwrap().to_owned(),
                e["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first, ties by id");
    assert!(
        times.windows(2).any(|w| w[0].0 == w[1].0),
        "the data has ties"
    );

    // Page by 2; an event written meanwhile never shows up twice nor pushes one out.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_owned(),
        };
        let got = page(&app, &owner, &query).await;
        seen.extend(ids(&got));
        if seen.len() == 2 {
            invite_many(&app, &owner, 1).await;
        }
        match got["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, all, "every event once, in order, none added midway");

    // The event's shape.
    let invited = page(&app, &owner, "action=member.invited&limit=1").await;
    let event = &invited["items"][0];
    assert_eq!(event["actor"]["type"], "user");
    assert_eq!(event["actor"]["id"], acme.owner.id.to_string());
    assert_eq!(event["actor"]["display"], acme.owner.email.as_str());
    assert_eq!(event["targets"][0]["type"], "user");
    assert_eq!(event["tenant_id"], acme.id.to_string());
    assert!(event["context"]["request_id"].is_string());
    assert_eq!(event["metadata"]["role"], "member");
}

#[tokio::test]
async fn filters_narrow_the_search_and_bad_ones_are_refused_by_name() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let start = app.clock.now();
    invite_many(&app, &owner, 4).await;
    let hr = app.add_member(&acme, &owner, "hr-lead", "hr").await;
    let hr_session = app.login("acme", &hr).await;
    let later = app.clock.now();
    app.clock.advance(chrono::Duration::seconds(5));
    let changed = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "display_name": "Acme Renamed" }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);

    let actions = |page: &Value| -> HashSet<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };
    let member = page(&app, &owner, "action=member.&limit=200").await;
    assert!(actions(&member).iter().all(|a| a.starts_with("member.")));
    assert_eq!(
        page(&app, &owner, "action=member.*&limit=200").await,
        member
    );
    let invited = page(&app, &owner, "action=member.invited&limit=200").await;
    assert_eq!(
        actions(&invited),
        HashSet::from(["member.invited".to_owned()])
    );
    assert_eq!(invited["items"].as_array().unwrap().len(), 5);

    let by_hr = page(&app, &owner, &format!("actor_id={}&limit=200", hr.id)).await;
    assert!(!by_hr["items"].as_array().unwrap().is_empty());
    assert!(
        by_hr["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"]["id"] == hr.id.to_string())
    );
    let by_email = page(
        &app,
        &owner,
        &format!("actor={}&limit=200", hr.email.to_uppercase()),
    )
    .await;
    assert_eq!(ids(&by_email), ids(&by_hr));

    let org = page(&app, &owner, "target_type=org&limit=200").await;
    assert_eq!(
        actions(&org),
        HashSet::from(["org.settings_updated".to_owned()])
    );
    let request_id = org["items"][0]["context"]["request_id"].as_str().unwrap();
    let one_request = page(&app, &owner, &format!("request_id={request_id}")).await;
    assert_eq!(ids(&one_request), ids(&org));
    let to = later.to_rfc3339().replace('+', "%2B");
    let from = start.to_rfc3339().replace('+', "%2B");
    let before = page(&app, &owner, &format!("from={from}&to={to}&limit=200")).await;
    assert!(!actions(&before).contains("org.settings_updated"));
    assert!(actions(&before).contains("member.invited"));
    let _ = hr_session;

    for (query, field) in [
        ("action=Member.x", "action"),
        ("action=member.%25", "action"),
        ("actor_type=robot", "actor_type"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=garbage", "cursor"),
        ("format=csv", "format"),
        (&format!("from={to}&to={from}"), "to"),
    ] {
        let response = app
            .get(
                "acme",
                &format!("/api/v1/audit-events?{query}"),
                &owner.access,
            )
            .await;
        let body = crate::helpers::problem(response).await;
        assert_eq!(body["status"], 422, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    let unknown = app
        .get("acme", "/api/v1/audit-events?actor_ID=x", &owner.access)
        .await;
    let body = crate::helpers::problem(unknown).await;
    assert_eq!(body["status"], 422, "an unknown filter is refused: {body}");
    assert_eq!(body["errors"][0]["field"], "actor_ID", "{body}");
    let malformed = app
        .get("acme", "/api/v1/audit-events?actor_id=nope", &owner.access)
        .await;
    let body = crate::helpers::problem(malformed).await;
    assert_eq!(body["status"], 422, "{body}");
    assert_eq!(
        body["errors"][0]["field"], "actor_id",
        "the parameter is named: {body}"
    );

    // Members without audit_log:read get 403.
    let member = app.add_member(&acme, &owner, "plain", "member").await;
    let member = app.login("acme", &member).await;
    expect_problem(
        app.get("acme", "/api/v1/audit-events", &member.access)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect_problem(
        app.get("acme", "/api/v1/audit-events/export", &hr_session.access)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn exports_stream_every_match_defuse_formulas_and_are_audited() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let formula = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let renamed = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "display_name": formula }),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    invite_many(&app, &owner, 3).await;
    let listed = page(&app, &owner, "limit=200").await;
    let expected = ids(&listed);

    let csv = app
        .get(
            "acme",
            "/api/v1/audit-events/export?format=csv",
            &owner.access,
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let exported: Vec<String> = records.iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(
        &records[0][5], "audit_log.exported",
        "the export's own record comes first"
    );
    assert_eq!(
        exported[1..],
        expected,
        "the same events as the search, same order"
    );
    let org = records
        .iter()
        .find(|r| &r[5] == "org.settings_updated")
        .unwrap();
    assert_eq!(&org[8], format!("'{formula}"), "the formula is defused");
    assert!(
        !body
            .lines()
            .any(|line| line.starts_with('=') || line.split(',').any(|cell| cell.starts_with('='))),
        "no cell starts a formula"
    );

    let jsonl = app
        .get(
            "acme",
            "/api/v1/audit-events/export?format=jsonl&action=member.invited",
            &owner.access,
        )
        .await;
    assert_eq!(jsonl.status(), StatusCode::OK);
    let lines: Vec<Value> = jsonl
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|e| e["action"] == "member.invited"));
    assert_eq!(lines[0]["actor"]["id"], acme.owner.id.to_string());

    // Each export was recorded, with its format and filters.
    let exports = page(&app, &owner, "action=audit_log.exported").await;
    let items = exports["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["metadata"]["format"], "jsonl");
    assert_eq!(items[0]["metadata"]["filters"]["action"], "member.invited");
    assert_eq!(items[1]["metadata"]["format"], "csv");

    for query in ["format=xml", "limit=5", "cursor=abc", "action=bad..x"] {
        let response = app
            .get(
                "acme",
                &format!("/api/v1/audit-events/export?{query}"),
                &owner.access,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
    }
    let after = page(&app, &owner, "action=audit_log.exported").await;
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        2,
        "a refused export records nothing"
    );
}

async fn verify(app: &TestApp, session: &Session) -> Value {
    let response = app
        .get("acme", "/api/v1/audit-events/verify", &session.access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The owner, as an attacker with the database's credentials would: append-only triggers off for the
/// statement, then back on.
async fn tamper(owner: &PgPool, table: &str, trigger: &str, statement: &str) {
    let mut tx = owner.begin().await.unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "ALTER TABLE {table} DISABLE TRIGGER {trigger}"
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(AssertSqlSafe(statement.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "ALTER TABLE {table} ENABLE TRIGGER {trigger}"
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A tenant with a sealed, signed chain of a few events, and its seq numbers oldest first.
async fn sealed_tenant(app: &TestApp) -> (TestTenant, Session, Vec<(i64, uuid::Uuid)>) {
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    invite_many(app, &owner, 6).await;
    assert!(app.worker.seal_audit().await.unwrap() > 0);
    let pool = app.owner_pool().await;
    let seals: Vec<(i64, uuid::Uuid)> =
        sqlx::query_as("SELECT seq, event_id FROM audit_seals WHERE tenant_id = $1 ORDER BY seq")
            .bind(acme.id.as_uuid())
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let report = verify(app, &owner).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events_checked"], seals.len() as u64);
    assert_eq!(report["digests_checked"], 1);
    (acme, owner, seals)
}

fn problem_kind(report: &Value) -> (&str, Option<i64>) {
    assert_eq!(report["ok"], false, "{report}");
    (
        report["problem"]["kind"].as_str().unwrap(),
        report["problem"]["seq"].as_i64(),
    )
}

#[tokio::test]
async fn verification_finds_a_changed_event() {
    let app = spawn_app().await;
    let (acme, owner, seals) = sealed_tenant(&app).await;
    let (seq, id) = seals[seals.len() / 2];
    let pool = app.owner_pool().await;
    tamper(
        &pool,
        "audit_events",
        "audit_events_append_only",
        &format!(
            "UPDATE audit_events SET metadata = '{{\"role\": \"owner\"}}' WHERE tenant_id = '{}' AND id = '{id}'",
            acme.id
        ),
    )
    .await;
    let report = verify(&app, &owner).await;
    assert_eq!(problem_kind(&report), ("modified", Some(seq)), "{report}");
    assert_eq!(report["problem"]["event_id"], id.to_string());
}

#[tokio::test]
async fn verification_finds_a_deleted_event() {
    let app = spawn_app().await;
    let (acme, owner, seals) = sealed_tenant(&app).await;
    let (seq, id) = seals[2];
    let pool = app.owner_pool().await;
    tamper(
        &pool,
        "audit_events",
        "audit_events_append_only",
        &format!(
            "DELETE FROM audit_events WHERE tenant_id = '{}' AND id = '{id}'",
            acme.id
        ),
    )
    .await;
    let report = verify(&app, &owner).await;
    assert_eq!(problem_kind(&report), ("missing", Some(seq)), "{report}");
}

#[tokio::test]
async fn verification_finds_a_deleted_tail_through_the_signed_digest() {
    let app = spawn_app().await;
    let (acme, owner, seals) = sealed_tenant(&app).await;
    let last = seals.len() as i64;
    let pool = app.owner_pool().await;
    // The newest three events and their seals, as if they had never been.
    tamper(
        &pool,
        "audit_seals",
        "audit_seals_append_only",
        &format!(
            "DELETE FROM audit_seals WHERE tenant_id = '{}' AND seq > {}",
            acme.id,
            last - 3
        ),
    )
    .await;
    tamper(
        &pool,
        "audit_events",
        "audit_events_append_only",
        &format!(
            "DELETE FROM audit_events WHERE tenant_id = '{}' AND id IN ({})",
            acme.id,
            seals[seals.len() - 3..]
                .iter()
                .map(|(_, id)| format!("'{id}'"))
                .collect::<Vec<_>>()
                .join(",")
        ),
    )
    .await;
    let report = verify(&app, &owner).await;
    assert_eq!(
        problem_kind(&report),
        ("truncated", Some(last - 2)),
        "{report}"
    );
}

#[tokio::test]
async fn verification_finds_a_forged_row_before_and_after_it_is_sealed() {
    let app = spawn_app().await;
    let (acme, owner, _) = sealed_tenant(&app).await;
    let pool = app.owner_pool().await;
    // Dated two days back, among events already sealed.
    let forged = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, occurred_at, id, actor_type, actor_display, action) \
         VALUES ($1, $2, $3, 'user', 'someone@acme.example', 'member.role_changed')",
    )
    .bind(acme.id.as_uuid())
    .bind(app.clock.now() - chrono::Duration::days(2))
    .bind(forged)
    .execute(&pool)
    .await
    .unwrap();
    let report = verify(&app, &owner).await;
    assert_eq!(problem_kind(&report).0, "inserted", "{report}");
    assert_eq!(report["problem"]["event_id"], forged.to_string());

    app.worker.seal_audit().await.unwrap();
    let report = verify(&app, &owner).await;
    assert_eq!(problem_kind(&report).0, "inserted", "sealed late: {report}");
    assert_eq!(report["problem"]["event_id"], forged.to_string());
}

#[tokio::test]
async fn verification_finds_a_forged_digest() {
    let app = spawn_app().await;
    let (acme, owner, _) = sealed_tenant(&app).await;
    let pool = app.owner_pool().await;
    tamper(
        &pool,
        "audit_digests",
        "audit_digests_append_only",
        &format!(
            "UPDATE audit_digests SET hash = sha256(hash) WHERE tenant_id = '{}'",
            acme.id
        ),
    )
    .await;
    let report = verify(&app, &owner).await;
    assert_eq!(problem_kind(&report).0, "digest_mismatch", "{report}");
}

#[tokio::test]
async fn the_app_role_cannot_rewrite_the_chain() {
    let app = spawn_app().await;
    let (acme, _, _) = sealed_tenant(&app).await;
    let mut conn = app.app_connection().await;
    for statement in [
        "UPDATE audit_seals SET late = true",
        "DELETE FROM audit_seals",
        "INSERT INTO audit_seals (tenant_id, seq, event_id, occurred_at, hash, sealed_at) \
           SELECT tenant_id, 999, gen_random_uuid(), now(), sha256(''), now() FROM audit_seals LIMIT 1",
        "UPDATE audit_digests SET seq = 0",
        "DELETE FROM audit_digests",
        "DELETE FROM audit_pending",
        "INSERT INTO audit_anchors (tenant_id, seq, hash, deleted, cutoff, applied_at) \
           VALUES (app.current_tenant_id(), 1, sha256(''), 0, now(), now())",
    ] {
        let mut tx = sqlx::Connection::begin(&mut conn).await.unwrap();
        sqlx::query(AssertSqlSafe(format!(
            "SET LOCAL app.tenant_id = '{}'",
            acme.id
        )))
        .execute(&mut *tx)
        .await
        .unwrap();
        let error = sqlx::query(AssertSqlSafe(statement))
            .execute(&mut *tx)
            .await
            .unwrap_err();
        assert_eq!(
            crate::helpers::sqlstate(&error),
            "42501",
            "{statement}: {error}"
        );
    }
}

#[tokio::test]
async fn an_event_shows_its_seal_once_chained() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    invite_many(&app, &owner, 1).await;
    let listed = page(&app, &owner, "action=member.invited").await;
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/audit-events/{id}");
    let before: Value = app
        .get("acme", &path, &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(before.get("seal").is_none(), "{before}");
    app.worker.seal_audit().await.unwrap();
    let after: Value = app
        .get("acme", &path, &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(after["seal"]["seq"].as_i64().unwrap() > 0, "{after}");
    assert_eq!(after["seal"]["hash"].as_str().unwrap().len(), 64);
    expect_problem(
        app.get(
            "acme",
            &format!("/api/v1/audit-events/{}", uuid::Uuid::now_v7()),
            &owner.access,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn retention_deletes_the_oldest_and_verification_stays_green() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    for days in [89, 3651] {
        let refused = app
            .send_json(
                Method::PATCH,
                "acme",
                "/api/v1/org/settings",
                &owner.access,
                &json!({ "audit_retention_days": days }),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let set = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "audit_retention_days": 90 }),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["audit_retention_days"], 90);
    invite_many(&app, &owner, 4).await;
    app.worker.seal_audit().await.unwrap();
    let old = page(&app, &owner, "limit=200").await["items"]
        .as_array()
        .unwrap()
        .len();

    app.clock.advance(chrono::Duration::days(100));
    let owner = app.login_owner(&acme).await;
    invite_many(&app, &owner, 2).await;
    app.worker.seal_audit().await.unwrap();
    let deleted = app.worker.apply_audit_retention().await.unwrap();
    assert_eq!(deleted as usize, old, "every event older than 90 days");
    assert_eq!(app.worker.apply_audit_retention().await.unwrap(), 0, "once");
    app.worker.seal_audit().await.unwrap();

    let report = verify(&app, &owner).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["anchor_seq"], old as u64);
    let applied = page(&app, &owner, "action=audit_log.retention_applied").await;
    let event = &applied["items"][0];
    assert_eq!(event["metadata"]["deleted"], old as u64);
    assert_eq!(event["metadata"]["through_seq"], old as u64);
    assert_eq!(event["actor"]["type"], "system");
    let left = page(&app, &owner, "limit=200").await;
    assert!(
        left["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["occurred_at"].as_str().unwrap() > set["updated_at"].as_str().unwrap()),
        "only the recent events are left"
    );

    // The chain still breaks visibly after retention.
    let pool = app.owner_pool().await;
    tamper(
        &pool,
        "audit_events",
        "audit_events_append_only",
        &format!(
            "UPDATE audit_events SET actor_display = 'nobody' WHERE tenant_id = '{}' AND action = 'member.invited'",
            acme.id
        ),
    )
    .await;
    assert_eq!(problem_kind(&verify(&app, &owner).await).0, "modified");
}

#[tokio::test]
async fn digests_signed_before_a_rotation_still_verify() {
    let app = spawn_app().await;
    let (_, owner, _) = sealed_tenant(&app).await;
    let old = app.settings.audit.signing_keys.clone().unwrap();
    let rotated = trellis::keys::rotated("audit", &old, "audit-next").unwrap();
    let newest_only = trellis::keys::retired(
        "audit",
        &rotated,
        trellis::keys::parse("audit", &old).unwrap()[0].kid.as_str(),
    )
    .unwrap();
    // A second instance whose ring no longer holds the old key signs the next digest.
    let peer = spawn_peer_with(&app, |s| s.audit.signing_keys = Some(newest_only)).await;
    peer.clock.advance(chrono::Duration::minutes(1));
    invite_many(&peer, &owner, 2).await;
    peer.worker.seal_audit().await.unwrap();
    let report = verify(&peer, &owner).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["digests_checked"], 2);
    let keys: Value = peer
        .get("acme", "/api/v1/audit-events/public-key", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter()
            .any(|k| k["key_id"] == "audit-next" && k["current"] == true)
    );
    assert!(keys.iter().all(|k| k["algorithm"] == "Ed25519"));
}

#[tokio::test]
async fn the_running_worker_seals_new_events_within_seconds() {
    let app = spawn_app_with(|s| s.jobs.in_process = true).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    invite_many(&app, &owner, 1).await;
    let listed = page(&app, &owner, "action=member.invited").await;
    let path = format!(
        "/api/v1/audit-events/{}",
        listed["items"][0]["id"].as_str().unwrap()
    );
    let mut sealed = Value::Null;
    for _ in 0..100 {
        let event: Value = app
            .get("acme", &path, &owner.access)
            .await
            .json()
            .await
            .unwrap();
        if event.get("seal").is_some() {
            sealed = event;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        sealed["seal"]["seq"].as_i64().is_some(),
        "not sealed within 10 s"
    );
    assert_eq!(verify(&app, &owner).await["ok"], true);
}

#[tokio::test]
async fn a_settings_change_that_changes_nothing_records_nothing() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let patch = |body: Value| {
        let (app, owner) = (&app, &owner);
        async move {
            let response = app
                .send_json(
                    Method::PATCH,
                    "acme",
                    "/api/v1/org/settings",
                    &owner.access,
                    &body,
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    patch(json!({ "audit_retention_days": 400 })).await;
    patch(json!({ "audit_retention_days": 400 })).await;
    patch(json!({})).await;
    let changes = page(&app, &owner, "action=org.settings_updated").await;
    let items = changes["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the real change: {items:?}");
    assert_eq!(items[0]["metadata"]["before"]["audit_retention_days"], 365);
    assert_eq!(items[0]["metadata"]["after"]["audit_retention_days"], 400);
}
