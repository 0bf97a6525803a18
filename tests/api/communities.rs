//! Communities and events through HTTP as the app role: groups with threaded posts and their
//! moderation; events with capacity, RSVPs, a waitlist promoted in order, reminders and cancellations
//! by mail through a real SMTP server, each with a calendar file read by an independent parser.

use chrono::{Duration, DurationRound};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::ok,
    helpers::{Session, TestApp, TestUser, expect_problem, spawn_app, spawn_app_with},
    smtp::{ReceivedMail, TestSmtp},
};

/// Tenant A's community and event resources for the isolation matrix.
pub struct CommunityFixtures {
    pub community_id: String,
    pub post_id: String,
    pub network_event_id: String,
}

pub async fn fixtures(app: &TestApp, owner: &Session, member: &Session) -> CommunityFixtures {
    let community = ok(app
        .post(
            "acme",
            "/api/v1/network/communities",
            &member.access,
            &json!({ "name": "Acme Secret Circle" }),
        )
        .await)
    .await;
    let community_id = community["id"].as_str().unwrap().to_owned();
    let post = ok(app
        .post(
            "acme",
            &format!("/api/v1/network/communities/{community_id}/posts"),
            &member.access,
            &json!({ "body": "Acme Secret Post" }),
        )
        .await)
    .await;
    let start = trellis::clock::Clock::now(&app.clock) + Duration::days(30);
    let event = ok(app
        .post(
            "acme",
            "/api/v1/network/events",
            &owner.access,
            &json!({ "title": "Acme Secret Fair", "starts_at": start,
                     "ends_at": start + Duration::hours(2), "capacity": 5 }),
        )
        .await)
    .await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!(
                "/api/v1/network/events/{}/rsvp",
                event["id"].as_str().unwrap()
            ),
            &member.access,
            &json!({}),
        )
        .await)
    .await;
    CommunityFixtures {
        community_id,
        post_id: post["id"].as_str().unwrap().to_owned(),
        network_event_id: event["id"].as_str().unwrap().to_owned(),
    }
}

async fn members(
    app: &TestApp,
    names: &[&str],
) -> (
    crate::helpers::TestTenant,
    Session,
    Vec<(TestUser, Session)>,
) {
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let mut people = Vec::new();
    for name in names {
        let user = app.add_member(&acme, &hr, name, "member").await;
        let session = app.login("acme", &user).await;
        people.push((user, session));
    }
    (acme, hr, people)
}

async fn write(
    app: &TestApp,
    session: &Session,
    community: &str,
    body: &str,
    parent: Option<&Value>,
) -> reqwest::Response {
    app.post(
        "acme",
        &format!("/api/v1/network/communities/{community}/posts"),
        &session.access,
        &json!({ "body": body, "parent_id": parent.map(|p| p["id"].clone()) }),
    )
    .await
}

#[tokio::test]
async fn communities_hold_threaded_posts_that_their_owners_moderate() {
    let app = spawn_app().await;
    let (acme, hr, people) = members(&app, &["ada", "bo", "cy"]).await;
    let [(_, ada), (_, bo), (_, cy)] = <[_; 3]>::try_from(people).ok().unwrap();

    let circle = ok(app
        .post(
            "acme",
            "/api/v1/network/communities",
            &ada.access,
            &json!({ "name": "Data Guild", "description": "SQL and friends." }),
        )
        .await)
    .await;
    assert_eq!(circle["my_role"], "owner");
    let id = circle["id"].as_str().unwrap().to_owned();
    let twice = app
        .post(
            "acme",
            "/api/v1/network/communities",
            &bo.access,
            &json!({ "name": "data guild" }),
        )
        .await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "community_exists"
    );
    let blank = app
        .post(
            "acme",
            "/api/v1/network/communities",
            &bo.access,
            &json!({ "name": "  " }),
        )
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Writing needs membership; reading does not.
    let outsider = write(&app, &bo, &id, "Hello?", None).await;
    assert_eq!(
        expect_problem(outsider, StatusCode::FORBIDDEN).await,
        "not_a_community_member"
    );
    for session in [&bo, &cy] {
        let joined = ok(app
            .send_json(
                Method::PUT,
                "acme",
                &format!("/api/v1/network/communities/{id}/membership"),
                &session.access,
                &json!({}),
            )
            .await)
        .await;
        assert_eq!(joined["my_role"], "member");
    }
    let post = ok(write(
        &app,
        &ada,
        &id,
        "Window functions: share your favourite.",
        None,
    )
    .await)
    .await;
    let reply = ok(write(&app, &bo, &id, "LAG, every time.", Some(&post)).await).await;
    assert_eq!(reply["depth"], 1);
    assert_eq!(reply["root_id"], post["id"]);
    let nested = ok(write(
        &app,
        &cy,
        &id,
        "LAG with IGNORE NULLS, when you have it.",
        Some(&reply),
    )
    .await)
    .await;
    assert_eq!(nested["depth"], 2);
    assert_eq!(nested["parent_id"], reply["id"]);
    assert_eq!(nested["root_id"], post["id"]);
    let empty = write(&app, &cy, &id, "   ", None).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A parent from another community is not a parent here.
    let other = ok(app
        .post(
            "acme",
            "/api/v1/network/communities",
            &cy.access,
            &json!({ "name": "Runners" }),
        )
        .await)
    .await;
    let other_id = other["id"].as_str().unwrap();
    let crossed = write(&app, &cy, other_id, "Crossed wires", Some(&post)).await;
    assert_eq!(crossed.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The thread, read by anyone from any of its posts: the post first, then replies in order.
    let thread = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/network/communities/{id}/posts/{}",
                nested["id"].as_str().unwrap()
            ),
            &hr.access,
        )
        .await)
    .await;
    let bodies: Vec<&str> = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Window functions: share your favourite.",
            "LAG, every time.",
            "LAG with IGNORE NULLS, when you have it."
        ]
    );
    let threads = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/communities/{id}/posts"),
            &cy.access,
        )
        .await)
    .await;
    assert_eq!(threads["items"].as_array().unwrap().len(), 1);
    assert_eq!(threads["items"][0]["replies"], 2);
    let bad_limit = app
        .get(
            "acme",
            &format!("/api/v1/network/communities/{id}/posts?limit=101"),
            &cy.access,
        )
        .await;
    assert_eq!(bad_limit.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Only the author edits; the author or a moderator removes, and the thread keeps its shape.
    let reply_path = format!(
        "/api/v1/network/communities/{id}/posts/{}",
        reply["id"].as_str().unwrap()
    );
    let not_yours = app
        .send_json(
            Method::PATCH,
            "acme",
            &reply_path,
            &cy.access,
            &json!({ "body": "Mine" }),
        )
        .await;
    assert_eq!(
        expect_problem(not_yours, StatusCode::FORBIDDEN).await,
        "not_the_author"
    );
    let edited = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &reply_path,
            &bo.access,
            &json!({ "body": "LAG, almost every time." }),
        )
        .await)
    .await;
    assert!(edited["edited_at"].is_string());
    let by_member = app.delete("acme", &reply_path, &cy.access).await;
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    let by_owner = app.delete("acme", &reply_path, &ada.access).await;
    assert_eq!(by_owner.status(), StatusCode::NO_CONTENT);
    let thread = ok(app.get("acme", &reply_path, &cy.access).await).await;
    assert_eq!(thread["items"].as_array().unwrap().len(), 3, "{thread}");
    assert_eq!(thread["items"][1]["removed"], true);
    assert_eq!(thread["items"][1]["body"], "");
    assert_eq!(
        thread["items"][2]["body"],
        "LAG with IGNORE NULLS, when you have it."
    );
    let to_removed = write(&app, &cy, &id, "Why removed?", Some(&reply)).await;
    assert_eq!(
        expect_problem(to_removed, StatusCode::CONFLICT).await,
        "post_removed"
    );

    // Archived: read-only. Then the owner leaves and the longest-standing member takes over.
    let stranger = app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/network/communities/{id}"),
            &cy.access,
            &json!({ "archived": true }),
        )
        .await;
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    let archived = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/network/communities/{id}"),
            &hr.access,
            &json!({ "archived": true }),
        )
        .await)
    .await;
    assert_eq!(archived["archived"], true);
    let late = write(&app, &bo, &id, "Anyone?", None).await;
    assert_eq!(
        expect_problem(late, StatusCode::CONFLICT).await,
        "community_archived"
    );
    let left = app
        .delete(
            "acme",
            &format!("/api/v1/network/communities/{id}/membership"),
            &ada.access,
        )
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    let now_bo = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/communities/{id}"),
            &bo.access,
        )
        .await)
    .await;
    assert_eq!(now_bo["my_role"], "owner", "{now_bo}");

    app.assert_audited(
        acme.id,
        &[
            "community.created",
            "community.joined",
            "community.updated",
            "community.left",
            "community_post.created",
            "community_post.replied",
            "community_post.edited",
            "community_post.removed",
        ],
    )
    .await;
    // Never the text of a post in the audit log.
    let pool = app.owner_pool().await;
    let (leaks,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM audit_events WHERE metadata::text LIKE '%Window functions%' \
         OR metadata::text LIKE '%LAG%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(leaks, 0);
    pool.close().await;
}

async fn app_with_smtp() -> (TestApp, TestSmtp) {
    let smtp = TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    (app, smtp)
}

fn about(smtp: &TestSmtp, to: &TestUser, title: &str) -> Vec<ReceivedMail> {
    smtp.messages_to(&to.email)
        .into_iter()
        .filter(|m| m.subject.contains(title))
        .collect()
}

/// The calendar file attached to `mail`, parsed by an independent reader.
fn calendar(mail: &ReceivedMail) -> icalendar::Calendar {
    let file = mail
        .attachments
        .iter()
        .find(|a| a.mimetype == "text/calendar")
        .unwrap_or_else(|| panic!("a calendar file in {}", mail.subject));
    file.body.parse().unwrap()
}

fn property(calendar: &icalendar::Calendar, name: &str) -> String {
    use icalendar::Component;
    calendar
        .components
        .iter()
        .find_map(|c| c.as_event())
        .and_then(|e| e.property_value(name).map(str::to_owned))
        .unwrap_or_default()
}

async fn drain(app: &TestApp) {
    while app.worker.run_once().await.unwrap() > 0 {}
}

#[tokio::test]
async fn events_fill_their_places_then_a_waitlist_promoted_in_order_with_reminders() {
    let (app, smtp) = app_with_smtp().await;
    let (acme, hr, people) = members(&app, &["ada", "bo", "cy", "di"]).await;
    let [(ada_u, ada), (bo_u, bo), (cy_u, cy), (di_u, di)] =
        <[_; 4]>::try_from(people).ok().unwrap();
    let now = trellis::clock::Clock::now(&app.clock);
    // Whole minutes, as calendar files carry them.
    let start = (now + Duration::days(3))
        .duration_trunc(Duration::minutes(1))
        .unwrap();

    // HR organizes; a member organizes only their own community's events.
    let body = json!({ "title": "Platform talk", "kind": "talk", "starts_at": start,
                       "ends_at": start + Duration::minutes(90), "timezone": "Europe/Berlin",
                       "meeting_url": "https://meet.example/talk", "capacity": 2 });
    let by_member = app
        .post("acme", "/api/v1/network/events", &ada.access, &body)
        .await;
    assert_eq!(
        expect_problem(by_member, StatusCode::FORBIDDEN).await,
        "not_event_organizer"
    );
    for (bad, field) in [
        (
            json!({ "starts_at": now - Duration::hours(1) }),
            "starts_at",
        ),
        (json!({ "ends_at": start - Duration::hours(1) }), "ends_at"),
        (json!({ "capacity": 0 }), "capacity"),
        (json!({ "kind": "party" }), "kind"),
        (json!({ "timezone": "Mars/Base" }), "timezone"),
        (
            json!({ "meeting_url": "javascript:alert(1)" }),
            "meeting_url",
        ),
    ] {
        let mut request = body.clone();
        for (k, v) in bad.as_object().unwrap() {
            request[k] = v.clone();
        }
        let refused = app
            .post("acme", "/api/v1/network/events", &hr.access, &request)
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let event = ok(app
        .post("acme", "/api/v1/network/events", &hr.access, &body)
        .await)
    .await;
    let id = event["id"].as_str().unwrap().to_owned();
    let community = ok(app
        .post(
            "acme",
            "/api/v1/network/communities",
            &ada.access,
            &json!({ "name": "Guild" }),
        )
        .await)
    .await;
    let mut own = body.clone();
    own["title"] = json!("Guild meetup");
    own["community_id"] = community["id"].clone();
    ok(app
        .post("acme", "/api/v1/network/events", &ada.access, &own)
        .await)
    .await;
    let not_owner = app
        .post("acme", "/api/v1/network/events", &bo.access, &own)
        .await;
    assert_eq!(not_owner.status(), StatusCode::FORBIDDEN);

    // Two places: Ada and Bo go, Cy and Di wait, in the order they answered.
    let rsvp = format!("/api/v1/network/events/{id}/rsvp");
    let mut statuses = Vec::new();
    for session in [&ada, &bo, &cy, &di] {
        let answered = ok(app
            .send_json(Method::PUT, "acme", &rsvp, &session.access, &json!({}))
            .await)
        .await;
        statuses.push(answered["my_status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["going", "going", "waitlisted", "waitlisted"]);
    let again = ok(app
        .send_json(Method::PUT, "acme", &rsvp, &cy.access, &json!({}))
        .await)
    .await;
    assert_eq!(
        again["my_status"], "waitlisted",
        "answering twice changes nothing"
    );
    assert_eq!(
        (again["going"].as_i64(), again["waitlisted"].as_i64()),
        (Some(2), Some(2))
    );
    let attendees_path = format!("/api/v1/network/events/{id}/attendees");
    let peek = app.get("acme", &attendees_path, &ada.access).await;
    assert_eq!(peek.status(), StatusCode::FORBIDDEN);

    // A capacity below those going is refused; Bo withdrawing promotes Cy (not Di), with a mail.
    let event_path = format!("/api/v1/network/events/{id}");
    let shrink = app
        .send_json(
            Method::PATCH,
            "acme",
            &event_path,
            &hr.access,
            &json!({ "capacity": 1 }),
        )
        .await;
    assert_eq!(
        expect_problem(shrink, StatusCode::CONFLICT).await,
        "capacity_below_attendance"
    );
    let withdrawn = app.delete("acme", &rsvp, &bo.access).await;
    assert_eq!(withdrawn.status(), StatusCode::OK);
    let listed = ok(app.get("acme", &attendees_path, &hr.access).await).await;
    let order: Vec<(String, String)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            (ada_u.email.clone(), "going".to_owned()),
            (cy_u.email.clone(), "going".to_owned()),
            (di_u.email.clone(), "waitlisted".to_owned()),
        ]
    );
    drain(&app).await;
    let promoted = about(&smtp, &cy_u, "a place for you");
    assert_eq!(promoted.len(), 1);
    assert_eq!(property(&calendar(&promoted[0]), "STATUS"), "CONFIRMED");
    assert!(about(&smtp, &di_u, "a place for you").is_empty());
    // A larger capacity fills from the waitlist.
    let grown = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &event_path,
            &hr.access,
            &json!({ "capacity": 3 }),
        )
        .await)
    .await;
    assert_eq!(
        (grown["going"].as_i64(), grown["waitlisted"].as_i64()),
        (Some(3), Some(0))
    );

    // A new place (a change calendars care about: sequence 1) does not lose the reminder queued for
    // sequence 0: it queues its own.
    let placed = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &event_path,
            &hr.access,
            &json!({ "location": "Atrium, building B" }),
        )
        .await)
    .await;
    assert_eq!(placed["location"], "Atrium, building B");

    // The reminder: nothing before 24 hours ahead; then one each, with the calendar file; once.
    drain(&app).await;
    app.clock.advance(
        start - Duration::hours(24) - trellis::clock::Clock::now(&app.clock) - Duration::minutes(1),
    );
    drain(&app).await;
    assert!(about(&smtp, &ada_u, "reminder").is_empty());
    app.clock.advance(Duration::minutes(2));
    drain(&app).await;
    for person in [&ada_u, &cy_u, &di_u] {
        let reminded = about(&smtp, person, "reminder: Platform talk");
        assert_eq!(reminded.len(), 1, "{}", person.email);
        assert!(
            reminded[0]
                .text
                .contains("Platform talk starts in 24 hours."),
            "{}",
            reminded[0].text
        );
        assert!(reminded[0].text.contains("Where: Atrium, building B"));
        let file = calendar(&reminded[0]);
        assert_eq!(property(&file, "UID"), format!("{id}@events.trellis"));
        assert_eq!(property(&file, "SEQUENCE"), "1");
        assert_eq!(
            property(&file, "DTSTART"),
            start.format("%Y%m%dT%H%M%SZ").to_string()
        );
    }
    assert!(about(&smtp, &bo_u, "reminder").is_empty(), "Bo withdrew");

    // Moved a day later: a new reminder for the new time (sequence 2), an old job does nothing.
    let hr = app.login_owner(&acme).await;
    let later = start + Duration::days(1);
    let moved = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &event_path,
            &hr.access,
            &json!({ "starts_at": later, "ends_at": later + Duration::minutes(90) }),
        )
        .await)
    .await;
    assert_eq!(moved["starts_at"], json!(later));
    let pool = app.owner_pool().await;
    sqlx::query(
        "INSERT INTO jobs (tenant_id, id, kind, payload, status, attempts, max_attempts, run_at) \
         VALUES ($1, gen_random_uuid(), 'event.reminder', $2, 'queued', 0, 5, now() - interval '1 year')",
    )
    .bind(acme.id.as_uuid())
    .bind(json!({ "event_id": id, "sequence": 0 }))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    drain(&app).await;
    assert_eq!(
        about(&smtp, &ada_u, "reminder: Platform talk").len(),
        1,
        "a stale job sends nothing"
    );
    app.clock.advance(Duration::days(1));
    drain(&app).await;
    let reminded = about(&smtp, &ada_u, "reminder: Platform talk");
    assert_eq!(reminded.len(), 2);
    assert_eq!(property(&calendar(&reminded[1]), "SEQUENCE"), "2");
    // Run again, the job reminds nobody twice.
    let pool = app.owner_pool().await;
    sqlx::query(
        "INSERT INTO jobs (tenant_id, id, kind, payload, status, attempts, max_attempts, run_at) \
         VALUES ($1, gen_random_uuid(), 'event.reminder', $2, 'queued', 0, 5, now() - interval '1 year')",
    )
    .bind(acme.id.as_uuid())
    .bind(json!({ "event_id": id, "sequence": 2 }))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    drain(&app).await;
    assert_eq!(about(&smtp, &ada_u, "reminder: Platform talk").len(), 2);

    // Bo answers again: the three places are taken, so Bo waits.
    let bo = app.login("acme", &bo_u).await;
    let waiting = ok(app
        .send_json(Method::PUT, "acme", &rsvp, &bo.access, &json!({}))
        .await)
    .await;
    assert_eq!(waiting["my_status"], "waitlisted");

    // Cancelled: everyone going hears, with the file that removes it; then it is final.
    let hr = app.login_owner(&acme).await;
    let cancelled = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &event_path,
            &hr.access,
            &json!({ "status": "cancelled" }),
        )
        .await)
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    drain(&app).await;
    let told = about(&smtp, &cy_u, "cancelled: Platform talk");
    assert_eq!(told.len(), 1);
    let file = calendar(&told[0]);
    assert_eq!(property(&file, "STATUS"), "CANCELLED");
    assert_eq!(property(&file, "SEQUENCE"), "3");
    let to_waitlist = about(&smtp, &bo_u, "cancelled: Platform talk");
    assert_eq!(to_waitlist.len(), 1);
    assert!(
        to_waitlist[0].attachments.is_empty(),
        "the waitlist had nothing in its calendar"
    );
    let after = app
        .send_json(
            Method::PATCH,
            "acme",
            &event_path,
            &hr.access,
            &json!({ "title": "Back on" }),
        )
        .await;
    assert_eq!(
        expect_problem(after, StatusCode::CONFLICT).await,
        "event_cancelled"
    );

    app.assert_audited(
        acme.id,
        &[
            "network_event.created",
            "network_event.updated",
            "network_event.cancelled",
            "network_event.rsvp",
            "network_event.rsvp_withdrawn",
            "network_event.reminders_sent",
        ],
    )
    .await;
}
