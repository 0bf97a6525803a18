//! `/api/v1/network/postings`: internal job postings. Every member (`networking:use`) sees the open
//! ones; HR (`networking:manage`) sees and manages all.

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
    modules::networking::postings::{self, PostingFields, PostingRow},
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPostingResponse {
    pub id: Uuid,
    pub title: String,
    pub department: String,
    pub location: String,
    pub description: String,
    /// What a hire through a referral earns the referrer ("€2,000 after six months"); empty: none.
    pub referral_bonus: String,
    /// `open`, `on_hold` or `closed`.
    pub status: String,
    /// Referrals to it; for HR only.
    pub referrals: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl JobPostingResponse {
    fn new(row: PostingRow, hr: bool) -> JobPostingResponse {
        JobPostingResponse {
            id: row.id,
            title: row.title,
            department: row.department,
            location: row.location,
            description: row.description,
            referral_bonus: row.referral_bonus,
            status: row.status,
            referrals: hr.then_some(row.referrals),
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPostingsResponse {
    pub items: Vec<JobPostingResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPostingsQuery {
    /// `open` (the default, and the only one members see), `on_hold`, `closed` or `all` (HR).
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Senior Data Engineer", "department": "Platform", "location": "Berlin or remote", "description": "Own the event pipeline.", "referral_bonus": "€2,000 after six months"}))]
pub struct CreatePostingRequest {
    /// 1 to 200 characters.
    pub title: String,
    pub department: Option<String>,
    pub location: Option<String>,
    /// Markdown; at most 10,000 characters.
    pub description: Option<String>,
    /// At most 200 characters; empty or absent: no bonus.
    pub referral_bonus: Option<String>,
    /// `open` (default), `on_hold` or `closed`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "closed"}))]
pub struct UpdatePostingRequest {
    pub title: Option<String>,
    pub department: Option<String>,
    pub location: Option<String>,
    pub description: Option<String>,
    pub referral_bonus: Option<String>,
    pub status: Option<String>,
}

/// Job postings: the open ones, or (HR) any.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(ListPostingsQuery),
    responses((status = 200, description = "The postings", body = JobPostingsResponse))
)]
#[get("/network/postings")]
pub async fn list_postings(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<ListPostingsQuery>,
) -> ApiResult<Json<JobPostingsResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let hr = manages(&state, &auth).await;
    let status = query.into_inner().status.unwrap_or_else(|| "open".into());
    let filter = match status.as_str() {
        "open" => Some("open"),
        "on_hold" | "closed" if hr => Some(status.as_str()),
        "all" if hr => None,
        "on_hold" | "closed" | "all" => {
            return Err(ApiError::forbidden(
                "forbidden",
                "only HR (networking:manage) sees postings that are not open",
            ));
        }
        _ => {
            return Err(ApiError::validation(
                "status",
                "must be open, on_hold, closed or all",
            ));
        }
    };
    let rows = postings::list(&auth.tx, filter).await?;
    auth.tx.commit().await?;
    Ok(Json(JobPostingsResponse {
        items: rows
            .into_iter()
            .map(|r| JobPostingResponse::new(r, hr))
            .collect(),
    }))
}

/// Opens a posting (HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    request_body = CreatePostingRequest,
    responses((status = 201, description = "Created", body = JobPostingResponse))
)]
#[post("/network/postings")]
pub async fn create_posting(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreatePostingRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let body = body.into_inner();
    let author = auth.principal.user_id().map(|u| u.as_uuid());
    let row = postings::create(
        &auth.tx,
        &auth.ctx,
        author,
        PostingFields {
            title: Some(body.title),
            department: body.department,
            location: body.location,
            description: body.description,
            referral_bonus: body.referral_bonus,
            status: body.status,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(JobPostingResponse::new(row, true)))
}

/// One posting: an open one for anyone, any for HR.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("posting_id" = Uuid, Path, description = "The posting's id")),
    responses((status = 200, description = "The posting", body = JobPostingResponse))
)]
#[get("/network/postings/{posting_id}")]
pub async fn get_posting(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<JobPostingResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let hr = manages(&state, &auth).await;
    let row = postings::get(&auth.tx, *id).await?;
    if !hr && row.status != "open" {
        return Err(ApiError::not_found());
    }
    auth.tx.commit().await?;
    Ok(Json(JobPostingResponse::new(row, hr)))
}

/// Changes a posting, holds or closes it (HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("posting_id" = Uuid, Path, description = "The posting's id")),
    request_body = UpdatePostingRequest,
    responses((status = 200, description = "Changed", body = JobPostingResponse))
)]
#[patch("/network/postings/{posting_id}")]
pub async fn update_posting(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<UpdatePostingRequest>,
) -> ApiResult<Json<JobPostingResponse>> {
    let auth = open(&state, &tenant, token, Act::Manage).await?;
    let body = body.into_inner();
    let row = postings::update(
        &auth.tx,
        &auth.ctx,
        *id,
        PostingFields {
            title: body.title,
            department: body.department,
            location: body.location,
            description: body.description,
            referral_bonus: body.referral_bonus,
            status: body.status,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(JobPostingResponse::new(row, true)))
}
