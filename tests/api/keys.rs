//! Key rotation: after a new key is put first, what the old key made keeps working until the old key is
//! retired; then it stops. Both rings: JWT signing keys and the AES keys of secrets at rest.

use reqwest::StatusCode;
use secrecy::SecretString;
use trellis::keys;

use crate::{
    helpers::{spawn_app_with, spawn_peer_with},
    smtp::TestSmtp,
};

fn kid_of(token: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn old_tokens_and_sealed_values_stay_valid_until_their_key_is_retired() {
    let smtp = TestSmtp::start().await;
    let smtp_url = smtp.url();
    let jwt_v1 = keys::generate("jwt-1");
    let aes_v1 = keys::generate("aes-1");
    let (jwt, aes) = (jwt_v1.clone(), aes_v1.clone());
    let before = spawn_app_with(move |s| {
        s.auth.jwt_keys = Some(jwt);
        s.crypto.keys = Some(aes);
        s.mail.smtp_url = Some(SecretString::from(smtp_url));
    })
    .await;
    let acme = before.create_tenant("acme").await;
    let old = before.login_owner(&acme).await;
    assert_eq!(kid_of(&old.access), "jwt-1");
    // A mail queued (and sealed) under the old AES key.
    before
        .invite("acme", &old, "grace@acme.example", "member")
        .await;

    // Rotated: new keys first, old ones still there.
    let jwt_v2 = keys::rotated("jwt", &jwt_v1, "jwt-2").unwrap();
    let aes_v2 = keys::rotated("aes", &aes_v1, "aes-2").unwrap();
    let (jwt, aes) = (jwt_v2.clone(), aes_v2.clone());
    let rotated = spawn_peer_with(&before, move |s| {
        s.auth.jwt_keys = Some(jwt);
        s.crypto.keys = Some(aes);
    })
    .await;
    assert_eq!(
        rotated
            .get("acme", "/api/v1/me", &old.access)
            .await
            .status(),
        StatusCode::OK
    );
    let new = rotated.login_owner(&acme).await;
    assert_eq!(kid_of(&new.access), "jwt-2");
    assert_eq!(rotated.worker.run_once().await.unwrap(), 1);
    assert_eq!(
        smtp.messages_to("grace@acme.example").len(),
        1,
        "the old key still opens the queued mail"
    );
    rotated
        .invite("acme", &new, "ada@acme.example", "member")
        .await;

    // Retired: the old key's tokens stop; the new key's still work.
    let jwt_v3 = keys::retired("jwt", &jwt_v2, "jwt-1").unwrap();
    let aes_v3 = keys::retired("aes", &aes_v2, "aes-1").unwrap();
    let retired = spawn_peer_with(&before, move |s| {
        s.auth.jwt_keys = Some(jwt_v3);
        s.crypto.keys = Some(aes_v3);
    })
    .await;
    assert_eq!(
        retired
            .get("acme", "/api/v1/me", &old.access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        retired
            .get("acme", "/api/v1/me", &new.access)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(retired.worker.run_once().await.unwrap(), 1);
    assert_eq!(
        smtp.messages_to("ada@acme.example").len(),
        1,
        "sealed under the new key"
    );
}
