//! Bulk imports of members from CSV: the import (its file, mapping, state, progress and counts) and its
//! rows, stored as uploaded (one row per CSV record) with what validation made of them. Processing reads
//! the rows in line order from the import's checkpoint, which commits with each chunk.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE imports (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    created_by       uuid,
    file_name        text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    file_sha256      bytea NOT NULL CHECK (length(file_sha256) = 32),
    file_bytes       bigint NOT NULL CHECK (file_bytes >= 0),
    delimiter        text NOT NULL CHECK (delimiter IN (',', ';', E'\t')),
        headers          jsonb NOT NULL CHECK (jsonb_typeof(headers) = 'array'),
    mapping          jsonb NOT NULL CHECK (jsonb_typeof(mapping) = 'object'),
    state            text NOT NULL CHECK (state IN
                       ('uploaded', 'validated', 'queued', 'processing', 'completed', 'failed', 'cancelled')),
    mode             text CHECK (mode IN ('create_only', 'upsert', 'sync')),
    send_invitations boolean NOT NULL DEFAULT false,
    total_rows       integer NOT NULL CHECK (total_rows >= 0),
    processed_rows   integer NOT NULL DEFAULT 0 CHECK (processed_rows >= 0),
    -- The last line whose row is processed; the next chunk starts after it.
    checkpoint_line  integer NOT NULL DEFAULT 0,
    counts           jsonb NOT NULL DEFAULT '{{}}',
    report           jsonb,
    error            text,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX imports_tenant_created_by_idx ON imports (tenant_id, created_by) WHERE created_by IS NOT NULL;
CREATE INDEX imports_tenant_sha_idx ON imports (tenant_id, file_sha256);
{imports}

ALTER TABLE users ADD COLUMN start_date date;

-- A CSV record as uploaded (`cells`, or `problem` when the record itself is unusable), and what
-- validation made of it: the values it will store, the member it matches, the action, the errors.
CREATE TABLE import_rows (
    tenant_id   uuid NOT NULL,
    import_id   uuid NOT NULL,
    line        integer NOT NULL CHECK (line >= 2),
        cells       jsonb NOT NULL CHECK (jsonb_typeof(cells) = 'array'),
    problem     text,
    value       jsonb,
    user_id     uuid,
    action      text CHECK (action IN ('create', 'update', 'unchanged', 'error')),
    errors      jsonb,
    PRIMARY KEY (tenant_id, import_id, line),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);
{import_rows}
"#,
            imports = tenant_table("imports", Grants::ReadWrite),
            import_rows = tenant_table("import_rows", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE import_rows, imports; ALTER TABLE users DROP COLUMN start_date;",
        )
        .await
    }
}
