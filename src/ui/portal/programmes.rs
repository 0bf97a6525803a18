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

use super::{caller, mentoring::NETWORKING};
use crate::{
    auth::Authenticated,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::networking::programmes::{self, JoinInput},
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::{Again, CsrfOnly},
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
    /// How the member takes part (or typed in a refused form), for the join forms.
    goals: String,
    languages: String,
    timezone: String,
    my_places: String,
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
    let member = caller(state, &auth).await?;
    let rows = programmes::list(&auth.tx, member).await?;
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
            goals: String::new(),
            languages: String::new(),
            timezone: String::new(),
            my_places: "1".into(),
        };
        if let Some((_, form)) = typed.filter(|(id, _)| *id == p.id) {
            view.goals = form.goals.clone();
            view.languages = form.languages.clone();
            view.timezone = form.timezone.clone();
            view.my_places = form.places.clone();
        } else if p.my_role.is_some() {
            let mine = programmes::participation(&auth.tx, p.id, member.user).await?;
            view.goals = mine.goals;
            view.languages = mine.languages.join(", ");
            view.timezone = mine.timezone.unwrap_or_default();
            view.my_places = mine.places.map(|n| n.to_string()).unwrap_or("1".into());
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
        },
    )
}

fn again<'a>(state: &'a AppState, tenant: &'a Tenant, req: &'a HttpRequest) -> Again<'a> {
    Again {
        state,
        tenant,
        req,
        back: BACK,
        needed: NETWORKING,
    }
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
        let member = caller(&state, auth).await?;
        let input = if form.role == "mentor" {
            let places = form
                .places
                .trim()
                .parse()
                .map_err(|_| ApiError::validation("places", "must be a whole number"))?;
            JoinInput {
                role: form.role.clone(),
                places: Some(places),
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
    again(&state, &tenant, &req)
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
        let member = caller(&state, auth).await?;
        programmes::leave(&auth.tx, &auth.ctx, member, id).await
    };
    let to = |_| "/programmes?done=left".to_owned();
    again(&state, &tenant, &req)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
