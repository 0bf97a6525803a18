//! Milestones and portfolio (`/career/record`): the member's milestones (a job secured, a
//! certification earned, a skill mastered), which count once their manager or HR verifies them, and
//! their portfolio of projects with who may see each. Both are added and removed here; verification
//! stays with the reviewer.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{career::CAREER, has_reports};
use crate::{
    auth::Authenticated,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::career::{
        milestones::{self, MilestoneFields},
        portfolio::{self, ProjectFields, ProjectLink},
        profiles,
    },
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::CsrfOnly,
        frame::{Nav, PageResult, Refusal, Visit, html, some, status_of, visit},
    },
};

const BACK: &str = "/career/record";

#[derive(Template)]
#[template(path = "portal/record.html", config = "admin-ui/askama.toml")]
struct RecordPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    has_reports: bool,
    notice: Option<&'a str>,
    error: Option<String>,
    milestones: Vec<MilestoneView>,
    points: i64,
    projects: Vec<ProjectView>,
    /// The skills on the member's profile, for "skill mastered" and a project's skills.
    skills: Vec<(String, String)>,
    kinds: Vec<(&'static str, String, i32)>,
    today: String,
}

struct MilestoneView {
    id: String,
    kind: String,
    title: String,
    about: Option<String>,
    achieved_on: String,
    points: i32,
    status: String,
}

struct ProjectView {
    id: String,
    title: String,
    summary: String,
    visibility: String,
    skills: Vec<String>,
    links: Vec<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "milestone" => Some("The milestone was added: it counts once it is verified."),
        "milestone-removed" => Some("The milestone was removed."),
        "project" => Some("The project was added to your portfolio."),
        "project-removed" => Some("The project was removed."),
        _ => None,
    }
}

fn words(code: &str) -> String {
    code.replace('_', " ")
}

#[get("/career/record")]
pub async fn record_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<RecordQuery>,
) -> PageResult {
    match visit(&state, &tenant, &req, request, BACK, CAREER).await? {
        Ok(visit) => render(visit, notice(&query.done), None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render(visit: Visit, notice: Option<&str>, refusal: Option<Refusal>) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    let tx = &auth.tx;
    let milestones = milestones::list(tx, user)
        .await?
        .into_iter()
        .map(|m| MilestoneView {
            id: m.id.to_string(),
            kind: words(&m.kind),
            about: m.skill_name.or(m.role_title),
            title: m.title,
            achieved_on: m.achieved_on.format("%-d %B %Y").to_string(),
            points: m.points,
            status: words(&m.status),
        })
        .collect();
    let points = milestones::verified_points(tx, user).await?;
    let projects = portfolio::of_member(tx, user, true)
        .await?
        .into_iter()
        .map(|p| ProjectView {
            links: p.links().into_iter().map(|l| (l.label, l.url)).collect(),
            id: p.project.id.to_string(),
            title: p.project.title,
            summary: p.project.summary,
            visibility: p.project.visibility,
            skills: p.skills.into_iter().map(|s| s.name).collect(),
        })
        .collect();
    let skills = profiles::skills(tx, user, auth.ctx.now)
        .await?
        .into_iter()
        .filter(|s| s.status == "active")
        .map(|s| (s.skill_id.to_string(), s.name))
        .collect();
    let has_reports = has_reports(tx, user).await?;
    let today = auth.ctx.now.date_naive().to_string();
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        RecordPage {
            org: &org,
            csrf: &csrf,
            nav,
            has_reports,
            notice,
            error: refusal.map(|r| r.message),
            milestones,
            points,
            projects,
            skills,
            kinds: milestones::KINDS
                .iter()
                .map(|(kind, points)| (*kind, words(kind), *points))
                .collect(),
            today,
        },
    )
}

fn date(field: &str, text: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
    some(text)
        .map(|d| {
            d.parse()
                .map_err(|_| ApiError::validation(field, "must be a date"))
        })
        .transpose()
}

fn uuid(field: &str, text: &str) -> Result<Option<Uuid>, ApiError> {
    some(text)
        .map(|id| {
            id.parse()
                .map_err(|_| ApiError::validation(field, "is not one of the choices"))
        })
        .transpose()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneForm {
    csrf_token: String,
    kind: String,
    title: String,
    #[serde(default)]
    achieved_on: String,
    #[serde(default)]
    skill_id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    evidence_url: String,
}

#[post("/career/milestones")]
pub async fn add_milestone(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<MilestoneForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let fields = MilestoneFields {
            kind: Some(form.kind.clone()),
            title: Some(form.title.clone()),
            description: Some(form.description.clone()),
            skill_id: Some(uuid("skill_id", &form.skill_id)?),
            role_id: None,
            achieved_on: date("achieved_on", &form.achieved_on)?,
            evidence_url: Some(some(&form.evidence_url)),
        };
        Ok(milestones::create(&auth.tx, &auth.ctx, user, fields).await?)
    };
    let to = |_| "/career/record?done=milestone".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[post("/career/milestones/{milestone_id}/remove")]
pub async fn remove_milestone(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    milestone_id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        Ok(milestones::delete(&auth.tx, &auth.ctx, user, *milestone_id).await?)
    };
    let to = |()| "/career/record?done=milestone-removed".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// A project: title, summary, who sees it, one link, and a skill it shows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectForm {
    csrf_token: String,
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    skill_id: String,
}

#[post("/career/projects")]
pub async fn add_project(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<ProjectForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let fields = ProjectFields {
            title: Some(form.title.clone()),
            summary: Some(form.summary.clone()),
            started_on: None,
            ended_on: None,
            visibility: some(&form.visibility),
            links: Some(
                some(&form.link)
                    .map(|url| ProjectLink {
                        label: "Link".to_owned(),
                        url,
                    })
                    .into_iter()
                    .collect(),
            ),
            skill_ids: Some(uuid("skill_id", &form.skill_id)?.into_iter().collect()),
        };
        Ok(portfolio::create(&auth.tx, &auth.ctx, user, fields).await?)
    };
    let to = |_| "/career/record?done=project".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[post("/career/projects/{project_id}/remove")]
pub async fn remove_project(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    project_id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        Ok(portfolio::delete(&auth.tx, &auth.ctx, user, *project_id).await?)
    };
    let to = |()| "/career/record?done=project-removed".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
