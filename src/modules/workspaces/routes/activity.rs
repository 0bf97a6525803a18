//! `/api/v1/workspaces/{workspace_id}/activity` (the feed, and live as Server-Sent Events),
//! `/api/v1/activity` (the caller's across their workspaces) and presence: who is viewing which
//! document now.

use std::time::{Duration, Instant};

use actix_web::{
    HttpRequest, HttpResponse, delete, get,
    http::header,
    put,
    web::{Bytes, Data, Path},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{documents::DocumentPerson, open};
use crate::{
    auth::{AccessToken, Subject, session_check},
    coordination::Invalidation,
    domain::{SessionId, TenantId, UserId},
    error::{ApiError, ApiResult},
    http::ValidQuery,
    modules::workspaces::{
        activity::{self, Activity, Page},
        documents, live,
        live::{Sent, Viewer},
        notices, workspace,
    },
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityFeedResponse {
    /// The newest first (with `after`: the oldest first).
    pub items: Vec<Activity>,
    /// Pass as `before` for the next (older) page (null: no more).
    pub next_before: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Entries per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// Older than this entry (the next page).
    pub before: Option<Uuid>,
    /// Newer than this entry, the oldest first (catching up; entries committed by another server a
    /// moment late can still follow, so keep the ids you have and skip repeats).
    pub after: Option<Uuid>,
}

fn page(query: &ActivityQuery) -> ApiResult<Page> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 200"));
    }
    if query.before.is_some() && query.after.is_some() {
        return Err(ApiError::validation(
            "after",
            "give before or after, not both",
        ));
    }
    Ok(Page {
        before: query.before,
        after: query.after,
        limit,
    })
}

fn feed(rows: Vec<activity::ActivityRow>, page: Page) -> ActivityFeedResponse {
    let next_before = (page.after.is_none() && rows.len() as u64 == page.limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    ActivityFeedResponse {
        items: rows.into_iter().map(Activity::from).collect(),
        next_before,
    }
}

/// A workspace's activity feed (any member).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id"), ActivityQuery),
    responses((status = 200, description = "The feed", body = ActivityFeedResponse))
)]
#[get("/workspaces/{workspace_id}/activity")]
pub async fn workspace_activity(
    state: Data<AppState>,
    token: AccessToken,
    workspace: Path<Uuid>,
    query: ValidQuery<ActivityQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(&query)?;
    let (auth, user) = open(&state, token).await?;
    let rows = activity::of_workspace(&auth.tx, user, *workspace, page).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(feed(rows, page)))
}

/// The caller's activity feed: every workspace they are in.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(ActivityQuery),
    responses((status = 200, description = "The feed", body = ActivityFeedResponse))
)]
#[get("/activity")]
pub async fn my_activity(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ActivityQuery>,
) -> ApiResult<HttpResponse> {
    let page = page(&query)?;
    let (auth, user) = open(&state, token).await?;
    let rows = activity::of_member(&auth.tx, user, page).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(feed(rows, page)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceResponse {
    /// False while Redis, which keeps presence, is unavailable: nobody is shown then.
    pub available: bool,
    pub viewers: Vec<ViewerResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewerResponse {
    pub document_id: Uuid,
    pub user: DocumentPerson,
}

/// Who of the workspace's members is viewing which document, with their names.
async fn presence(
    state: &AppState,
    tx: &crate::tenancy::TenantTx,
    tenant: TenantId,
    workspace: Uuid,
) -> ApiResult<PresenceResponse> {
    let now = state.clock.now();
    let Some(viewers) = live::viewers(&state.redis, tenant, workspace, now).await else {
        return Ok(PresenceResponse {
            available: false,
            viewers: Vec::new(),
        });
    };
    let users: Vec<Uuid> = viewers.iter().map(|v| v.user_id).collect();
    // Only those still in the workspace: someone removed a moment ago is not "here".
    let people = notices::members(tx, workspace, &users, Uuid::nil()).await?;
    Ok(PresenceResponse {
        available: true,
        viewers: viewers
            .into_iter()
            .filter_map(|v| {
                let person = people.iter().find(|p| p.id == v.user_id)?;
                Some(ViewerResponse {
                    document_id: v.document_id,
                    user: DocumentPerson {
                        id: person.id,
                        display_name: person.name.clone(),
                    },
                })
            })
            .collect(),
    })
}

/// Who is viewing which document of the workspace now.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id")),
    responses((status = 200, description = "The viewers", body = PresenceResponse))
)]
#[get("/workspaces/{workspace_id}/presence")]
pub async fn workspace_presence(
    state: Data<AppState>,
    token: AccessToken,
    workspace: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    workspace::get(&auth.tx, user, *workspace, false).await?;
    let answer = presence(&state, &auth.tx, auth.principal.tenant_id, *workspace).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Says the caller is viewing the document (send it every 10 to 15 seconds while it is open); they
/// count as present for `workspaces.presence_ttl_secs` (30) after the last time.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    responses((status = 200, description = "Everyone viewing the workspace's documents now", body = PresenceResponse))
)]
#[put("/workspaces/{workspace_id}/documents/{document_id}/presence")]
pub async fn i_am_here(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document) = path.into_inner();
    documents::get(&auth.tx, user, workspace, document, false).await?;
    let tenant = auth.principal.tenant_id;
    let now = state.clock.now();
    let ttl = Duration::from_secs(state.settings.workspaces.presence_ttl_secs.max(1));
    let viewer = Viewer {
        document_id: document,
        user_id: user,
    };
    let before = live::viewers(&state.redis, tenant, workspace, now).await;
    if live::here(&state.redis, tenant, workspace, viewer.clone(), now, ttl).await
        && before.is_some_and(|b| !b.contains(&viewer))
    {
        wake(&state, tenant, workspace).await;
    }
    let answer = presence(&state, &auth.tx, tenant, workspace).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Says the caller closed the document.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    responses((status = 204, description = "No longer shown as viewing it"))
)]
#[delete("/workspaces/{workspace_id}/documents/{document_id}/presence")]
pub async fn i_have_gone(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document) = path.into_inner();
    documents::get(&auth.tx, user, workspace, document, false).await?;
    let tenant = auth.principal.tenant_id;
    auth.tx.commit().await?;
    let viewer = Viewer {
        document_id: document,
        user_id: user,
    };
    if live::gone(&state.redis, tenant, workspace, viewer).await {
        wake(&state, tenant, workspace).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn wake(state: &AppState, tenant: TenantId, workspace: Uuid) {
    state
        .bus
        .publish(Invalidation::WorkspaceActivity {
            tenant_id: tenant,
            workspace_id: workspace,
        })
        .await;
}

/// What a live stream keeps between two reads.
struct Stream {
    state: Data<AppState>,
    tenant: TenantId,
    user: UserId,
    session: SessionId,
    workspace: Uuid,
    news: tokio::sync::broadcast::Receiver<(TenantId, Uuid)>,
    sent: Sent,
    /// Read but not sent yet.
    queue: std::collections::VecDeque<Bytes>,
    presence: Option<String>,
    until: Instant,
    quiet_since: Instant,
    ended: bool,
}

/// Keep-alive comments this often when nothing happens, so proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

impl Stream {
    /// Until this workspace's news arrives (through Redis, from any instance), or the poll interval
    /// passes.
    async fn wait(&mut self) {
        let (tenant, workspace) = (self.tenant, self.workspace);
        let poll = Duration::from_millis(self.state.settings.workspaces.live_poll_ms.max(100));
        let news = &mut self.news;
        let _ = tokio::time::timeout(poll, async move {
            loop {
                match news.recv().await {
                    Ok((t, w)) if t == tenant && w == workspace => return,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep(poll).await;
                        return;
                    }
                }
            }
        })
        .await;
    }

    /// Reads what is new, as the caller: their session must still be live and they still in the
    /// workspace, else the stream ends.
    async fn read(&mut self) -> Result<(), ApiError> {
        let now = self.state.clock.now();
        let (tx, session) =
            session_check::begin(&self.state.pool, self.tenant, self.user, self.session, now)
                .await?;
        let live = session.is_some_and(|s| s.session_active && s.user_status == "active");
        if !live {
            tx.rollback().await;
            return Err(ApiError::not_found());
        }
        let user = self.user.as_uuid();
        let rows = activity::of_workspace(
            &tx,
            user,
            self.workspace,
            Page {
                before: None,
                after: self.sent.read_after(),
                limit: 200,
            },
        )
        .await?;
        let presence = presence(&self.state, &tx, self.tenant, self.workspace).await?;
        tx.commit().await?;
        for row in rows {
            if !self.sent.fresh(row.id) {
                continue;
            }
            let id = row.id;
            let json = serde_json::to_string(&Activity::from(row)).map_err(ApiError::internal)?;
            self.queue.push_back(Bytes::from(format!(
                "id: {id}\nevent: activity\ndata: {json}\n\n"
            )));
        }
        let json = serde_json::to_string(&presence).map_err(ApiError::internal)?;
        if self.presence.as_deref() != Some(json.as_str()) {
            self.queue
                .push_back(Bytes::from(format!("event: presence\ndata: {json}\n\n")));
            self.presence = Some(json);
        }
        Ok(())
    }
}

/// The workspace's activity, live, as Server-Sent Events: an `activity` event (its `id` the entry's)
/// for each new entry, a `presence` event whenever who is viewing what changes, and keep-alive
/// comments. Woken through Redis pub/sub by a change on any server; without Redis it reads every
/// `workspaces.live_poll_ms`. Reconnect with `Last-Event-ID` to resume where it stopped; a stream ends
/// after `workspaces.stream_max_secs`, when the session ends, or when the caller leaves the workspace.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("Last-Event-ID" = Option<String>, Header, description = "The last entry received, to resume after it"),
    ),
    responses((status = 200, description = "text/event-stream of the workspace's activity entries and presence", content_type = "text/event-stream"))
)]
#[get("/workspaces/{workspace_id}/activity/stream")]
pub async fn activity_stream(
    state: Data<AppState>,
    token: AccessToken,
    req: HttpRequest,
    workspace: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let Subject::User { session_id, .. } = &auth.principal.subject else {
        return Err(ApiError::not_found());
    };
    let session = *session_id;
    let tenant = auth.principal.tenant_id;
    workspace::get(&auth.tx, user, *workspace, false).await?;
    // Resume after the client's last entry, or start after the feed's newest.
    let start = match req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
    {
        Some(last) => Some(
            last.trim()
                .parse::<Uuid>()
                .map_err(|_| ApiError::validation("Last-Event-ID", "must be an entry's id"))?,
        ),
        None => activity::of_workspace(
            &auth.tx,
            user,
            *workspace,
            Page {
                before: None,
                after: None,
                limit: 1,
            },
        )
        .await?
        .first()
        .map(|r| r.id),
    };
    auth.tx.commit().await?;
    let now = Instant::now();
    let stream = Stream {
        news: state.workspace_activity.subscribe(),
        until: now + Duration::from_secs(state.settings.workspaces.stream_max_secs.max(1)),
        tenant,
        user: UserId::from_uuid(user),
        session,
        workspace: *workspace,
        sent: Sent::after(start),
        queue: std::collections::VecDeque::new(),
        presence: None,
        quiet_since: now,
        ended: false,
        state,
    };
    let events = futures_util::stream::unfold(stream, |mut s| async move {
        let mut first = s.presence.is_none() && s.queue.is_empty();
        loop {
            if let Some(event) = s.queue.pop_front() {
                s.quiet_since = Instant::now();
                return Some((Ok::<_, actix_web::Error>(event), s));
            }
            if s.ended || Instant::now() > s.until {
                return None;
            }
            if !first {
                s.wait().await;
            }
            first = false;
            if s.read().await.is_err() {
                s.ended = true;
                s.queue.push_back(Bytes::from_static(
                    b"event: end\ndata: {\"detail\":\"the stream ended: sign in again or rejoin the workspace\"}\n\n",
                ));
                continue;
            }
            if s.queue.is_empty() && s.quiet_since.elapsed() >= KEEP_ALIVE {
                s.queue.push_back(Bytes::from_static(b": keep-alive\n\n"));
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events))
}
