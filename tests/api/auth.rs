//! Authentication edge cases: tokens that must not work, refresh rotation and reuse, and changes that
//! take effect on the very next request.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Duration;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, expect_problem, spawn_app};

fn claims(app: &TestApp, sub: &str, tid: &str, sid: &str) -> Value {
    let now = trellis::clock::Clock::now(&app.clock).timestamp();
    json!({ "sub": sub, "tid": tid, "sid": sid, "roles": ["owner"], "iat": now, "exp": now + 900, "iss": "trellis" })
}

/// The payload of a real token (so forged tokens differ only in what the test changes).
fn payload_of(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn public_key(app: &TestApp) -> [u8; 32] {
    let spec = app.jwt_spec.expose_secret().to_owned();
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(spec.split_once(':').unwrap().1)
        .unwrap()
        .try_into()
        .unwrap();
    ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes()
}

#[tokio::test]
async fn a_valid_token_reads_me_with_the_role_from_the_database() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let session = app.login_owner(&acme).await;
    let response = app.get("acme", "/api/v1/me", &session.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["email"], acme.owner.email);
    assert_eq!(me["role"], "owner");
    assert!(
        me["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "billing:manage")
    );
}

#[tokio::test]
async fn missing_expired_and_malformed_tokens_are_401() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let session = app.login_owner(&acme).await;

    let none = app
        .request(Method::GET, "acme", "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(none, StatusCode::UNAUTHORIZED).await,
        "authentication_required"
    );
    let garbage = app.get("acme", "/api/v1/me", "not.a.jwt").await;
    assert_eq!(
        expect_problem(garbage, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );

    app.clock.advance(Duration::minutes(16));
    let expired = app.get("acme", "/api/v1/me", &session.access).await;
    assert_eq!(
        expect_problem(expired, StatusCode::UNAUTHORIZED).await,
        "token_expired"
    );
}

#[tokio::test]
async fn forged_tokens_are_401() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let session = app.login_owner(&acme).await;
    let real = payload_of(&session.access);
    let forged = claims(
        &app,
        real["sub"].as_str().unwrap(),
        real["tid"].as_str().unwrap(),
        real["sid"].as_str().unwrap(),
    );

    // Signed with another Ed25519 key under our kid.
    let other =
        trellis::auth::JwtKeys::parse(&trellis::auth::JwtKeys::generate_spec("test1")).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("test1".into());
    let wrong_signature = jsonwebtoken::encode(&header, &forged, other.signing_key()).unwrap();

    // alg: none, no signature.
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let none = format!(
        "{}.{}.",
        encode(&json!({ "alg": "none", "typ": "JWT", "kid": "test1" })),
        encode(&forged)
    );

    // HS256 keyed with our public key (the classic algorithm-confusion attack).
    let hs_header = encode(&json!({ "alg": "HS256", "typ": "JWT", "kid": "test1" }));
    let signing_input = format!("{hs_header}.{}", encode(&forged));
    let mut mac = Hmac::<Sha256>::new_from_slice(&public_key(&app)).unwrap();
    mac.update(signing_input.as_bytes());
    let hs256 = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let hs256_lib = jsonwebtoken::encode(
        &Header {
            kid: Some("test1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &forged,
        &EncodingKey::from_secret(&public_key(&app)),
    )
    .unwrap();

    // A kid we never issued.
    let mut unknown_kid = Header::new(Algorithm::EdDSA);
    unknown_kid.kid = Some("nope".into());
    let keys = trellis::auth::JwtKeys::parse(&app.jwt_spec).unwrap();
    let unknown = jsonwebtoken::encode(&unknown_kid, &forged, keys.signing_key()).unwrap();

    // The real token with its payload edited (another member's id, more roles), signature kept.
    let parts: Vec<&str> = session.access.split('.').collect();
    let mut edited = real.clone();
    edited["sub"] = json!(uuid::Uuid::new_v4().to_string());
    edited["roles"] = json!(["owner", "admin"]);
    let tampered = format!("{}.{}.{}", parts[0], encode(&edited), parts[2]);
    // The real token under another algorithm's name (RS256), and signed by our key without a kid.
    let rs_header = encode(&json!({ "alg": "RS256", "typ": "JWT", "kid": "test1" }));
    let renamed = format!("{rs_header}.{}.{}", parts[1], parts[2]);
    let no_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &forged, keys.signing_key()).unwrap();

    for (name, token) in [
        ("payload edited, signature kept", tampered),
        ("RS256 header on an EdDSA signature", renamed),
        ("no kid", no_kid),
        ("wrong signature", wrong_signature),
        ("alg none", none),
        ("HS256 with the public key", hs256),
        ("HS256 with the public key (jsonwebtoken)", hs256_lib),
        ("unknown kid", unknown),
    ] {
        let response = app.get("acme", "/api/v1/me", &token).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{name} was accepted"
        );
    }
    // The honest token still works.
    assert_eq!(
        app.get("acme", "/api/v1/me", &session.access)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_tenants_token_is_401_on_this_host() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let acme_session = app.login_owner(&acme).await;
    let response = app.get("globex", "/api/v1/me", &acme_session.access).await;
    assert_eq!(
        expect_problem(response, StatusCode::UNAUTHORIZED).await,
        "invalid_token"
    );
    // A login on globex's host with acme's credentials finds no such user.
    let login = app
        .try_login("globex", &acme.owner.email, &acme.owner.password)
        .await;
    assert_eq!(
        expect_problem(login, StatusCode::UNAUTHORIZED).await,
        "invalid_credentials"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_session() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let first = app.login_owner(&acme).await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.request(Method::POST, "acme", "/api/v1/auth/refresh")
                .json(&json!({ "refresh_token": token }))
                .send()
                .await
                .unwrap()
        }
    };

    let rotated = refresh(first.refresh.clone()).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let second: Value = rotated.json().await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(
        app.get("acme", "/api/v1/me", &second_access).await.status(),
        StatusCode::OK
    );

    // The first refresh token again at once: another tab of the same browser lost the race. Refused,
    // and the session lives on.
    let raced = refresh(first.refresh.clone()).await;
    assert_eq!(
        expect_problem(raced, StatusCode::UNAUTHORIZED).await,
        "refresh_token_used"
    );
    assert_eq!(
        app.get("acme", "/api/v1/me", &second_access).await.status(),
        StatusCode::OK
    );

    // The first refresh token again later: theft. The whole session ends.
    app.clock.advance(chrono::Duration::seconds(
        trellis::auth::service::REUSE_GRACE_SECS + 1,
    ));
    let reused = refresh(first.refresh.clone()).await;
    assert_eq!(
        expect_problem(reused, StatusCode::UNAUTHORIZED).await,
        "invalid_refresh_token"
    );
    let after = app.get("acme", "/api/v1/me", &second_access).await;
    assert_eq!(
        expect_problem(after, StatusCode::UNAUTHORIZED).await,
        "session_revoked"
    );
    let successor = refresh(second_refresh).await;
    assert_eq!(
        successor.status(),
        StatusCode::UNAUTHORIZED,
        "the family's newest token died too"
    );
    app.assert_audited(acme.id, &["auth.refresh_token_reused"])
        .await;

    // Unknown tokens change nothing and get the same answer.
    let unknown = refresh("never-issued".into()).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let session = app.login_owner(&acme).await;
    let response = app
        .post("acme", "/api/v1/auth/logout", &session.access, &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = app.get("acme", "/api/v1/me", &session.access).await;
    assert_eq!(
        expect_problem(after, StatusCode::UNAUTHORIZED).await,
        "session_revoked"
    );
    let refreshed = app
        .request(Method::POST, "acme", "/api/v1/auth/refresh")
        .json(&json!({ "refresh_token": session.refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deactivated_user_is_out_on_the_next_request() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_session = app.login("acme", &ada).await;
    assert_eq!(
        app.get("acme", "/api/v1/me", &ada_session.access)
            .await
            .status(),
        StatusCode::OK
    );

    let path = format!("/api/v1/members/{}/deactivate", ada.id);
    assert_eq!(
        app.post("acme", &path, &owner.access, &json!({}))
            .await
            .status(),
        StatusCode::OK
    );

    let next = app.get("acme", "/api/v1/me", &ada_session.access).await;
    assert_eq!(
        expect_problem(next, StatusCode::UNAUTHORIZED).await,
        "session_revoked"
    );
    let login = app.try_login("acme", &ada.email, &ada.password).await;
    assert_eq!(
        expect_problem(login, StatusCode::UNAUTHORIZED).await,
        "invalid_credentials"
    );
}

#[tokio::test]
async fn a_revoked_role_takes_effect_on_the_next_request() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let admin = app.add_member(&acme, &owner, "grace", "admin").await;
    let admin_session = app.login("acme", &admin).await;
    assert_eq!(
        app.get("acme", "/api/v1/members", &admin_session.access)
            .await
            .status(),
        StatusCode::OK
    );

    let path = format!("/api/v1/members/{}/role", admin.id);
    let demoted = app
        .send_json(
            Method::PUT,
            "acme",
            &path,
            &owner.access,
            &json!({ "role": "member" }),
        )
        .await;
    assert_eq!(demoted.status(), StatusCode::OK);

    // Same access token, still carrying `roles: ["admin"]`: the database decides.
    let next = app
        .get("acme", "/api/v1/members", &admin_session.access)
        .await;
    assert_eq!(
        expect_problem(next, StatusCode::FORBIDDEN).await,
        "forbidden"
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let here = app.login_owner(&acme).await;
    let elsewhere = app.login_owner(&acme).await;

    let wrong = app
        .post(
            "acme",
            "/api/v1/me/password",
            &here.access,
            &json!({ "current_password": "not my password", "new_password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let changed = app
        .post(
            "acme",
            "/api/v1/me/password",
            &here.access,
            &json!({ "current_password": acme.owner.password, "new_password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("acme", "/api/v1/me", &here.access).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("acme", "/api/v1/me", &elsewhere.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .try_login("acme", &acme.owner.email, &acme.owner.password)
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app
        .try_login("acme", &acme.owner.email, "a brand new passphrase")
        .await;
    assert_eq!(new.status(), StatusCode::OK);
    app.assert_audited(acme.id, &["user.password_changed"])
        .await;
}

#[tokio::test]
async fn failed_logins_are_audited_without_saying_which_part_was_wrong() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let unknown = app
        .try_login("acme", "nobody@acme.example", "whatever it is")
        .await;
    let wrong = app
        .try_login("acme", &acme.owner.email, "not the password")
        .await;
    let a = expect_problem(unknown, StatusCode::UNAUTHORIZED).await;
    let b = expect_problem(wrong, StatusCode::UNAUTHORIZED).await;
    assert_eq!(a, b);
    let failures = app
        .audit_actions(acme.id)
        .await
        .into_iter()
        .filter(|a| a == "auth.login_failed")
        .count();
    assert_eq!(failures, 2);
}
