//! Mail through a real SMTP server, delivered by the job worker: invitations and password resets whose
//! links work, security notices, retries with backoff to a dead letter, and leases that outlive a
//! crashed worker but not a stopped one.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, TestApp, expect_problem, spawn_app_with},
    smtp::TestSmtp,
};

async fn app_with_smtp() -> (TestApp, TestSmtp) {
    let smtp = TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    (app, smtp)
}

async fn job_rows(app: &TestApp) -> Vec<(String, i32, Option<String>)> {
    let pool = app.owner_pool().await;
    let rows = sqlx::query_as("SELECT status, attempts, last_error FROM jobs ORDER BY created_at")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn an_invitation_mail_arrives_and_its_link_accepts_the_invitation() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let invited = app.invite("acme", &owner, "grace@acme.example", "hr").await;
    assert!(
        smtp.messages().is_empty(),
        "nothing is sent inside the request"
    );

    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    let mails = smtp.messages_to("grace@acme.example");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject, "You are invited to acme Inc on Trellis");
    assert!(
        mail.text.contains(&acme.owner.email),
        "names the inviter: {}",
        mail.text
    );
    assert!(mail.html.contains("Accept the invitation"));
    let token = mail.link_token("/admin/accept-invitation");
    assert_eq!(
        invited["accept_url"].as_str().unwrap(),
        format!(
            "http://{}/admin/accept-invitation#token={token}",
            app.host("acme")
        )
    );
    assert_eq!(
        app.accept("acme", &token, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(job_rows(&app).await, vec![("succeeded".into(), 1, None)]);
}

#[tokio::test]
async fn mailed_links_lead_to_the_organizations_address_whatever_host_the_request_named() {
    let (app, smtp) = app_with_smtp().await;
    app.create_tenant("acme").await;
    // The Host still names acme (so the request is acme's), but with another case, a trailing dot and
    // a port of the requester's choosing.
    let crafted = format!("ACME.{}.:6666", app.settings.server.base_domain);
    let asked = app
        .request_with_host(Method::POST, Some(&crafted), "/api/v1/auth/password-reset")
        .json(&json!({ "email": "owner@acme.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    app.worker.run_once().await.unwrap();
    let mail = &smtp.messages_to("owner@acme.example")[0];
    let token = mail.link_token("/admin/reset-password");
    let expected = format!(
        "http://{}/admin/reset-password#token={token}",
        app.host("acme")
    );
    assert!(
        mail.text.split_whitespace().any(|word| word == expected),
        "expected {expected} in {}",
        mail.text
    );
}

#[tokio::test]
async fn a_password_reset_mails_a_single_use_link_and_reveals_nothing_about_unknown_addresses() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let session = app.login_owner(&acme).await;
    let ask = |email: &'static str| {
        let app = &app;
        async move {
            app.request(Method::POST, "acme", "/api/v1/auth/password-reset")
                .json(&json!({ "email": email }))
                .send()
                .await
                .unwrap()
        }
    };
    let known = ask("owner@acme.example").await;
    let unknown = ask("nobody@acme.example").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let known: Value = known.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(known, unknown, "the answers must not differ");

    app.worker.run_once().await.unwrap();
    assert_eq!(smtp.messages().len(), 1, "only the known address gets mail");
    let token = smtp.messages_to("owner@acme.example")[0].link_token("/admin/reset-password");

    let confirm = |token: String, password: &'static str| {
        let app = &app;
        async move {
            app.request(Method::POST, "acme", "/api/v1/auth/password-reset/confirm")
                .json(&json!({ "token": token, "new_password": password }))
                .send()
                .await
                .unwrap()
        }
    };
    let weak = confirm(token.clone(), "short").await;
    assert_eq!(
        expect_problem(weak, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    let done = confirm(token.clone(), "a fresh and long passphrase").await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let again = confirm(token, "another long passphrase").await;
    assert_eq!(
        expect_problem(again, StatusCode::UNAUTHORIZED).await,
        "invalid_reset_token"
    );

    assert_eq!(
        app.get("acme", "/api/v1/me", &session.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login("acme", &acme.owner.email, PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login("acme", &acme.owner.email, "a fresh and long passphrase")
            .await
            .status(),
        StatusCode::OK
    );
    app.worker.run_once().await.unwrap();
    let notice = smtp.messages_to("owner@acme.example");
    assert_eq!(notice.len(), 2);
    assert!(
        notice[1].subject.contains("your password was changed"),
        "{}",
        notice[1].subject
    );
    app.assert_audited(
        acme.id,
        &["auth.password_reset_requested", "user.password_reset"],
    )
    .await;
}

#[tokio::test]
async fn a_reset_link_expires_and_is_replaced_by_a_newer_one() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let ask = || async {
        app.request(Method::POST, "acme", "/api/v1/auth/password-reset")
            .json(&json!({ "email": acme.owner.email }))
            .send()
            .await
            .unwrap()
    };
    ask().await;
    ask().await;
    app.worker.run_once().await.unwrap();
    let mails = smtp.messages_to("owner@acme.example");
    assert_eq!(mails.len(), 2);
    let (first, second) = (
        mails[0].link_token("reset-password"),
        mails[1].link_token("reset-password"),
    );
    let confirm = |token: String| {
        let app = &app;
        async move {
            app.request(Method::POST, "acme", "/api/v1/auth/password-reset/confirm")
                .json(&json!({ "token": token, "new_password": "a fresh and long passphrase" }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        confirm(first).await,
        StatusCode::UNAUTHORIZED,
        "the newer link replaced it"
    );
    app.clock.advance(Duration::minutes(61));
    assert_eq!(
        confirm(second).await,
        StatusCode::UNAUTHORIZED,
        "expired after an hour"
    );
}

#[tokio::test]
async fn undeliverable_mail_is_retried_with_backoff_then_parked_as_dead() {
    // Port 1 on loopback: nothing listens, every delivery fails at once.
    let app = spawn_app_with(|s| {
        s.mail.smtp_url = Some(secrecy::SecretString::from("smtp://127.0.0.1:1".to_owned()))
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    app.invite("acme", &owner, "grace@acme.example", "member")
        .await;

    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    let (status, attempts, error) = job_rows(&app).await.remove(0);
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(error.unwrap().contains("SMTP"));
    // Not due again until the backoff (10 s, then 20 s, 40 s...) has passed.
    assert_eq!(app.worker.run_once().await.unwrap(), 0);
    let mut waited = 10;
    for attempt in 2..=8 {
        app.clock.advance(Duration::seconds(waited));
        assert_eq!(app.worker.run_once().await.unwrap(), 1, "attempt {attempt}");
        waited *= 2;
    }
    let (status, attempts, _) = job_rows(&app).await.remove(0);
    assert_eq!((status.as_str(), attempts), ("dead", 8));
    app.clock.advance(Duration::days(1));
    assert_eq!(
        app.worker.run_once().await.unwrap(),
        0,
        "a dead job is not retried"
    );
}

#[tokio::test]
async fn a_crashed_workers_job_runs_once_after_its_lease_expires() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    app.invite("acme", &owner, "grace@acme.example", "member")
        .await;

    // Worker A claims the job, then "crashes": it never finishes or releases it.
    let crashed = app.another_worker().await;
    assert!(crashed.claim().await.unwrap().is_some());
    assert_eq!(app.worker.run_once().await.unwrap(), 0, "the lease is A's");
    app.clock.advance(Duration::seconds(61));
    assert_eq!(
        app.worker.run_once().await.unwrap(),
        1,
        "the expired lease is taken over"
    );
    assert_eq!(smtp.messages_to("grace@acme.example").len(), 1);
    assert_eq!(job_rows(&app).await, vec![("succeeded".into(), 2, None)]);
}

#[tokio::test]
async fn a_worker_leases_only_the_job_it_is_running() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    for email in ["grace@acme.example", "alan@acme.example"] {
        app.invite("acme", &owner, email, "member").await;
    }
    // Worker A takes one job. The other is not held for it while it runs: were it leased too, it
    // would wait without a heartbeat, its lease could lapse, and two workers would send it.
    let busy = app.another_worker().await;
    assert!(busy.claim().await.unwrap().is_some());
    let mut statuses: Vec<String> = job_rows(&app).await.into_iter().map(|r| r.0).collect();
    statuses.sort();
    assert_eq!(statuses, vec!["queued", "running"]);
    assert_eq!(
        app.worker.run_once().await.unwrap(),
        1,
        "worker B runs the other job now"
    );
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn a_stopping_worker_hands_its_jobs_back_at_once() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    app.invite("acme", &owner, "grace@acme.example", "member")
        .await;
    let stopping = app.another_worker().await;
    assert!(stopping.claim().await.unwrap().is_some());
    assert_eq!(stopping.release_leases().await.unwrap(), 1);
    assert_eq!(
        app.worker.run_once().await.unwrap(),
        1,
        "no lease to wait for"
    );
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        job_rows(&app).await,
        vec![("succeeded".into(), 1, None)],
        "the released attempt did not count"
    );
}

#[tokio::test]
async fn a_queued_mail_sealed_for_one_tenant_does_not_open_for_another() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    app.invite("acme", &owner, "grace@acme.example", "member")
        .await;
    // Someone with database access moves acme's queued mail into globex's queue.
    let pool = app.owner_pool().await;
    sqlx::query("INSERT INTO jobs (tenant_id, id, kind, payload, status, max_attempts, run_at) SELECT $1, gen_random_uuid(), kind, payload, 'queued', 1, run_at FROM jobs")
        .bind(globex.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM jobs WHERE tenant_id = $1")
        .bind(acme.id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    app.worker.run_once().await.unwrap();
    assert!(smtp.messages().is_empty());
    let rows = job_rows(&app).await;
    assert_eq!(rows[0].0, "dead");
    assert!(
        rows[0].2.as_deref().unwrap().contains("does not open"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn one_organizations_reset_refresh_and_invitation_tokens_open_nothing_on_anothers_host() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let session = app.login_owner(&acme).await;
    let invited = app
        .invite("acme", &session, "newcomer@acme.example", "member")
        .await;
    let reset = app
        .request(Method::POST, "acme", "/api/v1/auth/password-reset")
        .json(&json!({ "email": acme.owner.email }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::ACCEPTED);
    app.worker.run_once().await.unwrap();
    let reset_token = smtp.messages_to(&acme.owner.email)[0].link_token("/admin/reset-password");
    let invitation = crate::helpers::invitation_token(&invited);

    // On globex's host, each of acme's tokens is refused as if it did not exist.
    let on_globex = |path: &'static str, body: Value| {
        let app = &app;
        async move {
            app.request(Method::POST, "globex", path)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let refused = on_globex(
        "/api/v1/auth/password-reset/confirm",
        json!({ "token": reset_token, "new_password": "taken over from globex" }),
    )
    .await;
    assert_eq!(
        expect_problem(refused, StatusCode::UNAUTHORIZED).await,
        "invalid_reset_token"
    );
    let refused = on_globex(
        "/api/v1/auth/refresh",
        json!({ "refresh_token": session.refresh }),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let refused = on_globex(
        "/api/v1/invitations/accept",
        json!({ "token": invitation, "password": "taken over from globex" }),
    )
    .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());

    // On acme's own host each still works once: the attempts elsewhere spent nothing.
    let accepted = app
        .accept("acme", &invitation, "a newcomer's long passphrase")
        .await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let refreshed = app
        .request(Method::POST, "acme", "/api/v1/auth/refresh")
        .json(&json!({ "refresh_token": session.refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let confirmed = app
        .request(Method::POST, "acme", "/api/v1/auth/password-reset/confirm")
        .json(&json!({ "token": reset_token, "new_password": "a fresh and long passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn password_reset_requests_are_limited_per_address_and_per_client() {
    let smtp = TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| {
        s.mail.smtp_url = Some(secrecy::SecretString::from(url));
        s.auth.password_reset_limit = 3;
        // The test speaks for several clients through X-Forwarded-For, as a balancer would.
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let ask = |client: &'static str, email: String| {
        let app = &app;
        async move {
            app.request(Method::POST, "acme", "/api/v1/auth/password-reset")
                .header("x-forwarded-for", client)
                .json(&json!({ "email": email }))
                .send()
                .await
                .unwrap()
        }
    };
    let owner = acme.owner.email.clone();
    for _ in 0..3 {
        assert_eq!(
            ask("203.0.113.1", owner.clone()).await.status(),
            StatusCode::ACCEPTED
        );
    }
    // Per address: a fourth request for it is refused, from another client too.
    let limited = ask("203.0.113.2", owner.clone()).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        expect_problem(limited, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    // That client may still ask for another address, known or not...
    assert_eq!(
        ask("203.0.113.2", "nobody@acme.example".into())
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    // ...but the first client, with its three requests spent, may ask for no other.
    let limited = ask("203.0.113.1", "someone-else@acme.example".into()).await;
    assert_eq!(
        expect_problem(limited, StatusCode::TOO_MANY_REQUESTS).await,
        "rate_limited"
    );
    // Only the three accepted requests for the known address were mailed.
    while app.worker.run_once().await.unwrap() > 0 {}
    assert_eq!(smtp.messages_to(&owner).len(), 3);
    assert_eq!(smtp.messages().len(), 3);
}
