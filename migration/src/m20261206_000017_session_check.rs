//! The session check of every authenticated request as functions, so PostgreSQL plans it once per
//! connection instead of once per request (measured: planning the check's join was about 0.7 ms of the
//! 1.5 ms a request's opening message cost; PERFORMANCE.md).
//!
//! - `app.session_is_live(...)`: the one predicate that decides whether a session is live (also used
//!   inline by the refresh and session-list queries, where the planner inlines it).
//! - `app.check_session(tenant, session, user, now)`: the caller's session state and role, and the
//!   `last_seen_at` bookkeeping (at most once a minute, skipping a row another request holds). A
//!   plpgsql function: its statements' plans are cached for the connection's life. It runs as the
//!   caller (the app role), so row-level security applies as to any statement.

use crate::{APP_ROLE, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!(
                r#"
CREATE FUNCTION app.session_is_live(
    revoked_at timestamptz, expires_at timestamptz, created_at timestamptz, last_seen_at timestamptz,
    absolute_hours integer, idle_minutes integer, at timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN revoked_at IS NULL AND expires_at > at
        AND (absolute_hours IS NULL OR created_at + make_interval(hours => absolute_hours) > at)
        AND (idle_minutes IS NULL OR last_seen_at + make_interval(mins => idle_minutes) > at);

CREATE FUNCTION app.check_session(p_tenant uuid, p_session uuid, p_user uuid, p_now timestamptz)
    RETURNS TABLE (session_active boolean, status text, email text, display_name text, role text)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT app.session_is_live(s.revoked_at, s.expires_at, s.created_at, s.last_seen_at,
                   o.session_absolute_hours, o.session_idle_minutes, p_now),
               u.status, u.email, u.display_name, m.role
        FROM sessions s
        JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
        LEFT JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
        LEFT JOIN org_settings o ON o.tenant_id = s.tenant_id
        WHERE s.tenant_id = p_tenant AND s.id = p_session AND s.user_id = p_user;
    UPDATE sessions AS t SET last_seen_at = p_now
    WHERE t.tenant_id = p_tenant AND t.id IN (
        SELECT x.id FROM sessions x
        WHERE x.tenant_id = p_tenant AND x.id = p_session AND x.revoked_at IS NULL
          AND x.last_seen_at < p_now - interval '1 minute'
        FOR UPDATE SKIP LOCKED);
END
$$;

REVOKE ALL ON FUNCTION app.session_is_live(timestamptz, timestamptz, timestamptz, timestamptz, integer,
    integer, timestamptz), app.check_session(uuid, uuid, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.session_is_live(timestamptz, timestamptz, timestamptz, timestamptz, integer,
    integer, timestamptz), app.check_session(uuid, uuid, uuid, timestamptz) TO {APP_ROLE};
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP FUNCTION app.check_session(uuid, uuid, uuid, timestamptz), \
             app.session_is_live(timestamptz, timestamptz, timestamptz, timestamptz, integer, integer, timestamptz);",
        )
        .await
    }
}
