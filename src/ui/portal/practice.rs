//! Interview practice (`/interview`): start a mock interview, the member's sessions, and their
//! progress (the score of each completed session drawn and tabled, strengths, focus areas and the
//! trend per dimension); and a session (`/interview/sessions/{id}`) answered question by question
//! against its time limit — the server's deadline is the authority, `portal.js` only counts down — then
//! its analysis: the score, each answer's dimensions with how each was reached, suggestions, and the
//! expected points covered and missed.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::Authenticated,
    authz::{Act, Obj},
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::interview::{
        progress::{self, Direction},
        sessions::{self, NewSession},
    },
    state::AppState,
    tenancy::{Tenant, plan::Feature},
    ui::{
        charts,
        form::CsrfOnly,
        frame::{Nav, Need, PageResult, Refusal, Visit, html, some, status_of, visit},
    },
};

/// Every interview page: the plan's interview practice and the member's own use of it.
pub(super) const INTERVIEW: Need = Need {
    feature: Some(Feature::Interview),
    permission: Some((Obj::Interview, Act::Use)),
};
const BACK: &str = "/interview";

#[derive(Template)]
#[template(path = "portal/practice.html", config = "admin-ui/askama.toml")]
struct PracticePage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    error: Option<String>,
    sessions: Vec<SessionLine>,
    completed: usize,
    scores_svg: String,
    scores: Vec<(String, i64)>,
    strengths: Vec<&'static str>,
    focus_areas: Vec<&'static str>,
    trends: Vec<TrendLine>,
}

struct SessionLine {
    id: String,
    created: String,
    kind: String,
    status: String,
    answered: i64,
    questions: i64,
    score: Option<i16>,
}

struct TrendLine {
    dimension: &'static str,
    earlier: String,
    later: String,
    direction: &'static str,
}

fn one_decimal(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
}

#[get("/interview")]
pub async fn practice_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
) -> PageResult {
    match visit(&state, &tenant, &req, request, BACK, INTERVIEW).await? {
        Ok(visit) => render(visit, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render(visit: Visit, refusal: Option<Refusal>) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let tx = &auth.tx;
    let sessions = sessions::list(tx, user.as_uuid())
        .await?
        .into_iter()
        .map(|s| SessionLine {
            id: s.id.to_string(),
            created: s
                .created_at
                .to_utc()
                .format("%-d %b %Y, %H:%M UTC")
                .to_string(),
            kind: s.kind.unwrap_or_else(|| "any kind".into()),
            status: s.status.replace('_', " "),
            answered: s.answered,
            questions: s.questions,
            score: s.score,
        })
        .collect();
    let history = sessions::history(tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    let scores: Vec<(String, i64)> = history
        .iter()
        .map(|(s, _)| {
            let day = s.ended_at.unwrap_or(s.created_at).format("%b %-d");
            (day.to_string(), s.score.map(i64::from).unwrap_or(0))
        })
        .collect();
    let means: Vec<_> = history.into_iter().map(|(_, m)| m).collect();
    let summary = progress::summarise(&means);
    let direction = |d: &Direction| match d {
        Direction::Improving => "improving",
        Direction::Declining => "declining",
        Direction::Steady => "steady",
        Direction::NotEnoughData => "not enough sessions yet",
    };
    html(
        status_of(refusal.as_ref()),
        PracticePage {
            org: &org,
            csrf: &csrf,
            nav,
            error: refusal.map(|r| r.message),
            sessions,
            completed: means.len(),
            scores_svg: charts::bars(
                "scores",
                "Score of each completed mock interview, oldest first",
                &scores,
            ),
            scores,
            strengths: summary.strengths.iter().map(|d| d.as_str()).collect(),
            focus_areas: summary.focus_areas.iter().map(|d| d.as_str()).collect(),
            trends: summary
                .trends
                .iter()
                .filter(|t| t.sessions > 0)
                .map(|t| TrendLine {
                    dimension: t.dimension.as_str(),
                    earlier: one_decimal(t.earlier),
                    later: one_decimal(t.later),
                    direction: direction(&t.direction),
                })
                .collect(),
        },
    )
}

/// A new mock interview: the kind and difficulty (empty: any), how many questions, and minutes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSessionForm {
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    difficulty: String,
    #[serde(default)]
    question_count: String,
    #[serde(default)]
    time_limit_minutes: String,
}

fn number(field: &str, text: &str) -> Result<Option<i64>, ApiError> {
    some(text)
        .map(|n| {
            n.parse()
                .map_err(|_| ApiError::validation(field, "must be a whole number"))
        })
        .transpose()
}

#[post("/interview/sessions")]
pub async fn create_session(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<NewSessionForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let new = NewSession {
            kind: some(&form.kind),
            difficulty: number("difficulty", &form.difficulty)?,
            question_count: number("question_count", &form.question_count)?,
            time_limit_minutes: number("time_limit_minutes", &form.time_limit_minutes)?,
            ..NewSession::default()
        };
        sessions::create(&auth.tx, &auth.ctx, user, new).await
    };
    let to = |s: sessions::Session| format!("/interview/sessions/{}", s.session.id);
    INTERVIEW
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Template)]
#[template(path = "portal/session.html", config = "admin-ui/askama.toml")]
struct SessionPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    error: Option<String>,
    id: String,
    status: String,
    kind: String,
    time_limit_minutes: i32,
    answered: i64,
    questions: i64,
    score: Option<i16>,
    /// While in progress: the seconds left now (the countdown runs from them, not from the device's
    /// clock).
    seconds_left: Option<i64>,
    /// The question to answer now (in progress, time left).
    current: Option<QuestionView>,
    /// Every question with its answer and analysis (once the session is over).
    review: Vec<QuestionView>,
    /// The positions to move between while in progress: each answered or not, and the one shown.
    positions: Vec<(i16, bool, bool)>,
}

struct QuestionView {
    position: i16,
    kind: String,
    category: String,
    text: String,
    answer: String,
    score: Option<i16>,
    dimensions: Vec<(String, i64, String)>,
    suggestions: Vec<String>,
    covered: Vec<String>,
    missed: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// The question to show (its position), while in progress.
    q: Option<i16>,
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn question_view(q: sessions::SessionQuestionRow) -> QuestionView {
    let analysis = q.analysis.unwrap_or_default();
    QuestionView {
        position: q.position,
        kind: q.kind,
        category: q.category,
        text: q.text,
        answer: q.answer.unwrap_or_default(),
        score: q.score,
        dimensions: analysis["dimensions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|d| {
                        (
                            d["dimension"].as_str().unwrap_or_default().to_owned(),
                            d["score"].as_i64().unwrap_or_default(),
                            d["detail"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        suggestions: analysis["suggestions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|s| s["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        covered: strings(&analysis["points_covered"]),
        missed: strings(&analysis["points_missed"]),
    }
}

#[get("/interview/sessions/{interview_session_id}")]
pub async fn session_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    id: Path<Uuid>,
    query: ValidQuery<SessionQuery>,
) -> PageResult {
    let back = format!("/interview/sessions/{}", *id);
    match visit(&state, &tenant, &req, request, &back, INTERVIEW).await? {
        Ok(visit) => render_session(visit, *id, query.q, None, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

/// The session's page; after a refused answer, `typed` is what the member typed (kept in the form).
async fn render_session(
    visit: Visit,
    id: Uuid,
    asked: Option<i16>,
    refusal: Option<Refusal>,
    typed: Option<&str>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let session = sessions::get(&auth.tx, user.as_uuid(), id).await?;
    auth.tx.commit().await?;
    let now = auth.ctx.now;
    let row = session.session;
    let seconds_left = sessions::seconds_left(&row, now);
    let in_time = row.status == "in_progress" && seconds_left.is_some_and(|s| s > 0);
    let mut positions: Vec<(i16, bool, bool)> = match row.status.as_str() {
        "in_progress" => session
            .questions
            .iter()
            .map(|q| (q.position, q.score.is_some(), false))
            .collect(),
        _ => Vec::new(),
    };
    let (current, review) = match in_time {
        true => {
            // The question asked for, else the first not answered yet, else the last.
            let chosen = asked
                .and_then(|p| session.questions.iter().position(|q| q.position == p))
                .or_else(|| session.questions.iter().position(|q| q.score.is_none()))
                .unwrap_or(session.questions.len().saturating_sub(1));
            if let Some(shown) = positions.get_mut(chosen) {
                shown.2 = true;
            }
            let mut current = session.questions.into_iter().nth(chosen).map(question_view);
            if let (Some(q), Some(text)) = (current.as_mut(), typed) {
                q.answer = text.to_owned();
            }
            (current, Vec::new())
        }
        false if matches!(row.status.as_str(), "completed" | "abandoned") => (
            None,
            session.questions.into_iter().map(question_view).collect(),
        ),
        false => (None, Vec::new()),
    };
    html(
        status_of(refusal.as_ref()),
        SessionPage {
            org: &org,
            csrf: &csrf,
            nav,
            error: refusal.map(|r| r.message),
            id: row.id.to_string(),
            status: row.status.clone(),
            kind: row.kind.clone().unwrap_or_else(|| "any kind".into()),
            time_limit_minutes: row.time_limit_minutes,
            answered: row.answered,
            questions: row.questions,
            score: row.score,
            seconds_left,
            current,
            review,
            positions,
        },
    )
}

/// Starts the session: its clock runs from now.
#[post("/interview/sessions/{interview_session_id}/start")]
pub async fn start_session(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let id = *id;
    let back = format!("/interview/sessions/{id}");
    let page = async |visit, refusal| render_session(visit, id, None, Some(refusal), None).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        sessions::start(&auth.tx, &auth.ctx, user, id).await
    };
    let to = |_| format!("/interview/sessions/{id}");
    INTERVIEW
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerForm {
    csrf_token: String,
    answer: String,
}

/// Answers the question at `position` (again replaces the answer), then on to the next one.
#[post("/interview/sessions/{interview_session_id}/answers/{position}")]
pub async fn answer(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, i16)>,
    form: Form<AnswerForm>,
) -> PageResult {
    let (id, position) = path.into_inner();
    let form = form.into_inner();
    let back = format!("/interview/sessions/{id}");
    let typed = form.answer.clone();
    let page = async |visit, refusal| {
        render_session(visit, id, Some(position), Some(refusal), Some(&typed)).await
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        sessions::answer(
            &auth.tx,
            &auth.ctx,
            user,
            id,
            i64::from(position),
            &form.answer,
            None,
        )
        .await
    };
    let to = |_| format!("/interview/sessions/{id}");
    INTERVIEW
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Ends the session, scoring what was answered.
#[post("/interview/sessions/{interview_session_id}/complete")]
pub async fn complete_session(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    end_session(&state, &tenant, &req, *id, &form.csrf_token, true).await
}

/// Ends the session without a score.
#[post("/interview/sessions/{interview_session_id}/abandon")]
pub async fn abandon_session(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    end_session(&state, &tenant, &req, *id, &form.csrf_token, false).await
}

async fn end_session(
    state: &AppState,
    tenant: &Tenant,
    req: &HttpRequest,
    id: Uuid,
    csrf_token: &str,
    completed: bool,
) -> PageResult {
    let back = format!("/interview/sessions/{id}");
    let page = async |visit, refusal| render_session(visit, id, None, Some(refusal), None).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        sessions::finish(&auth.tx, &auth.ctx, user, id, completed).await
    };
    let to = |_| format!("/interview/sessions/{id}");
    INTERVIEW
        .again(state, tenant, req, &back)
        .post_as_member(csrf_token, act, to, page)
        .await
}
