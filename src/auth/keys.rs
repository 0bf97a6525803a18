//! The JWT key ring. Keys are Ed25519 and named by a `kid`; `APP_AUTH__JWT_KEYS` holds
//! `kid:base64url(32-byte seed)` pairs, comma-separated. The first key signs new tokens; every key
//! verifies, so a key is rotated by putting a new one first and dropping the old one after the access
//! token lifetime. In `local` a key is generated once and kept in `<var_dir>/jwt-keys`.

use std::{collections::HashMap, fs, io::Write, path::Path};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("auth.jwt_keys: {0}")]
    Invalid(String),
    #[error("auth.jwt_keys: cannot read or write the local key file: {0}")]
    Io(#[from] std::io::Error),
}

pub struct JwtKeys {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

impl JwtKeys {
    /// Parses `kid:seed,kid:seed`.
    pub fn parse(spec: &SecretString) -> Result<JwtKeys, KeyError> {
        let mut signing = None;
        let mut verifying = HashMap::new();
        for entry in spec
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (kid, seed) = entry
                .split_once(':')
                .ok_or_else(|| KeyError::Invalid("each key is kid:base64url-seed".into()))?;
            if kid.is_empty()
                || kid.len() > 64
                || !kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(KeyError::Invalid(format!("bad key id {kid:?}")));
            }
            let seed: [u8; 32] = URL_SAFE_NO_PAD
                .decode(seed)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| {
                    KeyError::Invalid(format!("key {kid}: the seed must be 32 bytes, base64url"))
                })?;
            let key = SigningKey::from_bytes(&seed);
            let der = key
                .to_pkcs8_der()
                .map_err(|e| KeyError::Invalid(format!("key {kid}: {e}")))?;
            if signing.is_none() {
                signing = Some((kid.to_owned(), EncodingKey::from_ed_der(der.as_bytes())));
            }
            if verifying
                .insert(
                    kid.to_owned(),
                    DecodingKey::from_ed_der(key.verifying_key().as_bytes()),
                )
                .is_some()
            {
                return Err(KeyError::Invalid(format!("key id {kid} appears twice")));
            }
        }
        let (signing_kid, signing) =
            signing.ok_or_else(|| KeyError::Invalid("no key given".into()))?;
        Ok(JwtKeys {
            signing_kid,
            signing,
            verifying,
        })
    }

    /// A new random key spec `kid:seed`.
    pub fn generate_spec(kid: &str) -> SecretString {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        SecretString::from(format!("{kid}:{}", URL_SAFE_NO_PAD.encode(seed)))
    }

    /// The local key file under `var_dir`, created (mode 0600) on first use.
    pub fn load_or_create_local(var_dir: &Path) -> Result<JwtKeys, KeyError> {
        let path = var_dir.join("jwt-keys");
        if let Ok(spec) = fs::read_to_string(&path) {
            return Self::parse(&SecretString::from(spec.trim().to_owned()));
        }
        fs::create_dir_all(var_dir)?;
        let kid = format!("local-{}", uuid::Uuid::now_v7().simple());
        let spec = Self::generate_spec(&kid[..20]);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(&path)?
            .write_all(spec.expose_secret().as_bytes())?;
        Self::parse(&spec)
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_signs_and_all_verify() {
        let a = JwtKeys::generate_spec("a");
        let b = JwtKeys::generate_spec("b");
        let spec = SecretString::from(format!("{},{}", a.expose_secret(), b.expose_secret()));
        let keys = JwtKeys::parse(&spec).unwrap();
        assert_eq!(keys.signing_kid(), "a");
        assert!(keys.verifying_key("b").is_some());
        assert!(keys.verifying_key("c").is_none());
    }

    #[test]
    fn malformed_specs_are_refused() {
        for spec in ["", "nokid", "a:short", "a b:AAAA"] {
            assert!(
                JwtKeys::parse(&SecretString::from(spec.to_owned())).is_err(),
                "{spec}"
            );
        }
        let a = JwtKeys::generate_spec("a");
        let twice = SecretString::from(format!("{0},{0}", a.expose_secret()));
        assert!(JwtKeys::parse(&twice).is_err());
    }
}
