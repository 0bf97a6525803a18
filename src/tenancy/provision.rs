//! Creating a tenant: the global `tenants` row, its settings, its first owner and the audit event, in one
//! transaction as the owner role (the app role may only read `tenants`). Used by `trellis tenant create`
//! and the local demo seed. Changing what the platform sets for a tenant (plan, seats, API rate limit,
//! status): [`update_tenant`], `trellis tenant update`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, Statement,
    TransactionTrait,
};
use serde_json::json;

use super::plan::Plan;
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
    pub plan: Plan,
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
             VALUES ($1, $2, 'active', $3, $4, $5) ON CONFLICT (slug) DO NOTHING",
            [
                tenant_id.as_uuid().into(),
                new.slug.as_str().into(),
                new.plan.as_str().into(),
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
    // The organization's own copies of the starter skills taxonomy (docs/career.md) and of the
    // interview question bank (docs/interview.md).
    let mut copied = Vec::new();
    for seed in ["app.seed_career_taxonomy", "app.seed_interview_questions"] {
        copied.push(
            tx.query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("SELECT {seed}($1) AS copied"),
                [tenant_id.as_uuid().into()],
            ))
            .await?
            .map(|row| row.try_get::<i32>("", "copied"))
            .transpose()?
            .unwrap_or(0),
        );
    }
    let (skills, questions) = (copied[0], copied[1]);
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
                "plan": new.plan.as_str(),
                "seat_limit": new.seat_limit,
                "career_skills": skills,
                "interview_questions": questions,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedTenant {
        tenant_id,
        owner_id,
    })
}

/// What the platform changes about a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantChange {
    pub plan: Option<Plan>,
    pub seat_limit: Option<i32>,
    /// `Some(None)` goes back to the plan's rate limit.
    pub api_rate_limit: Option<Option<i32>>,
    pub suspended: Option<bool>,
}

/// Applies `change` to the tenant `slug` and records `tenant.updated` (before and after) in its audit
/// log, in one transaction as the owner role; returns the tenant's id. The caller announces the change
/// to the instances' tenant caches.
pub async fn update_tenant(
    owner: &DatabaseConnection,
    now: DateTime<Utc>,
    slug: &TenantSlug,
    change: &TenantChange,
    actor: &str,
) -> Result<TenantId, ProvisionError> {
    let tx = owner.begin().await?;
    let before = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id, plan, seat_limit, api_rate_limit, status FROM tenants WHERE slug = $1 FOR UPDATE",
            [slug.as_str().into()],
        ))
        .await?
        .ok_or_else(|| ProvisionError::Other(format!("no tenant {slug}")))?;
    let tenant_id = TenantId::from_uuid(before.try_get("", "id")?);
    let old = json!({
        "plan": before.try_get::<String>("", "plan")?,
        "seat_limit": before.try_get::<i32>("", "seat_limit")?,
        "api_rate_limit": before.try_get::<Option<i32>>("", "api_rate_limit")?,
        "status": before.try_get::<String>("", "status")?,
    });
    let after = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE tenants SET plan = coalesce($2, plan), seat_limit = coalesce($3, seat_limit), \
               api_rate_limit = CASE WHEN $4 THEN $5 ELSE api_rate_limit END, \
               status = coalesce($6, status) \
             WHERE id = $1 RETURNING plan, seat_limit, api_rate_limit, status",
            [
                tenant_id.as_uuid().into(),
                change.plan.map(|p| p.as_str().to_owned()).into(),
                change.seat_limit.into(),
                change.api_rate_limit.is_some().into(),
                change.api_rate_limit.flatten().into(),
                change
                    .suspended
                    .map(|s| if s { "suspended" } else { "active" }.to_owned())
                    .into(),
            ],
        ))
        .await?
        .ok_or_else(|| ProvisionError::Other(format!("no tenant {slug}")))?;
    let new = json!({
        "plan": after.try_get::<String>("", "plan")?,
        "seat_limit": after.try_get::<i32>("", "seat_limit")?,
        "api_rate_limit": after.try_get::<Option<i32>>("", "api_rate_limit")?,
        "status": after.try_get::<String>("", "status")?,
    });
    if new != old {
        let ctx = AuditCtx {
            actor: Actor::system(actor),
            request: RequestContext::default(),
            now,
        };
        audit::record_in(
            &tx,
            tenant_id,
            &ctx,
            AuditEvent::new("tenant.updated")
                .target("tenant", tenant_id, Some(slug.as_str()))
                .metadata(json!({ "before": old, "after": new })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(tenant_id)
}
