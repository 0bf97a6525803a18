//! Milestones: what a member achieved (a job secured, a skill mastered, a certification earned), with
//! the points it is worth. A milestone counts once verified by the member's manager or HR; until then
//! the member may change it, and a reviewed one is history (it may still be deleted by its owner).

use chrono::{DateTime, FixedOffset, NaiveDate};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    CareerError, Checks, Result, label, pathways, plausible_date,
    profiles::{MemberRef, Relation},
    prose, taxonomy, web_url,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::FieldError,
    tenancy::TenantTx,
};

/// The kinds of milestone and the points each is worth once verified.
pub const KINDS: &[(&str, i32)] = &[
    ("job_secured", 100),
    ("certification_earned", 50),
    ("skill_mastered", 30),
];

/// Milestones per member, at most (all of them are listed).
pub const MAX_MILESTONES: i64 = 500;

pub fn points(kind: &str) -> Option<i32> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, p)| *p)
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct MilestoneRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub skill_id: Option<Uuid>,
    pub skill_name: Option<String>,
    pub role_id: Option<Uuid>,
    pub role_title: Option<String>,
    pub achieved_on: NaiveDate,
    pub evidence_url: Option<String>,
    pub points: i32,
    pub status: String,
    pub reviewed_by: Option<Uuid>,
    pub reviewer_name: Option<String>,
    pub reviewed_at: Option<DateTime<FixedOffset>>,
    pub review_note: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

const MILESTONE_SELECT: &str = "SELECT m.id, m.user_id, m.kind, m.title, m.description, m.skill_id, \
     s.name AS skill_name, m.role_id, r.title AS role_title, m.achieved_on, m.evidence_url, m.points, \
     m.status, m.reviewed_by, u.display_name AS reviewer_name, m.reviewed_at, m.review_note, \
     m.created_at, m.updated_at FROM career_milestones m \
     LEFT JOIN skills s ON s.tenant_id = m.tenant_id AND s.id = m.skill_id \
     LEFT JOIN career_roles r ON r.tenant_id = m.tenant_id AND r.id = m.role_id \
     LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.reviewed_by";

/// A member's milestones, the latest achieved first (all: at most [`MAX_MILESTONES`]).
pub async fn list(tx: &TenantTx, user: Uuid) -> Result<Vec<MilestoneRow>> {
    Ok(MilestoneRow::find_by_statement(statement(
        &format!(
            "{MILESTONE_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2 \
             ORDER BY m.achieved_on DESC, m.id DESC LIMIT {MAX_MILESTONES}"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

/// The points of a member's verified milestones.
pub async fn verified_points(tx: &TenantTx, user: Uuid) -> Result<i64> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT coalesce(sum(points), 0)::bigint AS points FROM career_milestones \
             WHERE tenant_id = $1 AND user_id = $2 AND status = 'verified'",
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "points"))
        .transpose()?
        .unwrap_or(0))
}

async fn get_locked(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<MilestoneRow> {
    MilestoneRow::find_by_statement(statement(
        &format!(
            "{MILESTONE_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.id = $3 FOR UPDATE OF m"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<MilestoneRow> {
    MilestoneRow::find_by_statement(statement(
        &format!("{MILESTONE_SELECT} WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

/// A milestone's fields; for a change, `None` keeps the current value (`Some(None)` clears).
#[derive(Default)]
pub struct MilestoneFields {
    pub kind: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub skill_id: Option<Option<Uuid>>,
    pub role_id: Option<Option<Uuid>>,
    pub achieved_on: Option<NaiveDate>,
    pub evidence_url: Option<Option<String>>,
}

/// The values a milestone will have, checked: the kind known, the title given, the date not in the
/// future, a mastered skill named, the skill and role of this organization (new references active).
async fn resolve(
    tx: &TenantTx,
    ctx: &AuditCtx,
    fields: MilestoneFields,
    before: Option<&MilestoneRow>,
) -> Result<MilestoneRow> {
    let mut checks = Checks::default();
    let kind = fields
        .kind
        .or_else(|| before.map(|b| b.kind.clone()))
        .unwrap_or_default();
    if points(&kind).is_none() {
        checks.0.push(FieldError::new(
            "kind",
            "must be job_secured, certification_earned or skill_mastered",
        ));
    }
    let title = match (&fields.title, before) {
        (Some(raw), _) => checks.take(label("title", raw, 200)),
        (None, Some(b)) => Some(b.title.clone()),
        (None, None) => {
            checks.0.push(FieldError::new("title", "is required"));
            None
        }
    };
    let description = match &fields.description {
        Some(raw) => checks.take(prose("description", raw, 2000)),
        None => Some(before.map(|b| b.description.clone()).unwrap_or_default()),
    };
    let evidence_url = match &fields.evidence_url {
        Some(Some(raw)) => checks.take(web_url("evidence_url", raw)).map(Some),
        Some(None) => Some(None),
        None => Some(before.and_then(|b| b.evidence_url.clone())),
    };
    let achieved_on = fields.achieved_on.or(before.map(|b| b.achieved_on));
    match achieved_on {
        Some(date) => {
            if checks.take(plausible_date("achieved_on", date)).is_some()
                && date > ctx.now.date_naive()
            {
                checks
                    .0
                    .push(FieldError::new("achieved_on", "must not be in the future"));
            }
        }
        None => checks.0.push(FieldError::new("achieved_on", "is required")),
    }
    let skill_id = fields
        .skill_id
        .unwrap_or_else(|| before.and_then(|b| b.skill_id));
    let role_id = fields
        .role_id
        .unwrap_or_else(|| before.and_then(|b| b.role_id));
    if kind == "skill_mastered" && skill_id.is_none() {
        checks.0.push(FieldError::new(
            "skill_id",
            "is required for skill_mastered",
        ));
    }
    checks.done()?;
    let mut skill_name = None;
    if let Some(id) = skill_id {
        let skill = if before.and_then(|b| b.skill_id) == Some(id) {
            taxonomy::skill(tx, id).await?
        } else {
            taxonomy::active_skill(tx, "skill_id", id).await?
        };
        skill_name = Some(skill.name);
    }
    let mut role_title = None;
    if let Some(id) = role_id {
        let role = pathways::role(tx, id).await.map_err(|_| {
            CareerError::invalid("role_id", "is not a career role of this organization")
        })?;
        if role.status != "active" && before.and_then(|b| b.role_id) != Some(id) {
            return Err(CareerError::invalid("role_id", "is retired"));
        }
        role_title = Some(role.title);
    }
    let now = ctx.now.fixed_offset();
    Ok(MilestoneRow {
        id: before.map_or_else(Uuid::now_v7, |b| b.id),
        user_id: before.map_or(Uuid::nil(), |b| b.user_id),
        points: points(&kind).unwrap_or(0),
        kind,
        title: title.unwrap_or_default(),
        description: description.unwrap_or_default(),
        skill_id,
        skill_name,
        role_id,
        role_title,
        achieved_on: achieved_on.unwrap_or_default(),
        evidence_url: evidence_url.flatten(),
        status: "pending".into(),
        reviewed_by: None,
        reviewer_name: None,
        reviewed_at: None,
        review_note: String::new(),
        created_at: before.map_or(now, |b| b.created_at),
        updated_at: now,
    })
}

fn summary(m: &MilestoneRow) -> serde_json::Value {
    json!({
        "kind": m.kind, "title": m.title, "achieved_on": m.achieved_on, "points": m.points,
        "skill": m.skill_name, "role": m.role_title, "evidence_url": m.evidence_url, "status": m.status,
    })
}

pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    fields: MilestoneFields,
) -> Result<MilestoneRow> {
    if fields.kind.is_none() {
        return Err(CareerError::invalid("kind", "is required"));
    }
    let new = resolve(tx, ctx, fields, None).await?;
    // One new milestone of a member at a time, so the limit holds.
    tx.execute_raw(statement(
        "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .await?;
    let count = crate::db::sql::count(
        tx,
        "SELECT count(*) AS n FROM career_milestones WHERE tenant_id = $1 AND user_id = $2",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    )
    .await?;
    if count >= MAX_MILESTONES {
        return Err(CareerError::conflict(
            "milestones_full",
            format!("a member records at most {MAX_MILESTONES} milestones"),
        ));
    }
    tx.execute_raw(statement(
        "INSERT INTO career_milestones (tenant_id, id, user_id, kind, title, description, skill_id, \
         role_id, achieved_on, evidence_url, points, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        vec![
            tx.tenant_id().as_uuid().into(),
            new.id.into(),
            user.into(),
            new.kind.clone().into(),
            new.title.clone().into(),
            new.description.clone().into(),
            new.skill_id.into(),
            new.role_id.into(),
            new.achieved_on.into(),
            new.evidence_url.clone().into(),
            new.points.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_milestone.created")
            .target("career_milestone", new.id, Some(&new.title))
            .metadata(json!({ "user_id": user, "after": summary(&new) })),
    )
    .await?;
    get(tx, user, new.id).await
}

fn pending(row: &MilestoneRow) -> Result<()> {
    if row.status == "pending" {
        Ok(())
    } else {
        Err(CareerError::conflict(
            "milestone_reviewed",
            format!("this milestone was {} already", row.status),
        ))
    }
}

/// Changes a milestone still waiting for review (409 `milestone_reviewed` after).
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    fields: MilestoneFields,
) -> Result<MilestoneRow> {
    let before = get_locked(tx, user, id).await?;
    pending(&before)?;
    let after = resolve(tx, ctx, fields, Some(&before)).await?;
    tx.execute_raw(statement(
        "UPDATE career_milestones SET kind = $3, title = $4, description = $5, skill_id = $6, \
         role_id = $7, achieved_on = $8, evidence_url = $9, points = $10, updated_at = $11 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            after.kind.clone().into(),
            after.title.clone().into(),
            after.description.clone().into(),
            after.skill_id.into(),
            after.role_id.into(),
            after.achieved_on.into(),
            after.evidence_url.clone().into(),
            after.points.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_milestone.updated")
            .target("career_milestone", id, Some(&after.title))
            .metadata(
                json!({ "user_id": user, "before": summary(&before), "after": summary(&after) }),
            ),
    )
    .await?;
    get(tx, user, id).await
}

pub async fn delete(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<()> {
    let before = get_locked(tx, user, id).await?;
    tx.execute_raw(statement(
        "DELETE FROM career_milestones WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_milestone.deleted")
            .target("career_milestone", id, Some(&before.title))
            .metadata(json!({ "user_id": user, "before": summary(&before) })),
    )
    .await?;
    Ok(())
}

/// A reviewer's verdict: `verified` or `rejected`, with a note.
pub struct Verdict<'a> {
    pub decision: &'a str,
    pub note: &'a str,
}

/// A verdict on a pending milestone by the member's manager (`relation` Manager) or HR (Reader with
/// `career:manage`, checked by the caller); never by the member.
pub async fn review(
    tx: &TenantTx,
    ctx: &AuditCtx,
    reviewer: Uuid,
    (member, relation): (&MemberRef, Relation),
    id: Uuid,
    verdict: Verdict<'_>,
) -> Result<MilestoneRow> {
    let Verdict { decision, note } = verdict;
    if relation == Relation::Own {
        return Err(CareerError::not_allowed(
            "own_milestone",
            "your own milestones are verified by your manager or HR",
        ));
    }
    let mut checks = Checks::default();
    if !["verified", "rejected"].contains(&decision) {
        checks
            .0
            .push(FieldError::new("decision", "must be verified or rejected"));
    }
    let note = checks.take(prose("note", note, 1000));
    checks.done()?;
    let before = get_locked(tx, member.id, id).await?;
    pending(&before)?;
    tx.execute_raw(statement(
        "UPDATE career_milestones SET status = $3, reviewed_by = $4, reviewed_at = $5, \
         review_note = $6, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            decision.into(),
            reviewer.into(),
            ctx.now.into(),
            note.unwrap_or_default().into(),
        ],
    ))
    .await?;
    let action = if decision == "verified" {
        "career_milestone.verified"
    } else {
        "career_milestone.rejected"
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("career_milestone", id, Some(&before.title))
            .metadata(json!({
                "user_id": member.id,
                "kind": before.kind,
                "points": before.points,
                "as": if relation == Relation::Manager { "manager" } else { "hr" },
            })),
    )
    .await?;
    get(tx, member.id, id).await
}
