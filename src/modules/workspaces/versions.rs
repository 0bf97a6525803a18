//! A document's history: every version as saved, any one of them read whole, two compared line by
//! line, and one restored — which saves it again as the newest version, so history only grows.

use chrono::{DateTime, FixedOffset};
use sea_orm::FromQueryResult;
use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use utoipa::ToSchema;
use uuid::Uuid;

use super::documents::{self, DocumentRow, Draft};
use crate::{audit::AuditCtx, db::sql::statement, error::ApiError, tenancy::TenantTx};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct VersionRow {
    pub number: i32,
    pub title: String,
    /// Empty in lists.
    pub body: String,
    /// Characters in the body.
    pub length: i32,
    pub change_summary: String,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub restored_from: Option<i32>,
    pub created_at: DateTime<FixedOffset>,
}

const SELECT: &str = "SELECT v.number, v.title, v.body, length(v.body) AS length, v.change_summary, v.author_id, \
     CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS author_name, v.restored_from, \
     v.created_at FROM document_versions v LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.author_id";

/// Every version of a document, the newest first (at most 1,000), without their bodies.
pub async fn list(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
) -> Result<Vec<VersionRow>> {
    documents::get(tx, user, workspace, document, false).await?;
    Ok(VersionRow::find_by_statement(statement(
        &format!(
            "{} WHERE v.tenant_id = $1 AND v.document_id = $2 ORDER BY v.number DESC LIMIT 1000",
            SELECT.replacen("v.body,", "'' AS body,", 1)
        ),
        vec![tx.tenant_id().as_uuid().into(), document.into()],
    ))
    .all(tx)
    .await?)
}

async fn version(tx: &TenantTx, document: Uuid, number: i32) -> Result<VersionRow> {
    VersionRow::find_by_statement(statement(
        &format!("{SELECT} WHERE v.tenant_id = $1 AND v.document_id = $2 AND v.number = $3"),
        vec![
            tx.tenant_id().as_uuid().into(),
            document.into(),
            number.into(),
        ],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// One version, whole.
pub async fn get(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    number: i32,
) -> Result<VersionRow> {
    documents::get(tx, user, workspace, document, false).await?;
    version(tx, document, number).await
}

/// A line of a comparison.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiffLine {
    /// `equal`, `insert` (only in `to`) or `delete` (only in `from`).
    pub op: &'static str,
    /// The line, without its line break.
    pub text: String,
}

/// Two versions compared line by line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Diff {
    pub from: i32,
    pub to: i32,
    pub title_changed: bool,
    pub inserted: usize,
    pub deleted: usize,
    /// A unified diff (three lines of context), for tools that read one.
    pub unified: String,
    /// Every line of both, in order.
    pub lines: Vec<DiffLine>,
}

/// How long a comparison may search for the smallest diff before it settles for a larger, still
/// correct one (Myers' worst case on two long, wholly different texts is quadratic).
pub const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

/// Compares two texts by line (Myers' algorithm, the `similar` crate), within [`DIFF_DEADLINE`].
pub fn compare(from: i32, to: i32, old: &str, new: &str) -> Diff {
    let diff = TextDiff::configure()
        .timeout(DIFF_DEADLINE)
        .diff_lines(old, new);
    let mut lines = Vec::new();
    let (mut inserted, mut deleted) = (0, 0);
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            ChangeTag::Equal => "equal",
            ChangeTag::Insert => {
                inserted += 1;
                "insert"
            }
            ChangeTag::Delete => {
                deleted += 1;
                "delete"
            }
        };
        lines.push(DiffLine {
            op,
            text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
        });
    }
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("v{from}"), &format!("v{to}"))
        .to_string();
    Diff {
        from,
        to,
        title_changed: false,
        inserted,
        deleted,
        unified,
        lines,
    }
}

/// Versions `from` and `to` of a document compared (default: the current one and the one before).
pub async fn diff(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    from: Option<i32>,
    to: Option<i32>,
) -> Result<Diff> {
    let (_, current) = documents::get(tx, user, workspace, document, false).await?;
    let to = to.unwrap_or(current.current_version);
    let from = from.unwrap_or(to.saturating_sub(1).max(1));
    let old = version(tx, document, from).await?;
    let new = version(tx, document, to).await?;
    let body = (old.body, new.body);
    // Comparing two large bodies is CPU work: off the async threads.
    let mut diff = tokio::task::spawn_blocking(move || compare(from, to, &body.0, &body.1))
        .await
        .map_err(ApiError::internal)?;
    diff.title_changed = old.title != new.title;
    Ok(diff)
}

/// Restores version `number`: saved again as the newest version, based on `expected` (`If-Match`).
pub async fn restore(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    number: i32,
    expected: Option<i32>,
) -> Result<DocumentRow> {
    documents::get(tx, user, workspace, document, false).await?;
    let old = version(tx, document, number).await?;
    documents::save(
        tx,
        ctx,
        user,
        workspace,
        document,
        expected,
        Draft {
            title: Some(old.title),
            body: old.body,
            change_summary: format!("Restored version {number}"),
        },
        Some(number),
    )
    .await
}
