//! Mock interview sessions: questions chosen when the session is created ([`super::selection`]), then
//! pending → in_progress (the time limit runs from the start) → completed or abandoned. Each answer is
//! analysed when submitted ([`super::analysis`]) and may be replaced while the session runs and time
//! is left; the session's score is the mean of its answers'.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    analysis::{self, Analysis, Dimension, QuestionContext, QuestionKind},
    assignments,
    selection::{self, Candidate, Standing},
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Questions per session, at most.
pub const MAX_QUESTIONS: i64 = 10;
/// A question asked within this many days is "recent": asked again only when nothing else is left.
pub const RECENT_DAYS: i64 = 30;
/// Answers the member's standing per dimension is computed from, at most (the latest).
pub const STANDING_ANSWERS: u64 = 50;
/// Characters in an answer, at most.
pub const MAX_ANSWER_CHARS: usize = 20_000;

#[derive(Debug, Clone, FromQueryResult)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: Option<String>,
    pub difficulty: Option<i16>,
    pub category: Option<String>,
    pub target_role_id: Option<Uuid>,
    pub assignment_id: Option<Uuid>,
    pub status: String,
    pub time_limit_minutes: i32,
    pub created_at: DateTime<FixedOffset>,
    pub started_at: Option<DateTime<FixedOffset>>,
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    pub score: Option<i16>,
    pub questions: i64,
    pub answered: i64,
}

const SESSION_SELECT: &str = "SELECT s.id, s.user_id, s.kind, s.difficulty, s.category, \
     s.target_role_id, s.assignment_id, s.status, s.time_limit_minutes, s.created_at, s.started_at, s.expires_at, \
     s.ended_at, s.score, \
     (SELECT count(*) FROM interview_session_questions q WHERE q.tenant_id = s.tenant_id AND q.session_id = s.id) AS questions, \
     (SELECT count(*) FROM interview_session_questions q WHERE q.tenant_id = s.tenant_id AND q.session_id = s.id \
      AND q.score IS NOT NULL) AS answered FROM interview_sessions s";

#[derive(Debug, Clone, FromQueryResult)]
pub struct SessionQuestionRow {
    pub position: i16,
    pub question_id: Uuid,
    pub kind: String,
    pub category: String,
    pub subcategory: String,
    pub difficulty: i16,
    pub text: String,
    pub expected_points: Vec<String>,
    pub answer: Option<String>,
    pub recording_url: Option<String>,
    pub answered_at: Option<DateTime<FixedOffset>>,
    pub score: Option<i16>,
    pub analysis: Option<serde_json::Value>,
}

/// A session with its questions in order.
#[derive(Debug, Clone)]
pub struct Session {
    pub session: SessionRow,
    pub questions: Vec<SessionQuestionRow>,
}

/// The member's sessions, newest first (at most 100).
pub async fn list(tx: &TenantTx, user: Uuid) -> Result<Vec<SessionRow>> {
    Ok(SessionRow::find_by_statement(statement(
        &format!(
            "{SESSION_SELECT} WHERE s.tenant_id = $1 AND s.user_id = $2 \
             ORDER BY s.created_at DESC, s.id DESC LIMIT 100"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

async fn row(tx: &TenantTx, user: Uuid, id: Uuid, lock: bool) -> Result<SessionRow> {
    if lock {
        tx.execute_raw(statement(
            "SELECT 1 FROM interview_sessions WHERE tenant_id = $1 AND user_id = $2 AND id = $3 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
        ))
        .await?;
    }
    SessionRow::find_by_statement(statement(
        &format!("{SESSION_SELECT} WHERE s.tenant_id = $1 AND s.user_id = $2 AND s.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// The member's session `id` with its questions (someone else's is not found).
pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<Session> {
    let session = row(tx, user, id, false).await?;
    let questions = SessionQuestionRow::find_by_statement(statement(
        "SELECT a.position, a.question_id, q.kind, q.category, q.subcategory, q.difficulty, q.text, \
         q.expected_points, a.answer, a.recording_url, a.answered_at, a.score, a.analysis \
         FROM interview_session_questions a \
         JOIN interview_questions q ON q.tenant_id = a.tenant_id AND q.id = a.question_id \
         WHERE a.tenant_id = $1 AND a.session_id = $2 ORDER BY a.position",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .all(tx)
    .await?;
    Ok(Session { session, questions })
}

/// What the member asks for.
#[derive(Debug, Default)]
pub struct NewSession {
    pub kind: Option<String>,
    pub difficulty: Option<i64>,
    pub category: Option<String>,
    pub target_role_id: Option<Uuid>,
    pub question_count: Option<i64>,
    pub time_limit_minutes: Option<i64>,
    /// An attempt at this assignment of the member's: its criteria are the session's.
    pub assignment_id: Option<Uuid>,
}

/// The member's average per dimension over their latest answers.
pub async fn standing(tx: &TenantTx, user: Uuid) -> Result<Standing> {
    let rows = tx
        .query_all_raw(statement(
            &format!(
                "SELECT a.analysis FROM interview_session_questions a \
                 JOIN interview_sessions s ON s.tenant_id = a.tenant_id AND s.id = a.session_id \
                 WHERE a.tenant_id = $1 AND s.user_id = $2 AND a.analysis IS NOT NULL \
                 ORDER BY a.answered_at DESC LIMIT {STANDING_ANSWERS}"
            ),
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await?;
    let analyses = rows
        .iter()
        .map(|row| row.try_get::<serde_json::Value>("", "analysis"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(mean_by_dimension(&analyses))
}

/// Each dimension's mean over the analyses that scored it.
fn mean_by_dimension(analyses: &[serde_json::Value]) -> BTreeMap<Dimension, f64> {
    let mut sums: BTreeMap<Dimension, (f64, f64)> = BTreeMap::new();
    for analysis in analyses {
        for (dimension, score) in dimension_scores(analysis) {
            let entry = sums.entry(dimension).or_default();
            entry.0 += score;
            entry.1 += 1.0;
        }
    }
    sums.into_iter().map(|(d, (sum, n))| (d, sum / n)).collect()
}

/// The dimension scores of a stored analysis.
pub fn dimension_scores(analysis: &serde_json::Value) -> Vec<(Dimension, f64)> {
    analysis["dimensions"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| {
                    let dimension = Dimension::ALL
                        .into_iter()
                        .find(|x| d["dimension"].as_str() == Some(x.as_str()))?;
                    Some((dimension, d["score"].as_f64()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, FromQueryResult)]
struct CandidateRow {
    id: Uuid,
    kind: String,
    subcategory: String,
    asked_recently: bool,
    for_target_role: bool,
}

/// Creates a session with its questions chosen (pending until started).
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    mut new: NewSession,
) -> Result<Session> {
    if let Some(assignment) = new.assignment_id {
        if new.kind.is_some()
            || new.difficulty.is_some()
            || new.category.is_some()
            || new.question_count.is_some()
        {
            return Err(ApiError::validation(
                "assignment_id",
                "an assignment sets the type, difficulty, category and number of questions",
            ));
        }
        let row = assignments::attempt(tx, user, assignment, ctx.now.date_naive()).await?;
        new.kind = row.kind;
        new.difficulty = row.difficulty.map(i64::from);
        new.category = row.category;
        new.question_count = Some(i64::from(row.question_count));
    }
    let mut errors = Vec::new();
    if let Some(kind) = &new.kind
        && QuestionKind::parse(kind).is_none()
    {
        errors.push(FieldError::new(
            "kind",
            "must be behavioral, technical or case",
        ));
    }
    if let Some(difficulty) = new.difficulty
        && !(1..=5).contains(&difficulty)
    {
        errors.push(FieldError::new("difficulty", "must be between 1 and 5"));
    }
    let count = new.question_count.unwrap_or(5);
    if !(1..=MAX_QUESTIONS).contains(&count) {
        errors.push(FieldError::new(
            "question_count",
            format!("must be between 1 and {MAX_QUESTIONS}"),
        ));
    }
    let minutes = new
        .time_limit_minutes
        .unwrap_or(count.clamp(1, MAX_QUESTIONS) * 5);
    if !(5..=240).contains(&minutes) {
        errors.push(FieldError::new(
            "time_limit_minutes",
            "must be between 5 and 240",
        ));
    }
    if new
        .category
        .as_deref()
        .is_some_and(|c| c.chars().count() > 80)
    {
        errors.push(FieldError::new("category", "must be at most 80 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(role) = new.target_role_id {
        let found = tx
            .query_one_raw(statement(
                "SELECT 1 AS found FROM career_roles WHERE tenant_id = $1 AND id = $2",
                vec![tx.tenant_id().as_uuid().into(), role.into()],
            ))
            .await?;
        if found.is_none() {
            return Err(ApiError::validation(
                "target_role_id",
                "is not a career role of this organization",
            ));
        }
    }
    let candidates = CandidateRow::find_by_statement(statement(
        "SELECT q.id, q.kind, q.subcategory, \
         EXISTS (SELECT 1 FROM interview_session_questions a \
                 JOIN interview_sessions s ON s.tenant_id = a.tenant_id AND s.id = a.session_id \
                 WHERE a.tenant_id = q.tenant_id AND a.question_id = q.id AND s.user_id = $2 \
                   AND s.created_at > $3) AS asked_recently, \
         EXISTS (SELECT 1 FROM interview_question_skills t JOIN role_requirements r \
                   ON r.tenant_id = t.tenant_id AND r.skill_id = t.skill_id AND r.role_id = $7 \
                 WHERE t.tenant_id = q.tenant_id AND t.question_id = q.id) AS for_target_role \
         FROM interview_questions q WHERE q.tenant_id = $1 AND q.status = 'active' \
           AND ($4::text IS NULL OR q.kind = $4) AND ($5::smallint IS NULL OR q.difficulty = $5) \
           AND ($6::text IS NULL OR lower(q.category) = lower($6))",
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            (ctx.now - Duration::days(RECENT_DAYS)).into(),
            new.kind.clone().into(),
            new.difficulty.map(|d| d as i16).into(),
            new.category.clone().into(),
            new.target_role_id.into(),
        ],
    ))
    .all(tx)
    .await?;
    let candidates: Vec<Candidate> = candidates
        .into_iter()
        .filter_map(|c| {
            Some(Candidate {
                id: c.id,
                kind: QuestionKind::parse(&c.kind)?,
                subcategory: c.subcategory,
                asked_recently: c.asked_recently,
                for_target_role: c.for_target_role,
            })
        })
        .collect();
    if candidates.is_empty() {
        return Err(ApiError::Unprocessable {
            code: "no_questions",
            detail: "no active question matches this type, difficulty and category".into(),
        });
    }
    let standing = standing(tx, user).await?;
    let id = Uuid::now_v7();
    let seed = id.as_u128() as u64;
    let picked = selection::select(&candidates, &standing, count as usize, seed);
    tx.execute_raw(statement(
        "INSERT INTO interview_sessions (tenant_id, id, user_id, kind, difficulty, category, \
         target_role_id, status, time_limit_minutes, created_at, assignment_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            user.into(),
            new.kind.clone().into(),
            new.difficulty.map(|d| d as i16).into(),
            new.category.clone().into(),
            new.target_role_id.into(),
            (minutes as i32).into(),
            ctx.now.into(),
            new.assignment_id.into(),
        ],
    ))
    .await?;
    for (i, question) in picked.iter().enumerate() {
        tx.execute_raw(statement(
            "INSERT INTO interview_session_questions (tenant_id, session_id, position, question_id) \
             VALUES ($1, $2, $3, $4)",
            vec![
                tx.tenant_id().as_uuid().into(),
                id.into(),
                (i as i16 + 1).into(),
                (*question).into(),
            ],
        ))
        .await?;
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("interview_session.created")
            .target("interview_session", id, None)
            .metadata(json!({
                "user_id": user, "kind": new.kind, "difficulty": new.difficulty,
                "category": new.category, "target_role_id": new.target_role_id,
                "questions": picked.len(), "time_limit_minutes": minutes,
                "assignment_id": new.assignment_id,
            })),
    )
    .await?;
    get(tx, user, id).await
}

fn conflict(code: &'static str, detail: &str) -> ApiError {
    ApiError::conflict(code, detail.to_owned())
}

/// Starts a pending session: the time limit runs from now.
pub async fn start(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<Session> {
    let session = row(tx, user, id, true).await?;
    if session.status != "pending" {
        return Err(conflict(
            "session_not_pending",
            "this session has started already",
        ));
    }
    let expires = ctx.now + Duration::minutes(i64::from(session.time_limit_minutes));
    tx.execute_raw(statement(
        "UPDATE interview_sessions SET status = 'in_progress', started_at = $3, expires_at = $4 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            ctx.now.into(),
            expires.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("interview_session.started")
            .target("interview_session", id, None)
            .metadata(json!({ "user_id": user, "expires_at": expires })),
    )
    .await?;
    get(tx, user, id).await
}

/// Records (or replaces) the answer at `position` and its analysis, while the session runs and time
/// is left (409 `time_up` after: complete the session).
pub async fn answer(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    position: i64,
    text: &str,
    recording_url: Option<String>,
) -> Result<(Session, Analysis)> {
    if text.chars().count() > MAX_ANSWER_CHARS {
        return Err(ApiError::validation(
            "answer",
            format!("must be at most {MAX_ANSWER_CHARS} characters"),
        ));
    }
    if text.contains('\0') {
        return Err(ApiError::validation(
            "answer",
            "must not contain NUL characters",
        ));
    }
    if text.trim().is_empty() {
        return Err(ApiError::validation("answer", "must not be empty"));
    }
    let recording_url = recording_url
        .map(|url| validate::web_url("recording_url", &url))
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let session = row(tx, user, id, true).await?;
    if session.status != "in_progress" {
        return Err(conflict(
            "session_not_in_progress",
            "answers are given once the session is started and until it ends",
        ));
    }
    if session.expires_at.is_some_and(|e| ctx.now > e) {
        return Err(conflict("time_up", "the session's time is up: complete it"));
    }
    let full = get(tx, user, id).await?;
    let question = full
        .questions
        .iter()
        .find(|q| i64::from(q.position) == position)
        .ok_or_else(ApiError::not_found)?;
    let kind = QuestionKind::parse(&question.kind).unwrap_or(QuestionKind::Behavioral);
    let analysis = analysis::analyse(
        text,
        &QuestionContext {
            kind,
            expected_points: &question.expected_points,
        },
    );
    let stored = serde_json::to_value(&analysis).map_err(|e| ApiError::Internal(e.into()))?;
    tx.execute_raw(statement(
        "UPDATE interview_session_questions SET answer = $4, recording_url = $5, answered_at = $6, \
         score = $7, analysis = $8 WHERE tenant_id = $1 AND session_id = $2 AND position = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            (position as i16).into(),
            text.into(),
            recording_url.into(),
            ctx.now.into(),
            i16::from(analysis.score).into(),
            stored.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("interview_answer.submitted")
            .target("interview_session", id, None)
            .metadata(json!({
                "user_id": user, "position": position, "question_id": question.question_id,
                "score": analysis.score, "words": analysis.words,
                "replaced": question.answer.is_some(),
            })),
    )
    .await?;
    Ok((get(tx, user, id).await?, analysis))
}

/// Ends a running session: `completed` scores it (the mean of its answers; at least one answer, 409
/// `nothing_answered` otherwise), `abandoned` (also from pending) does not.
pub async fn finish(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    completed: bool,
) -> Result<Session> {
    let session = row(tx, user, id, true).await?;
    let allowed = if completed {
        session.status == "in_progress"
    } else {
        ["pending", "in_progress"].contains(&session.status.as_str())
    };
    if !allowed {
        return Err(conflict(
            "session_ended",
            &format!("this session is {}", session.status.replace('_', " ")),
        ));
    }
    let score = if completed {
        let full = get(tx, user, id).await?;
        let scores: Vec<f64> = full
            .questions
            .iter()
            .filter_map(|q| q.score.map(f64::from))
            .collect();
        if scores.is_empty() {
            return Err(conflict(
                "nothing_answered",
                "no question is answered: answer one or abandon the session",
            ));
        }
        Some((scores.iter().sum::<f64>() / scores.len() as f64).round() as i16)
    } else {
        None
    };
    tx.execute_raw(statement(
        "UPDATE interview_sessions SET status = $3, ended_at = $4, score = $5 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            if completed { "completed" } else { "abandoned" }.into(),
            ctx.now.into(),
            score.into(),
        ],
    ))
    .await?;
    let action = if completed {
        "interview_session.completed"
    } else {
        "interview_session.abandoned"
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("interview_session", id, None)
            .metadata(json!({
                "user_id": user, "before": { "status": session.status }, "score": score,
                "answered": session.answered, "questions": session.questions,
            })),
    )
    .await?;
    get(tx, user, id).await
}

/// Whole seconds left of a running session at `now`, rounded up (0 when up); `None` unless in
/// progress.
pub fn seconds_left(session: &SessionRow, now: DateTime<Utc>) -> Option<i64> {
    (session.status == "in_progress")
        .then(|| {
            session
                .expires_at
                .map(|e| ((e.to_utc() - now).num_milliseconds().max(0) + 999) / 1000)
        })
        .flatten()
}

/// Completed sessions scored per dimension, for progress.
pub const HISTORY_SESSIONS: u64 = 20;

/// The member's latest completed sessions (at most [`HISTORY_SESSIONS`]), oldest first, each with its
/// dimensions' means over its answers.
pub async fn history(
    tx: &TenantTx,
    user: Uuid,
) -> Result<Vec<(SessionRow, BTreeMap<Dimension, f64>)>> {
    let mut sessions = SessionRow::find_by_statement(statement(
        &format!(
            "{SESSION_SELECT} WHERE s.tenant_id = $1 AND s.user_id = $2 AND s.status = 'completed' \
             ORDER BY s.ended_at DESC, s.id DESC LIMIT {HISTORY_SESSIONS}"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?;
    sessions.reverse();
    let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
    let rows = tx
        .query_all_raw(statement(
            "SELECT session_id, analysis FROM interview_session_questions \
             WHERE tenant_id = $1 AND session_id = ANY($2) AND analysis IS NOT NULL",
            vec![tx.tenant_id().as_uuid().into(), ids.into()],
        ))
        .await?;
    let mut by_session: BTreeMap<Uuid, Vec<serde_json::Value>> = BTreeMap::new();
    for row in rows {
        let session: Uuid = row.try_get("", "session_id")?;
        by_session
            .entry(session)
            .or_default()
            .push(row.try_get("", "analysis")?);
    }
    Ok(sessions
        .into_iter()
        .map(|s| {
            let means = mean_by_dimension(&by_session.remove(&s.id).unwrap_or_default());
            (s, means)
        })
        .collect())
}
