//! `/api/v1/api-keys`.

use actix_web::{
    HttpResponse, delete, get, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::service::{self, ApiKeyRow, NewApiKey};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::ApiResult,
    http::{Page, PageQuery, ValidJson, ValidQuery},
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: Uuid,
    pub name: String,
    /// `trk_<prefix>_…`: the public part, to tell keys apart.
    pub prefix: String,
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyResponse {
    fn new(key: ApiKeyRow, now: DateTime<Utc>) -> Self {
        ApiKeyResponse {
            status: service::status(&key, now).to_owned(),
            id: key.id,
            name: key.name,
            prefix: format!("trk_{}", key.prefix),
            role: key.role,
            permissions: key.permissions,
            created_by: key.created_by,
            created_at: key.created_at.to_utc(),
            expires_at: key.expires_at.map(|t| t.to_utc()),
            last_used_at: key.last_used_at.map(|t| t.to_utc()),
            revoked_at: key.revoked_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "HRIS sync", "permissions": ["members:read", "members:invite"], "expires_at": "2027-06-30T00:00:00Z"}))]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// A role for the key; or give `permissions` instead.
    pub role: Option<String>,
    /// `object:action` permissions; or give `role` instead.
    pub permissions: Option<Vec<String>>,
    /// When it stops working; at most two years away. None: until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    pub api_key: ApiKeyResponse,
    /// The key itself: shown this once, never again. Send it as `Authorization: Bearer <key>`.
    pub key: String,
}

/// API keys of the organization, newest first (secrets are never shown again).
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of API keys", body = Page<ApiKeyResponse>))
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    state: Data<AppState>,
    token: AccessToken,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<ApiKeyResponse>>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::ApiKeys, Act::Manage)
        .await?;
    let page = page.parse::<Uuid>()?;
    let rows = service::list(&auth.tx, &page).await?;
    auth.tx.commit().await?;
    let now = auth.ctx.now;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |k| k.id,
        |k| ApiKeyResponse::new(k, now),
    )))
}

/// One API key.
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = [])),
    params(("api_key_id" = Uuid, Path, description = "The key's id")),
    responses((status = 200, description = "The key", body = ApiKeyResponse))
)]
#[get("/api-keys/{api_key_id}")]
pub async fn get_api_key(
    state: Data<AppState>,
    token: AccessToken,
    api_key_id: Path<Uuid>,
) -> ApiResult<Json<ApiKeyResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::ApiKeys, Act::Manage)
        .await?;
    let key = service::get(&auth.tx, *api_key_id).await?;
    auth.tx.commit().await?;
    Ok(Json(ApiKeyResponse::new(key, auth.ctx.now)))
}

/// Creates an API key with a role or permissions you hold yourself. The key is in this answer only.
/// Only a signed-in person can create keys (an API key cannot mint more).
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created; copy the key now", body = CreatedApiKeyResponse),
        (status = 403, description = "`forbidden` without api_keys:manage; `user_only` for an API key; `role_escalation` for a role or permissions you lack", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api-keys")]
pub async fn create_api_key(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::ApiKeys, Act::Manage)
        .await?;
    let body = body.into_inner();
    let new = NewApiKey {
        name: body.name,
        role: body.role,
        permissions: body.permissions,
        expires_at: body.expires_at,
    };
    let (key, secret) =
        service::create(&auth.tx, &auth.ctx, &state.authz, &auth.principal, new).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(CreatedApiKeyResponse {
        api_key: ApiKeyResponse::new(key, auth.ctx.now),
        key: secret,
    }))
}

/// Revokes an API key; its next request is refused.
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = [])),
    params(("api_key_id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The revoked key", body = ApiKeyResponse),
        (status = 409, description = "Already revoked", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api-keys/{api_key_id}")]
pub async fn revoke_api_key(
    state: Data<AppState>,
    token: AccessToken,
    api_key_id: Path<Uuid>,
) -> ApiResult<Json<ApiKeyResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::ApiKeys, Act::Manage)
        .await?;
    let key = service::revoke(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        *api_key_id,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(ApiKeyResponse::new(key, auth.ctx.now)))
}
