//! A workspace's documents: typed Markdown, each save a new numbered version. The version number is the
//! optimistic-concurrency token — the `ETag` `"v{n}"` — and a save or restore names the version it was
//! based on (`If-Match`); anything else is refused with the current version (412), never overwritten.
//! Editors and owners write; every member reads.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    Role,
    activity::{self, Entry, Verb},
    comments, notices, templates, workspace as workspaces,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

pub const TYPES: [&str; 4] = ["cover_letter", "application", "template", "note"];
/// Characters a document's body holds, at most.
pub const MAX_BODY: usize = 200_000;

#[derive(Debug, Clone, FromQueryResult)]
pub struct DocumentRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub doc_type: String,
    pub title: String,
    pub body: String,
    pub current_version: i32,
    /// `draft`, `in_review`, `changes_requested` or `approved`.
    pub review_state: String,
    /// The template it was made from.
    pub template_id: Option<Uuid>,
    pub updated_by: Option<Uuid>,
    pub updated_by_name: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// The `ETag` of a version.
pub fn etag(version: i32) -> String {
    format!("\"v{version}\"")
}

/// The version an `If-Match` header names, exactly as we issue it (`"v3"`); `None` for anything else —
/// a weak tag (If-Match compares strongly), a list, `*`, `"v03"` — which then matches no version.
pub fn if_match(header: &str) -> Option<i32> {
    let digits = header.trim().strip_prefix("\"v")?.strip_suffix('"')?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

const SELECT: &str = "SELECT d.id, d.workspace_id, d.doc_type, d.title, d.body, d.current_version, d.review_state, d.template_id, d.updated_by, \
     CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS updated_by_name, \
     d.created_at, d.updated_at FROM documents d LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.updated_by";

/// [`SELECT`] without the bodies, for lists.
const SELECT_HEADS: &str = "SELECT d.id, d.workspace_id, d.doc_type, d.title, '' AS body, d.current_version, d.review_state, d.template_id, \
     d.updated_by, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS updated_by_name, \
     d.created_at, d.updated_at FROM documents d LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.updated_by";

/// The workspace's documents, the latest changed first (at most 500), without their bodies.
pub async fn list(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    doc_type: Option<&str>,
) -> Result<Vec<DocumentRow>> {
    workspaces::get(tx, user, workspace, false).await?;
    Ok(DocumentRow::find_by_statement(statement(
        &format!(
            "{SELECT_HEADS} WHERE d.tenant_id = $1 AND d.workspace_id = $2 AND ($3::text IS NULL OR d.doc_type = $3) \
             ORDER BY d.updated_at DESC, d.id LIMIT 500"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            workspace.into(),
            doc_type.map(str::to_owned).into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// A document of a workspace the caller is in (404 otherwise), locked for a change when `lock`.
pub async fn get(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<(workspaces::WorkspaceRow, DocumentRow)> {
    let space = if lock {
        workspaces::hold(tx, user, workspace).await?
    } else {
        workspaces::get(tx, user, workspace, false).await?
    };
    if lock {
        tx.execute_raw(statement(
            "SELECT 1 FROM documents WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3 FOR UPDATE",
            vec![
                tx.tenant_id().as_uuid().into(),
                workspace.into(),
                id.into(),
            ],
        ))
        .await?;
    }
    let document = DocumentRow::find_by_statement(statement(
        &format!("{SELECT} WHERE d.tenant_id = $1 AND d.workspace_id = $2 AND d.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), workspace.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)?;
    Ok((space, document))
}

/// A document read by Trellis itself (a job acting for nobody in particular).
pub async fn for_system(tx: &TenantTx, workspace: Uuid, id: Uuid) -> Result<DocumentRow> {
    DocumentRow::find_by_statement(statement(
        &format!("{SELECT} WHERE d.tenant_id = $1 AND d.workspace_id = $2 AND d.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), workspace.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// What a save says: the title (a new document needs one), the body and a summary of the change.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: Option<String>,
    pub body: String,
    pub change_summary: String,
}

struct Checked {
    title: Option<String>,
    body: String,
    change_summary: String,
}

fn check(draft: &Draft) -> Result<Checked> {
    let mut errors: Vec<FieldError> = Vec::new();
    let title = draft.title.as_deref().map(|t| {
        validate::label("title", t, 200)
            .map_err(|e| errors.push(e))
            .unwrap_or_default()
    });
    if draft.body.chars().count() > MAX_BODY {
        errors.push(FieldError::new(
            "body",
            format!("must be at most {MAX_BODY} characters"),
        ));
    } else if draft.body.contains('\0') {
        errors.push(FieldError::new("body", "must not contain NUL characters"));
    }
    let change_summary = validate::prose("change_summary", &draft.change_summary, 500)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Checked {
        title,
        // One kind of line break, whatever the client's platform: anchors and diffs compare lines.
        body: draft.body.replace("\r\n", "\n").replace('\r', "\n"),
        change_summary,
    })
}

/// A version about to be written.
struct NewVersion<'a> {
    number: i32,
    title: &'a str,
    body: &'a str,
    change_summary: &'a str,
    restored_from: Option<i32>,
}

/// Writes `version` and makes it the document's current one.
async fn write_version(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    document: Uuid,
    version: NewVersion<'_>,
) -> Result<()> {
    tx.execute_raw(statement(
        "INSERT INTO document_versions (tenant_id, document_id, number, title, body, change_summary, author_id, \
         restored_from, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            tx.tenant_id().as_uuid().into(),
            document.into(),
            version.number.into(),
            version.title.into(),
            version.body.into(),
            version.change_summary.into(),
            user.into(),
            version.restored_from.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    tx.execute_raw(statement(
        "UPDATE documents SET title = $3, body = $4, current_version = $5, updated_by = $6, updated_at = $7, \
         review_state = 'draft' \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            document.into(),
            version.title.into(),
            version.body.into(),
            version.number.into(),
            user.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A template of the workspace to start from, with values for its placeholders.
#[derive(Debug, Clone, Default)]
pub struct FromTemplate {
    pub id: Uuid,
    pub fields: std::collections::BTreeMap<String, String>,
}

/// An editor starts a document — from a template of the workspace, or not: version 1.
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    workspace: Uuid,
    doc_type: &str,
    mut draft: Draft,
    template: Option<FromTemplate>,
) -> Result<DocumentRow> {
    let space = workspaces::hold(tx, user, workspace).await?;
    space.role().require(Role::Editor, "writing documents")?;
    space.ensure_active()?;
    let template = match template {
        Some(from) => {
            if !draft.body.is_empty() {
                return Err(ApiError::validation(
                    "body",
                    "give a body or a template, not both",
                ));
            }
            let row = templates::get(tx, workspace, from.id).await?;
            draft.body = templates::fill(&row.body, &from.fields)?;
            Some(row)
        }
        None => None,
    };
    let mut checked = check(&draft);
    if !TYPES.contains(&doc_type) {
        let error = FieldError::new("type", format!("must be one of {}", TYPES.join(", ")));
        checked = Err(match checked {
            Err(ApiError::Validation(mut errors)) => {
                errors.push(error);
                ApiError::Validation(errors)
            }
            _ => ApiError::Validation(vec![error]),
        });
    }
    let checked = checked?;
    let Some(title) = checked.title else {
        return Err(ApiError::validation("title", "is required"));
    };
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO documents (tenant_id, id, workspace_id, doc_type, title, body, current_version, created_by, \
         updated_by, created_at, updated_at, template_id) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8, $8, $9)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            workspace.into(),
            doc_type.into(),
            title.clone().into(),
            checked.body.clone().into(),
            user.into(),
            ctx.now.into(),
            template.as_ref().map(|t| t.id).into(),
        ],
    ))
    .await?;
    write_version(
        tx,
        ctx,
        user,
        id,
        NewVersion {
            number: 1,
            title: &title,
            body: &checked.body,
            change_summary: &checked.change_summary,
            restored_from: None,
        },
    )
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("document.created")
            .target("document", id, None)
            .metadata(json!({
                "workspace_id": workspace, "type": doc_type, "length": checked.body.chars().count(),
                "template_id": template.as_ref().map(|t| t.id),
            })),
    )
    .await?;
    let who = notices::name_of(tx, user).await?;
    activity::record(
        tx,
        ctx,
        Entry {
            workspace,
            actor: Some(user),
            verb: Verb::Create,
            object_type: "Document",
            object_id: id,
            object_name: &title,
            document: Some(id),
            summary: match &template {
                Some(t) => format!("{who} started “{title}” from the template “{}”", t.title),
                None => format!("{who} started “{title}”"),
            },
        },
    )
    .await?;
    Ok(get(tx, user, workspace, id, false).await?.1)
}

/// 428 without a version, 412 unless `expected` is the document's current version.
fn ensure_current(document: &DocumentRow, expected: Option<i32>) -> Result<()> {
    let Some(expected) = expected else {
        return Err(ApiError::PreconditionRequired);
    };
    if expected == document.current_version {
        return Ok(());
    }
    Err(ApiError::VersionConflict {
        detail: format!(
            "this document is at version {} (saved by {} at {}); your change was based on version {}: \
             load the current version, bring your change into it and save again",
            document.current_version,
            document
                .updated_by_name
                .as_deref()
                .unwrap_or("a former member"),
            document.updated_at.to_utc().format("%Y-%m-%d %H:%M UTC"),
            expected
        ),
        current_version: document.current_version,
        etag: etag(document.current_version),
    })
}

/// An editor saves a new version of a document, based on version `expected` (`If-Match`; none: 428).
#[allow(clippy::too_many_arguments)]
pub async fn save(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    workspace: Uuid,
    id: Uuid,
    expected: Option<i32>,
    draft: Draft,
    restored_from: Option<i32>,
) -> Result<DocumentRow> {
    let (space, current) = get(tx, user, workspace, id, true).await?;
    space.role().require(Role::Editor, "writing documents")?;
    space.ensure_active()?;
    let checked = check(&draft)?;
    if current.review_state == "in_review" {
        return Err(ApiError::conflict(
            "document_in_review",
            "this document is in review: withdraw the review to change it",
        ));
    }
    ensure_current(&current, expected)?;
    let title = checked.title.unwrap_or_else(|| current.title.clone());
    let number = current.current_version + 1;
    let carried = comments::carry_anchors(
        tx,
        id,
        current.current_version,
        &current.body,
        number,
        &checked.body,
    )
    .await?;
    write_version(
        tx,
        ctx,
        user,
        id,
        NewVersion {
            number,
            title: &title,
            body: &checked.body,
            change_summary: &checked.change_summary,
            restored_from,
        },
    )
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if restored_from.is_some() {
            "document.restored"
        } else {
            "document.saved"
        })
        .target("document", id, None)
        .metadata(json!({
            "workspace_id": workspace, "version": number, "restored_from": restored_from,
            "length": checked.body.chars().count(), "retitled": title != current.title,
            "anchors": { "located": carried.located, "outdated": carried.outdated },
        })),
    )
    .await?;
    let who = notices::name_of(tx, user).await?;
    activity::record(
        tx,
        ctx,
        Entry {
            workspace,
            actor: Some(user),
            verb: Verb::Update,
            object_type: "Document",
            object_id: id,
            object_name: &title,
            document: Some(id),
            summary: match restored_from {
                Some(old) => {
                    format!("{who} restored version {old} of “{title}” as version {number}")
                }
                None => format!("{who} saved version {number} of “{title}”"),
            },
        },
    )
    .await?;
    Ok(get(tx, user, workspace, id, false).await?.1)
}
