//! Access tokens: JWTs signed with EdDSA, with a `kid` header, claims `sub`, `tid`, `sid`, `roles`, `iat`,
//! `exp`, `iss`. Only EdDSA verifies: `none`, HS* (e.g. HS256 keyed with our public key) and every other
//! algorithm are refused, as are unknown `kid`s. Expiry is checked against the app's [`Clock`].

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};

use super::JwtKeys;
use crate::domain::{SessionId, TenantId, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: UserId,
    pub tid: TenantId,
    pub sid: SessionId,
    /// Informational only: authorization reads the member's roles from the database on every request.
    pub roles: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

/// Clock skew tolerated on `iat` (a token from a server whose clock runs slightly ahead).
const IAT_LEEWAY_SECS: i64 = 60;

pub fn issue(keys: &JwtKeys, claims: &AccessClaims) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.signing_kid().to_owned());
    encode(&header, claims, keys.signing_key())
}

/// The claims of a token we signed that has not expired.
pub fn verify(
    keys: &JwtKeys,
    token: &str,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<AccessClaims, TokenError> {
    let claims = verify_signature(keys, token, issuer, now)?;
    if claims.exp <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The claims of a token we signed, expired or not: only for ending the session it names (signing out
/// of the console after the access cookie lapsed), never for acting as its subject.
pub fn verify_signature(
    keys: &JwtKeys,
    token: &str,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<AccessClaims, TokenError> {
    let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
    if header.alg != Algorithm::EdDSA {
        return Err(TokenError::Invalid);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.verifying_key(kid))
        .ok_or(TokenError::Invalid)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.algorithms = vec![Algorithm::EdDSA];
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    // Expiry is checked below against the app's clock, not the system's.
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = decode::<AccessClaims>(token, key, &validation)
        .map_err(|_| TokenError::Invalid)?
        .claims;
    if claims.iat > now.timestamp() + IAT_LEEWAY_SECS {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    fn keys(kid: &str) -> JwtKeys {
        JwtKeys::parse(&JwtKeys::generate_spec(kid)).unwrap()
    }

    fn claims(now: i64) -> AccessClaims {
        AccessClaims {
            sub: UserId::new(),
            tid: TenantId::new(),
            sid: SessionId::new(),
            roles: vec!["member".into()],
            iat: now,
            exp: now + 900,
            iss: "trellis".into(),
        }
    }

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).unwrap()
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let keys = keys("k1");
        let claims = claims(1_800_000_000);
        let token = issue(&keys, &claims).unwrap();
        assert_eq!(
            verify(&keys, &token, "trellis", at(1_800_000_100)),
            Ok(claims)
        );
        assert_eq!(
            verify(&keys, &token, "trellis", at(1_800_000_900)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn an_expired_token_still_names_its_session_for_sign_out() {
        let k1 = keys("k1");
        let claims = claims(1_800_000_000);
        let token = issue(&k1, &claims).unwrap();
        let later = at(1_800_100_000);
        assert_eq!(
            verify(&k1, &token, "trellis", later),
            Err(TokenError::Expired)
        );
        assert_eq!(verify_signature(&k1, &token, "trellis", later), Ok(claims));
        assert_eq!(
            verify_signature(&keys("k2"), &token, "trellis", later),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn another_key_issuer_or_kid_is_invalid() {
        let token = issue(&keys("k1"), &claims(1_800_000_000)).unwrap();
        let now = at(1_800_000_001);
        assert_eq!(
            verify(&keys("k1"), &token, "trellis", now),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify(&keys("k2"), &token, "trellis", now),
            Err(TokenError::Invalid)
        );
        let keys = keys("k1");
        let token = issue(&keys, &claims(1_800_000_000)).unwrap();
        assert_eq!(
            verify(&keys, &token, "someone-else", now),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let keys = keys("k1");
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(1_800_000_000)).unwrap());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1","typ":"JWT"}"#);
        let token = format!("{header}.{payload}.");
        assert_eq!(
            verify(&keys, &token, "trellis", at(1_800_000_001)),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_future_iat_is_refused() {
        let keys = keys("k1");
        let token = issue(&keys, &claims(1_800_000_000)).unwrap();
        assert_eq!(
            verify(&keys, &token, "trellis", at(1_799_999_000)),
            Err(TokenError::Invalid)
        );
    }
}
