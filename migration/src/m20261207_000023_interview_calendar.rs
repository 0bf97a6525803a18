//! The interview calendar: real interviews a member records for themselves (docs/interview.md).
//!
//! - `scheduled_interviews`: one interview — at another company or for an internal role —, its type,
//!   the wall-clock time and IANA zone it was given in (`local_start`, `timezone`) and the instant
//!   they name (`starts_at`), interviewers, notes, and `sequence`, which counts the changes so a
//!   calendar file sent later replaces one sent earlier; `calendar_sent_at`, when a reminder last
//!   carried the file to the member (so a cancellation tells them to remove it).
//! - `scheduled_interview_reminders`: the 24-hour and 1-hour reminders, each `scheduled` (with the
//!   queued job that will send it), `sent`, `cancelled` or `skipped` (already past when scheduled, or
//!   the interview had begun when the job ran).
//! - `scheduled_interview_checklist`: the preparation checklist, suggested items and the member's own.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE scheduled_interviews (
    tenant_id          uuid NOT NULL,
    id                 uuid NOT NULL,
    user_id            uuid NOT NULL,
    company            text CHECK (length(btrim(company)) BETWEEN 1 AND 200),
    career_role_id     uuid,
    role_title         text NOT NULL CHECK (length(btrim(role_title)) BETWEEN 1 AND 200),
    interview_type     text NOT NULL CHECK (interview_type IN ('phone_screen', 'recruiter',
                       'hiring_manager', 'technical', 'behavioral', 'case', 'panel', 'onsite',
                       'final', 'other')),
    starts_at          timestamptz NOT NULL,
    local_start        timestamp NOT NULL,
    timezone           text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    duration_minutes   integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    location           text NOT NULL DEFAULT '' CHECK (length(location) <= 500),
    meeting_url        text CHECK (length(meeting_url) <= 2000),
    interviewers       jsonb NOT NULL DEFAULT '[]'
                       CHECK (jsonb_typeof(interviewers) = 'array' AND jsonb_array_length(interviewers) <= 10),
    notes              text NOT NULL DEFAULT '' CHECK (length(notes) <= 10000),
    reminders_enabled  boolean NOT NULL DEFAULT true,
    status             text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    outcome            text CHECK (outcome IN ('advanced', 'offer', 'rejected', 'withdrawn')),
    sequence           integer NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    cancelled_at       timestamptz,
    calendar_sent_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, career_role_id) REFERENCES career_roles (tenant_id, id)
        ON DELETE SET NULL (career_role_id),
    CHECK (company IS NULL OR career_role_id IS NULL),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX scheduled_interviews_user_idx ON scheduled_interviews (tenant_id, user_id, starts_at);
CREATE INDEX scheduled_interviews_role_idx ON scheduled_interviews (tenant_id, career_role_id)
    WHERE career_role_id IS NOT NULL;
{scheduled_interviews}

CREATE TABLE scheduled_interview_reminders (
    tenant_id     uuid NOT NULL,
    interview_id  uuid NOT NULL,
    lead_minutes  integer NOT NULL CHECK (lead_minutes IN (60, 1440)),
    due_at        timestamptz NOT NULL,
    state         text NOT NULL CHECK (state IN ('scheduled', 'sent', 'cancelled', 'skipped')),
    job_id        uuid,
    sent_at       timestamptz,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, interview_id, lead_minutes),
    FOREIGN KEY (tenant_id, interview_id) REFERENCES scheduled_interviews (tenant_id, id) ON DELETE CASCADE,
    CHECK ((state = 'scheduled') = (job_id IS NOT NULL)),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL))
);
{scheduled_interview_reminders}

CREATE TABLE scheduled_interview_checklist (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    interview_id  uuid NOT NULL,
    position      integer NOT NULL CHECK (position >= 1),
    label         text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 200),
    suggested     boolean NOT NULL,
    done_at       timestamptz,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, interview_id, position),
    FOREIGN KEY (tenant_id, interview_id) REFERENCES scheduled_interviews (tenant_id, id) ON DELETE CASCADE
);
{scheduled_interview_checklist}
"#,
            scheduled_interviews = tenant_table("scheduled_interviews", Grants::ReadWrite),
            scheduled_interview_reminders =
                tenant_table("scheduled_interview_reminders", Grants::ReadWrite),
            scheduled_interview_checklist =
                tenant_table("scheduled_interview_checklist", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE scheduled_interview_checklist, scheduled_interview_reminders, \
             scheduled_interviews;",
        )
        .await
    }
}
