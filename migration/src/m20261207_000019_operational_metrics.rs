//! `app.operational_metrics()`: the figures `/metrics` reports about work waiting in the database —
//! the job queue (ready, scheduled, running, stalled — running past its lease —, dead, and how long the
//! oldest ready job has waited) and the audit
//! events still to be sealed into their organization's chain (how many, and the oldest one's age).
//!
//! The app role serves `/metrics` but sees only its current organization's rows; these are counts over
//! every organization, so the function runs with its owner's rights (SECURITY DEFINER, pinned
//! search_path) and returns aggregates only: no organization's id, no row.

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
CREATE FUNCTION app.operational_metrics(
    OUT jobs_ready bigint, OUT jobs_oldest_ready_seconds double precision, OUT jobs_scheduled bigint,
    OUT jobs_running bigint, OUT jobs_stalled bigint, OUT jobs_dead bigint,
    OUT audit_unsealed bigint, OUT audit_oldest_unsealed_seconds double precision)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    AS $$
SELECT
    count(*) FILTER (WHERE j.status = 'queued' AND j.run_at <= now()),
    coalesce(extract(epoch FROM now() - min(j.run_at) FILTER (WHERE j.status = 'queued' AND j.run_at <= now())), 0)::double precision,
    count(*) FILTER (WHERE j.status = 'queued' AND j.run_at > now()),
    count(*) FILTER (WHERE j.status = 'running' AND j.locked_until >= now()),
    -- Running, but the lease ran out: its worker died (another worker takes it over).
    count(*) FILTER (WHERE j.status = 'running' AND (j.locked_until IS NULL OR j.locked_until < now())),
    count(*) FILTER (WHERE j.status = 'dead'),
    (SELECT count(*) FROM audit_pending),
    coalesce((SELECT extract(epoch FROM now() - min(occurred_at)) FROM audit_pending), 0)::double precision
FROM jobs j WHERE j.status IN ('queued', 'running', 'dead')
$$;
REVOKE ALL ON FUNCTION app.operational_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.operational_metrics() TO {APP_ROLE};
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP FUNCTION app.operational_metrics();").await
    }
}
