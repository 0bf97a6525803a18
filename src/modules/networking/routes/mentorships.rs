//! `/api/v1/network/mentorships`: the caller's mentorships, as mentee or mentor — requesting, answering,
//! cancelling.

use actix_web::{
    HttpResponse, get, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{mentors::MentorRecommendation, open};
use crate::{
    auth::AccessToken,
    authz::Act,
    error::ApiResult,
    http::ValidJson,
    modules::{
        analytics::capture::FeatureEvent,
        networking::{
            mentorship_sessions::{self, NewSession, SessionRow},
            mentorships::{self, MentorshipRow},
            recommend,
        },
    },
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
    /// When the mentee answered the first-session fit check.
    pub fit_checked_at: Option<DateTime<Utc>>,
    /// Ended by the mentee as not a good fit.
    pub not_a_fit: bool,
    /// The mentee's rating, 1–5, once completed.
    pub rating: Option<i16>,
    /// The mentee's words at the fit check or the end.
    pub feedback: String,
    /// The programme whose publication made it (null: the mentee asked).
    pub programme_id: Option<Uuid>,
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
            fit_checked_at: row.fit_checked_at.map(|t| t.to_utc()),
            not_a_fit: row.not_a_fit,
            rating: row.rating,
            feedback: row.feedback,
            programme_id: row.programme_id,
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
    state
        .usage
        .feature(tenant.id, Some(user), FeatureEvent::MentorshipRequested, "");
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
    if accept {
        state.usage.feature(
            tenant.id,
            Some(user),
            FeatureEvent::MentorshipStarted,
            "request",
        );
    }
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

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipSessionResponse {
    pub id: Uuid,
    pub held_on: NaiveDate,
    pub minutes: i16,
    pub notes: String,
    /// Who logged it (null once their account is deleted).
    pub logged_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<SessionRow> for MentorshipSessionResponse {
    fn from(row: SessionRow) -> MentorshipSessionResponse {
        MentorshipSessionResponse {
            id: row.id,
            held_on: row.held_on,
            minutes: row.minutes,
            notes: row.notes,
            logged_by: row.logged_by,
            created_at: row.created_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorshipSessionsResponse {
    pub items: Vec<MentorshipSessionResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"held_on": "2026-12-03", "minutes": 45, "notes": "Walked through the migration plan."}))]
pub struct LogSessionRequest {
    /// Not in the future, not before the acceptance.
    pub held_on: NaiveDate,
    /// 5 to 600.
    pub minutes: i64,
    /// At most 5,000 characters.
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"good_fit": true}))]
pub struct FitCheckRequest {
    pub good_fit: bool,
    /// Your IANA time zone, for scoring the other mentors offered (default: the organization's).
    pub timezone: Option<String>,
    /// At most 2,000 characters.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FitCheckResponse {
    pub mentorship: MentorshipResponse,
    /// Not a fit: other mentors to ask instead (up to 3; this one is left out from now on).
    pub rematch: Vec<MentorRecommendation>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": 5, "feedback": "Exactly the push I needed."}))]
pub struct CompleteMentorshipRequest {
    /// The mentee's rating, 1 to 5 (not the mentor's to give).
    pub rating: Option<i64>,
    /// The mentee's words; at most 2,000 characters.
    #[serde(default)]
    pub feedback: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": 4}))]
pub struct RateMentorshipRequest {
    /// 1 to 5.
    pub rating: i64,
    #[serde(default)]
    pub feedback: String,
}

/// The sessions of one of the caller's mentorships, the latest first.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    responses((status = 200, description = "The sessions", body = MentorshipSessionsResponse))
)]
#[get("/network/mentorships/{mentorship_id}/sessions")]
pub async fn list_sessions(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<MentorshipSessionsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let rows = mentorship_sessions::list(&auth.tx, user.as_uuid(), *id).await?;
    auth.tx.commit().await?;
    Ok(Json(MentorshipSessionsResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Logs a session held (either side), while the mentorship is accepted or active.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    request_body = LogSessionRequest,
    responses(
        (status = 201, description = "Logged", body = MentorshipSessionResponse),
        (status = 409, description = "Not accepted or active", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships/{mentorship_id}/sessions")]
pub async fn log_session(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<LogSessionRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = mentorship_sessions::log(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *id,
        NewSession {
            held_on: body.held_on,
            minutes: body.minutes,
            notes: body.notes,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(MentorshipSessionResponse::from(row)))
}

/// The mentee's first-session check: a good fit makes the mentorship active; not a fit ends it and
/// offers other mentors.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    request_body = FitCheckRequest,
    responses(
        (status = 200, description = "Answered", body = FitCheckResponse),
        (status = 403, description = "Not the mentee", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not accepted, or no session logged yet", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships/{mentorship_id}/fit")]
pub async fn check_fit(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<FitCheckRequest>,
) -> ApiResult<Json<FitCheckResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    if let Some(zone) = &body.timezone {
        crate::validate::time_zone("timezone", zone)
            .map_err(|e| crate::error::ApiError::Validation(vec![e]))?;
    }
    let row = mentorships::check_fit(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *id,
        body.good_fit,
        &body.note,
    )
    .await?;
    let rematch = if body.good_fit {
        Vec::new()
    } else {
        let mentee = recommend::mentee(
            &auth.tx,
            user.as_uuid(),
            Default::default(),
            body.timezone.as_deref(),
            auth.ctx.now,
        )
        .await?;
        recommend::recommend(&auth.tx, &mentee, 3, auth.ctx.now)
            .await?
            .0
            .into_iter()
            .map(|r| MentorRecommendation {
                mentor: r.mentor.into(),
                score: r.breakdown.into(),
            })
            .collect()
    };
    auth.tx.commit().await?;
    Ok(Json(FitCheckResponse {
        mentorship: row.into(),
        rematch,
    }))
}

/// Either side completes an active mentorship; the mentee may rate it.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    request_body = CompleteMentorshipRequest,
    responses(
        (status = 200, description = "Completed", body = MentorshipResponse),
        (status = 409, description = "Not active", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships/{mentorship_id}/complete")]
pub async fn complete_mentorship(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<CompleteMentorshipRequest>,
) -> ApiResult<Json<MentorshipResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = mentorships::complete(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *id,
        body.rating,
        &body.feedback,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// The mentee rates a completed mentorship (once).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentorship_id" = Uuid, Path, description = "The mentorship's id")),
    request_body = RateMentorshipRequest,
    responses(
        (status = 200, description = "Rated", body = MentorshipResponse),
        (status = 409, description = "Not completed, or rated already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/mentorships/{mentorship_id}/rating")]
pub async fn rate_mentorship(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<RateMentorshipRequest>,
) -> ApiResult<Json<MentorshipResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = mentorships::rate(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *id,
        body.rating,
        &body.feedback,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}
