//! Why a single sign-on did not happen: what the audit log records (`reason`, `detail`) and what the
//! person is told, from every failure the flow can meet (the provider's, the checks', the database's).

use actix_web::http::StatusCode;

use super::client::{Identity, OidcError};
use crate::error::ApiError;

/// Why a sign-in did not happen: what the audit log records (`reason`, `detail`) and what the person
/// is told (`message`, with `status`).
#[derive(Debug)]
pub struct SsoFailure {
    pub status: StatusCode,
    pub reason: &'static str,
    pub message: &'static str,
    pub detail: Option<String>,
    /// Who the provider said it was, when it got that far.
    pub claimed: Option<String>,
}

impl SsoFailure {
    pub fn new(status: StatusCode, reason: &'static str, message: &'static str) -> Self {
        SsoFailure {
            status,
            reason,
            message,
            detail: None,
            claimed: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn claimed(mut self, identity: &Identity) -> Self {
        self.claimed = identity.email.clone().or(Some(identity.subject.clone()));
        self
    }
}

impl From<ApiError> for SsoFailure {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::TooManyRequests { .. } => SsoFailure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many sign-in attempts from this address. Wait a few minutes and try again.",
            ),
            ApiError::Unauthorized { code } => SsoFailure::new(
                StatusCode::FORBIDDEN,
                "sign_in_refused",
                "Your account cannot sign in right now. Ask an administrator of your organization.",
            )
            .detail(code),
            // A concurrent sign-in of the same person (a double click, two tabs) got there first.
            ApiError::Conflict { detail, .. } => SsoFailure::new(
                StatusCode::CONFLICT,
                "sign_in_conflict",
                "Another sign-in for your account was in progress. Try again.",
            )
            .detail(detail),
            ApiError::Unavailable { code } => SsoFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Sign-in is unavailable for a moment. Try again shortly.",
            )
            .detail(code),
            other => {
                tracing::error!(error = %other, "single sign-on failed");
                SsoFailure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "Something went wrong on our side. Try again in a moment.",
                )
            }
        }
    }
}

impl From<OidcError> for SsoFailure {
    fn from(error: OidcError) -> Self {
        let (status, message) = match &error {
            OidcError::Discovery(_) | OidcError::Keys(_) | OidcError::NoTokenEndpoint => (
                StatusCode::BAD_GATEWAY,
                "Your organization's identity provider did not answer as expected. Try again later, or ask an administrator to check the single sign-on connection.",
            ),
            OidcError::Config(_) | OidcError::Exchange(_) => (
                StatusCode::BAD_GATEWAY,
                "Your organization's identity provider refused this sign-in. Ask an administrator to check the single sign-on connection.",
            ),
            OidcError::NoIdToken | OidcError::IdToken(_) | OidcError::Nonce => (
                StatusCode::UNAUTHORIZED,
                "The identity provider's answer could not be verified, so you were not signed in. Start again.",
            ),
        };
        SsoFailure::new(status, error.reason(), message).detail(error.to_string())
    }
}
