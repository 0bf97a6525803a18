//! Mentoring (docs/networking.md): mentor profiles, the organization's matching weights, and
//! mentorships from request on.
//!
//! - `mentor_profiles`: a member who offers to mentor — bio, languages, time zone, hours a week, how
//!   many mentees at once, active or paused — with `mentor_skills` (the organization's skills and
//!   competencies, each with whether they are happy to teach it).
//! - `matching_weights`: the points each matching component may give, per organization (none: the
//!   defaults in `matching::Weights`).
//! - `mentorships`: mentee and mentor, `requested` → `accepted` or `declined`, → `active` →
//!   `completed`, or `cancelled`; the score and its breakdown as they stood when requested; the
//!   mentee's goals. At most one open (requested, accepted or active) per pair.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE mentor_profiles (
    tenant_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    bio             text NOT NULL DEFAULT '' CHECK (length(bio) <= 2000),
    languages       text[] NOT NULL DEFAULT ARRAY[]::text[] CHECK (cardinality(languages) <= 10),
    timezone        text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    hours_per_week  smallint NOT NULL CHECK (hours_per_week BETWEEN 1 AND 40),
    mentee_limit    smallint NOT NULL CHECK (mentee_limit BETWEEN 1 AND 20),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
{mentor_profiles}

CREATE TABLE mentor_skills (
    tenant_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    skill_id   uuid NOT NULL,
    teaches    boolean NOT NULL,
    PRIMARY KEY (tenant_id, user_id, skill_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES mentor_profiles (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id)
);
CREATE INDEX mentor_skills_skill_idx ON mentor_skills (tenant_id, skill_id);
{mentor_skills}

CREATE TABLE matching_weights (
    tenant_id   uuid NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    skills      smallint NOT NULL CHECK (skills BETWEEN 0 AND 100),
    stage       smallint NOT NULL CHECK (stage BETWEEN 0 AND 100),
    timezone    smallint NOT NULL CHECK (timezone BETWEEN 0 AND 100),
    interests   smallint NOT NULL CHECK (interests BETWEEN 0 AND 100),
    rating      smallint NOT NULL CHECK (rating BETWEEN 0 AND 100),
    updated_at  timestamptz NOT NULL
);
{matching_weights}

CREATE TABLE mentorships (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    mentor_id     uuid NOT NULL,
    mentee_id     uuid NOT NULL,
    status        text NOT NULL DEFAULT 'requested' CHECK (status IN
                  ('requested', 'accepted', 'declined', 'active', 'completed', 'cancelled')),
    goals         text NOT NULL DEFAULT '' CHECK (length(goals) <= 2000),
    message       text NOT NULL DEFAULT '' CHECK (length(message) <= 1000),
    score         integer NOT NULL,
    breakdown     jsonb NOT NULL,
    response_note text NOT NULL DEFAULT '' CHECK (length(response_note) <= 1000),
    requested_at  timestamptz NOT NULL,
    responded_at  timestamptz,
    ended_at      timestamptz,
    ended_by      uuid,
    rating        smallint CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, mentor_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, mentee_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CHECK (mentor_id <> mentee_id),
    CHECK (rating IS NULL OR status = 'completed'),
    CHECK ((status = 'requested') = (responded_at IS NULL)),
    CHECK ((status IN ('declined', 'completed', 'cancelled')) = (ended_at IS NOT NULL))
);
CREATE UNIQUE INDEX mentorships_open_pair_idx ON mentorships (tenant_id, mentor_id, mentee_id)
    WHERE status IN ('requested', 'accepted', 'active');
CREATE INDEX mentorships_mentor_idx ON mentorships (tenant_id, mentor_id, status);
CREATE INDEX mentorships_mentee_idx ON mentorships (tenant_id, mentee_id, status);
{mentorships}
"#,
            mentor_profiles = tenant_table("mentor_profiles", Grants::ReadWrite),
            mentor_skills = tenant_table("mentor_skills", Grants::ReadWrite),
            matching_weights = tenant_table("matching_weights", Grants::ReadWrite),
            mentorships = tenant_table("mentorships", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE mentorships, matching_weights, mentor_skills, mentor_profiles;",
        )
        .await
    }
}
