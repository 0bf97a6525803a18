//! Portfolio projects: `/api/v1/career/me/projects` (the caller's), `/api/v1/career/people/{member_id}/projects`
//! (a member's, as far as the caller may see them) and `/api/v1/career/projects` (everything shared
//! with the organization).

use actix_web::{
    HttpResponse, delete, get, patch, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{NamedRef, career_access};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::ApiResult,
    http::{Page, PageQuery, ValidJson, ValidQuery},
    modules::career::{
        portfolio::{self, Project, ProjectFields, ProjectLink, SharedFilter},
        profiles,
    },
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectResponse {
    pub id: Uuid,
    pub owner: NamedRef,
    pub title: String,
    pub summary: String,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    /// `private` (the owner, their manager, career:read), `org` (every member) or `featured` (org,
    /// and first on the owner's portfolio).
    pub visibility: String,
    /// The skills (technologies) used.
    pub skills: Vec<NamedRef>,
    pub links: Vec<ProjectLink>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Project> for ProjectResponse {
    fn from(p: Project) -> Self {
        let links = p.links();
        ProjectResponse {
            id: p.project.id,
            owner: NamedRef {
                id: p.project.user_id,
                name: p.project.owner_name,
            },
            title: p.project.title,
            summary: p.project.summary,
            started_on: p.project.started_on,
            ended_on: p.project.ended_on,
            visibility: p.project.visibility,
            skills: p
                .skills
                .into_iter()
                .map(|s| NamedRef {
                    id: s.skill_id,
                    name: s.name,
                })
                .collect(),
            links,
            created_at: p.project.created_at.to_utc(),
            updated_at: p.project.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectsResponse {
    /// Featured first, then the newest.
    pub items: Vec<ProjectResponse>,
}

fn listing(projects: Vec<Project>) -> ProjectsResponse {
    ProjectsResponse {
        items: projects.into_iter().map(Into::into).collect(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Payments ledger rewrite", "summary": "Moved the ledger to event sourcing", "visibility": "org", "skill_ids": ["0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e"], "links": [{"label": "Design doc", "url": "https://wiki.example.com/ledger"}]}))]
pub struct CreateProjectRequest {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    /// `private` (the default), `org` or `featured` (at most 3).
    pub visibility: Option<String>,
    /// At most 10.
    #[serde(default)]
    pub links: Vec<ProjectLink>,
    /// At most 20 skills, each once.
    #[serde(default)]
    pub skill_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"visibility": "featured"}))]
pub struct UpdateProjectRequest {
    pub title: Option<String>,
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub started_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub ended_on: Option<Option<NaiveDate>>,
    pub visibility: Option<String>,
    /// Replaces the whole list.
    pub links: Option<Vec<ProjectLink>>,
    /// Replaces the whole list.
    pub skill_ids: Option<Vec<Uuid>>,
}

/// The caller's portfolio, private projects included.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "The projects", body = ProjectsResponse))
)]
#[get("/career/me/projects")]
pub async fn list_my_projects(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<ProjectsResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let projects = portfolio::of_member(&auth.tx, user.as_uuid(), true).await?;
    auth.tx.commit().await?;
    Ok(Json(listing(projects)))
}

/// Adds a project to the caller's portfolio.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created", body = ProjectResponse),
        (status = 409, description = "Three projects are featured already, or the portfolio is full", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/me/projects")]
pub async fn create_my_project(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateProjectRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let project = portfolio::create(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        ProjectFields {
            title: Some(body.title),
            summary: Some(body.summary),
            started_on: Some(body.started_on),
            ended_on: Some(body.ended_on),
            visibility: body.visibility,
            links: Some(body.links),
            skill_ids: Some(body.skill_ids),
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(ProjectResponse::from(project)))
}

/// Changes one of the caller's projects.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path, description = "The project's id")),
    request_body = UpdateProjectRequest,
    responses(
        (status = 200, description = "Changed", body = ProjectResponse),
        (status = 409, description = "Three projects are featured already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/career/me/projects/{project_id}")]
pub async fn update_my_project(
    state: Data<AppState>,
    token: AccessToken,
    project_id: Path<Uuid>,
    body: ValidJson<UpdateProjectRequest>,
) -> ApiResult<Json<ProjectResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let project = portfolio::update(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *project_id,
        ProjectFields {
            title: body.title,
            summary: body.summary,
            started_on: body.started_on,
            ended_on: body.ended_on,
            visibility: body.visibility,
            links: body.links,
            skill_ids: body.skill_ids,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(project.into()))
}

/// Deletes one of the caller's projects.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path, description = "The project's id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/career/me/projects/{project_id}")]
pub async fn delete_my_project(
    state: Data<AppState>,
    token: AccessToken,
    project_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    portfolio::delete(&auth.tx, &auth.ctx, user.as_uuid(), *project_id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A member's portfolio as the caller may see it: everything for the member, their manager and holders
/// of career:read; the projects shared with the organization for anyone else.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 200, description = "The projects", body = ProjectsResponse))
)]
#[get("/career/people/{member_id}/projects")]
pub async fn list_member_projects(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<Json<ProjectsResponse>> {
    let auth = token.open(&state).await?;
    career_access(&state, &auth).await?;
    let (member, relation) =
        profiles::relation_if_any(&auth.tx, &state.authz, &auth, *member_id).await?;
    let projects = portfolio::of_member(&auth.tx, member.id, relation.is_some()).await?;
    auth.tx.commit().await?;
    Ok(Json(listing(projects)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SharedProjectsQuery {
    /// Projects that used this skill.
    pub skill_id: Option<Uuid>,
    /// Featured projects only.
    pub featured: Option<bool>,
}

/// Projects the organization's active members share (org or featured), newest first.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(SharedProjectsQuery, PageQuery),
    responses((status = 200, description = "A page of projects", body = Page<ProjectResponse>))
)]
#[get("/career/projects")]
pub async fn list_shared_projects(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<SharedProjectsQuery>,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<ProjectResponse>>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let query = query.into_inner();
    let page = page.parse::<(DateTime<FixedOffset>, Uuid)>()?;
    let filter = SharedFilter {
        skill_id: query.skill_id,
        featured: query.featured.unwrap_or(false),
    };
    let rows = portfolio::shared(&auth.tx, &filter, &page).await?;
    auth.tx.commit().await?;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |p| (p.project.created_at, p.project.id),
        ProjectResponse::from,
    )))
}
