//! `/api/v1/workspaces`: workspaces and their members.

use actix_web::{
    HttpResponse, delete, get, patch, post, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{commit, open};
use crate::{
    auth::AccessToken,
    error::ApiResult,
    http::ValidJson,
    modules::workspaces::workspace::{
        self as workspaces, MemberRow, WorkspaceChange, WorkspaceRow,
    },
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub members: i64,
    pub documents: i64,
    /// The caller's role: `owner`, `editor`, `commenter` or `viewer`.
    pub my_role: String,
    pub settings: WorkspaceSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How the workspace works; its owners change it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceSettings {
    /// Hours a review waits on an approver before they are reminded, and between reminders (1–168;
    /// 48).
    pub review_reminder_hours: i32,
    /// The mode of a review request that names none: `chain` or `any` (`chain`).
    pub default_review_mode: String,
    /// Who may comment: `members` (commenters and up; the default), `editors` (editors and owners) or
    /// `off` (nobody; threads stay readable).
    pub comment_policy: String,
}

/// A change of settings: absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSettingsChange {
    pub review_reminder_hours: Option<i32>,
    pub default_review_mode: Option<String>,
    pub comment_policy: Option<String>,
}

impl From<WorkspaceRow> for WorkspaceResponse {
    fn from(row: WorkspaceRow) -> WorkspaceResponse {
        WorkspaceResponse {
            id: row.id,
            name: row.name,
            description: row.description,
            archived: row.archived_at.is_some(),
            members: row.members,
            documents: row.documents,
            my_role: row.my_role,
            settings: WorkspaceSettings {
                review_reminder_hours: row.review_reminder_hours,
                default_review_mode: row.default_review_mode,
                comment_policy: row.comment_policy,
            },
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspacesResponse {
    pub items: Vec<WorkspaceResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Spring applications", "description": "Cover letters and packs for the spring round."}))]
pub struct CreateWorkspaceRequest {
    /// 1 to 120 characters, unique in the organization.
    pub name: String,
    /// At most 2,000 characters.
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"archived": true}))]
pub struct UpdateWorkspaceRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// An archived workspace is read-only; false restores it.
    pub archived: Option<bool>,
    pub settings: Option<WorkspaceSettingsChange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceMemberResponse {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub added_at: DateTime<Utc>,
}

impl From<MemberRow> for WorkspaceMemberResponse {
    fn from(row: MemberRow) -> WorkspaceMemberResponse {
        WorkspaceMemberResponse {
            user_id: row.user_id,
            display_name: row.display_name,
            email: row.email,
            role: row.role,
            added_at: row.added_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceMembersResponse {
    pub items: Vec<WorkspaceMemberResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "editor"}))]
pub struct SetWorkspaceMemberRequest {
    /// `owner`, `editor`, `commenter` or `viewer`.
    pub role: String,
}

fn members_response(rows: Vec<MemberRow>) -> WorkspaceMembersResponse {
    WorkspaceMembersResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }
}

/// Starts a workspace; the caller is its first owner.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    request_body = CreateWorkspaceRequest,
    responses(
        (status = 201, description = "Started", body = WorkspaceResponse),
        (status = 409, description = "A workspace of this name exists", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces")]
pub async fn create_workspace(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateWorkspaceRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let row =
        workspaces::create(&auth.tx, &auth.ctx, user, &body.0.name, &body.0.description).await?;
    commit(&state, auth, row.id).await?;
    Ok(HttpResponse::Created().json(WorkspaceResponse::from(row)))
}

/// The caller's workspaces.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    responses((status = 200, description = "The workspaces", body = WorkspacesResponse))
)]
#[get("/workspaces")]
pub async fn list_workspaces(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<WorkspacesResponse>> {
    let (auth, user) = open(&state, token).await?;
    let rows = workspaces::list(&auth.tx, user).await?;
    auth.tx.commit().await?;
    Ok(Json(WorkspacesResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// One of the caller's workspaces (404 for one they are not in).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id")),
    responses((status = 200, description = "The workspace", body = WorkspaceResponse))
)]
#[get("/workspaces/{workspace_id}")]
pub async fn get_workspace(
    state: Data<AppState>,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<WorkspaceResponse>> {
    let (auth, user) = open(&state, token).await?;
    let row = workspaces::get(&auth.tx, user, *id, false).await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// Renames, describes, archives or restores a workspace (owners).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id")),
    request_body = UpdateWorkspaceRequest,
    responses(
        (status = 200, description = "Changed", body = WorkspaceResponse),
        (status = 403, description = "Not an owner of the workspace", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken, or the workspace is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/workspaces/{workspace_id}")]
pub async fn update_workspace(
    state: Data<AppState>,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<UpdateWorkspaceRequest>,
) -> ApiResult<Json<WorkspaceResponse>> {
    let (auth, user) = open(&state, token).await?;
    let body = body.into_inner();
    let row = workspaces::update(
        &auth.tx,
        &auth.ctx,
        user,
        *id,
        WorkspaceChange {
            name: body.name,
            description: body.description,
            archived: body.archived,
            review_reminder_hours: body.settings.as_ref().and_then(|s| s.review_reminder_hours),
            default_review_mode: body
                .settings
                .as_ref()
                .and_then(|s| s.default_review_mode.clone()),
            comment_policy: body
                .settings
                .as_ref()
                .and_then(|s| s.comment_policy.clone()),
        },
    )
    .await?;
    commit(&state, auth, *id).await?;
    Ok(Json(row.into()))
}

/// The workspace's members.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id")),
    responses((status = 200, description = "The members", body = WorkspaceMembersResponse))
)]
#[get("/workspaces/{workspace_id}/members")]
pub async fn list_workspace_members(
    state: Data<AppState>,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<WorkspaceMembersResponse>> {
    let (auth, user) = open(&state, token).await?;
    let rows = workspaces::members(&auth.tx, user, *id).await?;
    auth.tx.commit().await?;
    Ok(Json(members_response(rows)))
}

/// Adds a member of the organization to the workspace with a role, or changes their role (owners).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("workspace_member_id" = Uuid, Path, description = "The member's user id"),
    ),
    request_body = SetWorkspaceMemberRequest,
    responses(
        (status = 200, description = "The members", body = WorkspaceMembersResponse),
        (status = 403, description = "Not an owner of the workspace", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last owner, a full or archived workspace, or an approver a review waits for", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/workspaces/{workspace_id}/members/{workspace_member_id}")]
pub async fn set_workspace_member(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<SetWorkspaceMemberRequest>,
) -> ApiResult<Json<WorkspaceMembersResponse>> {
    let (auth, user) = open(&state, token).await?;
    let (id, member) = path.into_inner();
    let rows = workspaces::set_member(&auth.tx, &auth.ctx, user, id, member, &body.0.role).await?;
    commit(&state, auth, id).await?;
    Ok(Json(members_response(rows)))
}

/// Removes a member (owners), or leaves (a member removing themselves); the last owner stays.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("workspace_member_id" = Uuid, Path, description = "The member's user id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an owner of the workspace", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last owner, or an approver a review waits for", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/workspaces/{workspace_id}/members/{workspace_member_id}")]
pub async fn remove_workspace_member(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (id, member) = path.into_inner();
    workspaces::remove_member(&auth.tx, &auth.ctx, user, id, member).await?;
    commit(&state, auth, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
