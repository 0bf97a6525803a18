//! Creating a tenant: the global `tenants` row, its settings, its first owner and the audit event, in one
//! transaction as the owner role (the app role may only read `tenants`). Used by `trellis tenant create`
//! and the local demo seed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, Statement,
    TransactionTrait,
};
use serde_json::json;

use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    auth::password::{NewPassword, PasswordHasher},
    domain::{DisplayName, Email, TenantId, TenantSlug, UserId},
    http::RequestContext,
};

pub struct NewTenant {
    pub slug: TenantSlug,
    pub name: DisplayName,
    pub admin_email: Email,
    pub admin_password: NewPassword,
    pub seat_limit: i32,
}

#[derive(Debug, Clone, Copy)]
pub struct CreatedTenant {
    pub tenant_id: TenantId,
    pub owner_id: UserId,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("a tenant with the slug {0:?} already exists")]
    SlugTaken(String),
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("{0}")]
    Other(String),
}

pub async fn create_tenant(
    owner: &DatabaseConnection,
    passwords: &PasswordHasher,
    now: DateTime<Utc>,
    new: NewTenant,
) -> Result<CreatedTenant, ProvisionError> {
    let password_hash = passwords
        .hash(new.admin_password.secret())
        .await
        .map_err(|e| ProvisionError::Other(e.to_string()))?;
    let tenant_id = TenantId::new();
    let owner_id = UserId::new();
    let tx = owner.begin().await?;
    let inserted = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO tenants (id, slug, status, plan, seat_limit, created_at) \
             VALUES ($1, $2, 'active', 'standard', $3, $4) ON CONFLICT (slug) DO NOTHING",
            [
                tenant_id.as_uuid().into(),
                new.slug.as_str().into(),
                new.seat_limit.into(),
                now.into(),
            ],
        ))
        .await?;
    if inserted.rows_affected() == 0 {
        return Err(ProvisionError::SlugTaken(new.slug.to_string()));
    }
    entity::org_settings::Entity::insert(entity::org_settings::ActiveModel {
        tenant_id: Set(tenant_id.as_uuid()),
        display_name: Set(new.name.as_str().to_owned()),
        default_locale: Set("en".into()),
        timezone: Set("UTC".into()),
        invitation_ttl_hours: Set(168),
        allowed_email_domains: Set(Vec::new()),
        session_idle_minutes: Set(None),
        session_absolute_hours: Set(None),
        mfa_required: Set(false),
        directory_default_role: Set("member".into()),
        audit_retention_days: NotSet,
        updated_at: Set(now.into()),
    })
    .exec_without_returning(&tx)
    .await?;
    entity::users::Entity::insert(entity::users::ActiveModel {
        tenant_id: Set(tenant_id.as_uuid()),
        id: Set(owner_id.as_uuid()),
        email: Set(new.admin_email.as_str().to_owned()),
        display_name: Set(String::new()),
        status: Set("active".into()),
        manager_id: Set(None),
        password_hash: Set(Some(password_hash)),
        password_changed_at: Set(Some(now.into())),
        last_login_at: Set(None),
        deactivated_at: Set(None),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
        ..Default::default()
    })
    .exec_without_returning(&tx)
    .await?;
    entity::memberships::Entity::insert(entity::memberships::ActiveModel {
        tenant_id: Set(tenant_id.as_uuid()),
        id: Set(uuid::Uuid::now_v7()),
        user_id: Set(owner_id.as_uuid()),
        role: Set("owner".into()),
        granted_by: Set(None),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
    })
    .exec_without_returning(&tx)
    .await?;
    let ctx = AuditCtx {
        actor: Actor::system("trellis tenant create"),
        request: RequestContext::default(),
        now,
    };
    audit::record_in(
        &tx,
        tenant_id,
        &ctx,
        AuditEvent::new("tenant.created")
            .target("tenant", tenant_id, Some(new.slug.as_str()))
            .metadata(json!({
                "slug": new.slug.as_str(),
                "name": new.name.as_str(),
                "owner": new.admin_email.as_str(),
                "seat_limit": new.seat_limit,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedTenant {
        tenant_id,
        owner_id,
    })
}
