//! Role logic, on the request's [`TenantTx`]; every change is audited.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement,
};
use serde_json::json;
use uuid::Uuid;

use super::RolesError;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::Principal,
    authz::{Authz, BASELINE_ROLES, Permission},
    error::FieldError,
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, RolesError>;

/// A role as the API shows it.
#[derive(Debug, Clone)]
pub struct RoleView {
    /// Custom roles only.
    pub id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub builtin: bool,
    /// Members holding the role now.
    pub members: i64,
}

pub struct NewRole {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
}

pub struct RoleChange {
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

/// The baseline roles, then the custom ones by name.
pub async fn list(tx: &TenantTx, authz: &Authz) -> Result<Vec<RoleView>> {
    let counts = member_counts(tx).await?;
    let mut views = Vec::new();
    for name in BASELINE_ROLES {
        let permissions = authz.permissions_of(tx, name).await?;
        views.push(RoleView {
            id: None,
            name: (*name).to_owned(),
            description: String::new(),
            permissions: permissions.iter().map(ToString::to_string).collect(),
            builtin: true,
            members: counts.get(*name).copied().unwrap_or(0),
        });
    }
    let mut custom = entity::roles::Entity::find()
        .filter(entity::roles::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .all(tx)
        .await?;
    custom.sort_by(|a, b| a.name.cmp(&b.name));
    views.extend(custom.into_iter().map(|role| view(role, &counts)));
    Ok(views)
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<RoleView> {
    let role = find(tx, id).await?;
    let counts = member_counts(tx).await?;
    Ok(view(role, &counts))
}

pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    new: NewRole,
) -> Result<RoleView> {
    let mut errors = Vec::new();
    if let Err(message) = valid_name(&new.name) {
        errors.push(FieldError::new("name", message));
    }
    if new.description.chars().count() > 500 {
        errors.push(FieldError::new(
            "description",
            "must be at most 500 characters",
        ));
    }
    let permissions = match parse_permissions(&new.permissions) {
        Ok(permissions) => Some(permissions),
        Err(mut bad) => {
            errors.append(&mut bad);
            None
        }
    };
    let Some(permissions) = permissions.filter(|_| errors.is_empty()) else {
        return Err(RolesError::Invalid(errors));
    };
    require_held(tx, authz, principal, &permissions).await?;
    let taken = entity::roles::Entity::find()
        .filter(entity::roles::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::roles::Column::Name.eq(new.name.as_str()))
        .one(tx)
        .await?
        .is_some();
    if taken {
        return Err(RolesError::NameTaken(new.name));
    }
    let id = Uuid::now_v7();
    entity::roles::Entity::insert(entity::roles::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(id),
        name: Set(new.name.clone()),
        description: Set(new.description.trim().to_owned()),
        permissions: Set(texts(&permissions)),
        created_by: Set(principal.user_id().map(|u| u.as_uuid())),
        created_at: Set(ctx.now.into()),
        updated_at: Set(ctx.now.into()),
    })
    .exec_without_returning(tx)
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("role.created")
            .target("role", id, Some(&new.name))
            .metadata(json!({ "after": { "permissions": texts(&permissions) } })),
    )
    .await?;
    get(tx, id).await
}

pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    id: Uuid,
    change: RoleChange,
) -> Result<RoleView> {
    // Locked: a concurrent change or delete of the role waits for this one (no lost update, and no
    // update of a row deleted since it was read). FOR NO KEY UPDATE, so grants of the role in flight
    // (which hold FOR KEY SHARE, see `Authz::role_exists`) are not blocked by an edit.
    let role = entity::roles::Entity::find_by_id((tx.tenant_id().as_uuid(), id))
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .one(tx)
        .await?
        .ok_or(RolesError::NotFound)?;
    let current = parse_permissions(&role.permissions).unwrap_or_default();
    require_held(tx, authz, principal, &current).await?;
    let mut row: entity::roles::ActiveModel = role.clone().into();
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    if let Some(description) = change.description {
        if description.chars().count() > 500 {
            return Err(RolesError::Invalid(vec![FieldError::new(
                "description",
                "must be at most 500 characters",
            )]));
        }
        let description = description.trim().to_owned();
        if description != role.description {
            before.insert("description".into(), json!(role.description));
            after.insert("description".into(), json!(description));
            row.description = Set(description);
        }
    }
    if let Some(permissions) = change.permissions {
        let permissions = parse_permissions(&permissions).map_err(RolesError::Invalid)?;
        require_held(tx, authz, principal, &permissions).await?;
        if permissions != current {
            before.insert("permissions".into(), json!(texts(&current)));
            after.insert("permissions".into(), json!(texts(&permissions)));
            row.permissions = Set(texts(&permissions));
        }
    }
    if after.is_empty() {
        return get(tx, id).await;
    }
    row.updated_at = Set(ctx.now.into());
    sea_orm::ActiveModelTrait::update(row, tx).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("role.updated")
            .target("role", id, Some(&role.name))
            .metadata(json!({ "before": before, "after": after })),
    )
    .await?;
    get(tx, id).await
}

pub async fn delete(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    id: Uuid,
) -> Result<()> {
    // Locked first: grants of this role in flight (which share-lock it, see `Authz::role_exists`)
    // commit before the holders are counted, and later ones wait and then find no role.
    let role = entity::roles::Entity::find_by_id((tx.tenant_id().as_uuid(), id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or(RolesError::NotFound)?;
    let permissions = parse_permissions(&role.permissions).unwrap_or_default();
    require_held(tx, authz, principal, &permissions).await?;
    let holders = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT (SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = $2) AS members, \
                    (SELECT count(*) FROM api_keys WHERE tenant_id = $1 AND role = $2 \
                       AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)) AS api_keys, \
                    (SELECT count(*) FROM directory_role_mappings WHERE tenant_id = $1 AND role = $2) \
                      + (SELECT count(*) FROM org_settings WHERE tenant_id = $1 AND directory_default_role = $2) \
                      AS directory",
            [
                tx.tenant_id().as_uuid().into(),
                role.name.clone().into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    let (members, api_keys, directory): (i64, i64, i64) = match holders {
        Some(row) => (
            row.try_get("", "members")?,
            row.try_get("", "api_keys")?,
            row.try_get("", "directory")?,
        ),
        None => (0, 0, 0),
    };
    if members > 0 || api_keys > 0 {
        return Err(RolesError::InUse { members, api_keys });
    }
    if directory > 0 {
        return Err(RolesError::UsedByDirectory);
    }
    entity::roles::Entity::delete_many()
        .filter(entity::roles::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::roles::Column::Id.eq(id))
        .exec(tx)
        .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("role.deleted")
            .target("role", id, Some(&role.name))
            .metadata(json!({ "before": { "permissions": role.permissions } })),
    )
    .await?;
    Ok(())
}

async fn find(tx: &TenantTx, id: Uuid) -> Result<entity::roles::Model> {
    entity::roles::Entity::find_by_id((tx.tenant_id().as_uuid(), id))
        .one(tx)
        .await?
        .ok_or(RolesError::NotFound)
}

fn view(role: entity::roles::Model, counts: &BTreeMap<String, i64>) -> RoleView {
    RoleView {
        id: Some(role.id),
        members: counts.get(&role.name).copied().unwrap_or(0),
        name: role.name,
        description: role.description,
        permissions: role.permissions,
        builtin: false,
    }
}

async fn member_counts(tx: &TenantTx) -> Result<BTreeMap<String, i64>> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT role, count(*) AS n FROM memberships WHERE tenant_id = $1 GROUP BY role",
            [tx.tenant_id().as_uuid().into()],
        ))
        .await?;
    let mut counts = BTreeMap::new();
    for row in rows {
        counts.insert(
            row.try_get::<String>("", "role")?,
            row.try_get::<i64>("", "n")?,
        );
    }
    Ok(counts)
}

/// Lower-case letters, digits and `_`, 2–63 characters, starting with a letter; not a baseline role.
fn valid_name(name: &str) -> std::result::Result<(), &'static str> {
    let shape = name.len() >= 2
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !shape {
        return Err("must be 2-63 lower-case letters, digits or _, starting with a letter");
    }
    if BASELINE_ROLES.contains(&name) {
        return Err("is the name of a built-in role");
    }
    Ok(())
}

/// `object:action` texts to known permissions; at least one; every unknown one reported.
pub fn parse_permissions(
    texts: &[String],
) -> std::result::Result<BTreeSet<Permission>, Vec<FieldError>> {
    if texts.is_empty() {
        return Err(vec![FieldError::new(
            "permissions",
            "must list at least one permission",
        )]);
    }
    let mut permissions = BTreeSet::new();
    let mut errors = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        match text
            .split_once(':')
            .and_then(|(obj, act)| Permission::parse(obj, act))
        {
            Some(permission) => {
                permissions.insert(permission);
            }
            None => errors.push(FieldError::new(
                format!("permissions[{i}]"),
                "is not a permission (see GET /api/v1/permissions)",
            )),
        }
    }
    if errors.is_empty() {
        Ok(permissions)
    } else {
        Err(errors)
    }
}

pub fn texts(permissions: &BTreeSet<Permission>) -> Vec<String> {
    permissions.iter().map(ToString::to_string).collect()
}

/// No escalation: every permission of the role must be the principal's own.
async fn require_held(
    tx: &TenantTx,
    authz: &Authz,
    principal: &Principal,
    permissions: &BTreeSet<Permission>,
) -> Result<()> {
    if authz.holds_all(tx, principal, permissions).await? {
        Ok(())
    } else {
        Err(RolesError::Escalation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_checked() {
        assert!(valid_name("team_lead").is_ok());
        for bad in [
            "a",
            "Admin",
            "9lives",
            "with-dash",
            "admin",
            "owner",
            &"x".repeat(64),
        ] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn permissions_must_be_known_and_not_empty() {
        assert!(parse_permissions(&[]).is_err());
        let errors = parse_permissions(&["members:read".into(), "members:fly".into()]).unwrap_err();
        assert_eq!(errors[0].field, "permissions[1]");
        assert_eq!(
            parse_permissions(&["members:read".into(), "members:read".into()])
                .unwrap()
                .len(),
            1
        );
    }
}
