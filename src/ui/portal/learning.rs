//! Learning (`/career/learning`): the member's enrolments with their progress — record progress, mark
//! one completed (which raises the self ratings of the skills it teaches, as the API does) or drop it —
//! and the organization's course catalogue, searched by title or provider, to enrol from.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{career::CAREER, has_reports, search_text, searched, views::my_courses};
use crate::{
    auth::Authenticated,
    error::ApiError,
    http::{RequestContext, ValidQuery, pagination::PageRequest},
    modules::career::learning::{self, CourseFilter, EnrolmentChange},
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::CsrfOnly,
        frame::{Nav, PageResult, Refusal, Visit, html, some, status_of, visit},
    },
};

const BACK: &str = "/career/learning";
/// Courses a page of the catalogue lists.
const COURSES: u64 = 50;

#[derive(Template)]
#[template(path = "portal/learning.html", config = "admin-ui/askama.toml")]
struct LearningPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    has_reports: bool,
    notice: Option<&'a str>,
    error: Option<String>,
    enrolments: Vec<EnrolmentView>,
    q: &'a str,
    courses: Vec<CourseView>,
    more: bool,
}

struct EnrolmentView {
    id: String,
    title: String,
    provider: String,
    url: Option<String>,
    status: String,
    progress: i16,
    open: bool,
}

struct CourseView {
    id: String,
    title: String,
    provider: String,
    url: Option<String>,
    minutes: Option<i32>,
    description: String,
    /// `skill (level n)` for each skill taught.
    teaches: Vec<String>,
    /// The member's enrolment status in it, if any.
    mine: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "enrolled" => Some("You are enrolled."),
        "progress" => Some("Your progress was saved."),
        "completed" => Some(
            "Completed: the skills it teaches were raised on your profile where yours was lower.",
        ),
        "dropped" => Some("You left the course."),
        _ => None,
    }
}

#[get("/career/learning")]
pub async fn learning_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<LearningQuery>,
) -> PageResult {
    let back = searched(BACK, &query.q);
    match visit(&state, &tenant, &req, request, &back, CAREER).await? {
        Ok(visit) => render(visit, &query.q, notice(&query.done), None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render(
    visit: Visit,
    q: &str,
    notice: Option<&str>,
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let tx = &auth.tx;
    let enrolments = learning::enrolments(tx, user.as_uuid()).await?;
    // A dropped course may be taken up again: it shows its Enrol button.
    let mine = my_courses(tx, user.as_uuid()).await?;
    let filter = CourseFilter {
        search: search_text(q)?,
        ..CourseFilter::default()
    };
    let page = PageRequest {
        limit: COURSES,
        after: None,
    };
    let mut found = learning::list_courses(tx, &filter, &page).await?;
    let more = found.len() as u64 > COURSES;
    found.truncate(COURSES as usize);
    let courses = found
        .into_iter()
        .map(|c| CourseView {
            id: c.course.id.to_string(),
            mine: mine.get(&c.course.id).cloned(),
            title: c.course.title,
            provider: c.course.provider,
            url: c.course.url,
            minutes: c.course.duration_minutes,
            description: c.course.description,
            teaches: c
                .skills
                .into_iter()
                .map(|s| format!("{} (level {})", s.name, s.level))
                .collect(),
        })
        .collect();
    let enrolments = enrolments
        .into_iter()
        .map(|e| EnrolmentView {
            id: e.id.to_string(),
            open: matches!(e.status.as_str(), "enrolled" | "in_progress"),
            status: e.status.replace('_', " "),
            title: e.title,
            provider: e.provider,
            url: e.url,
            progress: e.progress,
        })
        .collect();
    let has_reports = has_reports(tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        LearningPage {
            org: &org,
            csrf: &csrf,
            nav,
            has_reports,
            notice,
            error: refusal.map(|r| r.message),
            enrolments,
            q,
            courses,
            more,
        },
    )
}

/// Enrols the member in a course (from the catalogue, or a gap's list of courses).
#[post("/career/learning/{course_id}/enrol")]
pub async fn enrol(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    course_id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let page = async |visit, refusal| render(visit, "", None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        Ok(learning::enrol(&auth.tx, &auth.ctx, user, *course_id).await?)
    };
    let to = |_| "/career/learning?done=enrolled".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// An enrolment's row: the progress (0 to 100), or `completed` / `dropped` by its buttons.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentForm {
    csrf_token: String,
    #[serde(default)]
    progress: String,
    #[serde(default)]
    status: String,
}

/// Records progress in a course, or completes or drops it.
#[post("/career/learning/enrolments/{enrolment_id}")]
pub async fn update_enrolment(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    enrolment_id: Path<Uuid>,
    form: Form<EnrolmentForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, "", None, Some(refusal)).await;
    let status = some(&form.status);
    let act = async |auth: &Authenticated, user: Uuid| {
        let progress = match (&status, some(&form.progress)) {
            (None, Some(progress)) => Some(
                progress
                    .parse::<i64>()
                    .map_err(|_| ApiError::validation("progress", "must be between 0 and 100"))?,
            ),
            (None, None) => {
                return Err(ApiError::validation(
                    "progress",
                    "must be between 0 and 100",
                ));
            }
            (Some(_), _) => None,
        };
        let change = EnrolmentChange {
            progress,
            status: status.clone(),
            apply_to_profile: true,
        };
        Ok(learning::update_enrolment(&auth.tx, &auth.ctx, user, *enrolment_id, change).await?)
    };
    // Progress of 100 completes the course too: the notice follows what the enrolment became.
    let to = |(row, _): (learning::EnrolmentRow, _)| {
        let done = match row.status.as_str() {
            "completed" => "completed",
            "dropped" => "dropped",
            _ => "progress",
        };
        format!("/career/learning?done={done}")
    };
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
