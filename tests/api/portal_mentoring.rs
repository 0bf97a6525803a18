//! The portal's mentoring pages (ADR 0018 part 4, mentoring): a mentor offers herself, a mentee finds
//! her among the recommendations with why she suits, asks, and the mentor — in a second browser —
//! accepts and logs their first session; refused requests and answers change nothing and say why; the
//! plan's networking gates every page and form.

use reqwest::{Method, StatusCode};
use serde_json::json;
use trellis::tenancy::plan::Feature;

use crate::{
    browser::{Browser, url},
    career::ok,
    console::{browser, request, sign_in},
    helpers::{PASSWORD, TestApp, spawn_app},
};

async fn open_mentoring(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    browser.open(&url(app, "acme", "/login")).await;
    browser.fill("input[name=email]", email).await;
    browser.fill("input[name=password]", password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    browser.click("nav a[href='/mentoring']").await;
    browser.wait_for_title("Mentoring — acme Inc").await;
}

#[tokio::test]
async fn a_mentee_asks_a_recommended_mentor_who_accepts_in_her_own_browser_and_logs_a_session() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let mara = app.add_member(&acme, &owner, "mara", "member").await;

    // Mara offers to mentor.
    let mentor = Browser::start().await;
    open_mentoring(&mentor, &app, &mara.email, &mara.password).await;
    mentor
        .fill("#bio", "Data platform lead; happy to help with SQL.")
        .await;
    mentor.click("#save-profile").await;
    mentor.wait_for_url("done=profile").await;
    assert!(
        mentor
            .text("main")
            .await
            .contains("You mentor 0 people now.")
    );
    mentor.assert_accessible().await;

    // Ada finds her with the reasons, and asks.
    let mentee = Browser::start().await;
    open_mentoring(&mentee, &app, &ada.email, &ada.password).await;
    let recommended = mentee.text("#recommended").await;
    assert!(
        recommended.contains("Data platform lead") && recommended.contains("points"),
        "{recommended}"
    );
    assert!(
        recommended.contains("Why: working hours that overlap yours (+15)"),
        "why she suits: {recommended}"
    );
    mentee.assert_accessible().await;
    mentee.screenshot("portal-mentoring").await;
    let mara_id = mara.id.to_string();
    mentee
        .fill(&format!("#goals-{mara_id}"), "Lead the data team")
        .await;
    mentee.click(&format!("#ask-{mara_id}")).await;
    mentee.wait_for_url("done=requested").await;
    let mine = mentee.text("#mentorships").await;
    assert!(
        mine.contains("you are the mentee") && mine.contains("requested"),
        "{mine}"
    );

    // Mara, in her own browser, sees the request and accepts it.
    mentor.open(&url(&app, "acme", "/mentoring")).await;
    mentor.wait_for_title("Mentoring — acme Inc").await;
    let waiting = mentor.text("#mentorships").await;
    assert!(
        waiting.contains("you are the mentor") && waiting.contains("Lead the data team"),
        "{waiting}"
    );
    mentor.click("#mentorships button[value=accept]").await;
    mentor.wait_for_url("done=accepted").await;
    assert!(mentor.text("#mentorships").await.contains("accepted"));
    mentor.click("#mentorships a").await;
    for _ in 0..50 {
        if mentor.count("#log-session").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(mentor.title().await.starts_with("Mentorship with "));
    mentor
        .fill("#notes", "Went through window functions.")
        .await;
    mentor.click("#log-session").await;
    mentor.wait_for_url("done=logged").await;
    let sessions = mentor.text("#sessions").await;
    assert!(
        sessions.contains(" 45 Went through window functions."),
        "{sessions}"
    );
    mentor.assert_accessible().await;
    mentor.screenshot("portal-mentorship").await;
    mentor.quit().await;

    // Ada sees it under way.
    mentee.open(&url(&app, "acme", "/mentoring")).await;
    mentee.wait_for_title("Mentoring — acme Inc").await;
    assert!(mentee.text("#mentorships").await.contains("accepted"));

    // After the first session she says it is a good fit; completing it, she rates it.
    mentee.click("#mentorships a").await;
    for _ in 0..50 {
        if mentee.count("#good-fit").await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    mentee.fill("#fit-note", "Clear and patient.").await;
    mentee.click("#good-fit").await;
    mentee.wait_for_url("done=fit").await;
    assert_eq!(mentee.text("#status").await, "active");
    mentee.click("#complete-rating option[value='5']").await;
    mentee
        .fill("#complete-feedback", "I lead the data team now.")
        .await;
    mentee.click("#complete").await;
    mentee.wait_for_url("done=completed").await;
    assert_eq!(
        mentee.text("#rating").await,
        "Rated 5 of 5: “I lead the data team now.”."
    );
    mentee.assert_accessible().await;
    let ada_session = app.login("acme", &ada).await;
    let ended = ok(app
        .get("acme", "/api/v1/network/mentorships", &ada_session.access)
        .await)
    .await;
    assert_eq!(
        (&ended["items"][0]["status"], &ended["items"][0]["rating"]),
        (&json!("completed"), &json!(5)),
        "{ended}"
    );
    mentee.quit().await;
}

#[tokio::test]
async fn refused_mentoring_forms_change_nothing_and_the_plan_gates_the_pages() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let bob = app.add_member(&acme, &owner, "bob", "member").await;
    let mara = app.add_member(&acme, &owner, "mara", "member").await;
    let mara_session = app.login("acme", &mara).await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/mentors/me",
            &mara_session.access,
            &json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 1 }),
        )
        .await)
    .await;
    let ada_session = app.login("acme", &ada).await;
    let asked = ok(app
        .post(
            "acme",
            "/api/v1/network/mentorships",
            &ada_session.access,
            &json!({ "mentor_id": mara.id.to_string(), "goals": "SQL" }),
        )
        .await)
    .await;
    let asked_id = asked["id"].as_str().unwrap();

    let client = browser();
    sign_in(&app, &client, &bob.email, PASSWORD).await;
    let (_, csrf) = crate::portal::page_and_csrf(&app, &client, "/mentoring").await;
    // Bob cannot answer a request made to Mara.
    let not_his = request(
        &app,
        &client,
        Method::POST,
        &format!("/mentoring/{asked_id}/answer"),
    )
    .form(&[("csrf_token", csrf.as_str()), ("answer", "accept")])
    .send()
    .await
    .unwrap();
    assert_eq!(not_his.status(), StatusCode::NOT_FOUND, "not his to see");
    // Asking oneself (with a mentor profile of one's own) is refused with the reason.
    let bob_session = app.login("acme", &bob).await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/mentors/me",
            &bob_session.access,
            &json!({ "timezone": "Europe/Berlin", "hours_per_week": 1, "mentee_limit": 1 }),
        )
        .await)
    .await;
    let me = request(&app, &client, Method::POST, "/mentoring/requests")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("mentor_id", bob.id.to_string().as_str()),
            ("goals", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(me.text().await.unwrap().contains("mentor id is you"));
    // A profile that does not parse: 422 and the profile as it was.
    let bad = request(&app, &client, Method::POST, "/mentoring/profile")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("timezone", "Mars/Olympus"),
            ("hours_per_week", "2"),
            ("mentee_limit", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let profile = ok(app
        .get("acme", "/api/v1/network/mentors/me", &bob_session.access)
        .await)
    .await;
    assert_eq!(
        profile["timezone"], "Europe/Berlin",
        "nothing saved: {profile}"
    );

    // Ada cannot answer her own request; once Mara accepts, a stale "Withdraw" is refused and the
    // mentorship stays.
    let ada_client = browser();
    sign_in(&app, &ada_client, &ada.email, PASSWORD).await;
    let (_, ada_csrf) = crate::portal::page_and_csrf(&app, &ada_client, "/mentoring").await;
    let own = request(
        &app,
        &ada_client,
        Method::POST,
        &format!("/mentoring/{asked_id}/answer"),
    )
    .form(&[("csrf_token", ada_csrf.as_str()), ("answer", "accept")])
    .send()
    .await
    .unwrap();
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    assert!(
        own.text()
            .await
            .unwrap()
            .contains("only the mentor answers a request")
    );
    ok(app
        .post(
            "acme",
            &format!("/api/v1/network/mentorships/{asked_id}/accept"),
            &mara_session.access,
            &json!({}),
        )
        .await)
    .await;
    let stale = request(
        &app,
        &ada_client,
        Method::POST,
        &format!("/mentoring/{asked_id}/cancel"),
    )
    .form(&[("csrf_token", ada_csrf.as_str())])
    .send()
    .await
    .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(stale.text().await.unwrap().contains("can be withdrawn"));
    let still = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/mentorships/{asked_id}"),
            &mara_session.access,
        )
        .await)
    .await;
    assert_eq!(still["status"], "accepted", "{still}");
    // Before a session there is no fit to tell, and an accepted mentorship is not completed yet.
    for (path, fields, reason) in [
        (
            "fit",
            vec![("fit", "yes"), ("note", "Too early")],
            "log your first session",
        ),
        (
            "complete",
            vec![("rating", "5"), ("feedback", "Kept words")],
            "only an active mentorship",
        ),
    ] {
        let at = format!("/mentoring/{asked_id}/{path}");
        let (refused, page) =
            crate::portal::post_form(&app, &ada_client, &at, &ada_csrf, &fields).await;
        assert_eq!(refused, StatusCode::CONFLICT, "{path}");
        assert!(page.contains(reason), "{path}: {page}");
    }
    let still = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/mentorships/{asked_id}"),
            &mara_session.access,
        )
        .await)
    .await;
    assert_eq!(still["status"], "accepted", "{still}");
    // Someone else's mentorship has no page here.
    let other = request(
        &app,
        &client,
        Method::GET,
        &format!("/mentoring/{asked_id}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    // Without networking in the plan: no page, no form, no link.
    crate::portal::assert_gated(
        Feature::Networking,
        &["/mentoring", "/referrals"],
        (
            "/mentoring/profile",
            &[
                ("timezone", "Europe/Berlin"),
                ("hours_per_week", "2"),
                ("mentee_limit", "1"),
            ],
        ),
    )
    .await;
}
