//! Authorization: casbin RBAC with domains (domain = tenant id), on logical objects and actions.
//!
//! `authz.require(&principal, Obj::Members, Act::Read)` is the first line of every handler. The
//! principal's role comes from `memberships`, read in the request's own transaction (see
//! [`crate::auth::session_check`]), so a revoked role takes effect on the very next
//! request; the enforcer holds what each role may do: the baseline `policies/policy.csv`, plus the
//! tenant's custom roles (`roles`). One enforcer per tenant, cached and read without locks
//! beyond the cache's read lock, rebuilt for that tenant alone when a policy-change message arrives.
//! docs/permissions.md has the matrix; docs/adr/0002-authorization.md the reasoning.

mod permissions;

use std::{collections::BTreeSet, path::Path, sync::Arc, time::Duration};

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

pub use permissions::{Act, BASELINE_ROLES, Obj, Permission};

use crate::{
    auth::{Authenticated, Principal},
    cache::TtlCache,
    config::{AuthzSettings, TenancySettings},
    coordination::{BusHealth, Invalidation, InvalidationListener},
    domain::TenantId,
    error::ApiError,
    tenancy::TenantTx,
};

/// The baseline policy's domain: a rule for every tenant.
const ANY_TENANT: &str = "*";

pub struct Authz {
    model: String,
    baseline: Vec<Vec<String>>,
    enforcers: TtlCache<TenantId, Arc<Enforcer>>,
    ttl: Duration,
    degraded_ttl: Duration,
    health: BusHealth,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("policy.csv line {line}: {message}")]
    Invalid { line: usize, message: String },
    #[error("casbin: {0}")]
    Casbin(#[from] casbin::Error),
}

impl Authz {
    /// Reads `model.conf` and `policy.csv` from `policy_dir`. Every policy line must name a known
    /// permission: a typo is a boot error, not a silently missing grant.
    pub async fn load(
        settings: &AuthzSettings,
        tenancy: &TenancySettings,
        health: BusHealth,
    ) -> Result<Authz, PolicyError> {
        let dir = Path::new(&settings.policy_dir);
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let model = read("model.conf")?;
        let baseline = parse_policy(&read("policy.csv")?)?;
        let authz = Authz {
            model,
            baseline,
            enforcers: TtlCache::new(settings.cache_capacity),
            ttl: Duration::from_secs(tenancy.cache_ttl_secs),
            degraded_ttl: Duration::from_millis(tenancy.degraded_ttl_ms),
            health,
        };
        // Build one enforcer now, so a bad model fails the boot rather than the first request.
        authz.build(TenantId::new(), Vec::new()).await?;
        Ok(authz)
    }

    /// Allows the request, or answers 403 `forbidden`.
    pub async fn require(&self, auth: &Authenticated, obj: Obj, act: Act) -> Result<(), ApiError> {
        let permission = Permission::new(obj, act);
        let allowed = match &auth.principal.scope {
            // An API key limited to a permission set.
            Some(scope) => scope.contains(&permission),
            None => {
                self.allows(&auth.tx, auth.principal.role.as_deref(), permission)
                    .await?
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                format!("this needs the {permission} permission"),
            ))
        }
    }

    /// Whether `role` holds `permission` in the transaction's tenant.
    pub async fn allows(
        &self,
        tx: &TenantTx,
        role: Option<&str>,
        permission: Permission,
    ) -> Result<bool, ApiError> {
        let Some(role) = role else {
            return Ok(false);
        };
        let enforcer = self.enforcer(tx).await?;
        enforcer
            .enforce((
                role,
                tx.tenant_id().to_string().as_str(),
                permission.obj.as_str(),
                permission.act.as_str(),
            ))
            .map_err(|e| ApiError::internal(anyhow::anyhow!("casbin enforce: {e}")))
    }

    /// Every permission `role` holds in the transaction's tenant.
    pub async fn permissions_of(
        &self,
        tx: &TenantTx,
        role: &str,
    ) -> Result<BTreeSet<Permission>, ApiError> {
        let mut held = BTreeSet::new();
        for permission in Permission::all() {
            if self.allows(tx, Some(role), permission).await? {
                held.insert(permission);
            }
        }
        Ok(held)
    }

    /// Whether `role` exists in the tenant (it holds at least one permission), for granting it. A custom
    /// role's row is share-locked until the transaction ends: a concurrent deletion waits for this grant
    /// and then sees it (and refuses), or commits first and this grant finds no role.
    pub async fn role_exists(&self, tx: &TenantTx, role: &str) -> Result<bool, ApiError> {
        if !BASELINE_ROLES.contains(&role) {
            let row = tx
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT 1 AS present FROM roles WHERE tenant_id = $1 AND name = $2 FOR KEY SHARE",
                    [tx.tenant_id().as_uuid().into(), role.into()],
                ))
                .await?;
            if row.is_none() {
                return Ok(false);
            }
        }
        Ok(!self.permissions_of(tx, role).await?.is_empty())
    }

    /// No escalation: a principal may grant, or act on a member holding, `role` only when it holds
    /// every permission of that role itself.
    pub async fn covers(
        &self,
        tx: &TenantTx,
        principal: &Principal,
        role: &str,
    ) -> Result<bool, ApiError> {
        let theirs = self.permissions_of(tx, role).await?;
        self.holds_all(tx, principal, &theirs).await
    }

    /// Whether the principal holds every one of `permissions`.
    pub async fn holds_all(
        &self,
        tx: &TenantTx,
        principal: &Principal,
        permissions: &BTreeSet<Permission>,
    ) -> Result<bool, ApiError> {
        let mine = match (&principal.scope, principal.role.as_deref()) {
            (Some(scope), _) => scope.clone(),
            (None, Some(role)) => self.permissions_of(tx, role).await?,
            (None, None) => return Ok(false),
        };
        Ok(permissions.is_subset(&mine))
    }

    /// The tenant's cached enforcer, or one built from the tenant's custom roles read in the request's
    /// own transaction (no second connection, so a full pool cannot deadlock on a cache miss).
    async fn enforcer(&self, tx: &TenantTx) -> Result<Arc<Enforcer>, ApiError> {
        let tenant = tx.tenant_id();
        let ttl = if self.health.is_up() {
            self.ttl
        } else {
            self.degraded_ttl
        };
        if let Some(enforcer) = self.enforcers.get(&tenant, ttl) {
            return Ok(enforcer);
        }
        let generation = self.enforcers.generation();
        let custom = custom_rules(tx).await?;
        let enforcer = Arc::new(
            self.build(tenant, custom)
                .await
                .map_err(|e| ApiError::internal(anyhow::anyhow!("building the enforcer: {e}")))?,
        );
        self.enforcers
            .insert_loaded(generation, tenant, enforcer.clone());
        Ok(enforcer)
    }

    /// An enforcer with the baseline rules (domain `*`) and `custom` (domain = the tenant).
    async fn build(
        &self,
        _tenant: TenantId,
        custom: Vec<Vec<String>>,
    ) -> Result<Enforcer, PolicyError> {
        let model = DefaultModel::from_str(&self.model).await?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await?;
        enforcer.add_policies(self.baseline.clone()).await?;
        if !custom.is_empty() {
            enforcer.add_policies(custom).await?;
        }
        Ok(enforcer)
    }
}

/// The tenant's custom roles as casbin rules `role, tenant, obj, act`.
async fn custom_rules(tx: &TenantTx) -> Result<Vec<Vec<String>>, ApiError> {
    let roles = entity::roles::Entity::find()
        .filter(entity::roles::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .all(tx)
        .await?;
    let domain = tx.tenant_id().to_string();
    let mut rules = Vec::new();
    for role in roles {
        for text in &role.permissions {
            match text
                .split_once(':')
                .and_then(|(obj, act)| Permission::parse(obj, act))
            {
                Some(p) => rules.push(vec![
                    role.name.clone(),
                    domain.clone(),
                    p.obj.as_str().to_owned(),
                    p.act.as_str().to_owned(),
                ]),
                // A permission this build no longer knows grants nothing.
                None => {
                    tracing::warn!(role = %role.name, permission = %text, "unknown permission ignored")
                }
            }
        }
    }
    Ok(rules)
}

impl InvalidationListener for Authz {
    fn invalidate(&self, message: &Invalidation) {
        if let Invalidation::Policy { tenant_id } = message {
            self.enforcers.remove(tenant_id);
        }
    }

    fn flush(&self) {
        self.enforcers.clear();
    }
}

/// `p, role, domain, obj, act` lines; comments and blank lines skipped.
fn parse_policy(csv: &str) -> Result<Vec<Vec<String>>, PolicyError> {
    let mut rules = Vec::new();
    for (index, line) in csv.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let invalid = |message: String| PolicyError::Invalid {
            line: index + 1,
            message,
        };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [kind, role, domain, obj, act] = fields[..] else {
            return Err(invalid("expected `p, role, domain, object, action`".into()));
        };
        if kind != "p" {
            return Err(invalid(format!("unknown rule type {kind:?}")));
        }
        if domain != ANY_TENANT {
            return Err(invalid(
                "the baseline policy applies to every tenant: domain `*`".into(),
            ));
        }
        Permission::parse(obj, act)
            .ok_or_else(|| invalid(format!("unknown permission {obj}:{act}")))?;
        rules.push(vec![
            role.to_owned(),
            domain.to_owned(),
            obj.to_owned(),
            act.to_owned(),
        ]);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_lines_must_name_known_permissions() {
        assert!(parse_policy("p, admin, *, members, read\n# c\n\n").is_ok());
        assert!(parse_policy("p, admin, *, members, raed").is_err());
        assert!(parse_policy("p, admin, acme, members, read").is_err());
        assert!(parse_policy("g, a, b, *").is_err());
    }
}
