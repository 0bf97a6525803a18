//! When a mentorship was accepted (by its mentor, or by a programme's publication), for the networking
//! figures (docs/analytics.md): the acceptance rate and the time to match. Earlier mentorships get it
//! from their answer when they are known to have been accepted (accepted, active or completed, or fit
//! checked); one cancelled after its acceptance and before a fit check cannot be told from a withdrawn
//! request and keeps none.

use crate::run_sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "ALTER TABLE mentorships ADD COLUMN accepted_at timestamptz; \
             UPDATE mentorships SET accepted_at = responded_at \
              WHERE status IN ('accepted', 'active', 'completed') OR fit_checked_at IS NOT NULL; \
             ALTER TABLE mentorships ADD CONSTRAINT mentorships_accepted_known \
              CHECK (status NOT IN ('accepted', 'active', 'completed') OR accepted_at IS NOT NULL); \
             CREATE INDEX mentorships_accepted_idx ON mentorships (tenant_id, accepted_at) \
              WHERE accepted_at IS NOT NULL;",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "ALTER TABLE mentorships DROP COLUMN accepted_at;").await
    }
}
