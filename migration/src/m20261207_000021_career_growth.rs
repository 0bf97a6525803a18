//! Career growth: the learning catalogue and enrolments, milestones, and portfolio projects
//! (docs/career.md).
//!
//! - `courses` (title, provider, url, duration, status) and `course_skills` (the skills a course
//!   teaches and the level a finisher reaches): what each skill gap lists as learning.
//! - `course_enrolments`: one per member and course, with progress 0–100; completing a course can add
//!   self ratings as evidence (the ratings are ordinary `skill_ratings` rows).
//! - `career_milestones`: a member's achievement (job secured, skill mastered, certification earned)
//!   with the points it is worth, counted once the manager or HR verified it.
//! - `portfolio_projects` with their skills (`project_skills`) and links; visibility private (those who
//!   may read the member's career profile), org (every member), featured (org, and first on the
//!   member's portfolio).

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE courses (
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                uuid NOT NULL,
    title             text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    provider          text NOT NULL DEFAULT '' CHECK (length(provider) <= 120),
    url               text CHECK (url IS NULL OR length(url) <= 2000),
    description       text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    duration_minutes  integer CHECK (duration_minutes BETWEEN 1 AND 100000),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX courses_title_idx ON courses (tenant_id, lower(title), lower(provider));
{courses}

CREATE TABLE course_skills (
    tenant_id  uuid NOT NULL,
    course_id  uuid NOT NULL,
    skill_id   uuid NOT NULL,
    -- The level a member who finished the course can claim.
    level      smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (tenant_id, course_id, skill_id),
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id)
);
CREATE INDEX course_skills_skill_idx ON course_skills (tenant_id, skill_id);
{course_skills}

CREATE TABLE course_enrolments (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    course_id     uuid NOT NULL,
    user_id       uuid NOT NULL,
    status        text NOT NULL CHECK (status IN ('enrolled', 'in_progress', 'completed', 'dropped')),
    progress      smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    enrolled_at   timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    completed_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, user_id, course_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CHECK (status <> 'completed' OR progress = 100)
);
CREATE INDEX course_enrolments_course_idx ON course_enrolments (tenant_id, course_id);
{course_enrolments}

CREATE TABLE career_milestones (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    user_id       uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('job_secured', 'skill_mastered', 'certification_earned')),
    title         text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    skill_id      uuid,
    role_id       uuid,
    achieved_on   date NOT NULL,
    evidence_url  text CHECK (evidence_url IS NULL OR length(evidence_url) <= 2000),
    -- Fixed by the kind when recorded; counted once verified.
    points        integer NOT NULL CHECK (points BETWEEN 0 AND 1000),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'rejected')),
    reviewed_by   uuid,
    reviewed_at   timestamptz,
    review_note   text NOT NULL DEFAULT '' CHECK (length(review_note) <= 1000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES career_roles (tenant_id, id),
    FOREIGN KEY (tenant_id, reviewed_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (reviewed_by),
    CHECK ((status = 'pending') = (reviewed_at IS NULL)),
    CHECK (kind <> 'skill_mastered' OR skill_id IS NOT NULL)
);
CREATE INDEX career_milestones_user_idx ON career_milestones (tenant_id, user_id, achieved_on);
CREATE INDEX career_milestones_skill_idx ON career_milestones (tenant_id, skill_id) WHERE skill_id IS NOT NULL;
CREATE INDEX career_milestones_role_idx ON career_milestones (tenant_id, role_id) WHERE role_id IS NOT NULL;
{career_milestones}

CREATE TABLE portfolio_projects (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    title       text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    summary     text NOT NULL DEFAULT '' CHECK (length(summary) <= 4000),
    started_on  date,
    ended_on    date,
    visibility  text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'org', 'featured')),
    -- [{{"label": ..., "url": ...}}], at most 10 (checked in full by the server).
    links       jsonb NOT NULL DEFAULT '[]'
                CHECK (jsonb_typeof(links) = 'array' AND jsonb_array_length(links) <= 10),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CHECK (ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on)
);
CREATE INDEX portfolio_projects_user_idx ON portfolio_projects (tenant_id, user_id, created_at);
CREATE INDEX portfolio_projects_shared_idx ON portfolio_projects (tenant_id, created_at DESC, id DESC)
    WHERE visibility <> 'private';
{portfolio_projects}

CREATE TABLE project_skills (
    tenant_id   uuid NOT NULL,
    project_id  uuid NOT NULL,
    skill_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, project_id, skill_id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES portfolio_projects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id)
);
CREATE INDEX project_skills_skill_idx ON project_skills (tenant_id, skill_id);
{project_skills}
"#,
            courses = tenant_table("courses", Grants::ReadWrite),
            course_skills = tenant_table("course_skills", Grants::ReadWrite),
            course_enrolments = tenant_table("course_enrolments", Grants::ReadWrite),
            career_milestones = tenant_table("career_milestones", Grants::ReadWrite),
            portfolio_projects = tenant_table("portfolio_projects", Grants::ReadWrite),
            project_skills = tenant_table("project_skills", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE project_skills, portfolio_projects, career_milestones, course_enrolments, \
             course_skills, courses;",
        )
        .await
    }
}
