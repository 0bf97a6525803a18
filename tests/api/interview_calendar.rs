//! The interview calendar through HTTP as the app role: reminders 24 hours and one hour before, run
//! by the job worker on a fixed clock and delivered to a real SMTP server with the calendar file;
//! rescheduling and cancelling; the checklist; validation; privacy.

use chrono::{DateTime, Duration, DurationRound, Utc};
use icalendar::{
    Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, EventStatus,
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    career::ok,
    helpers::{Session, TestApp, expect_problem, spawn_app, spawn_app_with},
    smtp::{ReceivedMail, TestSmtp},
};

const ZONE: chrono_tz::Tz = chrono_tz::Europe::Berlin;

fn now(app: &TestApp) -> DateTime<Utc> {
    trellis::clock::Clock::now(&app.clock)
}

/// A whole hour about `ahead` of the app's clock, and the wall-clock time it is in Berlin (never one of
/// the hour the clocks pass twice, which would name its first occurrence).
fn slot(app: &TestApp, ahead: Duration) -> (DateTime<Utc>, String) {
    let mut at = (now(app) + ahead)
        .duration_trunc(Duration::hours(1))
        .unwrap();
    loop {
        let local = at.with_timezone(&ZONE).naive_local();
        if matches!(
            chrono::TimeZone::from_local_datetime(&ZONE, &local),
            chrono::LocalResult::Single(_)
        ) {
            return (at, local.format("%Y-%m-%dT%H:%M").to_string());
        }
        at += Duration::hours(1);
    }
}

fn at(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .to_utc()
}

/// `(lead_minutes, state)` of each reminder.
fn reminder_states(interview: &Value) -> Vec<(i64, String)> {
    interview["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["lead_minutes"].as_i64().unwrap(),
                r["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn states(pairs: &[(i64, &str)]) -> Vec<(i64, String)> {
    pairs.iter().map(|(l, s)| (*l, (*s).to_owned())).collect()
}

/// The one event of a calendar file, read by an independent parser.
fn event_of(file: &str) -> icalendar::Event {
    let calendar: Calendar = file.parse().unwrap();
    calendar
        .components
        .into_iter()
        .find_map(|c| match c {
            CalendarComponent::Event(event) => Some(event),
            _ => None,
        })
        .unwrap()
}

fn utc_of(value: Option<DatePerhapsTime>) -> DateTime<Utc> {
    match value {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(at))) => at,
        other => panic!("not a UTC time: {other:?}"),
    }
}

fn calendar_file(mail: &ReceivedMail) -> String {
    assert_eq!(mail.attachments.len(), 1, "{mail:?}");
    let file = &mail.attachments[0];
    assert_eq!(file.filename, "interview.ics");
    assert_eq!(file.mimetype, "text/calendar");
    file.body.clone()
}

async fn schedule(app: &TestApp, session: &Session, body: Value) -> Value {
    ok(app
        .post("acme", "/api/v1/interview/calendar", &session.access, &body)
        .await)
    .await
}

async fn patch(app: &TestApp, session: &Session, id: &str, body: Value) -> reqwest::Response {
    app.send_json(
        Method::PATCH,
        "acme",
        &format!("/api/v1/interview/calendar/{id}"),
        &session.access,
        &body,
    )
    .await
}

async fn fetch(app: &TestApp, session: &Session, id: &str) -> Value {
    ok(app
        .get(
            "acme",
            &format!("/api/v1/interview/calendar/{id}"),
            &session.access,
        )
        .await)
    .await
}

async fn app_with_smtp() -> (TestApp, TestSmtp) {
    let smtp = TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    (app, smtp)
}

#[tokio::test]
async fn reminders_go_out_a_day_and_an_hour_before_with_the_calendar_file() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let mut owner = app.login_owner(&acme).await;
    let (start, local) = slot(&app, Duration::days(2) + Duration::hours(3));
    let interview = schedule(
        &app,
        &owner,
        json!({ "company": "Globex", "role_title": "Staff Engineer", "interview_type": "technical",
                "starts_at": local, "timezone": "Europe/Berlin", "duration_minutes": 90,
                "meeting_url": "https://meet.example/abc",
                "interviewers": [{ "name": "Ada Lovelace", "title": "CTO" }, { "name": "Alan Turing" }] }),
    )
    .await;
    let id = interview["id"].as_str().unwrap().to_owned();
    assert_eq!(at(&interview["starts_at"]), start, "{interview}");
    assert_eq!(at(&interview["ends_at"]), start + Duration::minutes(90));
    assert_eq!(interview["title"], "Staff Engineer at Globex");
    assert_eq!(interview["phase"], "upcoming");
    assert_eq!(
        reminder_states(&interview),
        states(&[(1440, "scheduled"), (60, "scheduled")])
    );
    assert_eq!(
        at(&interview["reminders"][0]["due_at"]),
        start - Duration::hours(24)
    );
    assert_eq!(
        at(&interview["reminders"][1]["due_at"]),
        start - Duration::hours(1)
    );
    let checklist: Vec<&str> = interview["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        checklist.contains(&"Practise a technical mock interview")
            && checklist.contains(&"Test the meeting link, camera and microphone")
            && checklist.iter().any(|l| l.starts_with("Research Globex")),
        "{checklist:?}"
    );

    // Nothing is due until a day before.
    app.worker.run_once().await.unwrap();
    app.clock
        .advance(start - Duration::hours(24) - now(&app) - Duration::minutes(1));
    app.worker.run_once().await.unwrap();
    assert!(smtp.messages().is_empty(), "{:?}", smtp.messages());

    app.clock.advance(Duration::minutes(2));
    app.worker.run_once().await.unwrap();
    let mails = smtp.messages_to(&acme.owner.email);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let day_before = &mails[0];
    assert_eq!(
        day_before.subject,
        "Reminder: Staff Engineer at Globex in 24 hours"
    );
    let local_time = start.with_timezone(&ZONE).format("%H:%M").to_string();
    assert!(day_before.text.contains(&local_time), "{}", day_before.text);
    assert!(day_before.text.contains("(Europe/Berlin), 90 minutes"));
    assert!(
        day_before
            .text
            .contains("With: Ada Lovelace (CTO), Alan Turing")
    );
    assert!(day_before.text.contains("Join: https://meet.example/abc"));
    assert!(
        day_before
            .text
            .contains("  - Practise a technical mock interview")
    );
    let event = event_of(&calendar_file(day_before));
    assert_eq!(utc_of(event.get_start()), start);
    assert_eq!(utc_of(event.get_end()), start + Duration::minutes(90));
    assert_eq!(
        event.get_uid(),
        Some(format!("{id}@interviews.trellis").as_str())
    );
    assert_eq!(event.get_sequence(), Some(0));
    assert_eq!(event.get_status(), Some(EventStatus::Confirmed));
    assert_eq!(event.get_url(), Some("https://meet.example/abc"));

    owner = app.login_owner(&acme).await;
    let seen = fetch(&app, &owner, &id).await;
    assert_eq!(
        reminder_states(&seen),
        states(&[(1440, "sent"), (60, "scheduled")])
    );
    assert!(seen["reminders"][0]["sent_at"].is_string());

    // A ticked item is no longer listed; the hour reminder follows.
    let practise = seen["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "Practise a technical mock interview")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ticked = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/interview/calendar/{id}/checklist/{practise}"),
            &owner.access,
            &json!({ "done": true }),
        )
        .await)
    .await;
    assert_eq!(ticked["done"], true);
    app.clock.advance(Duration::hours(23));
    app.worker.run_once().await.unwrap();
    let mails = smtp.messages_to(&acme.owner.email);
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(
        mails[1].subject,
        "Reminder: Staff Engineer at Globex in one hour"
    );
    assert!(
        !mails[1]
            .text
            .contains("Practise a technical mock interview")
    );
    owner = app.login_owner(&acme).await;
    let seen = fetch(&app, &owner, &id).await;
    assert_eq!(
        reminder_states(&seen),
        states(&[(1440, "sent"), (60, "sent")])
    );
    app.assert_audited(
        acme.id,
        &[
            "scheduled_interview.created",
            "scheduled_interview.checklist_item_updated",
            "scheduled_interview.reminder_sent",
        ],
    )
    .await;

    // A reminder whose job gave up says so.
    let later = schedule(
        &app,
        &owner,
        json!({ "company": "Globex", "role_title": "Staff Engineer", "interview_type": "final",
                "starts_at": slot(&app, Duration::days(5)).1, "timezone": "Europe/Berlin" }),
    )
    .await;
    let pool = app.owner_pool().await;
    sqlx::query(
        "UPDATE jobs SET status = 'dead' WHERE id = (SELECT job_id FROM scheduled_interview_reminders \
         WHERE interview_id = $1 AND lead_minutes = 1440)",
    )
    .bind(later["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let seen = fetch(&app, &owner, later["id"].as_str().unwrap()).await;
    assert_eq!(
        reminder_states(&seen),
        states(&[(1440, "failed"), (60, "scheduled")])
    );

    // Nothing more, ever.
    app.clock.advance(Duration::days(3));
    app.worker.run_once().await.unwrap();
    assert_eq!(smtp.messages().len(), 2);
}

#[tokio::test]
async fn a_new_time_moves_the_reminders_and_cancelling_calls_them_off() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let mut owner = app.login_owner(&acme).await;
    let (start, local) = slot(&app, Duration::days(3));
    let interview = schedule(
        &app,
        &owner,
        json!({ "company": "Initech", "role_title": "Product Lead", "interview_type": "panel",
                "starts_at": local, "timezone": "Europe/Berlin", "location": "Initech HQ, Room 4" }),
    )
    .await;
    let id = interview["id"].as_str().unwrap().to_owned();

    // The day-before reminder goes out.
    app.clock
        .advance(start - Duration::hours(24) - now(&app) + Duration::minutes(1));
    owner = app.login_owner(&acme).await;
    app.worker.run_once().await.unwrap();
    assert_eq!(smtp.messages_to(&acme.owner.email).len(), 1);
    let pool = app.owner_pool().await;
    let (old_job,): (uuid::Uuid,) = sqlx::query_as(
        "SELECT job_id FROM scheduled_interview_reminders WHERE interview_id = $1 AND lead_minutes = 60",
    )
    .bind(id.parse::<uuid::Uuid>().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();

    // Moved two days later: both reminders are due again, before the new time.
    let (later, later_local) = (start + Duration::days(2), {
        (start + Duration::days(2))
            .with_timezone(&ZONE)
            .naive_local()
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    });
    let moved = ok(patch(&app, &owner, &id, json!({ "starts_at": later_local })).await).await;
    assert_eq!(at(&moved["starts_at"]), later);
    assert_eq!(moved["sequence"], 1);
    assert_eq!(
        reminder_states(&moved),
        states(&[(1440, "scheduled"), (60, "scheduled")])
    );
    assert_eq!(
        at(&moved["reminders"][0]["due_at"]),
        later - Duration::hours(24)
    );
    let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM jobs WHERE id = $1")
        .bind(old_job)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the old reminder's job is deleted");

    // Even a job for the old time that escaped deletion (it was running) sends nothing.
    sqlx::query(
        "INSERT INTO jobs (tenant_id, id, kind, payload, status, attempts, max_attempts, run_at) \
         VALUES ($1, $2, 'interview.notice', $3, 'queued', 0, 5, now() - interval '1 year')",
    )
    .bind(acme.id.as_uuid())
    .bind(old_job)
    .bind(json!({ "interview_id": id, "lead_minutes": 60 }))
    .execute(&pool)
    .await
    .unwrap();
    app.clock.advance(Duration::hours(23));
    assert!(app.worker.run_once().await.unwrap() >= 1);
    assert_eq!(
        smtp.messages_to(&acme.owner.email).len(),
        1,
        "no reminder at the old time"
    );
    owner = app.login_owner(&acme).await;
    let seen = fetch(&app, &owner, &id).await;
    assert_eq!(
        reminder_states(&seen),
        states(&[(1440, "scheduled"), (60, "scheduled")])
    );

    // Cancelled: the reminders are called off, and since one was sent, a cancellation with the
    // updated calendar file goes out.
    let cancelled = ok(app
        .post(
            "acme",
            &format!("/api/v1/interview/calendar/{id}/cancel"),
            &owner.access,
            &json!({}),
        )
        .await)
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["phase"], "cancelled");
    assert_eq!(
        reminder_states(&cancelled),
        states(&[(1440, "cancelled"), (60, "cancelled")])
    );
    app.worker.run_once().await.unwrap();
    let mails = smtp.messages_to(&acme.owner.email);
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[1].subject, "Cancelled: Product Lead at Initech");
    let event = event_of(&calendar_file(&mails[1]));
    assert_eq!(event.get_status(), Some(EventStatus::Cancelled));
    assert_eq!(event.get_sequence(), Some(2));
    assert_eq!(utc_of(event.get_start()), later);

    // Run again (its worker died before recording it done): the cancellation goes once.
    sqlx::query(
        "UPDATE jobs SET status = 'queued', run_at = now() - interval '1 year' \
         WHERE kind = 'interview.notice' AND payload->>'lead_minutes' IS NULL",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    assert_eq!(smtp.messages().len(), 2, "one cancellation");

    app.clock.advance(Duration::days(3));
    app.worker.run_once().await.unwrap();
    assert_eq!(smtp.messages().len(), 2, "nothing after the cancellation");
    owner = app.login_owner(&acme).await;
    let again = patch(&app, &owner, &id, json!({ "notes": "x" })).await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "interview_cancelled"
    );
    let listed = ok(app
        .get(
            "acme",
            "/api/v1/interview/calendar?when=cancelled",
            &owner.access,
        )
        .await)
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    app.assert_audited(
        acme.id,
        &[
            "scheduled_interview.updated",
            "scheduled_interview.cancelled",
        ],
    )
    .await;
    pool.close().await;
}

#[tokio::test]
async fn reminders_follow_the_switch_the_time_left_and_the_member() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let grace = app.add_member(&acme, &owner, "grace", "member").await;
    let grace_session = app.login("acme", &grace).await;

    // Off from the start, then on again.
    let (_, local) = slot(&app, Duration::days(5));
    let quiet = schedule(
        &app,
        &grace_session,
        json!({ "role_title": "Team Lead", "interview_type": "hiring_manager", "starts_at": local,
                "timezone": "America/New_York", "reminders_enabled": false, "suggest_checklist": false }),
    )
    .await;
    assert_eq!(quiet["title"], "Team Lead (internal)");
    assert_eq!(quiet["checklist"].as_array().unwrap().len(), 0);
    assert_eq!(
        reminder_states(&quiet),
        states(&[(1440, "cancelled"), (60, "cancelled")])
    );
    let quiet_id = quiet["id"].as_str().unwrap();
    let on = ok(patch(
        &app,
        &grace_session,
        quiet_id,
        json!({ "reminders_enabled": true }),
    )
    .await)
    .await;
    assert_eq!(
        reminder_states(&on),
        states(&[(1440, "scheduled"), (60, "scheduled")])
    );

    // Recorded five hours ahead: the day-before reminder is past already.
    let (_, soon) = slot(&app, Duration::hours(5));
    let close = schedule(
        &app,
        &grace_session,
        json!({ "role_title": "Analyst", "company": "Umbrella", "interview_type": "phone_screen",
                "starts_at": soon, "timezone": "Europe/Berlin" }),
    )
    .await;
    assert_eq!(
        reminder_states(&close),
        states(&[(1440, "skipped"), (60, "scheduled")])
    );

    // Off, moved, on again: the reminders follow the new time, the one skipped before included.
    let (_, later) = slot(&app, Duration::hours(5));
    let moving = schedule(
        &app,
        &grace_session,
        json!({ "role_title": "Analyst", "company": "Hooli", "interview_type": "recruiter",
                "starts_at": later, "timezone": "Europe/Berlin" }),
    )
    .await;
    let moving_id = moving["id"].as_str().unwrap();
    let (moved_at, moved_local) = slot(&app, Duration::days(4));
    for change in [
        json!({ "reminders_enabled": false }),
        json!({ "starts_at": moved_local }),
    ] {
        ok(patch(&app, &grace_session, moving_id, change).await).await;
    }
    let back_on = ok(patch(
        &app,
        &grace_session,
        moving_id,
        json!({ "reminders_enabled": true }),
    )
    .await)
    .await;
    assert_eq!(
        reminder_states(&back_on),
        states(&[(1440, "scheduled"), (60, "scheduled")])
    );
    assert_eq!(
        at(&back_on["reminders"][0]["due_at"]),
        moved_at - Duration::hours(24)
    );
    let deleted = app
        .delete(
            "acme",
            &format!("/api/v1/interview/calendar/{moving_id}"),
            &grace_session.access,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // Recorded afterwards, with how it went.
    let (_, yesterday) = slot(&app, -Duration::days(1));
    let past = schedule(
        &app,
        &grace_session,
        json!({ "role_title": "Analyst", "company": "Umbrella", "interview_type": "case",
                "starts_at": yesterday, "timezone": "Europe/Berlin" }),
    )
    .await;
    assert_eq!(past["phase"], "past");
    assert_eq!(
        reminder_states(&past),
        states(&[(1440, "skipped"), (60, "skipped")])
    );
    let past_id = past["id"].as_str().unwrap();
    let judged = ok(patch(
        &app,
        &grace_session,
        past_id,
        json!({ "outcome": "advanced" }),
    )
    .await)
    .await;
    assert_eq!(judged["outcome"], "advanced");
    let unknown = patch(&app, &grace_session, past_id, json!({ "outcome": "hired" })).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let upcoming = ok(app
        .get("acme", "/api/v1/interview/calendar", &grace_session.access)
        .await)
    .await;
    let soonest: Vec<&str> = upcoming["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role_title"].as_str().unwrap())
        .collect();
    assert_eq!(
        soonest,
        ["Analyst", "Team Lead"],
        "soonest first, past left out"
    );
    let past_list = ok(app
        .get(
            "acme",
            "/api/v1/interview/calendar?when=past",
            &grace_session.access,
        )
        .await)
    .await;
    assert_eq!(past_list["items"].as_array().unwrap().len(), 1);

    // A member who leaves is not reminded.
    let deactivated = app
        .post(
            "acme",
            &format!("/api/v1/members/{}/deactivate", grace.id),
            &owner.access,
            &json!({}),
        )
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    let hour_before = at(&close["reminders"][1]["due_at"]);
    app.clock
        .advance(hour_before - now(&app) + Duration::minutes(1));
    app.worker.run_once().await.unwrap();
    let pool = app.owner_pool().await;
    let (state,): (String,) = sqlx::query_as(
        "SELECT state FROM scheduled_interview_reminders WHERE interview_id = $1 AND lead_minutes = 60",
    )
    .bind(close["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(state, "skipped");
    let (reason,): (Value,) = sqlx::query_as(
        "SELECT metadata->'reason' FROM audit_events WHERE tenant_id = $1 \
         AND action = 'scheduled_interview.reminder_skipped'",
    )
    .bind(acme.id.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(reason, "member_inactive");
    pool.close().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let role = ok(app
        .post(
            "acme",
            "/api/v1/career/roles",
            &owner.access,
            &json!({ "title": "Engineering Manager", "track": "management", "level": 5 }),
        )
        .await)
    .await;
    let role_id = role["id"].as_str().unwrap();
    let (_, local) = slot(&app, Duration::days(7));
    let base = json!({ "company": "Globex", "role_title": "Engineer", "interview_type": "technical",
                       "starts_at": local, "timezone": "Europe/Berlin" });
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    let cases = [
        ("timezone", with("timezone", json!("Mars/Olympus"))),
        ("starts_at", with("starts_at", json!("2027-03-28T02:30"))),
        (
            "starts_at",
            with(
                "starts_at",
                json!(
                    (now(&app) + Duration::days(3 * 366))
                        .format("%Y-%m-%dT10:00")
                        .to_string()
                ),
            ),
        ),
        ("interview_type", with("interview_type", json!("chat"))),
        (
            "meeting_url",
            with("meeting_url", json!("javascript:alert(1)")),
        ),
        ("duration_minutes", with("duration_minutes", json!(0))),
        ("career_role_id", with("career_role_id", json!(role_id))),
        ("company", with("company", json!("  "))),
        (
            "interviewers",
            with(
                "interviewers",
                json!(
                    (0..11)
                        .map(|i| json!({ "name": format!("P{i}") }))
                        .collect::<Vec<_>>()
                ),
            ),
        ),
        (
            "interviewers[0].name",
            with("interviewers", json!([{ "name": "" }])),
        ),
        ("notes", with("notes", json!("x".repeat(10_001)))),
        ("outcome", with("outcome", json!("hired"))),
    ];
    for (field, body) in cases {
        let response = app
            .post("acme", "/api/v1/interview/calendar", &owner.access, &body)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {body}"
        );
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {problem}"
        );
    }
    let mut internal = base.clone();
    internal.as_object_mut().unwrap().remove("company");
    internal.as_object_mut().unwrap().remove("role_title");
    let missing_title = app
        .post(
            "acme",
            "/api/v1/interview/calendar",
            &owner.access,
            &internal,
        )
        .await;
    assert_eq!(missing_title.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let all = ok(app
        .get("acme", "/api/v1/interview/calendar?when=all", &owner.access)
        .await)
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 0, "nothing written");
    let bad_listing = app
        .get(
            "acme",
            "/api/v1/interview/calendar?when=soon",
            &owner.access,
        )
        .await;
    assert_eq!(bad_listing.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // An internal interview names its career role.
    internal["career_role_id"] = json!(role_id);
    let created = schedule(&app, &owner, internal).await;
    assert_eq!(created["role_title"], "Engineering Manager");
    assert_eq!(created["title"], "Engineering Manager (internal)");
    let id = created["id"].as_str().unwrap();
    let both = patch(&app, &owner, id, json!({ "company": "Globex" })).await;
    assert_eq!(both.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let switched = ok(patch(
        &app,
        &owner,
        id,
        json!({ "company": "Globex", "career_role_id": null, "role_title": "Director" }),
    )
    .await)
    .await;
    assert_eq!(switched["title"], "Director at Globex");
    assert_eq!(switched["sequence"], 1);
    let unchanged = ok(patch(&app, &owner, id, json!({ "role_title": "Director" })).await).await;
    assert_eq!(unchanged["sequence"], 1, "no change, no new version");

    // Recorded long ago: the time window applies when the time is set, not to every later note.
    let (_, long_ago) = slot(&app, -Duration::days(300));
    let old = schedule(
        &app,
        &owner,
        json!({ "company": "Globex", "role_title": "Engineer", "interview_type": "onsite",
                "starts_at": long_ago, "timezone": "Europe/Berlin", "outcome": "rejected" }),
    )
    .await;
    assert_eq!(old["outcome"], "rejected");
    app.clock.advance(Duration::days(100));
    let owner = app.login_owner(&acme).await;
    let noted = ok(patch(
        &app,
        &owner,
        old["id"].as_str().unwrap(),
        json!({ "notes": "They went with an internal candidate" }),
    )
    .await)
    .await;
    assert_eq!(noted["notes"], "They went with an internal candidate");
}

#[tokio::test]
async fn an_interview_is_private_to_its_member_and_its_checklist_is_theirs_to_keep() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let grace = app.add_member(&acme, &owner, "grace", "member").await;
    let grace_session = app.login("acme", &grace).await;
    let (start, local) = slot(&app, Duration::days(10));
    let interview = schedule(
        &app,
        &grace_session,
        json!({ "company": "Secret Rival Corp", "role_title": "VP Engineering", "interview_type": "final",
                "starts_at": local, "timezone": "Europe/Berlin", "notes": "Salary expectations: ask",
                "interviewers": [{ "name": "Hidden Person" }] }),
    )
    .await;
    let id = interview["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/interview/calendar/{id}");

    // Not even the owner sees it.
    for path in [base.clone(), format!("{base}/calendar.ics")] {
        let response = app.get("acme", &path, &owner.access).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let theirs = ok(app
        .get("acme", "/api/v1/interview/calendar?when=all", &owner.access)
        .await)
    .await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    let edit = patch(&app, &owner, &id, json!({ "notes": "peek" })).await;
    assert_eq!(edit.status(), StatusCode::NOT_FOUND);
    let add = app
        .post(
            "acme",
            &format!("{base}/checklist"),
            &owner.access,
            &json!({ "label": "x" }),
        )
        .await;
    assert_eq!(add.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete("acme", &base, &owner.access).await.status(),
        StatusCode::NOT_FOUND
    );

    // The calendar file, for the member.
    let file = app
        .get(
            "acme",
            &format!("{base}/calendar.ics"),
            &grace_session.access,
        )
        .await;
    assert_eq!(file.status(), StatusCode::OK);
    assert!(
        file.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let event = event_of(&file.text().await.unwrap());
    assert_eq!(utc_of(event.get_start()), start);
    assert_eq!(
        event.get_summary(),
        Some("Interview: VP Engineering at Secret Rival Corp")
    );
    assert!(
        !event
            .get_description()
            .unwrap_or_default()
            .contains("Salary"),
        "notes stay out"
    );

    // The checklist: add, tick, rename, remove, and a limit.
    let suggested = interview["checklist"].as_array().unwrap().len();
    let item = ok(app
        .post(
            "acme",
            &format!("{base}/checklist"),
            &grace_session.access,
            &json!({ "label": "Rehearse the board story" }),
        )
        .await)
    .await;
    assert_eq!(item["suggested"], false);
    assert_eq!(item["position"], suggested as i64 + 1);
    let item_path = format!("{base}/checklist/{}", item["id"].as_str().unwrap());
    let renamed = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &item_path,
            &grace_session.access,
            &json!({ "label": "Rehearse the board story twice", "done": true }),
        )
        .await)
    .await;
    assert_eq!(renamed["label"], "Rehearse the board story twice");
    assert_eq!(renamed["done"], true);
    let reopened = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &item_path,
            &grace_session.access,
            &json!({ "done": false }),
        )
        .await)
    .await;
    assert!(reopened["done_at"].is_null());
    let blank = app
        .send_json(
            Method::PATCH,
            "acme",
            &item_path,
            &grace_session.access,
            &json!({ "label": " " }),
        )
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.delete("acme", &item_path, &grace_session.access)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("acme", &item_path, &grace_session.access)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    for n in suggested..30 {
        let added = app
            .post(
                "acme",
                &format!("{base}/checklist"),
                &grace_session.access,
                &json!({ "label": format!("Item {n}") }),
            )
            .await;
        assert_eq!(added.status(), StatusCode::CREATED);
    }
    let full = app
        .post(
            "acme",
            &format!("{base}/checklist"),
            &grace_session.access,
            &json!({ "label": "One too many" }),
        )
        .await;
    assert_eq!(
        expect_problem(full, StatusCode::CONFLICT).await,
        "checklist_full"
    );

    // The audit log names what changed, never the company, the notes or the people.
    let moved = ok(patch(
        &app,
        &grace_session,
        &id,
        json!({ "notes": "Salary expectations: ask for 20% more", "duration_minutes": 45 }),
    )
    .await)
    .await;
    assert_eq!(moved["duration_minutes"], 45);
    let pool = app.owner_pool().await;
    let events: Vec<(String, Value, Option<String>)> = sqlx::query_as(
        "SELECT action, metadata, target_display FROM audit_events \
         WHERE tenant_id = $1 AND action LIKE 'scheduled_interview.%' ORDER BY occurred_at, id",
    )
    .bind(acme.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(events.len() >= 5, "{events:?}");
    let updated = events
        .iter()
        .find(|(action, _, _)| action == "scheduled_interview.updated")
        .unwrap();
    assert_eq!(updated.1["changed"], json!(["duration_minutes", "notes"]));
    let everything = format!("{events:?}");
    for private in ["Secret Rival", "Salary", "Hidden Person", "Rehearse"] {
        assert!(!everything.contains(private), "{private} in {everything}");
    }

    // Deleted with its reminders' jobs.
    assert_eq!(
        app.delete("acme", &base, &grace_session.access)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let pool = app.owner_pool().await;
    let (jobs,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM jobs WHERE kind = 'interview.notice' AND payload->>'interview_id' = $1",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(jobs, 0);
    let gone = app.get("acme", &base, &grace_session.access).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}
