//! What an organization knows of a member besides the account: job title, department, location and the
//! HR system's employee id (unique in the organization). Imports and SCIM fill these; the reporting line
//! is `users.manager_id`.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            r#"
ALTER TABLE users
    ADD COLUMN title text CHECK (length(title) <= 200),
    ADD COLUMN department text CHECK (length(department) <= 200),
    ADD COLUMN location text CHECK (length(location) <= 200),
    ADD COLUMN employee_id text CHECK (length(employee_id) BETWEEN 1 AND 100),
    ADD CONSTRAINT users_tenant_id_employee_id_key UNIQUE (tenant_id, employee_id);
CREATE INDEX users_tenant_department_idx ON users (tenant_id, department) WHERE department IS NOT NULL;
"#,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP INDEX users_tenant_department_idx; \
             ALTER TABLE users DROP CONSTRAINT users_tenant_id_employee_id_key, \
               DROP COLUMN title, DROP COLUMN department, DROP COLUMN location, DROP COLUMN employee_id;",
        )
        .await
    }
}
