//! Org settings: read and partial update, audited with before and after.

use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Statement};
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
    /// `Some(None)` clears the setting (no idle timeout).
    pub session_idle_minutes: Option<Option<i32>>,
    /// `Some(None)` clears the setting (the server's default lifetime).
    pub session_absolute_hours: Option<Option<i32>>,
    /// Password sign-ins need a second step.
    pub mfa_required: Option<bool>,
    /// How long audit events are kept (90 to 3650 days).
    pub audit_retention_days: Option<i32>,
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

/// The organization's IANA time zone (none while it has no settings row).
pub async fn time_zone(tx: &TenantTx) -> Result<Option<String>, ApiError> {
    Ok(
        entity::org_settings::Entity::find_by_id(tx.tenant_id().as_uuid())
            .one(tx)
            .await?
            .map(|s| s.timezone),
    )
}

/// Applies `change` in one statement that locks the row, writes the new values and returns the old and
/// the new row, so the audit event lists exactly the settings that changed, before and after.
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
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH old AS (SELECT * FROM org_settings WHERE tenant_id = $1 FOR UPDATE), \
             new AS (SELECT coalesce($2, old.display_name) AS display_name, \
                            coalesce($3, old.default_locale) AS default_locale, \
                            coalesce($4, old.timezone) AS timezone, \
                            coalesce($5, old.invitation_ttl_hours) AS invitation_ttl_hours, \
                            coalesce($6, old.allowed_email_domains) AS allowed_email_domains, \
                            CASE WHEN $8 THEN $9 ELSE old.session_idle_minutes END AS session_idle_minutes, \
                            CASE WHEN $10 THEN $11 ELSE old.session_absolute_hours END AS session_absolute_hours, \
                            coalesce($12, old.mfa_required) AS mfa_required, \
                            coalesce($13, old.audit_retention_days) AS audit_retention_days \
                     FROM old) \
             UPDATE org_settings AS s SET \
               display_name = new.display_name, default_locale = new.default_locale, \
               timezone = new.timezone, invitation_ttl_hours = new.invitation_ttl_hours, \
               allowed_email_domains = new.allowed_email_domains, \
               session_idle_minutes = new.session_idle_minutes, \
               session_absolute_hours = new.session_absolute_hours, \
               mfa_required = new.mfa_required, audit_retention_days = new.audit_retention_days, \
               updated_at = $7 \
             FROM old, new \
             WHERE s.tenant_id = old.tenant_id \
               AND (SELECT jsonb_object_agg(key, value) FROM jsonb_each(to_jsonb(old)) \
                    WHERE to_jsonb(new) ? key) IS DISTINCT FROM to_jsonb(new) \
             RETURNING s.*, to_jsonb(old) - 'updated_at' AS before, to_jsonb(s) - 'updated_at' AS after",
            [
                tx.tenant_id().as_uuid().into(),
                change.display_name.into(),
                change.default_locale.into(),
                change.timezone.into(),
                change.invitation_ttl_hours.into(),
                change.allowed_email_domains.into(),
                ctx.now.into(),
                change.session_idle_minutes.is_some().into(),
                change.session_idle_minutes.flatten().into(),
                change.session_absolute_hours.is_some().into(),
                change.session_absolute_hours.flatten().into(),
                change.mfa_required.into(),
                change.audit_retention_days.into(),
            ],
        ))
        .await?;
    let Some(row) = row else {
        // Nothing differs from what is stored: no write, no event.
        return get(tx).await;
    };
    let before: Value = row.try_get("", "before")?;
    let after: Value = row.try_get("", "after")?;
    let (before, after) = changed_fields(&before, &after);
    let updated = OrgSettings::from_query_result(&row, "")?;
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

/// The fields whose values differ between two rows, as `(before, after)` objects.
fn changed_fields(before: &Value, after: &Value) -> (Map<String, Value>, Map<String, Value>) {
    let mut old = Map::new();
    let mut new = Map::new();
    if let (Some(before), Some(after)) = (before.as_object(), after.as_object()) {
        for (field, value) in after {
            if before.get(field) != Some(value) {
                old.insert(
                    field.clone(),
                    before.get(field).cloned().unwrap_or(Value::Null),
                );
                new.insert(field.clone(), value.clone());
            }
        }
    }
    (old, new)
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
