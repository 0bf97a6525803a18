//! The activity feed: each change in a workspace — a document started, saved or restored, a comment,
//! a thread resolved, a review asked for or decided, a member added or removed — is one entry, written
//! by [`record`] in the change's transaction, in the shape of a W3C Activity Streams 2.0 activity
//! (`actor`, `type` — the verb —, `object`, `target` the workspace, `summary`, `published`). Members
//! read their workspace's feed, and their own across all their workspaces; [`super::live`] streams it.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{documents::DocumentRow, notices, workspace};
use crate::{
    audit::AuditCtx, db::sql::statement, error::ApiError, modules::notifications::clip,
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

/// An entry's verb, as Activity Streams names it (`Resolve` and `Reopen` are ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Update,
    Add,
    Remove,
    Resolve,
    Reopen,
    /// A review asked for.
    Offer,
    /// A review approved (one approver's, or the whole review's).
    Accept,
    /// Changes requested.
    Reject,
    /// A review withdrawn.
    Undo,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "Create",
            Verb::Update => "Update",
            Verb::Add => "Add",
            Verb::Remove => "Remove",
            Verb::Resolve => "Resolve",
            Verb::Reopen => "Reopen",
            Verb::Offer => "Offer",
            Verb::Accept => "Accept",
            Verb::Reject => "Reject",
            Verb::Undo => "Undo",
        }
    }
}

/// One change to record.
pub struct Entry<'a> {
    pub workspace: Uuid,
    pub actor: Option<Uuid>,
    pub verb: Verb,
    /// `Document`, `Note` (a comment), `Review` or `Person`.
    pub object_type: &'static str,
    pub object_id: Uuid,
    pub object_name: &'a str,
    /// The document it concerns, if any.
    pub document: Option<Uuid>,
    /// One line for people: "Ed saved version 3 of “Cover letter”".
    pub summary: String,
}

/// The entry for something `user` did to `object` (a comment, a review) of `doc`: "{who} {what}
/// “{title}”".
#[allow(clippy::too_many_arguments)]
pub async fn on_document(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    doc: &DocumentRow,
    object_type: &'static str,
    object_id: Uuid,
    verb: Verb,
    what: &str,
) -> Result<()> {
    let who = notices::name_of(tx, user).await?;
    record(
        tx,
        ctx,
        Entry {
            workspace: doc.workspace_id,
            actor: Some(user),
            verb,
            object_type,
            object_id,
            object_name: "",
            document: Some(doc.id),
            summary: format!("{who} {what} “{}”", doc.title),
        },
    )
    .await
}

/// Writes `entry` in the change's transaction.
pub async fn record(tx: &TenantTx, ctx: &AuditCtx, entry: Entry<'_>) -> Result<()> {
    tx.execute_raw(statement(
        "INSERT INTO workspace_activity (tenant_id, id, workspace_id, actor_id, verb, object_type, object_id, \
         object_name, document_id, summary, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        vec![
            tx.tenant_id().as_uuid().into(),
            Uuid::now_v7().into(),
            entry.workspace.into(),
            entry.actor.into(),
            entry.verb.as_str().into(),
            entry.object_type.into(),
            entry.object_id.into(),
            clip(entry.object_name, 300).into(),
            entry.document.into(),
            clip(&entry.summary, 300).into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ActivityRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub verb: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub object_name: String,
    pub document_id: Option<Uuid>,
    pub summary: String,
    pub created_at: DateTime<FixedOffset>,
}

/// An Activity Streams 2.0 object, as far as the feed needs one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AsObject {
    /// `Person`, `Document`, `Note`, `Review` or `Group` (a workspace).
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
    pub name: String,
}

/// One entry of the feed, shaped as an Activity Streams 2.0 activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    /// Ordered in time: pass as `before` or `after` to page, or as `Last-Event-ID` to resume a stream.
    pub id: Uuid,
    /// The verb: `Create`, `Update`, `Add`, `Remove`, `Resolve`, `Reopen`, `Offer` (review asked
    /// for), `Accept` (approved), `Reject` (changes requested) or `Undo` (review withdrawn).
    #[serde(rename = "type")]
    pub verb: String,
    /// Who did it (null: Trellis itself, or someone no longer in the organization).
    pub actor: Option<AsObject>,
    pub object: AsObject,
    /// The workspace.
    pub target: AsObject,
    /// The document it concerns, if any.
    pub document_id: Option<Uuid>,
    pub summary: String,
    pub published: DateTime<chrono::Utc>,
}

impl From<ActivityRow> for Activity {
    fn from(row: ActivityRow) -> Activity {
        Activity {
            id: row.id,
            verb: row.verb,
            actor: row.actor_id.zip(row.actor_name).map(|(id, name)| AsObject {
                kind: "Person".into(),
                id,
                name,
            }),
            object: AsObject {
                kind: row.object_type,
                id: row.object_id,
                name: row.object_name,
            },
            target: AsObject {
                kind: "Group".into(),
                id: row.workspace_id,
                name: row.workspace_name,
            },
            document_id: row.document_id,
            summary: row.summary,
            published: row.created_at.to_utc(),
        }
    }
}

/// Entries of workspaces the caller is in: `$1` the tenant, `$2` the caller.
const SELECT: &str = "SELECT a.id, a.workspace_id, w.name AS workspace_name, a.actor_id, \
     CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS actor_name, a.verb, a.object_type, \
     a.object_id, a.object_name, a.document_id, a.summary, a.created_at FROM workspace_activity a \
     JOIN workspaces w ON w.tenant_id = a.tenant_id AND w.id = a.workspace_id \
     JOIN workspace_members m ON m.tenant_id = a.tenant_id AND m.workspace_id = a.workspace_id AND m.user_id = $2 \
     LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.actor_id WHERE a.tenant_id = $1";

/// Which part of a feed to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    /// Older than this entry (the next page of a feed read newest first).
    pub before: Option<Uuid>,
    /// Newer than this entry, oldest first (catching up, as a stream does).
    pub after: Option<Uuid>,
    pub limit: u64,
}

async fn read(
    tx: &TenantTx,
    user: Uuid,
    workspace: Option<Uuid>,
    page: Page,
) -> Result<Vec<ActivityRow>> {
    let order = if page.after.is_some() { "ASC" } else { "DESC" };
    Ok(ActivityRow::find_by_statement(statement(
        &format!(
            "{SELECT} AND ($3::uuid IS NULL OR a.workspace_id = $3) AND ($4::uuid IS NULL OR a.id < $4) \
             AND ($5::uuid IS NULL OR a.id > $5) ORDER BY a.id {order} LIMIT $6"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            workspace.into(),
            page.before.into(),
            page.after.into(),
            (page.limit as i64).into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// A workspace's feed (404 unless the caller is in it).
pub async fn of_workspace(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    page: Page,
) -> Result<Vec<ActivityRow>> {
    workspace::get(tx, user, workspace, false).await?;
    read(tx, user, Some(workspace), page).await
}

/// The caller's feed: every workspace they are in.
pub async fn of_member(tx: &TenantTx, user: Uuid, page: Page) -> Result<Vec<ActivityRow>> {
    read(tx, user, None, page).await
}
