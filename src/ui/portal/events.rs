//! Events (`/events`): the organization's upcoming career fairs, talks, workshops and meetups, soonest
//! first, with the places left and the member's answer; an event's page with the details, RSVP (going
//! while places last, else on the waitlist, promoted first come first served) and withdrawing it, and —
//! for its organizer, HR and its community's owners — who comes. The same services as the API.

use std::collections::HashMap;

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::mentoring::NETWORKING;
use crate::{
    auth::Authenticated,
    domain::UserId,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::{
        analytics::capture::FeatureEvent,
        networking::{
            Caller, communities,
            events::{self, EventRow},
        },
    },
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::CsrfOnly,
        frame::{Nav, PageResult, Refusal, Visit, html, status_of, visit},
    },
};

const BACK: &str = "/events";
/// Upcoming events listed at most.
const LISTED: u64 = 100;

struct EventView {
    id: String,
    title: String,
    kind: String,
    when: String,
    location: String,
    meeting_url: String,
    description: String,
    organizer: String,
    community: Option<(String, String)>,
    capacity: i32,
    going: i64,
    waitlisted: i64,
    places_left: i64,
    /// `going`, `waitlisted`, or empty.
    my_status: String,
    cancelled: bool,
    /// RSVPs are open: scheduled and not started.
    open: bool,
}

impl EventView {
    fn new(
        e: EventRow,
        now: chrono::DateTime<chrono::Utc>,
        community: Option<String>,
    ) -> EventView {
        EventView {
            id: e.id.to_string(),
            kind: e.kind.replace('_', " "),
            when: e.when(),
            places_left: (i64::from(e.capacity) - e.going).max(0),
            cancelled: e.status == "cancelled",
            open: e.status == "scheduled" && e.starts_at.to_utc() > now,
            community: e
                .community_id
                .zip(community)
                .map(|(id, name)| (id.to_string(), name)),
            my_status: e.my_status.unwrap_or_default(),
            organizer: e.organizer_name.unwrap_or_default(),
            meeting_url: e.meeting_url.unwrap_or_default(),
            title: e.title,
            location: e.location,
            description: e.description,
            capacity: e.capacity,
            going: e.going,
            waitlisted: e.waitlisted,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/events.html", config = "admin-ui/askama.toml")]
struct EventsPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    events: Vec<EventView>,
}

#[get("/events")]
pub async fn events_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
) -> PageResult {
    let visit = match visit(&state, &tenant, &req, request, BACK, NETWORKING).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    let now = auth.ctx.now;
    let rows = events::list(&auth.tx, user, now, None, LISTED).await?;
    let names: HashMap<Uuid, String> = if rows.iter().any(|e| e.community_id.is_some()) {
        communities::list(&auth.tx, user, false)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        HashMap::new()
    };
    auth.tx.commit().await?;
    let events = rows
        .into_iter()
        .map(|e| {
            let community = e.community_id.and_then(|id| names.get(&id).cloned());
            EventView::new(e, now, community)
        })
        .collect();
    html(
        status_of(None),
        EventsPage {
            org: &org,
            csrf: &csrf,
            nav,
            events,
        },
    )
}

#[derive(Template)]
#[template(path = "portal/event.html", config = "admin-ui/askama.toml")]
struct EventPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    e: EventView,
    /// Who comes, for those who organize it (`None` for everyone else).
    attendees: Option<Vec<(String, String)>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "going" => Some("You are going: the reminder with the calendar file comes a day before."),
        "waitlisted" => Some(
            "The event is full: you are on the waitlist, and get a mail if a place opens for you.",
        ),
        "withdrawn" => Some("Your RSVP was withdrawn."),
        _ => None,
    }
}

#[get("/events/{network_event_id}")]
pub async fn event_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    id: Path<Uuid>,
    query: ValidQuery<EventQuery>,
) -> PageResult {
    let back = format!("/events/{}", *id);
    match visit(&state, &tenant, &req, request, &back, NETWORKING).await? {
        Ok(visit) => render(&state, visit, *id, notice(&query.done), None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render(
    state: &AppState,
    visit: Visit,
    id: Uuid,
    notice: Option<&str>,
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let member = Caller::of(state, &auth).await?;
    let event = events::get(&auth.tx, member.user, id, false).await?;
    let community = match event.community_id {
        Some(community) => Some(
            communities::get(&auth.tx, member.user, community, false)
                .await?
                .name,
        ),
        None => None,
    };
    let attendees = match events::attendees(&auth.tx, member, id).await {
        Ok(rows) => Some(
            rows.into_iter()
                .map(|a| (a.display_name, a.status))
                .collect(),
        ),
        Err(ApiError::Forbidden { .. }) => None,
        Err(error) => return Err(error),
    };
    let now = auth.ctx.now;
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        EventPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            e: EventView::new(event, now, community),
            attendees,
        },
    )
}

/// RSVPs: going while places last, else the waitlist (already answered: as it was).
#[post("/events/{network_event_id}/rsvp")]
pub async fn rsvp(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let id = *id;
    let back = format!("/events/{id}");
    let page = async |visit, refusal| render(&state, visit, id, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let (row, answered) = events::rsvp(&auth.tx, &auth.ctx, user, id).await?;
        Ok((row, answered, user))
    };
    // After the commit, as the API does: a new answer counts in the organization's usage figures.
    let to = |(row, answered, user): (EventRow, bool, Uuid)| {
        let status = row.my_status.unwrap_or_default();
        if answered {
            let event = FeatureEvent::EventRsvp;
            let member = Some(UserId::from_uuid(user));
            state.usage.feature(tenant.id, member, event, &status);
        }
        format!("/events/{id}?done={status}")
    };
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Withdraws the member's RSVP; a place it frees goes to the first on the waitlist.
#[post("/events/{network_event_id}/withdraw")]
pub async fn withdraw(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let id = *id;
    let back = format!("/events/{id}");
    let page = async |visit, refusal| render(&state, visit, id, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        // Withdrawn already (a second tab, a second click): done, as asked.
        let event = events::get(&auth.tx, user, id, true).await?;
        if event.my_status.is_none() {
            return Ok(event);
        }
        events::withdraw(&auth.tx, &auth.ctx, &state.crypto, user, id).await
    };
    let to = |_| format!("/events/{id}?done=withdrawn");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
