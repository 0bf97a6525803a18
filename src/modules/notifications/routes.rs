//! `/api/v1/notifications`: the signed-in member's own notifications. Any member may read and mark
//! theirs; nobody reads anyone else's (another's id is a 404).

use actix_web::{
    HttpResponse, get, post, put,
    web::{Data, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{NotificationRow, digest, list, mark_all_read, mark_read, unread};
use crate::{
    auth::{AccessToken, Authenticated},
    error::{ApiError, ApiResult},
    http::{ValidJson, ValidQuery},
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationResponse {
    pub id: Uuid,
    /// What happened: `comment.mentioned`, `comment.replied`.
    pub kind: String,
    /// Who did it (absent when they are no longer a member).
    pub actor: Option<NotificationActor>,
    pub workspace_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub comment_id: Option<Uuid>,
    /// One line: who did what where.
    pub title: String,
    /// The start of what they wrote.
    pub excerpt: String,
    pub created_at: DateTime<Utc>,
    /// When it was marked read (null: unread).
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationActor {
    pub id: Uuid,
    pub display_name: String,
}

impl From<NotificationRow> for NotificationResponse {
    fn from(row: NotificationRow) -> NotificationResponse {
        NotificationResponse {
            id: row.id,
            kind: row.kind,
            actor: row
                .actor_id
                .zip(row.actor_name)
                .map(|(id, display_name)| NotificationActor { id, display_name }),
            workspace_id: row.workspace_id,
            document_id: row.document_id,
            comment_id: row.comment_id,
            title: row.title,
            excerpt: row.excerpt,
            created_at: row.created_at.to_utc(),
            read_at: row.read_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsResponse {
    pub items: Vec<NotificationResponse>,
    /// All the member's unread notifications, not only this page's.
    pub unread: i64,
    /// Pass as `before` for the next page (null: no more).
    pub next_before: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListNotificationsQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
    /// Per page: 1 to 100 (default 30).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The last notification of the previous page.
    pub before: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"up_to": "0192f5e4-7a3b-7c1d-9e2f-3a4b5c6d7e8f"}))]
pub struct MarkAllReadRequest {
    /// The newest notification the member has seen: it and older ones are marked, newer ones stay
    /// unread (absent: all).
    pub up_to: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedResponse {
    /// How many were marked read now.
    pub marked: u64,
    /// How many are still unread.
    pub unread: i64,
}

async fn open(state: &AppState, token: AccessToken) -> ApiResult<(Authenticated, Uuid)> {
    let auth = token.open(state).await?;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    Ok((auth, user))
}

/// The signed-in member's notifications, the newest first, with their unread count.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(ListNotificationsQuery),
    responses((status = 200, description = "The notifications", body = NotificationsResponse))
)]
#[get("/notifications")]
pub async fn list_notifications(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ListNotificationsQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    let (auth, user) = open(&state, token).await?;
    let rows = list(&auth.tx, user, query.unread, query.before, limit).await?;
    let unread = unread(&auth.tx, user).await?;
    auth.tx.commit().await?;
    let next_before = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(HttpResponse::Ok().json(NotificationsResponse {
        items: rows.into_iter().map(NotificationResponse::from).collect(),
        unread,
        next_before,
    }))
}

/// Marks one notification read.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("notification_id" = Uuid, Path, description = "The notification's id")),
    responses((status = 204, description = "Read"))
)]
#[post("/notifications/{notification_id}/read")]
pub async fn read_notification(
    state: Data<AppState>,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    mark_read(&auth.tx, &auth.ctx, user, *id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Marks all notifications read, or those up to one the member has seen.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    request_body = MarkAllReadRequest,
    responses((status = 200, description = "Marked", body = MarkedResponse))
)]
#[post("/notifications/read")]
pub async fn read_all_notifications(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<MarkAllReadRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let marked = mark_all_read(&auth.tx, &auth.ctx, user, body.into_inner().up_to).await?;
    let unread = unread(&auth.tx, user).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(MarkedResponse { marked, unread }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPreferencesResponse {
    /// How often notifications not mailed at once are mailed together: `hourly`, `daily` or `off`.
    pub digest: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"digest": "hourly"}))]
pub struct NotificationPreferencesRequest {
    /// `hourly`, `daily` or `off`.
    pub digest: String,
}

/// The signed-in member's notification preferences.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, description = "The preferences", body = NotificationPreferencesResponse))
)]
#[get("/notifications/preferences")]
pub async fn get_preferences(state: Data<AppState>, token: AccessToken) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let digest = digest::frequency(&auth.tx, user).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(NotificationPreferencesResponse {
        digest: digest.as_str().into(),
    }))
}

/// Sets how often the member's digest goes out.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    request_body = NotificationPreferencesRequest,
    responses((status = 200, description = "Set", body = NotificationPreferencesResponse))
)]
#[put("/notifications/preferences")]
pub async fn set_preferences(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<NotificationPreferencesRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let digest = digest::set_frequency(&auth.tx, &auth.ctx, user, &body.0.digest).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(NotificationPreferencesResponse {
        digest: digest.as_str().into(),
    }))
}
