//! My interview calendar (`/interview/calendar`): the member's real interviews — upcoming at their own
//! local time with the reminders due (a day and an hour before, by mail with the calendar file), past
//! and cancelled — recording one, switching its reminders off or on, and cancelling it.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::practice::INTERVIEW;
use crate::{
    auth::Authenticated,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::interview::calendar::{self, Change, Draft, Listing, Scheduled},
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::CsrfOnly,
        frame::{Nav, PageResult, Refusal, Visit, html, some, status_of, visit},
    },
};

const BACK: &str = "/interview/calendar";

#[derive(Template)]
#[template(path = "portal/calendar.html", config = "admin-ui/askama.toml")]
struct CalendarPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    upcoming: Vec<InterviewView>,
    past: Vec<InterviewView>,
    types: Vec<(&'static str, String)>,
}

struct InterviewView {
    id: String,
    title: String,
    company: Option<String>,
    when: String,
    location: String,
    status: String,
    reminders_enabled: bool,
    /// The reminders to come, in words (`a day before: Tuesday 10:00 UTC`).
    reminders: Vec<String>,
}

fn view(s: Scheduled) -> InterviewView {
    let row = s.row;
    InterviewView {
        id: row.id.to_string(),
        title: format!(
            "{} interview — {}",
            calendar::type_label(&row.interview_type),
            row.role_title
        ),
        company: row.company,
        when: format!(
            "{} ({}, {} minutes)",
            row.local_start.format("%A %-d %B %Y, %H:%M"),
            row.timezone,
            row.duration_minutes
        ),
        location: row.location,
        status: row.status,
        reminders_enabled: row.reminders_enabled,
        reminders: s
            .reminders
            .iter()
            .filter(|r| r.shown_state() == "scheduled")
            .map(|r| {
                let lead = match r.lead_minutes {
                    1440 => "a day before".to_owned(),
                    60 => "an hour before".to_owned(),
                    m => format!("{m} minutes before"),
                };
                format!("{lead}: {}", r.due_at.to_utc().format("%-d %b, %H:%M UTC"))
            })
            .collect(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarQuery {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "recorded" => Some("The interview is on your calendar."),
        "reminders" => Some("The reminders were changed."),
        "cancelled" => Some("The interview was cancelled."),
        _ => None,
    }
}

#[get("/interview/calendar")]
pub async fn calendar_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<CalendarQuery>,
) -> PageResult {
    match visit(&state, &tenant, &req, request, BACK, INTERVIEW).await? {
        Ok(visit) => render(visit, notice(&query.done), None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render(visit: Visit, notice: Option<&str>, refusal: Option<Refusal>) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let now = auth.ctx.now;
    let upcoming = calendar::list(&auth.tx, user.as_uuid(), Listing::Upcoming, now).await?;
    let mut past = calendar::list(&auth.tx, user.as_uuid(), Listing::Past, now).await?;
    past.extend(calendar::list(&auth.tx, user.as_uuid(), Listing::Cancelled, now).await?);
    past.sort_by_key(|s| std::cmp::Reverse(s.row.starts_at));
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        CalendarPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            upcoming: upcoming.into_iter().map(view).collect(),
            past: past.into_iter().map(view).collect(),
            types: calendar::TYPES
                .iter()
                .map(|t| (*t, calendar::type_label(t)))
                .collect(),
        },
    )
}

/// An interview to record: the essentials (the API takes interviewers, notes and a checklist too).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterviewForm {
    csrf_token: String,
    #[serde(default)]
    company: String,
    role_title: String,
    interview_type: String,
    /// The local date and time (`datetime-local`: `2027-03-01T10:00`).
    starts_at: String,
    timezone: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    meeting_url: String,
    reminders_enabled: Option<String>,
}

#[post("/interview/calendar")]
pub async fn record(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<InterviewForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        // `datetime-local` sends minutes, or seconds too when its step asks for them.
        let local_start = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(form.starts_at.trim(), f).ok())
            .ok_or_else(|| ApiError::validation("starts_at", "must be a date and a time"))?;
        let duration_minutes = match some(&form.duration_minutes) {
            Some(m) => m
                .parse()
                .map_err(|_| ApiError::validation("duration_minutes", "must be a whole number"))?,
            None => 60,
        };
        let draft = Draft {
            company: some(&form.company),
            career_role_id: None,
            role_title: Some(form.role_title.clone()),
            interview_type: form.interview_type.clone(),
            local_start,
            timezone: form.timezone.trim().to_owned(),
            duration_minutes,
            location: form.location.clone(),
            meeting_url: some(&form.meeting_url),
            interviewers: Vec::new(),
            notes: String::new(),
            reminders_enabled: form.reminders_enabled.is_some(),
            outcome: None,
        };
        calendar::create(&auth.tx, &auth.ctx, user, draft, true).await
    };
    let to = |_| "/interview/calendar?done=recorded".to_owned();
    INTERVIEW
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindersForm {
    csrf_token: String,
    /// `on` or `off`.
    reminders: String,
}

/// Switches an interview's reminders off or on.
#[post("/interview/calendar/{scheduled_interview_id}/reminders")]
pub async fn switch_reminders(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<RemindersForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let enabled = match form.reminders.as_str() {
            "on" => true,
            "off" => false,
            _ => return Err(ApiError::validation("reminders", "must be on or off")),
        };
        let change = Change {
            reminders_enabled: Some(enabled),
            ..Change::default()
        };
        calendar::update(&auth.tx, &auth.ctx, user, *id, change).await
    };
    let to = |_| "/interview/calendar?done=reminders".to_owned();
    INTERVIEW
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Cancels an interview: its reminders are called off.
#[post("/interview/calendar/{scheduled_interview_id}/cancel")]
pub async fn cancel(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        calendar::cancel(&auth.tx, &auth.ctx, user, *id).await
    };
    let to = |_| "/interview/calendar?done=cancelled".to_owned();
    INTERVIEW
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
