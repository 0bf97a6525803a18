//! `/api/v1/org`: the organization and its settings.

use actix_web::{
    get, patch,
    web::{Data, Json},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::service::{self, OrgSettings, SettingsChange};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    domain::DisplayName,
    error::{ApiError, ApiResult, FieldError},
    http::ValidJson,
    modules::members,
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgResponse {
    pub id: Uuid,
    pub slug: String,
    pub plan: String,
    pub seat_limit: i32,
    /// Active and invited members.
    pub seats_used: i64,
    pub settings: OrgSettingsResponse,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgSettingsResponse {
    pub display_name: String,
    pub default_locale: String,
    pub timezone: String,
    pub invitation_ttl_hours: i32,
    /// When not empty, invitations go only to these email domains.
    pub allowed_email_domains: Vec<String>,
    /// Sessions idle this long end; null: no idle timeout.
    pub session_idle_minutes: Option<i32>,
    /// Sessions end this long after sign-in; null: the server's default.
    pub session_absolute_hours: Option<i32>,
    /// Password sign-ins need a second step (TOTP); members without one enrol at their next sign-in.
    pub mfa_required: bool,
    /// Audit events older than this many days are deleted (the chain stays verifiable).
    pub audit_retention_days: i32,
    pub updated_at: DateTime<Utc>,
}

impl From<OrgSettings> for OrgSettingsResponse {
    fn from(s: OrgSettings) -> Self {
        OrgSettingsResponse {
            display_name: s.display_name,
            default_locale: s.default_locale,
            timezone: s.timezone,
            invitation_ttl_hours: s.invitation_ttl_hours,
            allowed_email_domains: s.allowed_email_domains,
            session_idle_minutes: s.session_idle_minutes,
            session_absolute_hours: s.session_absolute_hours,
            mfa_required: s.mfa_required,
            audit_retention_days: s.audit_retention_days,
            updated_at: s.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "Acme Corporation", "timezone": "Europe/Berlin"}))]
pub struct UpdateOrgSettingsRequest {
    pub display_name: Option<String>,
    /// A BCP 47 tag such as `en` or `en-GB`.
    pub default_locale: Option<String>,
    /// An IANA time zone such as `Europe/Berlin`.
    pub timezone: Option<String>,
    /// 1 to 720.
    pub invitation_ttl_hours: Option<i32>,
    pub allowed_email_domains: Option<Vec<String>>,
    /// 5 to 43200 minutes; 0 turns the idle timeout off.
    pub session_idle_minutes: Option<i32>,
    /// 1 to 8760 hours; 0 returns to the server's default.
    pub session_absolute_hours: Option<i32>,
    pub mfa_required: Option<bool>,
    /// 90 to 3650 days.
    pub audit_retention_days: Option<i32>,
}

impl UpdateOrgSettingsRequest {
    /// Checks every field and reports every bad one at once.
    pub(crate) fn parse(self) -> Result<SettingsChange, ApiError> {
        let mut errors = Vec::new();
        let mut change = SettingsChange::default();
        if let Some(name) = self.display_name {
            match DisplayName::parse(&name) {
                Ok(name) => change.display_name = Some(name.into_inner()),
                Err(m) => errors.push(FieldError::new("display_name", m)),
            }
        }
        if let Some(locale) = self.default_locale {
            if service::valid_locale(&locale) {
                change.default_locale = Some(locale);
            } else {
                errors.push(FieldError::new(
                    "default_locale",
                    "is not a language tag like en or en-GB",
                ));
            }
        }
        if let Some(timezone) = self.timezone {
            if timezone.is_empty() || timezone.len() > 64 {
                errors.push(FieldError::new("timezone", "is not an IANA time zone name"));
            } else {
                change.timezone = Some(timezone);
            }
        }
        if let Some(hours) = self.invitation_ttl_hours {
            if (1..=720).contains(&hours) {
                change.invitation_ttl_hours = Some(hours);
            } else {
                errors.push(FieldError::new(
                    "invitation_ttl_hours",
                    "must be between 1 and 720",
                ));
            }
        }
        if let Some(minutes) = self.session_idle_minutes {
            match minutes {
                0 => change.session_idle_minutes = Some(None),
                5..=43200 => change.session_idle_minutes = Some(Some(minutes)),
                _ => errors.push(FieldError::new(
                    "session_idle_minutes",
                    "must be 0 (off) or between 5 and 43200",
                )),
            }
        }
        if let Some(hours) = self.session_absolute_hours {
            match hours {
                0 => change.session_absolute_hours = Some(None),
                1..=8760 => change.session_absolute_hours = Some(Some(hours)),
                _ => errors.push(FieldError::new(
                    "session_absolute_hours",
                    "must be 0 (the default) or between 1 and 8760",
                )),
            }
        }
        change.mfa_required = self.mfa_required;
        if let Some(days) = self.audit_retention_days {
            if (90..=3650).contains(&days) {
                change.audit_retention_days = Some(days);
            } else {
                errors.push(FieldError::new(
                    "audit_retention_days",
                    "must be between 90 and 3650",
                ));
            }
        }
        if let Some(domains) = self.allowed_email_domains {
            match service::parse_domains(domains) {
                Ok(domains) => change.allowed_email_domains = Some(domains),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(change)
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// The organization: plan, seats and settings.
#[utoipa::path(
    tag = "org",
    security(("bearer" = [])),
    responses((status = 200, description = "The organization", body = OrgResponse))
)]
#[get("/org")]
pub async fn get_org(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
) -> ApiResult<Json<OrgResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::OrgSettings, Act::Read)
        .await?;
    let settings = service::get(&auth.tx).await?;
    let seats_used = members::service::seats_used(&auth.tx)
        .await
        .map_err(ApiError::from)?;
    auth.tx.commit().await?;
    Ok(Json(OrgResponse {
        id: tenant.id.as_uuid(),
        slug: tenant.slug.to_string(),
        plan: tenant.plan.as_str().to_owned(),
        seat_limit: tenant.seat_limit,
        seats_used,
        settings: settings.into(),
    }))
}

/// Changes some of the organization's settings; fields left out stay as they are.
#[utoipa::path(
    tag = "org",
    security(("bearer" = [])),
    request_body = UpdateOrgSettingsRequest,
    responses((status = 200, description = "The settings after the change", body = OrgSettingsResponse))
)]
#[patch("/org/settings")]
pub async fn update_org_settings(
    state: Data<AppState>,
    token: AccessToken,
    body: ValidJson<UpdateOrgSettingsRequest>,
) -> ApiResult<Json<OrgSettingsResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::OrgSettings, Act::Update)
        .await?;
    let change = body.into_inner().parse()?;
    let settings = service::update(&auth.tx, &auth.ctx, change).await?;
    auth.tx.commit().await?;
    Ok(Json(settings.into()))
}
