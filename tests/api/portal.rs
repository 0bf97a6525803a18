//! The employee portal at `/` (ADR 0018): single sign-on in a real browser through the real OpenID
//! provider, the home page drawn from the member's own career, interviews, mentorships and workspaces,
//! the sign-in both apps share (landing by role, coming back to the page asked for, renewal and
//! sign-out on the portal), and where the portal answers at all.

use chrono::Duration;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use trellis::tenancy::plan::Feature;

use crate::{
    browser::{Browser, url},
    career::{create_role, ok, self_rate, skill_named},
    console::{browser, field, location, request, sign_in, sign_in_to},
    helpers::{PASSWORD, Session, TestApp, spawn_app, spawn_app_with},
};

/// Single sign-on in a real browser, through the real OpenID provider's own sign-in page: the button
/// on the shared sign-in page, the provider's form, the redirects back, and a session the API accepts.
/// A member provisioned just in time, with no section of the console, lands on the portal's home.
#[tokio::test]
async fn a_member_signs_in_through_the_real_provider_and_lands_on_the_portal_home() {
    let app = spawn_app_with(|_| {}).await;
    let op = crate::op::TestOp::start().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    crate::sso::connect(
        &app,
        &acme,
        &owner,
        &op,
        json!({ "jit_provisioning": true }),
    )
    .await;
    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/")).await;
    // Not signed in: the sign-in page, which will come back to the home page.
    browser.wait_for_title("Sign in — acme Inc").await;
    assert_eq!(
        browser.attribute("#sso", "href").await.as_deref(),
        Some("/auth/sso/start?return_to=%2F")
    );
    browser.click("#sso").await;
    browser.wait_for_url("/interaction/").await;
    browser.fill("input[name=sub]", "lin-7").await;
    browser.fill("input[name=email]", "lin@acme.example").await;
    browser.fill("input[name=name]", "Lin Chen").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    assert!(browser.text("main").await.contains("lin@acme.example"));
    assert_eq!(
        browser.text("#no-goal").await,
        "You have not set a career goal yet."
    );
    assert_eq!(browser.count("#to-console").await, 0, "a member's portal");
    browser.assert_accessible().await;
    // The session the callback set is the API's: the browser's own cookie reads who it is.
    browser.open(&url(&app, "acme", "/api/v1/me")).await;
    let me: Value = serde_json::from_str(&browser.text("body").await).unwrap();
    assert_eq!(me["email"], "lin@acme.example");
    assert_eq!(me["display_name"], "Lin Chen");
    assert_eq!(me["role"], "member");
    browser.quit().await;
}

async fn course(app: &TestApp, owner: &Session, title: &str, skill: &Value, level: i64) {
    ok(app
        .post(
            "acme",
            "/api/v1/career/courses",
            &owner.access,
            &json!({ "title": title, "provider": "Academy", "duration_minutes": 90,
                     "url": "https://academy.example.com/c",
                     "skills": [{ "skill_id": skill["id"], "level": level }] }),
        )
        .await)
    .await;
}

#[tokio::test]
async fn the_home_shows_the_goal_next_steps_interviews_mentoring_and_activity() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada_user = app.add_member(&acme, &owner, "ada", "member").await;
    let ada = app.login("acme", &ada_user).await;

    // A goal: a role asking SQL 4 (critical, weight 3), Python 3 (weight 2) and Kubernetes 2; Ada holds
    // Python 3 and SQL 1. Readiness is capped by the unmet critical requirement.
    let sql = skill_named(&app, "acme", &owner, "SQL").await;
    let python = skill_named(&app, "acme", &owner, "Python").await;
    let k8s = skill_named(&app, "acme", &owner, "Kubernetes").await;
    let role = create_role(
        &app,
        "acme",
        &owner,
        "Data Lead",
        &[
            (&sql, 4, 3, true),
            (&python, 3, 2, false),
            (&k8s, 2, 1, false),
        ],
    )
    .await;
    self_rate(&app, &ada, &python, json!({ "level": 3 })).await;
    self_rate(&app, &ada, &sql, json!({ "level": 1 })).await;
    course(&app, &owner, "Advanced SQL", &sql, 4).await;
    course(&app, &owner, "SQL basics", &sql, 2).await;
    course(&app, &owner, "Kubernetes in a day", &k8s, 2).await;
    ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &ada.access,
            &json!({ "target_role_id": role["id"], "target_date": "2099-06-30" }),
        )
        .await)
    .await;
    let readiness = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/career/roles/{}/readiness",
                role["id"].as_str().unwrap()
            ),
            &ada.access,
        )
        .await)
    .await;
    let score = readiness["readiness"]["score"].as_u64().unwrap();

    // An interview in three days, one already cancelled, and a mentorship Ada asked for.
    let day = (trellis::clock::Clock::now(&app.clock) + Duration::days(3)).format("%Y-%m-%d");
    for (company, cancel) in [("Globex", false), ("Initech", true)] {
        let interview = ok(app
            .post(
                "acme",
                "/api/v1/interview/calendar",
                &ada.access,
                &json!({ "company": company, "role_title": "Staff Engineer", "interview_type": "technical",
                         "starts_at": format!("{day}T10:00"), "timezone": "Europe/Berlin",
                         "duration_minutes": 60, "location": "Room 4" }),
            )
            .await)
        .await;
        if cancel {
            let id = interview["id"].as_str().unwrap();
            ok(app
                .post(
                    "acme",
                    &format!("/api/v1/interview/calendar/{id}/cancel"),
                    &ada.access,
                    &json!({}),
                )
                .await)
            .await;
        }
    }
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/mentors/me",
            &owner.access,
            &json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 2 }),
        )
        .await)
    .await;
    ok(app
        .post(
            "acme",
            "/api/v1/network/mentorships",
            &ada.access,
            &json!({ "mentor_id": acme.owner.id.to_string(), "goals": "Lead the data team" }),
        )
        .await)
    .await;
    // Ada's workspace with a document; the owner's own workspace is not hers to see.
    for (session, name, title) in [
        (&ada, "Spring applications", "Cover letter"),
        (&owner, "Board papers", "Acme Secret Minutes"),
    ] {
        let workspace = ok(app
            .post(
                "acme",
                "/api/v1/workspaces",
                &session.access,
                &json!({ "name": name }),
            )
            .await)
        .await;
        ok(app
            .post(
                "acme",
                &format!(
                    "/api/v1/workspaces/{}/documents",
                    workspace["id"].as_str().unwrap()
                ),
                &session.access,
                &json!({ "type": "note", "title": title, "body": "Draft" }),
            )
            .await)
        .await;
    }

    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/login")).await;
    browser.fill("input[name=email]", &ada_user.email).await;
    browser
        .fill("input[name=password]", &ada_user.password)
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    assert_eq!(browser.text("#goal-role").await, "Data Lead");
    assert_eq!(browser.text("#readiness-score").await, format!("{score}%"));
    assert!(
        score <= 40,
        "an unmet critical requirement keeps it at most 40: {readiness}"
    );
    assert_eq!(
        browser.attribute("#readiness", "value").await.as_deref(),
        Some(score.to_string().as_str())
    );
    let steps = browser.text("#next-steps").await;
    let (at_sql, at_k8s) = (
        steps
            .find("SQL: level 1.0 of the 4")
            .unwrap_or_else(|| panic!("{steps}")),
        steps
            .find("Kubernetes: level 0.0 of the 2")
            .unwrap_or_else(|| panic!("{steps}")),
    );
    assert!(at_sql < at_k8s, "largest gap first: {steps}");
    assert!(
        !steps.contains("Python"),
        "a met requirement is no step: {steps}"
    );
    assert!(steps.contains("(critical)"), "{steps}");
    assert!(
        steps.contains("Advanced SQL") && steps.contains("reaches the level"),
        "{steps}"
    );
    assert!(steps.contains("Kubernetes in a day"), "{steps}");
    let interviews = browser.text("#interviews").await;
    assert!(
        interviews.contains("Technical interview — Staff Engineer at Globex")
            && interviews.contains("10:00 (Europe/Berlin, 60 minutes)")
            && interviews.contains("Room 4"),
        "{interviews}"
    );
    assert!(!interviews.contains("Initech"), "cancelled: {interviews}");
    let mentoring = browser.text("#mentorships").await;
    assert!(
        mentoring.contains("mentee") && mentoring.contains("waiting for their answer"),
        "{mentoring}"
    );
    let activity = browser.text("#activity").await;
    assert!(
        activity.contains("Cover letter") && activity.contains("Spring applications"),
        "{activity}"
    );
    assert!(!activity.contains("Acme Secret"), "not Ada's: {activity}");
    browser.assert_accessible().await;
    browser.screenshot("portal-home").await;
    browser.quit().await;

    // The mentor sees the request waiting for them, and the way to the console their role opens.
    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/")).await;
    browser.fill("input[name=email]", &acme.owner.email).await;
    browser
        .fill("input[name=password]", &acme.owner.password)
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    assert!(
        browser
            .text("#mentorships")
            .await
            .contains("waiting for your answer")
    );
    browser.click("#to-console").await;
    browser.wait_for_title("Overview — acme Inc").await;
    browser.click("#to-portal").await;
    browser.wait_for_title("Home — acme Inc").await;
    browser.quit().await;
}

#[tokio::test]
async fn signing_in_lands_by_role_comes_back_to_the_page_asked_for_and_renews_on_the_portal() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let hr = app.add_member(&acme, &owner, "hana", "hr").await;

    // Not signed in: the portal sends the browser to sign in and back.
    let client = browser();
    let anonymous = request(&app, &client, Method::GET, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (anonymous.status(), location(&anonymous)),
        (StatusCode::SEE_OTHER, "/login?return_to=%2F")
    );
    let page = request(
        &app,
        &client,
        Method::GET,
        "/login?return_to=%2Fadmin%2Froles",
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert_eq!(
        field(&page, r#"name="return_to" value=""#).replace("&#x2f;", "/"),
        "/admin/roles",
        "the form carries the page asked for"
    );
    // The console's former address leads to the shared page, keeping what was asked.
    let former = request(
        &app,
        &client,
        Method::GET,
        "/admin/login?return_to=%2Fadmin%2Froles",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        (former.status(), location(&former)),
        (StatusCode::SEE_OTHER, "/login?return_to=%2Fadmin%2Froles")
    );
    let former = request(&app, &client, Method::GET, "/admin/login")
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&former),
        "/login?return_to=%2Fadmin",
        "the console's address signs in to the console"
    );

    // Where each lands with nothing asked: the console for roles with a section of it.
    for (email, lands) in [
        (acme.owner.email.as_str(), "/admin"),
        (hr.email.as_str(), "/admin"),
        (ada.email.as_str(), "/"),
    ] {
        let response = sign_in(&app, &browser(), email, PASSWORD).await;
        assert_eq!(
            (response.status(), location(&response)),
            (StatusCode::SEE_OTHER, lands),
            "{email}"
        );
    }
    // A page asked for wins; a foreign one is ignored.
    for (asked, lands) in [
        ("/admin/members", "/admin/members"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/caf\u{e9}", "/"),
        ("/login", "/"),
    ] {
        let response = sign_in_to(&app, &browser(), &ada.email, PASSWORD, asked).await;
        assert_eq!(location(&response), lands, "{asked}");
    }

    // Ada's session on the portal: the expired access cookie is renewed by the refresh cookie (now
    // sent on every path), and signing out ends it.
    let client = browser();
    let signed_in = sign_in(&app, &client, &ada.email, PASSWORD).await;
    let cookies: Vec<&str> = signed_in
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("trellis_refresh=;")
            && c.contains("Path=/admin")
            && c.contains("Max-Age=0")),
        "a refresh cookie left at the console's path is removed: {cookies:?}"
    );
    let home = request(&app, &client, Method::GET, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(
        home.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap(),
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let csrf = field(
        &home.text().await.unwrap(),
        r#"<meta name="csrf-token" content=""#,
    );
    app.clock.advance(Duration::minutes(16));
    let expired = request(&app, &client, Method::GET, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (expired.status(), location(&expired)),
        (StatusCode::SEE_OTHER, "/")
    );
    let renewed = request(&app, &client, Method::GET, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewed = renewed.text().await.unwrap();
    assert!(renewed.contains(&ada.email));
    let csrf_after = field(&renewed, r#"<meta name="csrf-token" content=""#);
    assert_eq!(csrf, csrf_after, "the same session");
    let out = request(&app, &client, Method::POST, "/logout")
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (out.status(), location(&out)),
        (StatusCode::SEE_OTHER, "/login")
    );
    let after = request(&app, &client, Method::GET, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&after), "/login?return_to=%2F");
    // A console page loaded before the move posts to the former addresses: on to the shared ones,
    // method and form kept.
    for path in ["/admin/login", "/admin/login/mfa", "/admin/logout"] {
        let moved = request(&app, &client, Method::POST, path)
            .form(&[("csrf_token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            (moved.status(), location(&moved)),
            (StatusCode::TEMPORARY_REDIRECT, &path["/admin".len()..]),
        );
    }
}

#[tokio::test]
async fn the_portal_answers_on_organizations_hosts_only_and_shows_what_the_plan_has() {
    let app = spawn_app_with(|s| {
        s.plans
            .enterprise
            .features
            .retain(|f| !matches!(f, Feature::Interview | Feature::Networking))
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;

    // A path the portal does not have: the HTML 404 page on an organization's host.
    let missing = app
        .request(Method::GET, "acme", "/no-such-page")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("There is no such thing here")
    );
    // An organization that does not exist: its host has no portal either (the page says so).
    let nobody = app
        .request(Method::GET, "nobody", "/")
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), StatusCode::NOT_FOUND);
    assert!(
        nobody.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // The base domain has no portal: its own page at `/`, and unknown paths stay the API's problem.
    let landing = app.base_get("/").await;
    assert_eq!(landing.status(), StatusCode::OK);
    assert!(
        landing
            .text()
            .await
            .unwrap()
            .contains("each organization is served on its own subdomain")
    );
    let base = app.base_get("/no-such-page").await;
    assert_eq!(
        crate::helpers::expect_problem(base, StatusCode::NOT_FOUND).await,
        "route_not_found"
    );

    // Without interview practice and networking in the plan, the home page has no part for them.
    let client = browser();
    sign_in(&app, &client, &ada.email, PASSWORD).await;
    let home = request(&app, &client, Method::GET, "/")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains(r#"id="goal-h""#) && home.contains(r#"id="activity-h""#));
    assert!(
        !home.contains(r#"id="interviews-h""#) && !home.contains(r#"id="mentoring-h""#),
        "{home}"
    );
}

/// A page as a signed-in cookie-jar browser sees it, and the session's CSRF token on it.
pub(crate) async fn page_and_csrf(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
) -> (String, String) {
    let page = request(app, client, Method::GET, path)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field(&page, r#"<meta name="csrf-token" content=""#);
    (page, csrf)
}

/// Posts `form` (with the CSRF token) from a signed-in cookie-jar browser.
pub(crate) async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut form = vec![("csrf_token", csrf)];
    form.extend_from_slice(fields);
    let response = request(app, client, Method::POST, path)
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Without `feature` in the plan, a member finds none of `pages` (404), no link to the first on the
/// home page, and the form `post` refused as not found before anything else is looked at.
pub(crate) async fn assert_gated(feature: Feature, pages: &[&str], post: (&str, &[(&str, &str)])) {
    let off = spawn_app_with(move |s| s.plans.enterprise.features.retain(|f| *f != feature)).await;
    let acme = off.create_tenant("acme").await;
    let owner = off.login_owner(&acme).await;
    let ada = off.add_member(&acme, &owner, "ada", "member").await;
    let client = browser();
    sign_in(&off, &client, &ada.email, PASSWORD).await;
    for path in pages {
        let gone = request(&off, &client, Method::GET, path)
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (home, csrf) = page_and_csrf(&off, &client, "/").await;
    assert!(
        !home.contains(&format!("href=\"{}\"", pages[0])),
        "no link to {}",
        pages[0]
    );
    let (path, fields) = post;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let refused = request(&off, &client, Method::POST, path)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{path}");
}

#[tokio::test]
async fn an_organizations_session_opens_nothing_on_another_organizations_portal() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let client = browser();
    sign_in(&app, &client, &ada.email, PASSWORD).await;
    let (_, csrf) = page_and_csrf(&app, &client, "/").await;
    // The same browser, its acme cookies and all, on globex's host.
    let on_globex = |method: Method, path: &str| {
        client
            .request(method, format!("http://127.0.0.1:{}{path}", app.port))
            .header(header::HOST, app.host("globex"))
    };
    for path in [
        "/",
        "/career",
        "/interview",
        "/workspaces",
        "/mentoring",
        "/programmes",
        "/communities",
        "/events",
        "/referrals",
    ] {
        let response = on_globex(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(
            location(&response).starts_with("/login?return_to="),
            "{path}: signed in nowhere here"
        );
    }
    let post = on_globex(Method::POST, "/career/goal")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("target_role_id", "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (post.status(), location(&post)),
        (StatusCode::SEE_OTHER, "/login")
    );
}
