//! The console's cookie session, as a browser uses it (a client with a cookie jar): sign-in form with
//! its CSRF token, the session cookie for pages and API calls (CSRF header for changes), renewal by the
//! refresh cookie, sign-out, and the second step in the browser.

use chrono::Duration;
use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

pub(crate) fn request(
    app: &TestApp,
    client: &reqwest::Client,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, format!("http://127.0.0.1:{}{path}", app.port))
        .header(header::HOST, app.host("acme"))
}

/// The value of a hidden input (or meta tag) in a page.
pub(crate) fn field(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    sign_in_to(app, client, email, password, "").await
}

/// Signs in through the shared page's form, asking to come back to `return_to` (empty: nowhere).
pub(crate) async fn sign_in_to(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
    return_to: &str,
) -> reqwest::Response {
    let form = request(app, client, Method::GET, "/login")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field(&form, r#"name="csrf_token" value=""#);
    request(app, client, Method::POST, "/login")
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", csrf.as_str()),
            ("return_to", return_to),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs out: a forged CSRF token is refused, the page's own one works and leads to the sign-in page.
async fn sign_out(app: &TestApp, client: &reqwest::Client, csrf: &str) {
    let forged = request(app, client, Method::POST, "/logout")
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let logout = request(app, client, Method::POST, "/logout")
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (logout.status(), location(&logout)),
        (StatusCode::SEE_OTHER, "/login")
    );
}

pub(crate) fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn a_browser_signs_in_uses_the_api_with_csrf_renews_and_signs_out() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let client = browser();

    let anonymous = request(&app, &client, Method::GET, "/admin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (anonymous.status(), location(&anonymous)),
        (StatusCode::SEE_OTHER, "/login?return_to=%2Fadmin"),
        "the sign-in page, and back here afterwards"
    );

    // A forged form (no token from our page) is refused; a wrong password re-renders the form.
    let forged = request(&app, &client, Method::POST, "/login")
        .form(&[
            ("email", acme.owner.email.as_str()),
            ("password", PASSWORD),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let wrong = sign_in(&app, &client, &acme.owner.email, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The email or password is wrong.")
    );

    let signed_in = sign_in(&app, &client, &acme.owner.email, PASSWORD).await;
    assert_eq!(
        (signed_in.status(), location(&signed_in)),
        (StatusCode::SEE_OTHER, "/admin")
    );
    let cookies: Vec<String> = signed_in
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("trellis_session="))
        .unwrap();
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    let refresh_cookie = cookies
        .iter()
        .find(|c| c.starts_with("trellis_refresh="))
        .unwrap();
    assert!(
        refresh_cookie.split("; ").any(|a| a == "Path=/")
            && refresh_cookie.contains("SameSite=Strict"),
        "shared by the console and the portal: {refresh_cookie}"
    );

    let home = request(&app, &client, Method::GET, "/admin")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let home = home.text().await.unwrap();
    assert!(home.contains(&acme.owner.email));
    let csrf = field(&home, r#"<meta name="csrf-token" content=""#);

    // The API with the session cookie: reads freely, changes only with the CSRF header.
    let me = request(&app, &client, Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let body = json!({ "email": "grace@acme.example" });
    let without = request(&app, &client, Method::POST, "/api/v1/invitations")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let problem: serde_json::Value = without.json().await.unwrap();
    assert_eq!(problem["code"], "csrf_failed");
    let with = request(&app, &client, Method::POST, "/api/v1/invitations")
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::CREATED);

    // The access cookie expires; the refresh cookie renews it.
    app.clock.advance(Duration::minutes(16));
    let expired = request(&app, &client, Method::GET, "/admin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (expired.status(), location(&expired)),
        (StatusCode::SEE_OTHER, "/admin")
    );
    let renewed = request(&app, &client, Method::GET, "/admin")
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), StatusCode::OK);
    let csrf = field(
        &renewed.text().await.unwrap(),
        r#"<meta name="csrf-token" content=""#,
    );

    // Sign-out needs the token too.
    sign_out(&app, &client, &csrf).await;
    let after = request(&app, &client, Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    app.assert_audited(
        acme.id,
        &[
            "auth.login_succeeded",
            "auth.token_refreshed",
            "auth.logged_out",
        ],
    )
    .await;
}

#[tokio::test]
async fn signing_out_after_the_access_cookie_expired_still_ends_the_session() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let client = browser();
    let signed_in = sign_in(&app, &client, &acme.owner.email, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let home = request(&app, &client, Method::GET, "/admin")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field(&home, r#"<meta name="csrf-token" content=""#);

    // The tab stays open past the access cookie's lifetime; the refresh token would still renew it.
    app.clock.advance(Duration::minutes(16));
    sign_out(&app, &client, &csrf).await;
    let pool = app.owner_pool().await;
    let reasons: Vec<Option<String>> =
        sqlx::query_scalar("SELECT revoked_reason FROM sessions WHERE tenant_id = $1")
            .bind(acme.id.as_uuid())
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(reasons, vec![Some("logout".to_owned())]);
    app.assert_audited(acme.id, &["auth.logged_out"]).await;
}

#[tokio::test]
async fn the_second_step_works_in_the_browser() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let started: serde_json::Value = app
        .post("acme", "/api/v1/me/mfa/totp", &owner.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = started["secret"].as_str().unwrap().to_owned();
    let seed = base32(&secret);
    let code = |app: &TestApp| {
        let now = trellis::clock::Clock::now(&app.clock).timestamp();
        trellis::auth::mfa::totp::code_at_step(&seed, trellis::auth::mfa::totp::step_of(now))
    };
    app.post(
        "acme",
        "/api/v1/me/mfa/totp/confirm",
        &owner.access,
        &json!({ "code": code(&app) }),
    )
    .await;
    app.clock.advance(Duration::seconds(30));

    let client = browser();
    let step = sign_in(&app, &client, &acme.owner.email, PASSWORD).await;
    assert_eq!(step.status(), StatusCode::OK);
    let page = step.text().await.unwrap();
    assert!(page.contains("authenticator app"));
    let form = [
        ("csrf_token", field(&page, r#"name="csrf_token" value=""#)),
        ("challenge", field(&page, r#"name="challenge" value=""#)),
        ("mode", field(&page, r#"name="mode" value=""#)),
        ("code", code(&app)),
    ];
    let done = request(&app, &client, Method::POST, "/login/mfa")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (done.status(), location(&done)),
        (StatusCode::SEE_OTHER, "/admin")
    );
    assert_eq!(
        request(&app, &client, Method::GET, "/admin")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut count, mut out) = (0u32, 0, Vec::new());
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

#[tokio::test]
async fn every_anonymous_console_form_refuses_a_forged_or_another_browsers_token() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let invited = app
        .invite("acme", &owner, "newcomer@acme.example", "member")
        .await;
    let invitation = crate::helpers::invitation_token(&invited);
    // A genuine token, but another browser's: it is bound to that browser's cookie.
    let other = browser();
    let page = request(&app, &other, Method::GET, "/login")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let foreign = field(&page, r#"name="csrf_token" value=""#);
    let pool = app.owner_pool().await;
    let counts = async || -> (i64, i64) {
        sqlx::query_as("SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM sessions)")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = counts().await;

    let email = acme.owner.email.as_str();
    let forms: [(&str, Vec<(&str, &str)>); 5] = [
        ("/login", vec![("email", email), ("password", PASSWORD)]),
        (
            "/login/mfa",
            vec![("challenge", "c"), ("mode", "verify"), ("code", "123456")],
        ),
        (
            "/admin/accept-invitation",
            vec![
                ("token", &invitation),
                ("password", "a newcomer's long passphrase"),
            ],
        ),
        ("/admin/forgot-password", vec![("email", email)]),
        (
            "/admin/reset-password",
            vec![
                ("token", "a token"),
                ("password", "a fresh long passphrase"),
            ],
        ),
    ];
    for (path, fields) in forms {
        // This browser has the sign-in page's cookie; it sends every token but its own.
        let client = browser();
        let page = request(&app, &client, Method::GET, "/login")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        for token in ["forged", foreign.as_str(), ""] {
            let mut form = fields.clone();
            form.push(("csrf_token", token));
            let response = request(&app, &client, Method::POST, path)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} with csrf_token {token:?}"
            );
        }
    }
    // Nothing happened: no mail queued, no session, and the invitation is still open.
    assert_eq!(counts().await, before);
    let accepted = app
        .accept("acme", &invitation, "a newcomer's long passphrase")
        .await;
    assert_eq!(accepted.status(), StatusCode::OK);
}
