//! Org settings: read and partial update, audited with before and after.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, Statement,
};
use serde_json::{Map, Value, json};

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    error::{ApiError, FieldError},
    tenancy::TenantTx,
};

pub type OrgSettings = entity::org_settings::Model;

/// A validated partial update: `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct SettingsChange {
    pub display_name: Option<String>,
    pub default_locale: Option<String>,
    pub timezone: Option<String>,
    pub invitation_ttl_hours: Option<i32>,
    pub allowed_email_domains: Option<Vec<String>>,
}

pub async fn get(tx: &TenantTx) -> Result<OrgSettings, ApiError> {
    entity::org_settings::Entity::find_by_id(tx.tenant_id().as_uuid())
        .one(tx)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "org_settings row missing for tenant {}",
                tx.tenant_id()
            ))
        })
}

/// Applies `change`; the audit event lists only the settings that changed, before and after.
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    change: SettingsChange,
) -> Result<OrgSettings, ApiError> {
    if let Some(timezone) = &change.timezone
        && !timezone_exists(tx, timezone).await?
    {
        return Err(ApiError::validation(
            "timezone",
            "is not an IANA time zone name",
        ));
    }
    let current = get(tx).await?;
    let mut row: entity::org_settings::ActiveModel = current.clone().into();
    let mut before = Map::new();
    let mut after = Map::new();
    let mut note = |field: &str, old: Value, new: Value| {
        if old != new {
            before.insert(field.to_owned(), old);
            after.insert(field.to_owned(), new);
        }
    };
    if let Some(v) = change.display_name {
        note("display_name", json!(current.display_name), json!(v));
        row.display_name = Set(v);
    }
    if let Some(v) = change.default_locale {
        note("default_locale", json!(current.default_locale), json!(v));
        row.default_locale = Set(v);
    }
    if let Some(v) = change.timezone {
        note("timezone", json!(current.timezone), json!(v));
        row.timezone = Set(v);
    }
    if let Some(v) = change.invitation_ttl_hours {
        note(
            "invitation_ttl_hours",
            json!(current.invitation_ttl_hours),
            json!(v),
        );
        row.invitation_ttl_hours = Set(v);
    }
    if let Some(v) = change.allowed_email_domains {
        note(
            "allowed_email_domains",
            json!(current.allowed_email_domains),
            json!(v),
        );
        row.allowed_email_domains = Set(v);
    }
    if after.is_empty() {
        return Ok(current);
    }
    row.updated_at = Set(ctx.now.into());
    let updated = row.update(tx).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("org.settings_updated")
            .target("org", tx.tenant_id(), Some(&updated.display_name))
            .metadata(json!({ "before": before, "after": after })),
    )
    .await?;
    Ok(updated)
}

async fn timezone_exists(tx: &TenantTx, name: &str) -> Result<bool, ApiError> {
    Ok(tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS found FROM pg_timezone_names WHERE name = $1",
            [name.into()],
        ))
        .await?
        .is_some())
}

/// `en`, `en-GB`, `pt-BR`, `zh-Hant-TW`: a BCP 47 language tag of the common shapes.
pub fn valid_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase()));
    language_ok
        && parts.all(|p| {
            (p.len() == 2 && p.bytes().all(|b| b.is_ascii_uppercase()))
                || (p.len() == 4 && p.bytes().all(|b| b.is_ascii_alphabetic()))
                || (p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Lower-cases and checks each domain; duplicates are dropped.
pub fn parse_domains(domains: Vec<String>) -> Result<Vec<String>, FieldError> {
    if domains.len() > 50 {
        return Err(FieldError::new(
            "allowed_email_domains",
            "at most 50 domains",
        ));
    }
    let mut parsed: Vec<String> = Vec::new();
    for (i, raw) in domains.iter().enumerate() {
        let domain = raw.trim().to_ascii_lowercase();
        let probe = format!("x@{domain}");
        if crate::domain::Email::parse(&probe).is_err() {
            return Err(FieldError::new(
                format!("allowed_email_domains[{i}]"),
                "is not a domain name",
            ));
        }
        if !parsed.contains(&domain) {
            parsed.push(domain);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_of_the_common_shapes_are_accepted() {
        for tag in ["en", "en-GB", "pt-BR", "zh-Hant-TW", "es-419"] {
            assert!(valid_locale(tag), "{tag}");
        }
        for tag in ["", "EN", "english", "en_GB", "en-gb"] {
            assert!(!valid_locale(tag), "{tag}");
        }
    }

    #[test]
    fn domains_are_normalised_and_checked() {
        let parsed = parse_domains(vec!["Acme.Example".into(), "acme.example".into()]).unwrap();
        assert_eq!(parsed, vec!["acme.example"]);
        let err = parse_domains(vec!["ok.example".into(), "not a domain".into()]).unwrap_err();
        assert_eq!(err.field, "allowed_email_domains[1]");
    }
}
