//! `/api/v1/sso/scim`: the organization's SCIM token, as an admin with `sso:manage` sees it. Creating a
//! token replaces the previous one at once (rotation); the token is shown once and only its SHA-256 is
//! kept. Only a person can create one: an API key cannot hand out directory access.

use actix_web::{
    HttpResponse, delete, get, post,
    web::{Data, Json},
};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::{AccessToken, Principal},
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::RequestContext,
    state::AppState,
    tenancy::plan::Feature,
    tenancy::{Tenant, TenantTx},
};

#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct TokenRow {
    pub id: Uuid,
    pub prefix: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<chrono::FixedOffset>,
    pub last_used_at: Option<DateTime<chrono::FixedOffset>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScimTokenInfo {
    pub id: Uuid,
    /// The token's public start (`scim_<prefix>_...`), to recognise it.
    pub prefix: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ScimTokenInfo {
    fn from(row: TokenRow) -> Self {
        ScimTokenInfo {
            id: row.id,
            prefix: row.prefix,
            created_by: row.created_by,
            created_at: row.created_at.to_utc(),
            last_used_at: row.last_used_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScimStatusResponse {
    /// What the directory's SCIM client is given as the base URL.
    pub base_url: String,
    /// The live token, if there is one.
    pub token: Option<ScimTokenInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScimTokenCreated {
    pub base_url: String,
    /// The whole token: shown this once, never again.
    pub token: String,
    pub info: ScimTokenInfo,
}

/// The live token, if there is one (locked for the transaction).
pub(crate) async fn live(tx: &TenantTx) -> Result<Option<TokenRow>, ApiError> {
    Ok(TokenRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, prefix, created_by, created_at, last_used_at FROM scim_tokens \
         WHERE tenant_id = $1 AND revoked_at IS NULL FOR UPDATE",
        [tx.tenant_id().as_uuid().into()],
    ))
    .one(tx)
    .await?)
}

async fn revoke(tx: &TenantTx, ctx: &AuditCtx, id: Uuid) -> Result<(), ApiError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE scim_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2",
        [tx.tenant_id().as_uuid().into(), id.into(), ctx.now.into()],
    ))
    .await?;
    Ok(())
}

/// Creates the organization's token, revoking the one before it. Returns the row and the whole token.
pub(crate) async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    principal: &Principal,
) -> Result<(TokenRow, String), ApiError> {
    let (user, _) = principal.user()?;
    let previous = live(tx).await?;
    if let Some(previous) = &previous {
        revoke(tx, ctx, previous.id).await?;
    }
    let key = auth::generate();
    let id = Uuid::now_v7();
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO scim_tokens (tenant_id, id, prefix, secret_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            tx.tenant_id().as_uuid().into(),
            id.into(),
            key.prefix.clone().into(),
            key.hash.into(),
            user.as_uuid().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("scim.token_created")
            .target("scim_token", id, Some(&key.prefix))
            .metadata(json!({
                "prefix": key.prefix,
                "replaced_prefix": previous.as_ref().map(|p| p.prefix.clone()),
            })),
    )
    .await?;
    let row = TokenRow {
        id,
        prefix: key.prefix,
        created_by: Some(user.as_uuid()),
        created_at: ctx.now.into(),
        last_used_at: None,
    };
    Ok((row, key.token))
}

fn base_url(state: &AppState, tenant: &Tenant, request: &RequestContext) -> String {
    state.tenant_url(request.scheme, &tenant.slug, "/scim/v2")
}

/// The SCIM base URL and the live token (never the token itself).
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    responses((status = 200, description = "The SCIM settings", body = ScimStatusResponse))
)]
#[get("/sso/scim")]
pub async fn get_scim(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    request: RequestContext,
) -> ApiResult<Json<ScimStatusResponse>> {
    tenant.require(&state.settings.plans, Feature::Scim)?;
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    let live = live(&auth.tx).await?;
    auth.tx.commit().await?;
    Ok(Json(ScimStatusResponse {
        base_url: base_url(&state, &tenant, &request),
        token: live.map(Into::into),
    }))
}

/// Creates the SCIM token (revoking the previous one at once). The token is in this answer only.
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; copy the token now", body = ScimTokenCreated),
        (status = 403, description = "Not a person (API keys cannot create SCIM tokens), or lacking `sso:manage`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sso/scim/token")]
pub async fn create_scim_token(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    request: RequestContext,
) -> ApiResult<HttpResponse> {
    tenant.require(&state.settings.plans, Feature::Scim)?;
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    let (row, whole) = create(&auth.tx, &auth.ctx, &auth.principal).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(ScimTokenCreated {
        base_url: base_url(&state, &tenant, &request),
        token: whole,
        info: row.into(),
    }))
}

/// Revokes the SCIM token: the directory's next request is refused.
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No live token", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/sso/scim/token")]
pub async fn revoke_scim_token(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<HttpResponse> {
    tenant.require(&state.settings.plans, Feature::Scim)?;
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    revoke_live(&auth.tx, &auth.ctx).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes the live token, audited; 404 when there is none.
pub(crate) async fn revoke_live(tx: &TenantTx, ctx: &AuditCtx) -> Result<(), ApiError> {
    let live = live(tx).await?.ok_or_else(ApiError::not_found)?;
    revoke(tx, ctx, live.id).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("scim.token_revoked")
            .target("scim_token", live.id, Some(&live.prefix))
            .metadata(json!({ "prefix": live.prefix })),
    )
    .await?;
    Ok(())
}
