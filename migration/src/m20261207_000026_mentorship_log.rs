//! The life of a mentorship after its acceptance (docs/networking.md): the sessions both sides log,
//! the mentee's first-session fit check (`fit_checked_at`; `not_a_fit` ends it and keeps that mentor out
//! of the mentee's recommendations), and the mentee's rating and feedback at the end.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
ALTER TABLE mentorships
    ADD COLUMN fit_checked_at timestamptz,
    ADD COLUMN not_a_fit boolean NOT NULL DEFAULT false,
    ADD COLUMN feedback text NOT NULL DEFAULT '' CHECK (length(feedback) <= 2000),
    ADD CONSTRAINT mentorships_active_checked CHECK (status <> 'active' OR fit_checked_at IS NOT NULL),
    ADD CONSTRAINT mentorships_not_a_fit_cancelled CHECK (NOT not_a_fit OR status = 'cancelled');

CREATE TABLE mentorship_sessions (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    mentorship_id  uuid NOT NULL,
    held_on        date NOT NULL,
    minutes        smallint NOT NULL CHECK (minutes BETWEEN 5 AND 600),
    notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 5000),
    logged_by      uuid,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, mentorship_id) REFERENCES mentorships (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, logged_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (logged_by)
);
CREATE INDEX mentorship_sessions_mentorship_idx ON mentorship_sessions (tenant_id, mentorship_id, held_on);
{mentorship_sessions}
"#,
            mentorship_sessions = tenant_table("mentorship_sessions", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE mentorship_sessions; \
             ALTER TABLE mentorships DROP CONSTRAINT mentorships_active_checked, \
             DROP CONSTRAINT mentorships_not_a_fit_cancelled, DROP COLUMN fit_checked_at, \
             DROP COLUMN not_a_fit, DROP COLUMN feedback;",
        )
        .await
    }
}
