//! "My career" (`/career`): the member's skill profile — each skill's effective level, a self rating
//! and "want to develop", adding a skill found by name, taking one off — and their goal: readiness for
//! its role with every requirement against their level and the gaps with the courses that teach them,
//! and closing it. A goal is set from a role's page ([`super::pathways`]).

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    search_text, searched,
    views::{ReadinessView, my_courses},
};
use crate::{
    auth::Authenticated,
    authz::{Act, Obj},
    error::ApiError,
    http::{RequestContext, ValidQuery, pagination::PageRequest},
    modules::career::{
        goals, pathways,
        profiles::{self, NewRating, OwnChange},
        readiness::Source,
        taxonomy::{self, SkillFilter},
    },
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::CsrfOnly,
        frame::{Nav, Need, PageResult, Refusal, Visit, html, some, status_of, visit},
    },
};

/// Every career page needs the member's own use of the career area.
pub(super) const CAREER: Need = Need {
    feature: None,
    permission: Some((Obj::Career, Act::Use)),
};
const BACK: &str = "/career";
/// Skills a search lists at most.
const FOUND: u64 = 20;

#[derive(Template)]
#[template(path = "portal/career.html", config = "admin-ui/askama.toml")]
struct CareerPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    skills: Vec<SkillView>,
    /// The search typed, and the skills found that are not on the profile yet.
    q: &'a str,
    found: Vec<(String, String)>,
    goal: Option<GoalView>,
    has_reports: bool,
}

struct SkillView {
    id: String,
    name: String,
    level: String,
    /// The member's latest own rating (a new one is given only when chosen: saving the row without
    /// choosing keeps it, and its age).
    own: Option<u8>,
    want_to_develop: bool,
    retired: bool,
}

struct GoalView {
    id: String,
    role_id: String,
    role: String,
    target_date: Option<String>,
    note: String,
    readiness: ReadinessView,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareerQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "skill" => Some("Your profile was saved."),
        "removed" => Some("The skill was taken off your profile."),
        "goal" => Some("Your goal is set."),
        "closed" => Some("Your goal is closed."),
        _ => None,
    }
}

#[get("/career")]
pub async fn career_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<CareerQuery>,
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
    let user = user.as_uuid();
    let tx = &auth.tx;
    let now = auth.ctx.now;
    let skills = profiles::skills(tx, user, now).await?;
    let levels = profiles::levels(&skills);
    let found = match search_text(q)? {
        Some(search) => {
            let filter = SkillFilter {
                search: Some(search),
                ..SkillFilter::default()
            };
            // Those on the profile already are left out: look further than the page shows.
            let page = PageRequest {
                limit: FOUND + levels.len() as u64,
                after: None,
            };
            taxonomy::list_skills(tx, &filter, &page)
                .await?
                .into_iter()
                .filter(|s| !levels.contains_key(&s.id))
                .take(FOUND as usize)
                .map(|s| (s.id.to_string(), s.name))
                .collect()
        }
        None => Vec::new(),
    };
    let goal = match goals::active(tx, user).await? {
        Some(goal) => {
            let readiness = pathways::readiness_for(tx, goal.target_role_id, &levels).await?;
            Some(GoalView {
                id: goal.id.to_string(),
                role_id: goal.target_role_id.to_string(),
                role: goal.target_role_title,
                target_date: goal.target_date.map(|d| d.format("%-d %B %Y").to_string()),
                note: goal.note,
                readiness: ReadinessView::of(readiness, usize::MAX, 3)
                    .with_enrolments(&my_courses(tx, user).await?),
            })
        }
        None => None,
    };
    let has_reports = super::has_reports(tx, user).await?;
    let skills = skills
        .into_iter()
        .map(|s| SkillView {
            id: s.skill_id.to_string(),
            own: s
                .effective
                .contributions
                .iter()
                .find(|c| c.source == Source::SelfRated)
                .map(|c| c.level),
            level: format!("{:.1}", s.effective.level),
            want_to_develop: s.want_to_develop,
            retired: s.status != "active",
            name: s.name,
        })
        .collect();
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        CareerPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            skills,
            q,
            found,
            goal,
            has_reports,
        },
    )
}

/// A skill's row: a self rating (empty: none this time) and "want to develop" (a checkbox).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillForm {
    csrf_token: String,
    #[serde(default)]
    level: String,
    want_to_develop: Option<String>,
}

/// Adds the skill to the member's profile or changes it.
#[post("/career/skills/{skill_id}")]
pub async fn save_skill(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    skill_id: Path<Uuid>,
    form: Form<SkillForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, "", None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let rating = match form.level.trim() {
            "" => None,
            level => {
                let level = level
                    .parse::<i64>()
                    .map_err(|_| ApiError::validation("level", "must be between 1 and 5"))?;
                Some(NewRating::parse(level, Source::SelfRated, "")?)
            }
        };
        let change = OwnChange {
            rating,
            want_to_develop: Some(form.want_to_develop.is_some()),
        };
        Ok(profiles::set_own_skill(&auth.tx, &auth.ctx, user, *skill_id, change).await?)
    };
    let to = |()| "/career?done=skill".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Takes the skill off the member's profile, with its ratings.
#[post("/career/skills/{skill_id}/remove")]
pub async fn remove_skill(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    skill_id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let page = async |visit, refusal| render(visit, "", None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        Ok(profiles::remove_own_skill(&auth.tx, &auth.ctx, user, *skill_id).await?)
    };
    let to = |()| "/career?done=removed".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// A goal: the role (from its page), a date and a note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalForm {
    csrf_token: String,
    target_role_id: Uuid,
    #[serde(default)]
    target_date: String,
    #[serde(default)]
    note: String,
}

/// Sets the member's goal (409 while another is active).
#[post("/career/goal")]
pub async fn set_goal(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<GoalForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, "", None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let target_date = match some(&form.target_date) {
            Some(date) => Some(
                date.parse()
                    .map_err(|_| ApiError::validation("target_date", "must be a date"))?,
            ),
            None => None,
        };
        let new = goals::NewGoal {
            target_role_id: form.target_role_id,
            target_date,
            note: form.note.clone(),
        };
        Ok(goals::create(&auth.tx, &auth.ctx, user, new).await?)
    };
    let to = |_| "/career?done=goal".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseGoalForm {
    csrf_token: String,
    /// `achieved` or `abandoned`.
    status: String,
}

/// Closes the member's goal, achieved or abandoned.
#[post("/career/goal/{goal_id}/close")]
pub async fn close_goal(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    goal_id: Path<Uuid>,
    form: Form<CloseGoalForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, "", None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let change = goals::GoalChange {
            status: Some(form.status.clone()),
            ..goals::GoalChange::default()
        };
        Ok(goals::update(&auth.tx, &auth.ctx, user, *goal_id, change).await?)
    };
    let to = |_| "/career?done=closed".to_owned();
    CAREER
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
