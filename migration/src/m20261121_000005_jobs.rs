//! The job queue lives in Postgres. `jobs` is a tenant table like any other (the app role enqueues and
//! reads its own tenant's jobs); the worker role has one more policy that lets it see every tenant's jobs,
//! so it can claim across tenants with `FOR UPDATE SKIP LOCKED`.

use crate::{Grants, WORKER_ROLE, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE jobs (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{{}}',
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    run_at        timestamptz NOT NULL DEFAULT now(),
    locked_by     text,
    locked_until  timestamptz,
    last_error    text,
    progress      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_tenant_status_run_at_idx ON jobs (tenant_id, status, run_at);
{jobs}
CREATE POLICY worker_claim ON jobs AS PERMISSIVE FOR ALL TO {WORKER_ROLE} USING (true) WITH CHECK (true);
"#,
            jobs = tenant_table("jobs", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP TABLE jobs;").await
    }
}
