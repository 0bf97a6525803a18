//! API keys (service accounts): tenant-scoped credentials with a role or an explicit permission subset.
//! The key is shown once; only its SHA-256 is stored, found by its public prefix.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE api_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        text NOT NULL CHECK (prefix ~ '^[a-z0-9]{{12}}$'),
    secret_hash   bytea NOT NULL,
    role          text,
    permissions   text[],
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, prefix),
    CHECK ((role IS NULL) <> (permissions IS NULL)),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX api_keys_tenant_created_by_idx ON api_keys (tenant_id, created_by) WHERE created_by IS NOT NULL;
{api_keys}
"#,
            api_keys = tenant_table("api_keys", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP TABLE api_keys;").await
    }
}
