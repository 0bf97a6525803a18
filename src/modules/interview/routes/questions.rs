//! `/api/v1/interview/questions`: the organization's question bank (`interview:use` reads it,
//! `interview:manage` changes it).

use actix_web::{
    HttpResponse, get, patch, post,
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
    error::{ApiError, ApiResult},
    http::{Page, PageQuery, ValidJson, ValidQuery},
    modules::interview::questions::{self, Question, QuestionFields, QuestionFilter},
    state::AppState,
    tenancy::Tenant,
};

/// A skill a question is tagged with.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionSkill {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewQuestionResponse {
    pub id: Uuid,
    /// `behavioral`, `technical` or `case`.
    pub kind: String,
    pub category: String,
    pub subcategory: String,
    /// 1 (entry) to 5 (executive).
    pub difficulty: i16,
    /// `any`, or the industries it is for.
    pub industries: Vec<String>,
    pub text: String,
    /// What a strong answer contains: the analyzer's coverage dimension checks answers against them.
    pub expected_points: Vec<String>,
    /// `active` or `retired` (no longer offered in new sessions).
    pub status: String,
    /// `starter` (the organization's copy of the bank that ships with Trellis) or `org`.
    pub source: String,
    pub skills: Vec<QuestionSkill>,
    /// Answers given to it in mock interviews, and their average score.
    pub times_answered: i64,
    pub average_score: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Question> for InterviewQuestionResponse {
    fn from(q: Question) -> Self {
        let row = q.question;
        InterviewQuestionResponse {
            id: row.id,
            kind: row.kind,
            category: row.category,
            subcategory: row.subcategory,
            difficulty: row.difficulty,
            industries: row.industries,
            text: row.text,
            expected_points: row.expected_points,
            status: row.status,
            source: if row.starter_key.is_some() {
                "starter"
            } else {
                "org"
            }
            .into(),
            skills: q
                .skills
                .into_iter()
                .map(|s| QuestionSkill {
                    id: s.skill_id,
                    name: s.name,
                })
                .collect(),
            times_answered: row.times_answered,
            average_score: row.average_score,
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuestionsQuery {
    /// Part of the text, category or subcategory (case-insensitive).
    pub q: Option<String>,
    /// `behavioral`, `technical` or `case`.
    pub kind: Option<String>,
    /// 1 to 5.
    pub difficulty: Option<i64>,
    /// A category, case aside.
    pub category: Option<String>,
    /// Questions for this industry and those for any industry.
    pub industry: Option<String>,
    /// Questions tagged with this skill or competency.
    pub skill_id: Option<Uuid>,
    /// `starter` or `org`.
    pub source: Option<String>,
    /// `active` (the default) or `retired`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "behavioral", "category": "Customer Focus", "subcategory": "Escalations", "difficulty": 3, "industries": ["retail"], "text": "Tell me about a time you turned an angry customer into a loyal one.", "expected_points": ["customer need understood", "ownership of the fix", "relationship outcome"], "skill_ids": []}))]
pub struct CreateQuestionRequest {
    pub kind: String,
    pub category: String,
    #[serde(default)]
    pub subcategory: String,
    pub difficulty: i64,
    /// Default `["any"]`.
    pub industries: Option<Vec<String>>,
    /// 10 to 1000 characters.
    pub text: String,
    /// At most 10 short phrases.
    #[serde(default)]
    pub expected_points: Vec<String>,
    /// The organization's skills or competencies it practises (at most 10).
    #[serde(default)]
    pub skill_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "retired"}))]
pub struct UpdateQuestionRequest {
    pub kind: Option<String>,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub difficulty: Option<i64>,
    pub industries: Option<Vec<String>>,
    pub text: Option<String>,
    pub expected_points: Option<Vec<String>>,
    /// `active` or `retired`.
    pub status: Option<String>,
    /// Replaces the whole list.
    pub skill_ids: Option<Vec<Uuid>>,
}

/// The organization's interview questions, by text.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(ListQuestionsQuery, PageQuery),
    responses((status = 200, description = "A page of questions", body = Page<InterviewQuestionResponse>))
)]
#[get("/interview/questions")]
pub async fn list_questions(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<ListQuestionsQuery>,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<InterviewQuestionResponse>>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let query = query.into_inner();
    let page = page.parse::<(String, Uuid)>()?;
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::validation("q", "must be at most 200 characters"));
    }
    let filter = QuestionFilter {
        search: query.q,
        kind: query.kind,
        difficulty: query.difficulty,
        category: query.category,
        industry: query.industry,
        skill_id: query.skill_id,
        source: query.source,
        status: query.status,
    };
    let rows = questions::list(&auth.tx, &filter, &page).await?;
    auth.tx.commit().await?;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |q| (q.question.text.to_lowercase(), q.question.id),
        InterviewQuestionResponse::from,
    )))
}

/// One question.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("question_id" = Uuid, Path, description = "The question's id")),
    responses((status = 200, description = "The question", body = InterviewQuestionResponse))
)]
#[get("/interview/questions/{question_id}")]
pub async fn get_question(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    question_id: Path<Uuid>,
) -> ApiResult<Json<InterviewQuestionResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let question = questions::get(&auth.tx, *question_id).await?;
    auth.tx.commit().await?;
    Ok(Json(question.into()))
}

/// Adds a question to the organization's bank.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    request_body = CreateQuestionRequest,
    responses(
        (status = 201, description = "Created", body = InterviewQuestionResponse),
        (status = 409, description = "The organization has this question", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/questions")]
pub async fn create_question(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreateQuestionRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let body = body.into_inner();
    let question = questions::create(
        &auth.tx,
        &auth.ctx,
        QuestionFields {
            kind: Some(body.kind),
            category: Some(body.category),
            subcategory: Some(body.subcategory),
            difficulty: Some(body.difficulty),
            industries: body.industries,
            text: Some(body.text),
            expected_points: Some(body.expected_points),
            status: None,
            skill_ids: Some(body.skill_ids),
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(InterviewQuestionResponse::from(question)))
}

/// Changes a question, retires it (no longer offered) or restores it.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("question_id" = Uuid, Path, description = "The question's id")),
    request_body = UpdateQuestionRequest,
    responses(
        (status = 200, description = "Changed", body = InterviewQuestionResponse),
        (status = 409, description = "Another of the organization's questions has this text", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/interview/questions/{question_id}")]
pub async fn update_question(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    question_id: Path<Uuid>,
    body: ValidJson<UpdateQuestionRequest>,
) -> ApiResult<Json<InterviewQuestionResponse>> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let body = body.into_inner();
    let question = questions::update(
        &auth.tx,
        &auth.ctx,
        *question_id,
        QuestionFields {
            kind: body.kind,
            category: body.category,
            subcategory: body.subcategory,
            difficulty: body.difficulty,
            industries: body.industries,
            text: body.text,
            expected_points: body.expected_points,
            status: body.status,
            skill_ids: body.skill_ids,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(question.into()))
}
