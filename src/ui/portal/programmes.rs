//! Mentoring programmes (`/programmes`): the cohorts HR runs that the member may see — open ones to
//! join, published ones and those they are in — with how they take part; joining an open one as mentee
//! (goals, languages, time zone) or as mentor (places, from their mentor profile), changing that, and
//! leaving while it is open. Matches, once published, are mentorships on `/mentoring`.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::mentoring::NETWORKING;
use crate::{
    auth::Authenticated,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::networking::{
        Caller, mentors,
        programmes::{self, JoinInput},
    },
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::CsrfOnly,
        frame::{Nav, PageResult, Refusal, Visit, html, some, status_of, visit},
    },
};

const BACK: &str = "/programmes";

struct ProgrammeView {
    id: String,
    name: String,
    description: String,
    owner: String,
    status: String,
    open: bool,
    mentors: i64,
    mentees: i64,
    places: i64,
    /// `mentor`, `mentee`, or empty.
    my_role: String,
    /// The places the member gives it, as a mentor.
    my_places: i64,
    /// The join forms' fields: how the member takes part, or what a refused form held.
    goals: String,
    languages: String,
    timezone: String,
    /// The places offered as a mentor.
    offer: String,
    /// A form of this programme was refused: its part stays open.
    refused: bool,
}

#[derive(Template)]
#[template(path = "portal/programmes.html", config = "admin-ui/askama.toml")]
struct ProgrammesPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    programmes: Vec<ProgrammeView>,
    /// The most places the member may give one programme as a mentor (none: no active mentor profile).
    mentor_places: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammesQuery {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "joined" => Some("You are in: the programme's owner matches the cohort once it closes."),
        "left" => Some("You left the programme."),
        _ => None,
    }
}

#[get("/programmes")]
pub async fn programmes_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<ProgrammesQuery>,
) -> PageResult {
    match visit(&state, &tenant, &req, request, BACK, NETWORKING).await? {
        Ok(visit) => render(&state, visit, notice(&query.done), None, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render(
    state: &AppState,
    visit: Visit,
    notice: Option<&str>,
    refusal: Option<Refusal>,
    typed: Option<(Uuid, &JoinForm)>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let member = Caller::of(state, &auth).await?;
    let rows = programmes::list(&auth.tx, member).await?;
    let mentor_places = match mentors::get(&auth.tx, member.user).await {
        Ok(profile) if profile.row.active => {
            Some(programmes::MAX_PLACES.min(i64::from(profile.row.mentee_limit)))
        }
        Ok(_) | Err(ApiError::NotFound { .. }) => None,
        Err(error) => return Err(error),
    };
    let mut views = Vec::with_capacity(rows.len());
    for p in rows {
        let mut view = ProgrammeView {
            id: p.id.to_string(),
            open: p.status == "open",
            status: p.status,
            name: p.name,
            description: p.description,
            owner: p.owner_name.unwrap_or_default(),
            mentors: p.mentors,
            mentees: p.mentees,
            places: p.places,
            my_role: p.my_role.clone().unwrap_or_default(),
            my_places: 0,
            goals: String::new(),
            languages: String::new(),
            timezone: String::new(),
            offer: "1".into(),
            refused: false,
        };
        if p.my_role.is_some() {
            let mine = programmes::participation(&auth.tx, p.id, member.user).await?;
            view.my_places = mine.places.map_or(0, i64::from);
            view.goals = mine.goals;
            view.languages = mine.languages.join(", ");
            view.timezone = mine.timezone.unwrap_or_default();
            if view.my_places > 0 {
                view.offer = view.my_places.to_string();
            }
        }
        // A refused form shows what was typed in that form only.
        if let Some((_, form)) = typed.filter(|(id, _)| *id == p.id) {
            view.refused = true;
            if form.role == "mentor" {
                view.offer = form.places.clone();
            } else {
                view.goals = form.goals.clone();
                view.languages = form.languages.clone();
                view.timezone = form.timezone.clone();
            }
        }
        views.push(view);
    }
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        ProgrammesPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            programmes: views,
            mentor_places,
        },
    )
}

/// Joining as a mentee (goals, languages, time zone) or as a mentor (places): each form sends its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinForm {
    csrf_token: String,
    role: String,
    #[serde(default)]
    goals: String,
    #[serde(default)]
    languages: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    places: String,
}

/// Joins an open programme, or changes how the member takes part.
#[post("/programmes/{programme_id}/join")]
pub async fn join(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<JoinForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let page =
        async |visit, refusal| render(&state, visit, None, Some(refusal), Some((id, &form))).await;
    let act = async |auth: &Authenticated, _: Uuid| {
        let member = Caller::of(&state, auth).await?;
        let input = if form.role == "mentor" {
            // Empty: one place, as the API's default.
            let places = match form.places.trim() {
                "" => None,
                text => Some(
                    text.parse()
                        .map_err(|_| ApiError::validation("places", "must be a whole number"))?,
                ),
            };
            JoinInput {
                role: form.role.clone(),
                places,
                goals: String::new(),
                languages: Vec::new(),
                timezone: None,
            }
        } else {
            JoinInput {
                role: form.role.clone(),
                places: None,
                goals: form.goals.clone(),
                languages: form.languages.split(',').filter_map(some).collect(),
                timezone: some(&form.timezone),
            }
        };
        programmes::join(&auth.tx, &auth.ctx, member, id, input).await
    };
    let to = |_| "/programmes?done=joined".to_owned();
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Leaves an open programme.
#[post("/programmes/{programme_id}/leave")]
pub async fn leave(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let id = *id;
    let page = async |visit, refusal| render(&state, visit, None, Some(refusal), None).await;
    let act = async |auth: &Authenticated, _: Uuid| {
        let member = Caller::of(&state, auth).await?;
        programmes::leave(&auth.tx, &auth.ctx, member, id).await
    };
    let to = |_| "/programmes?done=left".to_owned();
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
