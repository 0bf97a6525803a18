//! The session check every authenticated request makes in its transaction's opening message: the
//! session exists and is live (not revoked, not past its lifetime, the organization's absolute limit or
//! its idle timeout), the user is active, and the member's role is what `memberships` says now. The
//! same message refreshes `last_seen_at` at most once a minute, skipping the row when another request
//! holds it (so concurrent requests of one session, a refresh or a revocation never wait on each other
//! for that bookkeeping). Both are the database function `app.check_session`, whose plans PostgreSQL
//! caches per connection. One predicate, `app.session_is_live`, decides "live" here and for refresh
//! tokens.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{DbErr, RuntimeErr};
use sqlx::{PgPool, Row, postgres::PgRow};

use crate::{
    domain::{SessionId, TenantId, UserId},
    tenancy::TenantTx,
};

/// What the opening message learned about the caller's session, in the transaction's own snapshot.
#[derive(Debug, Clone)]
pub struct SessionState {
    pub session_active: bool,
    pub user_status: String,
    pub email: String,
    pub display_name: String,
    /// The member's current org role, from `memberships` (the source of truth, not the token).
    pub role: Option<String>,
}

/// SQL that is true while session `s` is live at `now` under the organization's settings `o`
/// (`now` is an SQL expression: a literal or a parameter). The predicate itself is the database function
/// `app.session_is_live`, which the session check uses too.
pub fn live_predicate(now: &str) -> String {
    format!(
        "app.session_is_live(s.revoked_at, s.expires_at, s.created_at, s.last_seen_at, \
           o.session_absolute_hours, o.session_idle_minutes, {now})"
    )
}

/// Opens the request's transaction with the session check; `None` when the session does not exist
/// (or belongs to another user).
pub async fn begin(
    pool: &PgPool,
    tenant: TenantId,
    user: UserId,
    session: SessionId,
    now: DateTime<Utc>,
) -> Result<(TenantTx, Option<SessionState>), DbErr> {
    let now = format!(
        "'{}'::timestamptz",
        now.to_rfc3339_opts(SecondsFormat::Micros, true)
    );
    // A function: its plans are cached per connection, so the check is not planned per request.
    let check =
        format!("SELECT * FROM app.check_session('{tenant}', '{session}', '{user}', {now})");
    let (tx, rows) = TenantTx::begin_with(pool, tenant, Some(user), check).await?;
    let state = match rows.first() {
        Some(row) => Some(parse(row).map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into())))?),
        None => None,
    };
    Ok((tx, state))
}

fn parse(row: &PgRow) -> Result<SessionState, sqlx::Error> {
    Ok(SessionState {
        session_active: row.try_get("session_active")?,
        user_status: row.try_get("status")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: row.try_get("role")?,
    })
}
