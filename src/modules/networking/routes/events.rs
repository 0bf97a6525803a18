//! `/api/v1/network/events`: career fairs, talks, workshops and meetups with RSVPs and a waitlist.

use actix_web::{
    HttpResponse, delete, get, patch, post, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{caller, open};
use crate::{
    auth::AccessToken,
    authz::Act,
    error::{ApiError, ApiResult},
    http::{ValidJson, ValidQuery},
    modules::networking::events::{self, AttendeeRow, EventInput, EventRow},
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkEventResponse {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// `career_fair`, `talk`, `workshop`, `meetup` or `other`.
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The IANA zone its times are shown in.
    pub timezone: String,
    pub location: String,
    pub meeting_url: Option<String>,
    pub capacity: i32,
    pub going: i64,
    pub waitlisted: i64,
    /// `going`, `waitlisted`, or null.
    pub my_status: Option<String>,
    pub community_id: Option<Uuid>,
    pub organizer: Option<EventOrganizer>,
    /// `scheduled` or `cancelled`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOrganizer {
    pub id: Uuid,
    pub display_name: String,
}

impl From<EventRow> for NetworkEventResponse {
    fn from(row: EventRow) -> NetworkEventResponse {
        NetworkEventResponse {
            id: row.id,
            title: row.title,
            description: row.description,
            kind: row.kind,
            starts_at: row.starts_at.to_utc(),
            ends_at: row.ends_at.to_utc(),
            timezone: row.timezone,
            location: row.location,
            meeting_url: row.meeting_url,
            capacity: row.capacity,
            going: row.going,
            waitlisted: row.waitlisted,
            my_status: row.my_status,
            community_id: row.community_id,
            organizer: row
                .organizer_id
                .zip(row.organizer_name)
                .map(|(id, display_name)| EventOrganizer { id, display_name }),
            status: row.status,
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkEventsResponse {
    pub items: Vec<NetworkEventResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEventsQuery {
    /// Events ending after this time (default: now).
    pub from: Option<DateTime<Utc>>,
    /// Only this community's events.
    pub community_id: Option<Uuid>,
    /// At most this many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Internal careers fair", "kind": "career_fair", "starts_at": "2027-03-04T13:00:00Z", "ends_at": "2027-03-04T16:00:00Z", "timezone": "Europe/Berlin", "meeting_url": "https://meet.example/fair", "capacity": 200}))]
pub struct CreateEventRequest {
    /// 1 to 200 characters.
    pub title: String,
    /// At most 5,000 characters.
    pub description: Option<String>,
    /// `career_fair`, `talk`, `workshop`, `meetup` or `other` (default).
    pub kind: Option<String>,
    /// In the future.
    pub starts_at: DateTime<Utc>,
    /// After the start, at most 14 days later.
    pub ends_at: DateTime<Utc>,
    /// The IANA zone to show its times in (default: the organization's).
    pub timezone: Option<String>,
    /// At most 200 characters.
    pub location: Option<String>,
    /// http or https.
    pub meeting_url: Option<String>,
    /// Places: 1 to 100,000.
    pub capacity: i64,
    /// A community whose owners organize it with the caller (the caller must own it, or be HR).
    pub community_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"capacity": 250}))]
pub struct UpdateEventRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub timezone: Option<String>,
    pub location: Option<String>,
    /// A link, or null to remove it.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>)]
    pub meeting_url: Option<Option<String>>,
    /// Not below the number going; a larger one fills from the waitlist.
    pub capacity: Option<i64>,
    /// `cancelled` cancels it (final) and tells everyone going or waiting.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttendeeResponse {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    /// `going` or `waitlisted`.
    pub status: String,
    pub responded_at: DateTime<Utc>,
}

impl From<AttendeeRow> for AttendeeResponse {
    fn from(row: AttendeeRow) -> AttendeeResponse {
        AttendeeResponse {
            user_id: row.user_id,
            display_name: row.display_name,
            email: row.email,
            status: row.status,
            responded_at: row.responded_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttendeesResponse {
    /// Those going, then the waitlist, each in the order they answered.
    pub items: Vec<AttendeeResponse>,
}

/// Schedules an event (HR; a community's owners for their community).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    request_body = CreateEventRequest,
    responses(
        (status = 201, description = "Scheduled", body = NetworkEventResponse),
        (status = 403, description = "Neither HR nor the community's owner", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The community is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/events")]
pub async fn create_event(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreateEventRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let body = body.into_inner();
    let row = events::create(
        &auth.tx,
        &auth.ctx,
        member,
        EventInput {
            title: Some(body.title),
            description: body.description,
            kind: body.kind,
            starts_at: Some(body.starts_at),
            ends_at: Some(body.ends_at),
            timezone: body.timezone,
            location: body.location,
            meeting_url: body.meeting_url.map(Some),
            capacity: Some(body.capacity),
            community_id: body.community_id,
            status: None,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(NetworkEventResponse::from(row)))
}

/// Upcoming events (those ending after `from`), soonest first.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(ListEventsQuery),
    responses((status = 200, description = "The events", body = NetworkEventsResponse))
)]
#[get("/network/events")]
pub async fn list_events(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<ListEventsQuery>,
) -> ApiResult<Json<NetworkEventsResponse>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 200"));
    }
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let from = query.from.unwrap_or(auth.ctx.now);
    let rows = events::list(&auth.tx, member.user, from, query.community_id, limit).await?;
    auth.tx.commit().await?;
    Ok(Json(NetworkEventsResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// One event.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("network_event_id" = Uuid, Path, description = "The event's id")),
    responses((status = 200, description = "The event", body = NetworkEventResponse))
)]
#[get("/network/events/{network_event_id}")]
pub async fn get_event(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<NetworkEventResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let row = events::get(&auth.tx, member.user, *id, false).await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// Changes, reschedules or cancels an event (its organizer, HR, or its community's owners).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("network_event_id" = Uuid, Path, description = "The event's id")),
    request_body = UpdateEventRequest,
    responses(
        (status = 200, description = "Changed", body = NetworkEventResponse),
        (status = 403, description = "Not its organizer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cancelled, over, or a capacity below those going", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/network/events/{network_event_id}")]
pub async fn update_event(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<UpdateEventRequest>,
) -> ApiResult<Json<NetworkEventResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let body = body.into_inner();
    let row = events::update(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        member,
        *id,
        EventInput {
            title: body.title,
            description: body.description,
            kind: body.kind,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            timezone: body.timezone,
            location: body.location,
            meeting_url: body.meeting_url,
            capacity: body.capacity,
            community_id: None,
            status: body.status,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// RSVPs: `going` while places last, else `waitlisted` (already answered: as it was).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("network_event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The event with the caller's status", body = NetworkEventResponse),
        (status = 409, description = "Cancelled or started", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/network/events/{network_event_id}/rsvp")]
pub async fn rsvp_event(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<NetworkEventResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let (row, answered) = events::rsvp(&auth.tx, &auth.ctx, member.user, *id).await?;
    auth.tx.commit().await?;
    if answered {
        state.usage.feature(
            tenant.id,
            auth.principal.user().ok().map(|(u, _)| u),
            crate::modules::analytics::capture::FeatureEvent::EventRsvp,
            row.my_status.as_deref().unwrap_or(""),
        );
    }
    Ok(Json(row.into()))
}

/// Withdraws the caller's RSVP; a place freed goes to the first on the waitlist.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("network_event_id" = Uuid, Path, description = "The event's id")),
    responses((status = 200, description = "The event", body = NetworkEventResponse))
)]
#[delete("/network/events/{network_event_id}/rsvp")]
pub async fn withdraw_rsvp(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<NetworkEventResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let row = events::withdraw(&auth.tx, &auth.ctx, &state.crypto, member.user, *id).await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// Who is going and who waits (the organizer, HR, or the community's owners).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("network_event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The attendees", body = AttendeesResponse),
        (status = 403, description = "Not its organizer", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/network/events/{network_event_id}/attendees")]
pub async fn list_attendees(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<AttendeesResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let rows = events::attendees(&auth.tx, member, *id).await?;
    auth.tx.commit().await?;
    Ok(Json(AttendeesResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}
