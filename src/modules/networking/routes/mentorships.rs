//! `/api/v1/network/mentorships`: the caller's mentorships, as mentee or mentor — requesting, answering,
//! cancelling.

use actix_web::{
    HttpResponse, get, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::open;
use crate::{
    auth::AccessToken,
    authz::Act,
    error::ApiResult,
    http::ValidJson,
    modules::networking::mentorships::{self, MentorshipRow},
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipPerson {
    pub id: Uuid,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipResponse {
    pub id: Uuid,
    pub mentor: MentorshipPerson,
    pub mentee: MentorshipPerson,
    /// `requested`, `accepted`, `declined`, `active`, `completed` or `cancelled`.
    pub status: String,
    pub goals: String,
    pub message: String,
    /// The match score when requested, and its breakdown (as in the recommendations).
    pub score: i32,
    #[schema(value_type = Object)]
    pub breakdown: serde_json::Value,
    /// What the mentor said when answering.
    pub response_note: String,
    pub requested_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<MentorshipRow> for MentorshipResponse {
    fn from(row: MentorshipRow) -> MentorshipResponse {
        MentorshipResponse {
            id: row.id,
            mentor: MentorshipPerson {
                id: row.mentor_id,
                display_name: row.mentor_name,
            },
            mentee: MentorshipPerson {
                id: row.mentee_id,
                display_name: row.mentee_name,
            },
            status: row.status,
            goals: row.goals,
            message: row.message,
            score: row.score,
            breakdown: row.breakdown,
            response_note: row.response_note,
            requested_at: row.requested_at.to_utc(),
            responded_at: row.responded_at.map(|t| t.to_utc()),
            ended_at: row.ended_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipsResponse {
    pub items: Vec<MentorshipResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mentor_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "goals": "Get ready to lead the data team in a year.", "message": "Your talk on the event pipeline was great."}))]
pub struct RequestMentorshipRequest {
    pub mentor_id: Uuid,
    /// Your IANA time zone, as for the recommendations (default: the organization's).
    pub timezone: Option<String>,
    /// What you want to work on; at most 2,000 characters.
    #[serde(default)]
    pub goals: String,
    /// A note to the mentor; at most 1,000 characters.
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Happy to. Let's meet every other Tuesday."}))]
pub struct RespondMentorshipRequest {
    /// At most 1,000 characters.
    #[serde(default)]
    pub note: String,
}

/// Asks a mentor to mentor the caller: refused (409) when a filter of the recommendations leaves the
/// mentor out — paused, full, in the caller's reporting line, declined the caller before, already
/// connected.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    request_body = RequestMentorshipRequest,
    responses(
        (status = 201, description = "Requested", body = MentorshipResponse),
        (status = 409, description = "The mentor cannot take this request", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships")]
pub async fn request_mentorship(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<RequestMentorshipRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = mentorships::request(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        body.mentor_id,
        body.timezone.as_deref(),
        &body.goals,
        &body.message,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(MentorshipResponse::from(row)))
}

/// The caller's mentorships, as mentee or mentor.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    responses((status = 200, description = "The mentorships", body = MentorshipsResponse))
)]
#[get("/network/mentorships")]
pub async fn list_mentorships(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<MentorshipsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let rows = mentorships::of_user(&auth.tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    Ok(Json(MentorshipsResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// One of the caller's mentorships.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    responses((status = 200, description = "The mentorship", body = MentorshipResponse))
)]
#[get("/network/mentorships/{mentorship_id}")]
pub async fn get_mentorship(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<MentorshipResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let row = mentorships::get(&auth.tx, user.as_uuid(), *id, false).await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

async fn respond(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Uuid,
    accept: bool,
    note: &str,
) -> ApiResult<Json<MentorshipResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let row = mentorships::respond(&auth.tx, &auth.ctx, user.as_uuid(), id, accept, note).await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// The mentor accepts a request (409 `mentor_full` at their limit).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    request_body = RespondMentorshipRequest,
    responses(
        (status = 200, description = "Accepted", body = MentorshipResponse),
        (status = 409, description = "Not pending, or no place left", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships/{mentorship_id}/accept")]
pub async fn accept_mentorship(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<RespondMentorshipRequest>,
) -> ApiResult<Json<MentorshipResponse>> {
    respond(state, tenant, token, *id, true, &body.into_inner().note).await
}

/// The mentor declines a request; they are not recommended to this mentee again.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    request_body = RespondMentorshipRequest,
    responses(
        (status = 200, description = "Declined", body = MentorshipResponse),
        (status = 409, description = "Not pending", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships/{mentorship_id}/decline")]
pub async fn decline_mentorship(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<RespondMentorshipRequest>,
) -> ApiResult<Json<MentorshipResponse>> {
    respond(state, tenant, token, *id, false, &body.into_inner().note).await
}

/// Either side ends an open mentorship (a request, accepted or active).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    responses(
        (status = 200, description = "Cancelled", body = MentorshipResponse),
        (status = 409, description = "Ended already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships/{mentorship_id}/cancel")]
pub async fn cancel_mentorship(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<MentorshipResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let row = mentorships::cancel(&auth.tx, &auth.ctx, user.as_uuid(), *id).await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}
