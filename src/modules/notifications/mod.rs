//! A member's in-app notifications (docs/notifications.md): what others did that concerns them — a
//! mention, a reply — written by the module where it happened, in the same transaction as the change.
//! Each member sees only their own, and only while they may still see what it is about (a notification
//! about a workspace disappears when they leave it). They read the list with its unread count, and
//! mark one or all read. What is not mailed at once goes out in a [`digest`] (hourly, daily or never,
//! as each member prefers).

pub mod digest;
pub mod routes;

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::{count, statement},
    error::ApiError,
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Characters of a notification's title and excerpt, at most.
pub const MAX_TEXT: usize = 300;

/// A notification to write.
#[derive(Debug, Clone)]
pub struct Notify {
    pub user: Uuid,
    /// What happened, `area.event`: `comment.mentioned`, `comment.replied`, …
    pub kind: &'static str,
    pub actor: Option<Uuid>,
    pub workspace: Option<Uuid>,
    pub document: Option<Uuid>,
    pub comment: Option<Uuid>,
    /// One line: who did what where.
    pub title: String,
    /// The start of what they wrote.
    pub excerpt: String,
    /// Mailed at once (so no digest repeats it).
    pub mailed: bool,
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Writes `notification` (in the caller's transaction); one not mailed at once is due in the
/// member's next digest.
pub async fn notify(tx: &TenantTx, now: DateTime<Utc>, notification: Notify) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let (user, mailed) = (notification.user, notification.mailed);
    tx.execute_raw(statement(
        "INSERT INTO notifications (tenant_id, id, user_id, kind, actor_id, workspace_id, document_id, comment_id, \
         title, excerpt, created_at, emailed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         CASE WHEN $12 THEN $11 END)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            notification.user.into(),
            notification.kind.into(),
            notification.actor.into(),
            notification.workspace.into(),
            notification.document.into(),
            notification.comment.into(),
            clip(&notification.title, MAX_TEXT).into(),
            clip(&notification.excerpt, MAX_TEXT).into(),
            now.into(),
            mailed.into(),
        ],
    ))
    .await?;
    if !mailed {
        digest::schedule(tx, user, now).await?;
    }
    Ok(id)
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct NotificationRow {
    pub id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub workspace_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub comment_id: Option<Uuid>,
    pub title: String,
    pub excerpt: String,
    pub created_at: DateTime<FixedOffset>,
    pub read_at: Option<DateTime<FixedOffset>>,
}

/// `$1` the tenant, `$2` the member: their notifications that they may still see.
pub(crate) const VISIBLE: &str = "n.tenant_id = $1 AND n.user_id = $2 AND (n.workspace_id IS NULL OR EXISTS (\
     SELECT 1 FROM workspace_members m WHERE m.tenant_id = n.tenant_id AND m.workspace_id = n.workspace_id \
     AND m.user_id = n.user_id))";

/// The member's notifications, the newest first, `limit` of them after `before` (a notification id,
/// for the next page); with `unread`, only those not read yet.
pub async fn list(
    tx: &TenantTx,
    user: Uuid,
    unread: bool,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<NotificationRow>> {
    Ok(NotificationRow::find_by_statement(statement(
        &format!(
            "SELECT n.id, n.kind, n.actor_id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END \
             AS actor_name, n.workspace_id, n.document_id, n.comment_id, n.title, n.excerpt, n.created_at, n.read_at \
             FROM notifications n LEFT JOIN users u ON u.tenant_id = n.tenant_id AND u.id = n.actor_id \
             WHERE {VISIBLE} AND (NOT $3 OR n.read_at IS NULL) \
             AND ($4::uuid IS NULL OR (n.created_at, n.id) < (SELECT b.created_at, b.id FROM notifications b \
                  WHERE b.tenant_id = $1 AND b.user_id = $2 AND b.id = $4)) \
             ORDER BY n.created_at DESC, n.id DESC LIMIT $5"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            unread.into(),
            before.into(),
            (limit as i64).into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// How many of the member's notifications are unread.
pub async fn unread(tx: &TenantTx, user: Uuid) -> Result<i64> {
    Ok(count(
        tx,
        &format!("SELECT count(*) AS n FROM notifications n WHERE {VISIBLE} AND n.read_at IS NULL"),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    )
    .await?)
}

/// Whether notification `id` is the member's and still visible to them.
async fn visible(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<bool> {
    Ok(count(
        tx,
        &format!("SELECT count(*) AS n FROM notifications n WHERE {VISIBLE} AND n.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    )
    .await?
        > 0)
}

/// Marks one of the member's notifications read (404 for anyone else's); reading it again changes
/// nothing.
pub async fn mark_read(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<()> {
    if !visible(tx, user, id).await? {
        return Err(ApiError::not_found());
    }
    let changed = tx
        .execute_raw(statement(
            "UPDATE notifications SET read_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND read_at IS NULL",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                id.into(),
                ctx.now.into(),
            ],
        ))
        .await?
        .rows_affected();
    if changed > 0 {
        audit::record(
            tx,
            ctx,
            AuditEvent::new("notifications.read")
                .target("notification", id, None)
                .metadata(json!({ "count": changed })),
        )
        .await?;
    }
    Ok(())
}

/// Marks all the member's unread notifications read, or those up to and including `up_to` (the newest
/// one they have seen, so one that arrived meanwhile stays unread); returns how many. Those they can
/// no longer see are neither marked nor counted.
pub async fn mark_all_read(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    up_to: Option<Uuid>,
) -> Result<u64> {
    if let Some(up_to) = up_to
        && !visible(tx, user, up_to).await?
    {
        return Err(ApiError::validation(
            "up_to",
            "is not one of your notifications",
        ));
    }
    let changed = tx
        .execute_raw(statement(
            &format!("UPDATE notifications n SET read_at = $4 WHERE {VISIBLE} AND n.read_at IS NULL \
             AND ($3::uuid IS NULL OR (n.created_at, n.id) <= (SELECT b.created_at, b.id FROM notifications b \
                  WHERE b.tenant_id = $1 AND b.user_id = $2 AND b.id = $3))"),
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                up_to.into(),
                ctx.now.into(),
            ],
        ))
        .await?
        .rows_affected();
    if changed > 0 {
        audit::record(
            tx,
            ctx,
            AuditEvent::new("notifications.read")
                .metadata(json!({ "count": changed, "up_to": up_to })),
        )
        .await?;
    }
    Ok(changed)
}
