//! `/api/v1/network/programmes`: mentoring programmes — HR opens them, members opt in, the owner
//! matches, adjusts, publishes and follows the pairs.

use actix_web::{
    HttpResponse, delete, get, patch, post, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{caller, open};
use crate::{
    auth::AccessToken,
    authz::Act,
    error::ApiResult,
    http::ValidJson,
    modules::networking::{
        Caller,
        cohort_matching::{self, Draft},
        programme_pairs,
        programmes::{self, JoinInput, ParticipantRow, ProgrammeInput, ProgrammeRow},
    },
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub owner: Option<ProgrammePerson>,
    /// `open` (members join), `published` (the matches became mentorships) or `closed`.
    pub status: String,
    pub mentors: i64,
    pub mentees: i64,
    /// Places the mentors gave it.
    pub places: i64,
    /// `mentor` or `mentee` when the caller joined.
    pub my_role: Option<String>,
    /// Whether the caller runs it (its owner, or HR).
    pub runs: bool,
    pub matched_at: Option<DateTime<Utc>>,
    /// `optimal` or `greedy` (cohorts above 600 places and mentees).
    pub match_method: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammePerson {
    pub id: Uuid,
    pub display_name: String,
}

impl ProgrammeResponse {
    fn new(row: ProgrammeRow, viewer: Caller) -> ProgrammeResponse {
        ProgrammeResponse {
            runs: row.is_run_by(viewer),
            id: row.id,
            name: row.name,
            description: row.description,
            owner: row
                .owner_id
                .zip(row.owner_name)
                .map(|(id, display_name)| ProgrammePerson { id, display_name }),
            status: row.status,
            mentors: row.mentors,
            mentees: row.mentees,
            places: row.places,
            my_role: row.my_role,
            matched_at: row.matched_at.map(|t| t.to_utc()),
            match_method: row.match_method,
            published_at: row.published_at.map(|t| t.to_utc()),
            closed_at: row.closed_at.map(|t| t.to_utc()),
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammesResponse {
    pub items: Vec<ProgrammeResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Leaders 2027", "description": "Six months with a senior mentor for new team leads.", "owner_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e"}))]
pub struct CreateProgrammeRequest {
    /// 1 to 200 characters, unique in the organization.
    pub name: String,
    /// At most 5,000 characters.
    pub description: Option<String>,
    /// The member who runs it (default: the caller).
    pub owner_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "closed"}))]
pub struct UpdateProgrammeRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<Uuid>,
    /// `closed` ends the programme (final).
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "mentee", "goals": "Lead a team of five within a year.", "languages": ["en"], "timezone": "Europe/Berlin"}))]
pub struct JoinProgrammeRequest {
    /// `mentor` (needs an active mentor profile) or `mentee`.
    pub role: String,
    /// A mentor's places in this programme: 1 to 10, at most their profile's mentee limit (default 1).
    pub places: Option<i64>,
    /// A mentee's goals (≤ 2,000), read by their mentor and the programme's owner.
    #[serde(default)]
    pub goals: String,
    /// A mentee's languages (≤ 10): a mentor who lists languages must share one.
    #[serde(default)]
    pub languages: Vec<String>,
    /// A mentee's IANA time zone (default: the organization's).
    pub timezone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantResponse {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    /// `mentor` or `mentee`.
    pub role: String,
    pub places: Option<i16>,
    pub goals: String,
    pub languages: Vec<String>,
    pub timezone: Option<String>,
    pub joined_at: DateTime<Utc>,
}

impl From<ParticipantRow> for ParticipantResponse {
    fn from(row: ParticipantRow) -> ParticipantResponse {
        ParticipantResponse {
            user_id: row.user_id,
            display_name: row.display_name,
            email: row.email,
            role: row.role,
            places: row.places,
            goals: row.goals,
            languages: row.languages,
            timezone: row.timezone,
            joined_at: row.joined_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantsResponse {
    pub items: Vec<ParticipantResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftMatchResponse {
    pub mentee: ProgrammePerson,
    pub mentor: Option<ProgrammePerson>,
    pub score: Option<i32>,
    /// Points by component, as in the recommendations.
    #[schema(value_type = Option<Object>)]
    pub breakdown: Option<serde_json::Value>,
    /// Set by the owner; kept by the next run.
    pub pinned: bool,
    /// Why there is no mentor: `no_allowed_mentor` (every mentor is left out by a filter),
    /// `no_place_left`, `kept_out` (by the owner) or `not_matched_yet` (joined after the last run).
    pub unmatched: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorPlacesResponse {
    pub mentor: ProgrammePerson,
    /// What they gave the programme.
    pub places: i16,
    /// What their mentor profile has open now (null: no active profile).
    pub open_places: Option<i64>,
    /// Mentees the draft gives them.
    pub assigned: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftResponse {
    pub programme: ProgrammeResponse,
    pub matches: Vec<DraftMatchResponse>,
    pub mentors: Vec<MentorPlacesResponse>,
    pub matched: usize,
    pub unmatched: usize,
    /// The sum of the pairs' scores.
    pub total_score: i64,
}

impl DraftResponse {
    fn new(draft: Draft, viewer: Caller) -> DraftResponse {
        let total_score = draft.total();
        let matched = draft.rows.iter().filter(|r| r.mentor_id.is_some()).count();
        DraftResponse {
            unmatched: draft.rows.len() - matched,
            matched,
            total_score,
            programme: ProgrammeResponse::new(draft.programme, viewer),
            matches: draft
                .rows
                .into_iter()
                .map(|r| DraftMatchResponse {
                    mentee: ProgrammePerson {
                        id: r.mentee_id,
                        display_name: r.mentee_name,
                    },
                    mentor: r
                        .mentor_id
                        .zip(r.mentor_name)
                        .map(|(id, display_name)| ProgrammePerson { id, display_name }),
                    score: r.score,
                    breakdown: r.breakdown,
                    pinned: r.pinned,
                    unmatched: r.unmatched,
                })
                .collect(),
            mentors: draft
                .mentors
                .into_iter()
                .map(|m| MentorPlacesResponse {
                    mentor: ProgrammePerson {
                        id: m.user_id,
                        display_name: m.display_name,
                    },
                    places: m.places,
                    open_places: m.open_places,
                    assigned: m.assigned,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mentor_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e"}))]
pub struct SetMatchRequest {
    /// The mentor (a mentor of the programme whom the filters allow, with a place left), or null to
    /// keep the mentee out of this programme's matches.
    #[serde(deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Uuid>)]
    pub mentor_id: Option<Option<Uuid>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedResponse {
    pub programme: ProgrammeResponse,
    /// Mentorships made (accepted, of this programme).
    pub mentorships: usize,
    /// Mentees left without a mentor.
    pub unmatched: usize,
    /// Mails queued (each matched mentee, each mentor, each unmatched mentee).
    pub mails: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairHealthResponse {
    pub mentorship_id: Uuid,
    pub mentor: ProgrammePerson,
    pub mentee: ProgrammePerson,
    pub status: String,
    pub sessions: i64,
    pub last_session: Option<NaiveDate>,
    /// Days since the last session (or the match, before any); open pairs only.
    pub days_since: Option<i64>,
    /// Accepted or active with no session in 30 days.
    pub quiet: bool,
    pub not_a_fit: bool,
    pub rating: Option<i16>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeHealthResponse {
    pub programme: ProgrammeResponse,
    pub pairs: Vec<PairHealthResponse>,
    pub quiet: usize,
    /// Pairs by status.
    #[schema(value_type = Object)]
    pub by_status: std::collections::BTreeMap<String, usize>,
    pub average_rating: Option<f64>,
}

/// Opens a programme (HR), owned by the caller or the member named.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    request_body = CreateProgrammeRequest,
    responses(
        (status = 201, description = "Opened", body = ProgrammeResponse),
        (status = 409, description = "A programme of this name exists", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/programmes")]
pub async fn create_programme(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreateProgrammeRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let viewer = caller(&state, &auth).await?;
    let body = body.into_inner();
    let row = programmes::create(
        &auth.tx,
        &auth.ctx,
        viewer,
        ProgrammeInput {
            name: Some(body.name),
            description: body.description,
            owner_id: body.owner_id,
            status: None,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(ProgrammeResponse::new(row, viewer)))
}

/// Programmes: open and published ones and those the caller is in or runs (HR: all).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    responses((status = 200, description = "The programmes", body = ProgrammesResponse))
)]
#[get("/network/programmes")]
pub async fn list_programmes(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<ProgrammesResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let rows = programmes::list(&auth.tx, viewer).await?;
    auth.tx.commit().await?;
    Ok(Json(ProgrammesResponse {
        items: rows
            .into_iter()
            .map(|r| ProgrammeResponse::new(r, viewer))
            .collect(),
    }))
}

/// One programme.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses((status = 200, description = "The programme", body = ProgrammeResponse))
)]
#[get("/network/programmes/{programme_id}")]
pub async fn get_programme(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<ProgrammeResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let row = programmes::get(&auth.tx, viewer, *id, false).await?;
    auth.tx.commit().await?;
    Ok(Json(ProgrammeResponse::new(row, viewer)))
}

/// Renames, describes, hands over or closes a programme (its owner, or HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    request_body = UpdateProgrammeRequest,
    responses(
        (status = 200, description = "Changed", body = ProgrammeResponse),
        (status = 403, description = "Not its owner", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A closed programme keeps its name and description", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/network/programmes/{programme_id}")]
pub async fn update_programme(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<UpdateProgrammeRequest>,
) -> ApiResult<Json<ProgrammeResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let body = body.into_inner();
    let row = programmes::update(
        &auth.tx,
        &auth.ctx,
        viewer,
        *id,
        ProgrammeInput {
            name: body.name,
            description: body.description,
            owner_id: body.owner_id,
            status: body.status,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(ProgrammeResponse::new(row, viewer)))
}

/// Joins an open programme as mentor or mentee, or changes how the caller takes part.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    request_body = JoinProgrammeRequest,
    responses(
        (status = 200, description = "Joined", body = ParticipantResponse),
        (status = 409, description = "Not open, full, or no active mentor profile", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/network/programmes/{programme_id}/participation")]
pub async fn join_programme(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<JoinProgrammeRequest>,
) -> ApiResult<Json<ParticipantResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let body = body.into_inner();
    let row = programmes::join(
        &auth.tx,
        &auth.ctx,
        viewer,
        *id,
        JoinInput {
            role: body.role,
            places: body.places,
            goals: body.goals,
            languages: body.languages,
            timezone: body.timezone,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// The caller's participation.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses((status = 200, description = "How the caller takes part", body = ParticipantResponse))
)]
#[get("/network/programmes/{programme_id}/participation")]
pub async fn get_participation(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<ParticipantResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    programmes::get(&auth.tx, viewer, *id, false).await?;
    let row = programmes::participation(&auth.tx, *id, viewer.user).await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// Leaves an open programme.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses(
        (status = 204, description = "Left"),
        (status = 409, description = "The programme is not open", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/network/programmes/{programme_id}/participation")]
pub async fn leave_programme(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    programmes::leave(&auth.tx, &auth.ctx, viewer, *id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The cohort (its owner, or HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses((status = 200, description = "Mentors and mentees", body = ParticipantsResponse))
)]
#[get("/network/programmes/{programme_id}/participants")]
pub async fn list_participants(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<ParticipantsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    programmes::run_by(&auth.tx, viewer, *id, false).await?;
    let rows = programmes::participants(&auth.tx, *id).await?;
    auth.tx.commit().await?;
    Ok(Json(ParticipantsResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Runs the batch matching over the cohort (the owner's pinned choices stay) and returns the draft.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses(
        (status = 200, description = "The new draft", body = DraftResponse),
        (status = 409, description = "The programme is not open", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/programmes/{programme_id}/match")]
pub async fn match_programme(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<DraftResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let draft = cohort_matching::run(&auth.tx, &auth.ctx, viewer, *id).await?;
    auth.tx.commit().await?;
    Ok(Json(DraftResponse::new(draft, viewer)))
}

/// The draft matches (the preview).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses((status = 200, description = "The draft", body = DraftResponse))
)]
#[get("/network/programmes/{programme_id}/matches")]
pub async fn get_matches(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<DraftResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let programme = programmes::run_by(&auth.tx, viewer, *id, false).await?;
    let draft = cohort_matching::draft(&auth.tx, programme).await?;
    auth.tx.commit().await?;
    Ok(Json(DraftResponse::new(draft, viewer)))
}

/// Sets a mentee's mentor by hand, or keeps them out (`mentor_id: null`); pinned for later runs.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(
        ("programme_id" = Uuid, Path, description = "The programme's id"),
        ("mentee_id" = Uuid, Path, description = "A mentee of the programme"),
    ),
    request_body = SetMatchRequest,
    responses(
        (status = 200, description = "The draft", body = DraftResponse),
        (status = 409, description = "The filters leave the pair out, or the mentor has no place left", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/network/programmes/{programme_id}/matches/{mentee_id}")]
pub async fn set_match(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<SetMatchRequest>,
) -> ApiResult<Json<DraftResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let (id, mentee) = path.into_inner();
    let mentor = body.into_inner().mentor_id.flatten();
    let draft = cohort_matching::set(&auth.tx, &auth.ctx, viewer, id, mentee, mentor).await?;
    auth.tx.commit().await?;
    Ok(Json(DraftResponse::new(draft, viewer)))
}

/// Lets go of a pair or exclusion set by hand: the next run matches that mentee.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(
        ("programme_id" = Uuid, Path, description = "The programme's id"),
        ("mentee_id" = Uuid, Path, description = "A mentee of the programme"),
    ),
    responses(
        (status = 200, description = "The draft", body = DraftResponse),
        (status = 409, description = "Not open, or the mentee's match was not set by hand", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/network/programmes/{programme_id}/matches/{mentee_id}")]
pub async fn release_match(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<Json<DraftResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let (id, mentee) = path.into_inner();
    let draft = cohort_matching::release(&auth.tx, &auth.ctx, viewer, id, mentee).await?;
    auth.tx.commit().await?;
    Ok(Json(DraftResponse::new(draft, viewer)))
}

/// Publishes the draft: every pair checked again, all made accepted mentorships (or none), everyone
/// told by mail.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses(
        (status = 200, description = "Published", body = PublishedResponse),
        (status = 409, description = "Not matched, outdated, or pairs no longer allowed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/programmes/{programme_id}/publish")]
pub async fn publish_programme(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<PublishedResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let published =
        programme_pairs::publish(&auth.tx, &auth.ctx, &state.crypto, viewer, *id).await?;
    auth.tx.commit().await?;
    for _ in 0..published.mentorships {
        state.usage.feature(
            tenant.id,
            None,
            crate::modules::analytics::capture::FeatureEvent::MentorshipStarted,
            "programme",
        );
    }
    Ok(Json(PublishedResponse {
        programme: ProgrammeResponse::new(published.programme, viewer),
        mentorships: published.mentorships,
        unmatched: published.unmatched,
        mails: published.mails,
    }))
}

/// The pairs' health: sessions, quiet pairs (no session in 30 days), fit checks and ratings — never
/// notes or goals.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("programme_id" = Uuid, Path, description = "The programme's id")),
    responses((status = 200, description = "The pairs", body = ProgrammeHealthResponse))
)]
#[get("/network/programmes/{programme_id}/health")]
pub async fn programme_health(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<ProgrammeHealthResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let viewer = caller(&state, &auth).await?;
    let (programme, pairs) = programme_pairs::health(&auth.tx, viewer, *id, auth.ctx.now).await?;
    auth.tx.commit().await?;
    let mut by_status = std::collections::BTreeMap::new();
    for pair in &pairs {
        *by_status.entry(pair.row.status.clone()).or_insert(0) += 1;
    }
    let ratings: Vec<f64> = pairs
        .iter()
        .filter_map(|p| p.row.rating.map(f64::from))
        .collect();
    Ok(Json(ProgrammeHealthResponse {
        programme: ProgrammeResponse::new(programme, viewer),
        quiet: pairs.iter().filter(|p| p.quiet).count(),
        by_status,
        average_rating: (!ratings.is_empty())
            .then(|| ratings.iter().sum::<f64>() / ratings.len() as f64),
        pairs: pairs
            .into_iter()
            .map(|p| PairHealthResponse {
                mentorship_id: p.row.mentorship_id,
                mentor: ProgrammePerson {
                    id: p.row.mentor_id,
                    display_name: p.row.mentor_name,
                },
                mentee: ProgrammePerson {
                    id: p.row.mentee_id,
                    display_name: p.row.mentee_name,
                },
                status: p.row.status,
                sessions: p.row.sessions,
                last_session: p.row.last_session,
                days_since: p.days_since,
                quiet: p.quiet,
                not_a_fit: p.row.not_a_fit,
                rating: p.row.rating,
            })
            .collect(),
    }))
}
