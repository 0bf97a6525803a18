//! The SCIM client's credential: a bearer token `scim_<prefix>_<secret>` per organization, only its
//! SHA-256 stored. Checked in the opening message of the request's transaction (as API keys are), so a
//! revoked or rotated token stops working on its next request. Another organization's token, or none,
//! is a 401 in SCIM's error format.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web::Data};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::error::ScimError;
use crate::{
    audit::{Actor, AuditCtx},
    auth::api_keys::{self, NewKey, PresentedKey},
    http::context::RequestContext,
    state::AppState,
    tenancy::plan::Feature,
    tenancy::{Tenant, TenantTx},
};

pub const TOKEN_KIND: &str = "scim_";

pub fn generate() -> NewKey {
    api_keys::generate_kind(TOKEN_KIND)
}

/// A SCIM request as it arrived: its organization and a well-formed token, not yet checked.
pub struct ScimAuth {
    pub tenant: Tenant,
    token: PresentedKey,
    request: RequestContext,
    now: DateTime<Utc>,
    /// `https://<org host>/scim/v2`, for `meta.location` and `$ref`s.
    pub base_url: String,
}

/// A checked SCIM request: its transaction, and the audit context naming the token.
pub struct ScimSession {
    pub tx: TenantTx,
    pub ctx: AuditCtx,
    pub tenant: Tenant,
    pub base_url: String,
}

impl FromRequest for ScimAuth {
    type Error = ScimError;
    type Future = Ready<Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read(req))
    }
}

fn read(req: &HttpRequest) -> Result<ScimAuth, ScimError> {
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(|| ScimError::internal("application state missing"))?;
    let tenant = req
        .extensions()
        .get::<Tenant>()
        .cloned()
        .ok_or_else(|| ScimError::not_found("organization", "of this host"))?;
    // Provisioning is a feature of the plan: without it, no SCIM endpoint exists.
    if !tenant.has(&state.settings.plans, Feature::Scim) {
        return Err(ScimError::not_found("endpoint", "of this organization"));
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, token)| PresentedKey::parse_kind(token.trim(), TOKEN_KIND))
        .ok_or_else(ScimError::unauthorized)?;
    let request = req
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    let base_url = state.tenant_url(request.scheme, &tenant.slug, "/scim/v2");
    Ok(ScimAuth {
        tenant,
        token,
        request,
        now: state.clock.now(),
        base_url,
    })
}

impl ScimAuth {
    /// Opens the transaction, checking the token (and noting its use, at most once a minute) in the
    /// same round trip.
    pub async fn open(self, state: &AppState) -> Result<ScimSession, ScimError> {
        let ScimAuth {
            tenant,
            token,
            request,
            now,
            base_url,
        } = self;
        let at = format!(
            "'{}'::timestamptz",
            now.to_rfc3339_opts(SecondsFormat::Micros, true)
        );
        let hash = token.hash_literal();
        let prefix = token.prefix();
        let id = tenant.id;
        let live = format!("secret_hash = {hash} AND revoked_at IS NULL");
        let check = format!(
            "SELECT id FROM scim_tokens WHERE tenant_id = '{id}' AND prefix = '{prefix}' AND {live}; \
             UPDATE scim_tokens SET last_used_at = {at} \
             WHERE tenant_id = '{id}' AND id IN ( \
               SELECT id FROM scim_tokens WHERE tenant_id = '{id}' AND prefix = '{prefix}' AND {live} \
                 AND (last_used_at IS NULL OR last_used_at < {at} - interval '1 minute') \
               FOR UPDATE SKIP LOCKED)"
        );
        let (tx, rows) = TenantTx::begin_with(&state.pool, tenant.id, None, check).await?;
        let token_id: Uuid = match rows.first() {
            Some(row) => row.try_get("id").map_err(ScimError::internal)?,
            None => return Err(ScimError::unauthorized()),
        };
        let ctx = AuditCtx {
            actor: Actor::scim_token(token_id, &format!("SCIM token {prefix}")),
            request,
            now,
        };
        Ok(ScimSession {
            tx,
            ctx,
            tenant,
            base_url,
        })
    }
}
