//! Referrals (`/referrals`): the organization's open positions with their referral bonus, referring a
//! candidate to one (as the API does: a posting that is not open is not found; the same candidate twice
//! is refused), and where each of the member's referrals stands in HR's pipeline.

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
    domain::UserId,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::{
        analytics::capture::FeatureEvent,
        networking::{
            postings,
            referrals::{self, Candidate, ReferralRow},
        },
    },
    state::AppState,
    tenancy::Tenant,
    ui::frame::{Nav, PageResult, Refusal, Visit, html, some, status_of, visit},
};

const BACK: &str = "/referrals";

#[derive(Template)]
#[template(path = "portal/referrals.html", config = "admin-ui/askama.toml")]
struct ReferralsPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    postings: Vec<PostingView>,
    mine: Vec<ReferralView>,
}

struct PostingView {
    id: String,
    title: String,
    department: String,
    location: String,
    description: String,
    bonus: String,
}

struct ReferralView {
    posting: String,
    candidate: String,
    status: String,
    bonus: String,
    since: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralsQuery {
    #[serde(default)]
    done: String,
}

#[get("/referrals")]
pub async fn referrals_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<ReferralsQuery>,
) -> PageResult {
    let notice = (query.done == "referred")
        .then_some("Thank you: your referral is with HR. Its status shows here as it moves.");
    match visit(&state, &tenant, &req, request, BACK, NETWORKING).await? {
        Ok(visit) => render(visit, notice, None).await,
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
    let postings = postings::list(&auth.tx, Some("open"))
        .await?
        .into_iter()
        .map(|p| PostingView {
            id: p.id.to_string(),
            title: p.title,
            department: p.department,
            location: p.location,
            description: p.description,
            bonus: p.referral_bonus,
        })
        .collect();
    let mine = referrals::of_referrer(&auth.tx, user.as_uuid())
        .await?
        .into_iter()
        .map(|r| ReferralView {
            posting: r.posting_title,
            candidate: r.candidate_name,
            status: r.status.replace('_', " "),
            // Before a hire the bonus is only a promise: its status means something once hired.
            bonus: match (r.referral_bonus.as_str(), r.hired_at.is_some()) {
                ("", _) => String::new(),
                (bonus, false) => format!("{bonus} on hire"),
                (bonus, true) => format!("{bonus} ({})", r.bonus_status.replace('_', " ")),
            },
            since: r.status_changed_at.to_utc().format("%-d %b %Y").to_string(),
        })
        .collect();
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        ReferralsPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            postings,
            mine,
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferForm {
    csrf_token: String,
    candidate_name: String,
    candidate_email: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    resume_url: String,
}

/// Refers a candidate to an open posting.
#[post("/referrals/{posting_id}")]
pub async fn refer(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    posting_id: Path<Uuid>,
    form: Form<ReferForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(visit, None, Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        // A posting that is not open is not found here, as in the API for members.
        if referrals::posting_status(&auth.tx, *posting_id)
            .await?
            .is_none_or(|s| s != "open")
        {
            return Err(ApiError::not_found());
        }
        let candidate = Candidate {
            name: form.candidate_name.clone(),
            email: form.candidate_email.clone(),
            note: form.note.clone(),
            resume_url: some(&form.resume_url),
        };
        referrals::refer(&auth.tx, &auth.ctx, user, *posting_id, candidate).await
    };
    // After the commit, as the API does: the referral counts in the organization's usage figures.
    let to = |r: ReferralRow| {
        let referrer = r.referrer_id.map(UserId::from_uuid);
        let event = FeatureEvent::ReferralSubmitted;
        state.usage.feature(tenant.id, referrer, event, "");
        "/referrals?done=referred".to_owned()
    };
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
