//! Passwords: argon2id with the configured cost, hashed and verified on the blocking pool (never on the
//! async threads). An unknown account is verified against a dummy hash of the same cost, so a wrong
//! email costs the same time as a wrong password.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};

use crate::{config::AuthSettings, error::ApiError, telemetry::spawn_blocking_in_span};

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_lanes,
            None,
        )
        .map_err(|e| anyhow::anyhow!("auth.argon2_*: {e}"))?;
        let dummy_hash = hash_with(&params, "trellis-dummy-password")?;
        Ok(PasswordHasher { params, dummy_hash })
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, ApiError> {
        let params = self.params.clone();
        let password = password.clone();
        spawn_blocking_in_span(move || hash_with(&params, password.expose_secret()))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown account, or an account without a
    /// password), verifies against the dummy hash and answers false.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<String>,
    ) -> Result<bool, ApiError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.clone();
        let matches = spawn_blocking_in_span(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.expose_secret().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(ApiError::internal)?;
        Ok(known && matches)
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// A password a user chooses: 12 to 256 characters, and not their email address.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: &str, email: &str) -> Result<NewPassword, &'static str> {
        let length = raw.chars().count();
        if length < 12 {
            return Err("must be at least 12 characters");
        }
        if length > 256 {
            return Err("must be at most 256 characters");
        }
        if raw.trim().is_empty() {
            return Err("must not be blank");
        }
        if raw.eq_ignore_ascii_case(email) {
            return Err("must not be your email address");
        }
        Ok(NewPassword(SecretString::from(raw.to_owned())))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        crate::config::Settings::load_for(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
            "test",
            false,
        )
        .unwrap()
        .auth
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(&settings()).unwrap();
        let password = SecretString::from("correct horse battery".to_owned());
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher.verify(&password, Some(hash.clone())).await.unwrap());
        let wrong = SecretString::from("wrong horse battery".to_owned());
        assert!(!hasher.verify(&wrong, Some(hash)).await.unwrap());
        // Unknown account: the dummy hash is checked, the answer is always no.
        assert!(
            !hasher
                .verify(
                    &SecretString::from("trellis-dummy-password".to_owned()),
                    None
                )
                .await
                .unwrap()
        );
    }

    #[test]
    fn the_policy_refuses_short_long_and_email_passwords() {
        assert!(NewPassword::parse("short", "a@b.co").is_err());
        assert!(NewPassword::parse(&"x".repeat(257), "a@b.co").is_err());
        assert!(NewPassword::parse("ada@example.com", "ada@example.com").is_err());
        assert!(NewPassword::parse("            ", "a@b.co").is_err());
        assert!(NewPassword::parse("a long enough passphrase", "a@b.co").is_ok());
    }
}
