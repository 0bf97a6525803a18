//! Session policy per organization: an idle timeout and an absolute lifetime (NULL: the server's default).

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
ALTER TABLE org_settings
    ADD COLUMN session_idle_minutes integer CHECK (session_idle_minutes BETWEEN 5 AND 43200),
    ADD COLUMN session_absolute_hours integer CHECK (session_absolute_hours BETWEEN 1 AND 8760);
CREATE INDEX sessions_tenant_user_active_idx ON sessions (tenant_id, user_id, last_seen_at DESC)
    WHERE revoked_at IS NULL;
"#,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP INDEX sessions_tenant_user_active_idx; \
             ALTER TABLE org_settings DROP COLUMN session_idle_minutes, DROP COLUMN session_absolute_hours;",
        )
        .await
    }
}
