//! The workspaces' activity feed (docs/workspaces.md, "Activity"): who did what to which object, one
//! row per change, written in the change's transaction. Append-only for the app.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE workspace_activity (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    workspace_id  uuid NOT NULL,
    actor_id      uuid,
    verb          text NOT NULL CHECK (length(verb) BETWEEN 1 AND 40),
    object_type   text NOT NULL CHECK (length(object_type) BETWEEN 1 AND 40),
    object_id     uuid NOT NULL,
    object_name   text NOT NULL DEFAULT '' CHECK (length(object_name) <= 300),
    document_id   uuid,
    summary       text NOT NULL CHECK (length(summary) BETWEEN 1 AND 300),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, workspace_id, document_id)
        REFERENCES documents (tenant_id, workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, actor_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (actor_id)
);
CREATE INDEX workspace_activity_feed_idx ON workspace_activity (tenant_id, workspace_id, id DESC);
{workspace_activity}
"#,
            workspace_activity = tenant_table("workspace_activity", Grants::AppendOnly),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP TABLE workspace_activity;").await
    }
}
