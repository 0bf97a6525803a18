//! A scheduled interview's preparation checklist: items suggested from its type and details when it
//! is recorded, and the member's own; each can be ticked off, renamed or removed. Reminders list the
//! items still open.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::calendar::{self, ScheduledRow};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::ApiError,
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Items per interview, at most.
pub const MAX_ITEMS: i64 = 30;

#[derive(Debug, Clone, FromQueryResult)]
pub struct ItemRow {
    pub id: Uuid,
    pub interview_id: Uuid,
    pub position: i32,
    pub label: String,
    pub suggested: bool,
    pub done_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
}

/// What to prepare for an interview of `kind`, in the order to do it.
pub fn suggestions(row: &ScheduledRow) -> Vec<String> {
    let mut items = vec![match &row.company {
        Some(company) => format!("Research {company}: products, news, and the team you would join"),
        None => "Reread the role's requirements and your readiness for it".to_owned(),
    }];
    items.push("Match your experience to the role's top requirements".to_owned());
    match row.interview_type.as_str() {
        "technical" => {
            items.push("Practise a technical mock interview".to_owned());
            items.push("Review the fundamentals of the role's main technologies".to_owned());
        }
        "case" => items.push("Practise a case mock interview".to_owned()),
        "phone_screen" | "recruiter" => {
            items.push("Prepare a two-minute summary of your background".to_owned());
            items.push("Know your availability and notice period".to_owned());
        }
        _ => items.push("Practise a behavioral mock interview".to_owned()),
    }
    if !matches!(row.interview_type.as_str(), "phone_screen" | "recruiter") {
        items.push("Prepare three STAR stories that show the role's key skills".to_owned());
    }
    if !row.interviewers().is_empty() {
        items.push("Read up on your interviewers' roles and work".to_owned());
    }
    items.push("Prepare questions to ask the interviewers".to_owned());
    if row.meeting_url.is_some() {
        items.push("Test the meeting link, camera and microphone".to_owned());
    } else if !row.location.is_empty() {
        items.push("Plan your route and arrive ten minutes early".to_owned());
    }
    items
}

/// The checklists of `interviews`, in order.
pub async fn of(tx: &TenantTx, interviews: &[Uuid]) -> Result<BTreeMap<Uuid, Vec<ItemRow>>> {
    let mut by_interview: BTreeMap<Uuid, Vec<ItemRow>> = BTreeMap::new();
    if interviews.is_empty() {
        return Ok(by_interview);
    }
    let rows = ItemRow::find_by_statement(statement(
        "SELECT id, interview_id, position, label, suggested, done_at, created_at \
         FROM scheduled_interview_checklist WHERE tenant_id = $1 AND interview_id = ANY($2) \
         ORDER BY position",
        vec![tx.tenant_id().as_uuid().into(), interviews.to_vec().into()],
    ))
    .all(tx)
    .await?;
    for row in rows {
        by_interview.entry(row.interview_id).or_default().push(row);
    }
    Ok(by_interview)
}

async fn insert(
    tx: &TenantTx,
    interview: Uuid,
    label: &str,
    suggested: bool,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO scheduled_interview_checklist (tenant_id, id, interview_id, position, label, \
         suggested, created_at) \
         SELECT $1, $2, $3, coalesce(max(position), 0) + 1, $4, $5, $6 \
         FROM scheduled_interview_checklist WHERE tenant_id = $1 AND interview_id = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            interview.into(),
            label.into(),
            suggested.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(id)
}

/// Adds the suggested items to a new interview.
pub async fn suggest(tx: &TenantTx, row: &ScheduledRow, now: DateTime<Utc>) -> Result<()> {
    for label in suggestions(row) {
        let label: String = label.chars().take(200).collect();
        insert(tx, row.id, &label, true, now).await?;
    }
    Ok(())
}

async fn item(tx: &TenantTx, interview: Uuid, id: Uuid) -> Result<ItemRow> {
    ItemRow::find_by_statement(statement(
        "SELECT id, interview_id, position, label, suggested, done_at, created_at \
         FROM scheduled_interview_checklist WHERE tenant_id = $1 AND interview_id = $2 AND id = $3",
        vec![tx.tenant_id().as_uuid().into(), interview.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

fn audit_event(action: &'static str, interview: Uuid, metadata: serde_json::Value) -> AuditEvent {
    AuditEvent::new(action)
        .target("scheduled_interview", interview, None)
        .metadata(metadata)
}

/// Adds the member's own item at the end.
pub async fn add(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    interview: Uuid,
    label: &str,
) -> Result<ItemRow> {
    calendar::row(tx, user, interview, true).await?;
    let label = validate::label("label", label, 200).map_err(|e| ApiError::Validation(vec![e]))?;
    let count = crate::db::sql::count(
        tx,
        "SELECT count(*) AS n FROM scheduled_interview_checklist \
             WHERE tenant_id = $1 AND interview_id = $2",
        vec![tx.tenant_id().as_uuid().into(), interview.into()],
    )
    .await?;
    if count >= MAX_ITEMS {
        return Err(ApiError::conflict(
            "checklist_full",
            format!("a checklist holds at most {MAX_ITEMS} items"),
        ));
    }
    let id = insert(tx, interview, &label, false, ctx.now).await?;
    audit::record(
        tx,
        ctx,
        audit_event(
            "scheduled_interview.checklist_item_added",
            interview,
            json!({ "item_id": id }),
        ),
    )
    .await?;
    item(tx, interview, id).await
}

/// Renames an item or ticks it off (or on again).
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    interview: Uuid,
    id: Uuid,
    label: Option<&str>,
    done: Option<bool>,
) -> Result<ItemRow> {
    calendar::row(tx, user, interview, true).await?;
    let current = item(tx, interview, id).await?;
    let label = label
        .map(|l| validate::label("label", l, 200))
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?
        .unwrap_or(current.label.clone());
    let done_at = match done {
        Some(true) => current.done_at.map(|t| t.to_utc()).or(Some(ctx.now)),
        Some(false) => None,
        None => current.done_at.map(|t| t.to_utc()),
    };
    let label_changed = label != current.label;
    let done_changed = done_at.is_some() != current.done_at.is_some();
    if !label_changed && !done_changed {
        return Ok(current);
    }
    tx.execute_raw(statement(
        "UPDATE scheduled_interview_checklist SET label = $4, done_at = $5 \
         WHERE tenant_id = $1 AND interview_id = $2 AND id = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            interview.into(),
            id.into(),
            label.into(),
            done_at.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        audit_event(
            "scheduled_interview.checklist_item_updated",
            interview,
            json!({ "item_id": id, "renamed": label_changed, "done": done_at.is_some() }),
        ),
    )
    .await?;
    item(tx, interview, id).await
}

pub async fn remove(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    interview: Uuid,
    id: Uuid,
) -> Result<()> {
    calendar::row(tx, user, interview, true).await?;
    let current = item(tx, interview, id).await?;
    tx.execute_raw(statement(
        "DELETE FROM scheduled_interview_checklist WHERE tenant_id = $1 AND interview_id = $2 AND id = $3",
        vec![tx.tenant_id().as_uuid().into(), interview.into(), id.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        audit_event(
            "scheduled_interview.checklist_item_removed",
            interview,
            json!({ "item_id": id, "suggested": current.suggested }),
        ),
    )
    .await?;
    Ok(())
}
