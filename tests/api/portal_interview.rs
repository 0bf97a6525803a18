//! The portal's interview pages (ADR 0018 part 3): a mock interview from start to analysis in a real
//! browser with its countdown, progress across sessions, and the interview calendar with its reminders
//! switch; as a cookie-jar client, the plan's gate, another member's session, and an answer after the
//! time is up.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::json;
use trellis::tenancy::plan::Feature;

use crate::{
    browser::{Browser, url},
    career::ok,
    console::{browser, field, request, sign_in},
    helpers::{PASSWORD, spawn_app},
};

const ANSWER: &str = "In my last role our checkout service failed under load. I was asked to fix it \
    before the sale. I profiled the service, found a missing index and added a cache, and I led the \
    rollout. As a result latency fell by 60% and we handled 3 times the traffic.";

#[tokio::test]
async fn a_member_takes_a_mock_interview_to_its_analysis_and_keeps_a_calendar() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;

    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/login")).await;
    browser.fill("input[name=email]", &ada.email).await;
    browser.fill("input[name=password]", &ada.password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    browser.click("nav a[href='/interview']").await;
    browser
        .wait_for_title("Interview practice — acme Inc")
        .await;
    assert_eq!(browser.count("#no-progress").await, 1);
    browser.assert_accessible().await;

    // Two questions, ten minutes; the clock starts with "Start".
    browser.clear("#question-count").await;
    browser.fill("#question-count", "2").await;
    browser.click("#new-session").await;
    browser.wait_for_title("Mock interview — acme Inc").await;
    assert_eq!(browser.text("#status").await, "pending");
    browser.click("#start").await;
    browser.wait_for_url("/interview/sessions/").await;
    for _ in 0..50 {
        if browser.count("#timer").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Ten minutes as the server drew it (its clock stands still in tests); the script counts down
    // from there: two of its figures more than a second apart differ.
    let mut first = browser.text("#timer").await;
    for _ in 0..30 {
        if first.starts_with("9:") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first = browser.text("#timer").await;
    }
    assert!(
        first.starts_with("9:5"),
        "counting down from 10:00: {first}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let later = browser.text("#timer").await;
    assert!(
        later.starts_with("9:") && later < first,
        "{first} then {later}"
    );
    assert!(
        browser
            .text("#question-h")
            .await
            .starts_with("Question 1 of 2")
    );
    browser.assert_accessible().await;
    browser.screenshot("portal-interview").await;

    for position in 1..=2 {
        browser.fill("#answer", ANSWER).await;
        browser.click("#submit-answer").await;
        if position == 1 {
            for _ in 0..50 {
                let heading = browser.text_now("#question-h").await.unwrap_or_default();
                if heading.starts_with("Question 2") {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(
                browser
                    .text("#question-h")
                    .await
                    .starts_with("Question 2 of 2")
            );
        }
    }
    browser.wait_for_url("/interview/sessions/").await;
    for _ in 0..50 {
        let main = browser.text_now("main").await.unwrap_or_default();
        if main.contains("2 of 2 answered.") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(browser.text("main").await.contains("2 of 2 answered."));
    browser.click("#complete").await;
    for _ in 0..50 {
        if browser.count("#score").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let score: u32 = browser.text("#score").await.parse().unwrap();
    assert!((1..=100).contains(&score), "{score}");
    assert_eq!(browser.count("table.dimensions").await, 2, "one per answer");
    let dimensions = browser.text("table.dimensions").await;
    assert!(
        dimensions.contains("structure") && dimensions.contains("results"),
        "{dimensions}"
    );
    browser.assert_accessible().await;
    browser.screenshot("portal-interview-analysis").await;

    // The practice page lists the session with its score and shows progress.
    browser.open(&url(&app, "acme", "/interview")).await;
    browser
        .wait_for_title("Interview practice — acme Inc")
        .await;
    let sessions = browser.text("#sessions").await;
    assert!(
        sessions.contains("completed") && sessions.contains(&score.to_string()),
        "{sessions}"
    );
    assert!(browser.text("#trends").await.contains("structure"));
    assert!(
        browser
            .text("main")
            .await
            .contains("1 completed mock interview.")
    );

    // The calendar: record an interview with reminders, switch them off, cancel it.
    browser.click("nav a[href='/interview/calendar']").await;
    browser
        .wait_for_title("My interview calendar — acme Inc")
        .await;
    browser.fill("#i-role", "Staff Engineer").await;
    browser.fill("#i-company", "Globex").await;
    let day = (trellis::clock::Clock::now(&app.clock) + Duration::days(3)).format("%Y-%m-%d");
    browser
        .script(
            "document.getElementById('i-start').value = arguments[0];",
            json!([format!("{day}T10:00")]),
        )
        .await;
    browser.clear("#i-zone").await;
    browser.fill("#i-zone", "Europe/Berlin").await;
    browser.click("#record").await;
    browser.wait_for_url("done=recorded").await;
    let upcoming = browser.text("#upcoming").await;
    assert!(
        upcoming.contains("Staff Engineer")
            && upcoming.contains("10:00 (Europe/Berlin, 60 minutes)")
            && upcoming.contains("a day before")
            && upcoming.contains("an hour before"),
        "{upcoming}"
    );
    browser.assert_accessible().await;
    browser.screenshot("portal-calendar").await;
    browser
        .click("#upcoming form[action$='/reminders'] button")
        .await;
    browser.wait_for_url("done=reminders").await;
    assert!(
        browser
            .text("#upcoming")
            .await
            .contains("Reminders are off.")
    );
    browser
        .click("#upcoming form[action$='/cancel'] button")
        .await;
    browser.wait_for_url("done=cancelled").await;
    assert_eq!(browser.count("#no-upcoming").await, 1);
    assert!(browser.text("#past").await.contains("cancelled"));
    browser.quit().await;
}

#[tokio::test]
async fn interview_pages_keep_to_the_plan_the_member_and_the_clock() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_session = app.login("acme", &ada).await;
    let theirs = ok(app
        .post(
            "acme",
            "/api/v1/interview/sessions",
            &owner.access,
            &json!({ "question_count": 1 }),
        )
        .await)
    .await;
    let mine = ok(app
        .post(
            "acme",
            "/api/v1/interview/sessions",
            &ada_session.access,
            &json!({ "question_count": 1, "time_limit_minutes": 5 }),
        )
        .await)
    .await;
    let client = browser();
    sign_in(&app, &client, &ada.email, PASSWORD).await;
    let (_, csrf) = crate::portal::page_and_csrf(&app, &client, "/interview").await;

    // Someone else's session is not found, and starting it changes nothing.
    let id = theirs["session"]["id"].as_str().unwrap();
    let other = request(
        &app,
        &client,
        Method::GET,
        &format!("/interview/sessions/{id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let start = request(
        &app,
        &client,
        Method::POST,
        &format!("/interview/sessions/{id}/start"),
    )
    .form(&[("csrf_token", csrf.as_str())])
    .send()
    .await
    .unwrap();
    assert_eq!(start.status(), StatusCode::NOT_FOUND);
    let owners = ok(app
        .get(
            "acme",
            &format!("/api/v1/interview/sessions/{id}"),
            &owner.access,
        )
        .await)
    .await;
    assert_eq!(owners["session"]["status"], "pending");

    // An answer as long as the service takes fits in a form (well over 16 KiB URL-encoded); one
    // character more is refused with the reason, and the page keeps what was typed.
    let id = mine["session"]["id"].as_str().unwrap();
    let started = request(
        &app,
        &client,
        Method::POST,
        &format!("/interview/sessions/{id}/start"),
    )
    .form(&[("csrf_token", csrf.as_str())])
    .send()
    .await
    .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let long: String = "Ünïcode, and commas; "
        .chars()
        .cycle()
        .take(20_000)
        .collect();
    let answer_at = |text: String| {
        let client = client.clone();
        let csrf = csrf.clone();
        let path = format!("/interview/sessions/{id}/answers/1");
        let app = &app;
        async move {
            request(app, &client, Method::POST, &path)
                .form(&[("csrf_token", csrf.as_str()), ("answer", text.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let fits = answer_at(long.clone()).await;
    assert_eq!(fits.status(), StatusCode::SEE_OTHER);
    let too_long = answer_at(format!("Kept-{long}")).await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = too_long.text().await.unwrap();
    assert!(page.contains("at most 20000 characters"), "the reason");
    assert!(
        page.contains(">Kept-"),
        "what was typed is still in the form"
    );
    app.clock.advance(Duration::minutes(6));
    sign_in(&app, &client, &ada.email, PASSWORD).await;
    let page = request(
        &app,
        &client,
        Method::GET,
        &format!("/interview/sessions/{id}"),
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(page.contains("The time is up"), "{page}");
    let csrf = field(&page, r#"<meta name="csrf-token" content=""#);
    let late = request(
        &app,
        &client,
        Method::POST,
        &format!("/interview/sessions/{id}/answers/1"),
    )
    .form(&[("csrf_token", csrf.as_str()), ("answer", ANSWER)])
    .send()
    .await
    .unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert!(
        late.text()
            .await
            .unwrap()
            .contains("time is up: complete it")
    );
    let session = ok(app
        .get(
            "acme",
            &format!("/api/v1/interview/sessions/{id}"),
            &app.login("acme", &ada).await.access,
        )
        .await)
    .await;
    assert_eq!(
        session["questions"][0]["answer"]
            .as_str()
            .map(|a| a.chars().count()),
        Some(20_000),
        "the answer given in time, not the late one: {session}"
    );

    // Without interview practice in the plan the pages and forms are not there.
    crate::portal::assert_gated(
        Feature::Interview,
        &["/interview", "/interview/calendar"],
        ("/interview/sessions", &[("question_count", "1")]),
    )
    .await;
}
