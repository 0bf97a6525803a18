//! Comments on a document, in threads. A thread's first comment may be anchored to a range of the
//! text of a version; every later save carries the anchor along ([`carry_anchors`], with
//! [`super::anchors`]) or marks it outdated when the quoted text is gone — and finds it again if the
//! text comes back. Replies join a thread; a thread is resolved and reopened as a whole. Commenters,
//! editors and owners write; authors edit their own comments; authors and owners delete them (the
//! comment keeps its place in the thread without its text). Every write holds the document's row lock,
//! so a comment and a save never pass each other.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Role,
    activity::{self, Verb},
    anchors::{self, Carry, Span},
    documents::{self, DocumentRow},
    notices::{self, Written},
    workspace::WorkspaceRow,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    crypto::Crypto,
    db::sql::{count, statement},
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Characters of a comment, at most.
pub const MAX_BODY: usize = 5000;
/// Characters an anchor quotes, at most.
pub const MAX_QUOTE: usize = 2000;
/// People one comment mentions, at most.
pub const MAX_MENTIONS: usize = 20;
/// Comments on one document, at most (replies and deleted ones included).
pub const MAX_PER_DOCUMENT: i64 = 2000;

#[derive(Debug, Clone, FromQueryResult)]
pub struct CommentRow {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    /// Empty once deleted.
    pub body: String,
    /// A JSON array of user ids.
    pub mentions: Value,
    pub anchor_version: Option<i32>,
    pub anchor_start: Option<i32>,
    pub anchor_end: Option<i32>,
    pub quote: Option<String>,
    pub located_version: Option<i32>,
    pub located_start: Option<i32>,
    pub located_end: Option<i32>,
    pub outdated_version: Option<i32>,
    pub resolved_at: Option<DateTime<FixedOffset>>,
    pub resolved_by: Option<Uuid>,
    pub resolved_by_name: Option<String>,
    pub edited_at: Option<DateTime<FixedOffset>>,
    pub deleted_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
}

impl CommentRow {
    pub fn mentioned(&self) -> Vec<Uuid> {
        serde_json::from_value(self.mentions.clone()).unwrap_or_default()
    }

    pub fn is_thread(&self) -> bool {
        self.id == self.thread_id
    }
}

const SELECT: &str = "SELECT c.id, c.thread_id, c.author_id, \
     CASE WHEN a.display_name = '' THEN a.email ELSE a.display_name END AS author_name, \
     CASE WHEN c.deleted_at IS NULL THEN c.body ELSE '' END AS body, to_jsonb(c.mentions) AS mentions, \
     c.anchor_version, c.anchor_start, c.anchor_end, c.quote, c.located_version, c.located_start, c.located_end, \
     c.outdated_version, c.resolved_at, c.resolved_by, \
     CASE WHEN r.display_name = '' THEN r.email ELSE r.display_name END AS resolved_by_name, \
     c.edited_at, c.deleted_at, c.created_at FROM document_comments c \
     LEFT JOIN users a ON a.tenant_id = c.tenant_id AND a.id = c.author_id \
     LEFT JOIN users r ON r.tenant_id = c.tenant_id AND r.id = c.resolved_by";

/// Which threads a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Resolved,
    All,
}

impl Status {
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "open" => Some(Status::Open),
            "resolved" => Some(Status::Resolved),
            "all" => Some(Status::All),
            _ => None,
        }
    }
}

/// A document's threads with `status`, each followed by its replies, in the order they were started
/// and written.
pub async fn list(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    status: Status,
) -> Result<Vec<CommentRow>> {
    documents::get(tx, user, workspace, document, false).await?;
    let (open, resolved) = match status {
        Status::Open => (true, false),
        Status::Resolved => (false, true),
        Status::All => (true, true),
    };
    Ok(CommentRow::find_by_statement(statement(
        &format!(
            "{SELECT} JOIN document_comments t ON t.tenant_id = c.tenant_id AND t.document_id = c.document_id \
             AND t.id = c.thread_id \
             WHERE c.tenant_id = $1 AND c.document_id = $2 \
             AND (($3 AND t.resolved_at IS NULL) OR ($4 AND t.resolved_at IS NOT NULL)) \
             ORDER BY t.created_at, t.id, c.id <> c.thread_id, c.created_at, c.id"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            document.into(),
            open.into(),
            resolved.into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// One thread: its first comment, then its replies.
pub async fn thread(tx: &TenantTx, document: Uuid, thread: Uuid) -> Result<Vec<CommentRow>> {
    Ok(CommentRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE c.tenant_id = $1 AND c.document_id = $2 AND c.thread_id = $3 \
             ORDER BY c.id <> c.thread_id, c.created_at, c.id"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            document.into(),
            thread.into(),
        ],
    ))
    .all(tx)
    .await?)
}

async fn comment(tx: &TenantTx, document: Uuid, id: Uuid) -> Result<CommentRow> {
    CommentRow::find_by_statement(statement(
        &format!("{SELECT} WHERE c.tenant_id = $1 AND c.document_id = $2 AND c.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), document.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// What a comment says: its text and whom it mentions.
#[derive(Debug, Clone, Default)]
pub struct Text {
    pub body: String,
    pub mentions: Vec<Uuid>,
}

/// A range of a version's text, as a client sends it.
#[derive(Debug, Clone)]
pub struct AnchorAt {
    pub version: i32,
    pub start: i32,
    pub end: i32,
    /// The text the client sees in that range, checked against the version's.
    pub quote: Option<String>,
}

/// The document, locked, for a comment by someone who may comment — as the workspace's
/// `comment_policy` says.
async fn open_for_comment(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
) -> Result<(WorkspaceRow, DocumentRow)> {
    let (space, doc) = documents::get(tx, user, workspace, document, true).await?;
    space.role().require(Role::Commenter, "commenting")?;
    match space.comment_policy.as_str() {
        "off" => {
            space.ensure_active()?;
            return Err(ApiError::conflict(
                "comments_off",
                "comments are turned off in this workspace's settings",
            ));
        }
        "editors" => space
            .role()
            .require(Role::Editor, "commenting (this workspace's settings)")?,
        _ => {}
    }
    space.ensure_active()?;
    Ok((space, doc))
}

/// The body checked, and the mentions: distinct, each an active member of the workspace — except
/// those the comment mentioned `already` (an edit keeps them, whether or not they are still here).
async fn check(
    tx: &TenantTx,
    workspace: Uuid,
    text: &Text,
    already: &[Uuid],
) -> Result<(String, Vec<Uuid>)> {
    let mut errors: Vec<FieldError> = Vec::new();
    let body = validate::prose("body", &text.body, MAX_BODY)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if body.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("body", "is required"));
    }
    let mentions: Vec<Uuid> = text
        .mentions
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if mentions.len() > MAX_MENTIONS {
        errors.push(FieldError::new(
            "mentions",
            format!("at most {MAX_MENTIONS} people"),
        ));
    } else if mentions.iter().any(|m| !already.contains(m)) {
        let new: Vec<Uuid> = mentions
            .iter()
            .copied()
            .filter(|m| !already.contains(m))
            .collect();
        let members = count(
            tx,
            "SELECT count(*) AS n FROM workspace_members m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
             WHERE m.tenant_id = $1 AND m.workspace_id = $2 AND m.user_id = ANY($3) AND u.status = 'active'",
            vec![
                tx.tenant_id().as_uuid().into(),
                workspace.into(),
                new.clone().into(),
            ],
        )
        .await?;
        if members != new.len() as i64 {
            errors.push(FieldError::new(
                "mentions",
                "everyone mentioned must be an active member of this workspace",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok((body, mentions))
}

async fn ensure_room(tx: &TenantTx, document: Uuid) -> Result<()> {
    let n = count(
        tx,
        "SELECT count(*) AS n FROM document_comments WHERE tenant_id = $1 AND document_id = $2",
        vec![tx.tenant_id().as_uuid().into(), document.into()],
    )
    .await?;
    if n >= MAX_PER_DOCUMENT {
        return Err(ApiError::conflict(
            "too_many_comments",
            format!("a document holds at most {MAX_PER_DOCUMENT} comments"),
        ));
    }
    Ok(())
}

/// Where an anchor on `at` is: its quote, and its place in the current version (or, if its text is
/// not in the current version, its place in its own, with the current version as where it went out).
struct Placed {
    quote: String,
    located: (i32, Span),
    outdated: Option<i32>,
}

async fn place(tx: &TenantTx, current: &DocumentRow, at: &AnchorAt) -> Result<Placed> {
    let out_of_range = |message: &str| ApiError::validation("anchor", message.to_owned());
    if at.start < 0 || at.end <= at.start {
        return Err(out_of_range(
            "start must be at least 0 and end greater than start",
        ));
    }
    if at.end - at.start > MAX_QUOTE as i32 {
        return Err(out_of_range(&format!(
            "an anchor spans at most {MAX_QUOTE} characters"
        )));
    }
    let span = Span {
        start: at.start as usize,
        end: at.end as usize,
    };
    let body = if at.version == current.current_version {
        current.body.clone()
    } else {
        tx.query_one_raw(statement(
            "SELECT body FROM document_versions WHERE tenant_id = $1 AND document_id = $2 AND number = $3",
            vec![
                tx.tenant_id().as_uuid().into(),
                current.id.into(),
                at.version.into(),
            ],
        ))
        .await?
        .map(|row| row.try_get::<String>("", "body"))
        .transpose()?
        .ok_or_else(|| out_of_range("names a version this document does not have"))?
    };
    let quote = anchors::quote(&body, span).ok_or_else(|| {
        out_of_range("runs past the end of that version (offsets count characters)")
    })?;
    if at.quote.as_ref().is_some_and(|expected| *expected != quote) {
        return Err(out_of_range(
            "quote is not the text of that range: offsets count Unicode characters (not UTF-16 \
             units or bytes), from 0, end exclusive, in the version's text with \\n line breaks",
        ));
    }
    if at.version == current.current_version {
        return Ok(Placed {
            quote,
            located: (at.version, span),
            outdated: None,
        });
    }
    let (old, new, q) = (body, current.body.clone(), quote.clone());
    let carried = tokio::task::spawn_blocking(move || Carry::new(&old, &new).carry(span, &q))
        .await
        .map_err(ApiError::internal)?;
    Ok(match carried {
        Some(now) => Placed {
            quote,
            located: (current.current_version, now),
            outdated: None,
        },
        None => Placed {
            quote,
            located: (at.version, span),
            outdated: Some(current.current_version),
        },
    })
}

/// Starts a thread on a document, anchored to a range of a version's text or not.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    text: Text,
    anchor: Option<AnchorAt>,
) -> Result<Vec<CommentRow>> {
    let (space, doc) = open_for_comment(tx, user, workspace, document).await?;
    let (body, mentions) = check(tx, workspace, &text, &[]).await?;
    let placed = match anchor {
        Some(at) => {
            let placed = place(tx, &doc, &at).await?;
            Some((at, placed))
        }
        None => None,
    };
    ensure_room(tx, document).await?;
    let id = Uuid::now_v7();
    let (at, placed) = placed.unzip();
    tx.execute_raw(statement(
        "INSERT INTO document_comments (tenant_id, id, document_id, thread_id, author_id, body, mentions, \
         anchor_version, anchor_start, anchor_end, quote, located_version, located_start, located_end, \
         outdated_version, created_at) VALUES ($1, $2, $3, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            document.into(),
            user.into(),
            body.clone().into(),
            mentions.clone().into(),
            at.as_ref().map(|a| a.version).into(),
            at.as_ref().map(|a| a.start).into(),
            at.as_ref().map(|a| a.end).into(),
            placed.as_ref().map(|p| p.quote.clone()).into(),
            placed.as_ref().map(|p| p.located.0).into(),
            placed.as_ref().map(|p| p.located.1.start as i32).into(),
            placed.as_ref().map(|p| p.located.1.end as i32).into(),
            placed.as_ref().and_then(|p| p.outdated).into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("comment.created")
            .target("comment", id, None)
            .metadata(json!({
                "workspace_id": workspace, "document_id": document, "thread_id": id,
                "anchored": at.is_some(), "mentions": mentions,
            })),
    )
    .await?;
    activity::on_document(
        tx,
        ctx,
        user,
        &doc,
        "Note",
        id,
        Verb::Create,
        "commented on",
    )
    .await?;
    notices::comment_written(
        tx,
        ctx,
        crypto,
        Written {
            author: user,
            workspace: &space,
            document: &doc,
            comment: id,
            thread: id,
            body: &body,
            mentioned: &mentions,
            quote: placed.as_ref().map(|p| p.quote.as_str()),
        },
    )
    .await?;
    thread(tx, document, id).await
}

/// Replies to the thread `to` is in (409 when it is resolved: reopen it first).
#[allow(clippy::too_many_arguments)]
pub async fn reply(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    to: Uuid,
    text: Text,
) -> Result<Vec<CommentRow>> {
    let (space, doc) = open_for_comment(tx, user, workspace, document).await?;
    let target = comment(tx, document, to).await?;
    let (body, mentions) = check(tx, workspace, &text, &[]).await?;
    let first = comment(tx, document, target.thread_id).await?;
    if first.resolved_at.is_some() {
        return Err(ApiError::conflict(
            "thread_resolved",
            "this thread is resolved: reopen it to reply",
        ));
    }
    ensure_room(tx, document).await?;
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO document_comments (tenant_id, id, document_id, thread_id, author_id, body, mentions, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            document.into(),
            first.id.into(),
            user.into(),
            body.clone().into(),
            mentions.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("comment.created")
            .target("comment", id, None)
            .metadata(json!({
                "workspace_id": workspace, "document_id": document, "thread_id": first.id,
                "anchored": false, "mentions": mentions,
            })),
    )
    .await?;
    activity::on_document(tx, ctx, user, &doc, "Note", id, Verb::Create, "replied on").await?;
    notices::comment_written(
        tx,
        ctx,
        crypto,
        Written {
            author: user,
            workspace: &space,
            document: &doc,
            comment: id,
            thread: first.id,
            body: &body,
            mentioned: &mentions,
            quote: first.quote.as_deref(),
        },
    )
    .await?;
    thread(tx, document, first.id).await
}

/// The author edits their comment; people newly mentioned are told.
#[allow(clippy::too_many_arguments)]
pub async fn edit(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    id: Uuid,
    text: Text,
) -> Result<Vec<CommentRow>> {
    let (space, doc) = open_for_comment(tx, user, workspace, document).await?;
    let before = comment(tx, document, id).await?;
    if before.author_id != Some(user) {
        return Err(ApiError::forbidden(
            "comment_author",
            "only its author edits a comment",
        ));
    }
    if before.deleted_at.is_some() {
        return Err(ApiError::conflict(
            "comment_deleted",
            "this comment is deleted",
        ));
    }
    let (body, mentions) = check(tx, workspace, &text, &before.mentioned()).await?;
    tx.execute_raw(statement(
        "UPDATE document_comments SET body = $3, mentions = $4, edited_at = $5 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            body.clone().into(),
            mentions.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    // What was said about it before is not what it says now.
    tx.execute_raw(statement(
        "UPDATE notifications SET excerpt = $3 WHERE tenant_id = $1 AND comment_id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            crate::modules::notifications::clip(&body, crate::modules::notifications::MAX_TEXT)
                .into(),
        ],
    ))
    .await?;
    let earlier = before.mentioned();
    let added: Vec<Uuid> = mentions
        .iter()
        .copied()
        .filter(|m| !earlier.contains(m))
        .collect();
    audit::record(
        tx,
        ctx,
        AuditEvent::new("comment.edited")
            .target("comment", id, None)
            .metadata(json!({
                "workspace_id": workspace, "document_id": document, "thread_id": before.thread_id,
                "mentions_added": added,
            })),
    )
    .await?;
    notices::comment_mentions(
        tx,
        ctx,
        crypto,
        &Written {
            author: user,
            workspace: &space,
            document: &doc,
            comment: id,
            thread: before.thread_id,
            body: &body,
            mentioned: &added,
            quote: None,
        },
    )
    .await?;
    thread(tx, document, before.thread_id).await
}

/// The author or a workspace owner deletes a comment: it keeps its place in its thread, without its
/// text, and the notifications about it go.
pub async fn delete(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    id: Uuid,
) -> Result<()> {
    let (space, _) = documents::get(tx, user, workspace, document, true).await?;
    let before = comment(tx, document, id).await?;
    if before.author_id != Some(user) {
        space
            .role()
            .require(Role::Owner, "deleting someone else's comment")?;
    }
    space.ensure_active()?;
    if before.deleted_at.is_some() {
        return Ok(());
    }
    tx.execute_raw(statement(
        "UPDATE document_comments SET body = '', mentions = '{}', deleted_at = $3 WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into(), ctx.now.into()],
    ))
    .await?;
    tx.execute_raw(statement(
        "DELETE FROM notifications WHERE tenant_id = $1 AND comment_id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("comment.deleted")
            .target("comment", id, None)
            .metadata(json!({
                "workspace_id": workspace, "document_id": document, "thread_id": before.thread_id,
                "by_author": before.author_id == Some(user),
            })),
    )
    .await?;
    Ok(())
}

/// Resolves (`resolved`) or reopens the thread `id` is in; anyone who may comment does. Resolving a
/// resolved thread, or reopening an open one, changes nothing.
pub async fn set_resolved(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    id: Uuid,
    resolved: bool,
) -> Result<Vec<CommentRow>> {
    let (_, doc) = open_for_comment(tx, user, workspace, document).await?;
    let target = comment(tx, document, id).await?;
    let first = comment(tx, document, target.thread_id).await?;
    if first.resolved_at.is_some() != resolved {
        tx.execute_raw(statement(
            "UPDATE document_comments SET resolved_at = $3, resolved_by = $4 WHERE tenant_id = $1 AND id = $2",
            vec![
                tx.tenant_id().as_uuid().into(),
                first.id.into(),
                resolved.then_some(ctx.now).into(),
                resolved.then_some(user).into(),
            ],
        ))
        .await?;
        audit::record(
            tx,
            ctx,
            AuditEvent::new(if resolved {
                "comment.resolved"
            } else {
                "comment.reopened"
            })
            .target("comment", first.id, None)
            .metadata(json!({ "workspace_id": workspace, "document_id": document })),
        )
        .await?;
        let (verb, what) = if resolved {
            (Verb::Resolve, "resolved a thread on")
        } else {
            (Verb::Reopen, "reopened a thread on")
        };
        activity::on_document(tx, ctx, user, &doc, "Note", first.id, verb, what).await?;
    }
    thread(tx, document, first.id).await
}

#[derive(Debug, FromQueryResult)]
struct Anchored {
    id: Uuid,
    quote: String,
    located_version: i32,
    located_start: i32,
    located_end: i32,
    outdated_version: Option<i32>,
}

/// What a save did to the document's anchors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carried {
    /// Anchors whose text is in the new version.
    pub located: usize,
    /// Anchors whose text is not (newly or still).
    pub outdated: usize,
}

/// Carries every anchor on `document` from version `from` (text `old`) to the new version `to` (text
/// `new`), in the save's transaction (which holds the document's lock). An anchor whose text is gone
/// keeps its last place and is outdated from `to`; an outdated one whose text is back is found again.
pub async fn carry_anchors(
    tx: &TenantTx,
    document: Uuid,
    from: i32,
    old: &str,
    to: i32,
    new: &str,
) -> Result<Carried> {
    let anchored = Anchored::find_by_statement(statement(
        "SELECT id, quote, located_version, located_start, located_end, outdated_version FROM document_comments \
         WHERE tenant_id = $1 AND document_id = $2 AND quote IS NOT NULL",
        vec![tx.tenant_id().as_uuid().into(), document.into()],
    ))
    .all(tx)
    .await?;
    if anchored.is_empty() {
        return Ok(Carried::default());
    }
    let (old, new) = (old.to_owned(), new.to_owned());
    // A line diff of two long texts is CPU work: off the async threads.
    let places = tokio::task::spawn_blocking(move || {
        let carry = Carry::new(&old, &new);
        anchored
            .into_iter()
            .map(|a| {
                let at = Span {
                    start: a.located_start as usize,
                    end: a.located_end as usize,
                };
                let found = if a.located_version == from && a.outdated_version.is_none() {
                    carry.carry(at, &a.quote)
                } else {
                    carry.find(&a.quote, at.start)
                };
                (a.id, found)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(ApiError::internal)?;
    let mut carried = Carried::default();
    let moves: Vec<Value> = places
        .iter()
        .map(|(id, found)| match found {
            Some(span) => {
                carried.located += 1;
                json!({ "id": id, "start": span.start, "end": span.end })
            }
            None => {
                carried.outdated += 1;
                json!({ "id": id, "start": null, "end": null })
            }
        })
        .collect();
    tx.execute_raw(statement(
        "UPDATE document_comments c SET \
           located_version = CASE WHEN m.start IS NULL THEN c.located_version ELSE $3 END, \
           located_start = coalesce(m.start, c.located_start), located_end = coalesce(m.\"end\", c.located_end), \
           outdated_version = CASE WHEN m.start IS NULL THEN coalesce(c.outdated_version, $3) ELSE NULL END \
         FROM jsonb_to_recordset($4::jsonb) AS m(id uuid, start integer, \"end\" integer) \
         WHERE c.tenant_id = $1 AND c.document_id = $2 AND c.id = m.id",
        vec![
            tx.tenant_id().as_uuid().into(),
            document.into(),
            to.into(),
            Value::Array(moves).into(),
        ],
    ))
    .await?;
    Ok(carried)
}
