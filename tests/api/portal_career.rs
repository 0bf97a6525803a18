//! The portal's career pages (ADR 0018 part 2) in a real browser and as a cookie-jar client: a member
//! builds their profile, chooses a goal from the roles, enrols in a course a gap lists and completes
//! it (their level rises, the gap closes), records a milestone and a project; their manager sees the
//! team's skills and gaps. Refused forms change nothing and say why; another organization's role is
//! not found.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    browser::{Browser, url},
    career::{create_role, ok, self_rate, set_manager, skill_named},
    console::{browser, field, request, sign_in},
    helpers::{PASSWORD, Session, TestApp, spawn_app},
};

async fn course(app: &TestApp, owner: &Session, title: &str, skill: &Value, level: i64) -> Value {
    ok(app
        .post(
            "acme",
            "/api/v1/career/courses",
            &owner.access,
            &json!({ "title": title, "provider": "Academy", "duration_minutes": 60,
                     "skills": [{ "skill_id": skill["id"], "level": level }] }),
        )
        .await)
    .await
}

/// Signs in through the shared page and waits for the portal's home.
async fn open_portal(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    browser.open(&url(app, "acme", "/login")).await;
    browser.fill("input[name=email]", email).await;
    browser.fill("input[name=password]", password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
}

#[tokio::test]
async fn a_member_chooses_a_goal_closes_a_gap_with_a_course_and_their_manager_sees_it() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let max = app.add_member(&acme, &owner, "max", "manager").await;
    set_manager(&app, &acme, &ada, &max).await;
    let sql = skill_named(&app, "acme", &owner, "SQL").await;
    let python = skill_named(&app, "acme", &owner, "Python").await;
    create_role(
        &app,
        "acme",
        &owner,
        "Data Lead",
        &[(&sql, 4, 3, true), (&python, 3, 1, false)],
    )
    .await;
    course(&app, &owner, "Advanced SQL", &sql, 4).await;

    let browser = Browser::start().await;
    open_portal(&browser, &app, &ada.email, &ada.password).await;
    browser.click("nav a[href='/career']").await;
    browser.wait_for_title("My career — acme Inc").await;
    assert_eq!(browser.count("#no-goal").await, 1);
    assert_eq!(browser.count("#my-team").await, 0, "Ada manages no one");
    browser.assert_accessible().await;

    // A skill found by name, rated and marked to develop.
    browser.fill("#q", "Python").await;
    browser.click("#find-skill").await;
    browser.wait_for_url("q=Python").await;
    let id = python["id"].as_str().unwrap();
    browser
        .click(&format!("#add-level-{id} option[value='3']"))
        .await;
    browser.click(&format!("#add-want-{id}")).await;
    browser
        .click(&format!(
            "form[action='/career/skills/{id}'] button[type=submit]"
        ))
        .await;
    browser.wait_for_url("done=skill").await;
    let skills = browser.text("#skills").await;
    assert!(
        skills.contains("Python") && skills.contains("3.0"),
        "{skills}"
    );
    assert_eq!(
        browser
            .script(
                &format!("return document.getElementById('want-{id}').checked;"),
                json!([])
            )
            .await,
        json!(true)
    );

    // The roles with Ada's readiness; the role's page explains it and makes it her goal.
    browser.click("nav a[href='/career/roles']").await;
    browser
        .wait_for_title("Roles and pathways — acme Inc")
        .await;
    let roles = browser.text("#roles").await;
    assert!(roles.contains("Data Lead"), "{roles}");
    browser.assert_accessible().await;
    browser.click("#roles a").await;
    browser.wait_for_title("Data Lead — acme Inc").await;
    let asked = browser.text("#requirements").await;
    assert!(
        asked.contains("SQL (critical) 4 0.0 3 no") && asked.contains("Python 3 3.0 1 yes"),
        "{asked}"
    );
    let before: u64 = browser
        .text("#readiness-score")
        .await
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(before <= 40, "a critical gap caps it: {before}");
    browser.assert_accessible().await;
    browser.screenshot("portal-role").await;
    browser.click("#set-goal").await;
    browser.wait_for_url("done=goal").await;
    assert_eq!(browser.text("#goal-role").await, "Data Lead");
    let steps = browser.text("#next-steps").await;
    assert!(
        steps.contains("SQL: level 0.0 of the 4") && steps.contains("Advanced SQL"),
        "{steps}"
    );
    browser.screenshot("portal-career").await;

    // Enrol from the gap, record progress, complete it: the self rating rises and the gap closes.
    browser
        .click("button[aria-label='Enrol in Advanced SQL']")
        .await;
    browser.wait_for_url("done=enrolled").await;
    assert!(browser.text("#enrolments").await.contains("Advanced SQL"));
    browser.clear("#enrolments input[name=progress]").await;
    browser.fill("#enrolments input[name=progress]", "40").await;
    browser
        .click("#enrolments button[type=submit]:not([name])")
        .await;
    browser.wait_for_url("done=progress").await;
    assert!(browser.text("#enrolments").await.contains("40%"));
    browser.assert_accessible().await;
    browser.screenshot("portal-learning").await;
    browser.click("#enrolments button[value=completed]").await;
    browser.wait_for_url("done=completed").await;
    assert!(browser.text("#enrolments").await.contains("completed"));
    browser.open(&url(&app, "acme", "/career")).await;
    browser.wait_for_title("My career — acme Inc").await;
    assert_eq!(
        browser.text("#no-gaps").await,
        "You meet every requirement of the role."
    );
    assert_eq!(browser.text("#readiness-score").await, "100%");

    // A milestone and a project.
    browser.click("nav a[href='/career/record']").await;
    browser
        .wait_for_title("Milestones and portfolio — acme Inc")
        .await;
    browser
        .click("#m-kind option[value=certification_earned]")
        .await;
    browser.fill("#m-title", "SQL certificate").await;
    let today = trellis::clock::Clock::now(&app.clock)
        .date_naive()
        .to_string();
    browser
        .script(
            "document.getElementById('m-date').value = arguments[0];",
            json!([today]),
        )
        .await;
    browser.click("#add-milestone").await;
    browser.wait_for_url("done=milestone").await;
    let milestones = browser.text("#milestones").await;
    assert!(
        milestones.contains("SQL certificate") && milestones.contains("pending"),
        "{milestones}"
    );
    assert_eq!(browser.text("#points").await, "0", "not verified yet");
    browser.fill("#p-title", "Sales dashboard").await;
    browser.click("#p-visibility option[value=org]").await;
    browser.click("#add-project").await;
    browser.wait_for_url("done=project").await;
    assert!(browser.text("#projects").await.contains("Sales dashboard"));
    browser.assert_accessible().await;
    browser.quit().await;

    // Max, Ada's manager, sees her goal, readiness and skills.
    let browser = Browser::start().await;
    open_portal(&browser, &app, &max.email, &max.password).await;
    browser.open(&url(&app, "acme", "/career")).await;
    browser.wait_for_title("My career — acme Inc").await;
    browser.click("#my-team").await;
    browser.wait_for_title("My team — acme Inc").await;
    let team = browser.text("main").await;
    assert!(
        team.contains("Goal: Data Lead, readiness 100%") && team.contains("Python 3.0 yes"),
        "{team}"
    );
    assert!(team.contains("SQL 4.0 no"), "raised by the course: {team}");
    browser.assert_accessible().await;
    browser.screenshot("portal-team").await;
    browser.quit().await;
}

/// Posts a portal form as a signed-in cookie-jar browser, with the session's CSRF token.
async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = request(app, client, Method::GET, "/career")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field(&page, r#"<meta name="csrf-token" content=""#);
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    request(app, client, Method::POST, path)
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn refused_career_forms_change_nothing_and_say_why() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    let globex_owner = app.login_owner(&globex).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_session = app.login("acme", &ada).await;
    let sql = skill_named(&app, "acme", &owner, "SQL").await;
    let lead = create_role(&app, "acme", &owner, "Data Lead", &[(&sql, 4, 1, false)]).await;
    let analyst = create_role(&app, "acme", &owner, "Analyst", &[(&sql, 2, 1, false)]).await;
    let theirs = create_role(&app, "globex", &globex_owner, "Globex Secret Role", &[]).await;
    self_rate(&app, &ada_session, &sql, json!({ "level": 2 })).await;
    let client = browser();
    sign_in(&app, &client, &ada.email, PASSWORD).await;

    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let goal = post_form(
        &app,
        &client,
        "/career/goal",
        &[("target_role_id", &id(&lead))],
    )
    .await;
    assert_eq!(goal.status(), StatusCode::SEE_OTHER);
    // A second goal while one is active: 409, the reason on the page, the first goal kept.
    let second = post_form(
        &app,
        &client,
        "/career/goal",
        &[("target_role_id", &id(&analyst))],
    )
    .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let page = second.text().await.unwrap();
    assert!(
        page.contains("mark it achieved or abandoned first"),
        "{page}"
    );
    let goals = ok(app
        .get("acme", "/api/v1/career/me/goals", &ada_session.access)
        .await)
    .await;
    assert_eq!(goals["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        goals["items"][0]["target_role"]["name"], "Data Lead",
        "{goals}"
    );

    // A level out of range, a date that is not one: 422 and the profile as it was.
    let sql_id = id(&sql);
    let bad_level = post_form(
        &app,
        &client,
        &format!("/career/skills/{sql_id}"),
        &[("level", "9"), ("want_to_develop", "on")],
    )
    .await;
    assert_eq!(bad_level.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_level
            .text()
            .await
            .unwrap()
            .contains("level must be between 1 and 5")
    );
    let me = ok(app
        .get("acme", "/api/v1/career/me", &ada_session.access)
        .await)
    .await;
    assert_eq!(me["skills"][0]["level"], 2.0, "{me}");
    assert_eq!(me["skills"][0]["want_to_develop"], false, "{me}");
    let bad_close = post_form(
        &app,
        &client,
        &format!(
            "/career/goal/{}/close",
            goals["items"][0]["id"].as_str().unwrap()
        ),
        &[("status", "forgotten")],
    )
    .await;
    assert_eq!(bad_close.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_close.text().await.unwrap().contains("status"));
    let goals = ok(app
        .get("acme", "/api/v1/career/me/goals", &ada_session.access)
        .await)
    .await;
    assert_eq!(goals["items"][0]["status"], "active", "{goals}");

    // Saving a row without choosing a level keeps the rating (and its age): only the wish changes.
    let wish = post_form(
        &app,
        &client,
        &format!("/career/skills/{sql_id}"),
        &[("level", ""), ("want_to_develop", "on")],
    )
    .await;
    assert_eq!(wish.status(), StatusCode::SEE_OTHER);
    let me = ok(app
        .get("acme", "/api/v1/career/me", &ada_session.access)
        .await)
    .await;
    assert_eq!(me["skills"][0]["want_to_develop"], true, "{me}");
    assert_eq!(
        me["skills"][0]["ratings"].as_array().unwrap().len(),
        1,
        "no rating added: {me}"
    );

    // Someone else's enrolment is not found here and stays as it was.
    let course = course(&app, &owner, "Advanced SQL", &sql, 4).await;
    let theirs_enrolment = ok(app
        .post(
            "acme",
            &format!("/api/v1/career/courses/{}/enrolment", id(&course)),
            &owner.access,
            &json!({}),
        )
        .await)
    .await;
    let not_hers = post_form(
        &app,
        &client,
        &format!("/career/learning/enrolments/{}", id(&theirs_enrolment)),
        &[("progress", "50")],
    )
    .await;
    assert_eq!(not_hers.status(), StatusCode::NOT_FOUND);
    let owners = ok(app
        .get("acme", "/api/v1/career/me/learning", &owner.access)
        .await)
    .await;
    assert_eq!(owners["items"][0]["progress"], 0, "{owners}");

    // Without the session's CSRF token nothing happens.
    let forged = request(
        &app,
        &client,
        Method::POST,
        &format!("/career/skills/{sql_id}/remove"),
    )
    .form(&[("csrf_token", "forged")])
    .send()
    .await
    .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let me = ok(app
        .get("acme", "/api/v1/career/me", &ada_session.access)
        .await)
    .await;
    assert_eq!(me["skills"].as_array().unwrap().len(), 1);

    // Another organization's role is not found here, as a page or as a goal.
    let elsewhere = request(
        &app,
        &client,
        Method::GET,
        &format!("/career/roles/{}", id(&theirs)),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert!(
        !elsewhere
            .text()
            .await
            .unwrap()
            .contains("Globex Secret Role")
    );
    let roles = request(&app, &client, Method::GET, "/career/roles")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(roles.contains("Data Lead") && !roles.contains("Globex Secret Role"));
}
