//! The keys that sign the chain's digests: a key ring ([`crate::keys`]) of Ed25519 seeds. The first key
//! signs; every key in the ring verifies. Each key's public half is published in `audit_signing_keys`
//! the first time it signs, and stays there after the key leaves the ring, so digests signed before a
//! rotation still verify (`GET /api/v1/audit-events/public-keys`).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use secrecy::SecretString;

use crate::keys::{self, KeyError};

pub const RING: &str = "audit.signing_keys";

pub struct DigestSigner {
    kid: String,
    key: SigningKey,
    ring: Vec<(String, VerifyingKey)>,
}

impl DigestSigner {
    pub fn parse(spec: &SecretString) -> Result<DigestSigner, KeyError> {
        let entries = keys::parse(RING, spec)?;
        let ring: Vec<(String, VerifyingKey)> = entries
            .iter()
            .map(|e| {
                (
                    e.kid.clone(),
                    SigningKey::from_bytes(&e.secret).verifying_key(),
                )
            })
            .collect();
        let first = entries.first().ok_or(KeyError::Invalid {
            ring: RING,
            message: "no key given".into(),
        })?;
        Ok(DigestSigner {
            kid: first.kid.clone(),
            key: SigningKey::from_bytes(&first.secret),
            ring,
        })
    }

    /// The key id that signs, and its public key.
    pub fn current(&self) -> (&str, [u8; 32]) {
        (&self.kid, self.key.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The public key the server itself holds for `kid`, if it is still in the ring.
    pub fn ring_key(&self, kid: &str) -> Option<[u8; 32]> {
        self.ring
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key.to_bytes())
    }
}

/// Whether `signature` is `public_key`'s signature of `message`.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(public_key) = <[u8; 32]>::try_from(public_key) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&public_key) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify(message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_first_key_signs_and_its_public_half_verifies() {
        let older = keys::generate("a1");
        let spec = keys::rotated(RING, &older, "a2").unwrap();
        let signer = DigestSigner::parse(&spec).unwrap();
        let (kid, public) = signer.current();
        assert_eq!(kid, "a2");
        let signature = signer.sign(b"head");
        assert!(verify(&public, b"head", &signature));
        assert!(!verify(&public, b"head!", &signature));
        let old = DigestSigner::parse(&older).unwrap();
        assert_eq!(signer.ring_key("a1"), Some(old.current().1));
        assert!(!verify(&old.current().1, b"head", &signature));
        assert!(!spec.expose_secret().is_empty());
    }
}
