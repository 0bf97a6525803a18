//! The portal's home: where the member stands and what is next — their goal and readiness with the top
//! gaps and the learning that closes them, upcoming interviews, mentorships, and recent activity in
//! their workspaces. Each part shows only when the plan and the member's role open its area.

use actix_web::{HttpRequest, get, http::StatusCode, web::Data};
use askama::Template;
use chrono::{DateTime, FixedOffset};
use uuid::Uuid;

use crate::{
    error::ApiError,
    http::RequestContext,
    modules::{
        career::{goals, pathways, profiles},
        interview::calendar,
        networking::mentorships,
        workspaces::activity,
    },
    state::AppState,
    tenancy::{Tenant, TenantTx},
    ui::frame::{Nav, Need, PageResult, html, visit},
};

use super::views::ReadinessView;

/// Gaps shown on the home page, and courses shown per gap.
const TOP_GAPS: usize = 3;
const COURSES_PER_GAP: usize = 2;
const UPCOMING: usize = 3;
const RECENT_ACTIVITY: u64 = 5;

#[derive(Template)]
#[template(path = "portal/home.html", config = "admin-ui/askama.toml")]
struct HomePage<'a> {
    org: &'a str,
    csrf: &'a str,
    email: &'a str,
    nav: Nav,
    /// `None`: the member has no career area; `Some(None)`: no active goal.
    goal: Option<Option<GoalView>>,
    interviews: Option<Vec<InterviewView>>,
    mentoring: Option<Vec<MentorshipView>>,
    activity: Option<Vec<ActivityView>>,
}

struct GoalView {
    role: String,
    target_date: Option<String>,
    readiness: ReadinessView,
}

struct InterviewView {
    title: String,
    company: Option<String>,
    when: String,
    location: String,
}

struct MentorshipView {
    /// The other person.
    with: String,
    /// What the member is in it: `mentor` or `mentee`.
    as_role: &'static str,
    status: String,
}

struct ActivityView {
    /// Who did what, in words (`Ada saved “Plan”`).
    summary: String,
    workspace: String,
    when: String,
}

#[get("/")]
pub async fn home(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
) -> PageResult {
    let visit = match visit(&state, &tenant, &req, request, "/", Need::default()).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = visit.auth;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    let nav = visit.nav;
    let tx = &auth.tx;
    let goal = match nav.career {
        true => Some(goal(tx, user, auth.ctx.now).await?),
        false => None,
    };
    let interviews = match nav.interview {
        true => Some(interviews(tx, user, auth.ctx.now).await?),
        false => None,
    };
    let mentoring = match nav.networking {
        true => Some(mentoring(tx, user).await?),
        false => None,
    };
    let activity = match nav.workspaces {
        true => Some(recent_activity(tx, user).await?),
        false => None,
    };
    let page = HomePage {
        org: &visit.org,
        csrf: &visit.csrf,
        email: &visit.email,
        nav,
        goal,
        interviews,
        mentoring,
        activity,
    };
    let response = html(StatusCode::OK, page);
    auth.tx.commit().await?;
    response
}

/// The active goal with the member's readiness for its role, as the API's goal carries it.
async fn goal(
    tx: &TenantTx,
    user: Uuid,
    now: DateTime<chrono::Utc>,
) -> Result<Option<GoalView>, ApiError> {
    let Some(goal) = goals::active(tx, user).await? else {
        return Ok(None);
    };
    let skills = profiles::skills(tx, user, now).await?;
    let readiness =
        pathways::readiness_for(tx, goal.target_role_id, &profiles::levels(&skills)).await?;
    Ok(Some(GoalView {
        role: goal.target_role_title,
        target_date: goal.target_date.map(|d| d.format("%-d %B %Y").to_string()),
        readiness: ReadinessView::of(readiness, TOP_GAPS, COURSES_PER_GAP),
    }))
}

/// The next interviews on the member's calendar, at their own local time.
async fn interviews(
    tx: &TenantTx,
    user: Uuid,
    now: DateTime<chrono::Utc>,
) -> Result<Vec<InterviewView>, ApiError> {
    Ok(calendar::list(tx, user, calendar::Listing::Upcoming, now)
        .await?
        .into_iter()
        .take(UPCOMING)
        .map(|s| {
            let row = s.row;
            InterviewView {
                title: format!(
                    "{} interview — {}",
                    calendar::type_label(&row.interview_type),
                    row.role_title
                ),
                company: row.company,
                when: format!(
                    "{} ({}, {} minutes)",
                    row.local_start.format("%A %-d %B, %H:%M"),
                    row.timezone,
                    row.duration_minutes
                ),
                location: row.location,
            }
        })
        .collect())
}

/// The member's mentorships that are under way or waiting for an answer.
async fn mentoring(tx: &TenantTx, user: Uuid) -> Result<Vec<MentorshipView>, ApiError> {
    Ok(mentorships::of_user(tx, user)
        .await?
        .into_iter()
        .filter_map(|m| {
            let mentor = m.mentor_id == user;
            let (with, as_role) = match mentor {
                true => (m.mentee_name, "mentor"),
                false => (m.mentor_name, "mentee"),
            };
            let status = match (m.status.as_str(), mentor) {
                ("requested", true) => "asks you to mentor them: waiting for your answer",
                ("requested", false) => "has your request: waiting for their answer",
                ("accepted" | "active", _) => "under way",
                _ => return None,
            };
            Some(MentorshipView {
                with,
                as_role,
                status: status.to_owned(),
            })
        })
        .collect())
}

/// The newest entries of the feeds of the member's workspaces.
async fn recent_activity(tx: &TenantTx, user: Uuid) -> Result<Vec<ActivityView>, ApiError> {
    let page = activity::Page {
        limit: RECENT_ACTIVITY,
        ..activity::Page::default()
    };
    Ok(activity::of_member(tx, user, page)
        .await?
        .into_iter()
        .map(|a| ActivityView {
            summary: a.summary,
            workspace: a.workspace_name,
            when: when(a.created_at),
        })
        .collect())
}

fn when(at: DateTime<FixedOffset>) -> String {
    at.to_utc().format("%-d %b, %H:%M UTC").to_string()
}
