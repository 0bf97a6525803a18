//! `/api/v1/career/me/milestones` (the caller's) and `/api/v1/career/people/{member_id}/milestones`
//! (a member's, and the manager's or HR's verification).

use actix_web::{
    HttpResponse, delete, get, patch, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{NamedRef, career_access, open_member};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::ApiResult,
    http::ValidJson,
    modules::career::{
        CareerError,
        milestones::{self, MilestoneFields, MilestoneRow, Verdict},
        profiles::{self, Relation},
    },
    state::AppState,
    tenancy::TenantTx,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct MilestoneResponse {
    pub id: Uuid,
    pub member_id: Uuid,
    /// `job_secured`, `certification_earned` or `skill_mastered`.
    pub kind: String,
    pub title: String,
    pub description: String,
    pub skill: Option<NamedRef>,
    pub role: Option<NamedRef>,
    pub achieved_on: NaiveDate,
    pub evidence_url: Option<String>,
    /// What the kind is worth; counted once `verified`.
    pub points: i32,
    /// `pending`, `verified` or `rejected`.
    pub status: String,
    pub reviewed_by: Option<NamedRef>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MilestoneRow> for MilestoneResponse {
    fn from(m: MilestoneRow) -> Self {
        MilestoneResponse {
            id: m.id,
            member_id: m.user_id,
            kind: m.kind,
            title: m.title,
            description: m.description,
            skill: m.skill_id.map(|id| NamedRef {
                id,
                name: m.skill_name.unwrap_or_default(),
            }),
            role: m.role_id.map(|id| NamedRef {
                id,
                name: m.role_title.unwrap_or_default(),
            }),
            achieved_on: m.achieved_on,
            evidence_url: m.evidence_url,
            points: m.points,
            status: m.status,
            reviewed_by: m.reviewed_by.map(|id| NamedRef {
                id,
                name: m.reviewer_name.unwrap_or_default(),
            }),
            reviewed_at: m.reviewed_at.map(|t| t.to_utc()),
            review_note: m.review_note,
            created_at: m.created_at.to_utc(),
            updated_at: m.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MilestonesResponse {
    /// Points of the verified milestones.
    pub points: i64,
    /// The latest achieved first (at most 500).
    pub items: Vec<MilestoneResponse>,
}

async fn listing(tx: &TenantTx, member: Uuid) -> ApiResult<MilestonesResponse> {
    Ok(MilestonesResponse {
        points: milestones::verified_points(tx, member).await?,
        items: milestones::list(tx, member)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "certification_earned", "title": "CKA: Certified Kubernetes Administrator", "achieved_on": "2026-11-02", "evidence_url": "https://certs.example.org/cka/123"}))]
pub struct CreateMilestoneRequest {
    /// `job_secured` (100 points), `certification_earned` (50) or `skill_mastered` (30).
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The skill (required for `skill_mastered`).
    pub skill_id: Option<Uuid>,
    /// The career role (for `job_secured`).
    pub role_id: Option<Uuid>,
    /// Not in the future.
    pub achieved_on: NaiveDate,
    pub evidence_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"evidence_url": "https://certs.example.org/cka/123"}))]
pub struct UpdateMilestoneRequest {
    pub kind: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Uuid>)]
    pub skill_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Uuid>)]
    pub role_id: Option<Option<Uuid>>,
    pub achieved_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>)]
    pub evidence_url: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "verified", "note": "Saw the certificate"}))]
pub struct ReviewMilestoneRequest {
    /// `verified` or `rejected`.
    pub decision: String,
    #[serde(default)]
    pub note: String,
}

/// The caller's milestones and verified points.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "The milestones", body = MilestonesResponse))
)]
#[get("/career/me/milestones")]
pub async fn list_my_milestones(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<MilestonesResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let response = listing(&auth.tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    Ok(Json(response))
}

/// Records a milestone; it waits for the manager's (or HR's) verification.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    request_body = CreateMilestoneRequest,
    responses((status = 201, description = "Recorded, pending verification", body = MilestoneResponse))
)]
#[post("/career/me/milestones")]
pub async fn create_my_milestone(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateMilestoneRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = milestones::create(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        MilestoneFields {
            kind: Some(body.kind),
            title: Some(body.title),
            description: Some(body.description),
            skill_id: Some(body.skill_id),
            role_id: Some(body.role_id),
            achieved_on: Some(body.achieved_on),
            evidence_url: Some(body.evidence_url),
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(MilestoneResponse::from(row)))
}

/// Changes a milestone still pending (409 `milestone_reviewed` once reviewed).
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("milestone_id" = Uuid, Path, description = "The milestone's id")),
    request_body = UpdateMilestoneRequest,
    responses(
        (status = 200, description = "Changed", body = MilestoneResponse),
        (status = 409, description = "Reviewed already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/career/me/milestones/{milestone_id}")]
pub async fn update_my_milestone(
    state: Data<AppState>,
    token: AccessToken,
    milestone_id: Path<Uuid>,
    body: ValidJson<UpdateMilestoneRequest>,
) -> ApiResult<Json<MilestoneResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = milestones::update(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *milestone_id,
        MilestoneFields {
            kind: body.kind,
            title: body.title,
            description: body.description,
            skill_id: body.skill_id,
            role_id: body.role_id,
            achieved_on: body.achieved_on,
            evidence_url: body.evidence_url,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// Deletes one of the caller's milestones (a verified one's points go with it).
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("milestone_id" = Uuid, Path, description = "The milestone's id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/career/me/milestones/{milestone_id}")]
pub async fn delete_my_milestone(
    state: Data<AppState>,
    token: AccessToken,
    milestone_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    milestones::delete(&auth.tx, &auth.ctx, user.as_uuid(), *milestone_id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A member's milestones: for the member, their manager, and holders of career:read.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 200, description = "The milestones", body = MilestonesResponse))
)]
#[get("/career/people/{member_id}/milestones")]
pub async fn list_member_milestones(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<Json<MilestonesResponse>> {
    let auth = token.open(&state).await?;
    let (member, _) = open_member(&state, &auth, *member_id).await?;
    let response = listing(&auth.tx, member.id).await?;
    auth.tx.commit().await?;
    Ok(Json(response))
}

/// Verifies or rejects a member's pending milestone: their manager, or HR (career:manage); never the
/// member.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(
        ("member_id" = Uuid, Path, description = "The member's id"),
        ("milestone_id" = Uuid, Path, description = "The milestone's id"),
    ),
    request_body = ReviewMilestoneRequest,
    responses(
        (status = 200, description = "Reviewed", body = MilestoneResponse),
        (status = 403, description = "Not the member's manager nor HR, or your own milestone", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Reviewed already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/people/{member_id}/milestones/{milestone_id}/review")]
pub async fn review_milestone(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<ReviewMilestoneRequest>,
) -> ApiResult<Json<MilestoneResponse>> {
    let (member_id, milestone_id) = path.into_inner();
    let auth = token.open(&state).await?;
    career_access(&state, &auth).await?;
    // The member's manager, or whoever holds career:manage (HR), even without career:read.
    let (member, relation) =
        profiles::relation_if_any(&auth.tx, &state.authz, &auth, member_id).await?;
    let relation = match relation {
        Some(own_or_manager @ (Relation::Own | Relation::Manager)) => own_or_manager,
        _ if state
            .authz
            .require(&auth, Obj::Career, Act::Manage)
            .await
            .is_ok() =>
        {
            Relation::Reader
        }
        _ => {
            return Err(CareerError::not_allowed(
                "not_your_report",
                "a member's milestones are verified by their manager or by HR (career:manage)",
            )
            .into());
        }
    };
    let (reviewer, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = milestones::review(
        &auth.tx,
        &auth.ctx,
        reviewer.as_uuid(),
        (&member, relation),
        milestone_id,
        Verdict {
            decision: &body.decision,
            note: &body.note,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}
