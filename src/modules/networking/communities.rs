//! Communities: interest groups any member may start (they become its owner, who moderates), join and
//! leave; members write posts and threaded replies ([`super::community_posts`]). An archived community
//! is read-only. Every member of the organization reads every community; HR moderates all of them.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::Caller;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct CommunityRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub archived_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub members: i64,
    pub threads: i64,
    /// The caller's role in it: `owner`, `member`, or none.
    pub my_role: Option<String>,
}

impl CommunityRow {
    /// Whether `member` moderates it: an owner, or HR.
    pub fn moderated_by(&self, member: Caller) -> bool {
        member.manages || self.my_role.as_deref() == Some("owner")
    }

    pub fn ensure_active(&self) -> Result<()> {
        match self.archived_at {
            None => Ok(()),
            Some(_) => Err(ApiError::conflict(
                "community_archived",
                "this community is archived: it is read-only",
            )),
        }
    }
}

/// `$1` the tenant, `$2` the caller.
const SELECT: &str = "SELECT c.id, c.name, c.description, c.archived_at, c.created_at, c.updated_at, \
     (SELECT count(*) FROM community_members m WHERE m.tenant_id = c.tenant_id AND m.community_id = c.id) AS members, \
     (SELECT count(*) FROM community_posts p WHERE p.tenant_id = c.tenant_id AND p.community_id = c.id \
      AND p.parent_id IS NULL AND p.removed_at IS NULL) AS threads, \
     (SELECT m.role FROM community_members m WHERE m.tenant_id = c.tenant_id AND m.community_id = c.id \
      AND m.user_id = $2) AS my_role FROM communities c";

/// Communities by name, archived ones last (at most 500); `mine`: only those the caller is in.
pub async fn list(tx: &TenantTx, user: Uuid, mine: bool) -> Result<Vec<CommunityRow>> {
    Ok(CommunityRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE c.tenant_id = $1 AND (NOT $3 OR EXISTS (SELECT 1 FROM community_members m \
             WHERE m.tenant_id = c.tenant_id AND m.community_id = c.id AND m.user_id = $2)) \
             ORDER BY (c.archived_at IS NOT NULL), lower(c.name) LIMIT 500"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into(), mine.into()],
    ))
    .all(tx)
    .await?)
}

/// One community, locked for a change when `lock`.
pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid, lock: bool) -> Result<CommunityRow> {
    if lock {
        tx.execute_raw(statement(
            "SELECT 1 FROM communities WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?;
    }
    CommunityRow::find_by_statement(statement(
        &format!("{SELECT} WHERE c.tenant_id = $1 AND c.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// A name that another of the organization's already has.
fn name_taken(err: sea_orm::DbErr) -> ApiError {
    ApiError::unique(
        "community_exists",
        "a community of this name exists already",
    )(err)
}

/// Starts a community; its creator is its first owner.
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    name: &str,
    description: &str,
) -> Result<CommunityRow> {
    let mut errors = Vec::new();
    let name = validate::label("name", name, 120)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let description = validate::prose("description", description, 2000)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO communities (tenant_id, id, name, description, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            name.clone().into(),
            description.into(),
            user.into(),
            ctx.now.into(),
        ],
    ))
    .await
    .map_err(name_taken)?;
    tx.execute_raw(statement(
        "INSERT INTO community_members (tenant_id, community_id, user_id, role, joined_at) \
         VALUES ($1, $2, $3, 'owner', $4)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            user.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("community.created").target("community", id, Some(name.as_str())),
    )
    .await?;
    get(tx, user, id, false).await
}

/// A change an owner or HR makes; `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct CommunityChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub archived: Option<bool>,
}

pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    member: Caller,
    id: Uuid,
    change: CommunityChange,
) -> Result<CommunityRow> {
    let current = get(tx, member.user, id, true).await?;
    if !current.moderated_by(member) {
        return Err(ApiError::forbidden(
            "not_community_owner",
            "only the community's owners or HR change it",
        ));
    }
    let mut errors: Vec<FieldError> = Vec::new();
    let name = match change.name.as_deref() {
        Some(raw) => validate::label("name", raw, 120)
            .map_err(|e| errors.push(e))
            .unwrap_or_default(),
        None => current.name.clone(),
    };
    let description = match change.description.as_deref() {
        Some(raw) => validate::prose("description", raw, 2000)
            .map_err(|e| errors.push(e))
            .unwrap_or_default(),
        None => current.description.clone(),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let archived = change.archived.unwrap_or(current.archived_at.is_some());
    tx.execute_raw(statement(
        "UPDATE communities SET name = $3, description = $4, updated_at = $5, \
         archived_at = CASE WHEN NOT $6 THEN NULL ELSE coalesce(archived_at, $5) END \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            name.clone().into(),
            description.into(),
            ctx.now.into(),
            archived.into(),
        ],
    ))
    .await
    .map_err(name_taken)?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("community.updated")
            .target("community", id, Some(name.as_str()))
            .metadata(json!({
                "renamed": name != current.name, "description_changed": change.description.is_some(),
                "archived": { "before": current.archived_at.is_some(), "after": archived },
            })),
    )
    .await?;
    get(tx, member.user, id, false).await
}

/// The caller joins (already in: as they were).
pub async fn join(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<CommunityRow> {
    let community = get(tx, user, id, true).await?;
    if community.my_role.is_some() {
        return Ok(community);
    }
    community.ensure_active()?;
    tx.execute_raw(statement(
        "INSERT INTO community_members (tenant_id, community_id, user_id, role, joined_at) \
         VALUES ($1, $2, $3, 'member', $4)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            user.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("community.joined")
            .target("community", id, Some(community.name.as_str()))
            .metadata(json!({ "user_id": user })),
    )
    .await?;
    get(tx, user, id, false).await
}

/// The caller leaves; when the last owner leaves, the longest-standing member becomes owner.
pub async fn leave(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<()> {
    let community = get(tx, user, id, true).await?;
    let Some(role) = community.my_role.clone() else {
        return Err(ApiError::not_found());
    };
    tx.execute_raw(statement(
        "DELETE FROM community_members WHERE tenant_id = $1 AND community_id = $2 AND user_id = $3",
        vec![tx.tenant_id().as_uuid().into(), id.into(), user.into()],
    ))
    .await?;
    let successor = tx
        .query_one_raw(statement(
            "UPDATE community_members SET role = 'owner' WHERE tenant_id = $1 AND community_id = $2 \
             AND user_id = (SELECT user_id FROM community_members WHERE tenant_id = $1 AND community_id = $2 \
             ORDER BY joined_at, user_id LIMIT 1) \
             AND NOT EXISTS (SELECT 1 FROM community_members WHERE tenant_id = $1 AND community_id = $2 \
             AND role = 'owner') RETURNING user_id",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?
        .map(|r| r.try_get::<Uuid>("", "user_id"))
        .transpose()?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("community.left")
            .target("community", id, Some(community.name.as_str()))
            .metadata(json!({ "user_id": user, "role": role, "new_owner": successor })),
    )
    .await?;
    Ok(())
}
