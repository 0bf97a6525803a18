//! `/api/v1/workspaces/{workspace_id}/documents`: documents, their versions, comparisons and restores.
//! A document's `ETag` is its version; a save or restore sends it back as `If-Match`.

use actix_web::{
    HttpRequest, HttpResponse, get,
    http::header,
    post, put,
    web::{Data, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{based_on, commit, open};
use crate::{
    auth::AccessToken,
    error::{ApiError, ApiResult},
    http::{ValidJson, ValidQuery},
    modules::workspaces::{
        documents::{self, DocumentRow, Draft, FromTemplate, etag},
        templates,
        versions::{self, Diff, VersionRow},
    },
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentResponse {
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// `cover_letter`, `application`, `template` or `note`.
    #[serde(rename = "type")]
    pub doc_type: String,
    pub title: String,
    /// Markdown; absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The current version (also the `ETag`, `"v{version}"`).
    pub version: i32,
    /// Where its review stands: `draft`, `in_review` (not to be saved), `changes_requested` or
    /// `approved` (the current version, until the next save).
    pub review_state: String,
    /// The template it was made from, if any (null once that template is gone).
    pub template_id: Option<Uuid>,
    pub updated_by: Option<DocumentPerson>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentPerson {
    pub id: Uuid,
    pub display_name: String,
}

impl DocumentResponse {
    fn new(row: DocumentRow, with_body: bool) -> DocumentResponse {
        DocumentResponse {
            id: row.id,
            workspace_id: row.workspace_id,
            doc_type: row.doc_type,
            title: row.title,
            body: with_body.then_some(row.body),
            version: row.current_version,
            review_state: row.review_state,
            template_id: row.template_id,
            updated_by: row
                .updated_by
                .zip(row.updated_by_name)
                .map(|(id, display_name)| DocumentPerson { id, display_name }),
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentsResponse {
    pub items: Vec<DocumentResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDocumentsQuery {
    /// Only documents of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub doc_type: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "cover_letter", "title": "Cover letter: Data Lead", "body": "Dear hiring team,\n\n…", "change_summary": "First draft"}))]
pub struct CreateDocumentRequest {
    /// `cover_letter`, `application`, `template` or `note`.
    #[serde(rename = "type")]
    pub doc_type: String,
    /// 1 to 200 characters.
    pub title: String,
    /// Markdown, at most 200,000 characters (absent with a `template`).
    #[serde(default)]
    pub body: String,
    /// At most 500 characters.
    #[serde(default)]
    pub change_summary: String,
    /// Start from a template of this workspace: its text with its placeholders filled in.
    pub template: Option<FromTemplateRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "0192f5e4-7a3b-7c1d-9e2f-3a4b5c6d7e8f", "fields": {"company": "Acme", "role": "Data Lead"}}))]
pub struct FromTemplateRequest {
    /// A document of type `template` in this workspace.
    pub id: Uuid,
    /// Values for its `{{placeholders}}` (at most 30, each at most 500 characters); placeholders
    /// without a value stay as written.
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateResponse {
    pub id: Uuid,
    pub title: String,
    /// Its `{{placeholders}}`, in the order they first appear.
    pub placeholders: Vec<String>,
    pub version: i32,
    /// Documents made from it.
    pub used: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatesResponse {
    pub items: Vec<TemplateResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Dear hiring team,\n\n…", "change_summary": "Tightened the opening"}))]
pub struct SaveDocumentRequest {
    /// A new title (absent: as it was).
    pub title: Option<String>,
    /// The whole Markdown body, at most 200,000 characters.
    pub body: String,
    /// At most 500 characters.
    #[serde(default)]
    pub change_summary: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionResponse {
    pub number: i32,
    pub title: String,
    /// Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Characters in the body.
    pub length: i32,
    pub change_summary: String,
    pub author: Option<DocumentPerson>,
    /// The version this one brought back, for a restore.
    pub restored_from: Option<i32>,
    pub created_at: DateTime<Utc>,
}

impl VersionResponse {
    fn new(row: VersionRow, with_body: bool) -> VersionResponse {
        VersionResponse {
            number: row.number,
            title: row.title,
            length: row.length,
            body: with_body.then_some(row.body),
            change_summary: row.change_summary,
            author: row
                .author_id
                .zip(row.author_name)
                .map(|(id, display_name)| DocumentPerson { id, display_name }),
            restored_from: row.restored_from,
            created_at: row.created_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionsResponse {
    pub items: Vec<VersionResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The older version (default: the one before `to`).
    pub from: Option<i32>,
    /// The newer version (default: the current one).
    pub to: Option<i32>,
}

fn with_etag(mut response: HttpResponse, version: i32) -> HttpResponse {
    if let Ok(value) = header::HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn document(row: DocumentRow, created: bool) -> HttpResponse {
    let version = row.current_version;
    let body = DocumentResponse::new(row, true);
    let response = if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    };
    with_etag(response, version)
}

/// Starts a document (editors and owners): version 1.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id")),
    request_body = CreateDocumentRequest,
    responses(
        (status = 201, description = "Created; its ETag is version 1", body = DocumentResponse),
        (status = 403, description = "A viewer or commenter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents")]
pub async fn create_document(
    state: Data<AppState>,
    token: AccessToken,
    workspace: Path<Uuid>,
    body: ValidJson<CreateDocumentRequest>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let body = body.into_inner();
    let row = documents::create(
        &auth.tx,
        &auth.ctx,
        user,
        *workspace,
        &body.doc_type,
        Draft {
            title: Some(body.title),
            body: body.body,
            change_summary: body.change_summary,
        },
        body.template.map(|t| FromTemplate {
            id: t.id,
            fields: t.fields,
        }),
    )
    .await?;
    commit(&state, auth, *workspace).await?;
    Ok(document(row, true))
}

/// The workspace's documents, the latest changed first (without bodies).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id"), ListDocumentsQuery),
    responses((status = 200, description = "The documents", body = DocumentsResponse))
)]
#[get("/workspaces/{workspace_id}/documents")]
pub async fn list_documents(
    state: Data<AppState>,
    token: AccessToken,
    workspace: Path<Uuid>,
    query: ValidQuery<ListDocumentsQuery>,
) -> ApiResult<HttpResponse> {
    if let Some(kind) = query.doc_type.as_deref()
        && !documents::TYPES.contains(&kind)
    {
        return Err(ApiError::validation(
            "type",
            format!("must be one of {}", documents::TYPES.join(", ")),
        ));
    }
    let (auth, user) = open(&state, token).await?;
    let rows = documents::list(&auth.tx, user, *workspace, query.doc_type.as_deref()).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(DocumentsResponse {
        items: rows
            .into_iter()
            .map(|r| DocumentResponse::new(r, false))
            .collect(),
    }))
}

/// A document, current version; its `ETag` is that version.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    responses((status = 200, description = "The document", body = DocumentResponse))
)]
#[get("/workspaces/{workspace_id}/documents/{document_id}")]
pub async fn get_document(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, id) = path.into_inner();
    let (_, row) = documents::get(&auth.tx, user, workspace, id, false).await?;
    auth.tx.commit().await?;
    Ok(document(row, false))
}

/// Saves a new version (editors and owners). `If-Match` must carry the `ETag` of the version the
/// change was based on: without it 428; if the document has moved on, 412 with the current version
/// (`current_version`, and its `ETag`) — nothing is overwritten.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("If-Match" = String, Header, description = "The ETag of the version the change is based on"),
    ),
    request_body = SaveDocumentRequest,
    responses(
        (status = 200, description = "Saved; the new ETag is the new version", body = DocumentResponse),
        (status = 403, description = "A viewer or commenter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace is archived, or the document is in review", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Based on a version that is no longer current", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/workspaces/{workspace_id}/documents/{document_id}")]
pub async fn save_document(
    state: Data<AppState>,
    token: AccessToken,
    req: HttpRequest,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<SaveDocumentRequest>,
) -> ApiResult<HttpResponse> {
    let expected = based_on(&req);
    let (auth, user) = open(&state, token).await?;
    let (workspace, id) = path.into_inner();
    let body = body.into_inner();
    let row = documents::save(
        &auth.tx,
        &auth.ctx,
        user,
        workspace,
        id,
        expected,
        Draft {
            title: body.title,
            body: body.body,
            change_summary: body.change_summary,
        },
        None,
    )
    .await?;
    commit(&state, auth, workspace).await?;
    Ok(document(row, false))
}

/// Every version of a document, the newest first (without bodies).
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
    ),
    responses((status = 200, description = "The versions", body = VersionsResponse))
)]
#[get("/workspaces/{workspace_id}/documents/{document_id}/versions")]
pub async fn list_versions(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, id) = path.into_inner();
    let rows = versions::list(&auth.tx, user, workspace, id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(VersionsResponse {
        items: rows
            .into_iter()
            .map(|r| VersionResponse::new(r, false))
            .collect(),
    }))
}

/// One version, whole.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("version_number" = i32, Path, description = "The version's number"),
    ),
    responses((status = 200, description = "The version", body = VersionResponse))
)]
#[get("/workspaces/{workspace_id}/documents/{document_id}/versions/{version_number}")]
pub async fn get_version(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid, i32)>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, id, number) = path.into_inner();
    let row = versions::get(&auth.tx, user, workspace, id, number).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(VersionResponse::new(row, true)))
}

/// Two versions compared line by line.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        DiffQuery,
    ),
    responses((status = 200, description = "The comparison", body = Diff))
)]
#[get("/workspaces/{workspace_id}/documents/{document_id}/diff")]
pub async fn diff_versions(
    state: Data<AppState>,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    query: ValidQuery<DiffQuery>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let (workspace, id) = path.into_inner();
    let diff = versions::diff(&auth.tx, user, workspace, id, query.from, query.to).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(diff))
}

/// Restores a version: saved again as the newest (editors and owners), with `If-Match` as a save.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(
        ("workspace_id" = Uuid, Path, description = "The workspace's id"),
        ("document_id" = Uuid, Path, description = "The document's id"),
        ("version_number" = i32, Path, description = "The version to bring back"),
        ("If-Match" = String, Header, description = "The ETag of the current version"),
    ),
    responses(
        (status = 200, description = "Restored as a new version", body = DocumentResponse),
        (status = 403, description = "A viewer or commenter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workspace is archived, or the document is in review", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "The document has moved on", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workspaces/{workspace_id}/documents/{document_id}/versions/{version_number}/restore")]
pub async fn restore_version(
    state: Data<AppState>,
    token: AccessToken,
    req: HttpRequest,
    path: Path<(Uuid, Uuid, i32)>,
) -> ApiResult<HttpResponse> {
    let expected = based_on(&req);
    let (auth, user) = open(&state, token).await?;
    let (workspace, id, number) = path.into_inner();
    let row = versions::restore(&auth.tx, &auth.ctx, user, workspace, id, number, expected).await?;
    commit(&state, auth, workspace).await?;
    Ok(document(row, false))
}

/// The workspace's templates library: its documents of type `template`, with their placeholders.
#[utoipa::path(
    tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path, description = "The workspace's id")),
    responses((status = 200, description = "The templates", body = TemplatesResponse))
)]
#[get("/workspaces/{workspace_id}/templates")]
pub async fn list_templates(
    state: Data<AppState>,
    token: AccessToken,
    workspace: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (auth, user) = open(&state, token).await?;
    let rows = templates::list(&auth.tx, user, *workspace).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Ok().json(TemplatesResponse {
        items: rows
            .into_iter()
            .map(|r| TemplateResponse {
                id: r.id,
                placeholders: templates::placeholders(&r.body),
                title: r.title,
                version: r.current_version,
                used: r.used,
                updated_at: r.updated_at.to_utc(),
            })
            .collect(),
    }))
}
