//! Two-step verification with a fixed clock: enrolment, the second step of a sign-in, replay and rate
//! limits, recovery codes, the organization requirement, an admin's reset, and challenges that cannot
//! be misused.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis::auth::mfa::totp;

use crate::helpers::{
    PASSWORD, Session, TestApp, expect_problem, invitation_token, spawn_app, spawn_app_with,
};

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.chars() {
        bits = (bits << 5) | ALPHABET.find(c).unwrap() as u32;
        count += 5;
        if count >= 8 {
            out.push((bits >> (count - 8)) as u8);
            count -= 8;
        }
    }
    out
}

fn code_now(app: &TestApp, seed: &[u8]) -> String {
    let now = trellis::clock::Clock::now(&app.clock).timestamp();
    totp::code_at_step(seed, totp::step_of(now))
}

/// Enrols the session's user; returns the seed and the recovery codes.
async fn enrol(app: &TestApp, session: &Session) -> (Vec<u8>, Vec<String>) {
    let started: Value = app
        .post("acme", "/api/v1/me/mfa/totp", &session.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        started["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(started["qr_svg"].as_str().unwrap().contains("<svg"));
    let seed = base32_decode(started["secret"].as_str().unwrap());
    let confirmed = app
        .post(
            "acme",
            "/api/v1/me/mfa/totp/confirm",
            &session.access,
            &json!({ "code": code_now(app, &seed) }),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let codes: Value = confirmed.json().await.unwrap();
    let codes = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (seed, codes)
}

/// Enrols at sign-in with an `enroll` challenge; returns the seed and the completed sign-in.
async fn enrol_at_sign_in(app: &TestApp, challenge: &str) -> (Vec<u8>, Value) {
    let started: Value = app
        .request(Method::POST, "acme", "/api/v1/auth/mfa/enroll")
        .json(&json!({ "challenge": challenge }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seed = base32_decode(started["secret"].as_str().unwrap());
    let done = app
        .request(Method::POST, "acme", "/api/v1/auth/mfa/enroll/confirm")
        .json(&json!({ "challenge": challenge, "code": code_now(app, &seed) }))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    (seed, done.json().await.unwrap())
}

async fn password_step(app: &TestApp, email: &str) -> Value {
    let response = app.try_login("acme", email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn second_step(app: &TestApp, challenge: &str, code: &str) -> reqwest::Response {
    app.request(Method::POST, "acme", "/api/v1/auth/mfa/verify")
        .json(&json!({ "challenge": challenge, "code": code }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sign_in_with_mfa_needs_a_fresh_code_or_a_recovery_code() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let (seed, recovery) = enrol(&app, &owner).await;
    assert_eq!(recovery.len(), 10);
    let status: Value = app
        .get("acme", "/api/v1/me/mfa", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            status["enabled"].as_bool(),
            status["recovery_codes_left"].as_i64()
        ),
        (Some(true), Some(10))
    );

    // The password alone no longer signs in.
    let step = password_step(&app, &acme.owner.email).await;
    assert_eq!(step["mfa"], "verify");
    assert!(step.get("access_token").is_none());
    let challenge = step["mfa_challenge"].as_str().unwrap().to_owned();
    let wrong = second_step(&app, &challenge, "000000").await;
    assert_eq!(
        expect_problem(wrong, StatusCode::UNAUTHORIZED).await,
        "invalid_mfa_code"
    );
    // The code used for enrolment cannot be replayed; the next step's code works.
    let replay = second_step(&app, &challenge, &code_now(&app, &seed)).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    app.clock.advance(Duration::seconds(30));
    let ok = second_step(&app, &challenge, &code_now(&app, &seed)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let tokens: Value = ok.json().await.unwrap();
    assert_eq!(
        app.get(
            "acme",
            "/api/v1/me",
            tokens["access_token"].as_str().unwrap()
        )
        .await
        .status(),
        StatusCode::OK
    );

    // A recovery code works once.
    let challenge = password_step(&app, &acme.owner.email).await["mfa_challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        second_step(&app, &challenge, &recovery[0]).await.status(),
        StatusCode::OK
    );
    let challenge = password_step(&app, &acme.owner.email).await["mfa_challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        second_step(&app, &challenge, &recovery[0]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.assert_audited(
        acme.id,
        &[
            "mfa.enrolment_started",
            "mfa.enabled",
            "mfa.recovery_code_used",
        ],
    )
    .await;
}

#[tokio::test]
async fn code_guessing_is_rate_limited() {
    let app = spawn_app_with(|s| s.auth.login_account_limit = 3).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let (seed, _) = enrol(&app, &owner).await;
    app.clock.advance(Duration::seconds(30));
    let challenge = password_step(&app, &acme.owner.email).await["mfa_challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        assert_eq!(
            second_step(&app, &challenge, "111111").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = second_step(&app, &challenge, &code_now(&app, &seed)).await;
    assert_eq!(
        expect_problem(locked, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
}

#[tokio::test]
async fn an_organization_can_require_mfa_and_members_enrol_at_sign_in() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let required = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "mfa_required": true }),
        )
        .await;
    assert_eq!(required.status(), StatusCode::OK);

    let step = password_step(&app, &ada.email).await;
    assert_eq!(step["mfa"], "enroll");
    let challenge = step["mfa_challenge"].as_str().unwrap().to_owned();
    let (seed, done) = enrol_at_sign_in(&app, &challenge).await;
    assert_eq!(done["recovery_codes"].as_array().unwrap().len(), 10);
    let ada_token = done["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("acme", "/api/v1/me", &ada_token).await.status(),
        StatusCode::OK
    );

    // It cannot be turned off while required.
    app.clock.advance(Duration::seconds(30));
    let off = app
        .post(
            "acme",
            "/api/v1/me/mfa/disable",
            &ada_token,
            &json!({ "code": code_now(&app, &seed) }),
        )
        .await;
    assert_eq!(
        expect_problem(off, StatusCode::CONFLICT).await,
        "mfa_required"
    );
    // Next sign-in: the second step as usual.
    assert_eq!(password_step(&app, &ada.email).await["mfa"], "verify");
}

#[tokio::test]
async fn turning_mfa_on_mails_a_security_notice() {
    let smtp = crate::smtp::TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    enrol(&app, &owner).await;
    assert!(
        smtp.messages().is_empty(),
        "nothing is sent inside the request"
    );
    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    let mails = smtp.messages_to(&acme.owner.email);
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "acme Inc: two-step verification turned on"
    );
    assert!(
        mails[0].text.contains("authenticator app"),
        "{}",
        mails[0].text
    );
}

#[tokio::test]
async fn accepting_an_invitation_where_mfa_is_required_leads_to_enrolment_not_tokens() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let required = app
        .send_json(
            Method::PATCH,
            "acme",
            "/api/v1/org/settings",
            &owner.access,
            &json!({ "mfa_required": true }),
        )
        .await;
    assert_eq!(required.status(), StatusCode::OK);
    let invited = app
        .invite("acme", &owner, "grace@acme.example", "member")
        .await;
    let token = invitation_token(&invited);

    let accepted = app.accept("acme", &token, PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let step: Value = accepted.json().await.unwrap();
    assert_eq!(step["mfa"], "enroll", "{step}");
    assert!(
        step.get("access_token").is_none(),
        "no tokens before the second step: {step}"
    );
    // The acceptance itself holds: the link is spent and the password set.
    assert_eq!(
        expect_problem(
            app.accept("acme", &token, PASSWORD).await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "invitation_invalid"
    );
    assert_eq!(
        password_step(&app, "grace@acme.example").await["mfa"],
        "enroll"
    );

    let challenge = step["mfa_challenge"].as_str().unwrap();
    let (_, done) = enrol_at_sign_in(&app, challenge).await;
    let access = done["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("acme", "/api/v1/me", access).await.status(),
        StatusCode::OK
    );
    app.assert_audited(acme.id, &["invitation.accepted", "mfa.enabled"])
        .await;
}

#[tokio::test]
async fn an_admin_resets_a_lost_device_and_the_member_can_turn_it_off_with_a_code() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_session = app.login("acme", &ada).await;
    let (seed, _) = enrol(&app, &ada_session).await;
    assert_eq!(password_step(&app, &ada.email).await["mfa"], "verify");

    let reset = app
        .delete(
            "acme",
            &format!("/api/v1/members/{}/mfa", ada.id),
            &owner.access,
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert!(
        password_step(&app, &ada.email).await["access_token"].is_string(),
        "password only again"
    );

    // Enrol again, then turn it off with a code.
    let ada_session = app.login("acme", &ada).await;
    app.clock.advance(Duration::seconds(30));
    let (seed_again, _) = enrol(&app, &ada_session).await;
    assert_ne!(seed, seed_again, "a new seed");
    app.clock.advance(Duration::seconds(30));
    let wrong = app
        .post(
            "acme",
            "/api/v1/me/mfa/disable",
            &ada_session.access,
            &json!({ "code": "123456" }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let off = app
        .post(
            "acme",
            "/api/v1/me/mfa/disable",
            &ada_session.access,
            &json!({ "code": code_now(&app, &seed_again) }),
        )
        .await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    app.assert_audited(acme.id, &["mfa.reset", "mfa.disabled"])
        .await;
}

#[tokio::test]
async fn a_challenge_is_no_access_token_and_dies_with_time_tenant_or_password() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    let (seed, _) = enrol(&app, &owner).await;
    app.clock.advance(Duration::seconds(30));
    let challenge = password_step(&app, &acme.owner.email).await["mfa_challenge"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(
        app.get("acme", "/api/v1/me", &challenge).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let elsewhere = app
        .request(Method::POST, "globex", "/api/v1/auth/mfa/verify")
        .json(&json!({ "challenge": challenge, "code": code_now(&app, &seed) }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(elsewhere, StatusCode::UNAUTHORIZED).await,
        "invalid_mfa_challenge"
    );
    let enroll_with_it = app
        .request(Method::POST, "acme", "/api/v1/auth/mfa/enroll")
        .json(&json!({ "challenge": challenge }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        enroll_with_it.status(),
        StatusCode::UNAUTHORIZED,
        "a verify challenge cannot enrol"
    );

    app.clock.advance(Duration::minutes(6));
    let expired = second_step(&app, &challenge, &code_now(&app, &seed)).await;
    assert_eq!(
        expect_problem(expired, StatusCode::UNAUTHORIZED).await,
        "invalid_mfa_challenge"
    );
}
