//! Usage analytics: the roll-up against the raw events it summarises, re-running a day, the reports and
//! their CSV, k-anonymity for departments, capture that never fails a request, organizations apart.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{
    Session, TestApp, TestTenant, TestUser, expect_problem, spawn_app, spawn_app_with,
};

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
    let ada_user = app.add_member(&acme, &owner, "ada", "member").await;
    let ada = app.login("acme", &ada_user).await;
    for _ in 0..3 {
        app.get("acme", "/api/v1/members", &owner.access).await;
    }
    app.get("acme", "/api/v1/me", &ada.access).await;
    app.get("acme", "/api/v1/members/nope", &owner.access).await;
    app.get("acme", "/api/v1/members", &ada.access).await; // 403 for a member
    // Ada's portal pages count too, in the area of the API's requests of the same kind.
    let portal = crate::console::browser();
    crate::console::sign_in(&app, &portal, &ada_user.email, &ada_user.password).await;
    for page in ["/career", "/mentoring", "/login"] {
        let opened = crate::console::request(&app, &portal, reqwest::Method::GET, page)
            .send()
            .await
            .unwrap();
        assert!(opened.status().is_success(), "{page}");
    }
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
    // Her two portal pages, each in its area and as her; the sign-in page is not counted.
    let mut pages: Vec<(&str, Option<uuid::Uuid>)> = raw
        .iter()
        .filter(|(event, ..)| event == "page_request")
        .map(|(_, module, _, _, user)| (module.as_str(), *user))
        .collect();
    pages.sort();
    let ada_id = Some(ada_user.id.as_uuid());
    assert_eq!(
        pages,
        vec![("career", ada_id), ("network", ada_id)],
        "{raw:?}"
    );
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
        } else if event == "page_request" {
            add("page_requests", module.clone());
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
    let pages_trend = report(
        &app,
        &owner,
        &format!("/api/v1/analytics/trends?metric=page_requests&from={today}&to={today}"),
    )
    .await;
    assert_eq!(pages_trend["points"][0]["value"], 2, "{pages_trend}");
    assert_eq!(users["any"].len(), 2, "the owner and Ada were active");
    assert_eq!(
        expected[&(today.clone(), "login".into(), "password".into())],
        3,
        "three sign-ins recorded as feature events: the owner's, Ada's, and Ada's on the portal's page"
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
    // Organizations apart: globex's analytics count its owner's one sign-in and nothing of acme's.
    let globex = app.create_tenant("globex").await;
    let globex_owner = app.login_owner(&globex).await;
    settle(&app).await;
    let theirs: Value = app
        .get("globex", "/api/v1/analytics/overview", &globex_owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["api_requests"], 1, "its sign-in request: {theirs}");
    assert_eq!(theirs["active_members"]["dau"], 1, "{theirs}");
    assert_eq!(theirs["logins"], serde_json::json!({ "password": 1 }));
    let ours = report(&app, &owner, "/api/v1/analytics/overview").await;
    assert!(ours["api_requests"].as_i64().unwrap() > 1, "{ours}");

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
async fn departments_are_shown_only_when_no_figure_describes_fewer_than_five_people() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let pool = app.owner_pool().await;
    // Engineering 10, Product 10, Sales 3, =HYPERLINK 2, and the owner alone in Leadership.
    let mut people = Vec::new();
    for (tag, department, n) in [
        ("eng", "Engineering", 10),
        ("prod", "Product", 10),
        ("sales", "Sales", 3),
        ("other", "=HYPERLINK(\"x\")", 2),
    ] {
        for i in 0..n {
            let user = app
                .add_member(&acme, &owner, &format!("{tag}{i}"), "member")
                .await;
            people.push((department, user));
        }
    }
    for (department, user) in people
        .iter()
        .map(|(d, u)| (*d, u.id))
        .chain([("Leadership", acme.owner.id)])
    {
        sqlx::query("UPDATE users SET department = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(acme.id.as_uuid())
            .bind(user.as_uuid())
            .bind(department)
            .execute(&pool)
            .await
            .unwrap();
    }
    // The next day: five engineers, all of Sales and both others sign in, and the owner looks at the
    // report; Product does nothing.
    app.clock.advance(chrono::Duration::days(1));
    let day = trellis::clock::Clock::now(&app.clock).date_naive();
    let active: Vec<&TestUser> = people
        .iter()
        .filter(|(d, _)| *d == "Engineering")
        .take(5)
        .chain(
            people
                .iter()
                .filter(|(d, _)| *d != "Engineering" && *d != "Product"),
        )
        .map(|(_, u)| u)
        .collect();
    for user in &active {
        app.login("acme", user).await;
    }
    // That day counts once it is final.
    let range = format!("/api/v1/analytics/departments?from={day}&to={day}");
    settle(&app).await;
    let owner = app.login_owner(&acme).await;
    let not_final = report(&app, &owner, &range).await;
    assert!(
        not_final["departments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["active_members"].as_i64().unwrap_or(0) == 0),
        "a day still being written is not counted: {not_final}"
    );
    // Past the day's end and its grace, whatever the time of day the test started at.
    app.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(30));
    settle(&app).await;
    let owner = app.login_owner(&acme).await;

    let first = report(&app, &owner, &range).await;
    let rows = first["departments"].as_array().unwrap();
    let shown: Vec<(Value, Value, Value)> = rows
        .iter()
        .map(|r| {
            (
                r["department"].clone(),
                r["members"].clone(),
                r["active_members"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("Engineering".into(), 10.into(), 5.into()),
            ("Product".into(), 10.into(), 0.into()),
            // Sales (3), the other (2) and Leadership (1), all active: shown together only.
            (Value::Null, 6.into(), 6.into()),
        ],
        "{first}"
    );
    assert!(!first.to_string().contains("Sales"));

    // One of Sales and one other leave: the small groups are four people, so the smallest shown
    // department joins them (Engineering: 14 people, 3 inactive), then the next (Product), until no
    // figure is about fewer than five.
    for small in ["Sales", "=HYPERLINK(\"x\")"] {
        let leaving = people.iter().find(|(d, _)| *d == small).unwrap().1.id;
        let left = app
            .post(
                "acme",
                &format!("/api/v1/members/{leaving}/deactivate"),
                &owner.access,
                &serde_json::json!({}),
            )
            .await;
        assert!(left.status().is_success());
    }
    let after = report(&app, &owner, &range).await;
    let rows = after["departments"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{after}");
    assert_eq!(rows[0]["department"], Value::Null);
    assert_eq!(rows[0]["members"], 24, "{after}");
    assert_eq!(
        rows[0]["active_members"], 11,
        "the day's figures keep the departments of that day: {after}"
    );

    // The CSV says the same, and never names a small department.
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
    assert_eq!(
        text,
        "department,members,active_members,suppressed\n(smaller departments),24,11,false\n"
    );
    pool.close().await;
}

#[tokio::test]
async fn exported_cells_that_look_like_formulas_are_defused() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let pool = app.owner_pool().await;
    // Five people and the owner in a department named like a formula.
    let mut ids = vec![acme.owner.id];
    for i in 0..5 {
        ids.push(
            app.add_member(&acme, &owner, &format!("f{i}"), "member")
                .await
                .id,
        );
    }
    for id in ids {
        sqlx::query(
            "UPDATE users SET department = '=HYPERLINK(\"x\")' WHERE tenant_id = $1 AND id = $2",
        )
        .bind(acme.id.as_uuid())
        .bind(id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let text = app
        .get(
            "acme",
            "/api/v1/analytics/export?report=departments",
            &owner.access,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("\"'=HYPERLINK(\"\"x\"\")\",6,0,false"),
        "{text}"
    );
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
    // Days from today on (the template database may have been migrated the day before, whose
    // partition stays: it is within retention).
    let today = trellis::clock::Clock::now(&app.clock)
        .format("usage_events_d%Y%m%d")
        .to_string();
    let count = "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'usage_events'::regclass AND c.relname ~ '^usage_events_d[0-9]{8}$' \
                   AND c.relname >= $1";
    let before: i64 = sqlx::query_scalar(count)
        .bind(&today)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let (created, dropped) = app.worker.keep_usage_partitions().await.unwrap();
    let after: i64 = sqlx::query_scalar(count)
        .bind(&today)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(dropped, 1, "the day past retention");
    assert_eq!(after, 11, "today and ten days ahead");
    assert_eq!(after - before, i64::from(created));
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
