//! Two-step verification: `/api/v1/auth/mfa/*` (the second step of a sign-in) and `/api/v1/me/mfa*`.

use actix_web::{
    HttpResponse, delete, get, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::service::{self, Enrolment};
use crate::{
    audit::AuditCtx,
    auth::{AccessToken, Subject, routes::TokenResponse},
    authz::{Act, Obj},
    domain::UserId,
    error::{ApiError, ApiResult},
    http::{RequestContext, ValidJson},
    modules::members,
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentResponse {
    /// The seed, base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/...`, what authenticator apps scan.
    pub otpauth_uri: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

impl From<Enrolment> for EnrolmentResponse {
    fn from(e: Enrolment) -> Self {
        EnrolmentResponse {
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// Ten single-use codes for when the device is lost: shown this once.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolledSignInResponse {
    pub recovery_codes: Vec<String>,
    #[serde(flatten)]
    pub tokens: TokenResponse,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatusResponse {
    pub enabled: bool,
    pub enabled_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"challenge": "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.e30.c2ln", "code": "123456"}))]
pub struct ChallengeCodeRequest {
    /// The `mfa_challenge` a sign-in answered with.
    pub challenge: String,
    /// A 6-digit code from the authenticator app, or a recovery code.
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"challenge": "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.e30.c2ln"}))]
pub struct ChallengeRequest {
    pub challenge: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "123456"}))]
pub struct CodeRequest {
    pub code: String,
}

/// The second step of a sign-in: a code for the challenge the password step returned.
#[utoipa::path(
    tag = "mfa",
    request_body = ChallengeCodeRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong code, or an invalid or expired challenge", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many codes tried", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/mfa/verify")]
pub async fn verify_mfa(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<ChallengeCodeRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let body = body.into_inner();
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let pair = service::verify_sign_in(&state, &tenant, &ctx, &body.challenge, &body.code).await?;
    Ok(Json(pair.into()))
}

/// Enrolment during a sign-in, when the organization requires two-step verification and the user has
/// none yet.
#[utoipa::path(
    tag = "mfa",
    request_body = ChallengeRequest,
    responses(
        (status = 200, description = "Scan this, then confirm with a code", body = EnrolmentResponse),
        (status = 401, description = "The challenge is invalid or has expired; sign in again", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/mfa/enroll")]
pub async fn enroll_mfa_at_sign_in(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<ChallengeRequest>,
) -> ApiResult<Json<EnrolmentResponse>> {
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let enrolment =
        service::enroll_with_challenge(&state, &tenant, &ctx, &body.into_inner().challenge).await?;
    Ok(Json(enrolment.into()))
}

/// Confirms that enrolment with a first code and completes the sign-in.
#[utoipa::path(
    tag = "mfa",
    request_body = ChallengeCodeRequest,
    responses(
        (status = 200, description = "Enrolled and signed in; keep the recovery codes", body = EnrolledSignInResponse),
        (status = 401, description = "Wrong code, or an invalid or expired challenge", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many codes tried", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/mfa/enroll/confirm")]
pub async fn confirm_mfa_at_sign_in(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<ChallengeCodeRequest>,
) -> ApiResult<Json<EnrolledSignInResponse>> {
    let body = body.into_inner();
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let (recovery_codes, pair) =
        service::confirm_with_challenge(&state, &tenant, &ctx, &body.challenge, &body.code).await?;
    Ok(Json(EnrolledSignInResponse {
        recovery_codes,
        tokens: pair.into(),
    }))
}

/// Whether two-step verification is on for you.
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = [])),
    responses((status = 200, description = "Your two-step verification", body = MfaStatusResponse))
)]
#[get("/me/mfa")]
pub async fn my_mfa(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<MfaStatusResponse>> {
    let auth = token.open(&state).await?;
    let (user_id, _) = auth.principal.user()?;
    let (enabled_at, recovery_codes_left) = service::status(&auth.tx, user_id).await?;
    auth.tx.commit().await?;
    Ok(Json(MfaStatusResponse {
        enabled: enabled_at.is_some(),
        enabled_at,
        recovery_codes_left,
    }))
}

/// Starts enrolling an authenticator app (a new seed each time until confirmed).
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Scan this, then confirm with a code", body = EnrolmentResponse),
        (status = 409, description = "Already on", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/mfa/totp")]
pub async fn start_my_mfa(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<EnrolmentResponse>> {
    let auth = token.open(&state).await?;
    let (user_id, email) = signed_in_user(&auth.principal)?;
    let enrolment = service::start_enrolment(&state, &auth.tx, &auth.ctx, user_id, &email).await?;
    auth.tx.commit().await?;
    Ok(Json(enrolment.into()))
}

/// Turns two-step verification on with a first code; returns the recovery codes once.
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "On; keep the recovery codes", body = RecoveryCodesResponse),
        (status = 409, description = "No enrolment was started (or it is already on)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/mfa/totp/confirm")]
pub async fn confirm_my_mfa(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CodeRequest>,
) -> ApiResult<Json<RecoveryCodesResponse>> {
    let auth = token.open(&state).await?;
    let (user_id, email) = signed_in_user(&auth.principal)?;
    let recovery_codes = service::confirm_enrolment(
        &state,
        &auth.tx,
        &auth.ctx,
        user_id,
        &email,
        &body.into_inner().code,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(RecoveryCodesResponse { recovery_codes }))
}

/// Turns two-step verification off, with a code (refused while your organization requires it).
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 204, description = "Off"),
        (status = 409, description = "Your organization requires it", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/mfa/disable")]
pub async fn disable_my_mfa(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CodeRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    let (user_id, _) = auth.principal.user()?;
    service::disable(
        &state,
        &auth.tx,
        &auth.ctx,
        user_id,
        &body.into_inner().code,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Resets a member's two-step verification (a lost device): they enrol again at their next sign-in if
/// the organization requires it.
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 204, description = "Reset"))
)]
#[delete("/members/{member_id}/mfa")]
pub async fn reset_member_mfa(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Mfa, Act::Reset).await?;
    let member = members::service::get(&auth.tx, UserId::from_uuid(*member_id)).await?;
    members::service::require_manageable(&auth.tx, &state.authz, &auth.principal, &member)
        .await
        .map_err(ApiError::from)?;
    service::reset(
        &auth.tx,
        &auth.ctx,
        UserId::from_uuid(member.id),
        &member.email,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

fn signed_in_user(principal: &crate::auth::Principal) -> Result<(UserId, String), ApiError> {
    match &principal.subject {
        Subject::User { user_id, email, .. } => Ok((*user_id, email.clone())),
        Subject::ApiKey { .. } | Subject::System { .. } => {
            Err(principal.user().err().unwrap_or_else(ApiError::not_found))
        }
    }
}
