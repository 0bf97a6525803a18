//! Usage analytics: the roll-up against the raw events it summarises, re-running a day, the reports and
//! their CSV, k-anonymity for departments, capture that never fails a request, organizations apart.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{Session, TestApp, TestTenant, expect_problem, spawn_app, spawn_app_with};

/// Writes what the capture holds and rolls everything up.
async fn settle(app: &TestApp) {
    app.state.usage.flush().await;
    app.worker.roll_up_usage().await.unwrap();
}

async fn daily(pool: &PgPool, tenant: &TestTenant) -> BTreeMap<(String, String, String), i64> {
    let rows: Vec<(chrono::NaiveDate, String, String, i64)> = sqlx::query_as(
        "SELECT day, metric, dimension, value FROM usage_daily WHERE tenant_id = $1",
    )
    .bind(tenant.id.as_uuid())
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(d, m, dim, v)| ((d.to_string(), m, dim), v))
        .collect()
}

/// event, module, dimension, status class, user.
type RawEvent = (String, String, String, Option<i16>, Option<uuid::Uuid>);

async fn report(app: &TestApp, session: &Session, path: &str) -> Value {
    let response = app.get("acme", path, &session.access).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_roll_up_equals_the_raw_events_and_re_running_a_day_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada = app.login("acme", &ada).await;
    for _ in 0..3 {
        app.get("acme", "/api/v1/members", &owner.access).await;
    }
    app.get("acme", "/api/v1/me", &ada.access).await;
    app.get("acme", "/api/v1/members/nope", &owner.access).await;
    app.get("acme", "/api/v1/members", &ada.access).await; // 403 for a member
    settle(&app).await;

    let pool = app.owner_pool().await;
    let raw: Vec<RawEvent> = sqlx::query_as(
        "SELECT event, module, dimension, status_class, user_id FROM usage_events WHERE tenant_id = $1",
    )
    .bind(acme.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(raw.len() >= 8, "{raw:?}");
    // Recount the raw events here and compare with what the roll-up wrote.
    let today = trellis::clock::Clock::now(&app.clock)
        .date_naive()
        .to_string();
    let mut expected: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut users: BTreeMap<String, std::collections::BTreeSet<uuid::Uuid>> = BTreeMap::new();
    for (event, module, dimension, status, user) in &raw {
        let mut add = |metric: &str, dim: String| {
            *expected
                .entry((today.clone(), metric.to_owned(), dim))
                .or_default() += 1;
        };
        if event == "api_request" {
            add("api_requests", module.clone());
            add("api_status", format!("{}xx", status.unwrap()));
        } else {
            add(event, dimension.clone());
        }
        add("module_events", module.clone());
        if let Some(user) = user {
            users.entry("any".into()).or_default().insert(*user);
            users.entry(module.clone()).or_default().insert(*user);
        }
    }
    for (module, members) in &users {
        expected.insert(
            (today.clone(), "active_users".into(), module.clone()),
            members.len() as i64,
        );
    }
    let mut rolled = daily(&pool, &acme).await;
    let latency: i64 = rolled
        .iter()
        .filter(|((_, m, _), _)| m == "api_latency")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        latency,
        expected
            .get(&(today.clone(), "api_status".into(), "2xx".into()))
            .unwrap()
            + expected
                .get(&(today.clone(), "api_status".into(), "4xx".into()))
                .unwrap()
    );
    rolled.retain(|(_, m, _), _| m != "api_latency");
    assert_eq!(rolled, expected);
    assert_eq!(users["any"].len(), 2, "the owner and Ada were active");
    assert_eq!(
        expected[&(today.clone(), "login".into(), "password".into())],
        2,
        "two sign-ins recorded as feature events"
    );

    // Again: the same numbers, not doubled.
    let before = daily(&pool, &acme).await;
    app.worker.roll_up_usage().await.unwrap();
    assert_eq!(daily(&pool, &acme).await, before);

    // An event written since: today is not final, so the next run counts it (and only it).
    sqlx::query(
        "INSERT INTO usage_events (tenant_id, occurred_at, id, event, module, dimension) \
         VALUES ($1, $2, gen_random_uuid(), 'import_committed', 'imports', 'upsert')",
    )
    .bind(acme.id.as_uuid())
    .bind(trellis::clock::Clock::now(&app.clock))
    .execute(&pool)
    .await
    .unwrap();
    app.worker.roll_up_usage().await.unwrap();
    let after = daily(&pool, &acme).await;
    assert_eq!(
        after[&(today.clone(), "import_committed".into(), "upsert".into())],
        1
    );
    assert_eq!(
        after[&(today.clone(), "module_events".into(), "imports".into())],
        1
    );
    assert_eq!(after.len(), before.len() + 2, "nothing else changed");
    pool.close().await;
}

#[tokio::test]
async fn reports_answer_from_the_roll_ups_and_refuse_bad_ranges() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    app.login("acme", &ada).await;
    settle(&app).await;
    let today = trellis::clock::Clock::now(&app.clock).date_naive();

    let overview = report(&app, &owner, "/api/v1/analytics/overview").await;
    assert_eq!(overview["date"], today.to_string());
    assert_eq!(overview["active_members"]["dau"], 2, "{overview}");
    assert_eq!(overview["active_members"]["mau"], 2);
    assert_eq!(
        overview["logins"],
        serde_json::json!({ "password": 2, "invitation": 1 }),
        "the owner and Ada signed in, and Ada's acceptance signed her in"
    );
    assert_eq!(overview["seats"]["used"], 2);
    assert_eq!(overview["seats"]["limit"], 100);
    assert_eq!(overview["plan"]["plan"], "enterprise");

    // A day later only the owner signs in again: DAU 1, WAU and MAU still count both.
    app.clock.advance(chrono::Duration::days(1));
    let owner = app.login_owner(&acme).await;
    settle(&app).await;
    let next = report(
        &app,
        &owner,
        &format!(
            "/api/v1/analytics/overview?date={}",
            today.succ_opt().unwrap()
        ),
    )
    .await;
    assert_eq!(next["active_members"]["dau"], 1, "{next}");
    assert_eq!(next["active_members"]["wau"], 2);

    let trend = report(
        &app,
        &owner,
        &format!(
            "/api/v1/analytics/trends?metric=login&from={}&to={}",
            today.pred_opt().unwrap(),
            today.succ_opt().unwrap()
        ),
    )
    .await;
    let values: Vec<i64> = trend["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_i64().unwrap())
        .collect();
    assert_eq!(
        values,
        [0, 3, 1],
        "every day of the range, zero-filled: {trend}"
    );
    let weekly = report(&app, &owner, "/api/v1/analytics/trends?interval=week").await;
    let total: i64 = weekly["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_i64().unwrap())
        .sum();
    assert!(total >= 2, "{weekly}");

    let adoption = report(&app, &owner, "/api/v1/analytics/adoption").await;
    let auth = adoption["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["module"] == "auth")
        .unwrap();
    assert_eq!(auth["active_members"], 2, "{adoption}");
    // Three sign-in requests with their `login` events, and Ada's acceptance: the sign-in it made and
    // `invitation_accepted` (the acceptance's request itself is under `invitations`).
    assert_eq!(auth["events"], 8, "{adoption}");

    for (query, field) in [
        ("trends?metric=nope", "metric"),
        ("trends?interval=month", "interval"),
        ("adoption?from=2026-12-01&to=2026-11-01", "from"),
        ("adoption?from=2020-01-01&to=2026-11-01", "from"),
        ("adoption?since=2026-01-01", "since"),
        ("overview?date=yesterday", "date"),
        ("export?report=everything", "report"),
    ] {
        let response = app
            .get("acme", &format!("/api/v1/analytics/{query}"), &owner.access)
            .await;
        let body = crate::helpers::problem(response).await;
        assert_eq!(body["status"], 422, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    let member = app.add_member(&acme, &owner, "plain", "member").await;
    let member = app.login("acme", &member).await;
    expect_problem(
        app.get("acme", "/api/v1/analytics/overview", &member.access)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn departments_smaller_than_the_minimum_are_never_shown_alone() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let pool = app.owner_pool().await;
    // Engineering 6 (the owner among them), Product 5, Sales 3, =HYPERLINK 2.
    let mut people = Vec::new();
    for (department, n) in [
        ("Engineering", 5),
        ("Product", 5),
        ("Sales", 3),
        ("=HYPERLINK(\"x\")", 2),
    ] {
        for i in 0..n {
            let user = app
                .add_member(&acme, &owner, &format!("{}{i}", department.len()), "member")
                .await;
            sqlx::query("UPDATE users SET department = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(acme.id.as_uuid())
                .bind(user.id.as_uuid())
                .bind(department)
                .execute(&pool)
                .await
                .unwrap();
            people.push((department, user));
        }
    }
    sqlx::query("UPDATE users SET department = 'Engineering' WHERE tenant_id = $1 AND id = $2")
        .bind(acme.id.as_uuid())
        .bind(acme.owner.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    // The next day, two of Sales and one of Product sign in (everyone signed in once, accepting).
    app.clock.advance(chrono::Duration::days(1));
    let day = trellis::clock::Clock::now(&app.clock).date_naive();
    let range = format!("/api/v1/analytics/departments?from={day}&to={day}");
    for (_, user) in people
        .iter()
        .filter(|(d, _)| *d == "Sales")
        .take(2)
        .chain(people.iter().filter(|(d, _)| *d == "Product").take(1))
    {
        app.login("acme", user).await;
    }
    let owner = app.login_owner(&acme).await;
    settle(&app).await;

    let report = report(&app, &owner, &range).await;
    let rows = report["departments"].as_array().unwrap();
    let named: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["department"].as_str())
        .collect();
    assert_eq!(named, ["Engineering", "Product"], "{report}");
    let product = rows.iter().find(|r| r["department"] == "Product").unwrap();
    assert_eq!(product["members"], 5);
    assert_eq!(product["active_members"], 1);
    // Sales (3) and the other (2) together are 5: shown as one row, never apart.
    let gathered = rows.iter().find(|r| r["department"].is_null()).unwrap();
    assert_eq!(gathered["members"], 5, "{report}");
    assert_eq!(gathered["active_members"], 2);
    assert_eq!(gathered["suppressed"], false);
    assert!(!report.to_string().contains("Sales"));

    // One member of the small groups leaves: 4 is too few, so Product (the smallest shown) joins them.
    let leaving = &people.iter().find(|(d, _)| *d == "Sales").unwrap().1;
    let left = app
        .post(
            "acme",
            &format!("/api/v1/members/{}/deactivate", leaving.id),
            &owner.access,
            &serde_json::json!({}),
        )
        .await;
    assert!(left.status().is_success());
    let after = crate::analytics::report(&app, &owner, &range).await;
    let rows = after["departments"].as_array().unwrap();
    let named: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["department"].as_str())
        .collect();
    assert_eq!(named, ["Engineering"], "{after}");
    let gathered = rows.iter().find(|r| r["department"].is_null()).unwrap();
    assert_eq!(gathered["members"], 9, "{after}");

    // The CSV says the same, formulas defused.
    let csv = app
        .get(
            "acme",
            &format!("/api/v1/analytics/export?report=departments&from={day}&to={day}"),
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
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("department,members,active_members,suppressed\n"),
        "{text}"
    );
    assert!(text.contains("(smaller departments),9,"), "{text}");
    assert!(
        !text.contains("HYPERLINK"),
        "a small department is not named: {text}"
    );
    pool.close().await;
}

#[tokio::test]
async fn capture_never_fails_a_request_and_counts_what_it_drops() {
    // A buffer of one event and a writer that waits: most events find the buffer full.
    let app = spawn_app_with(|s| {
        s.usage.buffer = 1;
        s.usage.flush_interval_ms = 60_000;
        s.usage.flush_batch = 1_000;
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    for _ in 0..20 {
        let response = app.get("acme", "/api/v1/me", &owner.access).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let ready: Value = app.base_get("/readyz").await.json().await.unwrap();
    let usage = &ready["usage"];
    let accepted = usage["accepted"].as_u64().unwrap();
    let dropped = usage["dropped_buffer_full"].as_u64().unwrap();
    // The first event took the one place; the others found it taken, and were served all the same.
    assert_eq!(
        (accepted, dropped),
        (1, 21),
        "the sign-in's request and event, then 20 requests: {usage}"
    );
    settle(&app).await;
    let written: Value = app.base_get("/readyz").await.json().await.unwrap();
    assert_eq!(written["usage"]["written"], 1, "{written}");

    // Organizations apart: globex's analytics know nothing of acme's requests.
    let globex = app.create_tenant("globex").await;
    let globex_owner = app.login_owner(&globex).await;
    settle(&app).await;
    let overview: Value = app
        .get("globex", "/api/v1/analytics/overview", &globex_owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        overview["api_requests"].as_i64().unwrap() <= 1,
        "{overview}"
    );
    assert!(overview["active_members"]["dau"].as_i64().unwrap() <= 1);
}

#[tokio::test]
async fn the_worker_keeps_daily_partitions_ahead_and_drops_those_past_retention() {
    let app = spawn_app_with(|s| {
        s.usage.partitions_ahead_days = 10;
        s.usage.retention_days = 30;
    })
    .await;
    let mut admin = app.admin_connection().await;
    // A day long past, as a deployment that ran for a year would have.
    sqlx::query(
        "CREATE TABLE usage_events_d20250101 PARTITION OF usage_events \
         FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2025-01-02 00:00:00+00')",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let count = "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'usage_events'::regclass AND c.relname ~ '^usage_events_d[0-9]{8}$'";
    let before: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let (created, dropped) = app.worker.keep_usage_partitions().await.unwrap();
    let after: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(dropped, 1, "the day past retention");
    assert_eq!(after, 11, "today and ten days ahead");
    assert_eq!(after - before, i64::from(created) - 1);
    assert_eq!(
        app.worker.keep_usage_partitions().await.unwrap(),
        (0, 0),
        "idempotent"
    );
    let mut as_app = app.app_connection().await;
    let refused = sqlx::query("SELECT app.drop_usage_partitions(0)")
        .execute(&mut as_app)
        .await
        .unwrap_err();
    assert_eq!(crate::helpers::sqlstate(&refused), "42501");
}
