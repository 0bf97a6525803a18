//! `/api/v1/career/me/goals`: the caller's career goals.

use actix_web::{
    HttpResponse, get, patch, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::NamedRef;
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::ApiResult,
    modules::career::{
        goals::{self, GoalChange, GoalRow, NewGoal},
        pathways, profiles,
        readiness::Readiness,
    },
    state::AppState,
    tenancy::TenantTx,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct GoalResponse {
    pub id: Uuid,
    pub target_role: NamedRef,
    pub target_date: Option<NaiveDate>,
    /// `active`, `achieved` or `abandoned`.
    pub status: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The progress of an active goal: the member's readiness for the target role now.
    pub readiness: Option<Readiness>,
}

impl GoalResponse {
    pub fn new(row: GoalRow, readiness: Option<Readiness>) -> GoalResponse {
        GoalResponse {
            id: row.id,
            target_role: NamedRef {
                id: row.target_role_id,
                name: row.target_role_title,
            },
            target_date: row.target_date,
            status: row.status,
            note: row.note,
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
            closed_at: row.closed_at.map(|t| t.to_utc()),
            readiness,
        }
    }
}

/// The goal with its readiness when it is active.
pub async fn goal_response(
    tx: &TenantTx,
    row: GoalRow,
    now: DateTime<Utc>,
) -> ApiResult<GoalResponse> {
    let readiness = if row.status == "active" {
        let skills = profiles::skills(tx, row.user_id, now).await?;
        Some(pathways::readiness_for(tx, row.target_role_id, &profiles::levels(&skills)).await?)
    } else {
        None
    };
    Ok(GoalResponse::new(row, readiness))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoalsResponse {
    /// The active goal first, then the newest (at most 100).
    pub items: Vec<GoalResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"target_role_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "target_date": "2027-06-30", "note": "Lead the platform team"}))]
pub struct CreateGoalRequest {
    pub target_role_id: Uuid,
    pub target_date: Option<NaiveDate>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "achieved"}))]
pub struct UpdateGoalRequest {
    /// A new date, or null to remove it.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<NaiveDate>)]
    pub target_date: Option<Option<NaiveDate>>,
    pub note: Option<String>,
    /// `achieved` or `abandoned` closes the goal.
    pub status: Option<String>,
}

/// The caller's goals.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "The goals", body = GoalsResponse))
)]
#[get("/career/me/goals")]
pub async fn list_my_goals(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<GoalsResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let mut items = Vec::new();
    for row in goals::list(&auth.tx, user.as_uuid()).await? {
        items.push(goal_response(&auth.tx, row, auth.ctx.now).await?);
    }
    auth.tx.commit().await?;
    Ok(Json(GoalsResponse { items }))
}

/// Sets a goal: a career role to reach, by a date. One goal is active at a time.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    request_body = CreateGoalRequest,
    responses(
        (status = 201, description = "Created", body = GoalResponse),
        (status = 409, description = "Another goal is active", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/me/goals")]
pub async fn create_my_goal(
    state: Data<AppState>,
    token: AccessToken,
    body: crate::http::ValidJson<CreateGoalRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = goals::create(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        NewGoal {
            target_role_id: body.target_role_id,
            target_date: body.target_date,
            note: body.note,
        },
    )
    .await?;
    let response = goal_response(&auth.tx, row, auth.ctx.now).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(response))
}

/// Changes the caller's active goal, or closes it as achieved or abandoned.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("goal_id" = Uuid, Path, description = "The goal's id")),
    request_body = UpdateGoalRequest,
    responses(
        (status = 200, description = "Changed", body = GoalResponse),
        (status = 409, description = "The goal is closed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/career/me/goals/{goal_id}")]
pub async fn update_my_goal(
    state: Data<AppState>,
    token: AccessToken,
    goal_id: Path<Uuid>,
    body: crate::http::ValidJson<UpdateGoalRequest>,
) -> ApiResult<Json<GoalResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let row = goals::update(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *goal_id,
        GoalChange {
            target_date: body.target_date,
            note: body.note,
            status: body.status,
        },
    )
    .await?;
    let response = goal_response(&auth.tx, row, auth.ctx.now).await?;
    auth.tx.commit().await?;
    Ok(Json(response))
}
