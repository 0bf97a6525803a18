//! Mentoring programmes (docs/networking.md): a cohort its owner matches all at once.
//!
//! - `mentoring_programmes`: name, description, owner (a member; HR names them), `open` (members opt
//!   in) → `published` (the matches became mentorships) → `closed`; when the cohort was last matched
//!   and by which method.
//! - `programme_participants`: who opted in, as `mentor` (with the places they give the programme) or
//!   `mentee` (with their goals, languages and time zone for the matching). One role per person.
//! - `programme_matches`: the owner's draft, a row per mentee matched — their mentor (by the batch
//!   matching, or set by the owner: `pinned`, kept by the next run), the score and its breakdown — or
//!   not, and why (`unmatched`: no mentor the filters allow, no place left, or kept out by the owner).
//!   The foreign keys name the role, so a mentor is always a mentor.
//! - `mentorships.programme_id`: the mentorships a programme's publication made.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE mentoring_programmes (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    owner_id      uuid,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'published', 'closed')),
    matched_at    timestamptz,
    match_method  text CHECK (match_method IN ('optimal', 'greedy')),
    published_at  timestamptz,
    closed_at     timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (owner_id),
    CHECK (status <> 'published' OR published_at IS NOT NULL),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE UNIQUE INDEX mentoring_programmes_name_idx ON mentoring_programmes (tenant_id, lower(name));
{mentoring_programmes}

CREATE TABLE programme_participants (
    tenant_id     uuid NOT NULL,
    programme_id  uuid NOT NULL,
    user_id       uuid NOT NULL,
    role          text NOT NULL CHECK (role IN ('mentor', 'mentee')),
    places        smallint CHECK (places BETWEEN 1 AND 10),
    goals         text NOT NULL DEFAULT '' CHECK (length(goals) <= 2000),
    languages     text[] NOT NULL DEFAULT ARRAY[]::text[] CHECK (cardinality(languages) <= 10),
    timezone      text CHECK (length(timezone) BETWEEN 1 AND 64),
    joined_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, programme_id, user_id),
    UNIQUE (tenant_id, programme_id, user_id, role),
    FOREIGN KEY (tenant_id, programme_id) REFERENCES mentoring_programmes (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CHECK ((role = 'mentor') = (places IS NOT NULL))
);
CREATE INDEX programme_participants_user_idx ON programme_participants (tenant_id, user_id);
{programme_participants}

CREATE TABLE programme_matches (
    tenant_id     uuid NOT NULL,
    programme_id  uuid NOT NULL,
    mentee_id     uuid NOT NULL,
    mentee_role   text NOT NULL DEFAULT 'mentee' CHECK (mentee_role = 'mentee'),
    mentor_id     uuid,
    mentor_role   text NOT NULL DEFAULT 'mentor' CHECK (mentor_role = 'mentor'),
    score         integer CHECK (score >= 0),
    breakdown     jsonb,
    pinned        boolean NOT NULL DEFAULT false,
    unmatched     text CHECK (unmatched IN ('no_allowed_mentor', 'no_place_left', 'kept_out')),
    PRIMARY KEY (tenant_id, programme_id, mentee_id),
    FOREIGN KEY (tenant_id, programme_id, mentee_id, mentee_role)
        REFERENCES programme_participants (tenant_id, programme_id, user_id, role) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, programme_id, mentor_id, mentor_role)
        REFERENCES programme_participants (tenant_id, programme_id, user_id, role) ON DELETE CASCADE,
    CHECK ((mentor_id IS NULL) = (unmatched IS NOT NULL)),
    CHECK (coalesce(unmatched = 'kept_out', false) = (pinned AND mentor_id IS NULL)),
    CHECK ((mentor_id IS NULL) = (score IS NULL) AND (score IS NULL) = (breakdown IS NULL))
);
CREATE INDEX programme_matches_mentor_idx ON programme_matches (tenant_id, programme_id, mentor_id);
{programme_matches}

ALTER TABLE mentorships ADD COLUMN programme_id uuid,
    ADD CONSTRAINT mentorships_programme_fkey FOREIGN KEY (tenant_id, programme_id)
        REFERENCES mentoring_programmes (tenant_id, id) ON DELETE SET NULL (programme_id);
CREATE INDEX mentorships_programme_idx ON mentorships (tenant_id, programme_id) WHERE programme_id IS NOT NULL;
"#,
            mentoring_programmes = tenant_table("mentoring_programmes", Grants::ReadWrite),
            programme_participants = tenant_table("programme_participants", Grants::ReadWrite),
            programme_matches = tenant_table("programme_matches", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "ALTER TABLE mentorships DROP COLUMN programme_id; \
             DROP TABLE programme_matches, programme_participants, mentoring_programmes;",
        )
        .await
    }
}
