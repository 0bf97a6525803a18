//! `/api/v1/workspaces/{workspace_id}/documents/{document_id}/comments`: threads on a document, with
//! their anchors to its text, replies, edits, deletions, and resolving and reopening.

use actix_web::{
    HttpResponse, delete, get, patch, post,
    web::{Data, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{commit, documents::DocumentPerson, open};
use crate::{
    auth::AccessToken,
    error::{ApiError, ApiResult},
    http::{ValidJson, ValidQuery},
    modules::workspaces::comments::{self, AnchorAt, CommentRow, Status, Text},
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentThreadResponse {
    /// The thread's id (its first comment's).
    pub id: Uuid,
    /// The text the thread is about, if it is anchored.
    pub anchor: Option<CommentAnchorResponse>,
    pub resolved: bool,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<DocumentPerson>,
    /// The first comment, then the replies, in the order written.
    pub comments: Vec<CommentResponse>,
}

/// Offsets count characters (Unicode scalar values) from 0; `end` is exclusive.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentAnchorResponse {
    /// The version the comment was written on, and the range it marked there.
    pub version: i32,
    pub start: i32,
    pub end: i32,
    /// The text it marked.
    pub quote: String,
    /// Where that text is: in the current version, unless `outdated`, when this is the last version
    /// it was found in.
    pub located: AnchorPlaceResponse,
    /// The quoted text is not in the current version.
    pub outdated: bool,
    /// The first version it was no longer in (null while it is there).
    pub outdated_in_version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnchorPlaceResponse {
    pub version: i32,
    pub start: i32,
    pub end: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentResponse {
    pub id: Uuid,
    /// Absent when the author is no longer a member.
    pub author: Option<DocumentPerson>,
    /// Empty once deleted.
    pub body: String,
    /// The ids of the members it mentions.
    pub mentions: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentThreadsResponse {
    pub items: Vec<CommentThreadResponse>,
}

fn comment(row: &CommentRow) -> CommentResponse {
    CommentResponse {
        id: row.id,
        author: row
            .author_id
            .zip(row.author_name.clone())
            .map(|(id, display_name)| DocumentPerson { id, display_name }),
        body: row.body.clone(),
        mentions: row.mentioned(),
        created_at: row.created_at.to_utc(),
        edited_at: row.edited_at.map(|t| t.to_utc()),
        deleted: row.deleted_at.is_some(),
    }
}

fn anchor(row: &CommentRow) -> Option<CommentAnchorResponse> {
    Some(CommentAnchorResponse {
        version: row.anchor_version?,
        start: row.anchor_start?,
        end: row.anchor_end?,
        quote: row.quote.clone()?,
        located: AnchorPlaceResponse {
            version: row.located_version?,
            start: row.located_start?,
            end: row.located_end?,
        },
        outdated: row.outdated_version.is_some(),
        outdated_in_version: row.outdated_version,
    })
}

/// Rows of threads (each first comment followed by its replies) grouped into threads.
fn threads(rows: Vec<CommentRow>) -> Vec<CommentThreadResponse> {
    let mut out: Vec<CommentThreadResponse> = Vec::new();
    for row in rows {
        if row.is_thread() {
            out.push(CommentThreadResponse {
                id: row.id,
                anchor: anchor(&row),
                resolved: row.resolved_at.is_some(),
                resolved_at: row.resolved_at.map(|t| t.to_utc()),
                resolved_by: row
                    .resolved_by
                    .zip(row.resolved_by_name.clone())
                    .map(|(id, display_name)| DocumentPerson { id, display_name }),
                comments: vec![comment(&row)],
            });
        } else if let Some(thread) = out.iter_mut().rev().find(|t| t.id == row.thread_id) {
            thread.comments.push(comment(&row));
        }
    }
    out
}

fn one(rows: Vec<CommentRow>) -> ApiResult<CommentThreadResponse> {
    threads(rows).pop().ok_or_else(ApiError::not_found)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCommentsQuery {
    /// `open`, `resolved` or `all` (default).
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Could this be one sentence?", "mentions": [], "anchor": {"version": 3, "start": 120, "end": 184}}))]
pub struct StartThreadRequest {
    /// 1 to 5,000 characters.
    pub body: String,
    /// Members of the workspace to notify (at most 20).
    #[serde(default)]
    pub mentions: Vec<Uuid>,
    /// The range of a version's text the thread is about (absent: the whole document).
    pub anchor: Option<AnchorRequest>,
}

/// Offsets count characters (Unicode scalar values) from 0; `end` is exclusive; at most 2,000.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnchorRequest {
    /// The version whose text the offsets are in.
    pub version: i32,
    pub start: i32,
    pub end: i32,
    /// The text in that range as the client sees it: when given, a range that does not hold exactly
    /// this text is refused (422) rather than anchored to the wrong words.
    pub quote: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Agreed — shortened it.", "mentions": []}))]
pub struct CommentTextRequest {
    /// 1 to 5,000 characters.
    pub body: String,
    /// Members of the workspace to notify (at most 20).
    #[serde(default)]
    pub mentions: Vec<Uuid>,
}

/// A document's comment threads, each with its replies, in the order started.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ListCommentsQuery,
    ),
    responses((status = 200, description = "The threads", body = CommentThreadsResponse))
)]
#[get("/workspaces/{workspace_id}/documents/{document_id}/comments")]
pub async fn list_comments(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    query: ValidQuery<ListCommentsQuery>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document) = path.into_inner();
    let status = match query.status.as_deref() {
        None => Status::All,
        Some(text) => Status::parse(text)
            .ok_or_else(|| ApiError::validation("status", "must be open, resolved or all"))?,
    };
    let rows = comments::list(&auth.tx, user, workspace, document, status).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(CommentThreadsResponse {
        items: threads(rows),
    }))
}

/// Starts a thread (commenters, editors, owners), anchored to a range of a version's text or not.
/// Everyone mentioned is notified in the app and by mail.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    request_body = StartThreadRequest,
    responses(
        (status = 201, description = "Started", body = CommentThreadResponse),
        (status = 403, description = "A viewer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace is archived, or the document has as many comments as it holds", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/comments")]
pub async fn start_thread(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<StartThreadRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document) = path.into_inner();
    let body = body.into_inner();
    let rows = comments::start(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        user,
        workspace,
        document,
        Text {
            body: body.body,
            mentions: body.mentions,
        },
        body.anchor.map(|a| AnchorAt {
            version: a.version,
            start: a.start,
            end: a.end,
            quote: a.quote,
        }),
    )
    .await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::Created().json(one(rows)?))
}

/// Replies in the thread of a comment (commenters, editors, owners); the thread's other writers are
/// notified, and everyone mentioned.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("comment_id" = Uuid, Path, description = "A comment of the thread"),
    ),
    request_body = CommentTextRequest,
    responses(
        (status = 201, description = "The thread with the reply", body = CommentThreadResponse),
        (status = 403, description = "A viewer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The thread is resolved, the workspace archived, or the document full", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/comments/{comment_id}/replies")]
pub async fn reply_comment(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
    body: ValidJson<CommentTextRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document, id) = path.into_inner();
    let body = body.into_inner();
    let rows = comments::reply(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        user,
        workspace,
        document,
        id,
        Text {
            body: body.body,
            mentions: body.mentions,
        },
    )
    .await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::Created().json(one(rows)?))
}

/// Edits a comment (its author only); people it newly mentions are notified.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("comment_id" = Uuid, Path, description = "The comment's id"),
    ),
    request_body = CommentTextRequest,
    responses(
        (status = 200, description = "The thread", body = CommentThreadResponse),
        (status = 403, description = "Not the author, or a viewer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The comment is deleted, or the workspace archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/workspaces/{workspace_id}/documents/{document_id}/comments/{comment_id}")]
pub async fn edit_comment(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
    body: ValidJson<CommentTextRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document, id) = path.into_inner();
    let body = body.into_inner();
    let rows = comments::edit(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        user,
        workspace,
        document,
        id,
        Text {
            body: body.body,
            mentions: body.mentions,
        },
    )
    .await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::Ok().json(one(rows)?))
}

/// Deletes a comment (its author, or a workspace owner): it keeps its place in the thread without
/// its text.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("comment_id" = Uuid, Path, description = "The comment's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Someone else's comment, and not an owner", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/workspaces/{workspace_id}/documents/{document_id}/comments/{comment_id}")]
pub async fn delete_comment(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document, id) = path.into_inner();
    comments::delete(&auth.tx, &auth.ctx, user, workspace, document, id).await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn resolve(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
    resolved: bool,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, document, id) = path.into_inner();
    let rows = comments::set_resolved(&auth.tx, &auth.ctx, user, workspace, document, id, resolved)
        .await?;
    commit(&state, auth, workspace).await?;
    Ok(HttpResponse::Ok().json(one(rows)?))
}

/// Resolves the thread of a comment (commenters, editors, owners).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("comment_id" = Uuid, Path, description = "A comment of the thread"),
    ),
    responses(
        (status = 200, description = "The thread, resolved", body = CommentThreadResponse),
        (status = 403, description = "A viewer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/comments/{comment_id}/resolve")]
pub async fn resolve_thread(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    resolve(state, token, path, true).await
}

/// Reopens the thread of a comment (commenters, editors, owners).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("comment_id" = Uuid, Path, description = "A comment of the thread"),
    ),
    responses(
        (status = 200, description = "The thread, open", body = CommentThreadResponse),
        (status = 403, description = "A viewer", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/comments/{comment_id}/reopen")]
pub async fn reopen_thread(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    resolve(state, token, path, false).await
}
