//! Mentoring (`/mentoring`): the mentors recommended to the member with why each suits them (the
//! points of the explainable matching, docs/networking.md), asking one; the member's mentorships as
//! mentee or mentor — answering a request, withdrawing one — and, for each under way, its page with the
//! session log (`/mentoring/{id}`); and the member's own mentor profile.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::lf;
use crate::{
    auth::Authenticated,
    authz::{Act, Obj},
    domain::UserId,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::{
        analytics::capture::FeatureEvent,
        networking::{
            mentors::{self, ProfileInput},
            mentorship_sessions::{self, NewSession},
            mentorships, recommend,
        },
    },
    state::AppState,
    tenancy::{Tenant, plan::Feature},
    ui::{
        form::CsrfOnly,
        frame::{Nav, Need, PageResult, Refusal, Visit, html, some, status_of, visit},
    },
};

/// Every mentoring page: the plan's networking and the member's own use of it.
pub(super) const NETWORKING: Need = Need {
    feature: Some(Feature::Networking),
    permission: Some((Obj::Networking, Act::Use)),
};
const BACK: &str = "/mentoring";
/// Mentors recommended at most.
const RECOMMENDED: usize = 10;

#[derive(Template)]
#[template(path = "portal/mentoring.html", config = "admin-ui/askama.toml")]
struct MentoringPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    recommended: Vec<MentorView>,
    mentorships: Vec<MentorshipView>,
    profile: ProfileView,
}

struct MentorView {
    id: String,
    name: String,
    bio: String,
    teaches: Vec<String>,
    timezone: String,
    languages: String,
    total: i64,
    /// Why they suit the member: each part of the score that counted.
    why: Vec<(&'static str, i64)>,
}

struct MentorshipView {
    id: String,
    with: String,
    as_mentor: bool,
    status: String,
    goals: String,
    /// A request waiting for this member's answer.
    to_answer: bool,
    /// The member's own request, still waiting.
    withdrawable: bool,
    under_way: bool,
}

#[derive(Default)]
struct ProfileView {
    exists: bool,
    bio: String,
    languages: String,
    timezone: String,
    hours_per_week: i16,
    mentee_limit: i16,
    active: bool,
    load: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MentoringQuery {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "requested" => Some("Your request was sent: the mentor answers it here."),
        "accepted" => Some("You accepted: the mentorship is under way."),
        "declined" => Some("You declined the request."),
        "withdrawn" => Some("Your request was withdrawn."),
        "profile" => Some("Your mentor profile was saved."),
        _ => None,
    }
}

#[get("/mentoring")]
pub async fn mentoring_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<MentoringQuery>,
) -> PageResult {
    match visit(&state, &tenant, &req, request, BACK, NETWORKING).await? {
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
    let user = user.as_uuid();
    let tx = &auth.tx;
    let now = auth.ctx.now;
    let mentee = recommend::mentee(tx, user, Default::default(), None, now).await?;
    let (picked, _, _) = recommend::recommend(tx, &mentee, RECOMMENDED, now).await?;
    let recommended = picked
        .into_iter()
        .map(|r| {
            let b = r.breakdown;
            let row = r.mentor.row;
            MentorView {
                id: row.user_id.to_string(),
                name: row.display_name,
                bio: row.bio,
                teaches: r
                    .mentor
                    .skills
                    .into_iter()
                    .filter(|s| s.teaches)
                    .map(|s| s.name)
                    .collect(),
                timezone: row.timezone,
                languages: row.languages.join(", "),
                total: b.total,
                why: [
                    ("skills they teach that you lack or want", b.skills),
                    ("a step ahead of you in their career", b.stage),
                    ("working hours that overlap yours", b.timezone),
                    ("interests you share", b.interests),
                    ("how their mentees rate them", b.rating),
                    ("requests already waiting for them", b.spread),
                ]
                .into_iter()
                .filter(|(_, points)| *points != 0)
                .collect(),
            }
        })
        .collect();
    let mentorships = mentorships::of_user(tx, user)
        .await?
        .into_iter()
        .map(|m| {
            let as_mentor = m.mentor_id == user;
            MentorshipView {
                id: m.id.to_string(),
                with: if as_mentor {
                    m.mentee_name
                } else {
                    m.mentor_name
                },
                to_answer: as_mentor && m.status == "requested",
                withdrawable: !as_mentor && m.status == "requested",
                under_way: matches!(m.status.as_str(), "accepted" | "active"),
                status: m.status.replace('_', " "),
                goals: m.goals,
                as_mentor,
            }
        })
        .collect();
    let profile = match mentors::get(tx, user).await {
        Ok(mentor) => ProfileView {
            exists: true,
            bio: mentor.row.bio,
            languages: mentor.row.languages.join(", "),
            timezone: mentor.row.timezone,
            hours_per_week: mentor.row.hours_per_week,
            mentee_limit: mentor.row.mentee_limit,
            active: mentor.row.active,
            load: mentor.row.load,
        },
        Err(ApiError::NotFound { .. }) => ProfileView {
            timezone: "Europe/London".into(),
            languages: "en".into(),
            hours_per_week: 2,
            mentee_limit: 2,
            active: true,
            ..ProfileView::default()
        },
        Err(error) => return Err(error),
    };
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        MentoringPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            recommended,
            mentorships,
            profile,
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestForm {
    csrf_token: String,
    mentor_id: Uuid,
    #[serde(default)]
    goals: String,
    #[serde(default)]
    message: String,
}

/// Asks a mentor for mentoring (the same checks as the API: the mentor takes mentees, has room, is
/// not in the member's reporting line, has not declined them…).
#[post("/mentoring/requests")]
pub async fn ask(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<RequestForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        mentorships::request(
            &auth.tx,
            &auth.ctx,
            user,
            form.mentor_id,
            None,
            &form.goals,
            &form.message,
        )
        .await
    };
    // After the commit, as the API does: the request counts in the organization's usage figures.
    let to = |m: mentorships::MentorshipRow| {
        let mentee = Some(UserId::from_uuid(m.mentee_id));
        let event = FeatureEvent::MentorshipRequested;
        state.usage.feature(tenant.id, mentee, event, "");
        "/mentoring?done=requested".to_owned()
    };
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerForm {
    csrf_token: String,
    /// `accept` or `decline`.
    answer: String,
    #[serde(default)]
    note: String,
}

/// The mentor's answer to a request.
#[post("/mentoring/{mentorship_id}/answer")]
pub async fn answer(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<AnswerForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let accept = match form.answer.as_str() {
        "accept" => Some(true),
        "decline" => Some(false),
        _ => None,
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        let accept =
            accept.ok_or_else(|| ApiError::validation("answer", "must be accept or decline"))?;
        mentorships::respond(&auth.tx, &auth.ctx, user, *id, accept, &form.note).await
    };
    let to = |m: mentorships::MentorshipRow| {
        if m.status == "declined" {
            return "/mentoring?done=declined".to_owned();
        }
        let mentor = Some(UserId::from_uuid(m.mentor_id));
        let event = FeatureEvent::MentorshipStarted;
        state.usage.feature(tenant.id, mentor, event, "request");
        "/mentoring?done=accepted".to_owned()
    };
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Withdraws the member's own request (or ends a mentorship, as the API's cancel does).
#[post("/mentoring/{mentorship_id}/cancel")]
pub async fn withdraw(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        // Only the member's own request still waiting: a page loaded before the mentor accepted must
        // not end the mentorship.
        let current = mentorships::get(&auth.tx, user, *id, true).await?;
        if current.mentee_id != user || current.status != "requested" {
            return Err(ApiError::conflict(
                "not_a_waiting_request",
                "only your own request still waiting for an answer can be withdrawn",
            ));
        }
        mentorships::cancel(&auth.tx, &auth.ctx, user, *id).await
    };
    let to = |_| "/mentoring?done=withdrawn".to_owned();
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// The member's mentor profile: languages and time zone as typed (`en, de`), the skills kept as they
/// are (the API edits those).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileForm {
    csrf_token: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    languages: String,
    timezone: String,
    hours_per_week: String,
    mentee_limit: String,
    active: Option<String>,
}

fn whole(field: &str, text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::validation(field, "must be a whole number"))
}

#[post("/mentoring/profile")]
pub async fn save_profile(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<ProfileForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let skills = match mentors::get(&auth.tx, user).await {
            Ok(mentor) => mentor
                .skills
                .into_iter()
                .map(|s| (s.skill_id, s.teaches))
                .collect(),
            Err(ApiError::NotFound { .. }) => Vec::new(),
            Err(error) => return Err(error),
        };
        let input = ProfileInput {
            bio: form.bio.clone(),
            languages: form.languages.split(',').filter_map(some).collect(),
            timezone: form.timezone.trim().to_owned(),
            hours_per_week: whole("hours_per_week", &form.hours_per_week)?,
            mentee_limit: whole("mentee_limit", &form.mentee_limit)?,
            active: form.active.is_some(),
            skills,
        };
        mentors::save(&auth.tx, &auth.ctx, user, input).await
    };
    let to = |_| "/mentoring?done=profile".to_owned();
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Template)]
#[template(path = "portal/mentorship.html", config = "admin-ui/askama.toml")]
struct MentorshipPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    id: String,
    with: String,
    as_mentor: bool,
    status: String,
    goals: String,
    under_way: bool,
    sessions: Vec<(String, i16, String)>,
    today: String,
    latest: String,
    /// The mentee, after an accepted request's first session: is it a good fit?
    fit_check: bool,
    /// Either side, while it is active.
    completable: bool,
    /// The mentee, once completed, until rated.
    ratable: bool,
    rating: Option<i16>,
    feedback: String,
    /// What a refused form held, and which: `session` (its notes), `fit` (the note), `end` (feedback).
    typed_form: &'static str,
    typed: String,
}

#[get("/mentoring/{mentorship_id}")]
pub async fn mentorship_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    id: Path<Uuid>,
    query: ValidQuery<MentoringQuery>,
) -> PageResult {
    let back = format!("/mentoring/{}", *id);
    let notice = match query.done.as_str() {
        "logged" => Some("The session was logged."),
        "fit" => Some("Thank you: the mentorship is under way."),
        "not-a-fit" => Some("The mentorship has ended: you can ask another mentor."),
        "completed" => Some("The mentorship is completed."),
        "rated" => Some("Thank you for your rating."),
        _ => None,
    };
    match visit(&state, &tenant, &req, request, &back, NETWORKING).await? {
        Ok(visit) => render_mentorship(visit, *id, notice, None, ("", String::new())).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render_mentorship(
    visit: Visit,
    id: Uuid,
    notice: Option<&str>,
    refusal: Option<Refusal>,
    (typed_form, typed): (&'static str, String),
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    let m = mentorships::get(&auth.tx, user, id, false).await?;
    let sessions: Vec<(String, i16, String)> = mentorship_sessions::list(&auth.tx, user, id)
        .await?
        .into_iter()
        .map(|s| {
            (
                s.held_on.format("%-d %B %Y").to_string(),
                s.minutes,
                s.notes,
            )
        })
        .collect();
    let today = auth.ctx.now.date_naive().to_string();
    // The latest day anywhere (UTC+14), as the service allows.
    let latest = (auth.ctx.now + chrono::Duration::hours(14))
        .date_naive()
        .to_string();
    auth.tx.commit().await?;
    let as_mentor = m.mentor_id == user;
    let held = !sessions.is_empty();
    html(
        status_of(refusal.as_ref()),
        MentorshipPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            id: m.id.to_string(),
            with: if as_mentor {
                m.mentee_name
            } else {
                m.mentor_name
            },
            as_mentor,
            under_way: matches!(m.status.as_str(), "accepted" | "active"),
            status: m.status.replace('_', " "),
            fit_check: !as_mentor && m.status == "accepted" && held,
            completable: m.status == "active",
            ratable: !as_mentor && m.status == "completed" && m.rating.is_none(),
            rating: m.rating,
            feedback: m.feedback,
            goals: m.goals,
            sessions,
            today,
            latest,
            typed_form,
            typed,
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionForm {
    csrf_token: String,
    held_on: String,
    minutes: String,
    #[serde(default)]
    notes: String,
}

/// Logs a session of a mentorship under way.
#[post("/mentoring/{mentorship_id}/sessions")]
pub async fn log_session(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<SessionForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let back = format!("/mentoring/{id}");
    let typed = ("session", form.notes.clone());
    let page =
        async |visit, refusal| render_mentorship(visit, id, None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let held_on = form
            .held_on
            .trim()
            .parse()
            .map_err(|_| ApiError::validation("held_on", "must be a date"))?;
        let new = NewSession {
            held_on,
            minutes: whole("minutes", &form.minutes)?,
            notes: form.notes.clone(),
        };
        mentorship_sessions::log(&auth.tx, &auth.ctx, user, id, new).await
    };
    let to = |_| format!("/mentoring/{id}?done=logged");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitForm {
    csrf_token: String,
    /// `yes` or `no`.
    fit: String,
    #[serde(default)]
    note: String,
}

/// The mentee's word after the first session: a good fit makes it active; not a fit ends it.
#[post("/mentoring/{mentorship_id}/fit")]
pub async fn check_fit(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<FitForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let back = format!("/mentoring/{id}");
    let typed = ("fit", form.note.clone());
    let page =
        async |visit, refusal| render_mentorship(visit, id, None, Some(refusal), typed).await;
    let good = match form.fit.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        let good = good.ok_or_else(|| ApiError::validation("fit", "must be yes or no"))?;
        mentorships::check_fit(&auth.tx, &auth.ctx, user, id, good, &lf(&form.note)).await
    };
    let to = |m: mentorships::MentorshipRow| match m.status.as_str() {
        "active" => format!("/mentoring/{id}?done=fit"),
        _ => format!("/mentoring/{id}?done=not-a-fit"),
    };
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Completing (either side) or rating (the mentee, once completed): a rating of 1 to 5 and feedback,
/// both the mentee's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndForm {
    csrf_token: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    feedback: String,
}

impl EndForm {
    fn rating(&self) -> Result<Option<i64>, ApiError> {
        match self.rating.trim() {
            "" => Ok(None),
            text => text
                .parse()
                .map(Some)
                .map_err(|_| ApiError::validation("rating", "must be between 1 and 5")),
        }
    }
}

#[post("/mentoring/{mentorship_id}/complete")]
pub async fn complete(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<EndForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let back = format!("/mentoring/{id}");
    let typed = ("end", form.feedback.clone());
    let page =
        async |visit, refusal| render_mentorship(visit, id, None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let rating = form.rating()?;
        let feedback = lf(&form.feedback);
        mentorships::complete(&auth.tx, &auth.ctx, user, id, rating, &feedback).await
    };
    let to = |_| format!("/mentoring/{id}?done=completed");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[post("/mentoring/{mentorship_id}/rating")]
pub async fn rate(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<EndForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let back = format!("/mentoring/{id}");
    let typed = ("end", form.feedback.clone());
    let page =
        async |visit, refusal| render_mentorship(visit, id, None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let rating = form
            .rating()?
            .ok_or_else(|| ApiError::validation("rating", "choose 1 to 5"))?;
        let feedback = lf(&form.feedback);
        mentorships::rate(&auth.tx, &auth.ctx, user, id, rating, &feedback).await
    };
    let to = |_| format!("/mentoring/{id}?done=rated");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
