//! `/api/v1/career/roles`: career roles, their requirements and typical next roles (career:manage
//! changes them; every member reads them), and a member's readiness for a role.

use actix_web::{
    HttpResponse, delete, get, patch, post, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::NamedRef;
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::{Page, PageQuery, ValidJson, ValidQuery},
    modules::career::{
        pathways::{
            self, NewRequirement, RequirementRow, RoleDetail, RoleFields, RoleFilter, RoleRow,
        },
        profiles,
        readiness::Readiness,
    },
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct CareerRoleSummary {
    pub id: Uuid,
    pub title: String,
    /// The job family or ladder.
    pub track: String,
    /// Orders roles within a track, 1 to 20.
    pub level: i16,
    pub description: String,
    /// `active` or `retired`.
    pub status: String,
    /// Members holding the role now.
    pub holders: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RoleRow> for CareerRoleSummary {
    fn from(r: RoleRow) -> Self {
        CareerRoleSummary {
            id: r.id,
            title: r.title,
            track: r.track,
            level: r.level,
            description: r.description,
            status: r.status,
            holders: r.holders,
            created_at: r.created_at.to_utc(),
            updated_at: r.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequirementResponse {
    pub skill: NamedRef,
    /// The skill's status in the taxonomy (a requirement may stay on a since-retired skill).
    pub skill_status: String,
    pub min_level: i16,
    pub weight: i16,
    /// A critical requirement unmet caps readiness (docs/career.md).
    pub critical: bool,
}

impl From<RequirementRow> for RequirementResponse {
    fn from(r: RequirementRow) -> Self {
        RequirementResponse {
            skill: NamedRef {
                id: r.skill_id,
                name: r.skill,
            },
            skill_status: r.skill_status,
            min_level: r.min_level,
            weight: r.weight,
            critical: r.critical,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CareerRoleResponse {
    #[serde(flatten)]
    pub role: CareerRoleSummary,
    /// By weight, heaviest first.
    pub requirements: Vec<RequirementResponse>,
    /// The typical next roles.
    pub next_roles: Vec<NamedRef>,
}

impl From<RoleDetail> for CareerRoleResponse {
    fn from(d: RoleDetail) -> Self {
        CareerRoleResponse {
            role: d.role.into(),
            requirements: d.requirements.into_iter().map(Into::into).collect(),
            next_roles: d
                .next_roles
                .into_iter()
                .map(|r| NamedRef {
                    id: r.id,
                    name: r.title,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCareerRolesQuery {
    /// Part of the title (case-insensitive).
    pub q: Option<String>,
    pub track: Option<String>,
    /// `active` (the default) or `retired`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Senior Engineer", "track": "Engineering", "level": 3, "description": "Leads the design of a service"}))]
pub struct CreateCareerRoleRequest {
    pub title: String,
    pub track: Option<String>,
    /// 1 to 20 (1 when left out).
    pub level: Option<i64>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"level": 4, "status": "active"}))]
pub struct UpdateCareerRoleRequest {
    pub title: Option<String>,
    pub track: Option<String>,
    pub level: Option<i64>,
    pub description: Option<String>,
    /// `retired` hides the role from new goals and positions; `active` restores it.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementRequest {
    pub skill_id: Uuid,
    /// 1 to 5.
    pub min_level: i64,
    /// 1 to 10.
    pub weight: i64,
    #[serde(default)]
    pub critical: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"requirements": [{"skill_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "min_level": 4, "weight": 5, "critical": true}]}))]
pub struct PutRequirementsRequest {
    /// The whole list (it replaces the role's requirements); each skill once, at most 100.
    pub requirements: Vec<RequirementRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"next_role_ids": ["0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e"]}))]
pub struct PutTransitionsRequest {
    /// The typical next roles (the whole list, at most 50).
    pub next_role_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadinessQuery {
    /// Whose readiness: the caller's when left out; a direct report's, or anyone's with career:read.
    pub member_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleReadinessResponse {
    pub role: NamedRef,
    pub member_id: Uuid,
    pub readiness: Readiness,
}

/// The organization's career roles, by track, level and title.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(ListCareerRolesQuery, PageQuery),
    responses((status = 200, description = "A page of career roles", body = Page<CareerRoleSummary>))
)]
#[get("/career/roles")]
pub async fn list_career_roles(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ListCareerRolesQuery>,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<CareerRoleSummary>>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let query = query.into_inner();
    let page = page.parse::<(String, i16, String, Uuid)>()?;
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::validation("q", "must be at most 200 characters"));
    }
    let filter = RoleFilter {
        search: query.q,
        track: query.track,
        status: query.status,
    };
    let rows = pathways::list_roles(&auth.tx, &filter, &page).await?;
    auth.tx.commit().await?;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |r| (r.track.clone(), r.level, r.title.to_lowercase(), r.id),
        CareerRoleSummary::from,
    )))
}

/// Creates a career role.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    request_body = CreateCareerRoleRequest,
    responses(
        (status = 201, description = "Created", body = CareerRoleResponse),
        (status = 409, description = "A role with this title exists", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/roles")]
pub async fn create_career_role(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateCareerRoleRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let role = pathways::create_role(
        &auth.tx,
        &auth.ctx,
        RoleFields {
            title: Some(body.title),
            track: body.track,
            level: body.level,
            description: body.description,
            status: None,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(CareerRoleResponse::from(role)))
}

/// One career role with its requirements and typical next roles.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("career_role_id" = Uuid, Path, description = "The career role's id")),
    responses((status = 200, description = "The role", body = CareerRoleResponse))
)]
#[get("/career/roles/{career_role_id}")]
pub async fn get_career_role(
    state: Data<AppState>,
    token: AccessToken,
    career_role_id: Path<Uuid>,
) -> ApiResult<Json<CareerRoleResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let role = pathways::detail(&auth.tx, *career_role_id).await?;
    auth.tx.commit().await?;
    Ok(Json(role.into()))
}

/// Changes a career role's title, track, level, description or status.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("career_role_id" = Uuid, Path, description = "The career role's id")),
    request_body = UpdateCareerRoleRequest,
    responses(
        (status = 200, description = "Changed", body = CareerRoleResponse),
        (status = 409, description = "A role with this title exists", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/career/roles/{career_role_id}")]
pub async fn update_career_role(
    state: Data<AppState>,
    token: AccessToken,
    career_role_id: Path<Uuid>,
    body: ValidJson<UpdateCareerRoleRequest>,
) -> ApiResult<Json<CareerRoleResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let role = pathways::update_role(
        &auth.tx,
        &auth.ctx,
        *career_role_id,
        RoleFields {
            title: body.title,
            track: body.track,
            level: body.level,
            description: body.description,
            status: body.status,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(role.into()))
}

/// Deletes a career role no position or goal names (retire it otherwise).
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("career_role_id" = Uuid, Path, description = "The career role's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Positions or goals name the role", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/career/roles/{career_role_id}")]
pub async fn delete_career_role(
    state: Data<AppState>,
    token: AccessToken,
    career_role_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    pathways::delete_role(&auth.tx, &auth.ctx, *career_role_id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces a career role's requirements.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("career_role_id" = Uuid, Path, description = "The career role's id")),
    request_body = PutRequirementsRequest,
    responses((status = 200, description = "The role", body = CareerRoleResponse))
)]
#[put("/career/roles/{career_role_id}/requirements")]
pub async fn put_role_requirements(
    state: Data<AppState>,
    token: AccessToken,
    career_role_id: Path<Uuid>,
    body: ValidJson<PutRequirementsRequest>,
) -> ApiResult<Json<CareerRoleResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let list = body
        .into_inner()
        .requirements
        .into_iter()
        .map(|r| NewRequirement {
            skill_id: r.skill_id,
            min_level: r.min_level,
            weight: r.weight,
            critical: r.critical,
        })
        .collect();
    let role = pathways::set_requirements(&auth.tx, &auth.ctx, *career_role_id, list).await?;
    auth.tx.commit().await?;
    Ok(Json(role.into()))
}

/// Replaces a career role's typical next roles.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("career_role_id" = Uuid, Path, description = "The career role's id")),
    request_body = PutTransitionsRequest,
    responses((status = 200, description = "The role", body = CareerRoleResponse))
)]
#[put("/career/roles/{career_role_id}/transitions")]
pub async fn put_role_transitions(
    state: Data<AppState>,
    token: AccessToken,
    career_role_id: Path<Uuid>,
    body: ValidJson<PutTransitionsRequest>,
) -> ApiResult<Json<CareerRoleResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let role = pathways::set_transitions(
        &auth.tx,
        &auth.ctx,
        *career_role_id,
        body.into_inner().next_role_ids,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(role.into()))
}

/// How ready a member is for a career role: the score, each requirement, and the gaps, explained.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("career_role_id" = Uuid, Path, description = "The career role's id"), ReadinessQuery),
    responses((status = 200, description = "The readiness", body = RoleReadinessResponse))
)]
#[get("/career/roles/{career_role_id}/readiness")]
pub async fn role_readiness(
    state: Data<AppState>,
    token: AccessToken,
    career_role_id: Path<Uuid>,
    query: ValidQuery<ReadinessQuery>,
) -> ApiResult<Json<RoleReadinessResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let member_id = match query.into_inner().member_id {
        Some(id) => id,
        None => auth.principal.user()?.0.as_uuid(),
    };
    let role = pathways::role(&auth.tx, *career_role_id).await?;
    // The member themself, their manager, or career:read; anyone else is refused.
    let (member, _) = profiles::relation(&auth.tx, &state.authz, &auth, member_id).await?;
    let skills = profiles::skills(&auth.tx, member.id, auth.ctx.now).await?;
    let readiness = pathways::readiness_for(&auth.tx, role.id, &profiles::levels(&skills)).await?;
    auth.tx.commit().await?;
    Ok(Json(RoleReadinessResponse {
        role: NamedRef {
            id: role.id,
            name: role.title,
        },
        member_id: member.id,
        readiness,
    }))
}
