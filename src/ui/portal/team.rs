//! My team (`/career/team`): a manager's view of their direct reports — each one's position, goal and
//! readiness for it, the largest gaps, and the skills on their profile with the levels — as the API's
//! `/career/team` and the reports' profiles show them to their manager.

use actix_web::{HttpRequest, get, web::Data};
use std::collections::BTreeMap;

use askama::Template;
use uuid::Uuid;

use super::{career::CAREER, views::ReadinessView};
use crate::{
    http::RequestContext,
    modules::career::{
        goals::{self, GoalRow},
        pathways, profiles, readiness,
    },
    state::AppState,
    tenancy::Tenant,
    ui::frame::{Nav, PageResult, html, visit},
};

/// Gaps shown per report.
const TOP_GAPS: usize = 3;

#[derive(Template)]
#[template(path = "portal/team.html", config = "admin-ui/askama.toml")]
struct TeamPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    has_reports: bool,
    reports: Vec<ReportView>,
}

struct ReportView {
    id: String,
    name: String,
    title: Option<String>,
    position: Option<String>,
    goal: Option<(String, ReadinessView)>,
    skills: Vec<(String, String, bool)>,
}

#[get("/career/team")]
pub async fn team_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
) -> PageResult {
    let visit = match visit(&state, &tenant, &req, request, "/career/team", CAREER).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = visit.auth;
    let (user, _) = auth.principal.user()?;
    let tx = &auth.tx;
    let members = profiles::direct_reports(tx, user.as_uuid()).await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    // Profiles, goals and the goals' requirements for the whole team at once; the page lists no
    // courses, so readiness is computed without the catalogue.
    let mut skills = profiles::skills_of(tx, &ids, auth.ctx.now).await?;
    let mut goals: BTreeMap<Uuid, GoalRow> = goals::active_of(tx, &ids)
        .await?
        .into_iter()
        .map(|g| (g.user_id, g))
        .collect();
    let roles: Vec<Uuid> = goals.values().map(|g| g.target_role_id).collect();
    let requirements = pathways::requirements_of(tx, &roles).await?;
    let mut reports = Vec::with_capacity(members.len());
    for member in members {
        let own = skills.remove(&member.id).unwrap_or_default();
        let levels = profiles::levels(&own);
        let position = pathways::positions(tx, member.id)
            .await?
            .into_iter()
            .find(|p| p.ended_on.is_none())
            .map(|p| p.title);
        let goal = goals.remove(&member.id).map(|goal| {
            let asked = requirements
                .get(&goal.target_role_id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let readiness = readiness::readiness(asked, &levels);
            (
                goal.target_role_title,
                ReadinessView::of(readiness, TOP_GAPS, 0),
            )
        });
        reports.push(ReportView {
            id: member.id.to_string(),
            name: match member.display_name.as_str() {
                "" => member.email,
                name => name.to_owned(),
            },
            title: member.title,
            position,
            goal,
            skills: own
                .into_iter()
                .map(|s| {
                    (
                        s.name,
                        format!("{:.1}", s.effective.level),
                        s.want_to_develop,
                    )
                })
                .collect(),
        });
    }
    let has_reports = !reports.is_empty();
    let response = html(
        actix_web::http::StatusCode::OK,
        TeamPage {
            org: &visit.org,
            csrf: &visit.csrf,
            nav: visit.nav,
            has_reports,
            reports,
        },
    );
    auth.tx.commit().await?;
    response
}
