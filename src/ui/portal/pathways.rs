//! Roles and pathways (`/career/roles`): the organization's active career roles by track and level,
//! each with the member's readiness, and a role's page (`/career/roles/{id}`) with its requirements
//! against the member's levels, the gaps explained with their courses, the typical next roles, and the
//! form that makes it the member's goal.

use actix_web::{
    HttpRequest, get,
    web::{Data, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    career::CAREER,
    has_reports, search_text, searched,
    views::{ReadinessView, my_courses},
};
use crate::{
    http::{RequestContext, ValidQuery, pagination::PageRequest},
    modules::career::{
        goals,
        pathways::{self, RoleFilter},
        profiles, readiness,
    },
    state::AppState,
    tenancy::Tenant,
    ui::frame::{Nav, PageResult, html, visit},
};

/// Roles a page lists.
const ROLES: u64 = 100;

#[derive(Template)]
#[template(path = "portal/roles.html", config = "admin-ui/askama.toml")]
struct RolesPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    has_reports: bool,
    q: &'a str,
    roles: Vec<RoleLine>,
    /// More roles than a page holds match.
    more: bool,
}

struct RoleLine {
    id: String,
    title: String,
    track: String,
    level: i16,
    readiness: u8,
    gaps: usize,
    goal: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesQuery {
    #[serde(default)]
    q: String,
}

#[get("/career/roles")]
pub async fn roles_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<RolesQuery>,
) -> PageResult {
    let back = searched("/career/roles", &query.q);
    let visit = match visit(&state, &tenant, &req, request, &back, CAREER).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = visit.auth;
    let (user, _) = auth.principal.user()?;
    let tx = &auth.tx;
    let filter = RoleFilter {
        search: search_text(&query.q)?,
        ..RoleFilter::default()
    };
    let page = PageRequest {
        limit: ROLES,
        after: None,
    };
    let mut rows = pathways::list_roles(tx, &filter, &page).await?;
    let more = rows.len() as u64 > ROLES;
    rows.truncate(ROLES as usize);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut requirements = pathways::requirements_of(tx, &ids).await?;
    let levels = profiles::levels(&profiles::skills(tx, user.as_uuid(), auth.ctx.now).await?);
    let goal = goals::active(tx, user.as_uuid())
        .await?
        .map(|g| g.target_role_id);
    let roles = rows
        .into_iter()
        .map(|role| {
            let asked = requirements.remove(&role.id).unwrap_or_default();
            let readiness = readiness::readiness(&asked, &levels);
            RoleLine {
                id: role.id.to_string(),
                goal: goal == Some(role.id),
                title: role.title,
                track: role.track,
                level: role.level,
                readiness: readiness.score,
                gaps: readiness.gaps.len(),
            }
        })
        .collect();
    let has_reports = has_reports(tx, user.as_uuid()).await?;
    let response = html(
        actix_web::http::StatusCode::OK,
        RolesPage {
            org: &visit.org,
            csrf: &visit.csrf,
            nav: visit.nav,
            has_reports,
            q: &query.q,
            roles,
            more,
        },
    );
    auth.tx.commit().await?;
    response
}

#[derive(Template)]
#[template(path = "portal/role.html", config = "admin-ui/askama.toml")]
struct RolePage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    has_reports: bool,
    id: String,
    title: String,
    track: String,
    level: i16,
    description: String,
    retired: bool,
    holders: i64,
    next_roles: Vec<(String, String)>,
    r: ReadinessView,
    /// The member's active goal: this role (`Some(true)`), another (`Some(false)`), none.
    goal: Option<bool>,
    full: bool,
}

#[get("/career/roles/{career_role_id}")]
pub async fn role_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    role_id: Path<Uuid>,
) -> PageResult {
    let back = format!("/career/roles/{}", *role_id);
    let visit = match visit(&state, &tenant, &req, request, &back, CAREER).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = visit.auth;
    let (user, _) = auth.principal.user()?;
    let tx = &auth.tx;
    let detail = pathways::detail(tx, *role_id).await?;
    let levels = profiles::levels(&profiles::skills(tx, user.as_uuid(), auth.ctx.now).await?);
    let readiness = pathways::readiness_for(tx, *role_id, &levels).await?;
    let goal = goals::active(tx, user.as_uuid())
        .await?
        .map(|g| g.target_role_id == *role_id);
    let has_reports = has_reports(tx, user.as_uuid()).await?;
    let role = detail.role;
    let response = html(
        actix_web::http::StatusCode::OK,
        RolePage {
            org: &visit.org,
            csrf: &visit.csrf,
            nav: visit.nav,
            has_reports,
            id: role.id.to_string(),
            title: role.title,
            track: role.track,
            level: role.level,
            description: role.description,
            retired: role.status != "active",
            holders: role.holders,
            next_roles: detail
                .next_roles
                .into_iter()
                .map(|r| (r.id.to_string(), r.title))
                .collect(),
            r: ReadinessView::of(readiness, usize::MAX, 3)
                .with_enrolments(&my_courses(tx, user.as_uuid()).await?),
            goal,
            full: true,
        },
    );
    auth.tx.commit().await?;
    response
}
