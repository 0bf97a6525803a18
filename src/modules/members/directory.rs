//! Members as the organization's directory changes them (SSO just-in-time provisioning, SCIM): created
//! without a password (they sign in through the identity provider), deactivated and reactivated under
//! the same seat and last-owner rules as an admin's changes, each change audited with its `source`.

use sea_orm::ActiveValue::Set;
use sea_orm::EntityTrait;
use serde_json::json;

use super::{
    MembersError,
    service::{
        MemberRow, deactivate_member, email_taken, ensure_free_seat, insert_membership,
        reactivate_member,
    },
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    domain::{Email, UserId},
    tenancy::{Tenant, TenantTx, tx::TenantLock},
};

type Result<T> = std::result::Result<T, MembersError>;

/// Who the directory says a new member is.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub display_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub external_id: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub employee_id: Option<String>,
}

/// A member the directory brings: active (taking a seat) or deactivated, holding `role`.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub profile: Profile,
    pub active: bool,
    pub role: String,
}

/// Creates a member.
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    tenant: &Tenant,
    new: NewMember,
    source: &str,
) -> Result<UserId> {
    let NewMember {
        email,
        profile,
        active,
        role,
    } = new;
    let (email, role) = (&email, role.as_str());
    tx.lock(TenantLock::Seats).await?;
    if email_taken(tx, email).await? {
        return Err(MembersError::EmailTaken);
    }
    if active {
        ensure_free_seat(tx, tenant).await?;
    }
    let user_id = UserId::new();
    let status = if active { "active" } else { "deactivated" };
    entity::users::Entity::insert(entity::users::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(user_id.as_uuid()),
        email: Set(email.as_str().to_owned()),
        display_name: Set(profile.display_name),
        status: Set(status.into()),
        deactivated_at: Set((!active).then(|| ctx.now.into())),
        created_at: Set(ctx.now.into()),
        updated_at: Set(ctx.now.into()),
        given_name: Set(profile.given_name),
        family_name: Set(profile.family_name),
        external_id: Set(profile.external_id),
        title: Set(profile.title),
        department: Set(profile.department),
        employee_id: Set(profile.employee_id),
        ..Default::default()
    })
    .exec_without_returning(tx)
    .await?;
    insert_membership(tx, ctx, user_id, role, None).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("member.provisioned")
            .target("user", user_id, Some(email.as_str()))
            .metadata(json!({ "source": source, "role": role, "status": status })),
    )
    .await?;
    Ok(user_id)
}

/// Deactivates (signing them out everywhere at once) or reactivates (if a seat is free) a member; an
/// invited member counts as active. Returns whether anything changed.
pub async fn set_active(
    tx: &TenantTx,
    ctx: &AuditCtx,
    tenant: &Tenant,
    member: &MemberRow,
    active: bool,
    source: &str,
) -> Result<bool> {
    let is_active = member.status != "deactivated";
    if active == is_active {
        return Ok(false);
    }
    if active {
        reactivate_member(tx, ctx, tenant, member, Some(source)).await?;
    } else {
        tx.lock(TenantLock::Owners).await?;
        deactivate_member(tx, ctx, member, Some(source)).await?;
    }
    Ok(true)
}
