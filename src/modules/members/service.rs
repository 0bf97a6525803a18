//! Member and invitation logic, on the request's [`TenantTx`]. Every change records its audit event in
//! the same transaction.

use chrono::{DateTime, Duration, FixedOffset};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, Statement, Value,
};
use serde_json::json;
use uuid::Uuid;

use super::MembersError;
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    auth::{
        Principal, mfa,
        password::NewPassword,
        service::{self as auth_service, LoginOutcome, random_token, token_hash},
    },
    authz::Authz,
    db::sql::SqlBuilder,
    domain::{DisplayName, Email, InvitationId, UserId},
    error::ApiError,
    http::pagination::PageRequest,
    mail::{self, MailTemplate},
    state::AppState,
    tenancy::{Tenant, TenantTx, tx::TenantLock},
};

type Result<T> = std::result::Result<T, MembersError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct MemberRow {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub status: String,
    pub manager_id: Option<Uuid>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub location: Option<String>,
    pub employee_id: Option<String>,
    pub role: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub last_login_at: Option<DateTime<FixedOffset>>,
    pub deactivated_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct InvitationRow {
    pub id: Uuid,
    pub email: String,
    pub user_id: Option<Uuid>,
    pub role: Option<String>,
    pub invited_by: Option<Uuid>,
    pub status: String,
    pub created_at: DateTime<FixedOffset>,
    pub expires_at: DateTime<FixedOffset>,
    pub accepted_at: Option<DateTime<FixedOffset>>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
}

/// What `users.status` holds.
pub const MEMBER_STATUSES: &[&str] = &["active", "invited", "deactivated"];

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Part of the email or the display name, case-insensitive.
    pub search: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
    pub department: Option<String>,
}

pub struct Invite {
    pub email: Email,
    pub display_name: Option<DisplayName>,
    pub role: String,
}

pub struct Invited {
    pub member: MemberRow,
    pub invitation: InvitationRow,
    /// The link that accepts the invitation (also mailed to the invitee). Its single-use token travels
    /// in the fragment, so it reaches no server log; only the token's hash is stored.
    pub accept_url: String,
}

const MEMBER_COLUMNS: &str = "u.id, u.email, u.display_name, u.status, u.manager_id, u.title, \
     u.department, u.location, u.employee_id, m.role, \
     u.created_at, u.last_login_at, u.deactivated_at \
     FROM users u LEFT JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id";

/// A page of members, ordered by email (`limit + 1` rows: the extra one says there is more).
pub async fn list(
    tx: &TenantTx,
    filter: &MemberFilter,
    page: &PageRequest<String>,
) -> Result<Vec<MemberRow>> {
    let mut query = SqlBuilder::new(
        format!("SELECT {MEMBER_COLUMNS} WHERE u.tenant_id = $1"),
        tx.tenant_id().as_uuid(),
    );
    query.and_contains(
        &["u.email", "lower(u.display_name)"],
        filter.search.as_deref(),
    );
    if let Some(role) = &filter.role {
        let n = query.bind(role.clone());
        query.push(&format!(" AND m.role = ${n}"));
    }
    if let Some(status) = &filter.status {
        match MEMBER_STATUSES
            .iter()
            .find(|known| **known == status.as_str())
        {
            Some(known) => query.and_equals_known("u.status", known),
            // A status no member has (the console passes what it is given).
            None => query.push(" AND false"),
        }
    }
    if let Some(department) = &filter.department {
        let n = query.bind(department.clone());
        query.push(&format!(" AND u.department = ${n}"));
    }
    if let Some(after) = &page.after {
        let n = query.bind(after.clone());
        query.push(&format!(" AND u.email > ${n}"));
    }
    query.push(" ORDER BY u.email");
    query.limit(page.limit + 1);
    Ok(MemberRow::find_by_statement(query.build()).all(tx).await?)
}

pub async fn get(tx: &TenantTx, id: UserId) -> Result<MemberRow> {
    find(tx, id).await?.ok_or(MembersError::MemberNotFound)
}

async fn find(tx: &TenantTx, id: UserId) -> Result<Option<MemberRow>> {
    Ok(MemberRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {MEMBER_COLUMNS} WHERE u.tenant_id = $1 AND u.id = $2"),
        [tx.tenant_id().as_uuid().into(), id.as_uuid().into()],
    ))
    .one(tx)
    .await?)
}

/// Invites a new member: an `invited` user holding `role`, and a single-use invitation that expires after
/// the organization's `invitation_ttl_hours`.
pub async fn invite(
    tx: &TenantTx,
    ctx: &AuditCtx,
    state: &AppState,
    principal: &Principal,
    tenant: &Tenant,
    invite: Invite,
) -> Result<Invited> {
    require_grantable(tx, &state.authz, principal, &invite.role).await?;
    let settings = entity::org_settings::Entity::find_by_id(tx.tenant_id().as_uuid())
        .one(tx)
        .await?;
    let (ttl_hours, allowed_domains, org_name) = settings
        .map(|s| {
            (
                s.invitation_ttl_hours,
                s.allowed_email_domains,
                s.display_name,
            )
        })
        .unwrap_or((168, Vec::new(), tenant.slug.to_string()));
    if !allowed_domains.is_empty() && !allowed_domains.iter().any(|d| d == invite.email.domain()) {
        return Err(MembersError::field(
            "email",
            "is outside the email domains this organization allows",
        ));
    }
    tx.lock(TenantLock::Seats).await?;
    if email_taken(tx, &invite.email).await? {
        return Err(MembersError::EmailTaken);
    }
    ensure_free_seat(tx, tenant).await?;

    let user_id = UserId::new();
    let display_name = invite
        .display_name
        .map(DisplayName::into_inner)
        .unwrap_or_default();
    entity::users::Entity::insert(entity::users::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(user_id.as_uuid()),
        email: Set(invite.email.as_str().to_owned()),
        display_name: Set(display_name),
        status: Set("invited".into()),
        manager_id: Set(None),
        password_hash: Set(None),
        password_changed_at: Set(None),
        last_login_at: Set(None),
        deactivated_at: Set(None),
        created_at: Set(ctx.now.into()),
        updated_at: Set(ctx.now.into()),
        ..Default::default()
    })
    .exec_without_returning(tx)
    .await?;
    insert_membership(tx, ctx, user_id, &invite.role, principal.user_id()).await?;
    let token = random_token();
    let invitation_id = InvitationId::new();
    let expires_at = ctx.now + Duration::hours(i64::from(ttl_hours));
    entity::invitations::Entity::insert(entity::invitations::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(invitation_id.as_uuid()),
        user_id: Set(Some(user_id.as_uuid())),
        email: Set(invite.email.as_str().to_owned()),
        token_hash: Set(token_hash(&token)),
        invited_by: Set(principal.user_id().map(|u| u.as_uuid())),
        created_at: Set(ctx.now.into()),
        expires_at: Set(expires_at.into()),
        accepted_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(tx)
    .await?;
    let accept_url = state.tenant_url(
        ctx.request.scheme,
        &tenant.slug,
        &format!("/admin/accept-invitation#token={token}"),
    );
    mail::enqueue(
        tx,
        &state.crypto,
        ctx.now,
        invite.email.as_str(),
        MailTemplate::Invitation {
            org_name,
            inviter: principal.display_label(),
            accept_url: accept_url.clone(),
            expires_at: expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        },
    )
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("member.invited")
            .target("user", user_id, Some(invite.email.as_str()))
            .metadata(json!({ "role": invite.role, "invitation_id": invitation_id })),
    )
    .await?;
    Ok(Invited {
        member: get(tx, user_id).await?,
        invitation: get_invitation(tx, ctx, invitation_id).await?,
        accept_url,
    })
}

/// Accepts an invitation: the invited user sets a password, becomes active and is signed in — or, when
/// the organization requires two-step verification, gets the enrolment challenge that completes the
/// sign-in (the acceptance itself is committed either way).
pub async fn accept_invitation(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    token: &str,
    password: &str,
    display_name: Option<DisplayName>,
) -> Result<LoginOutcome> {
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    // Consumed in one statement: of two concurrent acceptances, or an acceptance and a revocation,
    // exactly one wins (the other waits for the row, then finds it no longer pending).
    let consumed = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE invitations SET accepted_at = $3 \
             WHERE tenant_id = $1 AND token_hash = $2 \
               AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 \
             RETURNING id, user_id",
            [
                tenant.id.as_uuid().into(),
                token_hash(token).into(),
                ctx.now.into(),
            ],
        ))
        .await?
        .ok_or(MembersError::InvitationInvalid)?;
    let invitation_id: Uuid = consumed.try_get("", "id")?;
    let user_id: Option<Uuid> = consumed.try_get("", "user_id")?;
    let user_id = UserId::from_uuid(user_id.ok_or(MembersError::InvitationInvalid)?);
    let user = find(&tx, user_id)
        .await?
        .filter(|u| u.status == "invited")
        .ok_or(MembersError::InvitationInvalid)?;
    // Single sign-on required: no password for a non-owner; signing in through the provider accepts
    // the invitation instead (nothing is consumed here).
    if crate::modules::sso::connection::refuses_password(
        &tx,
        tenant,
        &state.settings.plans,
        user.role.as_deref(),
    )
    .await?
    {
        return Err(ApiError::forbidden(
            "sso_required",
            "this organization signs in with single sign-on: sign in at /auth/sso/start to join",
        )
        .into());
    }
    let password = NewPassword::parse(password, &user.email)
        .map_err(|m| MembersError::field("password", m))?;
    let hash = state.passwords.hash(password.secret()).await?;
    let ctx = ctx.with_actor(Actor::user(user_id, &user.email));
    auth_service::set_password(&tx, &ctx, user_id, hash).await?;
    let mut update = entity::users::Entity::update_many()
        .col_expr(entity::users::Column::Status, "active".into())
        .col_expr(
            entity::users::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::users::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::users::Column::Id.eq(user_id.as_uuid()))
        .filter(entity::users::Column::Status.eq("invited"));
    if let Some(name) = display_name {
        update = update.col_expr(entity::users::Column::DisplayName, name.into_inner().into());
    }
    if update.exec(&tx).await?.rows_affected != 1 {
        return Err(MembersError::InvitationInvalid);
    }
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("invitation.accepted").target(
            "invitation",
            invitation_id,
            Some(&user.email),
        ),
    )
    .await?;
    // The invited user is now an ordinary member: the same second-step rules as any sign-in.
    let user = entity::users::Entity::find()
        .filter(entity::users::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::users::Column::Id.eq(user_id.as_uuid()))
        .one(&tx)
        .await?
        .ok_or(MembersError::InvitationInvalid)?;
    if let Some(challenge) = mfa::service::gate(state, &tx, tenant, &user).await? {
        tx.commit().await?;
        return Ok(challenge);
    }
    let pair = auth_service::finish_sign_in(
        state,
        tx,
        &ctx,
        tenant,
        &user,
        auth_service::SignIn::new("invitation"),
    )
    .await?;
    Ok(LoginOutcome::Tokens(pair))
}

/// Gives a member another role.
pub async fn change_role(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    member_id: UserId,
    role: &str,
) -> Result<MemberRow> {
    // Every change that can touch an owner is serialised per tenant, and the member is read after
    // the lock: the last-owner count and the role checks see what is committed now.
    tx.lock(TenantLock::Owners).await?;
    let member = get(tx, member_id).await?;
    require_manageable(tx, authz, principal, &member).await?;
    require_grantable(tx, authz, principal, role).await?;
    if member.role.as_deref() == Some(role) {
        return Ok(member);
    }
    if member.role.as_deref() == Some("owner") {
        ensure_other_owner(tx, member_id).await?;
    }
    let updated = entity::memberships::Entity::update_many()
        .col_expr(entity::memberships::Column::Role, role.into())
        .col_expr(
            entity::memberships::Column::GrantedBy,
            principal.user_id().map(|u| u.as_uuid()).into(),
        )
        .col_expr(
            entity::memberships::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::memberships::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::memberships::Column::UserId.eq(member_id.as_uuid()))
        .exec(tx)
        .await?;
    if updated.rows_affected == 0 {
        insert_membership(tx, ctx, member_id, role, principal.user_id()).await?;
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("member.role_changed")
            .target("user", member_id, Some(&member.email))
            .metadata(json!({ "before": { "role": member.role }, "after": { "role": role } })),
    )
    .await?;
    get(tx, member_id).await
}

/// Deactivates an active member: they are signed out everywhere at once and cannot sign in again.
pub async fn deactivate(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    member_id: UserId,
) -> Result<MemberRow> {
    // Every change that can touch an owner is serialised per tenant, and the member is read after
    // the lock: the last-owner count and the role checks see what is committed now.
    tx.lock(TenantLock::Owners).await?;
    let member = get(tx, member_id).await?;
    if principal.user_id() == Some(member_id) {
        return Err(MembersError::SelfAction {
            action: "deactivate",
        });
    }
    require_manageable(tx, authz, principal, &member).await?;
    if member.status != "active" {
        return Err(MembersError::WrongStatus {
            status: member.status,
        });
    }
    deactivate_member(tx, ctx, &member, None).await?;
    get(tx, member_id).await
}

/// Reactivates a deactivated member, if a seat is free.
pub async fn reactivate(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    tenant: &Tenant,
    member_id: UserId,
) -> Result<MemberRow> {
    let member = get(tx, member_id).await?;
    require_manageable(tx, authz, principal, &member).await?;
    if member.status != "deactivated" {
        return Err(MembersError::WrongStatus {
            status: member.status,
        });
    }
    reactivate_member(tx, ctx, tenant, &member, None).await?;
    get(tx, member_id).await
}

/// Reactivates `member` if a seat of `tenant` is free, auditing it (with the directory's `source` when
/// it did it). The caller has checked who may.
pub(super) async fn reactivate_member(
    tx: &TenantTx,
    ctx: &AuditCtx,
    tenant: &Tenant,
    member: &MemberRow,
    source: Option<&str>,
) -> Result<()> {
    tx.lock(TenantLock::Seats).await?;
    ensure_free_seat(tx, tenant).await?;
    let member_id = UserId::from_uuid(member.id);
    set_status(tx, ctx, member_id, "active", None).await?;
    audit_status(
        tx,
        ctx,
        member,
        "member.reactivated",
        "active",
        json!({}),
        source,
    )
    .await
}

/// Deactivates `member`, the last active owner excepted, ending every session of theirs at once;
/// audited like a reactivation. Called under the owners lock, after the caller checked who may.
pub(super) async fn deactivate_member(
    tx: &TenantTx,
    ctx: &AuditCtx,
    member: &MemberRow,
    source: Option<&str>,
) -> Result<()> {
    let member_id = UserId::from_uuid(member.id);
    if member.role.as_deref() == Some("owner") {
        ensure_other_owner(tx, member_id).await?;
    }
    set_status(tx, ctx, member_id, "deactivated", Some(ctx.now)).await?;
    let sessions = auth_service::revoke_sessions(
        tx,
        auth_service::SessionScope::AllOfUser(member_id),
        ctx,
        "user_deactivated",
    )
    .await?;
    let extra = json!({ "sessions_revoked": sessions });
    audit_status(
        tx,
        ctx,
        member,
        "member.deactivated",
        "deactivated",
        extra,
        source,
    )
    .await
}

async fn audit_status(
    tx: &TenantTx,
    ctx: &AuditCtx,
    member: &MemberRow,
    action: &'static str,
    status: &str,
    mut metadata: serde_json::Value,
    source: Option<&str>,
) -> Result<()> {
    metadata["before"] = json!({ "status": member.status });
    metadata["after"] = json!({ "status": status });
    if let Some(source) = source {
        metadata["source"] = source.into();
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("user", member.id, Some(&member.email))
            .metadata(metadata),
    )
    .await?;
    Ok(())
}

/// Removes a member for good (their sessions, tokens and role go with them; audit events stay).
pub async fn remove(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    member_id: UserId,
) -> Result<()> {
    // Every change that can touch an owner is serialised per tenant, and the member is read after
    // the lock: the last-owner count and the role checks see what is committed now.
    tx.lock(TenantLock::Owners).await?;
    let member = get(tx, member_id).await?;
    if principal.user_id() == Some(member_id) {
        return Err(MembersError::SelfAction { action: "remove" });
    }
    require_manageable(tx, authz, principal, &member).await?;
    if member.role.as_deref() == Some("owner") && member.status == "active" {
        ensure_other_owner(tx, member_id).await?;
    }
    entity::users::Entity::delete_many()
        .filter(entity::users::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::users::Column::Id.eq(member_id.as_uuid()))
        .exec(tx)
        .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("member.removed")
            .target("user", member_id, Some(&member.email))
            .metadata(json!({ "before": { "status": member.status, "role": member.role } })),
    )
    .await?;
    Ok(())
}

fn invitation_select() -> &'static str {
    "SELECT i.id, i.email, i.user_id, m.role, i.invited_by, \
       CASE WHEN i.accepted_at IS NOT NULL THEN 'accepted' \
            WHEN i.revoked_at IS NOT NULL THEN 'revoked' \
            WHEN i.expires_at <= $2 THEN 'expired' \
            ELSE 'pending' END AS status, \
       i.created_at, i.expires_at, i.accepted_at, i.revoked_at \
     FROM invitations i LEFT JOIN memberships m ON m.tenant_id = i.tenant_id AND m.user_id = i.user_id \
     WHERE i.tenant_id = $1"
}

/// A page of invitations, newest first (`limit + 1` rows), optionally of one status.
pub async fn list_invitations(
    tx: &TenantTx,
    ctx: &AuditCtx,
    status: Option<&str>,
    page: &PageRequest<Uuid>,
) -> Result<Vec<InvitationRow>> {
    let mut query = SqlBuilder::new(
        format!("SELECT * FROM ({}) AS i WHERE true", invitation_select()),
        tx.tenant_id().as_uuid(),
    );
    query.bind(ctx.now);
    if let Some(status) = status {
        let n = query.bind(status.to_owned());
        query.push(&format!(" AND i.status = ${n}"));
    }
    if let Some(after) = page.after {
        let n = query.bind(after);
        query.push(&format!(" AND i.id < ${n}"));
    }
    query.push(" ORDER BY i.id DESC");
    query.limit(page.limit + 1);
    Ok(InvitationRow::find_by_statement(query.build())
        .all(tx)
        .await?)
}

async fn get_invitation(tx: &TenantTx, ctx: &AuditCtx, id: InvitationId) -> Result<InvitationRow> {
    InvitationRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("{} AND i.id = $3", invitation_select()),
        [
            tx.tenant_id().as_uuid().into(),
            ctx.now.into(),
            id.as_uuid().into(),
        ],
    ))
    .one(tx)
    .await?
    .ok_or(MembersError::InvitationNotFound)
}

/// Revokes a pending invitation; the invited user, who never signed in, is removed and frees the seat.
pub async fn revoke_invitation(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    id: InvitationId,
) -> Result<InvitationRow> {
    let invitation = get_invitation(tx, ctx, id).await?;
    if invitation.status != "pending" {
        return Err(MembersError::InvitationNotPending);
    }
    if let Some(role) = &invitation.role {
        require_grantable(tx, authz, principal, role).await?;
    }
    let revoked = entity::invitations::Entity::update_many()
        .col_expr(
            entity::invitations::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::invitations::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::invitations::Column::Id.eq(id.as_uuid()))
        // Still pending now: an acceptance that won the race stays accepted.
        .filter(entity::invitations::Column::AcceptedAt.is_null())
        .filter(entity::invitations::Column::RevokedAt.is_null())
        .filter(entity::invitations::Column::ExpiresAt.gt(ctx.now))
        .exec(tx)
        .await?;
    if revoked.rows_affected != 1 {
        return Err(MembersError::InvitationNotPending);
    }
    if let Some(user_id) = invitation.user_id {
        entity::users::Entity::delete_many()
            .filter(entity::users::Column::TenantId.eq(tx.tenant_id().as_uuid()))
            .filter(entity::users::Column::Id.eq(user_id))
            .filter(entity::users::Column::Status.eq("invited"))
            .exec(tx)
            .await?;
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("invitation.revoked")
            .target("invitation", id, Some(&invitation.email))
            .metadata(json!({ "role": invitation.role })),
    )
    .await?;
    get_invitation(tx, ctx, id).await
}

/// Refuses a role that does not exist, or one the principal could not hold all permissions of.
async fn require_grantable(
    tx: &TenantTx,
    authz: &Authz,
    principal: &Principal,
    role: &str,
) -> Result<()> {
    if !authz.role_exists(tx, role).await? {
        return Err(MembersError::field(
            "role",
            "is not a role of this organization",
        ));
    }
    if !authz.covers(tx, principal, role).await? {
        return Err(MembersError::Escalation {
            role: role.to_owned(),
        });
    }
    Ok(())
}

/// Refuses to act on a member whose role has permissions the principal lacks.
pub async fn require_manageable(
    tx: &TenantTx,
    authz: &Authz,
    principal: &Principal,
    member: &MemberRow,
) -> Result<()> {
    match &member.role {
        Some(role) if !authz.covers(tx, principal, role).await? => {
            Err(MembersError::Escalation { role: role.clone() })
        }
        _ => Ok(()),
    }
}

/// Is there an active owner besides `member_id`? Call with the owners lock held.
pub(super) async fn ensure_other_owner(tx: &TenantTx, member_id: UserId) -> Result<()> {
    let others = count(
        tx,
        "SELECT count(*) AS n FROM memberships m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.role = 'owner' AND u.status = 'active' AND u.id <> $2",
        vec![tx.tenant_id().as_uuid().into(), member_id.as_uuid().into()],
    )
    .await?;
    if others == 0 {
        return Err(MembersError::LastOwner);
    }
    Ok(())
}

/// Seats: active and invited members. Call with the seats lock held.
pub(super) async fn ensure_free_seat(tx: &TenantTx, tenant: &Tenant) -> Result<()> {
    let used = seats_used(tx).await?;
    if used >= i64::from(tenant.seat_limit) {
        return Err(MembersError::SeatLimitReached {
            limit: tenant.seat_limit,
        });
    }
    Ok(())
}

/// The seats taken: active and invited members, and the seats a committed import holds for the members
/// it has yet to write (so an import never runs out of seats halfway, and never counts them twice).
pub async fn seats_used(tx: &TenantTx) -> Result<i64> {
    count(
        tx,
        "SELECT (SELECT count(*) FROM users WHERE tenant_id = $1 AND status IN ('active', 'invited')) \
              + (SELECT coalesce(sum(seats_reserved), 0) FROM imports \
                 WHERE tenant_id = $1 AND state IN ('queued', 'processing')) AS n",
        vec![tx.tenant_id().as_uuid().into()],
    )
    .await
}

pub(super) async fn email_taken(tx: &TenantTx, email: &Email) -> Result<bool> {
    Ok(entity::users::Entity::find()
        .filter(entity::users::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::users::Column::Email.eq(email.as_str()))
        .one(tx)
        .await?
        .is_some())
}

async fn count(tx: &TenantTx, sql: &str, values: Vec<Value>) -> Result<i64> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    })
}

pub(super) async fn set_status(
    tx: &TenantTx,
    ctx: &AuditCtx,
    member_id: UserId,
    status: &str,
    deactivated_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<()> {
    entity::users::Entity::update_many()
        .col_expr(entity::users::Column::Status, status.into())
        .col_expr(
            entity::users::Column::DeactivatedAt,
            sea_orm::sea_query::Expr::value(deactivated_at),
        )
        .col_expr(
            entity::users::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .filter(entity::users::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::users::Column::Id.eq(member_id.as_uuid()))
        .exec(tx)
        .await?;
    Ok(())
}

pub(super) async fn insert_membership(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user_id: UserId,
    role: &str,
    granted_by: Option<UserId>,
) -> Result<()> {
    entity::memberships::Entity::insert(entity::memberships::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id.as_uuid()),
        role: Set(role.to_owned()),
        granted_by: Set(granted_by.map(|u| u.as_uuid())),
        created_at: Set(ctx.now.into()),
        updated_at: Set(ctx.now.into()),
    })
    .exec_without_returning(tx)
    .await?;
    Ok(())
}
