//! Career roles (title, track, level), what each requires (skill, minimum level, weight, critical), the
//! typical next roles, and who holds which role since when (positions).

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{CareerError, Checks, Result, label, level, prose, readiness::Requirement, taxonomy};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::SqlBuilder,
    db::sql::statement,
    error::FieldError,
    http::pagination::PageRequest,
    tenancy::TenantTx,
};

pub const ROLE_STATUSES: &[&str] = &["active", "retired"];
/// Requirements per role, at most.
pub const MAX_REQUIREMENTS: usize = 100;

#[derive(Debug, Clone, FromQueryResult)]
pub struct RoleRow {
    pub id: Uuid,
    pub title: String,
    pub track: String,
    pub level: i16,
    pub description: String,
    pub status: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// Members holding the role now.
    pub holders: i64,
}

const ROLE_SELECT: &str = "SELECT r.id, r.title, r.track, r.level, r.description, r.status, \
     r.created_at, r.updated_at, \
     (SELECT count(*) FROM career_positions p WHERE p.tenant_id = r.tenant_id AND p.role_id = r.id \
      AND p.ended_on IS NULL) AS holders FROM career_roles r";

#[derive(Debug, Clone, FromQueryResult)]
pub struct RequirementRow {
    pub skill_id: Uuid,
    pub skill: String,
    pub skill_status: String,
    pub min_level: i16,
    pub weight: i16,
    pub critical: bool,
}

impl RequirementRow {
    pub fn requirement(&self) -> Requirement {
        Requirement {
            skill_id: self.skill_id,
            skill: self.skill.clone(),
            min_level: u8::try_from(self.min_level).unwrap_or(5),
            weight: u16::try_from(self.weight).unwrap_or(1),
            critical: self.critical,
        }
    }
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct RoleRef {
    pub id: Uuid,
    pub title: String,
}

/// A role with its requirements and typical next roles.
#[derive(Debug, Clone)]
pub struct RoleDetail {
    pub role: RoleRow,
    pub requirements: Vec<RequirementRow>,
    pub next_roles: Vec<RoleRef>,
}

#[derive(Debug, Default)]
pub struct RoleFilter {
    pub search: Option<String>,
    pub track: Option<String>,
    /// `active` unless asked.
    pub status: Option<String>,
}

/// A page of roles by track, level and title.
pub async fn list_roles(
    tx: &TenantTx,
    filter: &RoleFilter,
    page: &PageRequest<(String, i16, String, Uuid)>,
) -> Result<Vec<RoleRow>> {
    let mut query = SqlBuilder::new(
        format!("{ROLE_SELECT} WHERE r.tenant_id = $1"),
        tx.tenant_id().as_uuid(),
    );
    query.and_contains(&["lower(r.title)"], filter.search.as_deref());
    if let Some(track) = &filter.track {
        let n = query.bind(track.clone());
        query.push(&format!(" AND r.track = ${n}"));
    }
    let status = filter.status.as_deref().unwrap_or("active");
    match ROLE_STATUSES.iter().find(|s| **s == status) {
        Some(known) => query.and_equals_known("r.status", known),
        None => return Err(CareerError::invalid("status", "must be active or retired")),
    }
    if let Some((track, level, title, id)) = &page.after {
        let (a, b, c, d) = (
            query.bind(track.clone()),
            query.bind(*level),
            query.bind(title.clone()),
            query.bind(*id),
        );
        query.push(&format!(
            " AND (r.track, r.level, lower(r.title), r.id) > (${a}, ${b}, ${c}, ${d})"
        ));
    }
    query.push(" ORDER BY r.track, r.level, lower(r.title), r.id");
    query.limit(page.limit + 1);
    Ok(RoleRow::find_by_statement(query.build()).all(tx).await?)
}

pub async fn role(tx: &TenantTx, id: Uuid) -> Result<RoleRow> {
    RoleRow::find_by_statement(statement(
        &format!("{ROLE_SELECT} WHERE r.tenant_id = $1 AND r.id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

pub async fn requirements(tx: &TenantTx, role_id: Uuid) -> Result<Vec<RequirementRow>> {
    Ok(RequirementRow::find_by_statement(statement(
        "SELECT q.skill_id, s.name AS skill, s.status AS skill_status, q.min_level, q.weight, q.critical \
         FROM role_requirements q JOIN skills s ON s.tenant_id = q.tenant_id AND s.id = q.skill_id \
         WHERE q.tenant_id = $1 AND q.role_id = $2 ORDER BY q.weight DESC, lower(s.name)",
        vec![tx.tenant_id().as_uuid().into(), role_id.into()],
    ))
    .all(tx)
    .await?)
}

/// The requirements of each of `roles` (for readiness across a list of roles), in one statement.
pub async fn requirements_of(
    tx: &TenantTx,
    roles: &[Uuid],
) -> Result<std::collections::BTreeMap<Uuid, Vec<Requirement>>> {
    #[derive(FromQueryResult)]
    struct Row {
        role_id: Uuid,
        skill_id: Uuid,
        skill: String,
        skill_status: String,
        min_level: i16,
        weight: i16,
        critical: bool,
    }
    let mut by_role: std::collections::BTreeMap<Uuid, Vec<Requirement>> = Default::default();
    if roles.is_empty() {
        return Ok(by_role);
    }
    let rows = Row::find_by_statement(statement(
        "SELECT q.role_id, q.skill_id, s.name AS skill, s.status AS skill_status, q.min_level, q.weight, \
         q.critical FROM role_requirements q JOIN skills s ON s.tenant_id = q.tenant_id AND s.id = q.skill_id \
         WHERE q.tenant_id = $1 AND q.role_id = ANY($2) ORDER BY q.weight DESC, lower(s.name)",
        vec![tx.tenant_id().as_uuid().into(), roles.to_vec().into()],
    ))
    .all(tx)
    .await?;
    for row in rows {
        let requirement = RequirementRow {
            skill_id: row.skill_id,
            skill: row.skill,
            skill_status: row.skill_status,
            min_level: row.min_level,
            weight: row.weight,
            critical: row.critical,
        };
        by_role
            .entry(row.role_id)
            .or_default()
            .push(requirement.requirement());
    }
    Ok(by_role)
}

pub async fn next_roles(tx: &TenantTx, role_id: Uuid) -> Result<Vec<RoleRef>> {
    Ok(RoleRef::find_by_statement(statement(
        "SELECT r.id, r.title FROM role_transitions t \
         JOIN career_roles r ON r.tenant_id = t.tenant_id AND r.id = t.to_role_id \
         WHERE t.tenant_id = $1 AND t.from_role_id = $2 ORDER BY r.level, lower(r.title)",
        vec![tx.tenant_id().as_uuid().into(), role_id.into()],
    ))
    .all(tx)
    .await?)
}

pub async fn detail(tx: &TenantTx, id: Uuid) -> Result<RoleDetail> {
    Ok(RoleDetail {
        role: role(tx, id).await?,
        requirements: requirements(tx, id).await?,
        next_roles: next_roles(tx, id).await?,
    })
}

/// A role's fields, as created or changed.
#[derive(Debug, Default)]
pub struct RoleFields {
    pub title: Option<String>,
    pub track: Option<String>,
    pub level: Option<i64>,
    pub description: Option<String>,
    /// Changes only: `active` or `retired`.
    pub status: Option<String>,
}

struct CheckedRole {
    title: Option<String>,
    track: Option<String>,
    level: Option<i16>,
    description: Option<String>,
    status: Option<String>,
}

fn check_role(fields: &RoleFields) -> Result<CheckedRole> {
    let mut checks = Checks::default();
    let title = fields
        .title
        .as_deref()
        .and_then(|t| checks.take(label("title", t, 120)));
    let track = fields.track.as_deref().and_then(|t| {
        if t.trim().is_empty() {
            Some(String::new())
        } else {
            checks.take(label("track", t, 120))
        }
    });
    let level = fields.level.and_then(|l| {
        if (1..=20).contains(&l) {
            Some(l as i16)
        } else {
            checks
                .0
                .push(FieldError::new("level", "must be between 1 and 20"));
            None
        }
    });
    let description = fields
        .description
        .as_deref()
        .and_then(|d| checks.take(prose("description", d, 2000)));
    if let Some(status) = &fields.status
        && !ROLE_STATUSES.contains(&status.as_str())
    {
        checks
            .0
            .push(FieldError::new("status", "must be active or retired"));
    }
    checks.done()?;
    Ok(CheckedRole {
        title,
        track,
        level,
        description,
        status: fields.status.clone(),
    })
}

async fn title_taken(tx: &TenantTx, title: &str, except: Option<Uuid>) -> Result<bool> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT 1 AS taken FROM career_roles WHERE tenant_id = $1 AND lower(title) = lower($2) \
             AND id IS DISTINCT FROM $3",
            vec![tx.tenant_id().as_uuid().into(), title.into(), except.into()],
        ))
        .await?
        .is_some())
}

pub async fn create_role(tx: &TenantTx, ctx: &AuditCtx, fields: RoleFields) -> Result<RoleDetail> {
    let checked = check_role(&fields)?;
    let Some(title) = checked.title else {
        return Err(CareerError::invalid("title", "must not be empty"));
    };
    if title_taken(tx, &title, None).await? {
        return Err(CareerError::Taken {
            code: "role_exists",
            detail: format!("a career role titled {title:?} exists already"),
        });
    }
    let id = Uuid::now_v7();
    let track = checked.track.unwrap_or_default();
    let level = checked.level.unwrap_or(1);
    let description = checked.description.unwrap_or_default();
    tx.execute_raw(statement(
        "INSERT INTO career_roles (tenant_id, id, title, track, level, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            title.clone().into(),
            track.clone().into(),
            level.into(),
            description.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_role.created")
            .target("career_role", id, Some(&title))
            .metadata(json!({ "after": {
                "title": title, "track": track, "level": level, "description": description,
            } })),
    )
    .await?;
    detail(tx, id).await
}

pub async fn update_role(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    fields: RoleFields,
) -> Result<RoleDetail> {
    let checked = check_role(&fields)?;
    lock_role(tx, id).await?;
    let current = role(tx, id).await?;
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    let mut diff = |field: &str, old: serde_json::Value, new: Option<serde_json::Value>| {
        if let Some(new) = new
            && new != old
        {
            before.insert(field.into(), old);
            after.insert(field.into(), new);
        }
    };
    diff(
        "title",
        json!(current.title),
        checked.title.as_ref().map(|v| json!(v)),
    );
    diff(
        "track",
        json!(current.track),
        checked.track.as_ref().map(|v| json!(v)),
    );
    diff(
        "level",
        json!(current.level),
        checked.level.map(|v| json!(v)),
    );
    diff(
        "description",
        json!(current.description),
        checked.description.as_ref().map(|v| json!(v)),
    );
    diff(
        "status",
        json!(current.status),
        checked.status.as_ref().map(|v| json!(v)),
    );
    if after.is_empty() {
        return detail(tx, id).await;
    }
    if let Some(title) = &checked.title
        && title_taken(tx, title, Some(id)).await?
    {
        return Err(CareerError::Taken {
            code: "role_exists",
            detail: format!("a career role titled {title:?} exists already"),
        });
    }
    tx.execute_raw(statement(
        "UPDATE career_roles SET title = coalesce($3, title), track = coalesce($4, track), \
         level = coalesce($5, level), description = coalesce($6, description), \
         status = coalesce($7, status), updated_at = $8 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            checked.title.clone().into(),
            checked.track.into(),
            checked.level.into(),
            checked.description.into(),
            checked.status.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_role.updated")
            .target(
                "career_role",
                id,
                Some(checked.title.as_deref().unwrap_or(&current.title)),
            )
            .metadata(json!({ "before": before, "after": after })),
    )
    .await?;
    detail(tx, id).await
}

async fn lock_role(tx: &TenantTx, id: Uuid) -> Result<()> {
    let found = tx
        .query_one_raw(statement(
            "SELECT 1 AS found FROM career_roles WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?;
    found.map(|_| ()).ok_or(CareerError::NotFound)
}

/// Deletes a role nobody holds, held, or aims at; otherwise 409 (retire it instead).
pub async fn delete_role(tx: &TenantTx, ctx: &AuditCtx, id: Uuid) -> Result<()> {
    lock_role(tx, id).await?;
    let current = role(tx, id).await?;
    let used = tx
        .query_one_raw(statement(
            "SELECT (SELECT count(*) FROM career_positions WHERE tenant_id = $1 AND role_id = $2) AS positions, \
                    (SELECT count(*) FROM career_goals WHERE tenant_id = $1 AND target_role_id = $2) AS goals, \
                    (SELECT count(*) FROM career_milestones WHERE tenant_id = $1 AND role_id = $2) AS milestones",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?;
    let (positions, goals, milestones) = match used {
        Some(row) => (
            row.try_get::<i64>("", "positions")?,
            row.try_get::<i64>("", "goals")?,
            row.try_get::<i64>("", "milestones")?,
        ),
        None => (0, 0, 0),
    };
    if positions > 0 || goals > 0 || milestones > 0 {
        return Err(CareerError::conflict(
            "role_in_use",
            format!(
                "{positions} positions, {goals} goals and {milestones} milestones name this role; \
                 retire it instead (status retired)"
            ),
        ));
    }
    tx.execute_raw(statement(
        "DELETE FROM career_roles WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_role.deleted")
            .target("career_role", id, Some(&current.title))
            .metadata(json!({ "before": { "title": current.title, "track": current.track } })),
    )
    .await?;
    Ok(())
}

/// One requirement as given.
pub struct NewRequirement {
    pub skill_id: Uuid,
    pub min_level: i64,
    pub weight: i64,
    pub critical: bool,
}

/// Replaces a role's requirements with `list` (each skill once, active, levels 1–5, weights 1–10).
pub async fn set_requirements(
    tx: &TenantTx,
    ctx: &AuditCtx,
    role_id: Uuid,
    list: Vec<NewRequirement>,
) -> Result<RoleDetail> {
    lock_role(tx, role_id).await?;
    let current = role(tx, role_id).await?;
    let mut checks = Checks::default();
    if list.len() > MAX_REQUIREMENTS {
        checks.0.push(FieldError::new(
            "requirements",
            format!("at most {MAX_REQUIREMENTS} per role"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, req) in list.iter().enumerate() {
        if !seen.insert(req.skill_id) {
            checks.0.push(FieldError::new(
                format!("requirements[{i}].skill_id"),
                "names a skill listed before",
            ));
        }
        checks.take(level(
            &format!("requirements[{i}].min_level"),
            req.min_level,
        ));
        if !(1..=10).contains(&req.weight) {
            checks.0.push(FieldError::new(
                format!("requirements[{i}].weight"),
                "must be between 1 and 10",
            ));
        }
    }
    checks.done()?;
    let before = requirements(tx, role_id).await?;
    let kept: BTreeSet<Uuid> = before.iter().map(|r| r.skill_id).collect();
    // A requirement the role already has may stay on a since-retired skill; a new one may not.
    let skills: Vec<Uuid> = list.iter().map(|r| r.skill_id).collect();
    taxonomy::check_skill_list(
        tx,
        |i| format!("requirements[{i}].skill_id"),
        &skills,
        &kept,
    )
    .await?;
    tx.execute_raw(statement(
        "DELETE FROM role_requirements WHERE tenant_id = $1 AND role_id = $2",
        vec![tx.tenant_id().as_uuid().into(), role_id.into()],
    ))
    .await?;
    for req in &list {
        tx.execute_raw(statement(
            "INSERT INTO role_requirements (tenant_id, role_id, skill_id, min_level, weight, critical) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                tx.tenant_id().as_uuid().into(),
                role_id.into(),
                req.skill_id.into(),
                (req.min_level as i16).into(),
                (req.weight as i16).into(),
                req.critical.into(),
            ],
        ))
        .await?;
    }
    let summary = |rows: &[RequirementRow]| -> Vec<serde_json::Value> {
        rows.iter()
            .map(|r| {
                json!({ "skill": r.skill, "min_level": r.min_level, "weight": r.weight, "critical": r.critical })
            })
            .collect()
    };
    let after = requirements(tx, role_id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_role.requirements_set")
            .target("career_role", role_id, Some(&current.title))
            .metadata(json!({ "before": summary(&before), "after": summary(&after) })),
    )
    .await?;
    detail(tx, role_id).await
}

/// Replaces a role's typical next roles.
pub async fn set_transitions(
    tx: &TenantTx,
    ctx: &AuditCtx,
    role_id: Uuid,
    to: Vec<Uuid>,
) -> Result<RoleDetail> {
    lock_role(tx, role_id).await?;
    let current = role(tx, role_id).await?;
    let mut checks = Checks::default();
    let mut seen = BTreeSet::new();
    for (i, next) in to.iter().enumerate() {
        let field = format!("next_role_ids[{i}]");
        if *next == role_id {
            checks.0.push(FieldError::new(field, "is the role itself"));
        } else if !seen.insert(*next) {
            checks.0.push(FieldError::new(field, "is listed twice"));
        } else if role(tx, *next).await.is_err() {
            checks.0.push(FieldError::new(
                field,
                "is not a career role of this organization",
            ));
        }
    }
    if to.len() > 50 {
        checks
            .0
            .push(FieldError::new("next_role_ids", "at most 50"));
    }
    checks.done()?;
    let before: Vec<Uuid> = next_roles(tx, role_id)
        .await?
        .iter()
        .map(|r| r.id)
        .collect();
    tx.execute_raw(statement(
        "DELETE FROM role_transitions WHERE tenant_id = $1 AND from_role_id = $2",
        vec![tx.tenant_id().as_uuid().into(), role_id.into()],
    ))
    .await?;
    for next in &to {
        tx.execute_raw(statement(
            "INSERT INTO role_transitions (tenant_id, from_role_id, to_role_id) VALUES ($1, $2, $3)",
            vec![tx.tenant_id().as_uuid().into(), role_id.into(), (*next).into()],
        ))
        .await?;
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_role.transitions_set")
            .target("career_role", role_id, Some(&current.title))
            .metadata(json!({ "before": before, "after": to })),
    )
    .await?;
    detail(tx, role_id).await
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct PositionRow {
    pub id: Uuid,
    pub role_id: Uuid,
    pub title: String,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
}

/// A member's positions, the current one first.
pub async fn positions(tx: &TenantTx, user: Uuid) -> Result<Vec<PositionRow>> {
    Ok(PositionRow::find_by_statement(statement(
        "SELECT p.id, p.role_id, r.title, p.started_on, p.ended_on FROM career_positions p \
         JOIN career_roles r ON r.tenant_id = p.tenant_id AND r.id = p.role_id \
         WHERE p.tenant_id = $1 AND p.user_id = $2 ORDER BY p.ended_on IS NULL DESC, p.started_on DESC, p.id DESC",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

/// Records that the member holds `role_id` from `started_on`: the open position ends that day. The
/// history is what next-role suggestions count.
pub async fn set_position(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    role_id: Uuid,
    started_on: NaiveDate,
) -> Result<Vec<PositionRow>> {
    super::plausible_date("started_on", started_on).map_err(|e| CareerError::Invalid(vec![e]))?;
    let target = role(tx, role_id).await.map_err(|_| {
        CareerError::invalid("role_id", "is not a career role of this organization")
    })?;
    if target.status != "active" {
        return Err(CareerError::invalid("role_id", "is retired"));
    }
    // One change of a member's position at a time.
    tx.execute_raw(statement(
        "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .await?;
    let current = positions(tx, user).await?;
    let open = current.iter().find(|p| p.ended_on.is_none());
    if let Some(open) = open {
        if open.role_id == role_id {
            return Ok(current);
        }
        if started_on < open.started_on {
            return Err(CareerError::invalid(
                "started_on",
                format!(
                    "must not be before the current position's start ({})",
                    open.started_on
                ),
            ));
        }
        tx.execute_raw(statement(
            "UPDATE career_positions SET ended_on = $3 WHERE tenant_id = $1 AND id = $2",
            vec![
                tx.tenant_id().as_uuid().into(),
                open.id.into(),
                started_on.into(),
            ],
        ))
        .await?;
    }
    tx.execute_raw(statement(
        "INSERT INTO career_positions (tenant_id, id, user_id, role_id, started_on) VALUES ($1, $2, $3, $4, $5)",
        vec![
            tx.tenant_id().as_uuid().into(),
            Uuid::now_v7().into(),
            user.into(),
            role_id.into(),
            started_on.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("career_position.set")
            .target("user", user, None)
            .metadata(json!({
                "before": open.map(|p| json!({ "role_id": p.role_id, "title": p.title })),
                "after": { "role_id": role_id, "title": target.title, "started_on": started_on },
            })),
    )
    .await?;
    positions(tx, user).await
}

/// How ready a member with these effective levels is for the role; each gap lists the courses that
/// teach its skill.
pub async fn readiness_for(
    tx: &TenantTx,
    role_id: Uuid,
    levels: &std::collections::BTreeMap<Uuid, f64>,
) -> Result<super::readiness::Readiness> {
    let requirements: Vec<Requirement> = requirements(tx, role_id)
        .await?
        .iter()
        .map(RequirementRow::requirement)
        .collect();
    let mut readiness = super::readiness::readiness(&requirements, levels);
    super::learning::attach(tx, &mut readiness.gaps).await?;
    Ok(readiness)
}
