//! Directory groups -> roles. One rule for both sources of groups (an ID token's groups claim at SSO
//! sign-in, SCIM group memberships): the first mapping, in order, that names one of the member's groups
//! gives their role; with mappings configured and none matching, the organization's default role. An
//! owner's role is never changed by the directory (owners are the break-glass accounts).

use std::collections::BTreeSet;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};
use serde_json::json;

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::Principal,
    authz::Authz,
    domain::UserId,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
};

/// A mapping as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// A group name or id as the directory sends it (claim value, SCIM group display name or externalId).
    pub group: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mappings {
    pub default_role: String,
    pub mappings: Vec<Mapping>,
}

impl Mappings {
    /// The role the directory gives a member in `groups`: `None` when no mapping is configured (roles are
    /// then managed in Trellis, and only new members get the default role).
    pub fn role_for(&self, groups: &BTreeSet<String>) -> Option<&str> {
        if self.mappings.is_empty() {
            return None;
        }
        Some(
            self.mappings
                .iter()
                .find(|m| groups.contains(&m.group))
                .map(|m| m.role.as_str())
                .unwrap_or(&self.default_role),
        )
    }
}

const MAX_MAPPINGS: usize = 100;

pub async fn get(tx: &TenantTx) -> Result<Mappings, ApiError> {
    let default_role = entity::org_settings::Entity::find_by_id(tx.tenant_id().as_uuid())
        .one(tx)
        .await?
        .map(|s| s.directory_default_role)
        .unwrap_or_else(|| "member".into());
    let mappings = entity::directory_role_mappings::Entity::find()
        .filter(entity::directory_role_mappings::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .order_by_asc(entity::directory_role_mappings::Column::Position)
        .all(tx)
        .await?
        .into_iter()
        .map(|m| Mapping {
            group: m.group_value,
            role: m.role,
        })
        .collect();
    Ok(Mappings {
        default_role,
        mappings,
    })
}

/// Replaces the default role and the mappings. Every role named must exist, must not be `owner`, and
/// must be one the principal could grant (no escalation through the directory).
pub async fn put(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    new: Mappings,
) -> Result<Mappings, ApiError> {
    let mut errors = Vec::new();
    if new.mappings.len() > MAX_MAPPINGS {
        errors.push(FieldError::new("mappings", "at most 100 mappings"));
    }
    let mut roles: Vec<(String, String)> = vec![("default_role".into(), new.default_role.clone())];
    let mut seen = BTreeSet::new();
    let mut mappings = Vec::new();
    for (i, mapping) in new.mappings.iter().enumerate() {
        let group = mapping.group.trim().to_owned();
        if group.is_empty() || group.chars().count() > 255 {
            errors.push(FieldError::new(
                format!("mappings[{i}].group"),
                "must be 1 to 255 characters",
            ));
        } else if !seen.insert(group.clone()) {
            errors.push(FieldError::new(
                format!("mappings[{i}].group"),
                "is mapped twice",
            ));
        }
        roles.push((format!("mappings[{i}].role"), mapping.role.clone()));
        mappings.push(Mapping {
            group,
            role: mapping.role.clone(),
        });
    }
    for (field, role) in &roles {
        if role == "owner" {
            errors.push(FieldError::new(
                field.clone(),
                "owner cannot be given by the directory",
            ));
        } else if !authz.role_exists(tx, role).await? {
            errors.push(FieldError::new(
                field.clone(),
                "is not a role of this organization",
            ));
        } else if !authz.covers(tx, principal, role).await? {
            return Err(ApiError::forbidden(
                "role_escalation",
                format!("the role {role} has permissions you do not hold"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let before = get(tx).await?;
    let tenant = tx.tenant_id().as_uuid();
    entity::directory_role_mappings::Entity::delete_many()
        .filter(entity::directory_role_mappings::Column::TenantId.eq(tenant))
        .exec(tx)
        .await?;
    if !mappings.is_empty() {
        entity::directory_role_mappings::Entity::insert_many(mappings.iter().enumerate().map(
            |(position, m)| entity::directory_role_mappings::ActiveModel {
                tenant_id: Set(tenant),
                id: Set(uuid::Uuid::now_v7()),
                position: Set(position as i32),
                group_value: Set(m.group.clone()),
                role: Set(m.role.clone()),
            },
        ))
        .exec_without_returning(tx)
        .await?;
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE org_settings SET directory_default_role = $2, updated_at = $3 WHERE tenant_id = $1",
        [
            tenant.into(),
            new.default_role.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let after = Mappings {
        default_role: new.default_role,
        mappings,
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new("sso.role_mappings_updated").metadata(json!({
            "before": describe(&before),
            "after": describe(&after),
        })),
    )
    .await?;
    Ok(after)
}

fn describe(m: &Mappings) -> serde_json::Value {
    json!({
        "default_role": m.default_role,
        "mappings": m.mappings.iter().map(|m| json!({ "group": m.group, "role": m.role })).collect::<Vec<_>>(),
    })
}

/// Gives `user_id` the role the directory says, unless they are an owner or already hold it; audited as
/// `member.role_changed` with the source (`sso` or `scim`). Returns the role they hold afterwards.
pub async fn apply_role(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user_id: UserId,
    email: &str,
    role: &str,
    source: &str,
) -> Result<Option<String>, ApiError> {
    let current = entity::memberships::Entity::find()
        .filter(entity::memberships::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::memberships::Column::UserId.eq(user_id.as_uuid()))
        .one(tx)
        .await?
        .map(|m| m.role);
    match current.as_deref() {
        Some("owner") => return Ok(current),
        Some(held) if held == role => return Ok(current),
        _ => {}
    }
    let changed = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO memberships (tenant_id, id, user_id, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at \
             WHERE memberships.role <> 'owner'",
            [
                tx.tenant_id().as_uuid().into(),
                uuid::Uuid::now_v7().into(),
                user_id.as_uuid().into(),
                role.into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    if changed.rows_affected() == 0 {
        return Ok(current);
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("member.role_changed")
            .target("user", user_id, Some(email))
            .metadata(json!({
                "before": { "role": current },
                "after": { "role": role },
                "source": source,
            })),
    )
    .await?;
    Ok(Some(role.to_owned()))
}

/// The groups SCIM has put `user_id` in, by display name and by the client's id for them: both can
/// be named by a mapping.
pub async fn scim_groups_of(tx: &TenantTx, user_id: UserId) -> Result<BTreeSet<String>, ApiError> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT g.display_name, g.external_id FROM scim_group_members m \
             JOIN scim_groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
             WHERE m.tenant_id = $1 AND m.user_id = $2",
            [tx.tenant_id().as_uuid().into(), user_id.as_uuid().into()],
        ))
        .await?;
    let mut groups = BTreeSet::new();
    for row in rows {
        groups.insert(row.try_get::<String>("", "display_name")?);
        if let Some(external) = row.try_get::<Option<String>>("", "external_id")? {
            groups.insert(external);
        }
    }
    Ok(groups)
}
