//! API-key management on the request's [`TenantTx`].

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::{Principal, api_keys},
    authz::{Authz, Permission},
    error::{ApiError, FieldError},
    http::pagination::PageRequest,
    modules::roles::service::{parse_permissions, texts},
    tenancy::TenantTx,
};

pub type ApiKeyRow = entity::api_keys::Model;

/// The longest an API key may live.
const MAX_LIFETIME_DAYS: i64 = 730;

pub struct NewApiKey {
    pub name: String,
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates a key; returns it with the whole key, which is never shown again.
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    new: NewApiKey,
) -> Result<(ApiKeyRow, String), ApiError> {
    // A key cannot mint keys: every key traces back to the person who created it.
    principal.user()?;
    let mut errors = Vec::new();
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if let Some(expires_at) = new.expires_at
        && (expires_at <= ctx.now || expires_at > ctx.now + Duration::days(MAX_LIFETIME_DAYS))
    {
        errors.push(FieldError::new(
            "expires_at",
            "must be in the future, at most two years away",
        ));
    }
    let grant = match (&new.role, &new.permissions) {
        (Some(role), None) => {
            if !authz.role_exists(tx, role).await? {
                errors.push(FieldError::new(
                    "role",
                    "is not a role of this organization",
                ));
            }
            Some((Some(role.clone()), authz.permissions_of(tx, role).await?))
        }
        (None, Some(permissions)) => match parse_permissions(permissions) {
            Ok(set) => Some((None, set)),
            Err(mut bad) => {
                errors.append(&mut bad);
                None
            }
        },
        _ => {
            errors.push(FieldError::new(
                "role",
                "give either a role or a list of permissions",
            ));
            None
        }
    };
    let (Some((role, permissions)), true) = (grant, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    require_held(tx, authz, principal, &permissions).await?;

    let key = api_keys::generate();
    let id = Uuid::now_v7();
    let scope = role.is_none().then(|| texts(&permissions));
    entity::api_keys::Entity::insert(entity::api_keys::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(id),
        name: Set(name.clone()),
        prefix: Set(key.prefix.clone()),
        secret_hash: Set(key.hash),
        role: Set(role.clone()),
        permissions: Set(scope.clone()),
        created_by: Set(principal.user_id().map(|u| u.as_uuid())),
        created_at: Set(ctx.now.into()),
        expires_at: Set(new.expires_at.map(Into::into)),
        last_used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(tx)
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("api_key.created")
            .target("api_key", id, Some(&name))
            .metadata(json!({ "prefix": key.prefix, "role": role, "permissions": scope, "expires_at": new.expires_at })),
    )
    .await?;
    Ok((get(tx, id).await?, key.token))
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<ApiKeyRow, ApiError> {
    entity::api_keys::Entity::find_by_id((tx.tenant_id().as_uuid(), id))
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Newest first (`limit + 1` rows).
pub async fn list(tx: &TenantTx, page: &PageRequest<Uuid>) -> Result<Vec<ApiKeyRow>, ApiError> {
    let mut query = entity::api_keys::Entity::find()
        .filter(entity::api_keys::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .order_by_desc(entity::api_keys::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(entity::api_keys::Column::Id.lt(after));
    }
    Ok(query.all(tx).await?)
}

/// Revokes a key at once (its next request is refused).
pub async fn revoke(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    id: Uuid,
) -> Result<ApiKeyRow, ApiError> {
    let key = get(tx, id).await?;
    if key.revoked_at.is_some() {
        return Err(ApiError::conflict(
            "api_key_revoked",
            "the key is already revoked",
        ));
    }
    require_held(tx, authz, principal, &held_by(tx, authz, &key).await?).await?;
    entity::api_keys::Entity::update_many()
        .col_expr(
            entity::api_keys::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::api_keys::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::api_keys::Column::Id.eq(id))
        .exec(tx)
        .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("api_key.revoked").target("api_key", id, Some(&key.name)),
    )
    .await?;
    get(tx, id).await
}

/// What a key may do.
async fn held_by(
    tx: &TenantTx,
    authz: &Authz,
    key: &ApiKeyRow,
) -> Result<BTreeSet<Permission>, ApiError> {
    Ok(match (&key.role, &key.permissions) {
        (Some(role), _) => authz.permissions_of(tx, role).await?,
        (None, Some(permissions)) => parse_permissions(permissions).unwrap_or_default(),
        (None, None) => BTreeSet::new(),
    })
}

/// No escalation: a key never holds what its maker (or revoker) does not.
async fn require_held(
    tx: &TenantTx,
    authz: &Authz,
    principal: &Principal,
    permissions: &BTreeSet<Permission>,
) -> Result<(), ApiError> {
    if authz.holds_all(tx, principal, permissions).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "role_escalation",
            "the key would hold permissions you do not hold",
        ))
    }
}

/// Whether a key is usable now.
pub fn status(key: &ApiKeyRow, now: DateTime<Utc>) -> &'static str {
    let expired = key
        .expires_at
        .is_some_and(|at: DateTime<FixedOffset>| at.to_utc() <= now);
    match (key.revoked_at.is_some(), expired) {
        (true, _) => "revoked",
        (false, true) => "expired",
        (false, false) => "active",
    }
}
