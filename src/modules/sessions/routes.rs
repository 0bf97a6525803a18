//! `/api/v1/me/sessions` (your own) and `/api/v1/members/{member_id}/sessions` (an admin's view).

use actix_web::{
    delete, get,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    device,
    service::{self, SessionRow},
};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    domain::{SessionId, UserId},
    error::{ApiError, ApiResult},
    modules::members,
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: Uuid,
    /// The session this request belongs to.
    pub current: bool,
    /// A readable guess from the User-Agent, e.g. "Firefox on Linux".
    pub device: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `password` or `invitation` (SSO adds its own).
    pub auth_method: String,
    pub created_at: DateTime<Utc>,
    /// Refreshed at most once a minute.
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsResponse {
    pub items: Vec<SessionResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedResponse {
    /// How many sessions ended.
    pub revoked: u64,
}

fn response(rows: Vec<SessionRow>, current: Option<SessionId>) -> SessionsResponse {
    SessionsResponse {
        items: rows
            .into_iter()
            .map(|row| SessionResponse {
                current: current.is_some_and(|c| c.as_uuid() == row.id),
                device: device::label(row.user_agent.as_deref()),
                id: row.id,
                ip: row.ip,
                user_agent: row.user_agent,
                auth_method: row.auth_method,
                created_at: row.created_at.to_utc(),
                last_seen_at: row.last_seen_at.to_utc(),
                expires_at: row.expires_at.to_utc(),
            })
            .collect(),
    }
}

/// Your live sessions, most recently used first.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    responses((status = 200, description = "Your sessions", body = SessionsResponse))
)]
#[get("/me/sessions")]
pub async fn list_my_sessions(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<SessionsResponse>> {
    let auth = token.open(&state).await?;
    let (user_id, session_id) = auth.principal.user()?;
    let rows = service::live_sessions(&auth.tx, &auth.ctx, user_id).await?;
    auth.tx.commit().await?;
    Ok(Json(response(rows, Some(session_id))))
}

/// Ends one of your sessions (ending the current one signs you out).
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    params(("session_id" = Uuid, Path, description = "The session's id")),
    responses((status = 204, description = "Ended"))
)]
#[delete("/me/sessions/{session_id}")]
pub async fn revoke_my_session(
    state: Data<AppState>,
    token: AccessToken,
    session_id: Path<Uuid>,
) -> ApiResult<actix_web::HttpResponse> {
    let auth = token.open(&state).await?;
    let (user_id, _) = auth.principal.user()?;
    let session = SessionId::from_uuid(*session_id);
    service::revoke_one(&auth.tx, &auth.ctx, user_id, session, "revoked_by_user").await?;
    auth.tx.commit().await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

/// Ends all your sessions but this one.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    responses((status = 200, description = "Your other sessions ended", body = RevokedResponse))
)]
#[delete("/me/sessions")]
pub async fn revoke_my_other_sessions(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<RevokedResponse>> {
    let auth = token.open(&state).await?;
    let (user_id, session_id) = auth.principal.user()?;
    let revoked = service::revoke_all(
        &auth.tx,
        &auth.ctx,
        user_id,
        Some(session_id),
        "revoked_by_user",
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(RevokedResponse { revoked }))
}

/// A member's live sessions.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 200, description = "The member's sessions", body = SessionsResponse))
)]
#[get("/members/{member_id}/sessions")]
pub async fn list_member_sessions(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<Json<SessionsResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sessions, Act::Read).await?;
    let member = members::service::get(&auth.tx, UserId::from_uuid(*member_id)).await?;
    let rows = service::live_sessions(&auth.tx, &auth.ctx, UserId::from_uuid(member.id)).await?;
    auth.tx.commit().await?;
    Ok(Json(response(rows, None)))
}

/// Ends every session of a member (they must sign in again). Not for members whose role has
/// permissions you lack.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 200, description = "The member's sessions ended", body = RevokedResponse))
)]
#[delete("/members/{member_id}/sessions")]
pub async fn revoke_member_sessions(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<Json<RevokedResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Sessions, Act::Revoke)
        .await?;
    let member = members::service::get(&auth.tx, UserId::from_uuid(*member_id)).await?;
    members::service::require_manageable(&auth.tx, &state.authz, &auth.principal, &member)
        .await
        .map_err(ApiError::from)?;
    let revoked = service::revoke_all(
        &auth.tx,
        &auth.ctx,
        UserId::from_uuid(member.id),
        None,
        "revoked_by_admin",
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(RevokedResponse { revoked }))
}

/// Ends one session of a member.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = [])),
    params(
        ("member_id" = Uuid, Path, description = "The member's id"),
        ("session_id" = Uuid, Path, description = "The session's id"),
    ),
    responses((status = 204, description = "Ended"))
)]
#[delete("/members/{member_id}/sessions/{session_id}")]
pub async fn revoke_member_session(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<actix_web::HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Sessions, Act::Revoke)
        .await?;
    let (member_id, session_id) = path.into_inner();
    let member = members::service::get(&auth.tx, UserId::from_uuid(member_id)).await?;
    members::service::require_manageable(&auth.tx, &state.authz, &auth.principal, &member)
        .await
        .map_err(ApiError::from)?;
    service::revoke_one(
        &auth.tx,
        &auth.ctx,
        UserId::from_uuid(member.id),
        SessionId::from_uuid(session_id),
        "revoked_by_admin",
    )
    .await?;
    auth.tx.commit().await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}
