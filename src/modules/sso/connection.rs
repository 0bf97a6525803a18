//! The organization's OpenID Connect connection: read, replace, delete, on the request's [`TenantTx`].
//! The client secret is sealed with the tenant's binding before it is stored and never returned.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use url::Url;

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    config::PlansSettings,
    crypto::Crypto,
    domain::TenantId,
    error::{ApiError, FieldError},
    modules::orgs::service::parse_domains,
    tenancy::TenantTx,
    tenancy::{Tenant, plan::Feature},
};

pub type Connection = entity::sso_connections::Model;

/// The scopes asked for when a connection names none.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile"];

/// A connection as the admin sends it. `client_secret` may be left out when replacing a connection
/// (the stored one is kept).
#[derive(Debug)]
pub struct ConnectionInput {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub allowed_email_domains: Vec<String>,
    pub jit_provisioning: bool,
    pub groups_claim: Option<String>,
    pub sso_required: bool,
    pub enabled: bool,
}

/// The input that stores `connection` again as it is (its secret kept): the start of a change to
/// one setting.
pub fn input_of(connection: &Connection) -> ConnectionInput {
    ConnectionInput {
        issuer_url: connection.issuer_url.clone(),
        client_id: connection.client_id.clone(),
        client_secret: None,
        scopes: Some(connection.scopes.clone()),
        allowed_email_domains: connection.allowed_email_domains.clone(),
        jit_provisioning: connection.jit_provisioning,
        groups_claim: Some(connection.groups_claim.clone()),
        sso_required: connection.sso_required,
        enabled: connection.enabled,
    }
}

/// Checked values, ready to store.
struct Valid {
    issuer_url: String,
    client_id: String,
    client_secret: Option<String>,
    scopes: Vec<String>,
    allowed_email_domains: Vec<String>,
    groups_claim: String,
}

/// The connection, if the organization has one.
pub async fn find(tx: &TenantTx) -> Result<Option<Connection>, ApiError> {
    Ok(entity::sso_connections::Entity::find()
        .filter(entity::sso_connections::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .one(tx)
        .await?)
}

pub async fn get(tx: &TenantTx) -> Result<Connection, ApiError> {
    find(tx).await?.ok_or(ApiError::NotFound {
        code: "sso_not_configured",
    })
}

/// Whether a password sign-in by a member holding `role` is refused: the organization requires single
/// sign-on (and its plan includes it), and they are not an owner (owners keep their password as the way
/// in when the provider fails).
pub async fn refuses_password(
    tx: &TenantTx,
    tenant: &Tenant,
    plans: &PlansSettings,
    role: Option<&str>,
) -> Result<bool, ApiError> {
    if role == Some("owner") || !tenant.has(plans, Feature::Sso) {
        return Ok(false);
    }
    Ok(find(tx).await?.is_some_and(|c| c.enabled && c.sso_required))
}

/// Creates or replaces the connection; returns it and whether it was created.
pub async fn put(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    allow_insecure: bool,
    input: ConnectionInput,
) -> Result<(Connection, bool), ApiError> {
    let existing = entity::sso_connections::Entity::find()
        .filter(entity::sso_connections::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .lock_exclusive()
        .one(tx)
        .await?;
    let valid = validate(&input, allow_insecure, existing.is_none())?;
    let sealed = match (&valid.client_secret, &existing) {
        (Some(secret), _) => seal_secret(crypto, tx.tenant_id(), secret)?,
        // Kept only for the same client at the same provider: never sent to another issuer.
        (None, Some(old))
            if old.issuer_url == valid.issuer_url && old.client_id == valid.client_id =>
        {
            old.client_secret_sealed.clone()
        }
        (None, Some(_)) => {
            return Err(ApiError::validation(
                "client_secret",
                "is required when the issuer or the client id changes",
            ));
        }
        // `validate` requires a secret for a new connection.
        (None, None) => return Err(ApiError::validation("client_secret", "is required")),
    };
    let row = entity::sso_connections::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(existing
            .as_ref()
            .map(|c| c.id)
            .unwrap_or_else(uuid::Uuid::now_v7)),
        issuer_url: Set(valid.issuer_url),
        client_id: Set(valid.client_id),
        client_secret_sealed: Set(sealed),
        scopes: Set(valid.scopes),
        allowed_email_domains: Set(valid.allowed_email_domains),
        jit_provisioning: Set(input.jit_provisioning),
        groups_claim: Set(valid.groups_claim),
        sso_required: Set(input.sso_required),
        enabled: Set(input.enabled),
        created_at: Set(existing
            .as_ref()
            .map(|c| c.created_at)
            .unwrap_or_else(|| ctx.now.into())),
        updated_at: Set(ctx.now.into()),
    };
    let saved = match &existing {
        Some(_) => {
            entity::sso_connections::Entity::update(row)
                .exec(tx)
                .await?
        }
        None => {
            entity::sso_connections::Entity::insert(row)
                .exec_with_returning(tx)
                .await?
        }
    };
    let (action, metadata) = match &existing {
        None => (
            "sso.connection_created",
            json!({ "after": describe(&saved) }),
        ),
        Some(old) => (
            "sso.connection_updated",
            json!({
                "before": describe(old),
                "after": describe(&saved),
                "client_secret_changed": valid.client_secret.is_some(),
            }),
        ),
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("sso_connection", saved.id, Some(&saved.issuer_url))
            .metadata(metadata),
    )
    .await?;
    Ok((saved, existing.is_none()))
}

/// Removes the connection (and with it "SSO required"). Linked identities stay, so connecting the same
/// provider again finds the same members.
pub async fn delete(tx: &TenantTx, ctx: &AuditCtx) -> Result<(), ApiError> {
    let existing = get(tx).await?;
    entity::sso_connections::Entity::delete_many()
        .filter(entity::sso_connections::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .exec(tx)
        .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("sso.connection_deleted")
            .target("sso_connection", existing.id, Some(&existing.issuer_url))
            .metadata(json!({ "before": describe(&existing) })),
    )
    .await?;
    Ok(())
}

/// The stored secret, opened.
pub fn client_secret(crypto: &Crypto, connection: &Connection) -> Result<String, ApiError> {
    let tenant = TenantId::from_uuid(connection.tenant_id);
    let bytes = crypto
        .open(&connection.client_secret_sealed, &secret_context(tenant))
        .map_err(ApiError::internal)?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}

fn seal_secret(crypto: &Crypto, tenant: TenantId, secret: &str) -> Result<String, ApiError> {
    crypto
        .seal(secret.as_bytes(), &secret_context(tenant))
        .map_err(ApiError::internal)
}

fn secret_context(tenant: TenantId) -> String {
    format!("sso-client-secret:{tenant}")
}

/// What the audit log records of a connection: everything but the secret.
fn describe(c: &Connection) -> Value {
    json!({
        "issuer_url": c.issuer_url,
        "client_id": c.client_id,
        "scopes": c.scopes,
        "allowed_email_domains": c.allowed_email_domains,
        "jit_provisioning": c.jit_provisioning,
        "groups_claim": c.groups_claim,
        "sso_required": c.sso_required,
        "enabled": c.enabled,
    })
}

fn validate(
    input: &ConnectionInput,
    allow_insecure: bool,
    creating: bool,
) -> Result<Valid, ApiError> {
    let mut errors = Vec::new();
    let issuer_url = input.issuer_url.trim().to_owned();
    if let Err(message) = check_issuer(&issuer_url, allow_insecure) {
        errors.push(FieldError::new("issuer_url", message));
    }
    let client_id = input.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.chars().count() > 500 {
        errors.push(FieldError::new("client_id", "must be 1 to 500 characters"));
    }
    let client_secret = input.client_secret.as_deref().map(str::trim);
    match client_secret {
        None if creating => errors.push(FieldError::new(
            "client_secret",
            "is required for a new connection",
        )),
        Some(secret) if secret.is_empty() || secret.len() > 2000 => errors.push(FieldError::new(
            "client_secret",
            "must be 1 to 2000 characters",
        )),
        _ => {}
    }
    let scopes = match &input.scopes {
        None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        Some(scopes) => {
            let mut parsed: Vec<String> = Vec::new();
            for (i, scope) in scopes.iter().enumerate() {
                let scope = scope.trim();
                if scope.is_empty()
                    || scope.len() > 100
                    || !scope
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
                {
                    errors.push(FieldError::new(format!("scopes[{i}]"), "is not a scope"));
                } else if !parsed.iter().any(|s| s == scope) {
                    parsed.push(scope.to_owned());
                }
            }
            if !parsed.iter().any(|s| s == "openid") {
                errors.push(FieldError::new("scopes", "must include openid"));
            }
            if parsed.len() > 20 {
                errors.push(FieldError::new("scopes", "at most 20 scopes"));
            }
            parsed
        }
    };
    let allowed_email_domains = match parse_domains(input.allowed_email_domains.clone()) {
        Ok(domains) => domains,
        Err(error) => {
            errors.push(error);
            Vec::new()
        }
    };
    let groups_claim = input
        .groups_claim
        .as_deref()
        .map(str::trim)
        .unwrap_or("groups")
        .to_owned();
    if groups_claim.is_empty()
        || groups_claim.len() > 100
        || !groups_claim
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.' | b'/'))
    {
        errors.push(FieldError::new(
            "groups_claim",
            "must be a claim name (letters, digits, _ - : . /)",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Valid {
        issuer_url,
        client_id,
        client_secret: client_secret.map(str::to_owned),
        scopes,
        allowed_email_domains,
        groups_claim,
    })
}

/// An issuer is an https URL without query or fragment (http, and loopback or private addresses, only
/// where the server allows insecure issuers: local development and tests). It is kept exactly as given:
/// OpenID Connect compares issuers as strings, so a trailing slash matters.
pub fn check_issuer(issuer: &str, allow_insecure: bool) -> Result<Url, &'static str> {
    let url = Url::parse(issuer).map_err(|_| "is not a URL")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err("must be an https URL"),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    if issuer.len() > 2000 {
        return Err("is too long");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_urls_kept_as_given() {
        assert!(check_issuer("https://login.example.com/tenant-1/v2.0", false).is_ok());
        assert!(check_issuer("https://accounts.google.com", false).is_ok());
        assert_eq!(
            check_issuer("http://127.0.0.1:9000", false).err(),
            Some("must be an https URL")
        );
        assert!(check_issuer("http://127.0.0.1:9000", true).is_ok());
        assert!(check_issuer("https://idp.example.com/?x=1", false).is_err());
        assert!(check_issuer("https://user:pw@idp.example.com", false).is_err());
        assert!(check_issuer("ftp://idp.example.com", true).is_err());
        assert!(check_issuer("not a url", true).is_err());
    }
}
