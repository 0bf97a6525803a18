//! Mentor profiles: a member offers to mentor — what they know (the organization's skills, each with
//! whether they are happy to teach it), languages, time zone, hours a week, how many mentees at once —
//! and may pause. Their rating is the Bayesian average of their mentees' ratings
//! ([`super::matching::bayesian_rating`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    modules::career::taxonomy,
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Skills on a mentor profile, at most.
pub const MAX_SKILLS: usize = 30;

#[derive(Debug, Clone, FromQueryResult)]
pub struct MentorRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub bio: String,
    pub languages: Vec<String>,
    pub timezone: String,
    pub hours_per_week: i16,
    pub mentee_limit: i16,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// Mentorships accepted or active.
    pub load: i64,
    /// Requests waiting for an answer.
    pub pending: i64,
    pub ratings: i64,
    pub rating_sum: i64,
}

const SELECT: &str = "SELECT m.user_id, \
     CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS display_name, \
     m.bio, m.languages, m.timezone, m.hours_per_week, m.mentee_limit, m.active, m.created_at, m.updated_at, \
     (SELECT count(*) FROM mentorships s WHERE s.tenant_id = m.tenant_id AND s.mentor_id = m.user_id \
      AND s.status IN ('accepted', 'active')) AS load, \
     (SELECT count(*) FROM mentorships s WHERE s.tenant_id = m.tenant_id AND s.mentor_id = m.user_id \
      AND s.status = 'requested') AS pending, \
     (SELECT count(s.rating) FROM mentorships s WHERE s.tenant_id = m.tenant_id AND s.mentor_id = m.user_id) AS ratings, \
     (SELECT coalesce(sum(s.rating), 0)::bigint FROM mentorships s WHERE s.tenant_id = m.tenant_id \
      AND s.mentor_id = m.user_id) AS rating_sum \
     FROM mentor_profiles m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id";

#[derive(Debug, Clone, FromQueryResult)]
pub struct MentorSkillRow {
    pub user_id: Uuid,
    pub skill_id: Uuid,
    pub name: String,
    pub teaches: bool,
}

/// A profile with its skills.
#[derive(Debug, Clone)]
pub struct Mentor {
    pub row: MentorRow,
    pub skills: Vec<MentorSkillRow>,
}

/// The skills of `mentors`, by mentor, by name.
pub async fn skills_of(
    tx: &TenantTx,
    mentors: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<MentorSkillRow>>> {
    let mut by_mentor: BTreeMap<Uuid, Vec<MentorSkillRow>> = BTreeMap::new();
    if mentors.is_empty() {
        return Ok(by_mentor);
    }
    let rows = MentorSkillRow::find_by_statement(statement(
        "SELECT ms.user_id, ms.skill_id, s.name, ms.teaches FROM mentor_skills ms \
         JOIN skills s ON s.tenant_id = ms.tenant_id AND s.id = ms.skill_id \
         WHERE ms.tenant_id = $1 AND ms.user_id = ANY($2) ORDER BY lower(s.name), s.id",
        vec![tx.tenant_id().as_uuid().into(), mentors.to_vec().into()],
    ))
    .all(tx)
    .await?;
    for row in rows {
        by_mentor.entry(row.user_id).or_default().push(row);
    }
    Ok(by_mentor)
}

async fn with_skills(tx: &TenantTx, rows: Vec<MentorRow>) -> Result<Vec<Mentor>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
    let mut skills = skills_of(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Mentor {
            skills: skills.remove(&row.user_id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// Active mentors who are active members, by name; at most `limit` (none: all of them).
pub async fn list(tx: &TenantTx, limit: Option<u64>) -> Result<Vec<Mentor>> {
    let rows = MentorRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE m.tenant_id = $1 AND m.active AND u.status = 'active' \
             ORDER BY lower(u.display_name), u.email LIMIT $2"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            limit.map(|l| l as i64).into(),
        ],
    ))
    .all(tx)
    .await?;
    with_skills(tx, rows).await
}

/// A member's mentor profile (a deactivated member has none to show).
pub async fn get(tx: &TenantTx, user: Uuid) -> Result<Mentor> {
    let row = MentorRow::find_by_statement(statement(
        &format!("{SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2 AND u.status = 'active'"),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)?;
    Ok(with_skills(tx, vec![row]).await?.remove(0))
}

/// A language as profiles keep it: trimmed, lower-case, 2 to 35 letters, spaces or hyphens.
pub fn language(field: &str, raw: &str) -> std::result::Result<String, FieldError> {
    let text = raw.trim().to_lowercase();
    if (2..=35).contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == ' ')
    {
        Ok(text)
    } else {
        Err(FieldError::new(
            field,
            "must be a language (2 to 35 letters, like en or português)",
        ))
    }
}

/// What a mentor says of themselves.
#[derive(Debug, Clone)]
pub struct ProfileInput {
    pub bio: String,
    pub languages: Vec<String>,
    pub timezone: String,
    pub hours_per_week: i64,
    pub mentee_limit: i64,
    pub active: bool,
    /// Skill and whether they are happy to teach it.
    pub skills: Vec<(Uuid, bool)>,
}

/// Creates or replaces the caller's mentor profile.
pub async fn save(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    input: ProfileInput,
) -> Result<Mentor> {
    let mut errors = Vec::new();
    let bio = validate::prose("bio", &input.bio, 2000)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let mut languages = BTreeSet::new();
    for (i, raw) in input.languages.iter().enumerate() {
        match language(&format!("languages[{i}]"), raw) {
            Ok(lang) => {
                languages.insert(lang);
            }
            Err(e) => errors.push(e),
        }
    }
    if languages.len() > 10 {
        errors.push(FieldError::new("languages", "must list at most 10"));
    }
    if let Err(e) = validate::time_zone("timezone", &input.timezone) {
        errors.push(e);
    }
    if !(1..=40).contains(&input.hours_per_week) {
        errors.push(FieldError::new(
            "hours_per_week",
            "must be between 1 and 40",
        ));
    }
    if !(1..=20).contains(&input.mentee_limit) {
        errors.push(FieldError::new("mentee_limit", "must be between 1 and 20"));
    }
    let skill_ids: Vec<Uuid> = input.skills.iter().map(|(id, _)| *id).collect();
    if skill_ids.len() > MAX_SKILLS {
        errors.push(FieldError::new(
            "skills",
            format!("must list at most {MAX_SKILLS}"),
        ));
    } else if skill_ids.iter().collect::<BTreeSet<_>>().len() != skill_ids.len() {
        errors.push(FieldError::new("skills", "must not list a skill twice"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // The profile's row first (locked), then its skills: two saves at once do not interleave.
    let existed = tx
        .query_one_raw(statement(
            "SELECT 1 AS found FROM mentor_profiles WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await?
        .is_some();
    let kept: BTreeSet<Uuid> = if existed {
        skills_of(tx, &[user])
            .await?
            .remove(&user)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.skill_id)
            .collect()
    } else {
        BTreeSet::new()
    };
    taxonomy::check_skill_list(tx, |i| format!("skills[{i}].skill_id"), &skill_ids, &kept)
        .await
        .map_err(ApiError::from)?;
    let languages: Vec<String> = languages.into_iter().collect();
    tx.execute_raw(statement(
        "INSERT INTO mentor_profiles (tenant_id, user_id, bio, languages, timezone, hours_per_week, \
         mentee_limit, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET bio = excluded.bio, languages = excluded.languages, \
         timezone = excluded.timezone, hours_per_week = excluded.hours_per_week, \
         mentee_limit = excluded.mentee_limit, active = excluded.active, updated_at = excluded.updated_at",
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            bio.into(),
            languages.clone().into(),
            input.timezone.clone().into(),
            (input.hours_per_week as i16).into(),
            (input.mentee_limit as i16).into(),
            input.active.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    tx.execute_raw(statement(
        "DELETE FROM mentor_skills WHERE tenant_id = $1 AND user_id = $2",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .await?;
    for (skill, teaches) in &input.skills {
        tx.execute_raw(statement(
            "INSERT INTO mentor_skills (tenant_id, user_id, skill_id, teaches) VALUES ($1, $2, $3, $4)",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                (*skill).into(),
                (*teaches).into(),
            ],
        ))
        .await?;
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if existed {
            "mentor_profile.updated"
        } else {
            "mentor_profile.created"
        })
        .target("mentor_profile", user, None)
        .metadata(json!({
            "active": input.active, "languages": languages, "timezone": input.timezone,
            "hours_per_week": input.hours_per_week, "mentee_limit": input.mentee_limit,
            "skills": input.skills.len(),
        })),
    )
    .await?;
    get(tx, user).await
}
