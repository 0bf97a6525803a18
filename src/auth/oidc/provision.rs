//! Who an SSO sign-in is: the member linked to the provider's (issuer, subject); else the member with
//! the provider's verified email, who is linked now; else, when the organization allows it, a new
//! member created just in time. Then the member's role follows the directory's groups (see
//! `modules::sso::mappings`), and the session starts. One transaction: all of it, or none of it.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

use super::{client::Identity, failure::SsoFailure};
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    auth::service::{self as auth_service, SignIn, TokenPair},
    domain::{Email, UserId},
    error::ApiError,
    modules::{
        members::{
            MembersError,
            directory::{self, NewMember, Profile},
        },
        sso::{connection::Connection, mappings},
    },
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

/// How the member was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Linked,
    ByEmail,
    Provisioned,
}

impl Found {
    fn as_str(self) -> &'static str {
        match self {
            Found::Linked => "linked",
            Found::ByEmail => "linked_by_email",
            Found::Provisioned => "provisioned",
        }
    }
}

pub async fn sign_in(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    connection: &Connection,
    identity: &Identity,
) -> Result<TokenPair, SsoFailure> {
    if identity.subject.chars().count() > 255 {
        return Err(SsoFailure::new(
            StatusCode::BAD_REQUEST,
            "subject_too_long",
            "The identity provider identifies you with more than 255 characters, which Trellis does not accept.",
        ));
    }
    let tx = TenantTx::begin(&state.pool, tenant.id, None)
        .await
        .map_err(ApiError::from)?;
    let email = identity.email.as_deref().and_then(|e| Email::parse(e).ok());
    if let Some(email) = &email
        && !connection.allowed_email_domains.is_empty()
        && !connection
            .allowed_email_domains
            .iter()
            .any(|d| d == email.domain())
    {
        return Err(SsoFailure::new(
            StatusCode::FORBIDDEN,
            "domain_not_allowed",
            "Your email address is not in a domain this organization accepts for single sign-on.",
        )
        .detail(email.domain().to_owned()));
    }
    let linked = entity::user_identities::Entity::find()
        .filter(entity::user_identities::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::user_identities::Column::Issuer.eq(identity.issuer.as_str()))
        .filter(entity::user_identities::Column::Subject.eq(identity.subject.as_str()))
        .one(&tx)
        .await
        .map_err(ApiError::from)?;
    let mappings = mappings::get(&tx).await?;
    let (user_id, found) = match &linked {
        Some(link) => (UserId::from_uuid(link.user_id), Found::Linked),
        None => {
            let email = verified_email(identity, email.as_ref(), connection)?;
            match find_by_email(&tx, email).await? {
                Some(user) => {
                    ensure_linkable(&tx, &user, identity).await?;
                    (UserId::from_uuid(user.id), Found::ByEmail)
                }
                None if connection.jit_provisioning => {
                    let no_groups = BTreeSet::new();
                    let role = mappings
                        .role_for(identity.groups.as_ref().unwrap_or(&no_groups))
                        .unwrap_or(&mappings.default_role)
                        .to_owned();
                    let ctx = ctx.with_actor(Actor::claimed(email.as_str()));
                    let new = NewMember {
                        email: email.clone(),
                        profile: profile(identity),
                        active: true,
                        role,
                    };
                    let user_id = directory::create(&tx, &ctx, tenant, new, "sso")
                        .await
                        .map_err(provisioning_failure)?;
                    (user_id, Found::Provisioned)
                }
                None => {
                    return Err(SsoFailure::new(
                        StatusCode::FORBIDDEN,
                        "not_provisioned",
                        "You do not have an account in this organization yet. Ask an administrator to invite you.",
                    ));
                }
            }
        }
    };
    let user = lock_user(&tx, user_id).await?;
    let ctx = ctx.with_actor(Actor::user(user_id, &user.email));
    if found != Found::Linked {
        link(&tx, &ctx, user_id, identity).await?;
    }
    let user = match user.status.as_str() {
        "active" => user,
        "invited" => accept_pending_invitation(&tx, &ctx, user).await?,
        _ => {
            return Err(SsoFailure::new(
                StatusCode::FORBIDDEN,
                "account_deactivated",
                "Your account in this organization is deactivated. Ask an administrator.",
            ));
        }
    };
    // Roles follow the token's groups (with the member's SCIM groups); a token without the claim
    // leaves the role as it is.
    if let Some(claimed) = &identity.groups {
        let mut groups: BTreeSet<String> = claimed.clone();
        groups.extend(mappings::scim_groups_of(&tx, user_id).await?);
        if let Some(role) = mappings.role_for(&groups) {
            mappings::apply_role(&tx, &ctx, user_id, &user.email, role, "sso").await?;
        }
    }
    entity::user_identities::Entity::update_many()
        .col_expr(
            entity::user_identities::Column::LastLoginAt,
            sea_orm::sea_query::Expr::value(ctx.now),
        )
        .col_expr(
            entity::user_identities::Column::Email,
            sea_orm::sea_query::Expr::value(identity.email.clone()),
        )
        .filter(entity::user_identities::Column::TenantId.eq(tenant.id.as_uuid()))
        .filter(entity::user_identities::Column::Issuer.eq(identity.issuer.as_str()))
        .filter(entity::user_identities::Column::Subject.eq(identity.subject.as_str()))
        .exec(&tx)
        .await
        .map_err(ApiError::from)?;
    let mut details = serde_json::Map::new();
    details.insert("issuer".into(), identity.issuer.clone().into());
    details.insert("subject".into(), identity.subject.clone().into());
    details.insert("account".into(), found.as_str().into());
    let sign_in = SignIn {
        method: "sso",
        action: "sso.login_succeeded",
        details,
    };
    Ok(auth_service::finish_sign_in(state, tx, &ctx, tenant, &user, sign_in).await?)
}

/// An email is only trusted to find or create an account when the provider says it verified it, or,
/// for a provider that does not say (Entra ID sends no `email_verified`), when it is in a domain the
/// organization listed as its own.
fn verified_email<'a>(
    identity: &Identity,
    email: Option<&'a Email>,
    connection: &Connection,
) -> Result<&'a Email, SsoFailure> {
    let Some(email) = email else {
        return Err(SsoFailure::new(
            StatusCode::FORBIDDEN,
            "email_missing",
            "The identity provider did not share your email address, so your account could not be found. Ask an administrator to add the email scope.",
        ));
    };
    let vouched = connection
        .allowed_email_domains
        .iter()
        .any(|d| d == email.domain());
    let verified = match identity.email_verified {
        Some(verified) => verified,
        None => vouched,
    };
    if !verified {
        return Err(SsoFailure::new(
            StatusCode::FORBIDDEN,
            "email_not_verified",
            "The identity provider has not verified your email address, so it cannot be used to find your account.",
        )
        .detail(email.as_str().to_owned()));
    }
    Ok(email)
}

fn profile(identity: &Identity) -> Profile {
    let display_name = identity
        .name
        .clone()
        .or_else(|| match (&identity.given_name, &identity.family_name) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        })
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Profile {
        display_name,
        given_name: identity
            .given_name
            .clone()
            .map(|n| n.chars().take(200).collect()),
        family_name: identity
            .family_name
            .clone()
            .map(|n| n.chars().take(200).collect()),
        ..Profile::default()
    }
}

fn provisioning_failure(error: MembersError) -> SsoFailure {
    match error {
        MembersError::SeatLimitReached { .. } => SsoFailure::new(
            StatusCode::FORBIDDEN,
            "seat_limit_reached",
            "Every seat of this organization is taken, so no account could be created for you. Ask an administrator.",
        ),
        other => ApiError::from(other).into(),
    }
}

async fn find_by_email(
    tx: &TenantTx,
    email: &Email,
) -> Result<Option<entity::users::Model>, SsoFailure> {
    Ok(entity::users::Entity::find()
        .filter(entity::users::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .filter(entity::users::Column::Email.eq(email.as_str()))
        .one(tx)
        .await
        .map_err(ApiError::from)?)
}

/// The member, locked for the rest of the sign-in (a concurrent deactivation waits, then ends the new
/// session like any other).
async fn lock_user(tx: &TenantTx, user_id: UserId) -> Result<entity::users::Model, SsoFailure> {
    use sea_orm::QuerySelect;
    entity::users::Entity::find_by_id((tx.tenant_id().as_uuid(), user_id.as_uuid()))
        .lock_exclusive()
        .one(tx)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("linked user {user_id} is missing")).into()
        })
}

/// Whether a provider account may be linked to `user` by its email: never to an owner (an admin who
/// controls the connection must not become an owner by pointing it at a provider of their own; owners
/// keep their password), and never to a member already linked to another account at this provider (an
/// address reused for someone new).
async fn ensure_linkable(
    tx: &TenantTx,
    user: &entity::users::Model,
    identity: &Identity,
) -> Result<(), SsoFailure> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT (SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2) AS role, \
               EXISTS (SELECT 1 FROM user_identities WHERE tenant_id = $1 AND user_id = $2 AND issuer = $3) AS linked",
            [
                tx.tenant_id().as_uuid().into(),
                user.id.into(),
                identity.issuer.clone().into(),
            ],
        ))
        .await
        .map_err(ApiError::from)?;
    let (role, linked): (Option<String>, bool) = match row {
        Some(row) => (
            row.try_get("", "role").map_err(ApiError::from)?,
            row.try_get("", "linked").map_err(ApiError::from)?,
        ),
        None => (None, false),
    };
    if role.as_deref() == Some("owner") {
        return Err(SsoFailure::new(
            StatusCode::FORBIDDEN,
            "owner_not_linked",
            "Owners of this organization sign in with their password, not through the identity provider.",
        )
        .detail(user.email.clone()));
    }
    if linked {
        return Err(SsoFailure::new(
            StatusCode::FORBIDDEN,
            "identity_conflict",
            "Your account is linked to another account at the identity provider. Ask an administrator.",
        )
        .detail(user.email.clone()));
    }
    Ok(())
}

async fn link(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user_id: UserId,
    identity: &Identity,
) -> Result<(), SsoFailure> {
    // A concurrent first sign-in of the same account may have linked it a moment ago.
    let inserted = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO user_identities (tenant_id, id, user_id, issuer, subject, email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            [
                tx.tenant_id().as_uuid().into(),
                uuid::Uuid::now_v7().into(),
                user_id.as_uuid().into(),
                identity.issuer.clone().into(),
                identity.subject.clone().into(),
                identity.email.clone().into(),
                ctx.now.into(),
            ],
        ))
        .await
        .map_err(ApiError::from)?
        .rows_affected();
    if inserted == 0 {
        return Err(ApiError::conflict(
            "sign_in_conflict",
            "the provider account was linked by a concurrent sign-in",
        )
        .into());
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("sso.identity_linked")
            .target("user", user_id, identity.email.as_deref())
            .metadata(serde_json::json!({
                "issuer": identity.issuer,
                "subject": identity.subject,
            })),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(())
}

/// An invited member who signs in through the provider has proved their address: their invitation
/// is accepted and they are active.
async fn accept_pending_invitation(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: entity::users::Model,
) -> Result<entity::users::Model, SsoFailure> {
    let accepted = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE invitations SET accepted_at = $3 \
             WHERE tenant_id = $1 AND user_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL \
               AND expires_at > $3 \
             RETURNING id",
            [
                tx.tenant_id().as_uuid().into(),
                user.id.into(),
                ctx.now.into(),
            ],
        ))
        .await
        .map_err(ApiError::from)?;
    if accepted.is_empty() {
        return Err(SsoFailure::new(
            StatusCode::FORBIDDEN,
            "invitation_expired",
            "Your invitation has expired or was withdrawn. Ask an administrator for a new one.",
        )
        .detail(user.email.clone()));
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE users SET status = 'active', updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'invited'",
        [
            tx.tenant_id().as_uuid().into(),
            user.id.into(),
            ctx.now.into(),
        ],
    ))
    .await
    .map_err(ApiError::from)?;
    for row in accepted {
        let id: uuid::Uuid = row.try_get("", "id").map_err(ApiError::from)?;
        audit::record(
            tx,
            ctx,
            AuditEvent::new("invitation.accepted")
                .target("invitation", id, Some(&user.email))
                .metadata(serde_json::json!({ "method": "sso" })),
        )
        .await
        .map_err(ApiError::from)?;
    }
    Ok(entity::users::Model {
        status: "active".into(),
        ..user
    })
}
