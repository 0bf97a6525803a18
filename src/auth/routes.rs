//! `/api/v1/auth/*` and `/api/v1/me`: thin handlers over [`super::service`].

use actix_web::{HttpResponse, get, post, web::Data};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AccessToken, Subject, service};
use crate::{
    audit::AuditCtx,
    domain::Email,
    error::{ApiError, ApiResult},
    http::{RequestContext, ValidJson},
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@acme.example", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// An EdDSA-signed JWT; send it as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Single use: exchange it at `/api/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl From<service::TokenPair> for TokenResponse {
    fn from(pair: service::TokenPair) -> Self {
        TokenResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer".into(),
            expires_in: pair.expires_in,
        }
    }
}

/// A sign-in answers with tokens, or with a challenge for the second step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenResponse),
    Challenge(MfaChallengeResponse),
}

impl From<service::LoginOutcome> for LoginResponse {
    fn from(outcome: service::LoginOutcome) -> Self {
        let challenge = |mfa: &str, challenge: String| {
            LoginResponse::Challenge(MfaChallengeResponse {
                mfa: mfa.into(),
                mfa_challenge: challenge,
            })
        };
        match outcome {
            service::LoginOutcome::Tokens(pair) => LoginResponse::Tokens(pair.into()),
            service::LoginOutcome::MfaRequired { challenge: c } => challenge("verify", c),
            service::LoginOutcome::MfaEnrollmentRequired { challenge: c } => challenge("enroll", c),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaChallengeResponse {
    /// `verify`: send a code to `/auth/mfa/verify`. `enroll`: the organization requires two-step
    /// verification; enrol at `/auth/mfa/enroll`.
    pub mfa: String,
    /// Valid five minutes, for this sign-in only.
    pub mfa_challenge: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: uuid::Uuid,
    pub email: String,
    pub display_name: String,
    /// The member's org role, read from the organization now (not from the token).
    pub role: Option<String>,
    /// Every permission the role holds, `object:action`.
    pub permissions: Vec<String>,
    pub tenant: MeTenant,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeTenant {
    pub id: uuid::Uuid,
    pub slug: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "my current passphrase", "new_password": "a new and longer passphrase"}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Signs in with email and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or a challenge for the second step", body = LoginResponse),
        (status = 401, description = "Wrong email or password (the same answer for both)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address or for this account", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<LoginRequest>,
) -> ApiResult<actix_web::web::Json<LoginResponse>> {
    let body = body.into_inner();
    let email = Email::parse(&body.email).map_err(|m| ApiError::validation("email", m))?;
    let password = SecretString::from(body.password);
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let outcome = service::login(&state, &tenant, &ctx, &email, &password).await?;
    let response = LoginResponse::from(outcome);
    Ok(actix_web::web::Json(response))
}

/// Exchanges a refresh token for a new access and refresh token. Each refresh token works once;
/// presenting a used one ends its session — except within 30 seconds of its use (two tabs renewing at
/// once), which is refused with `refresh_token_used` and ends nothing.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, expired, revoked or reused (the session is ended); `refresh_token_used`: used moments ago by another request of this client", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<RefreshRequest>,
) -> ApiResult<actix_web::web::Json<TokenResponse>> {
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let pair = service::refresh(&state, &tenant, &ctx, &body.into_inner().refresh_token).await?;
    Ok(actix_web::web::Json(pair.into()))
}

/// Ends the current session.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out"))
)]
#[post("/auth/logout")]
pub async fn logout(state: Data<AppState>, token: AccessToken) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    let (_, session_id) = auth.principal.user()?;
    service::logout(&auth.tx, &auth.ctx, session_id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who am I: the signed-in member, their role and permissions.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "The signed-in member", body = MeResponse))
)]
#[get("/me")]
pub async fn me(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
) -> ApiResult<actix_web::web::Json<MeResponse>> {
    let auth = token.open(&state).await?;
    let principal = &auth.principal;
    let Subject::User {
        user_id,
        email,
        display_name,
        ..
    } = &principal.subject
    else {
        return Err(principal.user().err().unwrap_or_else(ApiError::not_found));
    };
    let permissions = match principal.role.as_deref() {
        Some(role) => state
            .authz
            .permissions_of(&auth.tx, role)
            .await?
            .into_iter()
            .map(|p| p.to_string())
            .collect(),
        None => Vec::new(),
    };
    let response = MeResponse {
        id: user_id.as_uuid(),
        email: email.clone(),
        display_name: display_name.clone(),
        role: principal.role.clone(),
        permissions,
        tenant: MeTenant {
            id: tenant.id.as_uuid(),
            slug: tenant.slug.to_string(),
        },
    };
    auth.tx.commit().await?;
    Ok(actix_web::web::Json(response))
}

/// Changes the signed-in member's password; their other sessions end.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 429, description = "Too many wrong current passwords", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    let body = body.into_inner();
    let current = SecretString::from(body.current_password);
    let (user_id, session_id) = auth.principal.user()?;
    service::change_password(
        &state,
        &auth.tx,
        &auth.ctx,
        user_id,
        session_id,
        &current,
        &body.new_password,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@acme.example"}))]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetAccepted {
    /// The same words whether or not the email has an account.
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "new_password": "a new and longer passphrase"}))]
pub struct ConfirmPasswordResetRequest {
    pub token: String,
    pub new_password: String,
}

/// Asks for a password-reset link by mail. The answer is the same for every address, known or not.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way", body = PasswordResetAccepted),
        (status = 429, description = "Too many requests from this address or for this email", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset")]
pub async fn request_password_reset(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let email =
        Email::parse(&body.into_inner().email).map_err(|m| ApiError::validation("email", m))?;
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    service::request_password_reset(&state, &tenant, &ctx, &email).await?;
    Ok(HttpResponse::Accepted().json(PasswordResetAccepted {
        message: "If this address has an account, a link to reset its password is on its way."
            .into(),
    }))
}

/// Sets a new password with the token from the mailed link; every session of the account ends.
#[utoipa::path(
    tag = "auth",
    request_body = ConfirmPasswordResetRequest,
    responses(
        (status = 204, description = "Password changed; sign in again"),
        (status = 401, description = "Unknown, used or expired token", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<ConfirmPasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    service::confirm_password_reset(&state, &tenant, &ctx, &body.token, &body.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
