//! `/api/v1/career/courses` and `/api/v1/career/me/learning`: the course catalogue (`career:manage`
//! keeps it, every member reads it) and the caller's enrolments.

use actix_web::{
    HttpResponse, delete, get, patch, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::NamedRef;
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::{Page, PageQuery, ValidJson, ValidQuery},
    modules::career::learning::{
        self, Course, CourseFields, CourseFilter, EnrolmentChange, EnrolmentRow, Raised,
        TaughtSkill,
    },
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct TaughtSkillResponse {
    pub skill: NamedRef,
    /// The level a member who finished the course can claim.
    pub level: i16,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseResponse {
    pub id: Uuid,
    pub title: String,
    pub provider: String,
    pub url: Option<String>,
    pub description: String,
    pub duration_minutes: Option<i32>,
    /// `active` (offered) or `retired`.
    pub status: String,
    pub skills: Vec<TaughtSkillResponse>,
    /// Members enrolled and not finished.
    pub learners: i64,
    pub completions: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Course> for CourseResponse {
    fn from(c: Course) -> Self {
        CourseResponse {
            id: c.course.id,
            title: c.course.title,
            provider: c.course.provider,
            url: c.course.url,
            description: c.course.description,
            duration_minutes: c.course.duration_minutes,
            status: c.course.status,
            skills: c
                .skills
                .into_iter()
                .map(|s| TaughtSkillResponse {
                    skill: NamedRef {
                        id: s.skill_id,
                        name: s.name,
                    },
                    level: s.level,
                })
                .collect(),
            learners: c.course.learners,
            completions: c.course.completions,
            created_at: c.course.created_at.to_utc(),
            updated_at: c.course.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCoursesQuery {
    /// Part of the title or provider (case-insensitive).
    pub q: Option<String>,
    /// Courses that teach this skill.
    pub skill_id: Option<Uuid>,
    /// `active` (the default) or `retired`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaughtSkillRequest {
    pub skill_id: Uuid,
    /// 1 to 5: the level a finisher reaches.
    pub level: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Rust in Production", "provider": "Internal Academy", "url": "https://academy.example.com/rust", "duration_minutes": 480, "skills": [{"skill_id": "0190a0f4-7c1e-7d2a-9b1e-3f5a6b7c8d9e", "level": 3}]}))]
pub struct CreateCourseRequest {
    pub title: String,
    #[serde(default)]
    pub provider: String,
    /// An `http` or `https` URL.
    pub url: Option<String>,
    #[serde(default)]
    pub description: String,
    pub duration_minutes: Option<i64>,
    /// The skills it teaches (at most 20, each once).
    #[serde(default)]
    pub skills: Vec<TaughtSkillRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "retired"}))]
pub struct UpdateCourseRequest {
    pub title: Option<String>,
    pub provider: Option<String>,
    /// A new URL, or null to remove it.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>)]
    pub url: Option<Option<String>>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<i64>)]
    pub duration_minutes: Option<Option<i64>>,
    /// `active` or `retired`.
    pub status: Option<String>,
    /// Replaces the whole list.
    pub skills: Option<Vec<TaughtSkillRequest>>,
}

fn taught(list: Vec<TaughtSkillRequest>) -> Vec<TaughtSkill> {
    list.into_iter()
        .map(|s| TaughtSkill {
            skill_id: s.skill_id,
            level: s.level,
        })
        .collect()
}

/// The course catalogue, by title.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(ListCoursesQuery, PageQuery),
    responses((status = 200, description = "A page of courses", body = Page<CourseResponse>))
)]
#[get("/career/courses")]
pub async fn list_courses(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ListCoursesQuery>,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<CourseResponse>>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let query = query.into_inner();
    let page = page.parse::<(String, Uuid)>()?;
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::validation("q", "must be at most 200 characters"));
    }
    let filter = CourseFilter {
        search: query.q,
        skill_id: query.skill_id,
        status: query.status,
    };
    let rows = learning::list_courses(&auth.tx, &filter, &page).await?;
    auth.tx.commit().await?;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |c| (c.course.title.to_lowercase(), c.course.id),
        CourseResponse::from,
    )))
}

/// One course.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("course_id" = Uuid, Path, description = "The course's id")),
    responses((status = 200, description = "The course", body = CourseResponse))
)]
#[get("/career/courses/{course_id}")]
pub async fn get_course(
    state: Data<AppState>,
    token: AccessToken,
    course_id: Path<Uuid>,
) -> ApiResult<Json<CourseResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let course = learning::course(&auth.tx, *course_id).await?;
    auth.tx.commit().await?;
    Ok(Json(course.into()))
}

/// Adds a course to the catalogue.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    request_body = CreateCourseRequest,
    responses(
        (status = 201, description = "Created", body = CourseResponse),
        (status = 409, description = "The catalogue has this course from this provider", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/courses")]
pub async fn create_course(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<CreateCourseRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let course = learning::create_course(
        &auth.tx,
        &auth.ctx,
        CourseFields {
            title: Some(body.title),
            provider: Some(body.provider),
            url: Some(body.url),
            description: Some(body.description),
            duration_minutes: Some(body.duration_minutes),
            status: None,
            skills: Some(taught(body.skills)),
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(CourseResponse::from(course)))
}

/// Changes a course, retires it (no longer offered nor listed with gaps; enrolments stay) or restores it.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("course_id" = Uuid, Path, description = "The course's id")),
    request_body = UpdateCourseRequest,
    responses((status = 200, description = "Changed", body = CourseResponse))
)]
#[patch("/career/courses/{course_id}")]
pub async fn update_course(
    state: Data<AppState>,
    token: AccessToken,
    course_id: Path<Uuid>,
    body: ValidJson<UpdateCourseRequest>,
) -> ApiResult<Json<CourseResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    let body = body.into_inner();
    let course = learning::update_course(
        &auth.tx,
        &auth.ctx,
        *course_id,
        CourseFields {
            title: body.title,
            provider: body.provider,
            url: body.url,
            description: body.description,
            duration_minutes: body.duration_minutes,
            status: body.status,
            skills: body.skills.map(taught),
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(course.into()))
}

/// Deletes a course nobody enrolled in (409 `course_in_use` otherwise: retire it).
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("course_id" = Uuid, Path, description = "The course's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Members enrolled in it", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/career/courses/{course_id}")]
pub async fn delete_course(
    state: Data<AppState>,
    token: AccessToken,
    course_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Manage).await?;
    learning::delete_course(&auth.tx, &auth.ctx, *course_id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RaisedResponse {
    pub skill: NamedRef,
    /// The previous self rating (0: none).
    pub from: i16,
    pub to: i16,
}

impl From<Raised> for RaisedResponse {
    fn from(r: Raised) -> Self {
        RaisedResponse {
            skill: NamedRef {
                id: r.skill_id,
                name: r.skill,
            },
            from: r.from,
            to: r.to,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseEnrolmentResponse {
    pub id: Uuid,
    pub course: NamedRef,
    pub provider: String,
    pub url: Option<String>,
    pub duration_minutes: Option<i32>,
    /// `enrolled`, `in_progress`, `completed` or `dropped`.
    pub status: String,
    /// 0 to 100.
    pub progress: i16,
    pub enrolled_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The self ratings this change raised (on completion).
    pub ratings_raised: Vec<RaisedResponse>,
}

impl CourseEnrolmentResponse {
    fn new(row: EnrolmentRow, raised: Vec<Raised>) -> CourseEnrolmentResponse {
        CourseEnrolmentResponse {
            id: row.id,
            course: NamedRef {
                id: row.course_id,
                name: row.title,
            },
            provider: row.provider,
            url: row.url,
            duration_minutes: row.duration_minutes,
            status: row.status,
            progress: row.progress,
            enrolled_at: row.enrolled_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
            completed_at: row.completed_at.map(|t| t.to_utc()),
            ratings_raised: raised.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseEnrolmentsResponse {
    /// Open enrolments first, then the rest, most recently changed first (at most 500).
    pub items: Vec<CourseEnrolmentResponse>,
}

/// Enrols the caller in a course (200 with the enrolment when already enrolled; a dropped enrolment
/// reopens where it was left).
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("course_id" = Uuid, Path, description = "The course's id")),
    responses(
        (status = 201, description = "Enrolled", body = CourseEnrolmentResponse),
        (status = 200, description = "Enrolled already", body = CourseEnrolmentResponse),
        (status = 409, description = "Completed already, or the course is retired", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/career/courses/{course_id}/enrolment")]
pub async fn enrol(
    state: Data<AppState>,
    token: AccessToken,
    course_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let (row, changed) = learning::enrol(&auth.tx, &auth.ctx, user.as_uuid(), *course_id).await?;
    auth.tx.commit().await?;
    let body = CourseEnrolmentResponse::new(row, Vec::new());
    Ok(if changed {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// The caller's enrolments.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "The enrolments", body = CourseEnrolmentsResponse))
)]
#[get("/career/me/learning")]
pub async fn my_learning(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<CourseEnrolmentsResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let rows = learning::enrolments(&auth.tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    Ok(Json(CourseEnrolmentsResponse {
        items: rows
            .into_iter()
            .map(|r| CourseEnrolmentResponse::new(r, Vec::new()))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "completed", "apply_to_profile": true}))]
pub struct UpdateCourseEnrolmentRequest {
    /// 0 to 100; 100 completes the course.
    pub progress: Option<i64>,
    /// `completed` or `dropped`.
    pub status: Option<String>,
    /// On completion, raise your self ratings of the skills the course teaches to the level it
    /// teaches where yours is lower (default true).
    pub apply_to_profile: Option<bool>,
}

/// Records progress on an enrolment, completes it (raising self ratings as evidence) or drops it.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(("enrolment_id" = Uuid, Path, description = "The enrolment's id")),
    request_body = UpdateCourseEnrolmentRequest,
    responses(
        (status = 200, description = "Changed", body = CourseEnrolmentResponse),
        (status = 409, description = "Completed or dropped already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/career/me/learning/{enrolment_id}")]
pub async fn update_my_enrolment(
    state: Data<AppState>,
    token: AccessToken,
    enrolment_id: Path<Uuid>,
    body: ValidJson<UpdateCourseEnrolmentRequest>,
) -> ApiResult<Json<CourseEnrolmentResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let (row, raised) = learning::update_enrolment(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *enrolment_id,
        EnrolmentChange {
            progress: body.progress,
            status: body.status,
            apply_to_profile: body.apply_to_profile.unwrap_or(true),
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(CourseEnrolmentResponse::new(row, raised)))
}
