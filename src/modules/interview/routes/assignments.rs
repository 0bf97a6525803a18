//! `/api/v1/interview/assignments` (practice HR or a manager gives) and
//! `/api/v1/interview/me/assignments` (the caller's).

use actix_web::{
    HttpResponse, get, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::open;
use crate::{
    auth::{AccessToken, Authenticated},
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::ValidJson,
    modules::{
        career::profiles,
        interview::assignments::{self, AssignmentRow, NewAssignment},
    },
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentMember {
    pub id: Uuid,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewAssignmentResponse {
    pub id: Uuid,
    pub member: AssignmentMember,
    pub assigned_by: Option<Uuid>,
    pub title: String,
    pub kind: Option<String>,
    pub difficulty: Option<i16>,
    pub category: Option<String>,
    pub question_count: i16,
    pub due_on: NaiveDate,
    pub max_attempts: i16,
    /// Sessions started for it.
    pub attempts: i64,
    /// `open`, `overdue`, `exhausted` (every attempt used), `completed` or `cancelled`.
    pub state: String,
    /// The best completed attempt's score.
    pub best_score: Option<i16>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl InterviewAssignmentResponse {
    fn new(row: AssignmentRow, today: NaiveDate) -> InterviewAssignmentResponse {
        InterviewAssignmentResponse {
            state: assignments::state(&row, today).into(),
            id: row.id,
            member: AssignmentMember {
                id: row.user_id,
                display_name: row.member_name,
            },
            assigned_by: row.assigned_by,
            title: row.title,
            kind: row.kind,
            difficulty: row.difficulty,
            category: row.category,
            question_count: row.question_count,
            due_on: row.due_on,
            max_attempts: row.max_attempts,
            attempts: row.attempts,
            best_score: row.best_score,
            completed_at: row.completed_at.map(|t| t.to_utc()),
            created_at: row.created_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewAssignmentsResponse {
    pub items: Vec<InterviewAssignmentResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"member_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "title": "Practise for the team lead panel", "kind": "behavioral", "question_count": 4, "due_on": "2027-01-15", "max_attempts": 3}))]
pub struct CreateAssignmentRequest {
    pub member_id: Uuid,
    pub title: String,
    pub kind: Option<String>,
    pub difficulty: Option<i64>,
    pub category: Option<String>,
    /// 1 to 10 (default 5).
    pub question_count: Option<i64>,
    /// Not in the past.
    pub due_on: NaiveDate,
    /// 1 to 10 (default 3).
    pub max_attempts: Option<i64>,
}

fn listing(rows: Vec<AssignmentRow>, today: NaiveDate) -> InterviewAssignmentsResponse {
    InterviewAssignmentsResponse {
        items: rows
            .into_iter()
            .map(|r| InterviewAssignmentResponse::new(r, today))
            .collect(),
    }
}

/// Whether the caller may give or change `member`'s assignments: HR (`interview:manage`) for anyone,
/// a manager for their direct reports.
async fn may_assign(
    state: &AppState,
    auth: &Authenticated,
    manager_of_member: Option<Uuid>,
) -> bool {
    let caller = auth.principal.user_id().map(|u| u.as_uuid());
    (caller.is_some() && manager_of_member == caller)
        || state
            .authz
            .require(auth, Obj::Interview, Act::Manage)
            .await
            .is_ok()
}

/// Assigns practice to a member: HR (interview:manage) for anyone, a manager for a direct report.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    request_body = CreateAssignmentRequest,
    responses(
        (status = 201, description = "Assigned", body = InterviewAssignmentResponse),
        (status = 403, description = "Neither HR nor the member's manager", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/assignments")]
pub async fn create_assignment(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreateAssignmentRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (caller, _) = auth.principal.user()?;
    let body = body.into_inner();
    let member = profiles::member(&auth.tx, body.member_id)
        .await
        .map_err(|_| ApiError::validation("member_id", "is not a member of this organization"))?;
    if !may_assign(&state, &auth, member.manager_id).await {
        return Err(ApiError::forbidden(
            "not_your_report",
            "practice is assigned by HR or by the member's manager",
        ));
    }
    if member.status != "active" {
        return Err(ApiError::conflict(
            "member_inactive",
            "the member is not active",
        ));
    }
    let row = assignments::create(
        &auth.tx,
        &auth.ctx,
        caller.as_uuid(),
        NewAssignment {
            member_id: member.id,
            title: body.title,
            kind: body.kind,
            difficulty: body.difficulty,
            category: body.category,
            question_count: body.question_count,
            due_on: body.due_on,
            max_attempts: body.max_attempts,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(
        HttpResponse::Created().json(InterviewAssignmentResponse::new(
            row,
            auth.ctx.now.date_naive(),
        )),
    )
}

/// The assignments the caller gave; every assignment of the organization for interview:manage.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    responses((status = 200, description = "The assignments, newest first", body = InterviewAssignmentsResponse))
)]
#[get("/interview/assignments")]
pub async fn list_assignments(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<InterviewAssignmentsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (caller, _) = auth.principal.user()?;
    let everyone = state
        .authz
        .require(&auth, Obj::Interview, Act::Manage)
        .await
        .is_ok();
    let rows = assignments::given(&auth.tx, (!everyone).then(|| caller.as_uuid())).await?;
    auth.tx.commit().await?;
    Ok(Json(listing(rows, auth.ctx.now.date_naive())))
}

/// The caller's assignments, the nearest due first.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's assignments", body = InterviewAssignmentsResponse))
)]
#[get("/interview/me/assignments")]
pub async fn my_assignments(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<InterviewAssignmentsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (caller, _) = auth.principal.user()?;
    let rows = assignments::of_member(&auth.tx, caller.as_uuid()).await?;
    auth.tx.commit().await?;
    Ok(Json(listing(rows, auth.ctx.now.date_naive())))
}

/// Cancels an assignment: whoever gave it, the member's manager, or HR (404 for anyone else).
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("assignment_id" = Uuid, Path, description = "The assignment's id")),
    responses(
        (status = 200, description = "Cancelled", body = InterviewAssignmentResponse),
        (status = 409, description = "Completed or cancelled already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/assignments/{assignment_id}/cancel")]
pub async fn cancel_assignment(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    assignment_id: Path<Uuid>,
) -> ApiResult<Json<InterviewAssignmentResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (caller, _) = auth.principal.user()?;
    let row = assignments::get(&auth.tx, *assignment_id).await?;
    let member = profiles::member(&auth.tx, row.user_id).await?;
    let gave_it = row.assigned_by == Some(caller.as_uuid());
    if !gave_it && !may_assign(&state, &auth, member.manager_id).await {
        return Err(ApiError::not_found());
    }
    let cancelled = assignments::cancel(&auth.tx, &auth.ctx, &row).await?;
    auth.tx.commit().await?;
    Ok(Json(InterviewAssignmentResponse::new(
        cancelled,
        auth.ctx.now.date_naive(),
    )))
}
