//! Two-step verification: enrolment (seed sealed at rest, confirmed with a first code, ten single-use
//! recovery codes), the second step of a sign-in, turning it off, an admin's reset, and the organization
//! rule that password sign-ins need it. Between the password and the code, the client holds a signed
//! challenge (five minutes, for one user of one tenant, bound to the password it followed).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use rand::Rng;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::totp;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::{
        rate_limit::Limit,
        service::{LoginOutcome, org_name, token_hash},
    },
    domain::{TenantId, UserId},
    error::{ApiError, FieldError},
    mail::{self, MailTemplate},
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

const CHALLENGE_AUDIENCE: &str = "trellis-mfa";
const CHALLENGE_TTL_SECS: i64 = 300;
const RECOVERY_CODES: usize = 10;

/// What an authenticator app needs to enrol.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Verify,
    Enroll,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChallengeClaims {
    sub: UserId,
    tid: TenantId,
    purpose: Purpose,
    /// A fingerprint of the password hash the challenge followed: a password change voids it.
    pwd: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// After a correct password: the challenge to answer, if the user has (or must have) a second step.
pub async fn gate(
    state: &AppState,
    tx: &TenantTx,
    tenant: &Tenant,
    user: &entity::users::Model,
) -> Result<Option<LoginOutcome>, ApiError> {
    let enabled = enrolment(tx, UserId::from_uuid(user.id))
        .await?
        .is_some_and(|m| m.enabled_at.is_some());
    if enabled {
        let challenge = issue_challenge(state, tenant, user, Purpose::Verify)?;
        return Ok(Some(LoginOutcome::MfaRequired { challenge }));
    }
    if required_by_org(tx).await? {
        let challenge = issue_challenge(state, tenant, user, Purpose::Enroll)?;
        return Ok(Some(LoginOutcome::MfaEnrollmentRequired { challenge }));
    }
    Ok(None)
}

fn password_fingerprint(user: &entity::users::Model) -> String {
    let digest = Sha256::digest(user.password_hash.as_deref().unwrap_or_default().as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

fn issue_challenge(
    state: &AppState,
    tenant: &Tenant,
    user: &entity::users::Model,
    purpose: Purpose,
) -> Result<String, ApiError> {
    let now = state.clock.now().timestamp();
    let claims = ChallengeClaims {
        sub: UserId::from_uuid(user.id),
        tid: tenant.id,
        purpose,
        pwd: password_fingerprint(user),
        iat: now,
        exp: now + CHALLENGE_TTL_SECS,
        iss: state.settings.auth.issuer.clone(),
        aud: CHALLENGE_AUDIENCE.into(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(state.jwt_keys.signing_kid().to_owned());
    encode(&header, &claims, state.jwt_keys.signing_key()).map_err(ApiError::internal)
}

/// The user a challenge names, if it is genuine, for this tenant and purpose, unexpired, and the user
/// is active with the password it followed.
pub async fn redeem_challenge(
    state: &AppState,
    tx: &TenantTx,
    challenge: &str,
    purpose: Purpose,
) -> Result<entity::users::Model, ApiError> {
    let invalid = || ApiError::Unauthorized {
        code: "invalid_mfa_challenge",
    };
    let key = decode_header(challenge)
        .ok()
        .filter(|h| h.alg == Algorithm::EdDSA)
        .and_then(|h| h.kid)
        .and_then(|kid| state.jwt_keys.verifying_key(&kid))
        .ok_or_else(invalid)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[CHALLENGE_AUDIENCE]);
    validation.set_issuer(&[state.settings.auth.issuer.as_str()]);
    validation.validate_exp = false;
    let claims = decode::<ChallengeClaims>(challenge, key, &validation)
        .map_err(|_| invalid())?
        .claims;
    if claims.tid != tx.tenant_id()
        || claims.purpose != purpose
        || claims.exp <= state.clock.now().timestamp()
    {
        return Err(invalid());
    }
    let user = entity::users::Entity::find_by_id((tx.tenant_id().as_uuid(), claims.sub.as_uuid()))
        .one(tx)
        .await?
        .filter(|u| u.status == "active" && password_fingerprint(u) == claims.pwd)
        .ok_or_else(invalid)?;
    Ok(user)
}

async fn enrolment(
    tx: &TenantTx,
    user: UserId,
) -> Result<Option<entity::user_mfa::Model>, ApiError> {
    Ok(
        entity::user_mfa::Entity::find_by_id((tx.tenant_id().as_uuid(), user.as_uuid()))
            .one(tx)
            .await?,
    )
}

async fn required_by_org(tx: &TenantTx) -> Result<bool, ApiError> {
    Ok(
        entity::org_settings::Entity::find_by_id(tx.tenant_id().as_uuid())
            .one(tx)
            .await?
            .is_some_and(|s| s.mfa_required),
    )
}

fn seal_context(tx: &TenantTx, user: UserId) -> String {
    format!("totp:{}:{user}", tx.tenant_id())
}

/// Starts (or restarts) enrolment with a new seed; refused while two-step verification is on.
pub async fn start_enrolment(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
    email: &str,
) -> Result<Enrolment, ApiError> {
    if enrolment(tx, user)
        .await?
        .is_some_and(|m| m.enabled_at.is_some())
    {
        return Err(ApiError::conflict(
            "mfa_enabled",
            "two-step verification is already on; turn it off first to enrol again",
        ));
    }
    let seed = totp::new_seed();
    let sealed = state
        .crypto
        .seal(&seed, &seal_context(tx, user))
        .map_err(ApiError::internal)?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO user_mfa (tenant_id, user_id, totp_sealed, enabled_at, last_used_step, created_at) \
         VALUES ($1, $2, $3, NULL, 0, $4) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE \
         SET totp_sealed = EXCLUDED.totp_sealed, enabled_at = NULL, last_used_step = 0, created_at = EXCLUDED.created_at",
        [
            tx.tenant_id().as_uuid().into(),
            user.as_uuid().into(),
            sealed.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mfa.enrolment_started").target("user", user, Some(email)),
    )
    .await?;
    let issuer = format!("Trellis ({})", org_name(tx).await?);
    let otpauth_uri = totp::otpauth_uri(&issuer, email, &seed);
    Ok(Enrolment {
        secret: totp::base32(&seed),
        qr_svg: totp::qr_svg(&otpauth_uri).unwrap_or_default(),
        otpauth_uri,
    })
}

/// Confirms enrolment with a first code: two-step verification is on from now. Returns the recovery
/// codes, shown this once.
pub async fn confirm_enrolment(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
    email: &str,
    code: &str,
) -> Result<Vec<String>, ApiError> {
    let pending = enrolment(tx, user)
        .await?
        .filter(|m| m.enabled_at.is_none())
        .ok_or_else(|| ApiError::conflict("mfa_not_pending", "start an enrolment first"))?;
    admit_attempt(state, tx, user, ctx).await?;
    let seed = open_seed(state, tx, user, &pending)?;
    let Some(step) = totp::verify(&seed, code, ctx.now.timestamp(), pending.last_used_step) else {
        return Err(wrong_code());
    };
    forget_attempts(state, tx, user, ctx).await;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE user_mfa SET enabled_at = $3, last_used_step = $4 WHERE tenant_id = $1 AND user_id = $2",
        [
            tx.tenant_id().as_uuid().into(),
            user.as_uuid().into(),
            ctx.now.into(),
            step.into(),
        ],
    ))
    .await?;
    let codes = replace_recovery_codes(tx, ctx, user).await?;
    mail::enqueue(
        tx,
        &state.crypto,
        ctx.now,
        email,
        MailTemplate::MfaEnabled {
            org_name: org_name(tx).await?,
            when: ctx.now.format("%Y-%m-%d %H:%M UTC").to_string(),
        },
    )
    .await
    .map_err(ApiError::internal)?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mfa.enabled").target("user", user, Some(email)),
    )
    .await?;
    Ok(codes)
}

/// Checks a second-step code: a TOTP code (never the same step twice) or a recovery code (used up).
/// Attempts are limited per user.
pub async fn check_code(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
    code: &str,
) -> Result<bool, ApiError> {
    let Some(mfa) = enrolment(tx, user)
        .await?
        .filter(|m| m.enabled_at.is_some())
    else {
        return Ok(false);
    };
    admit_attempt(state, tx, user, ctx).await?;
    let seed = open_seed(state, tx, user, &mfa)?;
    if let Some(step) = totp::verify(&seed, code, ctx.now.timestamp(), mfa.last_used_step) {
        // Only one request can move the step forward: a replay in parallel loses here.
        let moved = tx
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE user_mfa SET last_used_step = $3 \
                 WHERE tenant_id = $1 AND user_id = $2 AND last_used_step < $3",
                [
                    tx.tenant_id().as_uuid().into(),
                    user.as_uuid().into(),
                    step.into(),
                ],
            ))
            .await?;
        let accepted = moved.rows_affected() == 1;
        if accepted {
            forget_attempts(state, tx, user, ctx).await;
        }
        return Ok(accepted);
    }
    let normalized = code.trim().to_ascii_lowercase();
    let used = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE mfa_recovery_codes SET used_at = $4 \
             WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            [
                tx.tenant_id().as_uuid().into(),
                user.as_uuid().into(),
                token_hash(&normalized).into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    if used.rows_affected() == 1 {
        forget_attempts(state, tx, user, ctx).await;
        audit::record(
            tx,
            ctx,
            AuditEvent::new("mfa.recovery_code_used").target("user", user, None),
        )
        .await?;
        return Ok(true);
    }
    Ok(false)
}

/// Turns two-step verification off, with a valid code; refused while the organization requires it.
pub async fn disable(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
    code: &str,
) -> Result<(), ApiError> {
    if required_by_org(tx).await? {
        return Err(ApiError::conflict(
            "mfa_required",
            "your organization requires two-step verification",
        ));
    }
    if !check_code(state, tx, ctx, user, code).await? {
        return Err(wrong_code());
    }
    remove(tx, user).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mfa.disabled").target("user", user, None),
    )
    .await?;
    Ok(())
}

/// An admin's reset for a member who lost their device: enrolment and recovery codes are gone.
pub async fn reset(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
    email: &str,
) -> Result<(), ApiError> {
    remove(tx, user).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mfa.reset").target("user", user, Some(email)),
    )
    .await?;
    Ok(())
}

/// Whether it is on, since when, and how many recovery codes are left.
pub async fn status(
    tx: &TenantTx,
    user: UserId,
) -> Result<(Option<chrono::DateTime<chrono::Utc>>, i64), ApiError> {
    let enabled_at = enrolment(tx, user)
        .await?
        .and_then(|m| m.enabled_at)
        .map(|t| t.to_utc());
    let left = crate::db::sql::count(tx, "SELECT count(*) AS n FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL", vec![tx.tenant_id().as_uuid().into(), user.as_uuid().into()]).await?;
    Ok((enabled_at, left))
}

async fn remove(tx: &TenantTx, user: UserId) -> Result<(), ApiError> {
    entity::mfa_recovery_codes::Entity::delete_many()
        .filter(entity::mfa_recovery_codes::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::mfa_recovery_codes::Column::UserId.eq(user.as_uuid()))
        .exec(tx)
        .await?;
    entity::user_mfa::Entity::delete_many()
        .filter(entity::user_mfa::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::user_mfa::Column::UserId.eq(user.as_uuid()))
        .exec(tx)
        .await?;
    Ok(())
}

async fn replace_recovery_codes(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
) -> Result<Vec<String>, ApiError> {
    entity::mfa_recovery_codes::Entity::delete_many()
        .filter(entity::mfa_recovery_codes::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::mfa_recovery_codes::Column::UserId.eq(user.as_uuid()))
        .exec(tx)
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let rows = codes
        .iter()
        .map(|code| entity::mfa_recovery_codes::ActiveModel {
            tenant_id: Set(tx.tenant_id().as_uuid()),
            id: Set(uuid::Uuid::now_v7()),
            user_id: Set(user.as_uuid()),
            code_hash: Set(token_hash(code)),
            used_at: Set(None),
            created_at: Set(ctx.now.into()),
        });
    entity::mfa_recovery_codes::Entity::insert_many(rows)
        .exec_without_returning(tx)
        .await?;
    Ok(codes)
}

/// `xxxxx-xxxxx` from an alphabet without look-alikes (50 bits).
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let mut part = || -> String {
        (0..5)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect()
    };
    format!("{}-{}", part(), part())
}

fn open_seed(
    state: &AppState,
    tx: &TenantTx,
    user: UserId,
    mfa: &entity::user_mfa::Model,
) -> Result<Vec<u8>, ApiError> {
    state
        .crypto
        .open(&mfa.totp_sealed, &seal_context(tx, user))
        .map_err(ApiError::internal)
}

/// Second-step attempts per user, counted before the code is checked (like password attempts).
async fn admit_attempt(
    state: &AppState,
    tx: &TenantTx,
    user: UserId,
    ctx: &AuditCtx,
) -> Result<(), ApiError> {
    let limit = Limit::login_failures_per_account(&state.settings.auth);
    state
        .limiter
        .hit(&attempts_key(state, tx, user), limit, ctx.now)
        .await
        .or_too_many()
}

async fn forget_attempts(state: &AppState, tx: &TenantTx, user: UserId, ctx: &AuditCtx) {
    let limit = Limit::login_failures_per_account(&state.settings.auth);
    state
        .limiter
        .reset(&attempts_key(state, tx, user), limit, ctx.now)
        .await;
}

fn attempts_key(state: &AppState, tx: &TenantTx, user: UserId) -> String {
    state
        .redis
        .tenant_key(tx.tenant_id(), &format!("rl:mfa:{user}"))
}

/// The second step of a sign-in: a valid code for the challenge's user completes it.
pub async fn verify_sign_in(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    challenge: &str,
    code: &str,
) -> Result<crate::auth::service::TokenPair, ApiError> {
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let user = redeem_challenge(state, &tx, challenge, Purpose::Verify).await?;
    let user_id = UserId::from_uuid(user.id);
    let ctx = ctx.with_actor(crate::audit::Actor::user(user_id, &user.email));
    if !check_code(state, &tx, &ctx, user_id, code).await? {
        audit::record(
            &tx,
            &ctx,
            AuditEvent::new("auth.login_failed").metadata(
                serde_json::json!({ "reason": "wrong_mfa_code", "method": "password+totp" }),
            ),
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::Unauthorized {
            code: "invalid_mfa_code",
        });
    }
    crate::auth::service::finish_sign_in(
        state,
        tx,
        &ctx,
        tenant,
        &user,
        crate::auth::service::SignIn::new("password+totp"),
    )
    .await
}

/// Enrolment for a user whose organization requires two-step verification, before their first
/// sign-in with it.
pub async fn enroll_with_challenge(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    challenge: &str,
) -> Result<Enrolment, ApiError> {
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let user = redeem_challenge(state, &tx, challenge, Purpose::Enroll).await?;
    let user_id = UserId::from_uuid(user.id);
    let ctx = ctx.with_actor(crate::audit::Actor::user(user_id, &user.email));
    let enrolment = start_enrolment(state, &tx, &ctx, user_id, &user.email).await?;
    tx.commit().await?;
    Ok(enrolment)
}

/// Confirms that enrolment and completes the sign-in: recovery codes and tokens.
pub async fn confirm_with_challenge(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    challenge: &str,
    code: &str,
) -> Result<(Vec<String>, crate::auth::service::TokenPair), ApiError> {
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let user = redeem_challenge(state, &tx, challenge, Purpose::Enroll).await?;
    let user_id = UserId::from_uuid(user.id);
    let ctx = ctx.with_actor(crate::audit::Actor::user(user_id, &user.email));
    let codes = confirm_enrolment(state, &tx, &ctx, user_id, &user.email, code).await?;
    let pair = crate::auth::service::finish_sign_in(
        state,
        tx,
        &ctx,
        tenant,
        &user,
        crate::auth::service::SignIn::new("password+totp"),
    )
    .await?;
    Ok((codes, pair))
}

fn wrong_code() -> ApiError {
    ApiError::Validation(vec![FieldError::new("code", "is not a valid code")])
}
