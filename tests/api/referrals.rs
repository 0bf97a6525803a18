//! Internal referrals through HTTP as the app role: postings, a member referring a candidate, HR's
//! pipeline and bonus, who sees what, and the candidate's link.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::ok,
    helpers::{Session, TestApp, expect_problem, spawn_app},
};

/// Tenant A's referral resources for the isolation matrix.
pub struct ReferralFixtures {
    pub posting_id: String,
    pub referral_id: String,
    pub tracking_code: String,
}

pub async fn fixtures(app: &TestApp, owner: &Session, member: &Session) -> ReferralFixtures {
    let posting = open_posting(app, owner, "Acme Secret Posting").await;
    let posting_id = posting["id"].as_str().unwrap().to_owned();
    let referral = ok(app
        .post(
            "acme",
            &format!("/api/v1/network/postings/{posting_id}/referrals"),
            &member.access,
            &json!({ "candidate_name": "Acme Secret Candidate", "candidate_email": "acme-secret-candidate@example.net" }),
        )
        .await)
    .await;
    ReferralFixtures {
        posting_id,
        referral_id: referral["id"].as_str().unwrap().to_owned(),
        tracking_code: code_of(&referral),
    }
}

async fn open_posting(app: &TestApp, hr: &Session, title: &str) -> Value {
    ok(app
        .post(
            "acme",
            "/api/v1/network/postings",
            &hr.access,
            &json!({ "title": title, "department": "Platform", "location": "Berlin",
                     "description": "Own the event pipeline.", "referral_bonus": "€2,000 after six months" }),
        )
        .await)
    .await
}

fn code_of(referral: &Value) -> String {
    let url = referral["tracking_url"].as_str().unwrap();
    url.rsplit('/').next().unwrap().to_owned()
}

async fn review(app: &TestApp, hr: &Session, id: &str, body: Value) -> reqwest::Response {
    app.send_json(
        Method::PATCH,
        "acme",
        &format!("/api/v1/network/referrals/{id}"),
        &hr.access,
        &body,
    )
    .await
}

#[tokio::test]
async fn a_member_refers_a_candidate_and_hr_takes_them_to_a_hire_and_the_bonus() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let grace = app.add_member(&acme, &hr, "grace", "member").await;
    let grace_session = app.login("acme", &grace).await;
    let other = app.add_member(&acme, &hr, "other", "member").await;
    let other_session = app.login("acme", &other).await;

    let posting = open_posting(&app, &hr, "Senior Data Engineer").await;
    let posting_id = posting["id"].as_str().unwrap();
    assert_eq!(posting["status"], "open");
    let seen = ok(app
        .get("acme", "/api/v1/network/postings", &grace_session.access)
        .await)
    .await;
    assert_eq!(seen["items"][0]["title"], "Senior Data Engineer");
    assert!(seen["items"][0]["referrals"].is_null(), "counts are HR's");

    let refer = format!("/api/v1/network/postings/{posting_id}/referrals");
    let referral = ok(app
        .post(
            "acme",
            &refer,
            &grace_session.access,
            &json!({ "candidate_name": "Jordan Reyes", "candidate_email": " Jordan.Reyes@Example.net ",
                     "note": "Led the data platform at her last company.",
                     "resume_url": "https://cv.example.net/jordan" }),
        )
        .await)
    .await;
    let id = referral["id"].as_str().unwrap().to_owned();
    assert_eq!(referral["status"], "submitted");
    assert_eq!(referral["posting"]["title"], "Senior Data Engineer");
    assert!(referral.get("candidate_email").is_none(), "{referral}");
    let code = code_of(&referral);
    assert!(code.len() >= 40, "{code}");

    // One referral per candidate and posting; members are not candidates; bad input changes nothing.
    let again = app
        .post(
            "acme",
            &refer,
            &other_session.access,
            &json!({ "candidate_name": "J. Reyes", "candidate_email": "jordan.reyes@example.net" }),
        )
        .await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "already_referred"
    );
    for (field, body) in [
        (
            "candidate_email",
            json!({ "candidate_name": "Other", "candidate_email": other.email }),
        ),
        (
            "candidate_email",
            json!({ "candidate_name": "Nobody", "candidate_email": "not an address" }),
        ),
        (
            "candidate_name",
            json!({ "candidate_name": " ", "candidate_email": "x@example.net" }),
        ),
        (
            "resume_url",
            json!({ "candidate_name": "X", "candidate_email": "x@example.net", "resume_url": "ftp://cv" }),
        ),
    ] {
        let response = app.post("acme", &refer, &grace_session.access, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    // The candidate's link shows the posting, nothing else, without signing in.
    let link = app
        .request(
            Method::GET,
            "acme",
            &format!("/api/v1/network/referral-links/{code}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), StatusCode::OK);
    let link: Value = link.json().await.unwrap();
    assert_eq!(link["title"], "Senior Data Engineer");
    assert_eq!(link["open"], true);
    let shown = link.to_string();
    for hidden in ["Jordan", "grace", "jordan.reyes"] {
        assert!(!shown.contains(hidden), "{hidden} in {shown}");
    }
    let unknown = app
        .request(
            Method::GET,
            "acme",
            "/api/v1/network/referral-links/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Who sees what: HR everything; the referrer their own, without the candidate's details; others nothing.
    let all = ok(app
        .get("acme", "/api/v1/network/referrals", &hr.access)
        .await)
    .await;
    assert_eq!(
        all["items"][0]["candidate_email"],
        "jordan.reyes@example.net"
    );
    assert_eq!(all["items"][0]["referrer"]["id"], grace.id.to_string());
    for path in [
        "/api/v1/network/referrals".to_owned(),
        format!("/api/v1/network/referrals/{id}"),
    ] {
        let response = app.get("acme", &path, &grace_session.access).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let others = ok(app
        .get(
            "acme",
            "/api/v1/network/referrals/mine",
            &other_session.access,
        )
        .await)
    .await;
    assert_eq!(others["items"].as_array().unwrap().len(), 0);

    // The pipeline: forward only, then the bonus.
    let screening_skipped = ok(review(
        &app,
        &hr,
        &id,
        json!({ "status": "interviewing", "hr_notes": "Strong." }),
    )
    .await)
    .await;
    assert_eq!(screening_skipped["status"], "interviewing");
    let back = review(&app, &hr, &id, json!({ "status": "screening" })).await;
    assert_eq!(
        expect_problem(back, StatusCode::CONFLICT).await,
        "illegal_transition"
    );
    let early_bonus = review(&app, &hr, &id, json!({ "bonus_status": "approved" })).await;
    assert_eq!(
        expect_problem(early_bonus, StatusCode::CONFLICT).await,
        "illegal_bonus_transition"
    );
    let hired = ok(review(&app, &hr, &id, json!({ "status": "hired" })).await).await;
    assert_eq!(hired["bonus_status"], "pending");
    assert!(hired["hired_at"].is_string());
    let unpaid = review(&app, &hr, &id, json!({ "bonus_status": "paid" })).await;
    assert_eq!(
        expect_problem(unpaid, StatusCode::CONFLICT).await,
        "illegal_bonus_transition"
    );
    ok(review(&app, &hr, &id, json!({ "bonus_status": "approved" })).await).await;
    let paid = ok(review(&app, &hr, &id, json!({ "bonus_status": "paid" })).await).await;
    assert_eq!(paid["bonus_status"], "paid");
    let after_hire = review(&app, &hr, &id, json!({ "status": "rejected" })).await;
    assert_eq!(
        expect_problem(after_hire, StatusCode::CONFLICT).await,
        "illegal_transition"
    );
    let mine = ok(app
        .get(
            "acme",
            "/api/v1/network/referrals/mine",
            &grace_session.access,
        )
        .await)
    .await;
    assert_eq!(mine["items"][0]["status"], "hired");
    assert_eq!(mine["items"][0]["bonus_status"], "paid");
    for hidden in ["hr_notes", "candidate_email", "note", "resume_url"] {
        assert!(mine["items"][0].get(hidden).is_none(), "{hidden}");
    }

    // The bonus is the one offered when the candidate was referred: a posting without one pays none,
    // and a bonus taken off the posting later still stands (until HR finds it not due).
    let plain = ok(app
        .post(
            "acme",
            "/api/v1/network/postings",
            &hr.access,
            &json!({ "title": "Support Engineer" }),
        )
        .await)
    .await;
    let generous = open_posting(&app, &hr, "Staff Engineer").await;
    let mut hires = Vec::new();
    for (posting, email) in [(&plain, "ana@example.net"), (&generous, "ben@example.net")] {
        let referral = ok(app
            .post(
                "acme",
                &format!(
                    "/api/v1/network/postings/{}/referrals",
                    posting["id"].as_str().unwrap()
                ),
                &grace_session.access,
                &json!({ "candidate_name": "Candidate", "candidate_email": email }),
            )
            .await)
        .await;
        hires.push(referral["id"].as_str().unwrap().to_owned());
    }
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!(
                "/api/v1/network/postings/{}",
                generous["id"].as_str().unwrap()
            ),
            &hr.access,
            &json!({ "referral_bonus": "" }),
        )
        .await)
    .await;
    let unpaid = ok(review(&app, &hr, &hires[0], json!({ "status": "hired" })).await).await;
    assert_eq!(unpaid["bonus_status"], "not_eligible");
    let kept = ok(review(&app, &hr, &hires[1], json!({ "status": "hired" })).await).await;
    assert_eq!(kept["bonus_status"], "pending");
    assert_eq!(kept["referral_bonus"], "€2,000 after six months");
    let not_due = ok(review(
        &app,
        &hr,
        &hires[1],
        json!({ "bonus_status": "not_eligible" }),
    )
    .await)
    .await;
    assert_eq!(not_due["bonus_status"], "not_eligible");

    // The audit log has every change and none of the candidate's details.
    let pool = app.owner_pool().await;
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT action, metadata FROM audit_events WHERE tenant_id = $1 \
         AND (action LIKE 'referral.%' OR action LIKE 'job_posting.%') ORDER BY occurred_at, id",
    )
    .bind(acme.id.as_uuid())
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions[..6],
        [
            "job_posting.created",
            "referral.created",
            "referral.reviewed",
            "referral.reviewed",
            "referral.reviewed",
            "referral.reviewed"
        ]
    );
    assert_eq!(actions.len(), 14, "{actions:?}");
    let everything = format!("{events:?}");
    for private in ["Jordan", "jordan.reyes", "Strong."] {
        assert!(!everything.contains(private), "{private} in {everything}");
    }
}

#[tokio::test]
async fn a_posting_that_is_not_open_takes_no_referrals_and_only_hr_sees_it() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let grace = app.add_member(&acme, &hr, "grace", "member").await;
    let grace_session = app.login("acme", &grace).await;
    let posting = open_posting(&app, &hr, "Product Designer").await;
    let posting_id = posting["id"].as_str().unwrap();
    let referral = ok(app
        .post(
            "acme",
            &format!("/api/v1/network/postings/{posting_id}/referrals"),
            &grace_session.access,
            &json!({ "candidate_name": "Sam Lee", "candidate_email": "sam@example.net" }),
        )
        .await)
    .await;

    for (body, field) in [
        (json!({ "title": " " }), "title"),
        (json!({ "status": "archived" }), "status"),
        (json!({ "department": "x".repeat(121) }), "department"),
    ] {
        let response = app
            .send_json(
                Method::PATCH,
                "acme",
                &format!("/api/v1/network/postings/{posting_id}"),
                &hr.access,
                &body,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let closed = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/network/postings/{posting_id}"),
            &hr.access,
            &json!({ "status": "closed" }),
        )
        .await)
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        closed["title"], "Product Designer",
        "a bad change changed nothing"
    );
    assert_eq!(closed["referrals"], 1);

    let member_get = app
        .get(
            "acme",
            &format!("/api/v1/network/postings/{posting_id}"),
            &grace_session.access,
        )
        .await;
    assert_eq!(member_get.status(), StatusCode::NOT_FOUND);
    let member_list = app
        .get(
            "acme",
            "/api/v1/network/postings?status=closed",
            &grace_session.access,
        )
        .await;
    assert_eq!(member_list.status(), StatusCode::FORBIDDEN);
    let open_list = ok(app
        .get("acme", "/api/v1/network/postings", &grace_session.access)
        .await)
    .await;
    assert_eq!(open_list["items"].as_array().unwrap().len(), 0);
    let hr_list = ok(app
        .get("acme", "/api/v1/network/postings?status=all", &hr.access)
        .await)
    .await;
    assert_eq!(hr_list["items"].as_array().unwrap().len(), 1);

    let body = json!({ "candidate_name": "Kim", "candidate_email": "kim@example.net" });
    let path = format!("/api/v1/network/postings/{posting_id}/referrals");
    let by_member = app.post("acme", &path, &grace_session.access, &body).await;
    assert_eq!(by_member.status(), StatusCode::NOT_FOUND);
    let by_hr = app.post("acme", &path, &hr.access, &body).await;
    assert_eq!(
        expect_problem(by_hr, StatusCode::CONFLICT).await,
        "posting_not_open"
    );

    // The link still answers, saying the posting is closed.
    let link: Value = app
        .request(
            Method::GET,
            "acme",
            &format!("/api/v1/network/referral-links/{}", code_of(&referral)),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(link["open"], false);
    assert_eq!(link["title"], "Product Designer");
    assert!(
        link["description"].is_null(),
        "a closed posting's details stay inside"
    );

    // Another organization's host knows nothing of the code.
    app.create_tenant("globex").await;
    let elsewhere = app
        .request(
            Method::GET,
            "globex",
            &format!("/api/v1/network/referral-links/{}", code_of(&referral)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert!(!elsewhere.text().await.unwrap().contains("Product Designer"));
}
