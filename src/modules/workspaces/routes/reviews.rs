//! `/api/v1/workspaces/{workspace_id}/documents/{document_id}/reviews`: asking for a review, the
//! approvers' decisions in their turn, withdrawing, and a document's review history.

use actix_web::{
    HttpResponse, get, post,
    web::{Data, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{commit, documents::DocumentPerson, open};
use crate::{
    auth::AccessToken,
    error::{ApiError, ApiResult},
    http::ValidJson,
    modules::workspaces::reviews::{self, Ask, Decision, Review},
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewResponse {
    pub id: Uuid,
    pub document_id: Uuid,
    /// The version under review.
    pub version: i32,
    /// `chain` (each approver in order) or `any` (the first decision settles it).
    pub mode: String,
    /// `open`, `approved`, `changes_requested` or `withdrawn`.
    pub status: String,
    pub message: String,
    pub requested_by: Option<DocumentPerson>,
    /// Whose turn it is (empty once closed).
    pub waiting_on: Vec<Uuid>,
    pub approvers: Vec<ApproverResponse>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApproverResponse {
    /// From 1, the order of a chain.
    pub position: i32,
    pub user: DocumentPerson,
    /// `approved`, `changes_requested`, or null while undecided.
    pub decision: Option<String>,
    pub comment: String,
    pub decided_at: Option<DateTime<Utc>>,
    /// How often they were reminded in their turn.
    pub reminded: i32,
}

impl From<Review> for ReviewResponse {
    fn from(review: Review) -> ReviewResponse {
        let waiting_on = review.waiting_on().iter().map(|a| a.user_id).collect();
        let r = review.review;
        ReviewResponse {
            id: r.id,
            document_id: r.document_id,
            version: r.version,
            mode: r.mode,
            status: r.status,
            message: r.message,
            requested_by: r
                .requested_by
                .zip(r.requested_by_name)
                .map(|(id, display_name)| DocumentPerson { id, display_name }),
            waiting_on,
            approvers: review
                .approvers
                .into_iter()
                .map(|a| ApproverResponse {
                    position: a.position,
                    user: DocumentPerson {
                        id: a.user_id,
                        display_name: a.name,
                    },
                    decision: a.decision,
                    comment: a.comment,
                    decided_at: a.decided_at.map(|t| t.to_utc()),
                    reminded: a.reminded,
                })
                .collect(),
            created_at: r.created_at.to_utc(),
            closed_at: r.closed_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewsResponse {
    pub items: Vec<ReviewResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mode": "chain", "approvers": ["0192f5e4-7a3b-7c1d-9e2f-3a4b5c6d7e8f"], "message": "Ready for a last look"}))]
pub struct RequestReviewRequest {
    /// `chain` (in the order given) or `any`; absent: the workspace's `default_review_mode`.
    pub mode: Option<String>,
    /// 1 to 10 members of the workspace who may comment, not the requester.
    pub approvers: Vec<Uuid>,
    /// At most 2,000 characters.
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "request_changes", "comment": "Shorten the second paragraph."}))]
pub struct DecideReviewRequest {
    /// `approve` or `request_changes`.
    pub decision: String,
    /// Required when requesting changes; at most 5,000 characters.
    #[serde(default)]
    pub comment: String,
}

/// A document's reviews, the newest first.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    responses((status = 200, description = "The reviews", body = ReviewsResponse))
)]
#[get("/workspaces/{workspace_id}/documents/{document_id}/reviews")]
pub async fn list_reviews(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document) = path.into_inner();
    let rows = reviews::list(&auth.tx, user, workspace, document).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(ReviewsResponse {
        items: rows.into_iter().map(ReviewResponse::from).collect(),
    }))
}

/// Asks for a review of the current version (editors and owners); whoever's turn it is hears of it
/// in the app and by mail. The document is `in_review` — not to be saved — until it is decided or
/// withdrawn.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    request_body = RequestReviewRequest,
    responses(
        (status = 201, description = "Asked", body = ReviewResponse),
        (status = 403, description = "A viewer or commenter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already in review, or the workspace is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/reviews")]
pub async fn request_review(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<RequestReviewRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document) = path.into_inner();
    let body = body.into_inner();
    let review = reviews::request(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        user,
        workspace,
        document,
        Ask {
            mode: body.mode,
            approvers: body.approvers,
            message: body.message,
        },
    )
    .await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::Created().json(ReviewResponse::from(review)))
}

/// One review.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("review_id" = Uuid, Path, description = "The review's id"),
    ),
    responses((status = 200, description = "The review", body = ReviewResponse))
)]
#[get("/workspaces/{workspace_id}/documents/{document_id}/reviews/{review_id}")]
pub async fn get_review(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document, id) = path.into_inner();
    let review = reviews::get(&auth.tx, user, workspace, document, id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(ReviewResponse::from(review)))
}

/// An approver approves or requests changes, in their turn.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("review_id" = Uuid, Path, description = "The review's id"),
    ),
    request_body = DecideReviewRequest,
    responses(
        (status = 200, description = "Decided", body = ReviewResponse),
        (status = 403, description = "Not an approver of this review", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not their turn yet, decided already, the review closed or the workspace archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/reviews/{review_id}/decision")]
pub async fn decide_review(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
    body: ValidJson<DecideReviewRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document, id) = path.into_inner();
    let body = body.into_inner();
    let approve = match body.decision.as_str() {
        "approve" => true,
        "request_changes" => false,
        _ => {
            return Err(ApiError::validation(
                "decision",
                "must be approve or request_changes",
            ));
        }
    };
    let review = reviews::decide(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        user,
        workspace,
        document,
        id,
        Decision {
            approve,
            comment: body.comment,
        },
    )
    .await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::Ok().json(ReviewResponse::from(review)))
}

/// Withdraws an open review (its requester, or a workspace owner); the document is a draft again.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("review_id" = Uuid, Path, description = "The review's id"),
    ),
    responses(
        (status = 200, description = "Withdrawn", body = ReviewResponse),
        (status = 403, description = "Someone else's review, and not an owner", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The review is closed, or the workspace archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/reviews/{review_id}/withdraw")]
pub async fn withdraw_review(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document, id) = path.into_inner();
    let review = reviews::withdraw(&auth.tx, &auth.ctx, user, workspace, document, id).await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::Ok().json(ReviewResponse::from(review)))
}
