//! A community's posts and their threaded replies. Members of the community write; every member of the
//! organization reads. A reply answers a post or another reply of the same community (at most 8 deep);
//! the author edits their own; the author, the community's owners or HR remove one — it keeps its
//! place in the thread, without its text.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{Caller, communities};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::ApiError,
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Replies nest at most this deep.
pub const MAX_DEPTH: i16 = 8;

#[derive(Debug, Clone, FromQueryResult)]
pub struct PostRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub root_id: Option<Uuid>,
    pub depth: i16,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: DateTime<FixedOffset>,
    pub edited_at: Option<DateTime<FixedOffset>>,
    pub removed_at: Option<DateTime<FixedOffset>>,
    /// Replies in its thread (for a thread's post).
    pub replies: i64,
}

const SELECT: &str = "SELECT p.id, p.community_id, p.parent_id, p.root_id, p.depth, p.author_id, \
     CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS author_name, p.body, \
     p.created_at, p.edited_at, p.removed_at, \
     CASE WHEN p.parent_id IS NULL THEN (SELECT count(*) FROM community_posts r WHERE r.tenant_id = p.tenant_id \
      AND r.root_id = p.id AND r.removed_at IS NULL) ELSE 0 END AS replies \
     FROM community_posts p LEFT JOIN users u ON u.tenant_id = p.tenant_id AND u.id = p.author_id";

/// A community's threads, newest first: `limit` of them created before `before` (a post's id).
pub async fn threads(
    tx: &TenantTx,
    community: Uuid,
    limit: u64,
    before: Option<Uuid>,
) -> Result<Vec<PostRow>> {
    Ok(PostRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE p.tenant_id = $1 AND p.community_id = $2 AND p.parent_id IS NULL \
             AND ($3::uuid IS NULL OR (p.created_at, p.id) < (SELECT b.created_at, b.id FROM community_posts b \
             WHERE b.tenant_id = $1 AND b.community_id = $2 AND b.id = $3)) \
             ORDER BY p.created_at DESC, p.id DESC LIMIT $4"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            community.into(),
            before.into(),
            (limit as i64).into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// One post of the community.
pub async fn get(tx: &TenantTx, community: Uuid, id: Uuid) -> Result<PostRow> {
    PostRow::find_by_statement(statement(
        &format!("{SELECT} WHERE p.tenant_id = $1 AND p.community_id = $2 AND p.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), community.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// The whole thread `id` is in: its post, then every reply in the order written (at most 2,000).
pub async fn thread(tx: &TenantTx, community: Uuid, id: Uuid) -> Result<Vec<PostRow>> {
    let post = get(tx, community, id).await?;
    let root = post.root_id.unwrap_or(post.id);
    Ok(PostRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE p.tenant_id = $1 AND p.community_id = $2 AND (p.id = $3 OR p.root_id = $3) \
             ORDER BY p.depth = 0 DESC, p.created_at, p.id LIMIT 2000"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            community.into(),
            root.into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// A member of the community posts, or replies to `parent`.
pub async fn write(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    community_id: Uuid,
    parent: Option<Uuid>,
    body: &str,
) -> Result<PostRow> {
    let community = communities::get(tx, user, community_id, false).await?;
    community.ensure_active()?;
    if community.my_role.is_none() {
        return Err(ApiError::forbidden(
            "not_a_community_member",
            "join the community to write in it",
        ));
    }
    let body = validate::prose("body", body, 10_000).map_err(|e| ApiError::Validation(vec![e]))?;
    if body.is_empty() {
        return Err(ApiError::validation("body", "must not be empty"));
    }
    let (root, depth) = match parent {
        None => (None, 0),
        Some(parent) => {
            let above = match get(tx, community_id, parent).await {
                Ok(above) => above,
                Err(ApiError::NotFound { .. }) => {
                    return Err(ApiError::validation(
                        "parent_id",
                        "is not a post of this community",
                    ));
                }
                Err(other) => return Err(other),
            };
            if above.removed_at.is_some() {
                return Err(ApiError::conflict(
                    "post_removed",
                    "that post was removed: reply elsewhere in the thread",
                ));
            }
            if above.depth >= MAX_DEPTH {
                return Err(ApiError::validation(
                    "parent_id",
                    format!("replies nest at most {MAX_DEPTH} deep: answer higher up the thread"),
                ));
            }
            (Some(above.root_id.unwrap_or(above.id)), above.depth + 1)
        }
    };
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO community_posts (tenant_id, id, community_id, parent_id, root_id, depth, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            community_id.into(),
            parent.into(),
            root.into(),
            depth.into(),
            user.into(),
            body.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if parent.is_some() {
            "community_post.replied"
        } else {
            "community_post.created"
        })
        .target("community_post", id, None)
        .metadata(json!({ "community_id": community_id, "parent_id": parent, "root_id": root })),
    )
    .await?;
    get(tx, community_id, id).await
}

/// The author edits their post.
pub async fn edit(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    community_id: Uuid,
    id: Uuid,
    body: &str,
) -> Result<PostRow> {
    let community = communities::get(tx, user, community_id, false).await?;
    community.ensure_active()?;
    let post = get(tx, community_id, id).await?;
    if post.author_id != Some(user) {
        return Err(ApiError::forbidden(
            "not_the_author",
            "only its author edits a post",
        ));
    }
    if post.removed_at.is_some() {
        return Err(ApiError::conflict("post_removed", "this post was removed"));
    }
    let body = validate::prose("body", body, 10_000).map_err(|e| ApiError::Validation(vec![e]))?;
    if body.is_empty() {
        return Err(ApiError::validation(
            "body",
            "must not be empty (remove the post instead)",
        ));
    }
    let edited = tx
        .execute_raw(statement(
            "UPDATE community_posts SET body = $3, edited_at = $4 WHERE tenant_id = $1 AND id = $2 \
             AND removed_at IS NULL",
            vec![
                tx.tenant_id().as_uuid().into(),
                id.into(),
                body.into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    if edited.rows_affected() == 0 {
        // Removed while this was on its way.
        return Err(ApiError::conflict("post_removed", "this post was removed"));
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("community_post.edited")
            .target("community_post", id, None)
            .metadata(json!({ "community_id": community_id })),
    )
    .await?;
    get(tx, community_id, id).await
}

/// The author, an owner of the community or HR removes a post: its text goes, its place stays.
pub async fn remove(
    tx: &TenantTx,
    ctx: &AuditCtx,
    member: Caller,
    community_id: Uuid,
    id: Uuid,
) -> Result<()> {
    let community = communities::get(tx, member.user, community_id, false).await?;
    let post = get(tx, community_id, id).await?;
    let by_author = post.author_id == Some(member.user);
    if !by_author && !community.moderated_by(member) {
        return Err(ApiError::forbidden(
            "not_the_author",
            "only its author, the community's owners or HR remove a post",
        ));
    }
    if post.removed_at.is_some() {
        return Ok(());
    }
    tx.execute_raw(statement(
        "UPDATE community_posts SET body = '', removed_at = $3 WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into(), ctx.now.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("community_post.removed")
            .target("community_post", id, None)
            .metadata(json!({
                "community_id": community_id, "author_id": post.author_id,
                "by": if by_author { "author" } else { "moderator" },
            })),
    )
    .await?;
    Ok(())
}
