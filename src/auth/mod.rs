//! Authentication: password login, EdDSA access tokens, rotating refresh tokens, sessions.
//!
//! - [`keys`]: the Ed25519 key ring (`kid`s, rotation: the first key signs, every key verifies);
//! - [`tokens`]: access-token claims, issuing and verifying (EdDSA only; HS* and `none` rejected);
//! - [`password`]: argon2id hashing off the async threads, and the password policy;
//! - [`rate_limit`]: login attempts per IP and per account, in Redis or, when it is down, in-process;
//! - [`principal`]: the `AccessToken` extractor and `open`, which starts the request's [`crate::tenancy::TenantTx`];
//! - [`service`] and [`routes`]: login, refresh, logout, `me`, password change.

pub mod api_keys;
pub mod keys;
pub mod mfa;
pub mod oidc;
pub mod password;
pub mod principal;
pub mod rate_limit;
pub mod routes;
pub mod service;
pub mod session_check;
pub mod tokens;
pub mod web_session;

pub use keys::JwtKeys;
pub use principal::{AccessToken, Authenticated, Principal, Subject};
