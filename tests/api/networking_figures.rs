//! The networking figures of usage analytics (`GET /api/v1/analytics/networking`), computed over real
//! activity made through the API: match acceptance and time to match, active pairs, referral-to-hire,
//! events and communities — each checked against what the test did, with a fixed clock.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::ok,
    helpers::{Session, TestApp, spawn_app},
};

async fn post(app: &TestApp, session: &Session, path: &str, body: Value) -> Value {
    ok(app.post("acme", path, &session.access, &body).await).await
}

#[tokio::test]
async fn the_networking_figures_count_what_happened_in_the_range() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let mut people = Vec::new();
    for name in ["mo", "lee", "ana", "ben", "cy"] {
        let user = app.add_member(&acme, &hr, name, "member").await;
        let session = app.login("acme", &user).await;
        people.push((user, session));
    }
    let [
        (mo_u, mo),
        (lee_u, lee),
        (ana_u, ana),
        (ben_u, ben),
        (cy_u, cy),
    ] = <[_; 5]>::try_from(people).ok().unwrap();
    let today = trellis::clock::Clock::now(&app.clock).date_naive();
    for session in [&mo, &lee] {
        ok(app
            .send_json(
                Method::PUT,
                "acme",
                "/api/v1/network/mentors/me",
                &session.access,
                &json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 3 }),
            )
            .await)
        .await;
    }

    // Three requests: one accepted after 5 hours, one declined, one left waiting.
    let asked = post(
        &app,
        &ana,
        "/api/v1/network/mentorships",
        json!({ "mentor_id": mo_u.id }),
    )
    .await;
    let declined = post(
        &app,
        &ben,
        "/api/v1/network/mentorships",
        json!({ "mentor_id": mo_u.id }),
    )
    .await;
    post(
        &app,
        &cy,
        "/api/v1/network/mentorships",
        json!({ "mentor_id": lee_u.id }),
    )
    .await;
    app.clock.advance(Duration::hours(5));
    let mo = app.login("acme", &mo_u).await;
    for (id, verb) in [(&asked["id"], "accept"), (&declined["id"], "decline")] {
        post(
            &app,
            &mo,
            &format!(
                "/api/v1/network/mentorships/{}/{verb}",
                id.as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    }

    // Two referrals, one hired ten days later.
    let hr = app.login_owner(&acme).await;
    let posting = post(
        &app,
        &hr,
        "/api/v1/network/postings",
        json!({ "title": "Data Engineer" }),
    )
    .await;
    let refer = format!(
        "/api/v1/network/postings/{}/referrals",
        posting["id"].as_str().unwrap()
    );
    let first = post(
        &app,
        &mo,
        &refer,
        json!({ "candidate_name": "Kim", "candidate_email": "kim@example.net" }),
    )
    .await;
    post(
        &app,
        &mo,
        &refer,
        json!({ "candidate_name": "Lou", "candidate_email": "lou@example.net" }),
    )
    .await;

    // An event with two places and three answers; a community with a thread, two replies, one removed.
    let start = trellis::clock::Clock::now(&app.clock) + Duration::days(2);
    let event = post(
        &app,
        &hr,
        "/api/v1/network/events",
        json!({ "title": "Fair", "starts_at": start, "ends_at": start + Duration::hours(2), "capacity": 2 }),
    )
    .await;
    let ana = app.login("acme", &ana_u).await;
    let ben = app.login("acme", &ben_u).await;
    let cy = app.login("acme", &cy_u).await;
    for session in [&ana, &ben, &cy] {
        ok(app
            .send_json(
                Method::PUT,
                "acme",
                &format!(
                    "/api/v1/network/events/{}/rsvp",
                    event["id"].as_str().unwrap()
                ),
                &session.access,
                &json!({}),
            )
            .await)
        .await;
    }
    let community = post(
        &app,
        &ana,
        "/api/v1/network/communities",
        json!({ "name": "Guild" }),
    )
    .await;
    let posts = format!(
        "/api/v1/network/communities/{}/posts",
        community["id"].as_str().unwrap()
    );
    let thread = post(&app, &ana, &posts, json!({ "body": "Hello" })).await;
    post(
        &app,
        &ana,
        &posts,
        json!({ "body": "Me again", "parent_id": thread["id"] }),
    )
    .await;
    let removed = post(
        &app,
        &ana,
        &posts,
        json!({ "body": "Oops", "parent_id": thread["id"] }),
    )
    .await;
    let gone = app
        .delete(
            "acme",
            &format!("{posts}/{}", removed["id"].as_str().unwrap()),
            &ana.access,
        )
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);

    app.clock.advance(Duration::days(10));
    let hr = app.login_owner(&acme).await;
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!(
                "/api/v1/network/referrals/{}",
                first["id"].as_str().unwrap()
            ),
            &hr.access,
            &json!({ "status": "hired" }),
        )
        .await)
    .await;

    // To the day of the hire, whatever the hour the test runs at (the clock moved 5 hours and 10 days).
    let hired_on = trellis::clock::Clock::now(&app.clock).date_naive();
    let range = format!("from={today}&to={hired_on}");
    let figures = ok(app
        .get(
            "acme",
            &format!("/api/v1/analytics/networking?{range}"),
            &hr.access,
        )
        .await)
    .await;
    let m = &figures["mentoring"];
    assert_eq!(m["requests"], 3, "{figures}");
    assert_eq!(m["accepted"], 1);
    assert_eq!(m["declined"], 1);
    assert_eq!(m["acceptance_rate"], 0.5);
    assert_eq!(m["time_to_match_median_hours"], 5.0);
    assert_eq!(m["active_pairs"], 1);
    assert_eq!(m["programme_matches"], 0);
    let r = &figures["referrals"];
    assert_eq!(r["submitted"], 2);
    assert_eq!(r["hired"], 1);
    assert_eq!(r["referral_to_hire_rate"], 0.5);
    assert_eq!(r["days_to_hire_median"], 10.0);
    let e = &figures["events"];
    assert_eq!(
        (
            e["held"].as_i64(),
            e["going"].as_i64(),
            e["waitlisted"].as_i64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(e["fill_rate"], 1.0);
    let c = &figures["communities"];
    assert_eq!(
        (c["threads"].as_i64(), c["replies"].as_i64()),
        (Some(1), Some(1)),
        "{figures}"
    );
    assert_eq!(c["active_communities"], 1);

    // A range before any of it counts nothing (and rates are null, not 0/0).
    let before = format!(
        "from={}&to={}",
        today - Duration::days(30),
        today - Duration::days(1)
    );
    let empty = ok(app
        .get(
            "acme",
            &format!("/api/v1/analytics/networking?{before}"),
            &hr.access,
        )
        .await)
    .await;
    assert_eq!(empty["mentoring"]["requests"], 0);
    assert!(empty["mentoring"]["acceptance_rate"].is_null(), "{empty}");
    assert!(empty["referrals"]["referral_to_hire_rate"].is_null());
    assert_eq!(
        empty["mentoring"]["active_pairs"], 1,
        "active pairs are counted now"
    );

    // Analytics readers only; the feature events can be followed as trends.
    let lee = app.login("acme", &lee_u).await;
    let denied = app
        .get("acme", "/api/v1/analytics/networking", &lee.access)
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let backwards = app
        .get(
            "acme",
            &format!(
                "/api/v1/analytics/networking?from={today}&to={}",
                today - Duration::days(1)
            ),
            &hr.access,
        )
        .await;
    assert_eq!(backwards.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let trend = app
        .get(
            "acme",
            "/api/v1/analytics/trends?metric=mentorship_requested",
            &hr.access,
        )
        .await;
    assert_eq!(trend.status(), StatusCode::OK);
}
