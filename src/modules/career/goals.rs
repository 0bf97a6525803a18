//! Career goals: a member aims at a career role by a date. One goal is active at a time; it ends as
//! achieved or abandoned. Its progress is the member's readiness for the role, computed when read.

use chrono::{DateTime, FixedOffset, NaiveDate};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{CareerError, Checks, Result, pathways, plausible_date, prose};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::FieldError,
    tenancy::TenantTx,
};

pub const GOAL_STATUSES: &[&str] = &["active", "achieved", "abandoned"];

#[derive(Debug, Clone, FromQueryResult)]
pub struct GoalRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub target_role_id: Uuid,
    pub target_role_title: String,
    pub target_date: Option<NaiveDate>,
    pub status: String,
    pub note: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub closed_at: Option<DateTime<FixedOffset>>,
}

const GOAL_SELECT: &str = "SELECT g.id, g.user_id, g.target_role_id, r.title AS target_role_title, \
     g.target_date, g.status, g.note, g.created_at, g.updated_at, g.closed_at FROM career_goals g \
     JOIN career_roles r ON r.tenant_id = g.tenant_id AND r.id = g.target_role_id";

/// A member's goals, the active one first, then the newest.
pub async fn list(tx: &TenantTx, user: Uuid) -> Result<Vec<GoalRow>> {
    Ok(GoalRow::find_by_statement(statement(
        &format!(
            "{GOAL_SELECT} WHERE g.tenant_id = $1 AND g.user_id = $2 \
             ORDER BY g.status = 'active' DESC, g.created_at DESC, g.id DESC LIMIT 100"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

pub async fn active(tx: &TenantTx, user: Uuid) -> Result<Option<GoalRow>> {
    Ok(GoalRow::find_by_statement(statement(
        &format!("{GOAL_SELECT} WHERE g.tenant_id = $1 AND g.user_id = $2 AND g.status = 'active'"),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .one(tx)
    .await?)
}

/// The member's goal `id` (someone else's goal is not found).
/// The active goals of `users` (a manager's reports), in one statement.
pub async fn active_of(tx: &TenantTx, users: &[Uuid]) -> Result<Vec<GoalRow>> {
    Ok(GoalRow::find_by_statement(statement(
        &format!(
            "{GOAL_SELECT} WHERE g.tenant_id = $1 AND g.user_id = ANY($2) AND g.status = 'active'"
        ),
        vec![tx.tenant_id().as_uuid().into(), users.to_vec().into()],
    ))
    .all(tx)
    .await?)
}

pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<GoalRow> {
    GoalRow::find_by_statement(statement(
        &format!("{GOAL_SELECT} WHERE g.tenant_id = $1 AND g.user_id = $2 AND g.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

pub struct NewGoal {
    pub target_role_id: Uuid,
    pub target_date: Option<NaiveDate>,
    pub note: String,
}

fn check_date(checks: &mut Checks, date: Option<NaiveDate>, today: NaiveDate) {
    if let Some(date) = date
        && checks.take(plausible_date("target_date", date)).is_some()
        && date < today
    {
        checks
            .0
            .push(FieldError::new("target_date", "must not be in the past"));
    }
}

pub async fn create(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, new: NewGoal) -> Result<GoalRow> {
    let mut checks = Checks::default();
    let note = checks.take(prose("note", &new.note, 2000));
    check_date(&mut checks, new.target_date, ctx.now.date_naive());
    checks.done()?;
    let role = pathways::role(tx, new.target_role_id).await.map_err(|_| {
        CareerError::invalid(
            "target_role_id",
            "is not a career role of this organization",
        )
    })?;
    if role.status != "active" {
        return Err(CareerError::invalid("target_role_id", "is retired"));
    }
    // Serialises a member's goal changes, so two concurrent creations cannot both pass the check.
    tx.execute_raw(statement(
        "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .await?;
    if let Some(current) = active(tx, user).await? {
        return Err(CareerError::conflict(
            "active_goal_exists",
            format!(
                "your goal {} ({}) is active: mark it achieved or abandoned first, or change it",
                current.id, current.target_role_title
            ),
        ));
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO career_goals (tenant_id, id, user_id, target_role_id, target_date, note, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            user.into(),
            new.target_role_id.into(),
            new.target_date.into(),
            note.unwrap_or_default().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_goal.created")
            .target("career_goal", id, Some(&role.title))
            .metadata(json!({ "after": {
                "target_role_id": new.target_role_id, "target_date": new.target_date,
            } })),
    )
    .await?;
    get(tx, user, id).await
}

#[derive(Debug, Default)]
pub struct GoalChange {
    pub target_date: Option<Option<NaiveDate>>,
    pub note: Option<String>,
    /// `achieved` or `abandoned` close the goal.
    pub status: Option<String>,
}

/// Changes the member's active goal: its date or note, or closes it. A closed goal is history.
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    change: GoalChange,
) -> Result<GoalRow> {
    let mut checks = Checks::default();
    let note = change
        .note
        .as_deref()
        .and_then(|n| checks.take(prose("note", n, 2000)));
    if let Some(date) = change.target_date {
        check_date(&mut checks, date, ctx.now.date_naive());
    }
    if let Some(status) = &change.status
        && !["achieved", "abandoned"].contains(&status.as_str())
    {
        checks.0.push(FieldError::new(
            "status",
            "must be achieved or abandoned (a closed goal is not reopened; set a new one)",
        ));
    }
    checks.done()?;
    tx.execute_raw(statement(
        "SELECT 1 FROM career_goals WHERE tenant_id = $1 AND user_id = $2 AND id = $3 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .await?;
    let current = get(tx, user, id).await?;
    if current.status != "active" {
        return Err(CareerError::conflict(
            "goal_closed",
            format!("the goal is {}; set a new one instead", current.status),
        ));
    }
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    if let Some(date) = change.target_date
        && date != current.target_date
    {
        before.insert("target_date".into(), json!(current.target_date));
        after.insert("target_date".into(), json!(date));
    }
    if let Some(note) = &note
        && *note != current.note
    {
        before.insert("note".into(), json!(current.note));
        after.insert("note".into(), json!(note));
    }
    if let Some(status) = &change.status {
        before.insert("status".into(), json!(current.status));
        after.insert("status".into(), json!(status));
    }
    if after.is_empty() {
        return Ok(current);
    }
    tx.execute_raw(statement(
        "UPDATE career_goals SET target_date = CASE WHEN $4 THEN $5 ELSE target_date END, \
         note = coalesce($6, note), status = coalesce($7, status), \
         closed_at = CASE WHEN $7 IS NULL THEN closed_at ELSE $8 END, updated_at = $8 \
         WHERE tenant_id = $1 AND user_id = $2 AND id = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            id.into(),
            change.target_date.is_some().into(),
            change.target_date.flatten().into(),
            note.into(),
            change.status.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let action = match change.status.as_deref() {
        Some("achieved") => "career_goal.achieved",
        Some("abandoned") => "career_goal.abandoned",
        _ => "career_goal.updated",
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("career_goal", id, Some(&current.target_role_title))
            .metadata(json!({ "before": before, "after": after })),
    )
    .await?;
    get(tx, user, id).await
}
