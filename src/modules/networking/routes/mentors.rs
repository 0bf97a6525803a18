//! `/api/v1/network/mentors`: mentor profiles (the caller's own, and others'), recommendations with
//! their breakdown, and the organization's matching weights (`networking:manage` to change them).

use std::collections::BTreeSet;

use actix_web::{
    get, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::open;
use crate::{
    auth::AccessToken,
    authz::Act,
    error::{ApiError, ApiResult, FieldError},
    http::{ValidJson, ValidQuery},
    modules::networking::{
        matching::{self, Breakdown, Weights},
        mentors::{self, Mentor, ProfileInput},
        recommend,
    },
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MentorSkillDto {
    pub skill_id: Uuid,
    /// The skill's name (in answers).
    #[serde(default, skip_deserializing)]
    pub name: String,
    /// Happy to teach it.
    #[serde(default)]
    pub teaches: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorResponse {
    pub user_id: Uuid,
    pub display_name: String,
    pub bio: String,
    pub languages: Vec<String>,
    pub timezone: String,
    pub hours_per_week: i16,
    pub mentee_limit: i16,
    /// Taking mentees (false: paused).
    pub active: bool,
    /// Places left: the limit less the mentorships accepted or active.
    pub open_places: i64,
    pub skills: Vec<MentorSkillDto>,
    /// The Bayesian average of mentees' ratings (1–5; no ratings: the prior, 4).
    pub rating: f64,
    pub ratings: i64,
    pub updated_at: DateTime<Utc>,
}

impl From<Mentor> for MentorResponse {
    fn from(m: Mentor) -> MentorResponse {
        let row = m.row;
        MentorResponse {
            open_places: (i64::from(row.mentee_limit) - row.load).max(0),
            rating: (matching::bayesian_rating(row.ratings, row.rating_sum) * 100.0).round()
                / 100.0,
            ratings: row.ratings,
            user_id: row.user_id,
            display_name: row.display_name,
            bio: row.bio,
            languages: row.languages,
            timezone: row.timezone,
            hours_per_week: row.hours_per_week,
            mentee_limit: row.mentee_limit,
            active: row.active,
            skills: m
                .skills
                .into_iter()
                .map(|s| MentorSkillDto {
                    skill_id: s.skill_id,
                    name: s.name,
                    teaches: s.teaches,
                })
                .collect(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorsResponse {
    pub items: Vec<MentorResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"bio": "Data platform lead; happy to help with SQL and stakeholder work.", "languages": ["en", "de"], "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": 3, "active": true, "skills": [{"skill_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "teaches": true}]}))]
pub struct SaveMentorProfileRequest {
    /// At most 2,000 characters.
    #[serde(default)]
    pub bio: String,
    /// Languages you mentor in (at most 10): `en`, `de`, `português`...
    #[serde(default)]
    pub languages: Vec<String>,
    /// An IANA time zone.
    pub timezone: String,
    /// 1 to 40.
    pub hours_per_week: i64,
    /// Mentees at once, 1 to 20.
    pub mentee_limit: i64,
    /// Default true; false pauses (no new requests, no recommendations).
    pub active: Option<bool>,
    /// The organization's skills you know (at most 30), and whether you are happy to teach each.
    #[serde(default)]
    pub skills: Vec<MentorSkillDto>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendationsQuery {
    /// Languages you can be mentored in, comma-separated (`en,de`); none: any.
    pub languages: Option<String>,
    /// Your IANA time zone; default: the organization's.
    pub timezone: Option<String>,
    /// How many, 1 to 50 (default 10).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreBreakdown {
    /// How much of your goal's skill gaps they cover and teach.
    pub skills: i64,
    /// One or two levels above you is best.
    pub stage: i64,
    /// Working hours in common.
    pub timezone: i64,
    /// Skills on both profiles.
    pub interests: i64,
    /// Their mentees' ratings (Bayesian average).
    pub rating: i64,
    /// Minus 5 for each request already waiting for them (at most 15).
    pub spread: i64,
    pub total: i64,
}

impl From<Breakdown> for ScoreBreakdown {
    fn from(b: Breakdown) -> ScoreBreakdown {
        ScoreBreakdown {
            skills: b.skills,
            stage: b.stage,
            timezone: b.timezone,
            interests: b.interests,
            rating: b.rating,
            spread: b.spread,
            total: b.total,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MentorRecommendation {
    pub mentor: MentorResponse,
    pub score: ScoreBreakdown,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationsResponse {
    pub items: Vec<MentorRecommendation>,
    /// How many mentors each filter left out: `inactive`, `full`, `reporting_line`, `declined`,
    /// `already_connected`, `no_shared_language`, `yourself`.
    #[schema(value_type = Object)]
    pub excluded: serde_json::Value,
    /// The organization's weights the scores used.
    pub weights: MatchingWeights,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"skills": 50, "stage": 15, "timezone": 15, "interests": 5, "rating": 15}))]
pub struct MatchingWeights {
    /// Points each component may give, 0 to 100.
    pub skills: i64,
    pub stage: i64,
    pub timezone: i64,
    pub interests: i64,
    pub rating: i64,
}

impl From<Weights> for MatchingWeights {
    fn from(w: Weights) -> MatchingWeights {
        MatchingWeights {
            skills: w.skills,
            stage: w.stage,
            timezone: w.timezone,
            interests: w.interests,
            rating: w.rating,
        }
    }
}

/// Active mentors, by name (at most 500).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    responses((status = 200, description = "The mentors taking mentees", body = MentorsResponse))
)]
#[get("/network/mentors")]
pub async fn list_mentors(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<MentorsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let rows = mentors::list(&auth.tx, Some(500)).await?;
    auth.tx.commit().await?;
    Ok(Json(MentorsResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// The caller's mentor profile (404 until they make one).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    responses((status = 200, description = "The profile", body = MentorResponse))
)]
#[get("/network/mentors/me")]
pub async fn my_mentor_profile(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<MentorResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let mentor = mentors::get(&auth.tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    Ok(Json(mentor.into()))
}

/// Creates or replaces the caller's mentor profile.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    request_body = SaveMentorProfileRequest,
    responses((status = 200, description = "Saved", body = MentorResponse))
)]
#[put("/network/mentors/me")]
pub async fn save_mentor_profile(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<SaveMentorProfileRequest>,
) -> ApiResult<Json<MentorResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let mentor = mentors::save(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        ProfileInput {
            bio: body.bio,
            languages: body.languages,
            timezone: body.timezone,
            hours_per_week: body.hours_per_week,
            mentee_limit: body.mentee_limit,
            active: body.active.unwrap_or(true),
            skills: body
                .skills
                .iter()
                .map(|s| (s.skill_id, s.teaches))
                .collect(),
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(mentor.into()))
}

/// The mentors who suit the caller best, each with the breakdown of their score: hard filters first
/// (taking mentees, a place free, not in the caller's reporting line, never declined them, no open
/// request with them, a shared language), then points (docs/networking.md).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(RecommendationsQuery),
    responses((status = 200, description = "Recommended mentors, best first", body = RecommendationsResponse))
)]
#[get("/network/mentors/recommendations")]
pub async fn recommendations(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<RecommendationsQuery>,
) -> ApiResult<Json<RecommendationsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let query = query.into_inner();
    let mut errors = Vec::new();
    let limit = query.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        errors.push(FieldError::new("limit", "must be between 1 and 50"));
    }
    let mut languages = BTreeSet::new();
    for raw in query.languages.as_deref().unwrap_or("").split(',') {
        if raw.trim().is_empty() {
            continue;
        }
        match mentors::language("languages", raw) {
            Ok(lang) => {
                languages.insert(lang);
            }
            Err(e) => errors.push(e),
        }
    }
    if let Some(Err(e)) = query
        .timezone
        .as_deref()
        .map(|zone| crate::validate::time_zone("timezone", zone))
    {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mentee = recommend::mentee(
        &auth.tx,
        user.as_uuid(),
        languages,
        query.timezone.as_deref(),
        auth.ctx.now,
    )
    .await?;
    let (picked, excluded, weights) =
        recommend::recommend(&auth.tx, &mentee, limit as usize, auth.ctx.now).await?;
    auth.tx.commit().await?;
    Ok(Json(RecommendationsResponse {
        items: picked
            .into_iter()
            .map(|r| MentorRecommendation {
                mentor: r.mentor.into(),
                score: r.breakdown.into(),
            })
            .collect(),
        excluded: serde_json::to_value(&excluded).map_err(ApiError::internal)?,
        weights: weights.into(),
    }))
}

/// A mentor's profile.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("mentor_id" = Uuid, Path, description = "The mentor's member id")),
    responses((status = 200, description = "The profile", body = MentorResponse))
)]
#[get("/network/mentors/{mentor_id}")]
pub async fn get_mentor(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<MentorResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let mentor = mentors::get(&auth.tx, *id).await?;
    auth.tx.commit().await?;
    Ok(Json(mentor.into()))
}

/// The organization's matching weights.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    responses((status = 200, description = "The weights", body = MatchingWeights))
)]
#[get("/network/matching-weights")]
pub async fn get_weights(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<MatchingWeights>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let weights = recommend::weights(&auth.tx).await?;
    auth.tx.commit().await?;
    Ok(Json(weights.into()))
}

/// Sets the organization's matching weights (HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    request_body = MatchingWeights,
    responses((status = 200, description = "Saved", body = MatchingWeights))
)]
#[put("/network/matching-weights")]
pub async fn save_weights(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<MatchingWeights>,
) -> ApiResult<Json<MatchingWeights>> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let w = body.into_inner();
    let mut errors = Vec::new();
    for (field, value) in [
        ("skills", w.skills),
        ("stage", w.stage),
        ("timezone", w.timezone),
        ("interests", w.interests),
        ("rating", w.rating),
    ] {
        if !(0..=100).contains(&value) {
            errors.push(FieldError::new(field, "must be between 0 and 100"));
        }
    }
    if errors.is_empty() && w.skills + w.stage + w.timezone + w.interests + w.rating == 0 {
        errors.push(FieldError::new(
            "skills",
            "at least one weight must be above 0",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let saved = recommend::save_weights(
        &auth.tx,
        &auth.ctx,
        Weights {
            skills: w.skills,
            stage: w.stage,
            timezone: w.timezone,
            interests: w.interests,
            rating: w.rating,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(saved.into()))
}
