//! Portfolio projects: work a member shows — a title, a summary, dates, the skills (technologies) used
//! and links. Visibility: `private` (seen by whoever may read the member's career profile: the member,
//! their manager, `career:read`), `org` (every member of the organization) or `featured` (org, and
//! first on the member's portfolio; at most [`MAX_FEATURED`] per member).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, NaiveDate};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CareerError, Checks, Result, label, plausible_date, prose, taxonomy, web_url};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::SqlBuilder,
    db::sql::statement,
    error::FieldError,
    http::pagination::PageRequest,
    tenancy::TenantTx,
};

pub const VISIBILITIES: &[&str] = &["private", "org", "featured"];
pub const MAX_FEATURED: i64 = 3;
pub const MAX_LINKS: usize = 10;
pub const MAX_PROJECT_SKILLS: usize = 20;
/// Projects per member, at most.
pub const MAX_PROJECTS: i64 = 200;

/// A link on a project: what it is and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectLink {
    pub label: String,
    /// An `http` or `https` URL.
    pub url: String,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ProjectRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub owner_name: String,
    pub title: String,
    pub summary: String,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub visibility: String,
    pub links: serde_json::Value,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

const PROJECT_SELECT: &str = "SELECT p.id, p.user_id, u.display_name AS owner_name, p.title, \
     p.summary, p.started_on, p.ended_on, p.visibility, p.links, p.created_at, p.updated_at \
     FROM portfolio_projects p JOIN users u ON u.tenant_id = p.tenant_id AND u.id = p.user_id";

#[derive(Debug, Clone, FromQueryResult)]
pub struct ProjectSkillRow {
    pub project_id: Uuid,
    pub skill_id: Uuid,
    pub name: String,
}

/// A project with its skills.
#[derive(Debug, Clone)]
pub struct Project {
    pub project: ProjectRow,
    pub skills: Vec<ProjectSkillRow>,
}

impl Project {
    pub fn links(&self) -> Vec<ProjectLink> {
        serde_json::from_value(self.project.links.clone()).unwrap_or_default()
    }
}

async fn with_skills(tx: &TenantTx, rows: Vec<ProjectRow>) -> Result<Vec<Project>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut by_project: BTreeMap<Uuid, Vec<ProjectSkillRow>> = BTreeMap::new();
    if !ids.is_empty() {
        for row in ProjectSkillRow::find_by_statement(statement(
            "SELECT ps.project_id, ps.skill_id, s.name FROM project_skills ps \
             JOIN skills s ON s.tenant_id = ps.tenant_id AND s.id = ps.skill_id \
             WHERE ps.tenant_id = $1 AND ps.project_id = ANY($2) ORDER BY lower(s.name), s.id",
            vec![tx.tenant_id().as_uuid().into(), ids.into()],
        ))
        .all(tx)
        .await?
        {
            by_project.entry(row.project_id).or_default().push(row);
        }
    }
    Ok(rows
        .into_iter()
        .map(|project| Project {
            skills: by_project.remove(&project.id).unwrap_or_default(),
            project,
        })
        .collect())
}

/// A member's projects, featured first, then the newest. `everything`: private ones too (the caller
/// may read the member's career profile); otherwise only those shared with the organization.
pub async fn of_member(tx: &TenantTx, user: Uuid, everything: bool) -> Result<Vec<Project>> {
    let shared = if everything {
        ""
    } else {
        " AND p.visibility <> 'private'"
    };
    let rows = ProjectRow::find_by_statement(statement(
        &format!(
            "{PROJECT_SELECT} WHERE p.tenant_id = $1 AND p.user_id = $2{shared} \
             ORDER BY p.visibility = 'featured' DESC, p.created_at DESC, p.id DESC LIMIT {MAX_PROJECTS}"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?;
    with_skills(tx, rows).await
}

#[derive(Debug, Default)]
pub struct SharedFilter {
    /// Projects that used this skill.
    pub skill_id: Option<Uuid>,
    /// Featured projects only.
    pub featured: bool,
}

/// Projects shared with the organization by its active members, newest first (`limit + 1` rows).
pub async fn shared(
    tx: &TenantTx,
    filter: &SharedFilter,
    page: &PageRequest<(DateTime<FixedOffset>, Uuid)>,
) -> Result<Vec<Project>> {
    let mut query = SqlBuilder::new(
        format!(
            "{PROJECT_SELECT} WHERE p.tenant_id = $1 AND p.visibility <> 'private' AND u.status = 'active'"
        ),
        tx.tenant_id().as_uuid(),
    );
    if filter.featured {
        query.and_equals_known("p.visibility", "featured");
    }
    if let Some(skill) = filter.skill_id {
        let n = query.bind(skill);
        query.push(&format!(
            " AND EXISTS (SELECT 1 FROM project_skills ps WHERE ps.tenant_id = p.tenant_id \
             AND ps.project_id = p.id AND ps.skill_id = ${n})"
        ));
    }
    if let Some((created, id)) = &page.after {
        let (c, i) = (query.bind(*created), query.bind(*id));
        query.push(&format!(" AND (p.created_at, p.id) < (${c}, ${i})"));
    }
    query.push(" ORDER BY p.created_at DESC, p.id DESC");
    query.limit(page.limit + 1);
    let rows = ProjectRow::find_by_statement(query.build()).all(tx).await?;
    with_skills(tx, rows).await
}

/// The member's project `id` (someone else's is not found).
pub async fn own(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<Project> {
    let row = ProjectRow::find_by_statement(statement(
        &format!("{PROJECT_SELECT} WHERE p.tenant_id = $1 AND p.user_id = $2 AND p.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)?;
    with_skills(tx, vec![row])
        .await?
        .pop()
        .ok_or(CareerError::NotFound)
}

/// A project's fields; for a change, `None` keeps the current value (`Some(None)` clears a date).
#[derive(Default)]
pub struct ProjectFields {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub started_on: Option<Option<NaiveDate>>,
    pub ended_on: Option<Option<NaiveDate>>,
    pub visibility: Option<String>,
    pub links: Option<Vec<ProjectLink>>,
    /// Replaces the whole list.
    pub skill_ids: Option<Vec<Uuid>>,
}

fn check_links(checks: &mut Checks, links: &[ProjectLink]) -> Vec<ProjectLink> {
    if links.len() > MAX_LINKS {
        checks.0.push(FieldError::new(
            "links",
            format!("at most {MAX_LINKS} per project"),
        ));
    }
    links
        .iter()
        .enumerate()
        .filter_map(|(i, link)| {
            let label = checks.take(label(&format!("links[{i}].label"), &link.label, 80));
            let url = checks.take(web_url(&format!("links[{i}].url"), &link.url));
            Some(ProjectLink {
                label: label?,
                url: url?,
            })
        })
        .collect()
}

struct Values {
    title: String,
    summary: String,
    started_on: Option<NaiveDate>,
    ended_on: Option<NaiveDate>,
    visibility: String,
    links: Vec<ProjectLink>,
    /// `None`: the skills stay as they are.
    skill_ids: Option<Vec<Uuid>>,
}

/// The values the project will have, checked.
fn resolve(fields: ProjectFields, before: Option<&Project>) -> Result<Values> {
    let mut checks = Checks::default();
    let title = match (&fields.title, before) {
        (Some(raw), _) => checks.take(label("title", raw, 200)),
        (None, Some(b)) => Some(b.project.title.clone()),
        (None, None) => {
            checks.0.push(FieldError::new("title", "is required"));
            None
        }
    };
    let summary = match &fields.summary {
        Some(raw) => checks.take(prose("summary", raw, 4000)),
        None => Some(
            before
                .map(|b| b.project.summary.clone())
                .unwrap_or_default(),
        ),
    };
    let started_on = fields
        .started_on
        .unwrap_or_else(|| before.and_then(|b| b.project.started_on));
    let ended_on = fields
        .ended_on
        .unwrap_or_else(|| before.and_then(|b| b.project.ended_on));
    for (field, date) in [("started_on", started_on), ("ended_on", ended_on)] {
        if let Some(date) = date {
            checks.take(plausible_date(field, date));
        }
    }
    if let (Some(start), Some(end)) = (started_on, ended_on)
        && end < start
    {
        checks
            .0
            .push(FieldError::new("ended_on", "must not be before started_on"));
    }
    let visibility = fields
        .visibility
        .or_else(|| before.map(|b| b.project.visibility.clone()))
        .unwrap_or_else(|| "private".into());
    if !VISIBILITIES.contains(&visibility.as_str()) {
        checks.0.push(FieldError::new(
            "visibility",
            "must be private, org or featured",
        ));
    }
    let links = match &fields.links {
        Some(links) => check_links(&mut checks, links),
        None => before.map(Project::links).unwrap_or_default(),
    };
    let skill_ids = match fields.skill_ids {
        Some(ids) => Some({
            if ids.len() > MAX_PROJECT_SKILLS {
                checks.0.push(FieldError::new(
                    "skill_ids",
                    format!("at most {MAX_PROJECT_SKILLS} per project"),
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, id) in ids.iter().enumerate() {
                if !seen.insert(*id) {
                    checks.0.push(FieldError::new(
                        format!("skill_ids[{i}]"),
                        "names a skill listed before",
                    ));
                }
            }
            ids
        }),
        None => None,
    };
    checks.done()?;
    Ok(Values {
        title: title.unwrap_or_default(),
        summary: summary.unwrap_or_default(),
        started_on,
        ended_on,
        visibility,
        links,
        skill_ids,
    })
}

/// One change of a member's portfolio at a time: taken before anything of it is read.
async fn lock_portfolio(tx: &TenantTx, user: Uuid) -> Result<()> {
    tx.execute_raw(statement(
        "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .await?;
    Ok(())
}

/// The limits the new values would break (under [`lock_portfolio`]): projects per member and
/// featured per member.
async fn check_limits(
    tx: &TenantTx,
    user: Uuid,
    except: Option<Uuid>,
    visibility: &str,
) -> Result<()> {
    let row = tx
        .query_one_raw(statement(
            "SELECT count(*) AS projects, count(*) FILTER (WHERE visibility = 'featured') AS featured \
             FROM portfolio_projects WHERE tenant_id = $1 AND user_id = $2 AND id IS DISTINCT FROM $3",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                except.into(),
            ],
        ))
        .await?;
    let (projects, featured) = match row {
        Some(row) => (
            row.try_get::<i64>("", "projects")?,
            row.try_get::<i64>("", "featured")?,
        ),
        None => (0, 0),
    };
    if except.is_none() && projects >= MAX_PROJECTS {
        return Err(CareerError::conflict(
            "portfolio_full",
            format!("a portfolio holds at most {MAX_PROJECTS} projects"),
        ));
    }
    if visibility == "featured" && featured >= MAX_FEATURED {
        return Err(CareerError::conflict(
            "featured_limit",
            format!("at most {MAX_FEATURED} projects are featured; unfeature one first"),
        ));
    }
    Ok(())
}

async fn write_skills(
    tx: &TenantTx,
    project: Uuid,
    ids: &[Uuid],
    kept: &BTreeSet<Uuid>,
) -> Result<()> {
    taxonomy::check_skill_list(tx, |i| format!("skill_ids[{i}]"), ids, kept).await?;
    tx.execute_raw(statement(
        "DELETE FROM project_skills WHERE tenant_id = $1 AND project_id = $2",
        vec![tx.tenant_id().as_uuid().into(), project.into()],
    ))
    .await?;
    for id in ids {
        tx.execute_raw(statement(
            "INSERT INTO project_skills (tenant_id, project_id, skill_id) VALUES ($1, $2, $3)",
            vec![
                tx.tenant_id().as_uuid().into(),
                project.into(),
                (*id).into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

fn summary(p: &Project) -> serde_json::Value {
    json!({
        "title": p.project.title,
        "visibility": p.project.visibility,
        "started_on": p.project.started_on,
        "ended_on": p.project.ended_on,
        "links": p.links().len(),
        "skills": p.skills.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
    })
}

pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    fields: ProjectFields,
) -> Result<Project> {
    let values = resolve(fields, None)?;
    lock_portfolio(tx, user).await?;
    check_limits(tx, user, None, &values.visibility).await?;
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO portfolio_projects (tenant_id, id, user_id, title, summary, started_on, ended_on, \
         visibility, links, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            user.into(),
            values.title.into(),
            values.summary.into(),
            values.started_on.into(),
            values.ended_on.into(),
            values.visibility.into(),
            json!(values.links).into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    write_skills(
        tx,
        id,
        &values.skill_ids.unwrap_or_default(),
        &BTreeSet::new(),
    )
    .await?;
    let created = own(tx, user, id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("portfolio_project.created")
            .target("portfolio_project", id, Some(&created.project.title))
            .metadata(json!({ "user_id": user, "after": summary(&created) })),
    )
    .await?;
    Ok(created)
}

pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    fields: ProjectFields,
) -> Result<Project> {
    lock_portfolio(tx, user).await?;
    let before = own(tx, user, id).await?;
    let values = resolve(fields, Some(&before))?;
    check_limits(tx, user, Some(id), &values.visibility).await?;
    tx.execute_raw(statement(
        "UPDATE portfolio_projects SET title = $3, summary = $4, started_on = $5, ended_on = $6, \
         visibility = $7, links = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            values.title.into(),
            values.summary.into(),
            values.started_on.into(),
            values.ended_on.into(),
            values.visibility.into(),
            json!(values.links).into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    if let Some(ids) = &values.skill_ids {
        let kept: BTreeSet<Uuid> = before.skills.iter().map(|s| s.skill_id).collect();
        write_skills(tx, id, ids, &kept).await?;
    }
    let after = own(tx, user, id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("portfolio_project.updated")
            .target("portfolio_project", id, Some(&after.project.title))
            .metadata(
                json!({ "user_id": user, "before": summary(&before), "after": summary(&after) }),
            ),
    )
    .await?;
    Ok(after)
}

pub async fn delete(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<()> {
    lock_portfolio(tx, user).await?;
    let before = own(tx, user, id).await?;
    tx.execute_raw(statement(
        "DELETE FROM portfolio_projects WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("portfolio_project.deleted")
            .target("portfolio_project", id, Some(&before.project.title))
            .metadata(json!({ "user_id": user, "before": summary(&before) })),
    )
    .await?;
    Ok(())
}
