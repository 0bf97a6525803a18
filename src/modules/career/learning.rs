//! Learning: the organization's course catalogue (what each course teaches, to which level), members'
//! enrolments and progress, and completion as evidence — a finished course can raise the member's self
//! rating of the skills it teaches. Each skill gap lists the courses that teach the skill.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    CareerError, Checks, Result, label, level, profiles, prose,
    readiness::{Gap, LearningItem},
    taxonomy, web_url,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::SqlBuilder,
    db::sql::statement,
    error::FieldError,
    http::pagination::PageRequest,
    tenancy::TenantTx,
};

pub const COURSE_STATUSES: &[&str] = &["active", "retired"];
/// Skills a course teaches, at most.
pub const MAX_COURSE_SKILLS: usize = 20;
/// Courses listed with each gap, at most.
pub const LEARNING_PER_GAP: usize = 3;

#[derive(Debug, Clone, FromQueryResult)]
pub struct CourseRow {
    pub id: Uuid,
    pub title: String,
    pub provider: String,
    pub url: Option<String>,
    pub description: String,
    pub duration_minutes: Option<i32>,
    pub status: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// Members enrolled and not finished or dropped.
    pub learners: i64,
    pub completions: i64,
}

const COURSE_SELECT: &str = "SELECT c.id, c.title, c.provider, c.url, c.description, \
     c.duration_minutes, c.status, c.created_at, c.updated_at, \
     (SELECT count(*) FROM course_enrolments e WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id \
      AND e.status IN ('enrolled', 'in_progress')) AS learners, \
     (SELECT count(*) FROM course_enrolments e WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id \
      AND e.status = 'completed') AS completions FROM courses c";

#[derive(Debug, Clone, FromQueryResult)]
pub struct CourseSkillRow {
    pub course_id: Uuid,
    pub skill_id: Uuid,
    pub name: String,
    pub level: i16,
}

/// A course with the skills it teaches.
#[derive(Debug, Clone)]
pub struct Course {
    pub course: CourseRow,
    pub skills: Vec<CourseSkillRow>,
}

/// The skills taught by each of `courses`.
async fn skills_of(tx: &TenantTx, courses: &[Uuid]) -> Result<BTreeMap<Uuid, Vec<CourseSkillRow>>> {
    let mut by_course: BTreeMap<Uuid, Vec<CourseSkillRow>> = BTreeMap::new();
    if courses.is_empty() {
        return Ok(by_course);
    }
    let rows = CourseSkillRow::find_by_statement(statement(
        "SELECT cs.course_id, cs.skill_id, s.name, cs.level FROM course_skills cs \
         JOIN skills s ON s.tenant_id = cs.tenant_id AND s.id = cs.skill_id \
         WHERE cs.tenant_id = $1 AND cs.course_id = ANY($2) ORDER BY lower(s.name), s.id",
        vec![tx.tenant_id().as_uuid().into(), courses.to_vec().into()],
    ))
    .all(tx)
    .await?;
    for row in rows {
        by_course.entry(row.course_id).or_default().push(row);
    }
    Ok(by_course)
}

async fn with_skills(tx: &TenantTx, rows: Vec<CourseRow>) -> Result<Vec<Course>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut skills = skills_of(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|course| Course {
            skills: skills.remove(&course.id).unwrap_or_default(),
            course,
        })
        .collect())
}

#[derive(Debug, Default)]
pub struct CourseFilter {
    /// Part of the title or provider, any case.
    pub search: Option<String>,
    /// Courses that teach this skill.
    pub skill_id: Option<Uuid>,
    /// `active` unless asked.
    pub status: Option<String>,
}

/// A page of courses by title (`limit + 1` rows: the extra one says there is more).
pub async fn list_courses(
    tx: &TenantTx,
    filter: &CourseFilter,
    page: &PageRequest<(String, Uuid)>,
) -> Result<Vec<Course>> {
    let mut query = SqlBuilder::new(
        format!("{COURSE_SELECT} WHERE c.tenant_id = $1"),
        tx.tenant_id().as_uuid(),
    );
    query.and_contains(
        &["lower(c.title)", "lower(c.provider)"],
        filter.search.as_deref(),
    );
    if let Some(skill) = filter.skill_id {
        let n = query.bind(skill);
        query.push(&format!(
            " AND EXISTS (SELECT 1 FROM course_skills cs WHERE cs.tenant_id = c.tenant_id \
             AND cs.course_id = c.id AND cs.skill_id = ${n})"
        ));
    }
    let status = filter.status.as_deref().unwrap_or("active");
    match COURSE_STATUSES.iter().find(|s| **s == status) {
        Some(known) => query.and_equals_known("c.status", known),
        None => return Err(CareerError::invalid("status", "must be active or retired")),
    }
    if let Some((title, id)) = &page.after {
        let (t, i) = (query.bind(title.clone()), query.bind(*id));
        query.push(&format!(" AND (lower(c.title), c.id) > (${t}, ${i})"));
    }
    query.push(" ORDER BY lower(c.title), c.id");
    query.limit(page.limit + 1);
    let rows = CourseRow::find_by_statement(query.build()).all(tx).await?;
    with_skills(tx, rows).await
}

pub async fn course(tx: &TenantTx, id: Uuid) -> Result<Course> {
    let row = CourseRow::find_by_statement(statement(
        &format!("{COURSE_SELECT} WHERE c.tenant_id = $1 AND c.id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)?;
    let mut skills = skills_of(tx, &[id]).await?;
    Ok(Course {
        skills: skills.remove(&id).unwrap_or_default(),
        course: row,
    })
}

/// One skill a course teaches, as given: the level a finisher reaches.
pub struct TaughtSkill {
    pub skill_id: Uuid,
    pub level: i64,
}

/// A course's fields; for a change, `None` keeps the current value.
#[derive(Default)]
pub struct CourseFields {
    pub title: Option<String>,
    pub provider: Option<String>,
    /// `Some(None)` clears it.
    pub url: Option<Option<String>>,
    pub description: Option<String>,
    pub duration_minutes: Option<Option<i64>>,
    pub status: Option<String>,
    /// Replaces the whole list.
    pub skills: Option<Vec<TaughtSkill>>,
}

struct CheckedCourse {
    title: Option<String>,
    provider: Option<String>,
    url: Option<Option<String>>,
    description: Option<String>,
    duration_minutes: Option<Option<i32>>,
    skills: Option<Vec<(Uuid, i16)>>,
}

fn check_course(fields: &CourseFields) -> Result<CheckedCourse> {
    let mut checks = Checks::default();
    let title = fields
        .title
        .as_deref()
        .and_then(|t| checks.take(label("title", t, 200)));
    let provider = fields
        .provider
        .as_deref()
        .and_then(|p| checks.take(prose("provider", p, 120)));
    let url = match &fields.url {
        Some(Some(raw)) => checks.take(web_url("url", raw)).map(Some),
        Some(None) => Some(None),
        None => None,
    };
    let description = fields
        .description
        .as_deref()
        .and_then(|d| checks.take(prose("description", d, 2000)));
    let duration_minutes = match fields.duration_minutes {
        Some(Some(minutes)) if (1..=100_000).contains(&minutes) => Some(Some(minutes as i32)),
        Some(Some(_)) => {
            checks.0.push(FieldError::new(
                "duration_minutes",
                "must be between 1 and 100000",
            ));
            None
        }
        Some(None) => Some(None),
        None => None,
    };
    if let Some(status) = &fields.status
        && !COURSE_STATUSES.contains(&status.as_str())
    {
        checks
            .0
            .push(FieldError::new("status", "must be active or retired"));
    }
    let skills = fields.skills.as_ref().map(|list| {
        if list.len() > MAX_COURSE_SKILLS {
            checks.0.push(FieldError::new(
                "skills",
                format!("at most {MAX_COURSE_SKILLS} per course"),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, taught) in list.iter().enumerate() {
            if !seen.insert(taught.skill_id) {
                checks.0.push(FieldError::new(
                    format!("skills[{i}].skill_id"),
                    "names a skill listed before",
                ));
            }
            if let Some(level) = checks.take(level(&format!("skills[{i}].level"), taught.level)) {
                out.push((taught.skill_id, level));
            }
        }
        out
    });
    checks.done()?;
    Ok(CheckedCourse {
        title,
        provider,
        url,
        description,
        duration_minutes,
        skills,
    })
}

async fn title_taken(
    tx: &TenantTx,
    title: &str,
    provider: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let taken = tx
        .query_one_raw(statement(
            "SELECT 1 AS found FROM courses WHERE tenant_id = $1 AND lower(title) = lower($2) \
             AND lower(provider) = lower($3) AND id IS DISTINCT FROM $4",
            vec![
                tx.tenant_id().as_uuid().into(),
                title.into(),
                provider.into(),
                except.into(),
            ],
        ))
        .await?
        .is_some();
    if taken {
        return Err(CareerError::Taken {
            code: "course_exists",
            detail: format!("the catalogue has a course {title:?} from this provider already"),
        });
    }
    Ok(())
}

/// Replaces the course's skills. A skill the course already teaches may stay though retired since; a
/// new one must be active.
async fn set_skills(tx: &TenantTx, course_id: Uuid, skills: &[(Uuid, i16)]) -> Result<()> {
    let kept: BTreeSet<Uuid> = skills_of(tx, &[course_id])
        .await?
        .remove(&course_id)
        .unwrap_or_default()
        .iter()
        .map(|s| s.skill_id)
        .collect();
    let ids: Vec<Uuid> = skills.iter().map(|(skill, _)| *skill).collect();
    taxonomy::check_skill_list(tx, |i| format!("skills[{i}].skill_id"), &ids, &kept).await?;
    tx.execute_raw(statement(
        "DELETE FROM course_skills WHERE tenant_id = $1 AND course_id = $2",
        vec![tx.tenant_id().as_uuid().into(), course_id.into()],
    ))
    .await?;
    for (skill, level) in skills {
        tx.execute_raw(statement(
            "INSERT INTO course_skills (tenant_id, course_id, skill_id, level) VALUES ($1, $2, $3, $4)",
            vec![
                tx.tenant_id().as_uuid().into(),
                course_id.into(),
                (*skill).into(),
                (*level).into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

fn summary(course: &Course) -> serde_json::Value {
    json!({
        "title": course.course.title,
        "provider": course.course.provider,
        "url": course.course.url,
        "duration_minutes": course.course.duration_minutes,
        "status": course.course.status,
        "skills": course.skills.iter()
            .map(|s| json!({ "skill": s.name, "level": s.level }))
            .collect::<Vec<_>>(),
    })
}

/// Adds a course to the catalogue (`title` is required; the rest defaults to empty).
pub async fn create_course(tx: &TenantTx, ctx: &AuditCtx, fields: CourseFields) -> Result<Course> {
    if fields.title.is_none() {
        return Err(CareerError::invalid("title", "is required"));
    }
    let checked = check_course(&fields)?;
    let title = checked.title.unwrap_or_default();
    let provider = checked.provider.unwrap_or_default();
    title_taken(tx, &title, &provider, None).await?;
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO courses (tenant_id, id, title, provider, url, description, duration_minutes, \
         status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            title.into(),
            provider.into(),
            checked.url.flatten().into(),
            checked.description.unwrap_or_default().into(),
            checked.duration_minutes.flatten().into(),
            fields.status.unwrap_or_else(|| "active".into()).into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    set_skills(tx, id, &checked.skills.unwrap_or_default()).await?;
    let created = course(tx, id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("course.created")
            .target("course", id, Some(&created.course.title))
            .metadata(json!({ "after": summary(&created) })),
    )
    .await?;
    Ok(created)
}

/// Changes a course: its fields, its status (`retired` takes it out of the catalogue and the gaps;
/// enrolments stay), or the whole list of skills it teaches.
pub async fn update_course(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    fields: CourseFields,
) -> Result<Course> {
    let checked = check_course(&fields)?;
    tx.execute_raw(statement(
        "SELECT 1 FROM courses WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    let before = course(tx, id).await?;
    let title = checked.title.unwrap_or_else(|| before.course.title.clone());
    let provider = checked
        .provider
        .unwrap_or_else(|| before.course.provider.clone());
    title_taken(tx, &title, &provider, Some(id)).await?;
    tx.execute_raw(statement(
        "UPDATE courses SET title = $3, provider = $4, url = $5, description = $6, \
         duration_minutes = $7, status = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            title.into(),
            provider.into(),
            checked.url.unwrap_or(before.course.url.clone()).into(),
            checked
                .description
                .unwrap_or_else(|| before.course.description.clone())
                .into(),
            checked
                .duration_minutes
                .unwrap_or(before.course.duration_minutes)
                .into(),
            fields
                .status
                .clone()
                .unwrap_or_else(|| before.course.status.clone())
                .into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    if let Some(skills) = &checked.skills {
        set_skills(tx, id, skills).await?;
    }
    let after = course(tx, id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("course.updated")
            .target("course", id, Some(&after.course.title))
            .metadata(json!({ "before": summary(&before), "after": summary(&after) })),
    )
    .await?;
    Ok(after)
}

/// Deletes a course nobody enrolled in (409 `course_in_use` otherwise: retire it).
pub async fn delete_course(tx: &TenantTx, ctx: &AuditCtx, id: Uuid) -> Result<()> {
    tx.execute_raw(statement(
        "SELECT 1 FROM courses WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    let before = course(tx, id).await?;
    let enrolled = tx
        .query_one_raw(statement(
            "SELECT 1 AS found FROM course_enrolments WHERE tenant_id = $1 AND course_id = $2 LIMIT 1",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?
        .is_some();
    if enrolled {
        return Err(CareerError::conflict(
            "course_in_use",
            "members have enrolled in this course; retire it instead",
        ));
    }
    tx.execute_raw(statement(
        "DELETE FROM courses WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("course.deleted")
            .target("course", id, Some(&before.course.title))
            .metadata(json!({ "before": summary(&before) })),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct EnrolmentRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub course_id: Uuid,
    pub title: String,
    pub provider: String,
    pub url: Option<String>,
    pub duration_minutes: Option<i32>,
    pub status: String,
    pub progress: i16,
    pub enrolled_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub completed_at: Option<DateTime<FixedOffset>>,
}

const ENROLMENT_SELECT: &str = "SELECT e.id, e.user_id, e.course_id, c.title, c.provider, c.url, \
     c.duration_minutes, e.status, e.progress, e.enrolled_at, e.updated_at, e.completed_at \
     FROM course_enrolments e JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id";

/// A member's enrolments: open ones first, then finished, newest first.
pub async fn enrolments(tx: &TenantTx, user: Uuid) -> Result<Vec<EnrolmentRow>> {
    Ok(EnrolmentRow::find_by_statement(statement(
        &format!(
            "{ENROLMENT_SELECT} WHERE e.tenant_id = $1 AND e.user_id = $2 \
             ORDER BY e.status IN ('enrolled', 'in_progress') DESC, e.updated_at DESC, e.id DESC \
             LIMIT 500"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

/// The member's enrolment `id` (someone else's is not found).
pub async fn enrolment(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<EnrolmentRow> {
    EnrolmentRow::find_by_statement(statement(
        &format!("{ENROLMENT_SELECT} WHERE e.tenant_id = $1 AND e.user_id = $2 AND e.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

async fn enrolment_in(tx: &TenantTx, user: Uuid, course_id: Uuid) -> Result<Option<EnrolmentRow>> {
    Ok(EnrolmentRow::find_by_statement(statement(
        &format!(
            "{ENROLMENT_SELECT} WHERE e.tenant_id = $1 AND e.user_id = $2 AND e.course_id = $3 \
             FOR UPDATE OF e"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            course_id.into(),
        ],
    ))
    .one(tx)
    .await?)
}

/// Enrols the member in an active course. Already enrolled: the enrolment as it is (`false`); dropped
/// before: reopened where it was left; completed: 409 `course_completed`. The course is locked against
/// a concurrent retirement or deletion; of two enrolments at once, the second finds the first's.
pub async fn enrol(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    course_id: Uuid,
) -> Result<(EnrolmentRow, bool)> {
    tx.execute_raw(statement(
        "SELECT 1 FROM courses WHERE tenant_id = $1 AND id = $2 FOR SHARE",
        vec![tx.tenant_id().as_uuid().into(), course_id.into()],
    ))
    .await?;
    let found = course(tx, course_id).await?;
    let existing = enrolment_in(tx, user, course_id).await?;
    match existing.as_ref().map(|e| e.status.as_str()) {
        Some("enrolled" | "in_progress") => {
            return existing.map(|e| (e, false)).ok_or(CareerError::NotFound);
        }
        Some("completed") => {
            return Err(CareerError::conflict(
                "course_completed",
                "you have completed this course already",
            ));
        }
        _ => {}
    }
    if found.course.status != "active" {
        return Err(CareerError::conflict(
            "course_retired",
            "this course is no longer offered",
        ));
    }
    let id = match &existing {
        Some(dropped) => {
            tx.execute_raw(statement(
                "UPDATE course_enrolments SET status = CASE WHEN progress > 0 THEN 'in_progress' \
                 ELSE 'enrolled' END, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
                vec![
                    tx.tenant_id().as_uuid().into(),
                    dropped.id.into(),
                    ctx.now.into(),
                ],
            ))
            .await?;
            dropped.id
        }
        None => {
            let id = Uuid::now_v7();
            let inserted = tx
                .execute_raw(statement(
                    "INSERT INTO course_enrolments (tenant_id, id, course_id, user_id, status, \
                     progress, enrolled_at, updated_at) VALUES ($1, $2, $3, $4, 'enrolled', 0, $5, $5) \
                     ON CONFLICT (tenant_id, user_id, course_id) DO NOTHING",
                    vec![
                        tx.tenant_id().as_uuid().into(),
                        id.into(),
                        course_id.into(),
                        user.into(),
                        ctx.now.into(),
                    ],
                ))
                .await?
                .rows_affected();
            if inserted == 0 {
                // Enrolled by a request that committed meanwhile.
                let theirs = enrolment_in(tx, user, course_id)
                    .await?
                    .ok_or(CareerError::NotFound)?;
                return Ok((theirs, false));
            }
            id
        }
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new("course.enrolled")
            .target("course", course_id, Some(&found.course.title))
            .metadata(
                json!({ "enrolment_id": id, "user_id": user, "reopened": existing.is_some() }),
            ),
    )
    .await?;
    Ok((enrolment(tx, user, id).await?, true))
}

/// A member's change to an enrolment.
pub struct EnrolmentChange {
    /// 0 to 100; 100 completes the course.
    pub progress: Option<i64>,
    /// `completed` or `dropped`.
    pub status: Option<String>,
    /// On completion, add self ratings at the levels the course teaches where the member's own is
    /// lower (true unless asked otherwise).
    pub apply_to_profile: bool,
}

/// A self rating a completed course raised.
#[derive(Debug, Clone)]
pub struct Raised {
    pub skill_id: Uuid,
    pub skill: String,
    /// The member's previous self rating (0 when there was none).
    pub from: i16,
    pub to: i16,
}

/// Records progress, completion or dropping out. Completion sets progress to 100 and, unless asked
/// not to, raises the member's self ratings of the skills taught (active skills only) as evidence.
pub async fn update_enrolment(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    change: EnrolmentChange,
) -> Result<(EnrolmentRow, Vec<Raised>)> {
    let mut checks = Checks::default();
    if let Some(progress) = change.progress
        && !(0..=100).contains(&progress)
    {
        checks
            .0
            .push(FieldError::new("progress", "must be between 0 and 100"));
    }
    if let Some(status) = &change.status
        && !["completed", "dropped"].contains(&status.as_str())
    {
        checks
            .0
            .push(FieldError::new("status", "must be completed or dropped"));
    }
    if change.status.as_deref() == Some("dropped") && change.progress == Some(100) {
        checks.0.push(FieldError::new(
            "progress",
            "100 completes the course; it cannot be dropped at the same time",
        ));
    }
    checks.done()?;
    let before = EnrolmentRow::find_by_statement(statement(
        &format!(
            "{ENROLMENT_SELECT} WHERE e.tenant_id = $1 AND e.user_id = $2 AND e.id = $3 FOR UPDATE OF e"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)?;
    match before.status.as_str() {
        "completed" => {
            return Err(CareerError::conflict(
                "enrolment_completed",
                "this course is completed",
            ));
        }
        "dropped" => {
            return Err(CareerError::conflict(
                "enrolment_dropped",
                "this enrolment was dropped; enrol again to continue",
            ));
        }
        _ => {}
    }
    let completing = change.status.as_deref() == Some("completed") || change.progress == Some(100);
    let (status, progress) = if completing {
        ("completed", 100)
    } else if change.status.as_deref() == Some("dropped") {
        (
            "dropped",
            change.progress.map_or(before.progress, |p| p as i16),
        )
    } else {
        let progress = change.progress.map_or(before.progress, |p| p as i16);
        (
            if progress > 0 {
                "in_progress"
            } else {
                "enrolled"
            },
            progress,
        )
    };
    tx.execute_raw(statement(
        "UPDATE course_enrolments SET status = $3, progress = $4, updated_at = $5, \
         completed_at = CASE WHEN $3 = 'completed' THEN $5 END WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            status.into(),
            progress.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let mut raised = Vec::new();
    if completing && change.apply_to_profile {
        let taught = skills_of(tx, &[before.course_id])
            .await?
            .remove(&before.course_id)
            .unwrap_or_default();
        let note = format!("completed the course {:?}", before.title);
        for skill in taught {
            if let Some(from) =
                profiles::raise_self_rating(tx, ctx, user, skill.skill_id, skill.level, &note)
                    .await?
            {
                raised.push(Raised {
                    skill_id: skill.skill_id,
                    skill: skill.name,
                    from,
                    to: skill.level,
                });
            }
        }
    }
    let action = match status {
        "completed" => "course_enrolment.completed",
        "dropped" => "course_enrolment.dropped",
        _ => "course_enrolment.progressed",
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("course", before.course_id, Some(&before.title))
            .metadata(json!({
                "enrolment_id": id,
                "user_id": user,
                "before": { "status": before.status, "progress": before.progress },
                "after": { "status": status, "progress": progress },
                "ratings_raised": raised.iter()
                    .map(|r| json!({ "skill_id": r.skill_id, "skill": r.skill, "from": r.from, "to": r.to }))
                    .collect::<Vec<_>>(),
            })),
    )
    .await?;
    Ok((enrolment(tx, user, id).await?, raised))
}

/// The courses that teach a gap's skill, best first: those that reach the required level, then the
/// higher level, then the shorter, then by title; at most [`LEARNING_PER_GAP`].
pub fn pick_learning(min_level: u8, mut candidates: Vec<LearningItem>) -> Vec<LearningItem> {
    for item in &mut candidates {
        item.closes_gap = item.level >= min_level;
    }
    candidates.sort_by(|a, b| {
        b.closes_gap
            .cmp(&a.closes_gap)
            .then(b.level.cmp(&a.level))
            .then(
                a.duration_minutes
                    .unwrap_or(i32::MAX)
                    .cmp(&b.duration_minutes.unwrap_or(i32::MAX)),
            )
            .then(a.title.to_lowercase().cmp(&b.title.to_lowercase()))
            .then(a.course_id.cmp(&b.course_id))
    });
    candidates.truncate(LEARNING_PER_GAP);
    candidates
}

#[derive(Debug, FromQueryResult)]
struct TeachingRow {
    skill_id: Uuid,
    course_id: Uuid,
    title: String,
    provider: String,
    url: Option<String>,
    duration_minutes: Option<i32>,
    level: i16,
}

/// Fills each gap's `learning` with the active courses that teach its skill.
pub async fn attach(tx: &TenantTx, gaps: &mut [Gap]) -> Result<()> {
    if gaps.is_empty() {
        return Ok(());
    }
    let skills: Vec<Uuid> = gaps.iter().map(|g| g.skill_id).collect();
    let rows = TeachingRow::find_by_statement(statement(
        "SELECT cs.skill_id, c.id AS course_id, c.title, c.provider, c.url, c.duration_minutes, cs.level \
         FROM course_skills cs JOIN courses c ON c.tenant_id = cs.tenant_id AND c.id = cs.course_id \
         WHERE cs.tenant_id = $1 AND cs.skill_id = ANY($2) AND c.status = 'active'",
        vec![tx.tenant_id().as_uuid().into(), skills.into()],
    ))
    .all(tx)
    .await?;
    let mut by_skill: BTreeMap<Uuid, Vec<LearningItem>> = BTreeMap::new();
    for row in rows {
        by_skill
            .entry(row.skill_id)
            .or_default()
            .push(LearningItem {
                course_id: row.course_id,
                title: row.title,
                provider: row.provider,
                url: row.url,
                duration_minutes: row.duration_minutes,
                level: u8::try_from(row.level).unwrap_or(0),
                closes_gap: false,
            });
    }
    for gap in gaps {
        gap.learning = pick_learning(
            gap.min_level,
            by_skill.remove(&gap.skill_id).unwrap_or_default(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, level: u8, minutes: Option<i32>) -> LearningItem {
        LearningItem {
            course_id: Uuid::now_v7(),
            title: title.into(),
            provider: String::new(),
            url: None,
            duration_minutes: minutes,
            level,
            closes_gap: false,
        }
    }

    #[test]
    fn courses_that_close_the_gap_come_first_then_level_then_length() {
        let picked = pick_learning(
            3,
            vec![
                item("Intro", 2, Some(60)),
                item("Deep dive", 4, Some(600)),
                item("Practitioner", 3, Some(120)),
                item("Bootcamp", 3, Some(90)),
                item("Self-paced", 3, None),
            ],
        );
        let titles: Vec<&str> = picked.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, ["Deep dive", "Bootcamp", "Practitioner"]);
        assert!(picked.iter().all(|i| i.closes_gap));
    }

    #[test]
    fn a_course_below_the_required_level_is_still_listed_but_does_not_close_the_gap() {
        let picked = pick_learning(4, vec![item("Intro", 2, Some(60))]);
        assert_eq!(picked.len(), 1);
        assert!(!picked[0].closes_gap);
    }
}
