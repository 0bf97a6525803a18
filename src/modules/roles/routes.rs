//! `/api/v1/roles` and `/api/v1/permissions`.

use actix_web::{
    HttpResponse, delete, get, patch, post,
    web::{Data, Json, Path},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::service::{self, NewRole, RoleChange, RoleView};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj, Permission},
    coordination::Invalidation,
    error::ApiResult,
    http::ValidJson,
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleResponse {
    /// Custom roles only; built-in roles are named, not numbered.
    pub id: Option<Uuid>,
    pub name: String,
    pub description: String,
    /// `object:action` permissions.
    pub permissions: Vec<String>,
    /// Built-in roles come from the platform's policy and cannot be changed.
    pub builtin: bool,
    /// Members holding the role.
    pub members: i64,
}

impl From<RoleView> for RoleResponse {
    fn from(v: RoleView) -> Self {
        RoleResponse {
            id: v.id,
            name: v.name,
            description: v.description,
            permissions: v.permissions,
            builtin: v.builtin,
            members: v.members,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RolesResponse {
    pub items: Vec<RoleResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "team_lead", "description": "Sees the directory, invites people", "permissions": ["members:read", "members:invite"]}))]
pub struct CreateRoleRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"permissions": ["members:read"]}))]
pub struct UpdateRoleRequest {
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionResponse {
    /// `object:action`, as roles list it.
    pub permission: String,
    pub object: String,
    pub action: String,
}

/// Every role of the organization: the built-in ones, then the custom ones.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    responses((status = 200, description = "The roles", body = RolesResponse))
)]
#[get("/roles")]
pub async fn list_roles(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<RolesResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Roles, Act::Read).await?;
    let roles = service::list(&auth.tx, &state.authz).await?;
    auth.tx.commit().await?;
    Ok(Json(RolesResponse {
        items: roles.into_iter().map(Into::into).collect(),
    }))
}

/// One custom role.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    params(("role_id" = Uuid, Path, description = "The custom role's id")),
    responses((status = 200, description = "The role", body = RoleResponse))
)]
#[get("/roles/{role_id}")]
pub async fn get_role(
    state: Data<AppState>,
    token: AccessToken,
    role_id: Path<Uuid>,
) -> ApiResult<Json<RoleResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Roles, Act::Read).await?;
    let role = service::get(&auth.tx, *role_id).await?;
    auth.tx.commit().await?;
    Ok(Json(role.into()))
}

/// Creates a custom role from permissions you hold yourself.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    request_body = CreateRoleRequest,
    responses(
        (status = 201, description = "Created", body = RoleResponse),
        (status = 409, description = "A role with this name exists", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/roles")]
pub async fn create_role(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateRoleRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Roles, Act::Manage).await?;
    let body = body.into_inner();
    let new = NewRole {
        name: body.name,
        description: body.description,
        permissions: body.permissions,
    };
    let role = service::create(&auth.tx, &auth.ctx, &state.authz, &auth.principal, new).await?;
    auth.tx.commit().await?;
    announce(&state, &auth.principal).await;
    Ok(HttpResponse::Created().json(RoleResponse::from(role)))
}

/// Changes a custom role's description or permissions; its members gain or lose them at once.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    params(("role_id" = Uuid, Path, description = "The custom role's id")),
    request_body = UpdateRoleRequest,
    responses((status = 200, description = "The role after the change", body = RoleResponse))
)]
#[patch("/roles/{role_id}")]
pub async fn update_role(
    state: Data<AppState>,
    token: AccessToken,
    role_id: Path<Uuid>,
    body: ValidJson<UpdateRoleRequest>,
) -> ApiResult<Json<RoleResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Roles, Act::Manage).await?;
    let body = body.into_inner();
    let change = RoleChange {
        description: body.description,
        permissions: body.permissions,
    };
    let role = service::update(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        *role_id,
        change,
    )
    .await?;
    auth.tx.commit().await?;
    announce(&state, &auth.principal).await;
    Ok(Json(role.into()))
}

/// Deletes a custom role nobody holds: no member, and no API key that is still usable.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    params(("role_id" = Uuid, Path, description = "The custom role's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`role_in_use`: members or usable API keys still hold the role", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/roles/{role_id}")]
pub async fn delete_role(
    state: Data<AppState>,
    token: AccessToken,
    role_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Roles, Act::Manage).await?;
    service::delete(&auth.tx, &auth.ctx, &state.authz, &auth.principal, *role_id).await?;
    auth.tx.commit().await?;
    announce(&state, &auth.principal).await;
    Ok(HttpResponse::NoContent().finish())
}

/// The permissions roles are made of.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    responses((status = 200, description = "Every permission", body = Vec<PermissionResponse>))
)]
#[get("/permissions")]
pub async fn list_permissions(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<Vec<PermissionResponse>>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Roles, Act::Read).await?;
    auth.tx.commit().await?;
    Ok(Json(
        Permission::all()
            .map(|p| PermissionResponse {
                permission: p.to_string(),
                object: p.obj.as_str().to_owned(),
                action: p.act.as_str().to_owned(),
            })
            .collect(),
    ))
}

/// After the commit: this instance and every other rebuild the tenant's enforcer.
async fn announce(state: &AppState, principal: &crate::auth::Principal) {
    state
        .bus
        .publish(Invalidation::Policy {
            tenant_id: principal.tenant_id,
        })
        .await;
}
