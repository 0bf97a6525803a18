//! Workspace settings, documents made from templates, and notification digests (docs/workspaces.md,
//! docs/notifications.md).
//!
//! - `workspaces`: how long a review waits before its approver is reminded, the review mode a request
//!   gets when it names none, and who may comment (`members` — commenters and up —, `editors`, `off`).
//! - `documents.template_id`: the template of the same workspace a document was made from.
//! - `notification_preferences`: how often a member's digest of notifications not mailed at once goes
//!   out (`hourly`, `daily`, `off`).
//! - `notification_digests`: a member's digest that is due (one at a time), with its job.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
ALTER TABLE workspaces
    ADD COLUMN review_reminder_hours integer NOT NULL DEFAULT 48 CHECK (review_reminder_hours BETWEEN 1 AND 168),
    ADD COLUMN default_review_mode text NOT NULL DEFAULT 'chain' CHECK (default_review_mode IN ('chain', 'any')),
    ADD COLUMN comment_policy text NOT NULL DEFAULT 'members' CHECK (comment_policy IN ('members', 'editors', 'off'));

ALTER TABLE documents ADD COLUMN template_id uuid,
    ADD CONSTRAINT documents_template_fk FOREIGN KEY (tenant_id, workspace_id, template_id)
        REFERENCES documents (tenant_id, workspace_id, id) ON DELETE SET NULL (template_id);
CREATE INDEX documents_template_idx ON documents (tenant_id, template_id) WHERE template_id IS NOT NULL;

CREATE TABLE notification_preferences (
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    digest      text NOT NULL CHECK (digest IN ('hourly', 'daily', 'off')),
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
{notification_preferences}

CREATE TABLE notification_digests (
    tenant_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    due_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
{notification_digests}
"#,
            notification_preferences = tenant_table("notification_preferences", Grants::ReadWrite),
            notification_digests = tenant_table("notification_digests", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE notification_digests, notification_preferences; \
             ALTER TABLE documents DROP COLUMN template_id; \
             ALTER TABLE workspaces DROP COLUMN review_reminder_hours, DROP COLUMN default_review_mode, \
             DROP COLUMN comment_policy;",
        )
        .await
    }
}
