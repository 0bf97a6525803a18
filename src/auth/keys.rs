//! The JWT key ring ([`crate::keys`]): Ed25519 keys named by a `kid`. The first key signs new tokens;
//! every key verifies, so after `trellis keys rotate --ring jwt` the tokens signed before keep working
//! until the old key is retired (wait at least the access-token lifetime).

use std::collections::HashMap;

use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use secrecy::SecretString;

use crate::keys::{self, KeyError};

pub const RING: &str = "auth.jwt_keys";

pub struct JwtKeys {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

impl JwtKeys {
    pub fn parse(spec: &SecretString) -> Result<JwtKeys, KeyError> {
        let entries = keys::parse(RING, spec)?;
        let mut signing = None;
        let mut verifying = HashMap::new();
        for entry in entries {
            let key = SigningKey::from_bytes(&entry.secret);
            if signing.is_none() {
                let der = key.to_pkcs8_der().map_err(|e| KeyError::Invalid {
                    ring: RING,
                    message: format!("key {}: {e}", entry.kid),
                })?;
                signing = Some((entry.kid.clone(), EncodingKey::from_ed_der(der.as_bytes())));
            }
            verifying.insert(
                entry.kid,
                DecodingKey::from_ed_der(key.verifying_key().as_bytes()),
            );
        }
        let (signing_kid, signing) = signing.ok_or(KeyError::Invalid {
            ring: RING,
            message: "no key given".into(),
        })?;
        Ok(JwtKeys {
            signing_kid,
            signing,
            verifying,
        })
    }

    /// A new random key spec `kid:seed`.
    pub fn generate_spec(kid: &str) -> SecretString {
        keys::generate(kid)
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
    use secrecy::ExposeSecret;

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
}
