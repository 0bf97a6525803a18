//! The organization's interview questions: its copy of the bank that ships with the product and the
//! questions HR adds, tagged with the organization's skills and competencies. Each question shows how
//! often it was answered in mock interviews and the average score.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::bank::INDUSTRIES;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::SqlBuilder,
    db::sql::statement,
    error::{ApiError, FieldError},
    http::pagination::PageRequest,
    modules::career::taxonomy,
    tenancy::TenantTx,
    validate,
};

pub const KINDS: &[&str] = &["behavioral", "technical", "case"];
pub const STATUSES: &[&str] = &["active", "retired"];
pub const MAX_POINTS: usize = 10;
pub const MAX_SKILLS: usize = 10;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct QuestionRow {
    pub id: Uuid,
    pub kind: String,
    pub category: String,
    pub subcategory: String,
    pub difficulty: i16,
    pub industries: Vec<String>,
    pub text: String,
    pub expected_points: Vec<String>,
    pub status: String,
    pub starter_key: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// Answers given to it in mock interviews.
    pub times_answered: i64,
    pub average_score: Option<f64>,
}

const QUESTION_SELECT: &str = "SELECT q.id, q.kind, q.category, q.subcategory, q.difficulty, \
     q.industries, q.text, q.expected_points, q.status, q.starter_key, q.created_at, q.updated_at, \
     u.times_answered, u.average_score FROM interview_questions q \
     CROSS JOIN LATERAL (SELECT count(*) AS times_answered, round(avg(a.score), 1)::float8 AS average_score \
       FROM interview_session_questions a WHERE a.tenant_id = q.tenant_id AND a.question_id = q.id \
       AND a.score IS NOT NULL) u";

#[derive(Debug, Clone, FromQueryResult)]
pub struct TagRow {
    pub question_id: Uuid,
    pub skill_id: Uuid,
    pub name: String,
}

/// A question with the skills it is tagged with.
#[derive(Debug, Clone)]
pub struct Question {
    pub question: QuestionRow,
    pub skills: Vec<TagRow>,
}

async fn with_tags(tx: &TenantTx, rows: Vec<QuestionRow>) -> Result<Vec<Question>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut tags: BTreeMap<Uuid, Vec<TagRow>> = BTreeMap::new();
    if !ids.is_empty() {
        for tag in TagRow::find_by_statement(statement(
            "SELECT t.question_id, t.skill_id, s.name FROM interview_question_skills t \
             JOIN skills s ON s.tenant_id = t.tenant_id AND s.id = t.skill_id \
             WHERE t.tenant_id = $1 AND t.question_id = ANY($2) ORDER BY lower(s.name), s.id",
            vec![tx.tenant_id().as_uuid().into(), ids.into()],
        ))
        .all(tx)
        .await?
        {
            tags.entry(tag.question_id).or_default().push(tag);
        }
    }
    Ok(rows
        .into_iter()
        .map(|question| Question {
            skills: tags.remove(&question.id).unwrap_or_default(),
            question,
        })
        .collect())
}

#[derive(Debug, Default)]
pub struct QuestionFilter {
    /// Part of the text, category or subcategory.
    pub search: Option<String>,
    pub kind: Option<String>,
    pub difficulty: Option<i64>,
    pub category: Option<String>,
    /// Questions for this industry (and those for any industry).
    pub industry: Option<String>,
    /// Questions tagged with this skill.
    pub skill_id: Option<Uuid>,
    /// `starter` (from the bank that ships) or `org` (the organization's own).
    pub source: Option<String>,
    /// `active` unless asked.
    pub status: Option<String>,
}

fn known(field: &str, value: &str, set: &[&'static str]) -> Result<&'static str> {
    set.iter()
        .find(|k| **k == value)
        .copied()
        .ok_or_else(|| ApiError::validation(field, format!("must be one of {}", set.join(", "))))
}

/// A page of questions by text (`limit + 1` rows: the extra one says there is more).
pub async fn list(
    tx: &TenantTx,
    filter: &QuestionFilter,
    page: &PageRequest<(String, Uuid)>,
) -> Result<Vec<Question>> {
    let mut query = SqlBuilder::new(
        format!("{QUESTION_SELECT} WHERE q.tenant_id = $1"),
        tx.tenant_id().as_uuid(),
    );
    query.and_contains(
        &["lower(q.text)", "lower(q.category)", "lower(q.subcategory)"],
        filter.search.as_deref(),
    );
    if let Some(kind) = &filter.kind {
        query.and_equals_known("q.kind", known("kind", kind, KINDS)?);
    }
    if let Some(difficulty) = filter.difficulty {
        if !(1..=5).contains(&difficulty) {
            return Err(ApiError::validation(
                "difficulty",
                "must be between 1 and 5",
            ));
        }
        let n = query.bind(difficulty as i16);
        query.push(&format!(" AND q.difficulty = ${n}"));
    }
    if let Some(category) = &filter.category {
        let n = query.bind(category.to_lowercase());
        query.push(&format!(" AND lower(q.category) = ${n}"));
    }
    if let Some(industry) = &filter.industry {
        let industry = known("industry", industry, INDUSTRIES)?;
        let n = query.bind(industry);
        query.push(&format!(
            " AND (${n} = ANY(q.industries) OR 'any' = ANY(q.industries))"
        ));
    }
    if let Some(skill) = filter.skill_id {
        let n = query.bind(skill);
        query.push(&format!(
            " AND EXISTS (SELECT 1 FROM interview_question_skills t WHERE t.tenant_id = q.tenant_id \
             AND t.question_id = q.id AND t.skill_id = ${n})"
        ));
    }
    match filter.source.as_deref() {
        None => {}
        Some("starter") => query.push(" AND q.starter_key IS NOT NULL"),
        Some("org") => query.push(" AND q.starter_key IS NULL"),
        Some(_) => return Err(ApiError::validation("source", "must be starter or org")),
    }
    let status = filter.status.as_deref().unwrap_or("active");
    query.and_equals_known("q.status", known("status", status, STATUSES)?);
    if let Some((text, id)) = &page.after {
        let (t, i) = (query.bind(text.clone()), query.bind(*id));
        query.push(&format!(" AND (lower(q.text), q.id) > (${t}, ${i})"));
    }
    query.push(" ORDER BY lower(q.text), q.id");
    query.limit(page.limit + 1);
    let rows = QuestionRow::find_by_statement(query.build())
        .all(tx)
        .await?;
    with_tags(tx, rows).await
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<Question> {
    let row = QuestionRow::find_by_statement(statement(
        &format!("{QUESTION_SELECT} WHERE q.tenant_id = $1 AND q.id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)?;
    with_tags(tx, vec![row])
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)
}

/// A question's fields; for a change, `None` keeps the current value.
#[derive(Debug, Default)]
pub struct QuestionFields {
    pub kind: Option<String>,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub difficulty: Option<i64>,
    pub industries: Option<Vec<String>>,
    pub text: Option<String>,
    pub expected_points: Option<Vec<String>>,
    pub status: Option<String>,
    /// Replaces the whole list.
    pub skill_ids: Option<Vec<Uuid>>,
}

/// A name or text of `min..=max` characters (trimmed, no control characters).
fn text_field(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
) -> String {
    if raw.trim().is_empty() && min == 0 {
        return String::new();
    }
    match validate::label(field, raw, max) {
        Ok(text) if text.chars().count() >= min => text,
        Ok(text) => {
            errors.push(FieldError::new(
                field,
                format!("must be at least {min} characters"),
            ));
            text
        }
        Err(error) => {
            errors.push(error);
            raw.trim().to_owned()
        }
    }
}

struct Values {
    kind: String,
    category: String,
    subcategory: String,
    difficulty: i16,
    industries: Vec<String>,
    text: String,
    expected_points: Vec<String>,
    status: String,
}

fn resolve(fields: &QuestionFields, before: Option<&QuestionRow>) -> Result<Values> {
    let mut errors = Vec::new();
    let kind = match (&fields.kind, before) {
        (Some(kind), _) => kind.clone(),
        (None, Some(b)) => b.kind.clone(),
        (None, None) => String::new(),
    };
    if !KINDS.contains(&kind.as_str()) {
        errors.push(FieldError::new(
            "kind",
            "must be behavioral, technical or case",
        ));
    }
    let category = match (&fields.category, before) {
        (Some(raw), _) => text_field(&mut errors, "category", raw, 1, 80),
        (None, Some(b)) => b.category.clone(),
        (None, None) => text_field(&mut errors, "category", "", 1, 80),
    };
    let subcategory = match (&fields.subcategory, before) {
        (Some(raw), _) => text_field(&mut errors, "subcategory", raw, 0, 80),
        (None, Some(b)) => b.subcategory.clone(),
        (None, None) => String::new(),
    };
    let difficulty = fields
        .difficulty
        .or(before.map(|b| i64::from(b.difficulty)))
        .unwrap_or(0);
    if !(1..=5).contains(&difficulty) {
        errors.push(FieldError::new("difficulty", "must be between 1 and 5"));
    }
    let industries = match (&fields.industries, before) {
        (Some(list), _) => list.clone(),
        (None, Some(b)) => b.industries.clone(),
        (None, None) => vec!["any".to_owned()],
    };
    let unique: BTreeSet<&String> = industries.iter().collect();
    if industries.is_empty()
        || unique.len() != industries.len()
        || industries.iter().any(|i| !INDUSTRIES.contains(&i.as_str()))
    {
        errors.push(FieldError::new(
            "industries",
            format!(
                "must be one or more of {}, each once",
                INDUSTRIES.join(", ")
            ),
        ));
    }
    let text = match (&fields.text, before) {
        (Some(raw), _) => text_field(&mut errors, "text", raw, 10, 1000),
        (None, Some(b)) => b.text.clone(),
        (None, None) => text_field(&mut errors, "text", "", 10, 1000),
    };
    let expected_points = match (&fields.expected_points, before) {
        (Some(points), _) => {
            if points.len() > MAX_POINTS {
                errors.push(FieldError::new(
                    "expected_points",
                    format!("at most {MAX_POINTS}"),
                ));
            }
            points
                .iter()
                .enumerate()
                .map(|(i, p)| text_field(&mut errors, &format!("expected_points[{i}]"), p, 2, 200))
                .collect()
        }
        (None, Some(b)) => b.expected_points.clone(),
        (None, None) => Vec::new(),
    };
    let status = fields
        .status
        .clone()
        .or(before.map(|b| b.status.clone()))
        .unwrap_or_else(|| "active".into());
    if !STATUSES.contains(&status.as_str()) {
        errors.push(FieldError::new("status", "must be active or retired"));
    }
    if let Some(ids) = &fields.skill_ids
        && ids.len() > MAX_SKILLS
    {
        errors.push(FieldError::new(
            "skill_ids",
            format!("at most {MAX_SKILLS}"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Values {
        kind,
        category,
        subcategory,
        difficulty: difficulty as i16,
        industries,
        text,
        expected_points,
        status,
    })
}

async fn text_taken(tx: &TenantTx, text: &str, except: Option<Uuid>) -> Result<()> {
    let taken = tx
        .query_one_raw(statement(
            "SELECT 1 AS found FROM interview_questions WHERE tenant_id = $1 AND lower(text) = lower($2) \
             AND id IS DISTINCT FROM $3",
            vec![tx.tenant_id().as_uuid().into(), text.into(), except.into()],
        ))
        .await?
        .is_some();
    if taken {
        return Err(ApiError::conflict(
            "question_exists",
            "the organization has this question already",
        ));
    }
    Ok(())
}

async fn set_skills(tx: &TenantTx, id: Uuid, ids: &[Uuid], kept: &BTreeSet<Uuid>) -> Result<()> {
    let unique: BTreeSet<&Uuid> = ids.iter().collect();
    if unique.len() != ids.len() {
        return Err(ApiError::validation("skill_ids", "names a skill twice"));
    }
    taxonomy::check_skill_list(tx, |i| format!("skill_ids[{i}]"), ids, kept).await?;
    tx.execute_raw(statement(
        "DELETE FROM interview_question_skills WHERE tenant_id = $1 AND question_id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    for skill in ids {
        tx.execute_raw(statement(
            "INSERT INTO interview_question_skills (tenant_id, question_id, skill_id) VALUES ($1, $2, $3)",
            vec![
                tx.tenant_id().as_uuid().into(),
                id.into(),
                (*skill).into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

fn summary(q: &Question) -> serde_json::Value {
    json!({
        "kind": q.question.kind,
        "category": q.question.category,
        "subcategory": q.question.subcategory,
        "difficulty": q.question.difficulty,
        "industries": q.question.industries,
        "text": q.question.text,
        "expected_points": q.question.expected_points.len(),
        "status": q.question.status,
        "skills": q.skills.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
    })
}

pub async fn create(tx: &TenantTx, ctx: &AuditCtx, fields: QuestionFields) -> Result<Question> {
    let values = resolve(&fields, None)?;
    text_taken(tx, &values.text, None).await?;
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO interview_questions (tenant_id, id, kind, category, subcategory, difficulty, \
         industries, text, expected_points, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            values.kind.into(),
            values.category.into(),
            values.subcategory.into(),
            values.difficulty.into(),
            values.industries.into(),
            values.text.into(),
            values.expected_points.into(),
            values.status.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    set_skills(
        tx,
        id,
        fields.skill_ids.as_deref().unwrap_or_default(),
        &BTreeSet::new(),
    )
    .await?;
    let created = get(tx, id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("interview_question.created")
            .target("interview_question", id, None)
            .metadata(json!({ "after": summary(&created) })),
    )
    .await?;
    Ok(created)
}

/// Changes a question (the organization's own or its copy of a starter one), retires or restores it.
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    fields: QuestionFields,
) -> Result<Question> {
    tx.execute_raw(statement(
        "SELECT 1 FROM interview_questions WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    let before = get(tx, id).await?;
    let values = resolve(&fields, Some(&before.question))?;
    text_taken(tx, &values.text, Some(id)).await?;
    tx.execute_raw(statement(
        "UPDATE interview_questions SET kind = $3, category = $4, subcategory = $5, difficulty = $6, \
         industries = $7, text = $8, expected_points = $9, status = $10, updated_at = $11 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            values.kind.into(),
            values.category.into(),
            values.subcategory.into(),
            values.difficulty.into(),
            values.industries.into(),
            values.text.into(),
            values.expected_points.into(),
            values.status.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    if let Some(ids) = &fields.skill_ids {
        let kept: BTreeSet<Uuid> = before.skills.iter().map(|s| s.skill_id).collect();
        set_skills(tx, id, ids, &kept).await?;
    }
    let after = get(tx, id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("interview_question.updated")
            .target("interview_question", id, None)
            .metadata(json!({ "before": summary(&before), "after": summary(&after) })),
    )
    .await?;
    Ok(after)
}
