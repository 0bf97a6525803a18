//! Session listing and revocation, on the request's [`TenantTx`].

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::{
        service::{SessionScope, revoke_sessions},
        session_check,
    },
    domain::{SessionId, UserId},
    error::ApiError,
    tenancy::TenantTx,
};

#[derive(Debug, Clone, FromQueryResult)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub auth_method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub last_seen_at: DateTime<FixedOffset>,
    pub expires_at: DateTime<FixedOffset>,
}

/// The user's live sessions, most recently used first.
pub async fn live_sessions(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
) -> Result<Vec<SessionRow>, ApiError> {
    Ok(SessionRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT s.id, s.user_id, s.auth_method, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at \
             FROM sessions s LEFT JOIN org_settings o ON o.tenant_id = s.tenant_id \
             WHERE s.tenant_id = $1 AND s.user_id = $2 AND {} \
             ORDER BY s.last_seen_at DESC LIMIT 200",
            session_check::live_predicate("$3")
        ),
        [tx.tenant_id().as_uuid().into(), user.as_uuid().into(), ctx.now.into()],
    ))
    .all(tx)
    .await?)
}

/// Ends one of `user`'s sessions; 404 when it is not theirs or already over.
pub async fn revoke_one(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
    session: SessionId,
    reason: &str,
) -> Result<(), ApiError> {
    let owned = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS found FROM sessions WHERE tenant_id = $1 AND id = $2 AND user_id = $3 AND revoked_at IS NULL",
            [tx.tenant_id().as_uuid().into(), session.as_uuid().into(), user.as_uuid().into()],
        ))
        .await?
        .is_some();
    if !owned {
        return Err(ApiError::not_found());
    }
    revoke_sessions(tx, SessionScope::One(session), ctx, reason).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("session.revoked")
            .target("session", session, None)
            .metadata(json!({ "user_id": user, "reason": reason })),
    )
    .await?;
    Ok(())
}

/// Ends every session of `user`, except `keep` when given; returns how many ended.
pub async fn revoke_all(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: UserId,
    keep: Option<SessionId>,
    reason: &str,
) -> Result<u64, ApiError> {
    let scope = match keep {
        Some(keep) => SessionScope::AllOfUserExcept(user, keep),
        None => SessionScope::AllOfUser(user),
    };
    let revoked = revoke_sessions(tx, scope, ctx, reason).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("session.revoked_all")
            .target("user", user, None)
            .metadata(json!({ "sessions_revoked": revoked, "kept_current": keep.is_some(), "reason": reason })),
    )
    .await?;
    Ok(revoked)
}
