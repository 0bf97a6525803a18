//! Interview preparation: the question bank and mock interview sessions (docs/interview.md).
//!
//! - `interview_starter_questions` (global, read-only to the app): the bank that ships with the product
//!   (`migration/data/interview_questions.txt`). Every organization gets its own copy when it is
//!   created (`app.seed_interview_questions`, run here for the organizations that exist), as with the
//!   skills taxonomy (ADR 0014): it can retire starter questions and add its own.
//! - `interview_questions`: the organization's questions (`starter_key` for copies), with
//!   `interview_question_skills` tagging them with the organization's skills and competencies.
//! - `interview_sessions` and `interview_session_questions`: a mock interview, its questions in order,
//!   each answer (text; a recording's URL may be kept) with its score and analysis.
//! - `interview_assignments`: practice set by HR or a manager (criteria, due date, attempts allowed);
//!   sessions started for it are its attempts.

use crate::{
    APP_ROLE, Grants,
    interview_bank::{self, BankQuestion},
    run_sql, tenant_table,
};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn array(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| literal(i)).collect();
    format!("ARRAY[{}]::text[]", inner.join(", "))
}

fn starter_values(bank: &[BankQuestion]) -> String {
    bank.iter()
        .map(|q| {
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {})",
                literal(&q.key),
                literal(&q.kind),
                literal(&q.category),
                literal(&q.subcategory),
                q.difficulty,
                array(&q.industries),
                literal(&q.text),
                array(&q.expected_points)
            )
        })
        .collect::<Vec<_>>()
        .join(",\n")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let bank = interview_bank::parse(interview_bank::BANK).map_err(DbErr::Migration)?;
        let sql = format!(
            r#"
CREATE TABLE interview_starter_questions (
    key              text PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('behavioral', 'technical', 'case')),
    category         text NOT NULL,
    subcategory      text NOT NULL,
    difficulty       smallint NOT NULL CHECK (difficulty BETWEEN 1 AND 5),
    industries       text[] NOT NULL,
    text             text NOT NULL,
    expected_points  text[] NOT NULL
);
GRANT SELECT ON interview_starter_questions TO {APP_ROLE};
INSERT INTO interview_starter_questions
    (key, kind, category, subcategory, difficulty, industries, text, expected_points) VALUES
{starter};

CREATE TABLE interview_questions (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('behavioral', 'technical', 'case')),
    category         text NOT NULL CHECK (length(btrim(category)) BETWEEN 1 AND 80),
    subcategory      text NOT NULL DEFAULT '' CHECK (length(subcategory) <= 80),
    difficulty       smallint NOT NULL CHECK (difficulty BETWEEN 1 AND 5),
    industries       text[] NOT NULL DEFAULT ARRAY['any']::text[] CHECK (cardinality(industries) <= 12),
    text             text NOT NULL CHECK (length(btrim(text)) BETWEEN 10 AND 1000),
    expected_points  text[] NOT NULL DEFAULT ARRAY[]::text[] CHECK (cardinality(expected_points) <= 10),
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    starter_key      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX interview_questions_text_idx ON interview_questions (tenant_id, lower(text));
CREATE UNIQUE INDEX interview_questions_starter_idx ON interview_questions (tenant_id, starter_key)
    WHERE starter_key IS NOT NULL;
CREATE INDEX interview_questions_kind_idx ON interview_questions (tenant_id, kind, difficulty);
{interview_questions}

CREATE TABLE interview_question_skills (
    tenant_id    uuid NOT NULL,
    question_id  uuid NOT NULL,
    skill_id     uuid NOT NULL,
    PRIMARY KEY (tenant_id, question_id, skill_id),
    FOREIGN KEY (tenant_id, question_id) REFERENCES interview_questions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id)
);
CREATE INDEX interview_question_skills_skill_idx ON interview_question_skills (tenant_id, skill_id);
{interview_question_skills}

CREATE TABLE interview_assignments (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    user_id         uuid NOT NULL,
    assigned_by     uuid,
    title           text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    kind            text CHECK (kind IN ('behavioral', 'technical', 'case')),
    difficulty      smallint CHECK (difficulty BETWEEN 1 AND 5),
    category        text CHECK (length(category) <= 80),
    question_count  smallint NOT NULL CHECK (question_count BETWEEN 1 AND 10),
    due_on          date NOT NULL,
    max_attempts    smallint NOT NULL CHECK (max_attempts BETWEEN 1 AND 10),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assigned_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (assigned_by)
);
CREATE INDEX interview_assignments_user_idx ON interview_assignments (tenant_id, user_id, due_on);
CREATE INDEX interview_assignments_by_idx ON interview_assignments (tenant_id, assigned_by)
    WHERE assigned_by IS NOT NULL;
{interview_assignments}

CREATE TABLE interview_sessions (
    tenant_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    user_id             uuid NOT NULL,
    -- NULL: any type.
    kind                text CHECK (kind IN ('behavioral', 'technical', 'case')),
    difficulty          smallint CHECK (difficulty BETWEEN 1 AND 5),
    category            text CHECK (length(category) <= 80),
    target_role_id      uuid,
    -- The assignment this session is an attempt at.
    assignment_id       uuid,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_progress', 'completed', 'abandoned')),
    time_limit_minutes  integer NOT NULL CHECK (time_limit_minutes BETWEEN 5 AND 240),
    created_at          timestamptz NOT NULL,
    started_at          timestamptz,
    expires_at          timestamptz,
    ended_at            timestamptz,
    -- The mean of the answered questions' scores, when completed.
    score               smallint CHECK (score BETWEEN 0 AND 100),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    -- A deleted role leaves the session without its target (the session is the member's history).
    FOREIGN KEY (tenant_id, target_role_id) REFERENCES career_roles (tenant_id, id)
        ON DELETE SET NULL (target_role_id),
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES interview_assignments (tenant_id, id),
    CHECK ((status = 'pending') = (started_at IS NULL) OR status = 'abandoned'),
    CHECK ((status IN ('completed', 'abandoned')) = (ended_at IS NOT NULL))
);
CREATE INDEX interview_sessions_user_idx ON interview_sessions (tenant_id, user_id, created_at);
CREATE INDEX interview_sessions_role_idx ON interview_sessions (tenant_id, target_role_id)
    WHERE target_role_id IS NOT NULL;
CREATE INDEX interview_sessions_assignment_idx ON interview_sessions (tenant_id, assignment_id)
    WHERE assignment_id IS NOT NULL;
{interview_sessions}

CREATE TABLE interview_session_questions (
    tenant_id      uuid NOT NULL,
    session_id     uuid NOT NULL,
    position       smallint NOT NULL CHECK (position BETWEEN 1 AND 20),
    question_id    uuid NOT NULL,
    answer         text CHECK (length(answer) <= 20000),
    recording_url  text CHECK (length(recording_url) <= 2000),
    answered_at    timestamptz,
    score          smallint CHECK (score BETWEEN 0 AND 100),
    analysis       jsonb,
    PRIMARY KEY (tenant_id, session_id, position),
    UNIQUE (tenant_id, session_id, question_id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES interview_sessions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, question_id) REFERENCES interview_questions (tenant_id, id),
    CHECK ((answer IS NULL) = (answered_at IS NULL) AND (answer IS NULL) = (score IS NULL))
);
CREATE INDEX interview_session_questions_question_idx
    ON interview_session_questions (tenant_id, question_id);
{interview_session_questions}

-- Copies the bank into an organization (when it is created; as the owner). Returns the number of
-- questions copied; an organization that has some gets only the missing ones.
CREATE FUNCTION app.seed_interview_questions(tenant uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
    AS $$
DECLARE
    copied integer;
BEGIN
    INSERT INTO interview_questions (tenant_id, id, kind, category, subcategory, difficulty,
                                     industries, text, expected_points, starter_key)
    SELECT tenant, app.uuid_v7(), s.kind, s.category, s.subcategory, s.difficulty, s.industries,
           s.text, s.expected_points, s.key
    FROM interview_starter_questions s
    WHERE NOT EXISTS (SELECT 1 FROM interview_questions q
                      WHERE q.tenant_id = tenant AND q.starter_key = s.key)
    ORDER BY s.key
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS copied = ROW_COUNT;
    RETURN copied;
END
$$;
REVOKE ALL ON FUNCTION app.seed_interview_questions(uuid) FROM PUBLIC;
SELECT app.seed_interview_questions(id) FROM tenants;
"#,
            starter = starter_values(&bank),
            interview_questions = tenant_table("interview_questions", Grants::ReadWrite),
            interview_question_skills =
                tenant_table("interview_question_skills", Grants::ReadWrite),
            interview_assignments = tenant_table("interview_assignments", Grants::ReadWrite),
            interview_sessions = tenant_table("interview_sessions", Grants::ReadWrite),
            interview_session_questions =
                tenant_table("interview_session_questions", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP FUNCTION app.seed_interview_questions(uuid); \
             DROP TABLE interview_session_questions, interview_sessions, interview_assignments, \
             interview_question_skills, \
             interview_questions, interview_starter_questions;",
        )
        .await
    }
}
