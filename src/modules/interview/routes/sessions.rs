//! `/api/v1/interview/sessions` and `/api/v1/interview/progress`: the caller's mock interviews, their
//! answers and analyses, and progress across them (`interview:use`).

use actix_web::{
    HttpResponse, get, post, put,
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
    modules::interview::{
        analysis::Analysis,
        progress::{self, Progress},
        sessions::{self, NewSession, Session, SessionRow},
    },
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewSessionSummary {
    pub id: Uuid,
    /// `pending`, `in_progress`, `completed` or `abandoned`.
    pub status: String,
    /// `behavioral`, `technical`, `case`, or null for any.
    pub kind: Option<String>,
    pub difficulty: Option<i16>,
    pub category: Option<String>,
    pub target_role_id: Option<Uuid>,
    /// The assignment this session is an attempt at.
    pub assignment_id: Option<Uuid>,
    pub time_limit_minutes: i32,
    pub questions: i64,
    pub answered: i64,
    /// The mean of the answers' scores, once completed.
    pub score: Option<i16>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// While in progress: the seconds left (0 when the time is up).
    pub seconds_left: Option<i64>,
}

impl InterviewSessionSummary {
    fn new(s: SessionRow, now: DateTime<Utc>) -> InterviewSessionSummary {
        InterviewSessionSummary {
            seconds_left: sessions::seconds_left(&s, now),
            id: s.id,
            status: s.status,
            kind: s.kind,
            difficulty: s.difficulty,
            category: s.category,
            target_role_id: s.target_role_id,
            assignment_id: s.assignment_id,
            time_limit_minutes: s.time_limit_minutes,
            questions: s.questions,
            answered: s.answered,
            score: s.score,
            created_at: s.created_at.to_utc(),
            started_at: s.started_at.map(|t| t.to_utc()),
            expires_at: s.expires_at.map(|t| t.to_utc()),
            ended_at: s.ended_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewSessionQuestionResponse {
    pub position: i16,
    pub question_id: Uuid,
    pub kind: String,
    pub category: String,
    pub subcategory: String,
    pub difficulty: i16,
    pub text: String,
    pub answer: Option<String>,
    pub recording_url: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub score: Option<i16>,
    /// The analysis of the answer (dimensions, suggestions, tagged sentences).
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewSessionResponse {
    pub session: InterviewSessionSummary,
    pub questions: Vec<InterviewSessionQuestionResponse>,
}

impl InterviewSessionResponse {
    fn new(s: Session, now: DateTime<Utc>) -> InterviewSessionResponse {
        InterviewSessionResponse {
            session: InterviewSessionSummary::new(s.session, now),
            questions: s
                .questions
                .into_iter()
                .map(|q| InterviewSessionQuestionResponse {
                    position: q.position,
                    question_id: q.question_id,
                    kind: q.kind,
                    category: q.category,
                    subcategory: q.subcategory,
                    difficulty: q.difficulty,
                    text: q.text,
                    answer: q.answer,
                    recording_url: q.recording_url,
                    answered_at: q.answered_at.map(|t| t.to_utc()),
                    score: q.score,
                    analysis: q.analysis,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewSessionsResponse {
    /// Newest first (at most 100).
    pub items: Vec<InterviewSessionSummary>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "behavioral", "difficulty": 3, "question_count": 3, "time_limit_minutes": 20}))]
pub struct CreateInterviewSessionRequest {
    /// `behavioral`, `technical` or `case`; absent for any.
    pub kind: Option<String>,
    /// 1 to 5; absent for any.
    pub difficulty: Option<i64>,
    /// A category, case aside.
    pub category: Option<String>,
    /// Questions tagged with the role's required skills come first.
    pub target_role_id: Option<Uuid>,
    /// 1 to 10 (default 5).
    pub question_count: Option<i64>,
    /// 5 to 240 (default 5 per question).
    pub time_limit_minutes: Option<i64>,
    /// An attempt at one of your assignments: it sets the type, difficulty, category and number of
    /// questions (give none of them).
    pub assignment_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answer": "Last year I led the migration of our billing system. My goal was to cut failed payments. First I analyzed the logs... As a result, failures fell by 80%."}))]
pub struct InterviewAnswerRequest {
    /// The answer as text (a transcript), at most 20,000 characters.
    pub answer: String,
    /// Where a recording of the answer is kept (http or https).
    pub recording_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewAnswerResponse {
    pub analysis: Analysis,
    pub session: InterviewSessionSummary,
}

/// The caller's mock interviews.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    responses((status = 200, description = "The sessions", body = InterviewSessionsResponse))
)]
#[get("/interview/sessions")]
pub async fn list_sessions(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<InterviewSessionsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let rows = sessions::list(&auth.tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    let now = auth.ctx.now;
    Ok(Json(InterviewSessionsResponse {
        items: rows
            .into_iter()
            .map(|r| InterviewSessionSummary::new(r, now))
            .collect(),
    }))
}

/// Creates a mock interview: the questions are chosen now (weakest dimensions first, none asked in
/// the last 30 days while others are left, the target role's skills first); it waits to be started.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    request_body = CreateInterviewSessionRequest,
    responses(
        (status = 201, description = "Created, pending", body = InterviewSessionResponse),
        (status = 422, description = "Invalid, or no question matches", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/sessions")]
pub async fn create_session(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreateInterviewSessionRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let session = sessions::create(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        NewSession {
            kind: body.kind,
            difficulty: body.difficulty,
            category: body.category,
            target_role_id: body.target_role_id,
            question_count: body.question_count,
            time_limit_minutes: body.time_limit_minutes,
            assignment_id: body.assignment_id,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(InterviewSessionResponse::new(session, auth.ctx.now)))
}

/// One of the caller's sessions with its questions, answers and analyses.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("interview_session_id" = Uuid, Path, description = "The session's id")),
    responses((status = 200, description = "The session", body = InterviewSessionResponse))
)]
#[get("/interview/sessions/{interview_session_id}")]
pub async fn get_session(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    session_id: Path<Uuid>,
) -> ApiResult<Json<InterviewSessionResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let session = sessions::get(&auth.tx, user.as_uuid(), *session_id).await?;
    auth.tx.commit().await?;
    Ok(Json(InterviewSessionResponse::new(session, auth.ctx.now)))
}

/// Starts a pending session: its time limit runs from now.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("interview_session_id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 200, description = "Started", body = InterviewSessionResponse),
        (status = 409, description = "Started already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/sessions/{interview_session_id}/start")]
pub async fn start_session(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    session_id: Path<Uuid>,
) -> ApiResult<Json<InterviewSessionResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let session = sessions::start(&auth.tx, &auth.ctx, user.as_uuid(), *session_id).await?;
    auth.tx.commit().await?;
    Ok(Json(InterviewSessionResponse::new(session, auth.ctx.now)))
}

/// Answers (or answers again) the question at `position`; the answer is analysed at once.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(
        ("interview_session_id" = Uuid, Path, description = "The session's id"),
        ("position" = i64, Path, description = "The question's position in the session, from 1"),
    ),
    request_body = InterviewAnswerRequest,
    responses(
        (status = 200, description = "Analysed", body = InterviewAnswerResponse),
        (status = 409, description = "Not running, or the time is up", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/interview/sessions/{interview_session_id}/answers/{position}")]
pub async fn answer_question(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, i64)>,
    body: ValidJson<InterviewAnswerRequest>,
) -> ApiResult<Json<InterviewAnswerResponse>> {
    let (session_id, position) = path.into_inner();
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let (session, analysis) = sessions::answer(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        session_id,
        position,
        &body.answer,
        body.recording_url,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(InterviewAnswerResponse {
        analysis,
        session: InterviewSessionSummary::new(session.session, auth.ctx.now),
    }))
}

/// Completes a running session: its score is the mean of its answers' (at least one).
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("interview_session_id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 200, description = "Completed", body = InterviewSessionResponse),
        (status = 409, description = "Not running, or nothing answered", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/sessions/{interview_session_id}/complete")]
pub async fn complete_session(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    session_id: Path<Uuid>,
) -> ApiResult<Json<InterviewSessionResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let session = sessions::finish(&auth.tx, &auth.ctx, user.as_uuid(), *session_id, true).await?;
    auth.tx.commit().await?;
    Ok(Json(InterviewSessionResponse::new(session, auth.ctx.now)))
}

/// Abandons a pending or running session (not scored).
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("interview_session_id" = Uuid, Path, description = "The session's id")),
    responses(
        (status = 200, description = "Abandoned", body = InterviewSessionResponse),
        (status = 409, description = "Ended already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/sessions/{interview_session_id}/abandon")]
pub async fn abandon_session(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    session_id: Path<Uuid>,
) -> ApiResult<Json<InterviewSessionResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let session = sessions::finish(&auth.tx, &auth.ctx, user.as_uuid(), *session_id, false).await?;
    auth.tx.commit().await?;
    Ok(Json(InterviewSessionResponse::new(session, auth.ctx.now)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewProgressResponse {
    /// Completed sessions counted (the latest 20).
    pub sessions: usize,
    /// Their scores, oldest first.
    pub scores: Vec<Option<i16>>,
    #[serde(flatten)]
    pub progress: Progress,
}

/// The caller's progress: per dimension, the trend across completed sessions; strengths and focus
/// areas of the latest ones.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    responses((status = 200, description = "Progress", body = InterviewProgressResponse))
)]
#[get("/interview/progress")]
pub async fn my_progress(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<InterviewProgressResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let history = sessions::history(&auth.tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    let scores = history.iter().map(|(s, _)| s.score).collect();
    let means: Vec<_> = history.into_iter().map(|(_, m)| m).collect();
    Ok(Json(InterviewProgressResponse {
        sessions: means.len(),
        scores,
        progress: progress::summarise(&means),
    }))
}
