//! `/api/v1/career/me`, `/api/v1/career/people/{member_id}` and `/api/v1/career/team`: skill profiles,
//! ratings, positions, and the views built on them.

use actix_web::{
    HttpResponse, delete, get, post, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{NamedRef, goals::GoalResponse, open_member};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::ValidJson,
    modules::career::{
        goals, milestones, pathways,
        profiles::{self, MemberRef, NewRating, OwnChange, ProfileSkill, Relation},
        readiness::{Contribution, Gap, Source},
    },
    state::AppState,
    tenancy::TenantTx,
};

/// Gaps `/career/me` and the team view list, at most.
const TOP_GAPS: usize = 5;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberSummary {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub manager_id: Option<Uuid>,
}

impl From<MemberRef> for MemberSummary {
    fn from(m: MemberRef) -> Self {
        MemberSummary {
            id: m.id,
            email: m.email,
            display_name: m.display_name,
            title: m.title,
            department: m.department,
            manager_id: m.manager_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileSkillResponse {
    pub skill: NamedRef,
    /// `skill` or `competency`.
    pub kind: String,
    /// The skill's status in the taxonomy: a retired skill stays on profiles.
    pub status: String,
    pub want_to_develop: bool,
    pub added_at: DateTime<Utc>,
    /// The effective level, 0 to 5 (docs/career.md): `sum(weight × freshness × level) / sum(weight)`.
    pub level: f64,
    /// Every rating, newest first, with how it entered the level.
    pub ratings: Vec<Contribution>,
}

impl From<ProfileSkill> for ProfileSkillResponse {
    fn from(s: ProfileSkill) -> Self {
        ProfileSkillResponse {
            skill: NamedRef {
                id: s.skill_id,
                name: s.name,
            },
            kind: s.kind,
            status: s.status,
            want_to_develop: s.want_to_develop,
            added_at: s.added_at.to_utc(),
            level: s.effective.level,
            ratings: s.effective.contributions,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionResponse {
    pub id: Uuid,
    pub role: NamedRef,
    pub started_on: NaiveDate,
    /// Null while held.
    pub ended_on: Option<NaiveDate>,
}

impl From<pathways::PositionRow> for PositionResponse {
    fn from(p: pathways::PositionRow) -> Self {
        PositionResponse {
            id: p.id,
            role: NamedRef {
                id: p.role_id,
                name: p.title,
            },
            started_on: p.started_on,
            ended_on: p.ended_on,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CareerProfileResponse {
    pub member: MemberSummary,
    /// Why the caller sees it: `own`, `manager` (a direct report) or `reader` (career:read).
    pub relation: String,
    /// The career role held now.
    pub position: Option<PositionResponse>,
    /// Every position, the current one first.
    pub positions: Vec<PositionResponse>,
    pub skills: Vec<ProfileSkillResponse>,
    /// The active goal, with its readiness.
    pub goal: Option<GoalResponse>,
    /// The active goal's largest gaps (at most 5), each with the courses that teach the skill.
    pub top_gaps: Vec<Gap>,
    /// Points of the verified milestones.
    pub milestone_points: i64,
}

fn relation_name(relation: Relation) -> &'static str {
    match relation {
        Relation::Own => "own",
        Relation::Manager => "manager",
        Relation::Reader => "reader",
    }
}

async fn profile(
    tx: &TenantTx,
    member: MemberRef,
    relation: Relation,
    now: DateTime<Utc>,
) -> ApiResult<CareerProfileResponse> {
    let skills = profiles::skills(tx, member.id, now).await?;
    let levels = profiles::levels(&skills);
    let positions = pathways::positions(tx, member.id).await?;
    let goal = match goals::active(tx, member.id).await? {
        Some(row) => {
            let readiness = pathways::readiness_for(tx, row.target_role_id, &levels).await?;
            Some(GoalResponse::new(row, Some(readiness)))
        }
        None => None,
    };
    let top_gaps = goal
        .as_ref()
        .and_then(|g| g.readiness.as_ref())
        .map(|r| r.gaps.iter().take(TOP_GAPS).cloned().collect())
        .unwrap_or_default();
    let positions: Vec<PositionResponse> = positions.into_iter().map(Into::into).collect();
    let milestone_points = milestones::verified_points(tx, member.id).await?;
    Ok(CareerProfileResponse {
        member: member.into(),
        relation: relation_name(relation).into(),
        position: positions
            .iter()
            .find(|p| p.ended_on.is_none())
            .map(|p| PositionResponse {
                id: p.id,
                role: p.role.clone(),
                started_on: p.started_on,
                ended_on: None,
            }),
        positions,
        skills: skills.into_iter().map(Into::into).collect(),
        goal,
        top_gaps,
        milestone_points,
    })
}

/// The caller's career: skills with effective levels, position, active goal with readiness and top gaps.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's career profile", body = CareerProfileResponse))
)]
#[get("/career/me")]
pub async fn my_career(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<CareerProfileResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let member = profiles::member(&auth.tx, user.as_uuid()).await?;
    let response = profile(&auth.tx, member, Relation::Own, auth.ctx.now).await?;
    auth.tx.commit().await?;
    Ok(Json(response))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"level": 3, "want_to_develop": true, "note": "Shipped two services in it"}))]
pub struct PutMySkillRequest {
    /// A self rating, 1 to 5 (each one is kept; the latest counts).
    pub level: Option<i64>,
    pub want_to_develop: Option<bool>,
    #[serde(default)]
    pub note: String,
}

/// Adds a skill to the caller's profile, rates it, or marks it "want to develop".
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("skill_id" = Uuid, Path, description = "The skill's id")),
    request_body = PutMySkillRequest,
    responses((status = 200, description = "The caller's profile", body = CareerProfileResponse))
)]
#[put("/career/me/skills/{skill_id}")]
pub async fn put_my_skill(
    state: Data<AppState>,
    token: AccessToken,
    skill_id: Path<Uuid>,
    body: ValidJson<PutMySkillRequest>,
) -> ApiResult<Json<CareerProfileResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    if body.level.is_none() && body.want_to_develop.is_none() {
        return Err(ApiError::validation(
            "level",
            "give a level, want_to_develop, or both",
        ));
    }
    let rating = body
        .level
        .map(|level| NewRating::parse(level, Source::SelfRated, &body.note))
        .transpose()?;
    profiles::set_own_skill(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *skill_id,
        OwnChange {
            rating,
            want_to_develop: body.want_to_develop,
        },
    )
    .await?;
    let member = profiles::member(&auth.tx, user.as_uuid()).await?;
    let response = profile(&auth.tx, member, Relation::Own, auth.ctx.now).await?;
    auth.tx.commit().await?;
    Ok(Json(response))
}

/// Takes a skill off the caller's profile, with all its ratings.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("skill_id" = Uuid, Path, description = "The skill's id")),
    responses((status = 204, description = "Removed"))
)]
#[delete("/career/me/skills/{skill_id}")]
pub async fn remove_my_skill(
    state: Data<AppState>,
    token: AccessToken,
    skill_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    profiles::remove_own_skill(&auth.tx, &auth.ctx, user.as_uuid(), *skill_id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A member's career profile: for the member, their manager, and holders of career:read.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 200, description = "The member's career profile", body = CareerProfileResponse))
)]
#[get("/career/people/{member_id}")]
pub async fn get_career_profile(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<Json<CareerProfileResponse>> {
    let auth = token.open(&state).await?;
    let (member, relation) = open_member(&state, &auth, *member_id).await?;
    let response = profile(&auth.tx, member, relation, auth.ctx.now).await?;
    auth.tx.commit().await?;
    Ok(Json(response))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"skill_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "level": 4, "source": "manager", "note": "Led the migration"}))]
pub struct RateMemberRequest {
    pub skill_id: Uuid,
    pub level: i64,
    /// `manager` (the member's manager only), `peer` (another member), or `assessment` (career:manage:
    /// an assessment's result).
    pub source: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingCreatedResponse {
    pub id: Uuid,
    /// The member's effective level of the skill after this rating.
    pub level: f64,
}

/// Rates a member's skill as their manager, as a peer, or records an assessment's result.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    request_body = RateMemberRequest,
    responses(
        (status = 201, description = "Recorded", body = RatingCreatedResponse),
        (status = 403, description = "Not the member's manager, or not allowed to record assessments", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/people/{member_id}/ratings")]
pub async fn rate_member(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
    body: ValidJson<RateMemberRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let body = body.into_inner();
    let source = Source::parse(&body.source)
        .ok_or_else(|| ApiError::validation("source", "must be manager, peer or assessment"))?;
    let rating = NewRating::parse(body.level, source, &body.note)?;
    let member = profiles::member(&auth.tx, *member_id).await?;
    let id = profiles::rate(&state.authz, &auth, &member, body.skill_id, rating).await?;
    let level = profiles::skills(&auth.tx, member.id, auth.ctx.now)
        .await?
        .iter()
        .find(|s| s.skill_id == body.skill_id)
        .map_or(0.0, |s| s.effective.level);
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(RatingCreatedResponse { id, level }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "started_on": "2026-10-01"}))]
pub struct PutPositionRequest {
    /// The career role the member holds from `started_on`.
    pub role_id: Uuid,
    pub started_on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionsResponse {
    /// The current one first.
    pub items: Vec<PositionResponse>,
}

/// Records the career role a member holds from a date (career:manage); the previous one ends that day.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    request_body = PutPositionRequest,
    responses((status = 200, description = "The member's positions", body = PositionsResponse))
)]
#[put("/career/people/{member_id}/position")]
pub async fn put_position(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
    body: ValidJson<PutPositionRequest>,
) -> ApiResult<Json<PositionsResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let member = profiles::member(&auth.tx, *member_id).await?;
    let rows = pathways::set_position(
        &auth.tx,
        &auth.ctx,
        member.id,
        body.role_id,
        body.started_on,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(PositionsResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberResponse {
    pub member: MemberSummary,
    pub position: Option<PositionResponse>,
    /// Skills on the profile, and how many of them the member wants to develop.
    pub skills: usize,
    pub want_to_develop: usize,
    /// The active goal's target and readiness, if there is one.
    pub goal: Option<NamedRef>,
    pub readiness: Option<u8>,
    /// The goal's largest gaps (at most 5).
    pub top_gaps: Vec<Gap>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamResponse {
    /// The caller's direct reports (active members), by name.
    pub items: Vec<TeamMemberResponse>,
}

/// A manager's view: each direct report's position, goal, readiness and top gaps.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's direct reports", body = TeamResponse))
)]
#[get("/career/team")]
pub async fn my_team(state: Data<AppState>, token: AccessToken) -> ApiResult<Json<TeamResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let mut items = Vec::new();
    for member in profiles::direct_reports(&auth.tx, user.as_uuid()).await? {
        let skills = profiles::skills(&auth.tx, member.id, auth.ctx.now).await?;
        let levels = profiles::levels(&skills);
        let position = pathways::positions(&auth.tx, member.id)
            .await?
            .into_iter()
            .find(|p| p.ended_on.is_none())
            .map(Into::into);
        let (goal, readiness, top_gaps) = match goals::active(&auth.tx, member.id).await? {
            Some(goal) => {
                let readiness =
                    pathways::readiness_for(&auth.tx, goal.target_role_id, &levels).await?;
                (
                    Some(NamedRef {
                        id: goal.target_role_id,
                        name: goal.target_role_title,
                    }),
                    Some(readiness.score),
                    readiness.gaps.into_iter().take(TOP_GAPS).collect(),
                )
            }
            None => (None, None, Vec::new()),
        };
        items.push(TeamMemberResponse {
            member: member.into(),
            position,
            want_to_develop: skills.iter().filter(|s| s.want_to_develop).count(),
            skills: skills.len(),
            goal,
            readiness,
            top_gaps,
        });
    }
    auth.tx.commit().await?;
    Ok(Json(TeamResponse { items }))
}
