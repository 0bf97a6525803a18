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
    authz::{Act, Obj, Permission},
    coordination::Invalidation,
    domain::{SessionId, TenantId, UserId},
    error::{ApiError, ApiResult},
    http::ValidQuery,
    modules::workspaces::{
        activity::{self, Activity, Page},
        live,
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

/// `viewers` (from Redis; `None` when it is unavailable) named, keeping only members of the workspace:
/// someone removed a moment ago is not "here".
async fn named(
    tx: &crate::tenancy::TenantTx,
    workspace: Uuid,
    viewers: Option<Vec<Viewer>>,
) -> ApiResult<PresenceResponse> {
    let Some(viewers) = viewers else {
        return Ok(PresenceResponse {
            available: false,
            viewers: Vec::new(),
        });
    };
    let users: Vec<Uuid> = viewers.iter().map(|v| v.user_id).collect();
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
    let viewers = live::viewers(
        &state.redis,
        auth.principal.tenant_id,
        *workspace,
        state.clock.now(),
    )
    .await;
    let answer = named(&auth.tx, *workspace, viewers).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// 404 unless `document` is in `workspace` and the caller in the workspace (without reading bodies).
async fn viewable(
    tx: &crate::tenancy::TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
) -> ApiResult<()> {
    workspace::get(tx, user, workspace, false).await?;
    let found = crate::db::sql::count(
        tx,
        "SELECT count(*) AS n FROM documents WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            workspace.into(),
            document.into(),
        ],
    )
    .await?;
    if found == 0 {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// Says the caller is viewing the document (send it every 10 to 15 seconds while it is open); they
/// count as present for `workspaces.presence_ttl_secs` (30) after the last time. Everyone streaming
/// the workspace hears of a new viewer.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    responses(
        (status = 204, description = "Present"),
        (status = 503, description = "Redis, which keeps presence, is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/workspaces/{workspace_id}/documents/{document_id}/presence")]
pub async fn i_am_here(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document) = path.into_inner();
    viewable(&auth.tx, user, workspace, document).await?;
    let tenant = auth.principal.tenant_id;
    auth.tx.commit().await?;
    let now = state.clock.now();
    let ttl = Duration::from_secs(state.settings.workspaces.presence_ttl_secs.max(1));
    let viewer = Viewer {
        document_id: document,
        user_id: user,
    };
    match live::here(&state.redis, tenant, workspace, viewer, now, ttl).await {
        Some(true) => wake(&state, tenant, workspace).await,
        Some(false) => {}
        None => {
            return Err(ApiError::Unavailable {
                code: "presence_unavailable",
            });
        }
    }
    Ok(HttpResponse::NoContent().finish())
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
    viewable(&auth.tx, user, workspace, document).await?;
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
    last_read: Instant,
    ended: bool,
}

/// Keep-alive comments this often when nothing happens, so proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// While the bus is up, streams still read this often (a lost wake-up costs at most this).
const SAFETY_POLL: Duration = Duration::from_secs(30);
/// At least this between two reads of one stream, however many wake-ups arrive.
const MIN_GAP: Duration = Duration::from_millis(250);
/// Entries one read sends at most (read in pages of 200); the rest follow at the next.
const MAX_PER_READ: usize = 2000;

/// Why a stream ended.
enum Ended {
    /// The session is over, the member left the workspace or lost `workspaces:use`.
    Refused,
    /// The database failed: the client reconnects.
    Failed,
}

impl Stream {
    /// Until this workspace's news arrives (through Redis, from any instance), the poll interval passes
    /// (long while the bus is up: it only covers a lost wake-up), or a keep-alive is due.
    async fn wait(&mut self) {
        let configured =
            Duration::from_millis(self.state.settings.workspaces.live_poll_ms.max(100));
        let poll = if self.state.bus.health().is_up() {
            configured.max(SAFETY_POLL)
        } else {
            configured
        };
        let keep_alive = KEEP_ALIVE.saturating_sub(self.quiet_since.elapsed());
        let (tenant, workspace) = (self.tenant, self.workspace);
        let news = &mut self.news;
        let _ = tokio::time::timeout(poll.min(keep_alive), async move {
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
        // A burst of wake-ups is one read.
        let since = self.last_read.elapsed();
        if since < MIN_GAP {
            tokio::time::sleep(MIN_GAP - since).await;
        }
    }

    /// Reads what is new, as the caller: their session must still be live, their role hold
    /// `workspaces:use` and they be in the workspace, else the stream ends. The reading transaction
    /// is rolled back: it changes nothing (not even the session's last activity).
    async fn read(&mut self) -> Result<(), Ended> {
        self.last_read = Instant::now();
        let now = self.state.clock.now();
        let viewers = live::viewers(&self.state.redis, self.tenant, self.workspace, now).await;
        let (tx, session) =
            session_check::begin(&self.state.pool, self.tenant, self.user, self.session, now)
                .await
                .map_err(|_| Ended::Failed)?;
        let result = self.read_in(&tx, session, viewers).await;
        tx.rollback().await;
        result
    }

    async fn read_in(
        &mut self,
        tx: &crate::tenancy::TenantTx,
        session: Option<session_check::SessionState>,
        viewers: Option<Vec<Viewer>>,
    ) -> Result<(), Ended> {
        let failed = |e: ApiError| match e {
            ApiError::NotFound { .. } => Ended::Refused,
            _ => Ended::Failed,
        };
        let Some(session) = session.filter(|s| s.session_active && s.user_status == "active")
        else {
            return Err(Ended::Refused);
        };
        let allowed = self
            .state
            .authz
            .allows(
                tx,
                session.role.as_deref(),
                Permission::new(Obj::Workspaces, Act::Use),
            )
            .await
            .map_err(failed)?;
        if !allowed {
            return Err(Ended::Refused);
        }
        let user = self.user.as_uuid();
        // Always forward, the oldest first (from the very beginning when the feed was empty).
        let mut after = Some(self.sent.read_after().unwrap_or(Uuid::nil()));
        let mut fresh = 0;
        loop {
            let rows = activity::of_workspace(
                tx,
                user,
                self.workspace,
                Page {
                    before: None,
                    after,
                    limit: 200,
                },
            )
            .await
            .map_err(failed)?;
            let full = rows.len() == 200;
            after = rows.last().map(|r| r.id).or(after);
            for row in rows {
                if !self.sent.fresh(row.id) {
                    continue;
                }
                fresh += 1;
                let id = row.id;
                let json =
                    serde_json::to_string(&Activity::from(row)).map_err(|_| Ended::Failed)?;
                self.queue.push_back(Bytes::from(format!(
                    "id: {id}\nevent: activity\ndata: {json}\n\n"
                )));
            }
            // Pages of entries sent already do not count: a window fuller than a read still moves on.
            if !full || fresh >= MAX_PER_READ {
                break;
            }
        }
        let presence = named(tx, self.workspace, viewers).await.map_err(failed)?;
        let json = serde_json::to_string(&presence).map_err(|_| Ended::Failed)?;
        if self.presence.as_deref() != Some(json.as_str()) {
            // With the newest entry's id, so a client that saw no entry still resumes from here.
            let id = self
                .sent
                .newest()
                .map(|id| format!("id: {id}\n"))
                .unwrap_or_default();
            self.queue.push_back(Bytes::from(format!(
                "{id}event: presence\ndata: {json}\n\n"
            )));
            self.presence = Some(json);
        }
        Ok(())
    }
}

/// The workspace's activity, live, as Server-Sent Events: an `activity` event (its `id` the entry's)
/// for each new entry, a `presence` event whenever who is viewing what changes (and first of all),
/// and keep-alive comments. Woken through Redis pub/sub by a change on any server; without Redis it
/// reads every `workspaces.live_poll_ms`. Reconnect with `Last-Event-ID` to resume where it stopped;
/// a stream ends (`event: end`) after `workspaces.stream_max_secs`, when the session ends, when the
/// caller's role loses `workspaces:use` or they leave the workspace.
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
        .map(|v| v.to_str().ok().and_then(|t| t.trim().parse::<Uuid>().ok()))
    {
        Some(Some(last)) if live::resumable(last, state.clock.now()) => Some(last),
        Some(_) => {
            return Err(ApiError::validation(
                "Last-Event-ID",
                "must be the id of an activity entry received before",
            ));
        }
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
    // What the window before the start holds now counts as sent; what commits in it later does not.
    let known = match Sent::after(start, []).read_after() {
        Some(floor) => activity::of_workspace(
            &auth.tx,
            user,
            *workspace,
            Page {
                before: None,
                after: Some(floor),
                limit: 2000,
            },
        )
        .await?
        .into_iter()
        .map(|r| r.id)
        .filter(|id| start.is_some_and(|s| *id <= s))
        .collect(),
        None => Vec::new(),
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
        sent: Sent::after(start, known),
        queue: std::collections::VecDeque::new(),
        presence: None,
        quiet_since: now,
        last_read: now - MIN_GAP,
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
            match s.read().await {
                Ok(()) => {}
                Err(ended) => {
                    s.ended = true;
                    s.queue.push_back(Bytes::from_static(match ended {
                        Ended::Refused => b"event: end\ndata: {\"reason\":\"refused\",\"detail\":\"sign in again, or ask to rejoin the workspace\"}\n\n",
                        Ended::Failed => b"event: end\ndata: {\"reason\":\"interrupted\",\"detail\":\"the stream was interrupted: reconnect\"}\n\n",
                    }));
                    continue;
                }
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
