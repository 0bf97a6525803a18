//! Usage capture, off the request's critical path. A request (the [`track`] middleware) or a feature
//! ([`Capture::feature`]) hands its event to a bounded in-memory buffer and goes on; a task writes the
//! buffer to `usage_events` every `usage.flush_interval_ms` or `usage.flush_batch` events, one
//! transaction per organization (row-level security checks every row). Capture never fails or slows a
//! request: when the buffer is full the event is dropped and counted, and a write that fails twice is
//! dropped and counted. What a killed process loses is bounded by what the buffer held — at most one
//! flush interval of events (docs/analytics.md); the counts are logged and shown by `/readyz`.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use actix_web::{
    HttpMessage, HttpRequest,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::StatusCode,
    middleware::Next,
    web::Data,
};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    clock::SharedClock,
    config::UsageSettings,
    domain::{TenantId, UserId},
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

/// The member a request authenticated as (set by the credential extractor).
#[derive(Debug, Clone, Copy)]
pub struct ActiveUser(pub UserId);

/// One usage event, as `usage_events` stores it.
#[derive(Debug, Clone)]
pub struct UsageEvent {
    pub tenant: TenantId,
    pub at: DateTime<Utc>,
    /// `api_request`, or a feature event from [`FeatureEvent`].
    pub event: &'static str,
    /// The product area: a request's route group, a feature's module.
    pub module: String,
    pub dimension: String,
    pub user: Option<UserId>,
    pub status_class: Option<i16>,
    pub latency_ms: Option<i32>,
}

/// The feature events modules record, with the module each belongs to (docs/analytics.md lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureEvent {
    /// A password sign-in (dimension: `password`) or one completed with a second step.
    Login,
    /// A sign-in through the organization's identity provider.
    SsoLogin,
    InvitationAccepted,
    ImportCommitted,
    AuditExported,
    /// A member asked a mentor.
    MentorshipRequested,
    /// A mentorship accepted: dimension `request` (by its mentor) or `programme` (published).
    MentorshipStarted,
    ReferralSubmitted,
    ReferralHired,
    /// An RSVP: dimension `going` or `waitlisted`.
    EventRsvp,
    /// Dimension `thread` or `reply`.
    CommunityPost,
}

impl FeatureEvent {
    pub fn name(self) -> &'static str {
        match self {
            FeatureEvent::Login => "login",
            FeatureEvent::SsoLogin => "sso_login",
            FeatureEvent::InvitationAccepted => "invitation_accepted",
            FeatureEvent::ImportCommitted => "import_committed",
            FeatureEvent::AuditExported => "audit_exported",
            FeatureEvent::MentorshipRequested => "mentorship_requested",
            FeatureEvent::MentorshipStarted => "mentorship_started",
            FeatureEvent::ReferralSubmitted => "referral_submitted",
            FeatureEvent::ReferralHired => "referral_hired",
            FeatureEvent::EventRsvp => "event_rsvp",
            FeatureEvent::CommunityPost => "community_post",
        }
    }

    pub fn module(self) -> &'static str {
        match self {
            FeatureEvent::Login | FeatureEvent::SsoLogin | FeatureEvent::InvitationAccepted => {
                "auth"
            }
            FeatureEvent::ImportCommitted => "imports",
            FeatureEvent::AuditExported => "audit",
            FeatureEvent::MentorshipRequested
            | FeatureEvent::MentorshipStarted
            | FeatureEvent::ReferralSubmitted
            | FeatureEvent::ReferralHired
            | FeatureEvent::EventRsvp
            | FeatureEvent::CommunityPost => "networking",
        }
    }
}

enum Message {
    Event(UsageEvent),
    /// Write what is buffered now, then answer.
    Flush(oneshot::Sender<()>),
}

/// Counters of the capture since the process started.
#[derive(Debug, Default)]
pub struct CaptureStats {
    /// Events accepted and not written (or given up) yet: what a killed process would lose.
    pub held: AtomicU64,
    pub accepted: AtomicU64,
    /// Dropped because the buffer was full.
    pub dropped: AtomicU64,
    pub written: AtomicU64,
    /// Dropped because writing them failed twice.
    pub failed: AtomicU64,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct CaptureReport {
    pub enabled: bool,
    pub accepted: u64,
    pub written: u64,
    pub dropped_buffer_full: u64,
    pub dropped_write_failed: u64,
}

pub struct Capture {
    sender: Option<mpsc::Sender<Message>>,
    stats: Arc<CaptureStats>,
    clock: SharedClock,
    /// The most events held at once (`usage.buffer`).
    capacity: u64,
}

impl Capture {
    /// A capture writing through `pool` (the app role), and its writer task; disabled when
    /// `usage.capture` is off (events are then not even counted).
    pub fn start(
        pool: PgPool,
        clock: SharedClock,
        settings: &UsageSettings,
    ) -> (Capture, Option<tokio::task::JoinHandle<()>>) {
        let stats = Arc::new(CaptureStats::default());
        if !settings.capture {
            return (
                Capture {
                    sender: None,
                    stats,
                    clock,
                    capacity: 0,
                },
                None,
            );
        }
        // Room for every held event and the flush requests besides; `held` is the real bound.
        let (sender, receiver) = mpsc::channel(settings.buffer.max(1) + 64);
        let writer = Writer {
            pool,
            stats: stats.clone(),
            batch: settings.flush_batch.max(1),
            interval: Duration::from_millis(settings.flush_interval_ms.max(10)),
        };
        let task = tokio::spawn(writer.run(receiver));
        (
            Capture {
                sender: Some(sender),
                stats,
                clock,
                capacity: settings.buffer.max(1) as u64,
            },
            Some(task),
        )
    }

    pub fn enabled(&self) -> bool {
        self.sender.is_some()
    }

    /// Buffers `event`; never waits. When `usage.buffer` events are already held (not yet written),
    /// it is dropped and counted.
    pub fn record(&self, event: UsageEvent) {
        let Some(sender) = &self.sender else {
            return;
        };
        if self.stats.held.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.stats.held.fetch_sub(1, Ordering::AcqRel);
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match sender.try_send(Message::Event(event)) {
            Ok(()) => self.stats.accepted.fetch_add(1, Ordering::Relaxed),
            Err(_) => {
                self.stats.held.fetch_sub(1, Ordering::AcqRel);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    /// Records a feature event of `tenant` (after the change it counts has committed).
    pub fn feature(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        event: FeatureEvent,
        dimension: &str,
    ) {
        self.record(UsageEvent {
            tenant,
            at: self.clock.now(),
            event: event.name(),
            module: event.module().to_owned(),
            dimension: dimension.chars().take(64).collect(),
            user,
            status_class: None,
            latency_ms: None,
        });
    }

    /// Writes everything buffered so far and waits until it is written (tests, shutdown).
    pub async fn flush(&self) {
        let Some(sender) = &self.sender else {
            return;
        };
        let (done, written) = oneshot::channel();
        if sender.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    pub fn report(&self) -> CaptureReport {
        CaptureReport {
            enabled: self.enabled(),
            accepted: self.stats.accepted.load(Ordering::Relaxed),
            written: self.stats.written.load(Ordering::Relaxed),
            dropped_buffer_full: self.stats.dropped.load(Ordering::Relaxed),
            dropped_write_failed: self.stats.failed.load(Ordering::Relaxed),
        }
    }
}

struct Writer {
    pool: PgPool,
    stats: Arc<CaptureStats>,
    batch: usize,
    interval: Duration,
}

impl Writer {
    /// Collects events until the batch is full, the interval is over or a flush is asked for, then
    /// writes them; ends (after writing what is left) when every sender is gone.
    async fn run(self, mut receiver: mpsc::Receiver<Message>) {
        let mut buffer: Vec<UsageEvent> = Vec::with_capacity(self.batch);
        let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
        let mut deadline = tokio::time::Instant::now() + self.interval;
        loop {
            let message = tokio::select! {
                message = receiver.recv() => message,
                _ = tokio::time::sleep_until(deadline) => {
                    self.write(std::mem::take(&mut buffer)).await;
                    deadline = tokio::time::Instant::now() + self.interval;
                    continue;
                }
            };
            match message {
                Some(Message::Event(event)) => {
                    buffer.push(event);
                    if buffer.len() >= self.batch {
                        self.write(std::mem::take(&mut buffer)).await;
                    }
                }
                Some(Message::Flush(done)) => {
                    waiting.push(done);
                    self.write(std::mem::take(&mut buffer)).await;
                    for done in waiting.drain(..) {
                        let _ = done.send(());
                    }
                }
                None => {
                    self.write(std::mem::take(&mut buffer)).await;
                    return;
                }
            }
        }
    }

    async fn write(&self, events: Vec<UsageEvent>) {
        if events.is_empty() {
            return;
        }
        let mut by_tenant: HashMap<TenantId, Vec<UsageEvent>> = HashMap::new();
        for event in events {
            by_tenant.entry(event.tenant).or_default().push(event);
        }
        for (tenant, events) in by_tenant {
            let count = events.len() as u64;
            let mut result = insert(&self.pool, tenant, &events).await;
            if result.is_err() {
                result = insert(&self.pool, tenant, &events).await;
            }
            self.stats.held.fetch_sub(count, Ordering::AcqRel);
            match result {
                Ok(()) => self.stats.written.fetch_add(count, Ordering::Relaxed),
                Err(error) => {
                    tracing::warn!(%error, tenant_id = %tenant, events = count, "usage events dropped: writing them failed");
                    self.stats.failed.fetch_add(count, Ordering::Relaxed)
                }
            };
        }
    }
}

/// Rows per INSERT statement (nine parameters each, under PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: usize = 5_000;

async fn insert(
    pool: &PgPool,
    tenant: TenantId,
    events: &[UsageEvent],
) -> Result<(), sea_orm::DbErr> {
    let tx = TenantTx::begin(pool, tenant, None).await?;
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk.iter().map(|e| entity::usage_events::ActiveModel {
            tenant_id: Set(tenant.as_uuid()),
            occurred_at: Set(e.at.into()),
            id: Set(Uuid::now_v7()),
            event: Set(e.event.to_owned()),
            module: Set(e.module.clone()),
            dimension: Set(e.dimension.clone()),
            user_id: Set(e.user.map(|u| u.as_uuid())),
            status_class: Set(e.status_class),
            latency_ms: Set(e.latency_ms),
        });
        entity::usage_events::Entity::insert_many(rows)
            .exec_without_returning(&tx)
            .await?;
    }
    tx.commit().await
}

/// Records every tenant-scoped API request: its route group, status class and latency (to the
/// response's head), and the member it authenticated as when it succeeded.
pub async fn track(
    state: Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let group = |request: &HttpRequest, _| Some(route_group(request.match_pattern().as_deref()));
    record_request(&state, "api_request", group, req, next).await
}

/// Records every page of the employee portal a member opens or posts as `page_request`, in the
/// product area the API's requests of the same area count in ([`page_area`]): adoption per area and
/// active members then count those who use the portal only. Sign-in pages and files are not counted.
pub async fn track_pages(
    state: Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let area = |request: &HttpRequest, status: StatusCode| {
        let pattern = request.match_pattern();
        (!skipped_page(request, status))
            .then(|| page_area(pattern.as_deref()))
            .flatten()
            .map(str::to_owned)
    };
    record_request(&state, "page_request", area, req, next).await
}

/// One request as `event`, in the area `module_of` gives it and its answer's status (none: not
/// recorded): the status class and latency (to the response's head), and the member it authenticated
/// as when it succeeded.
async fn record_request(
    state: &AppState,
    event: &'static str,
    module_of: impl Fn(&HttpRequest, StatusCode) -> Option<String>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !state.usage.enabled() {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let started = Instant::now();
    let tenant = req.extensions().get::<Tenant>().map(|t| t.id);
    let response = next.call(req).await?.map_into_boxed_body();
    let request = response.request();
    let status = response.status();
    if let (Some(tenant), Some(module)) = (tenant, module_of(request, status)) {
        // A redirect to sign in is no use of the product, whoever the (dead) session named.
        let to_sign_in = response
            .headers()
            .get(actix_web::http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.starts_with("/login"));
        let user = if status.is_success() || (status.is_redirection() && !to_sign_in) {
            request.extensions().get::<ActiveUser>().map(|u| u.0)
        } else {
            None
        };
        state.usage.record(UsageEvent {
            tenant,
            at: state.clock.now(),
            event,
            module,
            dimension: method_name(request.method()).to_owned(),
            user,
            status_class: Some((status.as_u16() / 100) as i16),
            latency_ms: Some(started.elapsed().as_millis().min(i32::MAX as u128) as i32),
        });
    }
    Ok(response)
}

/// Portal requests that are not a member opening a page or posting a form: a page's answer that is a
/// redirect (to sign in, or back after renewing the session), and a page's background requests (the
/// live part renewing its session: `Sec-Fetch-Dest: empty`).
fn skipped_page(request: &HttpRequest, status: StatusCode) -> bool {
    let background = request
        .headers()
        .get("sec-fetch-dest")
        .is_some_and(|d| d.as_bytes() == b"empty");
    background || (request.method() == actix_web::http::Method::GET && status.is_redirection())
}

/// The product area of a portal page's route, named as the API's route group of the same area
/// (`/career/roles/{id}` -> `career`, `/communities` -> `network`, `/` -> `portal`); `None` for the
/// sign-in pages, the script and unknown paths.
pub fn page_area(pattern: Option<&str>) -> Option<&'static str> {
    let first = pattern?.strip_prefix('/')?.split('/').next()?;
    Some(match first {
        "" => "portal",
        "career" => "career",
        "interview" => "interview",
        "mentoring" | "programmes" | "communities" | "events" | "referrals" => "network",
        "workspaces" => "workspaces",
        _ => return None,
    })
}

/// A request's method as recorded: the standard ones by name, anything else (any client can send a
/// method of any length) as `other`.
pub fn method_name(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The first path segment after `/api/v1/` of the matched route (`/api/v1/members/{member_id}` ->
/// `members`); `unmatched` for a path no route has.
pub fn route_group(pattern: Option<&str>) -> String {
    pattern
        .and_then(|p| p.strip_prefix("/api/v1/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|segment| !segment.is_empty() && !segment.starts_with('{'))
        .map(|segment| {
            segment
                .chars()
                .take(64)
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        })
        .unwrap_or_else(|| "unmatched".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_recorded_by_name_or_as_other() {
        let long = actix_web::http::Method::from_bytes(&[b'A'; 100]).unwrap();
        assert_eq!(method_name(&long), "other");
        assert_eq!(method_name(&actix_web::http::Method::GET), "GET");
    }

    #[test]
    fn portal_pages_count_in_their_apis_area() {
        assert_eq!(page_area(Some("/career/roles/{role_id}")), Some("career"));
        assert_eq!(
            page_area(Some("/communities/{community_id}")),
            Some("network")
        );
        assert_eq!(page_area(Some("/workspaces")), Some("workspaces"));
        assert_eq!(page_area(Some("/")), Some("portal"));
        assert_eq!(page_area(Some("/login")), None);
        assert_eq!(page_area(Some("/static/portal.js")), None);
        assert_eq!(page_area(None), None);
    }

    #[test]
    fn route_groups_are_the_first_segment() {
        assert_eq!(route_group(Some("/api/v1/members/{member_id}")), "members");
        assert_eq!(route_group(Some("/api/v1/audit-events")), "audit_events");
        assert_eq!(route_group(Some("/api/v1/openapi.json")), "openapi_json");
        assert_eq!(route_group(Some("/api/v1/")), "unmatched");
        assert_eq!(route_group(None), "unmatched");
    }
}
