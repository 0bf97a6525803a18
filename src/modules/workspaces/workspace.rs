//! Workspaces and their members. Any member with `workspaces:use` starts one and is its first owner;
//! owners rename, describe, archive (read-only) and restore it, and add, re-role and remove members
//! (active members of the organization). A workspace always keeps an owner. Members leave by removing
//! themselves. Anyone else — HR and the organization's owner included — gets 404.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    Role,
    activity::{self, Entry, Verb},
    notices,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::{count, statement},
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Members of one workspace, at most.
pub const MAX_MEMBERS: i64 = 500;

#[derive(Debug, Clone, FromQueryResult)]
pub struct WorkspaceRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub archived_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub members: i64,
    pub documents: i64,
    pub my_role: String,
    /// Hours a review waits on an approver before they are reminded (and between reminders).
    pub review_reminder_hours: i32,
    /// The review mode a request that names none gets: `chain` or `any`.
    pub default_review_mode: String,
    /// Who may comment: `members` (commenters and up), `editors` (editors and owners), `off`.
    pub comment_policy: String,
}

impl WorkspaceRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.my_role).unwrap_or(Role::Viewer)
    }

    /// 409 when archived: nothing in it changes.
    pub fn ensure_active(&self) -> Result<()> {
        match self.archived_at {
            None => Ok(()),
            Some(_) => Err(ApiError::conflict(
                "workspace_archived",
                "this workspace is archived: it is read-only",
            )),
        }
    }
}

/// `$1` the tenant, `$2` the caller: only workspaces they are in.
const SELECT: &str = "SELECT w.id, w.name, w.description, w.archived_at, w.created_at, w.updated_at, \
     (SELECT count(*) FROM workspace_members x WHERE x.tenant_id = w.tenant_id AND x.workspace_id = w.id) AS members, \
     (SELECT count(*) FROM documents d WHERE d.tenant_id = w.tenant_id AND d.workspace_id = w.id) AS documents, \
     m.role AS my_role, w.review_reminder_hours, w.default_review_mode, w.comment_policy FROM workspaces w \
     JOIN workspace_members m ON m.tenant_id = w.tenant_id AND m.workspace_id = w.id AND m.user_id = $2";

/// The caller's workspaces, archived last, by name.
pub async fn list(tx: &TenantTx, user: Uuid) -> Result<Vec<WorkspaceRow>> {
    Ok(WorkspaceRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE w.tenant_id = $1 ORDER BY (w.archived_at IS NOT NULL), lower(w.name) LIMIT 500"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

/// A workspace the caller is in (404 for anyone else), locked for a change when `lock` — only once the
/// caller is known to be a member, so nobody else can hold its lock — and read again under the lock.
pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid, lock: bool) -> Result<WorkspaceRow> {
    if lock {
        read(tx, user, id).await?;
        tx.execute_raw(statement(
            "SELECT 1 FROM workspaces WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?;
    }
    read(tx, user, id).await
}

/// A workspace the caller is in, held (`FOR SHARE`) while documents in it change: archiving it or
/// changing the caller's role waits for the change, and the change sees them if they came first.
pub async fn hold(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<WorkspaceRow> {
    read(tx, user, id).await?;
    tx.execute_raw(statement(
        "SELECT 1 FROM workspaces WHERE tenant_id = $1 AND id = $2 FOR SHARE",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    read(tx, user, id).await
}

async fn read(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<WorkspaceRow> {
    WorkspaceRow::find_by_statement(statement(
        &format!("{SELECT} WHERE w.tenant_id = $1 AND w.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// A workspace read by Trellis itself (a job acting for nobody in particular), whoever is in it.
pub async fn for_system(tx: &TenantTx, id: Uuid) -> Result<WorkspaceRow> {
    WorkspaceRow::find_by_statement(statement(
        "SELECT w.id, w.name, w.description, w.archived_at, w.created_at, w.updated_at, 0::bigint AS members, \
         0::bigint AS documents, 'viewer' AS my_role, w.review_reminder_hours, w.default_review_mode, \
         w.comment_policy FROM workspaces w WHERE w.tenant_id = $1 AND w.id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// The feed's entry for something done to the workspace itself.
async fn group_entry(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    name: &str,
    verb: Verb,
    what: &str,
) -> Result<()> {
    let who = notices::name_of(tx, user).await?;
    activity::record(
        tx,
        ctx,
        Entry {
            workspace: id,
            actor: Some(user),
            verb,
            object_type: "Group",
            object_id: id,
            object_name: name,
            document: None,
            summary: format!("{who} {what}"),
        },
    )
    .await
}

fn name_taken(err: sea_orm::DbErr) -> ApiError {
    ApiError::unique(
        "workspace_exists",
        "a workspace of this name exists already",
    )(err)
}

pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    name: &str,
    description: &str,
) -> Result<WorkspaceRow> {
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
        "INSERT INTO workspaces (tenant_id, id, name, description, created_by, created_at, updated_at) \
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
        "INSERT INTO workspace_members (tenant_id, workspace_id, user_id, role, added_at) \
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
        AuditEvent::new("workspace.created").target("workspace", id, Some(name.as_str())),
    )
    .await?;
    group_entry(
        tx,
        ctx,
        user,
        id,
        &name,
        Verb::Create,
        "started the workspace",
    )
    .await?;
    get(tx, user, id, false).await
}

/// An owner's change; `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub archived: Option<bool>,
    pub review_reminder_hours: Option<i32>,
    pub default_review_mode: Option<String>,
    pub comment_policy: Option<String>,
}

impl WorkspaceChange {
    fn changes_settings(&self) -> bool {
        self.review_reminder_hours.is_some()
            || self.default_review_mode.is_some()
            || self.comment_policy.is_some()
    }
}

pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    change: WorkspaceChange,
) -> Result<WorkspaceRow> {
    let current = get(tx, user, id, true).await?;
    current
        .role()
        .require(Role::Owner, "changing the workspace")?;
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
    let hours = change
        .review_reminder_hours
        .unwrap_or(current.review_reminder_hours);
    if !(1..=168).contains(&hours) {
        errors.push(FieldError::new(
            "settings.review_reminder_hours",
            "must be between 1 and 168",
        ));
    }
    let mode = change
        .default_review_mode
        .clone()
        .unwrap_or_else(|| current.default_review_mode.clone());
    if mode != "chain" && mode != "any" {
        errors.push(FieldError::new(
            "settings.default_review_mode",
            "must be chain or any",
        ));
    }
    let policy = change
        .comment_policy
        .clone()
        .unwrap_or_else(|| current.comment_policy.clone());
    if !["members", "editors", "off"].contains(&policy.as_str()) {
        errors.push(FieldError::new(
            "settings.comment_policy",
            "must be members, editors or off",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let archived = change.archived.unwrap_or(current.archived_at.is_some());
    if current.archived_at.is_some()
        && archived
        && (change.name.is_some() || change.description.is_some() || change.changes_settings())
    {
        return Err(ApiError::conflict(
            "workspace_archived",
            "this workspace is archived: restore it (archived: false) to change it",
        ));
    }
    tx.execute_raw(statement(
        "UPDATE workspaces SET name = $3, description = $4, updated_at = $5, \
         archived_at = CASE WHEN NOT $6 THEN NULL ELSE coalesce(archived_at, $5) END, \
         review_reminder_hours = $7, default_review_mode = $8, comment_policy = $9 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            name.clone().into(),
            description.into(),
            ctx.now.into(),
            archived.into(),
            hours.into(),
            mode.clone().into(),
            policy.clone().into(),
        ],
    ))
    .await
    .map_err(name_taken)?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("workspace.updated")
            .target("workspace", id, Some(name.as_str()))
            .metadata(json!({
                "renamed": name != current.name, "description_changed": change.description.is_some(),
                "archived": { "before": current.archived_at.is_some(), "after": archived },
                "settings": {
                    "before": { "review_reminder_hours": current.review_reminder_hours,
                                "default_review_mode": current.default_review_mode,
                                "comment_policy": current.comment_policy },
                    "after": { "review_reminder_hours": hours, "default_review_mode": mode,
                               "comment_policy": policy },
                },
            })),
    )
    .await?;
    let what = match (current.archived_at.is_some(), archived) {
        (false, true) => "archived the workspace",
        (true, false) => "restored the workspace",
        _ => "changed the workspace",
    };
    group_entry(tx, ctx, user, id, &name, Verb::Update, what).await?;
    get(tx, user, id, false).await
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub added_at: DateTime<FixedOffset>,
    /// An active member of the organization (only they are mentioned or asked to approve).
    pub active: bool,
}

/// The workspace's members (any member reads them), owners first, then by name.
pub async fn members(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<Vec<MemberRow>> {
    get(tx, user, id, false).await?;
    Ok(MemberRow::find_by_statement(statement(
        "SELECT m.user_id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS display_name, \
         u.email, m.role, m.added_at, u.status = 'active' AS active FROM workspace_members m \
         JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.workspace_id = $2 \
         ORDER BY m.role = 'owner' DESC, lower(u.display_name), u.email",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .all(tx)
    .await?)
}

async fn role_of(tx: &TenantTx, workspace: Uuid, user: Uuid) -> Result<Option<String>> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT role FROM workspace_members WHERE tenant_id = $1 AND workspace_id = $2 AND user_id = $3",
            vec![
                tx.tenant_id().as_uuid().into(),
                workspace.into(),
                user.into(),
            ],
        ))
        .await?
        .map(|r| r.try_get::<String>("", "role"))
        .transpose()?)
}

/// Owners who are active members (a deactivated owner cannot act for the workspace).
async fn owners(tx: &TenantTx, workspace: Uuid) -> Result<i64> {
    Ok(count(
        tx,
        "SELECT count(*) AS n FROM workspace_members m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.workspace_id = $2 AND m.role = 'owner' AND u.status = 'active'",
        vec![tx.tenant_id().as_uuid().into(), workspace.into()],
    )
    .await?)
}

/// 409 while `member` is an approver an open review in the workspace still waits for: they decide, or
/// the review is withdrawn, before they leave or become a viewer (who may not review).
async fn ensure_no_pending_review(tx: &TenantTx, workspace: Uuid, member: Uuid) -> Result<()> {
    let pending = count(
        tx,
        "SELECT count(*) AS n FROM review_approvers a \
         JOIN document_reviews r ON r.tenant_id = a.tenant_id AND r.id = a.review_id AND r.status = 'open' \
         JOIN documents d ON d.tenant_id = r.tenant_id AND d.id = r.document_id AND d.workspace_id = $2 \
         WHERE a.tenant_id = $1 AND a.user_id = $3 AND a.decision IS NULL",
        vec![
            tx.tenant_id().as_uuid().into(),
            workspace.into(),
            member.into(),
        ],
    )
    .await?;
    if pending > 0 {
        return Err(ApiError::conflict(
            "pending_approver",
            "this member is an approver an open review is waiting for: they decide, or the review \
             is withdrawn, first",
        ));
    }
    Ok(())
}

fn last_owner() -> ApiError {
    ApiError::conflict(
        "last_owner",
        "a workspace keeps at least one active owner: make someone else owner first",
    )
}

/// An owner adds `member` (an active member of the organization) with `role`, or changes their role.
pub async fn set_member(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    member: Uuid,
    role: &str,
) -> Result<Vec<MemberRow>> {
    let workspace = get(tx, user, id, true).await?;
    workspace.role().require(Role::Owner, "managing members")?;
    workspace.ensure_active()?;
    let Some(new_role) = Role::parse(role) else {
        return Err(ApiError::validation(
            "role",
            "must be owner, editor, commenter or viewer",
        ));
    };
    let active = count(
        tx,
        "SELECT count(*) AS n FROM users WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
        vec![tx.tenant_id().as_uuid().into(), member.into()],
    )
    .await?;
    if active == 0 {
        return Err(ApiError::not_found());
    }
    let before = role_of(tx, id, member).await?;
    if before.as_deref() == Some("owner") && new_role != Role::Owner && owners(tx, id).await? <= 1 {
        return Err(last_owner());
    }
    if new_role == Role::Viewer && before.as_deref().is_some_and(|r| r != "viewer") {
        ensure_no_pending_review(tx, id, member).await?;
    }
    if before.is_none() && workspace.members >= MAX_MEMBERS {
        return Err(ApiError::conflict(
            "workspace_full",
            format!("a workspace has at most {MAX_MEMBERS} members"),
        ));
    }
    tx.execute_raw(statement(
        "INSERT INTO workspace_members (tenant_id, workspace_id, user_id, role, added_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, workspace_id, user_id) DO UPDATE SET role = excluded.role",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            member.into(),
            new_role.as_str().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("workspace.member_set")
            .target("workspace", id, Some(workspace.name.as_str()))
            .metadata(json!({ "user_id": member, "role": { "before": before, "after": new_role.as_str() } })),
    )
    .await?;
    let (who, whom) = (
        notices::name_of(tx, user).await?,
        notices::name_of(tx, member).await?,
    );
    let (verb, summary) = match before {
        None => (
            Verb::Add,
            format!("{who} added {whom} as {}", new_role.as_str()),
        ),
        Some(_) => (
            Verb::Update,
            format!("{who} made {whom} {}", new_role.as_str()),
        ),
    };
    activity::record(
        tx,
        ctx,
        Entry {
            workspace: id,
            actor: Some(user),
            verb,
            object_type: "Person",
            object_id: member,
            object_name: &whom,
            document: None,
            summary,
        },
    )
    .await?;
    members(tx, user, id).await
}

/// An owner removes a member, or a member leaves (removes themselves); the last owner stays.
pub async fn remove_member(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    member: Uuid,
) -> Result<()> {
    let workspace = get(tx, user, id, true).await?;
    if member != user {
        workspace.role().require(Role::Owner, "removing members")?;
    }
    let Some(before) = role_of(tx, id, member).await? else {
        return Err(ApiError::not_found());
    };
    if before == "owner" && owners(tx, id).await? <= 1 {
        return Err(last_owner());
    }
    ensure_no_pending_review(tx, id, member).await?;
    tx.execute_raw(statement(
        "DELETE FROM workspace_members WHERE tenant_id = $1 AND workspace_id = $2 AND user_id = $3",
        vec![tx.tenant_id().as_uuid().into(), id.into(), member.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("workspace.member_removed")
            .target("workspace", id, Some(workspace.name.as_str()))
            .metadata(json!({ "user_id": member, "role": before, "left": member == user })),
    )
    .await?;
    let whom = notices::name_of(tx, member).await?;
    let summary = if member == user {
        format!("{whom} left")
    } else {
        format!("{} removed {whom}", notices::name_of(tx, user).await?)
    };
    activity::record(
        tx,
        ctx,
        Entry {
            workspace: id,
            actor: Some(user),
            verb: Verb::Remove,
            object_type: "Person",
            object_id: member,
            object_name: &whom,
            document: None,
            summary,
        },
    )
    .await?;
    Ok(())
}
