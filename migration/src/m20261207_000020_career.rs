//! Career: the skills taxonomy, skill profiles and ratings, career roles with their requirements and
//! transitions, members' positions and goals (docs/career.md).
//!
//! - `career_starter_skills` (global, read-only to the app): the starter taxonomy that ships with the
//!   product (`migration/data/career_taxonomy.txt`). Every organization gets its own copy when it is
//!   created (`app.seed_career_taxonomy`, run here for the organizations that exist), so it can rename,
//!   merge and retire skills without touching anyone else's.
//! - `skill_groups`: function areas (no parent) and their specializations (parent: an area).
//! - `skills`: `kind` skill or competency; `status` active, retired (kept on profiles, no longer offered)
//!   or merged (`merged_into` names the skill that took its place); names unique per organization among
//!   the skills not merged away.
//! - `skill_profile` (a member's skills, with "want to develop") and `skill_ratings` (every rating
//!   kept: level 1–5, source, rater, when): the effective level is computed from them, never stored.
//! - `career_roles` (title, track, level), `role_requirements` (skill, minimum level, weight, critical),
//!   `role_transitions` (the typical next roles), `career_positions` (who holds which role since when:
//!   the history next-role suggestions count), `career_goals` (a target role and date; one active per
//!   member).

use crate::{APP_ROLE, Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TAXONOMY: &str = include_str!("../data/career_taxonomy.txt");

/// A key from names: lower case, `#` and `+` spelled out, anything else not alphanumeric a dash.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        match c {
            '#' => out.push_str("sharp"),
            '+' => out.push_str("plus"),
            c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => {
                if !out.ends_with('-') {
                    out.push('-');
                }
            }
        }
    }
    out.trim_matches('-').to_owned()
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `(key, area, specialization, name, kind)` rows of the starter taxonomy as SQL VALUES.
fn starter_values() -> Result<String, DbErr> {
    let mut rows = Vec::new();
    let mut kind = "";
    for line in TAXONOMY.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line {
            "[skills]" => kind = "skill",
            "[competencies]" => kind = "competency",
            _ => {
                let (head, names) = line.split_once(':').ok_or_else(|| {
                    DbErr::Migration(format!("taxonomy line without ':': {line}"))
                })?;
                let (area, specialization) = match kind {
                    "skill" => head
                        .split_once('>')
                        .map(|(a, s)| (a.trim(), s.trim()))
                        .ok_or_else(|| {
                            DbErr::Migration(format!("taxonomy line without '>': {line}"))
                        })?,
                    "competency" => ("Competencies", head.trim()),
                    _ => return Err(DbErr::Migration("taxonomy line before a section".into())),
                };
                for name in names.split(';').map(str::trim).filter(|n| !n.is_empty()) {
                    let key = format!("{}/{}/{}", slug(area), slug(specialization), slug(name));
                    rows.push(format!(
                        "({}, {}, {}, {}, '{kind}')",
                        literal(&key),
                        literal(area),
                        literal(specialization),
                        literal(name)
                    ));
                }
            }
        }
    }
    Ok(rows.join(",\n"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE career_starter_skills (
    key             text PRIMARY KEY,
    area            text NOT NULL,
    specialization  text NOT NULL,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('skill', 'competency'))
);
GRANT SELECT ON career_starter_skills TO {APP_ROLE};
INSERT INTO career_starter_skills (key, area, specialization, name, kind) VALUES
{starter};

CREATE TABLE skill_groups (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    -- NULL for a function area; an area for a specialization (two levels, kept by the server).
    parent_id    uuid,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    starter_key  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES skill_groups (tenant_id, id)
);
CREATE UNIQUE INDEX skill_groups_name_idx
    ON skill_groups (tenant_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'), lower(name));
CREATE INDEX skill_groups_parent_idx ON skill_groups (tenant_id, parent_id) WHERE parent_id IS NOT NULL;
{skill_groups}

CREATE TABLE skills (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    group_id     uuid NOT NULL,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    kind         text NOT NULL CHECK (kind IN ('skill', 'competency')),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'merged')),
    merged_into  uuid,
    starter_key  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES skill_groups (tenant_id, id),
    FOREIGN KEY (tenant_id, merged_into) REFERENCES skills (tenant_id, id),
    CHECK ((status = 'merged') = (merged_into IS NOT NULL))
);
CREATE UNIQUE INDEX skills_name_idx ON skills (tenant_id, lower(name)) WHERE status <> 'merged';
CREATE INDEX skills_group_idx ON skills (tenant_id, group_id);
CREATE INDEX skills_merged_into_idx ON skills (tenant_id, merged_into) WHERE merged_into IS NOT NULL;
{skills}

CREATE TABLE skill_profile (
    tenant_id        uuid NOT NULL,
    user_id          uuid NOT NULL,
    skill_id         uuid NOT NULL,
    want_to_develop  boolean NOT NULL DEFAULT false,
    added_at         timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, skill_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id)
);
CREATE INDEX skill_profile_skill_idx ON skill_profile (tenant_id, skill_id);
{skill_profile}

CREATE TABLE skill_ratings (
    tenant_id  uuid NOT NULL,
    id         uuid NOT NULL,
    user_id    uuid NOT NULL,
    skill_id   uuid NOT NULL,
    level      smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    source     text NOT NULL CHECK (source IN ('self', 'peer', 'manager', 'assessment')),
    rater_id   uuid,
    note       text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    rated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id, skill_id) REFERENCES skill_profile (tenant_id, user_id, skill_id)
        ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY (tenant_id, rater_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (rater_id)
);
CREATE INDEX skill_ratings_profile_idx ON skill_ratings (tenant_id, user_id, skill_id, rated_at);
CREATE INDEX skill_ratings_skill_idx ON skill_ratings (tenant_id, skill_id);
CREATE INDEX skill_ratings_rater_idx ON skill_ratings (tenant_id, rater_id) WHERE rater_id IS NOT NULL;
{skill_ratings}

CREATE TABLE career_roles (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    title        text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 120),
    -- The job family or ladder, `Engineering`; the level orders roles within it.
    track        text NOT NULL DEFAULT '' CHECK (length(track) <= 120),
    level        smallint NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 20),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX career_roles_title_idx ON career_roles (tenant_id, lower(title));
{career_roles}

CREATE TABLE role_requirements (
    tenant_id  uuid NOT NULL,
    role_id    uuid NOT NULL,
    skill_id   uuid NOT NULL,
    min_level  smallint NOT NULL CHECK (min_level BETWEEN 1 AND 5),
    weight     smallint NOT NULL CHECK (weight BETWEEN 1 AND 10),
    critical   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, role_id, skill_id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES career_roles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, skill_id) REFERENCES skills (tenant_id, id)
);
CREATE INDEX role_requirements_skill_idx ON role_requirements (tenant_id, skill_id);
{role_requirements}

CREATE TABLE role_transitions (
    tenant_id     uuid NOT NULL,
    from_role_id  uuid NOT NULL,
    to_role_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, from_role_id, to_role_id),
    FOREIGN KEY (tenant_id, from_role_id) REFERENCES career_roles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, to_role_id) REFERENCES career_roles (tenant_id, id) ON DELETE CASCADE,
    CHECK (from_role_id <> to_role_id)
);
CREATE INDEX role_transitions_to_idx ON role_transitions (tenant_id, to_role_id);
{role_transitions}

CREATE TABLE career_positions (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    role_id     uuid NOT NULL,
    started_on  date NOT NULL,
    -- NULL while held: one open position per member.
    ended_on    date,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES career_roles (tenant_id, id) ON DELETE CASCADE,
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
CREATE UNIQUE INDEX career_positions_open_idx ON career_positions (tenant_id, user_id) WHERE ended_on IS NULL;
CREATE INDEX career_positions_user_idx ON career_positions (tenant_id, user_id, started_on);
CREATE INDEX career_positions_role_idx ON career_positions (tenant_id, role_id);
{career_positions}

CREATE TABLE career_goals (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    user_id         uuid NOT NULL,
    target_role_id  uuid NOT NULL,
    target_date     date,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'achieved', 'abandoned')),
    note            text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, target_role_id) REFERENCES career_roles (tenant_id, id),
    CHECK ((status = 'active') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX career_goals_active_idx ON career_goals (tenant_id, user_id) WHERE status = 'active';
CREATE INDEX career_goals_user_idx ON career_goals (tenant_id, user_id, created_at);
CREATE INDEX career_goals_role_idx ON career_goals (tenant_id, target_role_id);
{career_goals}

-- Copies the starter taxonomy into an organization (when it is created; as the owner). Returns the
-- number of skills copied; an organization that already has starter skills gets only the missing ones.
CREATE FUNCTION app.seed_career_taxonomy(tenant uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
    AS $$
DECLARE
    copied integer;
BEGIN
    INSERT INTO skill_groups (tenant_id, id, parent_id, name, starter_key)
    SELECT tenant, app.uuid_v7(), NULL, a.area, a.key
    FROM (SELECT DISTINCT area, split_part(key, '/', 1) AS key FROM career_starter_skills) a
    WHERE NOT EXISTS (SELECT 1 FROM skill_groups g WHERE g.tenant_id = tenant AND g.starter_key = a.key);

    INSERT INTO skill_groups (tenant_id, id, parent_id, name, starter_key)
    SELECT tenant, app.uuid_v7(), area.id, s.specialization, s.key
    FROM (SELECT DISTINCT specialization, split_part(key, '/', 1) AS area_key,
                 split_part(key, '/', 1) || '/' || split_part(key, '/', 2) AS key
          FROM career_starter_skills) s
    JOIN skill_groups area ON area.tenant_id = tenant AND area.starter_key = s.area_key
    WHERE NOT EXISTS (SELECT 1 FROM skill_groups g WHERE g.tenant_id = tenant AND g.starter_key = s.key);

    INSERT INTO skills (tenant_id, id, group_id, name, kind, starter_key)
    SELECT tenant, app.uuid_v7(), g.id, s.name, s.kind, s.key
    FROM career_starter_skills s
    JOIN skill_groups g ON g.tenant_id = tenant
        AND g.starter_key = split_part(s.key, '/', 1) || '/' || split_part(s.key, '/', 2)
    WHERE NOT EXISTS (SELECT 1 FROM skills k WHERE k.tenant_id = tenant AND k.starter_key = s.key)
    ORDER BY s.key
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS copied = ROW_COUNT;
    RETURN copied;
END
$$;
REVOKE ALL ON FUNCTION app.seed_career_taxonomy(uuid) FROM PUBLIC;
SELECT app.seed_career_taxonomy(id) FROM tenants;
"#,
            starter = starter_values()?,
            skill_groups = tenant_table("skill_groups", Grants::ReadWrite),
            skills = tenant_table("skills", Grants::ReadWrite),
            skill_profile = tenant_table("skill_profile", Grants::ReadWrite),
            skill_ratings = tenant_table("skill_ratings", Grants::ReadWrite),
            career_roles = tenant_table("career_roles", Grants::ReadWrite),
            role_requirements = tenant_table("role_requirements", Grants::ReadWrite),
            role_transitions = tenant_table("role_transitions", Grants::ReadWrite),
            career_positions = tenant_table("career_positions", Grants::ReadWrite),
            career_goals = tenant_table("career_goals", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP FUNCTION app.seed_career_taxonomy(uuid); \
             DROP TABLE career_goals, career_positions, role_transitions, role_requirements, \
             career_roles, skill_ratings, skill_profile, skills, skill_groups, career_starter_skills;",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_spell_out_symbols() {
        assert_eq!(slug("C#"), "csharp");
        assert_eq!(slug("C++"), "cplusplus");
        assert_eq!(
            slug("Governance, Risk & Compliance"),
            "governance-risk-compliance"
        );
        let values = starter_values().unwrap();
        let keys: Vec<&str> = values
            .lines()
            .map(|l| l.split('\'').nth(1).unwrap_or_default())
            .collect();
        let unique: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len());
        assert!(keys.len() >= 300, "{} skills", keys.len());
    }
}
