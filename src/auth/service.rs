//! Sign-in, token refresh, sign-out and password change.
//!
//! A session is a refresh-token family. Each refresh consumes the presented token atomically and issues
//! the next one; presenting a token that was already consumed means it was stolen (or replayed), so the
//! whole session is revoked, and with it every access token that names it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    password::NewPassword,
    rate_limit::Limit,
    session_check,
    tokens::{self, AccessClaims},
};
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    domain::{Email, SessionId, TenantId, UserId},
    error::{ApiError, FieldError},
    mail::{self, MailTemplate},
    modules::analytics::capture::FeatureEvent,
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

/// What a successful sign-in or refresh returns.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

/// A user's session as the token endpoints need it.
struct SessionSubject {
    user_id: UserId,
    session_id: SessionId,
    role: Option<String>,
}

/// Signs a user in with email and password. Wrong email, wrong password and an inactive account all
/// get the same answer after the same work; attempts are limited per IP and per account.
pub async fn login(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    email: &Email,
    password: &SecretString,
) -> Result<LoginOutcome, ApiError> {
    let ip = ctx.request.ip.map(|ip| ip.to_string()).unwrap_or_default();
    let ip_key = state.redis.global_key(&format!("rl:login_ip:{ip}"));
    state
        .limiter
        .hit(&ip_key, Limit::login_per_ip(&state.settings.auth), ctx.now)
        .await
        .or_too_many()?;
    // Counted before the password is checked, so concurrent guesses cannot all slip under the limit.
    let attempts = AccountAttempts::of(state, tenant.id, email.as_str());
    attempts.admit(ctx.now).await?;

    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let user = entity::users::Entity::find()
        .filter(entity::users::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::users::Column::Email.eq(email.as_str()))
        .one(&tx)
        .await?;
    // Single sign-on required: everyone but an owner is refused whatever the password (checked all the
    // same, so the answer takes as long), and the refusal says nothing about the password.
    let claimed_role = match &user {
        Some(u) => role_of(&tx, UserId::from_uuid(u.id)).await?,
        None => None,
    };
    if crate::modules::sso::connection::refuses_password(
        &tx,
        tenant,
        &state.settings.plans,
        claimed_role.as_deref(),
    )
    .await?
    {
        state.passwords.verify(password, None).await?;
        let actor = match &user {
            Some(u) => Actor::user(UserId::from_uuid(u.id), &u.email),
            None => Actor::claimed(email.as_str()),
        };
        audit::record(
            &tx,
            &ctx.with_actor(actor),
            AuditEvent::new("auth.login_failed")
                .metadata(json!({ "reason": "sso_required", "method": "password" })),
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::forbidden(
            "sso_required",
            "this organization signs in with single sign-on: use /auth/sso/start",
        ));
    }
    let active = user.as_ref().filter(|u| u.status == "active");
    let stored_hash = active.and_then(|u| u.password_hash.clone());
    let verified = state.passwords.verify(password, stored_hash).await?;

    let user = match user {
        Some(user) if verified && user.status == "active" => user,
        user => {
            let reason = match &user {
                None => "unknown_email",
                Some(u) if u.status != "active" => "inactive_account",
                Some(u) if u.password_hash.is_none() => "no_password",
                Some(_) => "wrong_password",
            };
            let actor = match &user {
                Some(u) => Actor::user(UserId::from_uuid(u.id), &u.email),
                None => Actor::claimed(email.as_str()),
            };
            audit::record(
                &tx,
                &ctx.with_actor(actor),
                AuditEvent::new("auth.login_failed")
                    .metadata(json!({ "reason": reason, "method": "password" })),
            )
            .await?;
            tx.commit().await?;
            return Err(ApiError::Unauthorized {
                code: "invalid_credentials",
            });
        }
    };

    attempts.succeeded(ctx.now).await;
    let user_id = UserId::from_uuid(user.id);
    match super::mfa::service::gate(state, &tx, tenant, &user).await? {
        Some(challenge) => {
            // No session yet: the second step completes the sign-in. Nothing was written.
            tx.rollback().await;
            Ok(challenge)
        }
        None => {
            let ctx = ctx.with_actor(Actor::user(user_id, &user.email));
            let pair =
                finish_sign_in(state, tx, &ctx, tenant, &user, SignIn::new("password")).await?;
            Ok(LoginOutcome::Tokens(pair))
        }
    }
}

/// How a sign-in happened, for its session and its audit event.
pub struct SignIn {
    /// `password`, `password+totp`, `invitation`, `sso`.
    pub method: &'static str,
    pub action: &'static str,
    /// More for the event's metadata (the SSO issuer...).
    pub details: serde_json::Map<String, Value>,
}

impl SignIn {
    /// A sign-in recorded as `auth.login_succeeded`.
    pub fn new(method: &'static str) -> Self {
        SignIn {
            method,
            action: "auth.login_succeeded",
            details: serde_json::Map::new(),
        }
    }
}

/// What a correct password leads to.
pub enum LoginOutcome {
    Tokens(TokenPair),
    /// Two-step verification is on: send a code with this challenge to `/auth/mfa/verify`.
    MfaRequired {
        challenge: String,
    },
    /// The organization requires two-step verification and the user has none yet: enrol with this
    /// challenge at `/auth/mfa/enroll`.
    MfaEnrollmentRequired {
        challenge: String,
    },
}

/// The end of every sign-in. Locks the user row and re-checks what was verified: a password change or a
/// deactivation that committed meanwhile wins (no session), and one that comes later waits for this
/// sign-in to commit, then revokes its session like any other. Then opens the session, audits, commits.
pub async fn finish_sign_in(
    state: &AppState,
    tx: TenantTx,
    ctx: &AuditCtx,
    tenant: &Tenant,
    user: &entity::users::Model,
    sign_in: SignIn,
) -> Result<TokenPair, ApiError> {
    let user_id = UserId::from_uuid(user.id);
    let unchanged_password = match &user.password_hash {
        Some(hash) => entity::users::Column::PasswordHash.eq(hash.clone()),
        None => entity::users::Column::PasswordHash.is_null(),
    };
    let still_valid = entity::users::Entity::update_many()
        .col_expr(
            entity::users::Column::LastLoginAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::users::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::users::Column::Id.eq(user.id))
        .filter(entity::users::Column::Status.eq("active"))
        .filter(unchanged_password)
        .exec(&tx)
        .await?;
    if still_valid.rows_affected != 1 {
        return Err(ApiError::Unauthorized {
            code: "invalid_credentials",
        });
    }
    let role = role_of(&tx, user_id).await?;
    let (session_id, refresh_token) =
        start_session(state, &tx, ctx, user_id, sign_in.method).await?;
    let mut metadata = sign_in.details;
    metadata.insert("method".into(), sign_in.method.into());
    audit::record(
        &tx,
        ctx,
        AuditEvent::new(sign_in.action)
            .target("session", session_id, None)
            .metadata(Value::Object(metadata)),
    )
    .await?;
    tx.commit().await?;
    // Usage analytics: `sso_login` for the identity provider, `login` (by method) otherwise.
    let event = if sign_in.method == "sso" {
        FeatureEvent::SsoLogin
    } else {
        FeatureEvent::Login
    };
    state
        .usage
        .feature(tenant.id, Some(user_id), event, sign_in.method);
    token_pair(
        state,
        tenant,
        SessionSubject {
            user_id,
            session_id,
            role,
        },
        refresh_token,
        ctx,
    )
}

/// Password attempts on one account (sign-ins, current-password checks) since its last success. Each
/// attempt is counted before the password is verified; past the limit the account is locked for the rest
/// of the window, whatever the password; a success clears the count.
struct AccountAttempts<'a> {
    state: &'a AppState,
    key: String,
}

impl<'a> AccountAttempts<'a> {
    fn of(state: &'a AppState, tenant: TenantId, email: &str) -> Self {
        let key = state
            .redis
            .tenant_key(tenant, &format!("rl:login_attempts:{email}"));
        AccountAttempts { state, key }
    }

    async fn admit(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let limit = Limit::login_failures_per_account(&self.state.settings.auth);
        self.state
            .limiter
            .hit(&self.key, limit, now)
            .await
            .or_too_many()
    }

    async fn succeeded(&self, now: DateTime<Utc>) {
        let limit = Limit::login_failures_per_account(&self.state.settings.auth);
        self.state.limiter.reset(&self.key, limit, now).await;
    }
}

/// Opens a session for `user_id` (after any successful sign-in: password, invitation, SSO) and
/// returns it with its first refresh token.
pub async fn start_session(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    user_id: UserId,
    method: &str,
) -> Result<(SessionId, String), ApiError> {
    let session_id = SessionId::new();
    let expires_at = ctx.now + Duration::hours(state.settings.auth.session_ttl_hours);
    entity::sessions::Entity::insert(entity::sessions::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(session_id.as_uuid()),
        user_id: Set(user_id.as_uuid()),
        auth_method: Set(method.to_owned()),
        ip: Set(ctx.request.ip.map(|ip| ip.to_string())),
        user_agent: Set(ctx.request.user_agent.clone()),
        created_at: Set(ctx.now.into()),
        last_seen_at: Set(ctx.now.into()),
        expires_at: Set(expires_at.into()),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    })
    .exec_without_returning(tx)
    .await?;
    let refresh_token = issue_refresh_token(state, tx, ctx, session_id).await?;
    Ok((session_id, refresh_token))
}

/// A refresh token presented again within this many seconds of its use is refused with
/// `refresh_token_used` without ending the session (two tabs renewing at once); later, it is reuse.
pub const REUSE_GRACE_SECS: i64 = 30;

/// Exchanges a refresh token for a new pair. Reusing a consumed token revokes its whole session.
pub async fn refresh(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    presented: &str,
) -> Result<TokenPair, ApiError> {
    let invalid = ApiError::Unauthorized {
        code: "invalid_refresh_token",
    };
    let hash = token_hash(presented);
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let consumed = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE refresh_tokens SET used_at = $3 \
             WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING family_id",
            [
                tenant.id.as_uuid().into(),
                hash.clone().into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    let Some(consumed) = consumed else {
        let previous = tx
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT family_id, used_at FROM refresh_tokens \
                 WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NOT NULL",
                [tenant.id.as_uuid().into(), hash.into()],
            ))
            .await?;
        if let Some(previous) = previous {
            let used_at: DateTime<FixedOffset> = previous.try_get("", "used_at")?;
            if ctx.now - used_at.with_timezone(&Utc) < chrono::Duration::seconds(REUSE_GRACE_SECS) {
                // Two tabs of one browser renewing at once: the other one won a moment ago and holds
                // the next token. Refused, but not treated as theft.
                return Err(ApiError::Unauthorized {
                    code: "refresh_token_used",
                });
            }
            let family = SessionId::from_uuid(previous.try_get("", "family_id")?);
            revoke_reused_family(&tx, ctx, family).await?;
            tx.commit().await?;
        }
        return Err(invalid);
    };
    let session_id = SessionId::from_uuid(consumed.try_get("", "family_id")?);
    let Some(subject) = live_session(&tx, ctx, session_id).await? else {
        return Err(invalid);
    };
    let ctx = ctx.with_actor(actor_of(&tx, subject.user_id).await?);
    let refresh_token = issue_refresh_token(state, &tx, &ctx, session_id).await?;
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("auth.token_refreshed").target("session", session_id, None),
    )
    .await?;
    tx.commit().await?;
    token_pair(state, tenant, subject, refresh_token, &ctx)
}

/// Ends the caller's session.
pub async fn logout(tx: &TenantTx, ctx: &AuditCtx, session_id: SessionId) -> Result<(), ApiError> {
    let revoked = revoke_sessions(tx, SessionScope::One(session_id), ctx, "logout").await?;
    if revoked == 0 {
        // Already over (revoked meanwhile): nothing changes, nothing to record.
        return Ok(());
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("auth.logged_out").target("session", session_id, None),
    )
    .await?;
    Ok(())
}

/// Ends the session an access token names when the token itself may have expired (the console's
/// sign-out; see `tokens::verify_signature`). Nothing is recorded for a session that is already over.
pub async fn logout_named_session(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    claims: &AccessClaims,
) -> Result<(), ApiError> {
    let tx = TenantTx::begin(&state.pool, tenant.id, Some(claims.sub)).await?;
    let user = entity::users::Entity::find_by_id((tenant.id.as_uuid(), claims.sub.as_uuid()))
        .one(&tx)
        .await?;
    let Some(user) = user else {
        return Ok(());
    };
    let ctx = ctx.with_actor(Actor::user(claims.sub, &user.email));
    // The token is ours (its signature verified), so its session is this user's.
    logout(&tx, &ctx, claims.sid).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the caller's password after checking the current one, and ends their other sessions.
pub async fn change_password(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    user_id: UserId,
    session_id: SessionId,
    current: &SecretString,
    new: &str,
) -> Result<(), ApiError> {
    let user = entity::users::Entity::find_by_id((tx.tenant_id().as_uuid(), user_id.as_uuid()))
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let new = NewPassword::parse(new, &user.email)
        .map_err(|m| ApiError::validation("new_password", m))?;
    let attempts = AccountAttempts::of(state, tx.tenant_id(), &user.email);
    attempts.admit(ctx.now).await?;
    if !state
        .passwords
        .verify(current, user.password_hash.clone())
        .await?
    {
        return Err(ApiError::Validation(vec![FieldError::new(
            "current_password",
            "is not correct",
        )]));
    }
    let hash = state.passwords.hash(new.secret()).await?;
    set_password(tx, ctx, user_id, hash).await?;
    revoke_sessions(
        tx,
        SessionScope::AllOfUserExcept(user_id, session_id),
        ctx,
        "password_changed",
    )
    .await?;
    notify_password_changed(state, tx, ctx, &user.email).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("user.password_changed").target("user", user_id, Some(&user.email)),
    )
    .await?;
    attempts.succeeded(ctx.now).await;
    Ok(())
}

/// Stores a new password hash for `user_id`.
pub async fn set_password(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user_id: UserId,
    hash: String,
) -> Result<(), ApiError> {
    entity::users::Entity::update_many()
        .col_expr(
            entity::users::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(hash),
        )
        .col_expr(
            entity::users::Column::PasswordChangedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .col_expr(
            entity::users::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::users::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::users::Column::Id.eq(user_id.as_uuid()))
        .exec(tx)
        .await?;
    Ok(())
}

/// Which sessions to end.
pub enum SessionScope {
    One(SessionId),
    AllOfUser(UserId),
    AllOfUserExcept(UserId, SessionId),
}

/// Ends sessions (their access tokens stop working on the next request; their refresh tokens die).
pub async fn revoke_sessions(
    tx: &TenantTx,
    scope: SessionScope,
    ctx: &AuditCtx,
    reason: &str,
) -> Result<u64, ApiError> {
    use entity::sessions::{Column, Entity};
    let mut update = Entity::update_many()
        .col_expr(Column::RevokedAt, sea_orm::sea_query::Expr::value(ctx.now))
        .col_expr(
            Column::RevokedReason,
            sea_orm::sea_query::Expr::value(reason),
        )
        .filter(Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(Column::RevokedAt.is_null());
    update = match scope {
        SessionScope::One(session) => update.filter(Column::Id.eq(session.as_uuid())),
        SessionScope::AllOfUser(user) => update.filter(Column::UserId.eq(user.as_uuid())),
        SessionScope::AllOfUserExcept(user, keep) => update
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::Id.ne(keep.as_uuid())),
    };
    Ok(update.exec(tx).await?.rows_affected)
}

async fn revoke_reused_family(
    tx: &TenantTx,
    ctx: &AuditCtx,
    family: SessionId,
) -> Result<(), ApiError> {
    let revoked =
        revoke_sessions(tx, SessionScope::One(family), ctx, "refresh_token_reused").await?;
    if revoked == 0 {
        // Already ended (by an earlier replay, a logout...): nothing changes, nothing to record.
        return Ok(());
    }
    let session =
        entity::sessions::Entity::find_by_id((tx.tenant_id().as_uuid(), family.as_uuid()))
            .one(tx)
            .await?;
    let actor = match session {
        Some(s) => actor_of(tx, UserId::from_uuid(s.user_id)).await?,
        None => Actor::system("refresh token reuse detection"),
    };
    audit::record(
        tx,
        &ctx.with_actor(actor),
        AuditEvent::new("auth.refresh_token_reused")
            .target("session", family, None)
            .metadata(json!({ "effect": "session revoked" })),
    )
    .await?;
    Ok(())
}

/// The session's user and role, if the session is live and its user active.
async fn live_session(
    tx: &TenantTx,
    ctx: &AuditCtx,
    session_id: SessionId,
) -> Result<Option<SessionSubject>, ApiError> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT s.user_id, m.role FROM sessions s \
                 JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id \
                 LEFT JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id \
                 LEFT JOIN org_settings o ON o.tenant_id = s.tenant_id \
                 WHERE s.tenant_id = $1 AND s.id = $2 AND u.status = 'active' AND {}",
                session_check::live_predicate("$3")
            ),
            [
                tx.tenant_id().as_uuid().into(),
                session_id.as_uuid().into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    if row.is_some() {
        entity::sessions::Entity::update_many()
            .col_expr(
                entity::sessions::Column::LastSeenAt,
                sea_orm::sea_query::Expr::value(ctx.now),
            )
            .filter(entity::sessions::Column::TenantId.eq(tx.tenant_id().as_uuid()))
            .filter(entity::sessions::Column::Id.eq(session_id.as_uuid()))
            .exec(tx)
            .await?;
    }
    Ok(match row {
        Some(row) => Some(SessionSubject {
            user_id: UserId::from_uuid(row.try_get("", "user_id")?),
            session_id,
            role: row.try_get("", "role")?,
        }),
        None => None,
    })
}

async fn issue_refresh_token(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    session_id: SessionId,
) -> Result<String, ApiError> {
    let token = random_token();
    let session_ends =
        entity::sessions::Entity::find_by_id((tx.tenant_id().as_uuid(), session_id.as_uuid()))
            .one(tx)
            .await?
            .map(|s| s.expires_at.to_utc())
            .ok_or_else(ApiError::not_found)?;
    let expires_at =
        (ctx.now + Duration::days(state.settings.auth.refresh_token_ttl_days)).min(session_ends);
    entity::refresh_tokens::Entity::insert(entity::refresh_tokens::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(uuid::Uuid::now_v7()),
        family_id: Set(session_id.as_uuid()),
        token_hash: Set(token_hash(&token)),
        created_at: Set(ctx.now.into()),
        expires_at: Set(expires_at.into()),
        used_at: Set(None),
    })
    .exec_without_returning(tx)
    .await?;
    Ok(token)
}

fn token_pair(
    state: &AppState,
    tenant: &Tenant,
    subject: SessionSubject,
    refresh_token: String,
    ctx: &AuditCtx,
) -> Result<TokenPair, ApiError> {
    token_pair_for(
        state,
        tenant,
        subject.user_id,
        subject.session_id,
        subject.role,
        refresh_token,
        ctx,
    )
}

/// An access token for a session, with its refresh token.
pub fn token_pair_for(
    state: &AppState,
    tenant: &Tenant,
    user_id: UserId,
    session_id: SessionId,
    role: Option<String>,
    refresh_token: String,
    ctx: &AuditCtx,
) -> Result<TokenPair, ApiError> {
    let ttl = state.settings.auth.access_token_ttl_secs;
    let claims = AccessClaims {
        sub: user_id,
        tid: tenant.id,
        sid: session_id,
        roles: role.into_iter().collect(),
        iat: ctx.now.timestamp(),
        exp: ctx.now.timestamp() + ttl,
        iss: state.settings.auth.issuer.clone(),
    };
    let access_token = tokens::issue(&state.jwt_keys, &claims).map_err(ApiError::internal)?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        expires_in: ttl,
    })
}

/// The member's org role, from `memberships`.
pub async fn role_of(tx: &TenantTx, user_id: UserId) -> Result<Option<String>, ApiError> {
    Ok(entity::memberships::Entity::find()
        .filter(entity::memberships::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::memberships::Column::UserId.eq(user_id.as_uuid()))
        .one(tx)
        .await?
        .map(|m| m.role))
}

async fn actor_of(tx: &TenantTx, user_id: UserId) -> Result<Actor, ApiError> {
    let user = entity::users::Entity::find_by_id((tx.tenant_id().as_uuid(), user_id.as_uuid()))
        .one(tx)
        .await?;
    Ok(match user {
        Some(user) => Actor::user(user_id, &user.email),
        None => Actor::system("deleted user"),
    })
}

/// 32 random bytes, base64url: refresh tokens and invitation tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Only the SHA-256 of a token is stored: a database leak yields no usable token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Starts a password reset: when `email` names an active account with a password, mails it a
/// single-use link. The answer is the same whether or not it does, so nobody learns which emails have
/// accounts; requests are limited per IP and per email.
pub async fn request_password_reset(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    email: &Email,
) -> Result<(), ApiError> {
    let limit = Limit::password_resets(&state.settings.auth);
    let ip = ctx.request.ip.map(|ip| ip.to_string()).unwrap_or_default();
    for key in [
        state.redis.global_key(&format!("rl:reset_ip:{ip}")),
        state
            .redis
            .tenant_key(tenant.id, &format!("rl:reset:{email}")),
    ] {
        state
            .limiter
            .hit(&key, limit, ctx.now)
            .await
            .or_too_many()?;
    }
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let user = entity::users::Entity::find()
        .filter(entity::users::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::users::Column::Email.eq(email.as_str()))
        .filter(entity::users::Column::Status.eq("active"))
        .one(&tx)
        .await?;
    let Some(user) = user.filter(|u| u.password_hash.is_some()) else {
        return Ok(());
    };
    let user_id = UserId::from_uuid(user.id);
    let ctx = ctx.with_actor(Actor::user(user_id, &user.email));
    // A new link replaces any earlier one.
    entity::password_resets::Entity::update_many()
        .col_expr(
            entity::password_resets::Column::UsedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::password_resets::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::password_resets::Column::UserId.eq(user.id))
        .filter(entity::password_resets::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    let token = random_token();
    let ttl = state.settings.auth.password_reset_ttl_minutes.max(1);
    entity::password_resets::Entity::insert(entity::password_resets::ActiveModel {
        tenant_id: Set(tenant.id.as_uuid()),
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(user.id),
        token_hash: Set(token_hash(&token)),
        requested_ip: Set(ctx.request.ip.map(|ip| ip.to_string())),
        created_at: Set(ctx.now.into()),
        expires_at: Set((ctx.now + Duration::minutes(ttl)).into()),
        used_at: Set(None),
    })
    .exec_without_returning(&tx)
    .await?;
    mail::enqueue(
        &tx,
        &state.crypto,
        ctx.now,
        &user.email,
        MailTemplate::PasswordReset {
            org_name: org_name(&tx).await?,
            reset_url: state.tenant_url(
                ctx.request.scheme,
                &tenant.slug,
                &format!("/admin/reset-password#token={token}"),
            ),
            valid_minutes: ttl,
        },
    )
    .await
    .map_err(ApiError::internal)?;
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("auth.password_reset_requested").target("user", user_id, Some(&user.email)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Completes a password reset with the mailed token: sets the new password, ends every session of the
/// account, and mails a notice. The token works once.
pub async fn confirm_password_reset(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    token: &str,
    new_password: &str,
) -> Result<(), ApiError> {
    let invalid = ApiError::Unauthorized {
        code: "invalid_reset_token",
    };
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let consumed = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE password_resets SET used_at = $3 \
             WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING user_id",
            [
                tenant.id.as_uuid().into(),
                token_hash(token).into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    let Some(consumed) = consumed else {
        return Err(invalid);
    };
    let user_id = UserId::from_uuid(consumed.try_get("", "user_id")?);
    let user = entity::users::Entity::find_by_id((tenant.id.as_uuid(), user_id.as_uuid()))
        .one(&tx)
        .await?
        .filter(|u| u.status == "active")
        .ok_or(invalid)?;
    let password = NewPassword::parse(new_password, &user.email)
        .map_err(|m| ApiError::validation("new_password", m))?;
    let ctx = ctx.with_actor(Actor::user(user_id, &user.email));
    let hash = state.passwords.hash(password.secret()).await?;
    set_password(&tx, &ctx, user_id, hash).await?;
    let sessions = revoke_sessions(
        &tx,
        SessionScope::AllOfUser(user_id),
        &ctx,
        "password_reset",
    )
    .await?;
    notify_password_changed(state, &tx, &ctx, &user.email).await?;
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("user.password_reset")
            .target("user", user_id, Some(&user.email))
            .metadata(json!({ "sessions_revoked": sessions })),
    )
    .await?;
    tx.commit().await?;
    AccountAttempts::of(state, tenant.id, &user.email)
        .succeeded(ctx.now)
        .await;
    Ok(())
}

/// Mails the account owner that their password changed (a security notice).
async fn notify_password_changed(
    state: &AppState,
    tx: &TenantTx,
    ctx: &AuditCtx,
    email: &str,
) -> Result<(), ApiError> {
    mail::enqueue(
        tx,
        &state.crypto,
        ctx.now,
        email,
        MailTemplate::PasswordChanged {
            org_name: org_name(tx).await?,
            when: ctx.now.format("%Y-%m-%d %H:%M UTC").to_string(),
            ip: ctx
                .request
                .ip
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "an unknown address".into()),
        },
    )
    .await
    .map_err(ApiError::internal)
}

/// The organization's display name, for mails.
pub async fn org_name(tx: &TenantTx) -> Result<String, ApiError> {
    Ok(
        entity::org_settings::Entity::find_by_id(tx.tenant_id().as_uuid())
            .one(tx)
            .await?
            .map(|s| s.display_name)
            .unwrap_or_else(|| "your organization".into()),
    )
}
