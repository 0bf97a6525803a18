//! The portal's referrals page (ADR 0018 part 4, referrals): a member refers a candidate to an open
//! position in a real browser and follows the referral through HR's pipeline; a posting that is not
//! open is not found and the same candidate twice is refused, changing nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    browser::{Browser, url},
    career::ok,
    console::{request, sign_in},
    helpers::{PASSWORD, spawn_app},
};

#[tokio::test]
async fn a_member_refers_a_candidate_and_follows_the_referral_through_the_pipeline() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let posting = ok(app
        .post(
            "acme",
            "/api/v1/network/postings",
            &owner.access,
            &json!({ "title": "Data Engineer", "department": "Data", "location": "Berlin",
                     "referral_bonus": "1,000 EUR" }),
        )
        .await)
    .await;
    let closed = ok(app
        .post(
            "acme",
            "/api/v1/network/postings",
            &owner.access,
            &json!({ "title": "Acme Closed Role", "status": "closed" }),
        )
        .await)
    .await;
    let id = posting["id"].as_str().unwrap();

    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/login")).await;
    browser.fill("input[name=email]", &ada.email).await;
    browser.fill("input[name=password]", &ada.password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    browser.click("nav a[href='/referrals']").await;
    browser.wait_for_title("Referrals — acme Inc").await;
    let open = browser.text("#postings").await;
    assert!(
        open.contains("Data Engineer") && open.contains("referral bonus: 1,000 EUR"),
        "{open}"
    );
    assert!(!open.contains("Acme Closed Role"), "only open positions");
    browser.assert_accessible().await;
    browser.click("#postings li:first-child summary").await;
    browser.fill(&format!("#name-{id}"), "Grace Hopper").await;
    browser
        .fill(&format!("#email-{id}"), "grace@example.org")
        .await;
    browser.click(&format!("#refer-{id}")).await;
    browser.wait_for_url("done=referred").await;
    let mine = browser.text("#my-referrals").await;
    assert!(
        mine.contains("Grace Hopper")
            && mine.contains("Data Engineer")
            && mine.contains("submitted")
            && mine.contains("1,000 EUR on hire"),
        "{mine}"
    );
    browser.screenshot("portal-referrals").await;

    // HR moves it on; the member sees where it stands.
    let referrals = ok(app
        .get("acme", "/api/v1/network/referrals", &owner.access)
        .await)
    .await;
    let referral = referrals["items"][0]["id"].as_str().unwrap();
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/network/referrals/{referral}"),
            &owner.access,
            &json!({ "status": "screening" }),
        )
        .await)
    .await;
    browser.open(&url(&app, "acme", "/referrals")).await;
    browser.wait_for_title("Referrals — acme Inc").await;
    assert!(browser.text("#my-referrals").await.contains("screening"));
    browser.quit().await;

    // The same candidate again is refused with the reason; a closed posting is not found.
    let client = crate::console::browser();
    sign_in(&app, &client, &ada.email, PASSWORD).await;
    let (_, csrf) = crate::portal::page_and_csrf(&app, &client, "/referrals").await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("candidate_name", "Grace Hopper"),
        ("candidate_email", "grace@example.org"),
    ];
    let again = request(&app, &client, Method::POST, &format!("/referrals/{id}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains(r#"id="form-error""#));
    let to_closed = request(
        &app,
        &client,
        Method::POST,
        &format!("/referrals/{}", closed["id"].as_str().unwrap()),
    )
    .form(&form)
    .send()
    .await
    .unwrap();
    assert_eq!(to_closed.status(), StatusCode::NOT_FOUND);
    let all = ok(app
        .get("acme", "/api/v1/network/referrals", &owner.access)
        .await)
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");
}
