//! Secrets at rest (SSO client secrets, TOTP seeds, mail bodies with links in the job queue): AES-256-GCM
//! with a key ring ([`crate::keys`], `crypto.keys`). A sealed value is `kid.nonce.ciphertext` (base64url);
//! the first key seals, any key of the ring opens, so `trellis keys rotate --ring crypto` keeps old values
//! readable until the old key is retired. The associated data binds a value to where it belongs (its
//! tenant and purpose): a ciphertext copied into another tenant's row does not open.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::keys::{self, KeyError};

pub const RING: &str = "crypto.keys";

pub struct Crypto {
    keys: Vec<(String, Aes256Gcm)>,
    /// Per key, a MAC key derived from it (never the AES key itself).
    mac_keys: Vec<[u8; 32]>,
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("no key {0} in crypto.keys (retired too early?)")]
    UnknownKey(String),
    #[error("the sealed value does not open (altered, or sealed for something else)")]
    Open,
    #[error("sealing failed")]
    Seal,
}

impl Crypto {
    pub fn parse(spec: &SecretString) -> Result<Crypto, KeyError> {
        let entries = keys::parse(RING, spec)?;
        let mac_keys = entries
            .iter()
            .map(|entry| {
                let mut derive = Sha256::new();
                derive.update(b"trellis mac key\0");
                derive.update(entry.secret);
                derive.finalize().into()
            })
            .collect();
        let keys = entries
            .into_iter()
            .map(|entry| (entry.kid, Aes256Gcm::new(&entry.secret.into())))
            .collect();
        Ok(Crypto { keys, mac_keys })
    }

    /// An HMAC-SHA256 tag of `data` for `purpose` under the current key (base64url): tokens the server
    /// can recompute and a client cannot forge, such as CSRF tokens bound to a session.
    pub fn mac(&self, purpose: &str, data: &str) -> String {
        self.mac_keys
            .first()
            .map(|key| Self::tag(key, purpose, data))
            .unwrap_or_default()
    }

    /// Whether `tag` is [`Crypto::mac`] of `data` under any key of the ring (so rotation does not void
    /// tokens already handed out). Constant-time per key.
    pub fn verify_mac(&self, purpose: &str, data: &str, tag: &str) -> bool {
        self.mac_keys.iter().any(|key| {
            let expected = Self::tag(key, purpose, data);
            expected.len() == tag.len()
                && expected
                    .bytes()
                    .zip(tag.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }

    fn tag(key: &[u8; 32], purpose: &str, data: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
            return String::new();
        };
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Encrypts `plaintext` with the current key, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, CryptoError> {
        let (kid, cipher) = self.keys.first().ok_or(CryptoError::Seal)?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        Ok(format!(
            "{kid}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        ))
    }

    /// Decrypts a value sealed for `context` with any key of the ring.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(kid), Some(nonce), Some(ciphertext)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| CryptoError::Malformed)?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| CryptoError::Malformed)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or_else(|| CryptoError::UnknownKey(kid.to_owned()))?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Open)
    }

    /// The key id values are sealed with now.
    pub fn current_kid(&self) -> &str {
        self.keys
            .first()
            .map(|(kid, _)| kid.as_str())
            .unwrap_or_default()
    }
}

/// Equality of two byte strings in time that depends only on their lengths (secrets compared with
/// what a client sent).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let crypto = Crypto::parse(&keys::generate("k1")).unwrap();
        let sealed = crypto.seal(b"totp seed", "tenant-a/totp").unwrap();
        assert!(sealed.starts_with("k1."));
        assert_eq!(crypto.open(&sealed, "tenant-a/totp").unwrap(), b"totp seed");
        assert!(matches!(
            crypto.open(&sealed, "tenant-b/totp"),
            Err(CryptoError::Open)
        ));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(crypto.open(&tampered, "tenant-a/totp").is_err());
    }

    #[test]
    fn macs_verify_under_any_key_of_the_ring_and_only_for_their_data() {
        let old_spec = keys::generate("k1");
        let old = Crypto::parse(&old_spec).unwrap();
        let tag = old.mac("csrf", "session-1");
        assert!(old.verify_mac("csrf", "session-1", &tag));
        assert!(!old.verify_mac("csrf", "session-2", &tag));
        assert!(!old.verify_mac("other", "session-1", &tag));
        let rotated = Crypto::parse(&keys::rotated(RING, &old_spec, "k2").unwrap()).unwrap();
        assert!(rotated.verify_mac("csrf", "session-1", &tag));
        assert_ne!(rotated.mac("csrf", "session-1"), tag);
    }

    #[test]
    fn rotation_keeps_old_values_readable_until_retirement() {
        let old_spec = keys::generate("k1");
        let old = Crypto::parse(&old_spec).unwrap();
        let sealed = old.seal(b"secret", "ctx").unwrap();
        let rotated_spec = keys::rotated(RING, &old_spec, "k2").unwrap();
        let rotated = Crypto::parse(&rotated_spec).unwrap();
        assert_eq!(rotated.current_kid(), "k2");
        assert_eq!(rotated.open(&sealed, "ctx").unwrap(), b"secret");
        let retired = Crypto::parse(&keys::retired(RING, &rotated_spec, "k1").unwrap()).unwrap();
        assert!(matches!(
            retired.open(&sealed, "ctx"),
            Err(CryptoError::UnknownKey(_))
        ));
        let _ = rotated_spec.expose_secret();
    }
}
