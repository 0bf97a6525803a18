//! The organization's skills taxonomy: function areas, their specializations, and the skills and
//! competencies filed under them. Each organization starts from its own copy of the starter taxonomy
//! and may add, rename, move, retire and merge skills; nobody else sees its changes.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde_json::json;
use uuid::Uuid;

use super::{CareerError, Checks, Result, label, prose};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::SqlBuilder,
    db::sql::statement,
    http::pagination::PageRequest,
    tenancy::TenantTx,
};

pub const SKILL_KINDS: &[&str] = &["skill", "competency"];
pub const SKILL_STATUSES: &[&str] = &["active", "retired", "merged"];

#[derive(Debug, Clone, FromQueryResult)]
pub struct GroupRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    /// Active skills filed directly under the group.
    pub skills: i64,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct SkillRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub status: String,
    pub merged_into: Option<Uuid>,
    pub group_id: Uuid,
    pub group_name: String,
    pub area_id: Option<Uuid>,
    pub area_name: Option<String>,
    pub starter_key: Option<String>,
    /// Members with the skill on their profile.
    pub holders: i64,
}

const SKILL_SELECT: &str = "SELECT s.id, s.name, s.description, s.kind, s.status, s.merged_into, \
     s.group_id, g.name AS group_name, a.id AS area_id, a.name AS area_name, s.starter_key, \
     (SELECT count(*) FROM skill_profile p WHERE p.tenant_id = s.tenant_id AND p.skill_id = s.id) AS holders \
     FROM skills s JOIN skill_groups g ON g.tenant_id = s.tenant_id AND g.id = s.group_id \
     LEFT JOIN skill_groups a ON a.tenant_id = g.tenant_id AND a.id = g.parent_id";

/// Every group, areas first, then by name.
pub async fn groups(tx: &TenantTx) -> Result<Vec<GroupRow>> {
    Ok(GroupRow::find_by_statement(statement(
        "SELECT g.id, g.parent_id, g.name, \
            (SELECT count(*) FROM skills s WHERE s.tenant_id = g.tenant_id AND s.group_id = g.id \
             AND s.status = 'active') AS skills \
         FROM skill_groups g WHERE g.tenant_id = $1 \
         ORDER BY g.parent_id IS NOT NULL, lower(g.name), g.id",
        vec![tx.tenant_id().as_uuid().into()],
    ))
    .all(tx)
    .await?)
}

async fn group(tx: &TenantTx, id: Uuid) -> Result<GroupRow> {
    GroupRow::find_by_statement(statement(
        "SELECT g.id, g.parent_id, g.name, \
            (SELECT count(*) FROM skills s WHERE s.tenant_id = g.tenant_id AND s.group_id = g.id \
             AND s.status = 'active') AS skills \
         FROM skill_groups g WHERE g.tenant_id = $1 AND g.id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

async fn group_name_taken(
    tx: &TenantTx,
    parent_id: Option<Uuid>,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT 1 AS taken FROM skill_groups WHERE tenant_id = $1 \
             AND parent_id IS NOT DISTINCT FROM $2 AND lower(name) = lower($3) \
             AND id IS DISTINCT FROM $4",
            vec![
                tx.tenant_id().as_uuid().into(),
                parent_id.into(),
                name.into(),
                except.into(),
            ],
        ))
        .await?
        .is_some())
}

/// A new function area (no parent) or a specialization of an area.
pub async fn create_group(
    tx: &TenantTx,
    ctx: &AuditCtx,
    name: &str,
    parent_id: Option<Uuid>,
) -> Result<GroupRow> {
    let name = label("name", name, 120).map_err(|e| CareerError::Invalid(vec![e]))?;
    if let Some(parent) = parent_id {
        let parent = group(tx, parent).await.map_err(|_| {
            CareerError::invalid("parent_id", "is not a group of this organization")
        })?;
        if parent.parent_id.is_some() {
            return Err(CareerError::invalid(
                "parent_id",
                "must be a function area: specializations hold skills, not groups",
            ));
        }
    }
    if group_name_taken(tx, parent_id, &name, None).await? {
        return Err(CareerError::Taken {
            code: "group_exists",
            detail: format!("a group named {name:?} exists there already"),
        });
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO skill_groups (tenant_id, id, parent_id, name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            parent_id.into(),
            name.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("skill_group.created")
            .target("skill_group", id, Some(&name))
            .metadata(json!({ "after": { "name": name, "parent_id": parent_id } })),
    )
    .await?;
    group(tx, id).await
}

pub async fn rename_group(tx: &TenantTx, ctx: &AuditCtx, id: Uuid, name: &str) -> Result<GroupRow> {
    let current = group(tx, id).await?;
    let name = label("name", name, 120).map_err(|e| CareerError::Invalid(vec![e]))?;
    if name == current.name {
        return Ok(current);
    }
    if group_name_taken(tx, current.parent_id, &name, Some(id)).await? {
        return Err(CareerError::Taken {
            code: "group_exists",
            detail: format!("a group named {name:?} exists there already"),
        });
    }
    tx.execute_raw(statement(
        "UPDATE skill_groups SET name = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            name.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("skill_group.renamed")
            .target("skill_group", id, Some(&name))
            .metadata(json!({ "before": { "name": current.name }, "after": { "name": name } })),
    )
    .await?;
    group(tx, id).await
}

#[derive(Debug, Default)]
pub struct SkillFilter {
    /// Part of the name, any case.
    pub search: Option<String>,
    /// Skills filed under this group or, for an area, under its specializations.
    pub group_id: Option<Uuid>,
    pub kind: Option<String>,
    /// `active` unless asked.
    pub status: Option<String>,
}

/// A page of skills by name (`limit + 1` rows: the extra one says there is more).
pub async fn list_skills(
    tx: &TenantTx,
    filter: &SkillFilter,
    page: &PageRequest<(String, Uuid)>,
) -> Result<Vec<SkillRow>> {
    let mut query = SqlBuilder::new(
        format!("{SKILL_SELECT} WHERE s.tenant_id = $1"),
        tx.tenant_id().as_uuid(),
    );
    query.and_contains(&["lower(s.name)"], filter.search.as_deref());
    if let Some(group_id) = filter.group_id {
        let n = query.bind(group_id);
        query.push(&format!(" AND (s.group_id = ${n} OR g.parent_id = ${n})"));
    }
    if let Some(kind) = &filter.kind {
        match SKILL_KINDS.iter().find(|k| **k == kind.as_str()) {
            Some(known) => query.and_equals_known("s.kind", known),
            None => return Err(CareerError::invalid("kind", "must be skill or competency")),
        }
    }
    let status = filter.status.as_deref().unwrap_or("active");
    match SKILL_STATUSES.iter().find(|s| **s == status) {
        Some(known) => query.and_equals_known("s.status", known),
        None => {
            return Err(CareerError::invalid(
                "status",
                "must be active, retired or merged",
            ));
        }
    }
    if let Some((name, id)) = &page.after {
        let (n, i) = (query.bind(name.clone()), query.bind(*id));
        query.push(&format!(" AND (lower(s.name), s.id) > (${n}, ${i})"));
    }
    query.push(" ORDER BY lower(s.name), s.id");
    query.limit(page.limit + 1);
    Ok(SkillRow::find_by_statement(query.build()).all(tx).await?)
}

pub async fn skill(tx: &TenantTx, id: Uuid) -> Result<SkillRow> {
    SkillRow::find_by_statement(statement(
        &format!("{SKILL_SELECT} WHERE s.tenant_id = $1 AND s.id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

/// Checks a list of skills about to replace `kept` (what a role requires, a course teaches, a project
/// used), under locks: every skill of either list is locked `FOR KEY SHARE` in id order, so a merge of
/// one of them (which locks them `FOR UPDATE`, then moves the rows naming them) waits for this change
/// or this change for the merge — never a deadlock. A skill new to the list must be active; one it
/// already had may be retired since, but not merged away (the merge moved it: a stale list would bring
/// it back). `field(i)` names the i-th entry in errors.
pub async fn check_skill_list(
    tx: &TenantTx,
    field: impl Fn(usize) -> String,
    list: &[Uuid],
    kept: &BTreeSet<Uuid>,
) -> Result<()> {
    let all: Vec<Uuid> = list
        .iter()
        .chain(kept.iter())
        .copied()
        .collect::<BTreeSet<Uuid>>()
        .into_iter()
        .collect();
    if !all.is_empty() {
        tx.execute_raw(statement(
            "SELECT 1 FROM skills WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR KEY SHARE",
            vec![tx.tenant_id().as_uuid().into(), all.into()],
        ))
        .await?;
    }
    for (i, id) in list.iter().enumerate() {
        // `active_skill` names what is wrong: unknown, merged (into which) or retired.
        let new_or_merged = !kept.contains(id) || skill(tx, *id).await?.status == "merged";
        if new_or_merged {
            active_skill(tx, &field(i), *id).await?;
        }
    }
    Ok(())
}

/// The skill to use for new ratings and requirements: it must exist in the organization and be active.
pub async fn active_skill(tx: &TenantTx, field: &str, id: Uuid) -> Result<SkillRow> {
    let skill = skill(tx, id)
        .await
        .map_err(|_| CareerError::invalid(field, "is not a skill of this organization"))?;
    match skill.status.as_str() {
        "active" => Ok(skill),
        "merged" => Err(CareerError::invalid(
            field,
            format!(
                "was merged into another skill ({}); use that one",
                skill
                    .merged_into
                    .map(|id| id.to_string())
                    .unwrap_or_default()
            ),
        )),
        _ => Err(CareerError::invalid(field, "is retired")),
    }
}

async fn skill_name_taken(tx: &TenantTx, name: &str, except: Option<Uuid>) -> Result<Option<Uuid>> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT id FROM skills WHERE tenant_id = $1 AND lower(name) = lower($2) \
             AND status <> 'merged' AND id IS DISTINCT FROM $3",
            vec![tx.tenant_id().as_uuid().into(), name.into(), except.into()],
        ))
        .await?
        .map(|row| row.try_get::<Uuid>("", "id"))
        .transpose()?)
}

/// Skills are filed under a specialization, competencies under a group of the area "Competencies" or
/// any other; either way, never directly under an area.
async fn filing_group(tx: &TenantTx, group_id: Uuid) -> Result<GroupRow> {
    let group = group(tx, group_id)
        .await
        .map_err(|_| CareerError::invalid("group_id", "is not a group of this organization"))?;
    if group.parent_id.is_none() {
        return Err(CareerError::invalid(
            "group_id",
            "must be a specialization, not a function area",
        ));
    }
    Ok(group)
}

pub struct NewSkill {
    pub name: String,
    pub group_id: Uuid,
    pub kind: String,
    pub description: String,
}

pub async fn create_skill(tx: &TenantTx, ctx: &AuditCtx, new: NewSkill) -> Result<SkillRow> {
    let mut checks = Checks::default();
    let name = checks.take(label("name", &new.name, 120));
    let description = checks.take(prose("description", &new.description, 1000));
    if !SKILL_KINDS.contains(&new.kind.as_str()) {
        checks.0.push(crate::error::FieldError::new(
            "kind",
            "must be skill or competency",
        ));
    }
    checks.done()?;
    let (Some(name), Some(description)) = (name, description) else {
        return Err(CareerError::invalid("name", "is not valid"));
    };
    filing_group(tx, new.group_id).await?;
    if let Some(existing) = skill_name_taken(tx, &name, None).await? {
        return Err(CareerError::Taken {
            code: "skill_exists",
            detail: format!(
                "a skill named {name:?} exists already ({existing}); restore it if it is retired"
            ),
        });
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO skills (tenant_id, id, group_id, name, description, kind, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            new.group_id.into(),
            name.clone().into(),
            description.clone().into(),
            new.kind.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("skill.created")
            .target("skill", id, Some(&name))
            .metadata(json!({ "after": {
                "name": name, "kind": new.kind, "group_id": new.group_id, "description": description,
            } })),
    )
    .await?;
    skill(tx, id).await
}

#[derive(Debug, Default)]
pub struct SkillChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub group_id: Option<Uuid>,
    /// `active` (restore) or `retired`.
    pub status: Option<String>,
}

/// Renames, describes, moves, retires or restores a skill. A merged skill is history: it changes no more.
pub async fn update_skill(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    change: SkillChange,
) -> Result<SkillRow> {
    let current = locked_skill(tx, id).await?;
    if current.status == "merged" {
        return Err(CareerError::conflict(
            "skill_merged",
            "this skill was merged into another and can no longer change",
        ));
    }
    let mut checks = Checks::default();
    let name = change
        .name
        .as_deref()
        .and_then(|n| checks.take(label("name", n, 120)));
    let description = change
        .description
        .as_deref()
        .and_then(|d| checks.take(prose("description", d, 1000)));
    if let Some(status) = &change.status
        && !["active", "retired"].contains(&status.as_str())
    {
        checks.0.push(crate::error::FieldError::new(
            "status",
            "must be active or retired (merging is its own request)",
        ));
    }
    checks.done()?;
    if let Some(group_id) = change.group_id {
        filing_group(tx, group_id).await?;
    }
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    let mut diff = |field: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            before.insert(field.into(), old);
            after.insert(field.into(), new);
        }
    };
    if let Some(name) = &name {
        diff("name", json!(current.name), json!(name));
    }
    if let Some(description) = &description {
        diff(
            "description",
            json!(current.description),
            json!(description),
        );
    }
    if let Some(group_id) = change.group_id {
        diff("group_id", json!(current.group_id), json!(group_id));
    }
    if let Some(status) = &change.status {
        diff("status", json!(current.status), json!(status));
    }
    if after.is_empty() {
        return skill(tx, id).await;
    }
    if let Some(name) = &name
        && let Some(existing) = skill_name_taken(tx, name, Some(id)).await?
    {
        return Err(CareerError::Taken {
            code: "skill_exists",
            detail: format!("a skill named {name:?} exists already ({existing})"),
        });
    }
    tx.execute_raw(statement(
        "UPDATE skills SET name = coalesce($3, name), description = coalesce($4, description), \
         group_id = coalesce($5, group_id), status = coalesce($6, status), updated_at = $7 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            name.clone().into(),
            description.into(),
            change.group_id.into(),
            change.status.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let action = match change.status.as_deref() {
        Some("retired") if current.status != "retired" => "skill.retired",
        Some("active") if current.status != "active" => "skill.restored",
        _ => "skill.updated",
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("skill", id, Some(name.as_deref().unwrap_or(&current.name)))
            .metadata(json!({ "before": before, "after": after })),
    )
    .await?;
    skill(tx, id).await
}

async fn locked_skill(tx: &TenantTx, id: Uuid) -> Result<SkillRow> {
    tx.execute_raw(statement(
        "SELECT 1 FROM skills WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    skill(tx, id).await
}

/// What a merge moved.
#[derive(Debug, Clone, Copy, Default)]
pub struct Merged {
    /// Members whose profile entry moved to the other skill or was combined with theirs.
    pub profiles: u64,
    /// Roles whose requirement moved or was combined.
    pub requirements: u64,
}

/// Merges `from` into `into`: every profile entry, rating and role requirement of `from` moves to
/// `into` (where a member or role has both, they are combined: ratings kept, "want to develop" if
/// either said so, the stricter requirement), as do the courses, projects and milestones naming it,
/// and `from` stays as history, `merged` into `into`.
pub async fn merge_skill(
    tx: &TenantTx,
    ctx: &AuditCtx,
    from: Uuid,
    into: Uuid,
) -> Result<(SkillRow, Merged)> {
    if from == into {
        return Err(CareerError::invalid("into", "must be another skill"));
    }
    // Both locked in id order, so two merges of the same pair in opposite directions cannot deadlock.
    let (first, second) = if from < into {
        (from, into)
    } else {
        (into, from)
    };
    tx.execute_raw(statement(
        "SELECT 1 FROM skills WHERE tenant_id = $1 AND id IN ($2, $3) ORDER BY id FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), first.into(), second.into()],
    ))
    .await?;
    let source = skill(tx, from).await?;
    let target = skill(tx, into)
        .await
        .map_err(|_| CareerError::invalid("into", "is not a skill of this organization"))?;
    if source.status == "merged" {
        return Err(CareerError::conflict(
            "skill_merged",
            "this skill was merged already",
        ));
    }
    if target.status != "active" {
        return Err(CareerError::invalid("into", "must be an active skill"));
    }
    let tenant: Value = tx.tenant_id().as_uuid().into();
    let run = |sql: &'static str| statement(sql, vec![tenant.clone(), from.into(), into.into()]);
    // Members with both: A's ratings go to their B entry, then A's entry goes.
    tx.execute_raw(run("UPDATE skill_ratings r SET skill_id = $3 \
         WHERE r.tenant_id = $1 AND r.skill_id = $2 AND EXISTS (SELECT 1 FROM skill_profile p \
           WHERE p.tenant_id = $1 AND p.user_id = r.user_id AND p.skill_id = $3)"))
        .await?;
    tx.execute_raw(run(
        "UPDATE skill_profile b SET want_to_develop = true \
         FROM skill_profile a WHERE b.tenant_id = $1 AND b.skill_id = $3 AND a.tenant_id = $1 \
           AND a.skill_id = $2 AND a.user_id = b.user_id AND a.want_to_develop AND NOT b.want_to_develop",
    ))
    .await?;
    let combined = tx
        .execute_raw(run(
            "DELETE FROM skill_profile a WHERE a.tenant_id = $1 AND a.skill_id = $2 AND EXISTS \
             (SELECT 1 FROM skill_profile b WHERE b.tenant_id = $1 AND b.skill_id = $3 AND b.user_id = a.user_id)",
        ))
        .await?
        .rows_affected();
    // The rest move whole (their ratings follow: ON UPDATE CASCADE).
    let moved = tx
        .execute_raw(run(
            "UPDATE skill_profile SET skill_id = $3 WHERE tenant_id = $1 AND skill_id = $2",
        ))
        .await?
        .rows_affected();
    tx.execute_raw(run(
        "UPDATE role_requirements b SET min_level = greatest(a.min_level, b.min_level), \
            weight = greatest(a.weight, b.weight), critical = a.critical OR b.critical \
         FROM role_requirements a WHERE b.tenant_id = $1 AND b.skill_id = $3 AND a.tenant_id = $1 \
           AND a.skill_id = $2 AND a.role_id = b.role_id",
    ))
    .await?;
    let combined_requirements = tx
        .execute_raw(run(
            "DELETE FROM role_requirements a WHERE a.tenant_id = $1 AND a.skill_id = $2 AND EXISTS \
             (SELECT 1 FROM role_requirements b WHERE b.tenant_id = $1 AND b.skill_id = $3 AND b.role_id = a.role_id)",
        ))
        .await?
        .rows_affected();
    let moved_requirements = tx
        .execute_raw(run(
            "UPDATE role_requirements SET skill_id = $3 WHERE tenant_id = $1 AND skill_id = $2",
        ))
        .await?
        .rows_affected();
    // Courses teach, projects used, milestones, interview questions and mentors name `into` instead (a
    // course that taught both keeps the higher level).
    tx.execute_raw(run(
        "UPDATE course_skills b SET level = greatest(a.level, b.level) FROM course_skills a \
         WHERE b.tenant_id = $1 AND b.skill_id = $3 AND a.tenant_id = $1 AND a.skill_id = $2 \
           AND a.course_id = b.course_id",
    ))
    .await?;
    for sql in [
        "DELETE FROM course_skills a WHERE a.tenant_id = $1 AND a.skill_id = $2 AND EXISTS \
         (SELECT 1 FROM course_skills b WHERE b.tenant_id = $1 AND b.skill_id = $3 AND b.course_id = a.course_id)",
        "UPDATE course_skills SET skill_id = $3 WHERE tenant_id = $1 AND skill_id = $2",
        "DELETE FROM project_skills a WHERE a.tenant_id = $1 AND a.skill_id = $2 AND EXISTS \
         (SELECT 1 FROM project_skills b WHERE b.tenant_id = $1 AND b.skill_id = $3 AND b.project_id = a.project_id)",
        "UPDATE project_skills SET skill_id = $3 WHERE tenant_id = $1 AND skill_id = $2",
        "UPDATE career_milestones SET skill_id = $3 WHERE tenant_id = $1 AND skill_id = $2",
        "DELETE FROM interview_question_skills a WHERE a.tenant_id = $1 AND a.skill_id = $2 AND EXISTS \
         (SELECT 1 FROM interview_question_skills b WHERE b.tenant_id = $1 AND b.skill_id = $3 \
           AND b.question_id = a.question_id)",
        "UPDATE interview_question_skills SET skill_id = $3 WHERE tenant_id = $1 AND skill_id = $2",
        // A mentor who taught either teaches the merged skill.
        "UPDATE mentor_skills b SET teaches = a.teaches OR b.teaches FROM mentor_skills a \
         WHERE b.tenant_id = $1 AND b.skill_id = $3 AND a.tenant_id = $1 AND a.skill_id = $2 \
           AND a.user_id = b.user_id",
        "DELETE FROM mentor_skills a WHERE a.tenant_id = $1 AND a.skill_id = $2 AND EXISTS \
         (SELECT 1 FROM mentor_skills b WHERE b.tenant_id = $1 AND b.skill_id = $3 AND b.user_id = a.user_id)",
        "UPDATE mentor_skills SET skill_id = $3 WHERE tenant_id = $1 AND skill_id = $2",
    ] {
        tx.execute_raw(run(sql)).await?;
    }
    // Skills merged into `from` before now point at `into`: one hop from any merged skill.
    tx.execute_raw(run(
        "UPDATE skills SET merged_into = $3 WHERE tenant_id = $1 AND merged_into = $2",
    ))
    .await?;
    tx.execute_raw(statement(
        "UPDATE skills SET status = 'merged', merged_into = $3, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2",
        vec![tenant.clone(), from.into(), into.into(), ctx.now.into()],
    ))
    .await?;
    let merged = Merged {
        profiles: combined + moved,
        requirements: combined_requirements + moved_requirements,
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new("skill.merged")
            .target("skill", from, Some(&source.name))
            .metadata(json!({
                "into": { "id": into, "name": target.name },
                "moved": { "profile_entries": merged.profiles, "requirements": merged.requirements },
            })),
    )
    .await?;
    Ok((skill(tx, from).await?, merged))
}
