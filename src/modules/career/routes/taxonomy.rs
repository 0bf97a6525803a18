//! `/api/v1/career/skill-groups` and `/api/v1/career/skills`: the organization's taxonomy. Every member
//! reads it (`career:use`); `career:manage` changes it.

use actix_web::{
    HttpResponse, get, patch, post,
    web::{Data, Json, Path},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::NamedRef;
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::{Page, PageQuery, ValidJson, ValidQuery},
    modules::career::taxonomy::{self, GroupRow, NewSkill, SkillChange, SkillFilter, SkillRow},
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct SkillGroupResponse {
    pub id: Uuid,
    /// Null for a function area; the area of a specialization.
    pub parent_id: Option<Uuid>,
    pub name: String,
    /// Active skills filed directly under the group.
    pub skills: i64,
}

impl From<GroupRow> for SkillGroupResponse {
    fn from(row: GroupRow) -> Self {
        SkillGroupResponse {
            id: row.id,
            parent_id: row.parent_id,
            name: row.name,
            skills: row.skills,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkillGroupsResponse {
    /// Function areas first, then specializations, each by name.
    pub items: Vec<SkillGroupResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkillResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// `skill` or `competency` (a soft skill).
    pub kind: String,
    /// `active`, `retired` (kept on profiles, no longer offered) or `merged`.
    pub status: String,
    /// The skill that took this one's place, for a merged skill.
    pub merged_into: Option<Uuid>,
    /// The specialization the skill is filed under.
    pub group: NamedRef,
    /// The specialization's function area.
    pub area: Option<NamedRef>,
    /// From the starter taxonomy the product ships (rather than added by the organization).
    pub starter: bool,
    /// Members with the skill on their profile.
    pub holders: i64,
}

impl From<SkillRow> for SkillResponse {
    fn from(row: SkillRow) -> Self {
        SkillResponse {
            id: row.id,
            name: row.name,
            description: row.description,
            kind: row.kind,
            status: row.status,
            merged_into: row.merged_into,
            group: NamedRef {
                id: row.group_id,
                name: row.group_name,
            },
            area: row
                .area_id
                .zip(row.area_name)
                .map(|(id, name)| NamedRef { id, name }),
            starter: row.starter_key.is_some(),
            holders: row.holders,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Platform Engineering", "parent_id": null}))]
pub struct CreateSkillGroupRequest {
    pub name: String,
    /// A function area's id to create a specialization in it; absent or null for a new area.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Platform & Infrastructure"}))]
pub struct RenameSkillGroupRequest {
    pub name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSkillsQuery {
    /// Part of the skill's name (case-insensitive).
    pub q: Option<String>,
    /// Skills of this specialization, or of every specialization of this function area.
    pub group_id: Option<Uuid>,
    /// `skill` or `competency`.
    pub kind: Option<String>,
    /// `active` (the default), `retired` or `merged`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "WebAssembly", "group_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "kind": "skill", "description": "Building and running Wasm modules"}))]
pub struct CreateSkillRequest {
    pub name: String,
    /// The specialization to file it under.
    pub group_id: Uuid,
    /// `skill` (the default) or `competency`.
    pub kind: Option<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Rust programming", "status": "active"}))]
pub struct UpdateSkillRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Another specialization to file it under.
    pub group_id: Option<Uuid>,
    /// `retired` takes it out of the pickers (profiles keep it); `active` restores it.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"into": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e"}))]
pub struct MergeSkillRequest {
    /// The active skill that takes this one's place.
    pub into: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergedCounts {
    /// Members whose profile entry moved, or was combined with the one they had.
    pub profile_entries: u64,
    /// Career role requirements that moved or were combined.
    pub requirements: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeSkillResponse {
    /// The merged skill, now `merged`.
    pub skill: SkillResponse,
    pub moved: MergedCounts,
}

/// The taxonomy's groups: function areas and their specializations.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "Every group", body = SkillGroupsResponse))
)]
#[get("/career/skill-groups")]
pub async fn list_skill_groups(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<SkillGroupsResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let groups = taxonomy::groups(&auth.tx).await?;
    auth.tx.commit().await?;
    Ok(Json(SkillGroupsResponse {
        items: groups.into_iter().map(Into::into).collect(),
    }))
}

/// Adds a function area, or a specialization to an area.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    request_body = CreateSkillGroupRequest,
    responses(
        (status = 201, description = "Created", body = SkillGroupResponse),
        (status = 409, description = "The name is taken at that place", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/skill-groups")]
pub async fn create_skill_group(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateSkillGroupRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let group = taxonomy::create_group(&auth.tx, &auth.ctx, &body.name, body.parent_id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(SkillGroupResponse::from(group)))
}

/// Renames a function area or specialization.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("group_id" = Uuid, Path, description = "The group's id")),
    request_body = RenameSkillGroupRequest,
    responses(
        (status = 200, description = "Renamed", body = SkillGroupResponse),
        (status = 409, description = "The name is taken at that place", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/career/skill-groups/{group_id}")]
pub async fn rename_skill_group(
    state: Data<AppState>,
    token: AccessToken,
    group_id: Path<Uuid>,
    body: ValidJson<RenameSkillGroupRequest>,
) -> ApiResult<Json<SkillGroupResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let group =
        taxonomy::rename_group(&auth.tx, &auth.ctx, *group_id, &body.into_inner().name).await?;
    auth.tx.commit().await?;
    Ok(Json(group.into()))
}

/// Searches the taxonomy's skills and competencies, by name.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(ListSkillsQuery, PageQuery),
    responses((status = 200, description = "A page of skills", body = Page<SkillResponse>))
)]
#[get("/career/skills")]
pub async fn list_skills(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ListSkillsQuery>,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<SkillResponse>>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let query = query.into_inner();
    let page = page.parse::<(String, Uuid)>()?;
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::validation("q", "must be at most 200 characters"));
    }
    let filter = SkillFilter {
        search: query.q,
        group_id: query.group_id,
        kind: query.kind,
        status: query.status,
    };
    let rows = taxonomy::list_skills(&auth.tx, &filter, &page).await?;
    auth.tx.commit().await?;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |r| (r.name.to_lowercase(), r.id),
        SkillResponse::from,
    )))
}

/// One skill.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("skill_id" = Uuid, Path, description = "The skill's id")),
    responses((status = 200, description = "The skill", body = SkillResponse))
)]
#[get("/career/skills/{skill_id}")]
pub async fn get_skill(
    state: Data<AppState>,
    token: AccessToken,
    skill_id: Path<Uuid>,
) -> ApiResult<Json<SkillResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let skill = taxonomy::skill(&auth.tx, *skill_id).await?;
    auth.tx.commit().await?;
    Ok(Json(skill.into()))
}

/// Adds a skill or competency to the organization's taxonomy.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    request_body = CreateSkillRequest,
    responses(
        (status = 201, description = "Created", body = SkillResponse),
        (status = 409, description = "A skill with this name exists", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/skills")]
pub async fn create_skill(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateSkillRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let skill = taxonomy::create_skill(
        &auth.tx,
        &auth.ctx,
        NewSkill {
            name: body.name,
            group_id: body.group_id,
            kind: body.kind.unwrap_or_else(|| "skill".into()),
            description: body.description,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(SkillResponse::from(skill)))
}

/// Renames, describes, moves, retires or restores a skill.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("skill_id" = Uuid, Path, description = "The skill's id")),
    request_body = UpdateSkillRequest,
    responses(
        (status = 200, description = "Changed", body = SkillResponse),
        (status = 409, description = "The name is taken, or the skill was merged", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/career/skills/{skill_id}")]
pub async fn update_skill(
    state: Data<AppState>,
    token: AccessToken,
    skill_id: Path<Uuid>,
    body: ValidJson<UpdateSkillRequest>,
) -> ApiResult<Json<SkillResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let skill = taxonomy::update_skill(
        &auth.tx,
        &auth.ctx,
        *skill_id,
        SkillChange {
            name: body.name,
            description: body.description,
            group_id: body.group_id,
            status: body.status,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(skill.into()))
}

/// Merges the skill into another: profiles, ratings and role requirements move to the other skill.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("skill_id" = Uuid, Path, description = "The skill to merge away")),
    request_body = MergeSkillRequest,
    responses(
        (status = 200, description = "Merged", body = MergeSkillResponse),
        (status = 409, description = "The skill was merged already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/skills/{skill_id}/merge")]
pub async fn merge_skill(
    state: Data<AppState>,
    token: AccessToken,
    skill_id: Path<Uuid>,
    body: ValidJson<MergeSkillRequest>,
) -> ApiResult<Json<MergeSkillResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let (skill, moved) =
        taxonomy::merge_skill(&auth.tx, &auth.ctx, *skill_id, body.into_inner().into).await?;
    auth.tx.commit().await?;
    Ok(Json(MergeSkillResponse {
        skill: skill.into(),
        moved: MergedCounts {
            profile_entries: moved.profiles,
            requirements: moved.requirements,
        },
    }))
}
