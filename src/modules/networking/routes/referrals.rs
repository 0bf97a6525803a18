//! Referrals: `POST /api/v1/network/postings/{posting_id}/referrals` (a member refers a candidate),
//! `/api/v1/network/referrals/mine` (the referrer's view), `/api/v1/network/referrals` (HR's), and the
//! candidate's link, `/api/v1/network/referral-links/{tracking_code}`, which needs no sign-in.

use actix_web::{
    HttpResponse, get, patch, post,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{manages, open};
use crate::{
    auth::AccessToken,
    authz::Act,
    error::{ApiError, ApiResult},
    http::{ValidJson, ValidQuery},
    modules::networking::referrals::{self, Candidate, ReferralRow, Review},
    state::AppState,
    tenancy::{Tenant, TenantTx, plan::Feature},
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralPosting {
    pub id: Uuid,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralReferrer {
    pub id: Uuid,
    pub display_name: String,
}

/// A referral as its referrer sees it: no contact details, résumé or HR notes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyReferralResponse {
    pub id: Uuid,
    pub posting: ReferralPosting,
    pub candidate_name: String,
    /// `submitted`, `screening`, `interviewing`, `hired` or `rejected`.
    pub status: String,
    /// The bonus the posting offered when the candidate was referred; empty: none.
    pub referral_bonus: String,
    /// `not_eligible`, `pending`, `approved` or `paid`.
    pub bonus_status: String,
    /// The link to send the candidate: it shows the posting, nothing else.
    pub tracking_url: String,
    pub created_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub hired_at: Option<DateTime<Utc>>,
}

/// A referral as HR sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralResponse {
    pub id: Uuid,
    pub posting: ReferralPosting,
    /// Null once the referrer's account is deleted.
    pub referrer: Option<ReferralReferrer>,
    pub candidate_name: String,
    pub candidate_email: String,
    pub note: String,
    pub resume_url: Option<String>,
    pub tracking_url: String,
    pub status: String,
    pub hr_notes: String,
    /// The bonus the posting offered when the candidate was referred; empty: none.
    pub referral_bonus: String,
    pub bonus_status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub hired_at: Option<DateTime<Utc>>,
}

fn tracking_url(state: &AppState, tenant: &Tenant, scheme: &str, code: &str) -> String {
    state.tenant_url(
        scheme,
        &tenant.slug,
        &format!("/api/v1/network/referral-links/{code}"),
    )
}

fn mine(row: ReferralRow, url: String) -> MyReferralResponse {
    MyReferralResponse {
        id: row.id,
        posting: ReferralPosting {
            id: row.posting_id,
            title: row.posting_title,
        },
        candidate_name: row.candidate_name,
        status: row.status,
        referral_bonus: row.referral_bonus,
        bonus_status: row.bonus_status,
        tracking_url: url,
        created_at: row.created_at.to_utc(),
        status_changed_at: row.status_changed_at.to_utc(),
        hired_at: row.hired_at.map(|t| t.to_utc()),
    }
}

fn full(row: ReferralRow, url: String) -> ReferralResponse {
    ReferralResponse {
        id: row.id,
        posting: ReferralPosting {
            id: row.posting_id,
            title: row.posting_title,
        },
        referrer: row
            .referrer_id
            .zip(row.referrer_name)
            .map(|(id, display_name)| ReferralReferrer { id, display_name }),
        candidate_name: row.candidate_name,
        candidate_email: row.candidate_email,
        note: row.note,
        resume_url: row.resume_url,
        tracking_url: url,
        status: row.status,
        hr_notes: row.hr_notes,
        referral_bonus: row.referral_bonus,
        bonus_status: row.bonus_status,
        created_at: row.created_at.to_utc(),
        updated_at: row.updated_at.to_utc(),
        status_changed_at: row.status_changed_at.to_utc(),
        hired_at: row.hired_at.map(|t| t.to_utc()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyReferralsResponse {
    pub items: Vec<MyReferralResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralsResponse {
    pub items: Vec<ReferralResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"candidate_name": "Jordan Reyes", "candidate_email": "jordan.reyes@example.net", "note": "Led the data platform at her last company.", "resume_url": "https://cv.example.net/jordan"}))]
pub struct CreateReferralRequest {
    /// 1 to 200 characters.
    pub candidate_name: String,
    /// Not someone already in the organization.
    pub candidate_email: String,
    /// Why they fit; at most 2,000 characters.
    #[serde(default)]
    pub note: String,
    /// An http(s) link to their résumé.
    pub resume_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "hired"}))]
pub struct ReviewReferralRequest {
    /// Forward along `submitted`, `screening`, `interviewing`, `hired`, or `rejected`.
    pub status: Option<String>,
    /// `approved`, `paid` or `not_eligible`, once hired.
    pub bonus_status: Option<String>,
    /// HR's private notes; at most 5,000 characters.
    pub hr_notes: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListReferralsQuery {
    pub posting_id: Option<Uuid>,
    /// One pipeline status.
    pub status: Option<String>,
}

/// What the candidate's link shows: the posting while it is open; once it is not, only its title.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralLinkResponse {
    pub title: String,
    pub department: Option<String>,
    pub location: Option<String>,
    pub description: Option<String>,
    /// Whether the posting is still open.
    pub open: bool,
}

/// Refers a candidate to an open posting.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("posting_id" = Uuid, Path, description = "The posting's id")),
    request_body = CreateReferralRequest,
    responses(
        (status = 201, description = "Referred", body = MyReferralResponse),
        (status = 409, description = "The posting is not open, or the candidate is referred to it already", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/postings/{posting_id}/referrals")]
pub async fn create_referral(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    posting_id: Path<Uuid>,
    body: ValidJson<CreateReferralRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let hr = manages(&state, &auth).await;
    // A posting a member cannot see is not found, as on GET.
    if !hr
        && referrals::posting_status(&auth.tx, *posting_id)
            .await?
            .is_none_or(|s| s != "open")
    {
        return Err(ApiError::not_found());
    }
    let body = body.into_inner();
    let row = referrals::refer(
        &auth.tx,
        &auth.ctx,
        user.as_uuid(),
        *posting_id,
        Candidate {
            name: body.candidate_name,
            email: body.candidate_email,
            note: body.note,
            resume_url: body.resume_url,
        },
    )
    .await?;
    auth.tx.commit().await?;
    state.usage.feature(
        tenant.id,
        Some(user),
        crate::modules::analytics::capture::FeatureEvent::ReferralSubmitted,
        "",
    );
    let url = tracking_url(&state, &tenant, auth.ctx.request.scheme, &row.tracking_code);
    Ok(HttpResponse::Created().json(mine(row, url)))
}

/// The caller's referrals and where each stands.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's referrals", body = MyReferralsResponse))
)]
#[get("/network/referrals/mine")]
pub async fn my_referrals(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<MyReferralsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let rows = referrals::of_referrer(&auth.tx, user.as_uuid()).await?;
    auth.tx.commit().await?;
    let scheme = auth.ctx.request.scheme;
    Ok(Json(MyReferralsResponse {
        items: rows
            .into_iter()
            .map(|r| {
                let url = tracking_url(&state, &tenant, scheme, &r.tracking_code);
                mine(r, url)
            })
            .collect(),
    }))
}

/// Every referral, with the candidates' details (HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(ListReferralsQuery),
    responses((status = 200, description = "The referrals", body = ReferralsResponse))
)]
#[get("/network/referrals")]
pub async fn list_referrals(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<ListReferralsQuery>,
) -> ApiResult<Json<ReferralsResponse>> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let query = query.into_inner();
    if let Some(status) = &query.status
        && !referrals::PIPELINE.contains(&status.as_str())
        && status != "rejected"
    {
        return Err(ApiError::validation(
            "status",
            "must be submitted, screening, interviewing, hired or rejected",
        ));
    }
    let rows = referrals::list(&auth.tx, query.posting_id, query.status.as_deref()).await?;
    auth.tx.commit().await?;
    let scheme = auth.ctx.request.scheme;
    Ok(Json(ReferralsResponse {
        items: rows
            .into_iter()
            .map(|r| {
                let url = tracking_url(&state, &tenant, scheme, &r.tracking_code);
                full(r, url)
            })
            .collect(),
    }))
}

/// One referral, with the candidate's details (HR; a referrer follows theirs in `/referrals/mine`).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("referral_id" = Uuid, Path, description = "The referral's id")),
    responses((status = 200, description = "The referral", body = ReferralResponse))
)]
#[get("/network/referrals/{referral_id}")]
pub async fn get_referral(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<ReferralResponse>> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let row = referrals::get(&auth.tx, *id).await?;
    auth.tx.commit().await?;
    let url = tracking_url(&state, &tenant, auth.ctx.request.scheme, &row.tracking_code);
    Ok(Json(full(row, url)))
}

/// Moves a referral along the pipeline, settles its bonus, keeps notes (HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("referral_id" = Uuid, Path, description = "The referral's id")),
    request_body = ReviewReferralRequest,
    responses(
        (status = 200, description = "Changed", body = ReferralResponse),
        (status = 409, description = "Not a move the pipeline or the bonus allows", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/network/referrals/{referral_id}")]
pub async fn review_referral(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<ReviewReferralRequest>,
) -> ApiResult<Json<ReferralResponse>> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let body = body.into_inner();
    let hiring = body.status.as_deref() == Some("hired");
    let row = referrals::review(
        &auth.tx,
        &auth.ctx,
        *id,
        Review {
            status: body.status,
            bonus_status: body.bonus_status,
            hr_notes: body.hr_notes,
        },
    )
    .await?;
    auth.tx.commit().await?;
    if hiring && row.status == "hired" {
        state.usage.feature(
            tenant.id,
            None,
            crate::modules::analytics::capture::FeatureEvent::ReferralHired,
            "",
        );
    }
    let url = tracking_url(&state, &tenant, auth.ctx.request.scheme, &row.tracking_code);
    Ok(Json(full(row, url)))
}

/// What a candidate's referral link shows: the posting, nothing about who referred them. No sign-in;
/// an unknown code is 404.
#[utoipa::path(
    tag = "networking",
    params(("tracking_code" = String, Path, description = "The referral's tracking code")),
    responses((status = 200, description = "The posting", body = ReferralLinkResponse))
)]
#[get("/network/referral-links/{tracking_code}")]
pub async fn referral_link(
    state: Data<AppState>,
    tenant: Tenant,
    code: Path<String>,
) -> ApiResult<Json<ReferralLinkResponse>> {
    tenant.require(&state.settings.plans, Feature::Networking)?;
    if code.len() > 64 {
        return Err(ApiError::not_found());
    }
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let link = referrals::by_code(&tx, &code).await?;
    tx.commit().await?;
    let open = link.status == "open";
    Ok(Json(ReferralLinkResponse {
        open,
        title: link.title,
        department: open.then_some(link.department),
        location: open.then_some(link.location),
        description: open.then_some(link.description),
    }))
}
