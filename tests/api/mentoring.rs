//! Mentoring through HTTP as the app role: mentor profiles, recommendations built from the mentee's
//! career goal with their breakdown, the hard filters, requests answered within the mentor's limit,
//! the organization's weights, and who sees what.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::{create_role, ok, self_rate, set_manager, skill_named},
    helpers::{Session, TestApp, expect_problem, spawn_app},
};

/// Tenant A's mentoring resources for the isolation matrix.
pub struct MentoringFixtures {
    pub mentor_id: String,
    pub mentorship_id: String,
}

pub async fn fixtures(
    app: &TestApp,
    owner: &Session,
    member: &Session,
    owner_id: &str,
) -> MentoringFixtures {
    save_profile(
        app,
        owner,
        json!({ "bio": "Acme Secret Mentor", "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 2 }),
    )
    .await;
    let mentorship = ok(app
        .post(
            "acme",
            "/api/v1/network/mentorships",
            &member.access,
            &json!({ "mentor_id": owner_id, "goals": "Acme Secret Goals" }),
        )
        .await)
    .await;
    MentoringFixtures {
        mentor_id: owner_id.to_owned(),
        mentorship_id: mentorship["id"].as_str().unwrap().to_owned(),
    }
}

async fn save_profile(app: &TestApp, session: &Session, body: Value) -> Value {
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/mentors/me",
            &session.access,
            &body,
        )
        .await)
    .await
}

async fn recommendations(app: &TestApp, session: &Session, query: &str) -> Value {
    ok(app
        .get(
            "acme",
            &format!("/api/v1/network/mentors/recommendations?{query}"),
            &session.access,
        )
        .await)
    .await
}

fn names(recommended: &Value) -> Vec<String> {
    recommended["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["mentor"]["display_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn request(app: &TestApp, session: &Session, mentor: &str) -> reqwest::Response {
    app.post(
        "acme",
        "/api/v1/network/mentorships",
        &session.access,
        &json!({ "mentor_id": mentor, "goals": "Lead the data team", "timezone": "Europe/Berlin" }),
    )
    .await
}

async fn answer(app: &TestApp, session: &Session, id: &str, verb: &str) -> reqwest::Response {
    app.post(
        "acme",
        &format!("/api/v1/network/mentorships/{id}/{verb}"),
        &session.access,
        &json!({}),
    )
    .await
}

#[tokio::test]
async fn mentors_are_recommended_by_the_mentees_goal_and_requests_keep_to_the_filters() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let mut people = Vec::new();
    for name in ["dana", "mo", "lee", "boss", "sam"] {
        let user = app.add_member(&acme, &hr, name, "member").await;
        let session = app.login("acme", &user).await;
        people.push((user, session));
    }
    let [
        (dana, dana_s),
        (mo, mo_s),
        (lee, lee_s),
        (boss, boss_s),
        (_, sam_s),
    ] = <[_; 5]>::try_from(people).ok().unwrap();
    set_manager(&app, &acme, &dana, &boss).await;

    // Dana aims at Data Lead (SQL 4, weight 3; Rust 3, weight 1) and has SQL 2.
    let sql = skill_named(&app, "acme", &hr, "SQL").await;
    let rust = skill_named(&app, "acme", &hr, "Rust").await;
    let role = create_role(
        &app,
        "acme",
        &hr,
        "Data Lead",
        &[(&sql, 4, 3, false), (&rust, 3, 1, false)],
    )
    .await;
    self_rate(&app, &dana_s, &sql, json!({ "level": 2 })).await;
    ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &dana_s.access,
            &json!({ "target_role_id": role["id"] }),
        )
        .await)
    .await;

    // Mo (Berlin) and her manager know SQL at 5 and teach it; Lee (Honolulu, one mentee) does not.
    for session in [&mo_s, &boss_s] {
        self_rate(&app, session, &sql, json!({ "level": 5 })).await;
        save_profile(
            &app,
            session,
            json!({ "timezone": "Europe/Berlin", "languages": ["EN", "de"], "hours_per_week": 2,
                    "mentee_limit": 3, "skills": [{ "skill_id": sql["id"], "teaches": true }] }),
        )
        .await;
    }
    let lee_profile = save_profile(
        &app,
        &lee_s,
        json!({ "timezone": "Pacific/Honolulu", "languages": ["en"], "hours_per_week": 1, "mentee_limit": 1 }),
    )
    .await;
    assert_eq!(lee_profile["open_places"], 1);
    assert_eq!(lee_profile["rating"], 4.0, "no ratings yet: the prior");

    let found = recommendations(&app, &dana_s, "timezone=Europe/Berlin").await;
    assert_eq!(
        names(&found),
        ["mo@acme.example", "lee@acme.example"],
        "{found}"
    );
    let mo_score = &found["items"][0]["score"];
    // SQL covered and taught (3 of 4 weight): 30 of 40; same zone: 15; SQL on both profiles: 10;
    // rating at the prior (4 of 5): 11; no position, so no stage points.
    assert_eq!(mo_score["skills"], 30, "{mo_score}");
    assert_eq!(mo_score["timezone"], 15);
    assert_eq!(mo_score["interests"], 10);
    assert_eq!(mo_score["rating"], 11);
    assert_eq!(mo_score["stage"], 0);
    assert_eq!(mo_score["total"], 66);
    assert_eq!(
        found["items"][1]["score"]["total"], 11,
        "Honolulu: no hours in common"
    );
    assert_eq!(
        found["excluded"]["reporting_line"], 1,
        "her manager is left out"
    );
    let french = recommendations(&app, &dana_s, "languages=fr").await;
    assert_eq!(french["items"].as_array().unwrap().len(), 0);
    assert_eq!(french["excluded"]["no_shared_language"], 2);
    let bad = app
        .get(
            "acme",
            "/api/v1/network/mentors/recommendations?timezone=Mars/Base&limit=0",
            &dana_s.access,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Requests keep to the same filters.
    let mo_id = mo.id.to_string();
    let lee_id = lee.id.to_string();
    let to_boss = request(&app, &dana_s, &boss.id.to_string()).await;
    assert_eq!(
        expect_problem(to_boss, StatusCode::CONFLICT).await,
        "reporting_line"
    );
    let asked = ok(request(&app, &dana_s, &mo_id).await).await;
    let asked_id = asked["id"].as_str().unwrap().to_owned();
    assert_eq!(asked["status"], "requested");
    assert_eq!(asked["score"], 66);
    assert_eq!(asked["breakdown"]["skills"], 30);
    let twice = request(&app, &dana_s, &mo_id).await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "already_connected"
    );
    let waiting = recommendations(&app, &sam_s, "").await;
    let mo_for_sam = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["mentor"]["user_id"] == mo_id.as_str())
        .unwrap();
    assert_eq!(
        mo_for_sam["score"]["spread"], -5,
        "one request waiting for Mo"
    );

    // Only the two people in it see a mentorship; only the mentor answers.
    let peek = app
        .get(
            "acme",
            &format!("/api/v1/network/mentorships/{asked_id}"),
            &lee_s.access,
        )
        .await;
    assert_eq!(peek.status(), StatusCode::NOT_FOUND);
    let by_stranger = answer(&app, &lee_s, &asked_id, "accept").await;
    assert_eq!(by_stranger.status(), StatusCode::NOT_FOUND);
    let by_mentee = answer(&app, &dana_s, &asked_id, "accept").await;
    assert_eq!(
        expect_problem(by_mentee, StatusCode::FORBIDDEN).await,
        "not_the_mentor"
    );

    // Declined: never recommended to Dana again, nor requested.
    let declined = ok(answer(&app, &mo_s, &asked_id, "decline").await).await;
    assert_eq!(declined["status"], "declined");
    let again = answer(&app, &mo_s, &asked_id, "accept").await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "not_pending"
    );
    let retry = request(&app, &dana_s, &mo_id).await;
    assert_eq!(
        expect_problem(retry, StatusCode::CONFLICT).await,
        "declined_before"
    );
    let after = recommendations(&app, &dana_s, "").await;
    assert_eq!(names(&after), ["lee@acme.example"]);
    assert_eq!(after["excluded"]["declined"], 1);

    // Lee takes one mentee: accepting fills the place; a cancellation frees it.
    let dana_lee = ok(request(&app, &dana_s, &lee_id).await).await;
    let dana_lee_id = dana_lee["id"].as_str().unwrap();
    let sam_lee = ok(request(&app, &sam_s, &lee_id).await).await;
    let accepted = ok(answer(&app, &lee_s, dana_lee_id, "accept").await).await;
    assert_eq!(accepted["status"], "accepted");
    let full = answer(&app, &lee_s, sam_lee["id"].as_str().unwrap(), "accept").await;
    assert_eq!(
        expect_problem(full, StatusCode::CONFLICT).await,
        "mentor_full"
    );
    let late = request(&app, &sam_s, &lee_id).await;
    assert_eq!(
        expect_problem(late, StatusCode::CONFLICT).await,
        "mentor_full"
    );
    let withdraw = answer(&app, &lee_s, sam_lee["id"].as_str().unwrap(), "cancel").await;
    assert_eq!(
        expect_problem(withdraw, StatusCode::CONFLICT).await,
        "answer_instead"
    );
    let ended = ok(answer(&app, &dana_s, dana_lee_id, "cancel").await).await;
    assert_eq!(ended["status"], "cancelled");
    let now_room = ok(answer(&app, &lee_s, sam_lee["id"].as_str().unwrap(), "accept").await).await;
    assert_eq!(now_room["status"], "accepted");
    let mine = ok(app
        .get("acme", "/api/v1/network/mentorships", &dana_s.access)
        .await)
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);

    // The organization's weights: HR's to set, and the scores follow them.
    let weights = json!({ "skills": 100, "stage": 0, "timezone": 0, "interests": 0, "rating": 0 });
    let by_member = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/matching-weights",
            &dana_s.access,
            &weights,
        )
        .await;
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    let zero = app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/matching-weights",
            &hr.access,
            &json!({ "skills": 0, "stage": 0, "timezone": 0, "interests": 0, "rating": 0 }),
        )
        .await;
    assert_eq!(zero.status(), StatusCode::UNPROCESSABLE_ENTITY);
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/matching-weights",
            &hr.access,
            &weights,
        )
        .await)
    .await;
    let by_skill = recommendations(&app, &sam_s, "").await;
    assert_eq!(by_skill["weights"]["skills"], 100);
    assert!(!by_skill["items"].as_array().unwrap().is_empty());
    assert!(
        by_skill["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["score"]["timezone"] == 0 && i["score"]["rating"] == 0),
        "{by_skill}"
    );
    app.assert_audited(
        acme.id,
        &[
            "mentor_profile.created",
            "mentorship.requested",
            "mentorship.declined",
            "mentorship.accepted",
            "mentorship.cancelled",
            "matching_weights.updated",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_mentor_profile_refuses_bad_input_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let sql = skill_named(&app, "acme", &owner, "SQL").await;
    let good = json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 2,
                       "skills": [{ "skill_id": sql["id"], "teaches": true }] });
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    for (field, body) in [
        ("timezone", with("timezone", json!("Mars/Base"))),
        ("hours_per_week", with("hours_per_week", json!(0))),
        ("mentee_limit", with("mentee_limit", json!(21))),
        ("languages[0]", with("languages", json!(["x"]))),
        (
            "skills",
            with(
                "skills",
                json!([{ "skill_id": sql["id"] }, { "skill_id": sql["id"] }]),
            ),
        ),
        (
            "skills[0].skill_id",
            with(
                "skills",
                json!([{ "skill_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e" }]),
            ),
        ),
    ] {
        let response = app
            .send_json(
                Method::PUT,
                "acme",
                "/api/v1/network/mentors/me",
                &owner.access,
                &body,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
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
    let none = app
        .get("acme", "/api/v1/network/mentors/me", &owner.access)
        .await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND, "nothing written");
    let saved = save_profile(&app, &owner, good.clone()).await;
    assert_eq!(saved["skills"][0]["name"], "SQL");
    assert_eq!(saved["skills"][0]["teaches"], true);
    // A merge of the skill carries the profile along.
    let rust = skill_named(&app, "acme", &owner, "Rust").await;
    ok(app
        .post(
            "acme",
            &format!(
                "/api/v1/career/skills/{}/merge",
                sql["id"].as_str().unwrap()
            ),
            &owner.access,
            &json!({ "into": rust["id"] }),
        )
        .await)
    .await;
    let merged = ok(app
        .get("acme", "/api/v1/network/mentors/me", &owner.access)
        .await)
    .await;
    assert_eq!(merged["skills"][0]["name"], "Rust", "{merged}");
    assert_eq!(merged["skills"][0]["teaches"], true);
    let paused = save_profile(
        &app,
        &owner,
        json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 2, "active": false }),
    )
    .await;
    assert_eq!(paused["active"], false);
    let listed = ok(app
        .get("acme", "/api/v1/network/mentors", &owner.access)
        .await)
    .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        0,
        "paused mentors are not listed"
    );
}

#[tokio::test]
async fn two_acceptances_at_once_do_not_both_take_the_last_place() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let mentor = app.add_member(&acme, &hr, "mentor", "member").await;
    let mentor_s = app.login("acme", &mentor).await;
    save_profile(
        &app,
        &mentor_s,
        json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 1 }),
    )
    .await;
    for round in 0..5 {
        let mut ids = Vec::new();
        for n in 0..2 {
            let mentee = app
                .add_member(&acme, &hr, &format!("mentee{round}x{n}"), "member")
                .await;
            let session = app.login("acme", &mentee).await;
            let asked = ok(request(&app, &session, &mentor.id.to_string()).await).await;
            ids.push((asked["id"].as_str().unwrap().to_owned(), session));
        }
        let (a, b) = tokio::join!(
            answer(&app, &mentor_s, &ids[0].0, "accept"),
            answer(&app, &mentor_s, &ids[1].0, "accept"),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}");
        // Free the place for the next round.
        let accepted = if a.status() == StatusCode::OK {
            &ids[0]
        } else {
            &ids[1]
        };
        ok(answer(&app, &accepted.1, &accepted.0, "cancel").await).await;
        let other = if a.status() == StatusCode::OK {
            &ids[1]
        } else {
            &ids[0]
        };
        ok(answer(&app, &other.1, &other.0, "cancel").await).await;
    }
}

#[tokio::test]
async fn a_mentorship_runs_from_its_first_session_to_a_rating_that_moves_the_mentor() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let mut people = Vec::new();
    for name in ["ana", "mo", "lee", "sam"] {
        let user = app.add_member(&acme, &hr, name, "member").await;
        let session = app.login("acme", &user).await;
        people.push((user, session));
    }
    let [(_, ana_s), (mo, mo_s), (lee, lee_s), (_, sam_s)] =
        <[_; 4]>::try_from(people).ok().unwrap();
    for session in [&mo_s, &lee_s] {
        save_profile(
            &app,
            session,
            json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 2 }),
        )
        .await;
    }
    let today = trellis::clock::Clock::now(&app.clock).date_naive();
    let asked = ok(request(&app, &ana_s, &mo.id.to_string()).await).await;
    let id = asked["id"].as_str().unwrap().to_owned();
    ok(answer(&app, &mo_s, &id, "accept").await).await;

    let fit = |session: &Session, good: bool| {
        let path = format!("/api/v1/network/mentorships/{id}/fit");
        let token = session.access.clone();
        let app = &app;
        async move {
            app.post("acme", &path, &token, &json!({ "good_fit": good }))
                .await
        }
    };
    let early = fit(&ana_s, true).await;
    assert_eq!(
        expect_problem(early, StatusCode::CONFLICT).await,
        "no_session_yet"
    );

    // The session log: either side, within the mentorship's life; nobody else.
    let sessions = format!("/api/v1/network/mentorships/{id}/sessions");
    for (body, field) in [
        (
            // Days are counted as in any time zone: two days either side are out everywhere.
            json!({ "held_on": today + chrono::Days::new(2), "minutes": 30 }),
            "held_on",
        ),
        (
            json!({ "held_on": today - chrono::Days::new(2), "minutes": 30 }),
            "held_on",
        ),
        (json!({ "held_on": today, "minutes": 0 }), "minutes"),
    ] {
        let response = app.post("acme", &sessions, &ana_s.access, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let stranger = app
        .post(
            "acme",
            &sessions,
            &sam_s.access,
            &json!({ "held_on": today, "minutes": 30 }),
        )
        .await;
    assert_eq!(stranger.status(), StatusCode::NOT_FOUND);
    let logged = ok(app
        .post(
            "acme",
            &sessions,
            &mo_s.access,
            &json!({ "held_on": today, "minutes": 45, "notes": "Planned the quarter." }),
        )
        .await)
    .await;
    assert_eq!(logged["minutes"], 45);
    let listed = ok(app.get("acme", &sessions, &ana_s.access).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // The fit check is the mentee's; a good fit makes it active.
    let by_mentor = fit(&mo_s, true).await;
    assert_eq!(
        expect_problem(by_mentor, StatusCode::FORBIDDEN).await,
        "not_the_mentee"
    );
    let good = ok(fit(&ana_s, true).await).await;
    assert_eq!(good["mentorship"]["status"], "active");
    assert_eq!(good["rematch"].as_array().unwrap().len(), 0);

    // Completed with the mentee's rating, which the mentor's profile then carries.
    let complete = format!("/api/v1/network/mentorships/{id}/complete");
    let mentor_rates = app
        .post("acme", &complete, &mo_s.access, &json!({ "rating": 5 }))
        .await;
    assert_eq!(mentor_rates.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = ok(app
        .post(
            "acme",
            &complete,
            &ana_s.access,
            &json!({ "rating": 5, "feedback": "Exactly the push I needed." }),
        )
        .await)
    .await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["rating"], 5);
    let again = app
        .post(
            "acme",
            &format!("/api/v1/network/mentorships/{id}/rating"),
            &ana_s.access,
            &json!({ "rating": 1 }),
        )
        .await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "not_to_rate"
    );
    let profile = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/mentors/{}", mo.id),
            &sam_s.access,
        )
        .await)
    .await;
    assert_eq!(profile["ratings"], 1);
    assert_eq!(profile["rating"], 4.25, "(3 × 4 + 5) / 4");
    let late = app
        .post(
            "acme",
            &sessions,
            &ana_s.access,
            &json!({ "held_on": today, "minutes": 30 }),
        )
        .await;
    assert_eq!(
        expect_problem(late, StatusCode::CONFLICT).await,
        "not_running"
    );

    // Not a fit: ended, remembered, and other mentors offered instead.
    let second = ok(request(&app, &ana_s, &lee.id.to_string()).await).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    ok(answer(&app, &lee_s, &second_id, "accept").await).await;
    ok(app
        .post(
            "acme",
            &format!("/api/v1/network/mentorships/{second_id}/sessions"),
            &ana_s.access,
            &json!({ "held_on": today, "minutes": 30 }),
        )
        .await)
    .await;
    let not_a_fit = ok(app
        .post(
            "acme",
            &format!("/api/v1/network/mentorships/{second_id}/fit"),
            &ana_s.access,
            &json!({ "good_fit": false, "note": "Different focus." }),
        )
        .await)
    .await;
    assert_eq!(not_a_fit["mentorship"]["status"], "cancelled");
    assert_eq!(not_a_fit["mentorship"]["not_a_fit"], true);
    let offered: Vec<&str> = not_a_fit["rematch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mentor"]["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(offered, ["mo@acme.example"], "Lee is left out from now on");
    let retry = request(&app, &ana_s, &lee.id.to_string()).await;
    assert_eq!(
        expect_problem(retry, StatusCode::CONFLICT).await,
        "declined_before"
    );
    app.assert_audited(
        acme.id,
        &[
            "mentorship.session_logged",
            "mentorship.fit_confirmed",
            "mentorship.completed",
            "mentorship.not_a_fit",
        ],
    )
    .await;
}
