//! Custom roles: a tenant's own roles, each a name and a set of permissions from the permission list
//! (checked by the server; unknown permissions are refused). Members hold them through `memberships.role`.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE roles (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    name         text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{{1,62}}$'),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    permissions  text[] NOT NULL CHECK (cardinality(permissions) > 0),
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX roles_tenant_created_by_idx ON roles (tenant_id, created_by) WHERE created_by IS NOT NULL;
{roles}
"#,
            roles = tenant_table("roles", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP TABLE roles;").await
    }
}
