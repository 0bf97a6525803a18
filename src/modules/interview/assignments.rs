//! Practice assignments: HR (`interview:manage`) or a member's direct manager asks them to practise —
//! a type, difficulty, category and number of questions, by a date, in at most so many attempts. Each
//! session the member starts for it is an attempt; a completed one completes the assignment.

use chrono::{DateTime, FixedOffset, NaiveDate};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::analysis::QuestionKind;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct AssignmentRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub member_name: String,
    pub assigned_by: Option<Uuid>,
    pub title: String,
    pub kind: Option<String>,
    pub difficulty: Option<i16>,
    pub category: Option<String>,
    pub question_count: i16,
    pub due_on: NaiveDate,
    pub max_attempts: i16,
    pub status: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// Sessions started for it.
    pub attempts: i64,
    /// The best completed session's score.
    pub best_score: Option<i16>,
    pub completed_at: Option<DateTime<FixedOffset>>,
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.user_id, u.display_name AS member_name, \
     a.assigned_by, a.title, a.kind, a.difficulty, a.category, a.question_count, a.due_on, \
     a.max_attempts, a.status, a.created_at, a.updated_at, \
     (SELECT count(*) FROM interview_sessions s WHERE s.tenant_id = a.tenant_id AND s.assignment_id = a.id) AS attempts, \
     (SELECT max(s.score) FROM interview_sessions s WHERE s.tenant_id = a.tenant_id AND s.assignment_id = a.id \
      AND s.status = 'completed') AS best_score, \
     (SELECT min(s.ended_at) FROM interview_sessions s WHERE s.tenant_id = a.tenant_id AND s.assignment_id = a.id \
      AND s.status = 'completed') AS completed_at \
     FROM interview_assignments a JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id";

/// Where an assignment stands on `today`: `completed`, `cancelled`, `overdue`, `exhausted` (every
/// attempt used without completing) or `open`.
pub fn state(row: &AssignmentRow, today: NaiveDate) -> &'static str {
    if row.status == "cancelled" {
        "cancelled"
    } else if row.completed_at.is_some() {
        "completed"
    } else if row.attempts >= i64::from(row.max_attempts) {
        "exhausted"
    } else if today > row.due_on {
        "overdue"
    } else {
        "open"
    }
}

/// Assignments given to `user`, the nearest due first (at most 200).
pub async fn of_member(tx: &TenantTx, user: Uuid) -> Result<Vec<AssignmentRow>> {
    Ok(AssignmentRow::find_by_statement(statement(
        &format!(
            "{ASSIGNMENT_SELECT} WHERE a.tenant_id = $1 AND a.user_id = $2 \
             ORDER BY a.due_on, a.id LIMIT 200"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

/// Assignments `assigner` gave, or (`None`) every assignment of the organization; newest first (at
/// most 500).
pub async fn given(tx: &TenantTx, assigner: Option<Uuid>) -> Result<Vec<AssignmentRow>> {
    Ok(AssignmentRow::find_by_statement(statement(
        &format!(
            "{ASSIGNMENT_SELECT} WHERE a.tenant_id = $1 AND ($2::uuid IS NULL OR a.assigned_by = $2) \
             ORDER BY a.created_at DESC, a.id DESC LIMIT 500"
        ),
        vec![tx.tenant_id().as_uuid().into(), assigner.into()],
    ))
    .all(tx)
    .await?)
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<AssignmentRow> {
    AssignmentRow::find_by_statement(statement(
        &format!("{ASSIGNMENT_SELECT} WHERE a.tenant_id = $1 AND a.id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// What is assigned.
#[derive(Debug)]
pub struct NewAssignment {
    pub member_id: Uuid,
    pub title: String,
    pub kind: Option<String>,
    pub difficulty: Option<i64>,
    pub category: Option<String>,
    pub question_count: Option<i64>,
    pub due_on: NaiveDate,
    pub max_attempts: Option<i64>,
}

/// Assigns practice to a member (the caller's authority — HR, or the member's direct manager — is
/// checked by the route). The due date may not be in the past.
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    assigner: Uuid,
    new: NewAssignment,
) -> Result<AssignmentRow> {
    let mut errors = Vec::new();
    let title = validate::label("title", &new.title, 200)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if let Some(kind) = &new.kind
        && QuestionKind::parse(kind).is_none()
    {
        errors.push(FieldError::new(
            "kind",
            "must be behavioral, technical or case",
        ));
    }
    if new.difficulty.is_some_and(|d| !(1..=5).contains(&d)) {
        errors.push(FieldError::new("difficulty", "must be between 1 and 5"));
    }
    if new
        .category
        .as_deref()
        .is_some_and(|c| c.chars().count() > 80)
    {
        errors.push(FieldError::new("category", "must be at most 80 characters"));
    }
    let count = new.question_count.unwrap_or(5);
    if !(1..=10).contains(&count) {
        errors.push(FieldError::new(
            "question_count",
            "must be between 1 and 10",
        ));
    }
    let attempts = new.max_attempts.unwrap_or(3);
    if !(1..=10).contains(&attempts) {
        errors.push(FieldError::new("max_attempts", "must be between 1 and 10"));
    }
    if new.due_on < ctx.now.date_naive() {
        errors.push(FieldError::new("due_on", "must not be in the past"));
    } else if new.due_on > ctx.now.date_naive() + chrono::Duration::days(3650) {
        errors.push(FieldError::new("due_on", "must be within ten years"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO interview_assignments (tenant_id, id, user_id, assigned_by, title, kind, \
         difficulty, category, question_count, due_on, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            new.member_id.into(),
            assigner.into(),
            title.into(),
            new.kind.clone().into(),
            new.difficulty.map(|d| d as i16).into(),
            new.category.clone().into(),
            (count as i16).into(),
            new.due_on.into(),
            (attempts as i16).into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let created = get(tx, id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("interview_assignment.created")
            .target("interview_assignment", id, Some(&created.title))
            .metadata(json!({
                "user_id": new.member_id, "kind": new.kind, "difficulty": new.difficulty,
                "category": new.category, "question_count": count, "due_on": new.due_on,
                "max_attempts": attempts,
            })),
    )
    .await?;
    Ok(created)
}

/// Cancels an assignment that is not completed (409 otherwise).
pub async fn cancel(tx: &TenantTx, ctx: &AuditCtx, row: &AssignmentRow) -> Result<AssignmentRow> {
    tx.execute_raw(statement(
        "SELECT 1 FROM interview_assignments WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), row.id.into()],
    ))
    .await?;
    let current = get(tx, row.id).await?;
    match state(&current, ctx.now.date_naive()) {
        "completed" | "cancelled" => {
            return Err(ApiError::conflict(
                "assignment_closed",
                "this assignment is completed or cancelled already",
            ));
        }
        _ => {}
    }
    tx.execute_raw(statement(
        "UPDATE interview_assignments SET status = 'cancelled', updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            row.id.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("interview_assignment.cancelled")
            .target("interview_assignment", row.id, Some(&current.title))
            .metadata(json!({ "user_id": current.user_id, "attempts": current.attempts })),
    )
    .await?;
    get(tx, row.id).await
}

/// The member's own assignment, locked, checked to take one more attempt: open or overdue (late
/// practice is still practice), not cancelled, completed or out of attempts.
pub async fn attempt(
    tx: &TenantTx,
    user: Uuid,
    id: Uuid,
    today: NaiveDate,
) -> Result<AssignmentRow> {
    tx.execute_raw(statement(
        "SELECT 1 FROM interview_assignments WHERE tenant_id = $1 AND id = $2 AND user_id = $3 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), id.into(), user.into()],
    ))
    .await?;
    let row = match get(tx, id).await {
        Ok(row) if row.user_id == user => row,
        _ => {
            return Err(ApiError::validation(
                "assignment_id",
                "is not an assignment of yours",
            ));
        }
    };
    match state(&row, today) {
        "open" | "overdue" => Ok(row),
        "exhausted" => Err(ApiError::conflict(
            "attempts_exhausted",
            "every attempt of this assignment is used",
        )),
        _ => Err(ApiError::conflict(
            "assignment_closed",
            "this assignment is completed or cancelled",
        )),
    }
}
