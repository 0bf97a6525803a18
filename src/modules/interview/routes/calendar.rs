//! `/api/v1/interview/calendar`: the caller's real interviews, their reminders, calendar file and
//! preparation checklist (`interview:use`; each member sees only their own).

use actix_web::{
    HttpResponse, delete, get,
    http::header,
    patch, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{
    Deserialize, Deserializer, Serialize,
    de::{Error as _, Unexpected},
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::open;
use crate::{
    auth::AccessToken,
    authz::Act,
    error::{ApiError, ApiResult},
    http::{ValidJson, ValidQuery},
    modules::interview::{
        calendar::{self, Change, Draft, Interviewer, Listing, Scheduled},
        checklist::{self, ItemRow},
    },
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterviewerDto {
    /// 1 to 120 characters.
    pub name: String,
    /// Their role ("Engineering manager"); at most 120 characters.
    #[serde(default)]
    pub title: Option<String>,
}

impl From<InterviewerDto> for Interviewer {
    fn from(dto: InterviewerDto) -> Interviewer {
        Interviewer {
            name: dto.name,
            title: dto.title,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderResponse {
    /// Minutes before the interview: 1440 or 60.
    pub lead_minutes: i32,
    pub due_at: DateTime<Utc>,
    /// `scheduled`, `sent`, `cancelled`, `skipped` (its time had passed) or `failed` (its job gave up
    /// after its attempts; operators see it among the dead jobs).
    pub state: String,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistItemResponse {
    pub id: Uuid,
    pub position: i32,
    pub label: String,
    /// Suggested when the interview was recorded (else added by the member).
    pub suggested: bool,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
}

impl From<ItemRow> for ChecklistItemResponse {
    fn from(row: ItemRow) -> ChecklistItemResponse {
        ChecklistItemResponse {
            id: row.id,
            position: row.position,
            label: row.label,
            suggested: row.suggested,
            done: row.done_at.is_some(),
            done_at: row.done_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduledInterviewResponse {
    pub id: Uuid,
    /// The company, or null for an interview inside the organization.
    pub company: Option<String>,
    /// The career role an internal interview is for.
    pub career_role_id: Option<Uuid>,
    pub role_title: String,
    /// "Staff Engineer at Globex", "Team Lead (internal)".
    pub title: String,
    pub interview_type: String,
    /// The instant it starts.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The wall-clock time it was given in, in `timezone`.
    #[schema(value_type = String, example = "2026-12-10T14:00:00")]
    pub local_start: NaiveDateTime,
    /// An IANA time zone.
    pub timezone: String,
    pub duration_minutes: i32,
    pub location: String,
    pub meeting_url: Option<String>,
    pub interviewers: Vec<InterviewerDto>,
    pub notes: String,
    pub reminders_enabled: bool,
    /// `scheduled` or `cancelled`.
    pub status: String,
    /// `upcoming`, `under_way`, `past` or `cancelled`.
    pub phase: String,
    /// `advanced`, `offer`, `rejected` or `withdrawn`, once known.
    pub outcome: Option<String>,
    pub reminders: Vec<ReminderResponse>,
    pub checklist: Vec<ChecklistItemResponse>,
    /// Raised by every change; the calendar file's `SEQUENCE`.
    pub sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl ScheduledInterviewResponse {
    fn new(s: Scheduled, now: DateTime<Utc>) -> ScheduledInterviewResponse {
        let row = s.row;
        ScheduledInterviewResponse {
            title: row.title(),
            phase: row.phase(now).into(),
            ends_at: row.ends_at(),
            interviewers: row
                .interviewers()
                .into_iter()
                .map(|p| InterviewerDto {
                    name: p.name,
                    title: p.title,
                })
                .collect(),
            id: row.id,
            company: row.company,
            career_role_id: row.career_role_id,
            role_title: row.role_title,
            interview_type: row.interview_type,
            starts_at: row.starts_at.to_utc(),
            local_start: row.local_start,
            timezone: row.timezone,
            duration_minutes: row.duration_minutes,
            location: row.location,
            meeting_url: row.meeting_url,
            notes: row.notes,
            reminders_enabled: row.reminders_enabled,
            status: row.status,
            outcome: row.outcome,
            reminders: s
                .reminders
                .into_iter()
                .map(|r| ReminderResponse {
                    lead_minutes: r.lead_minutes,
                    due_at: r.due_at.to_utc(),
                    state: r.shown_state().to_owned(),
                    sent_at: r.sent_at.map(|t| t.to_utc()),
                })
                .collect(),
            checklist: s.checklist.into_iter().map(Into::into).collect(),
            sequence: row.sequence,
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
            cancelled_at: row.cancelled_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduledInterviewsResponse {
    pub items: Vec<ScheduledInterviewResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListScheduledQuery {
    /// `upcoming` (the default: not cancelled and not over, soonest first), `past`, `cancelled` or
    /// `all` (latest first); at most 200.
    pub when: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"company": "Globex", "role_title": "Staff Engineer", "interview_type": "technical", "starts_at": "2027-01-14T14:00", "timezone": "Europe/Berlin", "duration_minutes": 90, "meeting_url": "https://meet.example/abc-defg", "interviewers": [{"name": "Ada Lovelace", "title": "CTO"}], "notes": "Ask about the platform team's on-call"}))]
pub struct CreateScheduledInterviewRequest {
    /// The company; leave out for an interview inside the organization.
    pub company: Option<String>,
    /// For an internal interview: the career role (its title becomes `role_title` unless one is given).
    pub career_role_id: Option<Uuid>,
    /// Required unless `career_role_id` is given; at most 200 characters.
    pub role_title: Option<String>,
    /// `phone_screen`, `recruiter`, `hiring_manager`, `technical`, `behavioral`, `case`, `panel`,
    /// `onsite`, `final` or `other`.
    pub interview_type: String,
    /// Wall-clock time without an offset, in `timezone` (`2027-01-14T14:00`). Within the past year or
    /// the next two years; a time the clocks skip is refused, a repeated one is its first occurrence.
    #[schema(value_type = String, example = "2027-01-14T14:00")]
    #[serde(deserialize_with = "wall_clock")]
    pub starts_at: NaiveDateTime,
    /// An IANA time zone (`Europe/Berlin`).
    pub timezone: String,
    /// 5 to 720 (default 60).
    pub duration_minutes: Option<i64>,
    /// An address or room; at most 500 characters.
    #[serde(default)]
    pub location: String,
    /// An http(s) link to join.
    pub meeting_url: Option<String>,
    /// At most 10.
    #[serde(default)]
    pub interviewers: Vec<InterviewerDto>,
    /// Private notes; at most 10,000 characters.
    #[serde(default)]
    pub notes: String,
    /// Reminder mails 24 hours and one hour before (default true).
    pub reminders_enabled: Option<bool>,
    /// For an interview recorded afterwards: `advanced`, `offer`, `rejected` or `withdrawn`.
    pub outcome: Option<String>,
    /// Start the checklist with suggested items (default true).
    pub suggest_checklist: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_at": "2027-01-15T10:30", "interviewers": [{"name": "Ada Lovelace", "title": "CTO"}, {"name": "Alan Turing"}]}))]
pub struct UpdateScheduledInterviewRequest {
    /// A company, or null to make it internal.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    /// A career role, or null.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Uuid>)]
    pub career_role_id: Option<Option<Uuid>>,
    pub role_title: Option<String>,
    pub interview_type: Option<String>,
    /// A new wall-clock time (in `timezone`, the new one if given): the reminders are rescheduled.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "optional_wall_clock")]
    pub starts_at: Option<NaiveDateTime>,
    pub timezone: Option<String>,
    pub duration_minutes: Option<i64>,
    pub location: Option<String>,
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>)]
    pub meeting_url: Option<Option<String>>,
    pub interviewers: Option<Vec<InterviewerDto>>,
    pub notes: Option<String>,
    /// Off cancels the reminders not sent yet; on schedules them again.
    pub reminders_enabled: Option<bool>,
    /// How it went, or null.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>)]
    pub outcome: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "Rehearse the system design story"}))]
pub struct AddChecklistItemRequest {
    /// 1 to 200 characters.
    pub label: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"done": true}))]
pub struct UpdateChecklistItemRequest {
    pub label: Option<String>,
    pub done: Option<bool>,
}

/// A wall-clock time: `2027-01-14T14:00` or `2027-01-14T14:00:00`, without an offset.
fn parse_wall_clock(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

const WALL_CLOCK: &str = "a wall-clock time like 2027-01-14T14:00, without an offset";

fn wall_clock<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_wall_clock(&text)
        .ok_or_else(|| D::Error::invalid_value(Unexpected::Str(&text), &WALL_CLOCK))
}

fn optional_wall_clock<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDateTime>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => parse_wall_clock(&text)
            .map(Some)
            .ok_or_else(|| D::Error::invalid_value(Unexpected::Str(&text), &WALL_CLOCK)),
    }
}

fn converted(people: Vec<InterviewerDto>) -> Vec<Interviewer> {
    people.into_iter().map(Into::into).collect()
}

/// The caller's interviews.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(ListScheduledQuery),
    responses((status = 200, description = "The interviews", body = ScheduledInterviewsResponse))
)]
#[get("/interview/calendar")]
pub async fn list_scheduled(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<ListScheduledQuery>,
) -> ApiResult<Json<ScheduledInterviewsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let listing = match query.into_inner().when.as_deref() {
        None => Listing::Upcoming,
        Some(when) => Listing::parse(when).ok_or_else(|| {
            ApiError::validation("when", "must be upcoming, past, cancelled or all")
        })?,
    };
    let items = calendar::list(&auth.tx, user.as_uuid(), listing, auth.ctx.now).await?;
    auth.tx.commit().await?;
    let now = auth.ctx.now;
    Ok(Json(ScheduledInterviewsResponse {
        items: items
            .into_iter()
            .map(|s| ScheduledInterviewResponse::new(s, now))
            .collect(),
    }))
}

/// Records an interview; its reminders are scheduled and a checklist suggested.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    request_body = CreateScheduledInterviewRequest,
    responses(
        (status = 201, description = "Recorded", body = ScheduledInterviewResponse),
        (status = 409, description = "50 interviews are coming up already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/calendar")]
pub async fn create_scheduled(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreateScheduledInterviewRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let draft = Draft {
        company: body.company,
        career_role_id: body.career_role_id,
        role_title: body.role_title,
        interview_type: body.interview_type,
        local_start: body.starts_at,
        timezone: body.timezone,
        duration_minutes: body.duration_minutes.unwrap_or(60),
        location: body.location,
        meeting_url: body.meeting_url,
        interviewers: converted(body.interviewers),
        notes: body.notes,
        reminders_enabled: body.reminders_enabled.unwrap_or(true),
        outcome: body.outcome,
    };
    let created = calendar::create(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        draft,
        body.suggest_checklist.unwrap_or(true),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(ScheduledInterviewResponse::new(created, auth.ctx.now)))
}

/// One of the caller's interviews.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("scheduled_interview_id" = Uuid, Path, description = "The interview's id")),
    responses((status = 200, description = "The interview", body = ScheduledInterviewResponse))
)]
#[get("/interview/calendar/{scheduled_interview_id}")]
pub async fn get_scheduled(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<ScheduledInterviewResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let found = calendar::get(&auth.tx, user.as_uuid(), *id).await?;
    auth.tx.commit().await?;
    Ok(Json(ScheduledInterviewResponse::new(found, auth.ctx.now)))
}

/// Changes an interview; a new time reschedules its reminders.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("scheduled_interview_id" = Uuid, Path, description = "The interview's id")),
    request_body = UpdateScheduledInterviewRequest,
    responses(
        (status = 200, description = "Changed", body = ScheduledInterviewResponse),
        (status = 409, description = "Cancelled", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/interview/calendar/{scheduled_interview_id}")]
pub async fn update_scheduled(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<UpdateScheduledInterviewRequest>,
) -> ApiResult<Json<ScheduledInterviewResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let body = body.into_inner();
    let change = Change {
        company: body.company,
        career_role_id: body.career_role_id,
        role_title: body.role_title,
        interview_type: body.interview_type,
        local_start: body.starts_at,
        timezone: body.timezone,
        duration_minutes: body.duration_minutes,
        location: body.location,
        meeting_url: body.meeting_url,
        interviewers: body.interviewers.map(converted),
        notes: body.notes,
        reminders_enabled: body.reminders_enabled,
        outcome: body.outcome,
    };
    let updated = calendar::update(&auth.tx, &auth.ctx, user.as_uuid(), *id, change).await?;
    auth.tx.commit().await?;
    Ok(Json(ScheduledInterviewResponse::new(updated, auth.ctx.now)))
}

/// Cancels an interview: its pending reminders are called off, and if one was sent already a
/// cancellation with the updated calendar file goes out.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("scheduled_interview_id" = Uuid, Path, description = "The interview's id")),
    responses(
        (status = 200, description = "Cancelled", body = ScheduledInterviewResponse),
        (status = 409, description = "Cancelled already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/calendar/{scheduled_interview_id}/cancel")]
pub async fn cancel_scheduled(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<ScheduledInterviewResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let cancelled = calendar::cancel(&auth.tx, &auth.ctx, user.as_uuid(), *id).await?;
    auth.tx.commit().await?;
    Ok(Json(ScheduledInterviewResponse::new(
        cancelled,
        auth.ctx.now,
    )))
}

/// Deletes an interview with its reminders and checklist.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("scheduled_interview_id" = Uuid, Path, description = "The interview's id")),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/interview/calendar/{scheduled_interview_id}")]
pub async fn delete_scheduled(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    calendar::delete(&auth.tx, &auth.ctx, user.as_uuid(), *id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The interview as a calendar file (RFC 5545, times in UTC) to add to a calendar application.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("scheduled_interview_id" = Uuid, Path, description = "The interview's id")),
    responses((status = 200, description = "text/calendar", content_type = "text/calendar"))
)]
#[get("/interview/calendar/{scheduled_interview_id}/calendar.ics")]
pub async fn scheduled_calendar_file(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let row = calendar::row(&auth.tx, user.as_uuid(), *id, false).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, crate::ics::CONTENT_TYPE))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"interview.ics\"",
        ))
        .body(row.calendar_file()))
}

/// Adds an item to the interview's preparation checklist.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(("scheduled_interview_id" = Uuid, Path, description = "The interview's id")),
    request_body = AddChecklistItemRequest,
    responses(
        (status = 201, description = "Added", body = ChecklistItemResponse),
        (status = 409, description = "30 items already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/interview/calendar/{scheduled_interview_id}/checklist")]
pub async fn add_checklist_item(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<AddChecklistItemRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let item = checklist::add(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *id,
        &body.into_inner().label,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(ChecklistItemResponse::from(item)))
}

/// Renames a checklist item, or ticks it off (or on again).
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(
        ("scheduled_interview_id" = Uuid, Path, description = "The interview's id"),
        ("checklist_item_id" = Uuid, Path, description = "The item's id"),
    ),
    request_body = UpdateChecklistItemRequest,
    responses((status = 200, description = "Changed", body = ChecklistItemResponse))
)]
#[patch("/interview/calendar/{scheduled_interview_id}/checklist/{checklist_item_id}")]
pub async fn update_checklist_item(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<UpdateChecklistItemRequest>,
) -> ApiResult<Json<ChecklistItemResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let (interview, item) = path.into_inner();
    let body = body.into_inner();
    let updated = checklist::update(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        interview,
        item,
        body.label.as_deref(),
        body.done,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(updated.into()))
}

/// Removes a checklist item.
#[utoipa::path(
    tag = "interview",
    security(("bearer" = [])),
    params(
        ("scheduled_interview_id" = Uuid, Path, description = "The interview's id"),
        ("checklist_item_id" = Uuid, Path, description = "The item's id"),
    ),
    responses((status = 204, description = "Removed"))
)]
#[delete("/interview/calendar/{scheduled_interview_id}/checklist/{checklist_item_id}")]
pub async fn remove_checklist_item(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let (interview, item) = path.into_inner();
    checklist::remove(&auth.tx, &auth.ctx, user.as_uuid(), interview, item).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
