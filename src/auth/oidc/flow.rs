//! The single sign-on flow on the organization's host: `start` sends the browser to the provider,
//! `callback` checks what comes back and signs the member in. No tenant transaction is open while the
//! provider is being talked to: the connection is read in a short transaction of its own, and the
//! member's work happens in another once the provider has answered.

use actix_web::http::StatusCode;
use serde_json::json;

use super::{
    client::{Pending, RpConfig},
    failure::SsoFailure,
    provision,
};
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    auth::{rate_limit::Limit, service::TokenPair},
    error::ApiError,
    http::RequestContext,
    modules::sso::connection::{self, Connection},
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

/// The path the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/auth/sso/callback";
/// The one-time store's purpose for pending sign-ins.
const PENDING: &str = "sso";

/// The organization's connection, read in a short transaction of its own.
async fn enabled_connection(state: &AppState, tenant: &Tenant) -> Result<Connection, SsoFailure> {
    let tx = TenantTx::begin(&state.pool, tenant.id, None)
        .await
        .map_err(ApiError::from)?;
    let found = connection::find(&tx).await?;
    tx.commit().await.map_err(ApiError::from)?;
    found.filter(|c| c.enabled).ok_or_else(|| {
        SsoFailure::new(
            StatusCode::NOT_FOUND,
            "sso_not_configured",
            "Single sign-on is not set up for this organization. Sign in with your email and password.",
        )
    })
}

fn rp_config(
    state: &AppState,
    tenant: &Tenant,
    scheme: &str,
    c: &Connection,
) -> Result<RpConfig, SsoFailure> {
    Ok(RpConfig {
        issuer: c.issuer_url.clone(),
        client_id: c.client_id.clone(),
        client_secret: connection::client_secret(&state.crypto, c)?,
        scopes: c.scopes.clone(),
        groups_claim: c.groups_claim.clone(),
        redirect_url: state.tenant_url(scheme, &tenant.slug, CALLBACK_PATH),
    })
}

/// Where to go after signing in: a path on this host, never another site, in visible ASCII (it goes
/// into a `Location` header as it is), and not a sign-in or sign-out page; `None` when none (or no
/// safe one) was asked for, and the member lands where their role leads.
pub fn safe_return_to(requested: Option<&str>) -> Option<String> {
    const NOT_AFTER_SIGN_IN: [&str; 3] = ["/login", "/admin/login", "/logout"];
    requested
        .filter(|path| {
            path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.bytes().all(|b| b.is_ascii_graphic())
                && path.len() <= 500
                && !NOT_AFTER_SIGN_IN.iter().any(|page| {
                    path.strip_prefix(page)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
                })
        })
        .map(str::to_owned)
}

/// Where to send the browser, and the state value to bind to it (a cookie).
pub async fn start(
    state: &AppState,
    tenant: &Tenant,
    request: &RequestContext,
    return_to: Option<&str>,
) -> Result<(url::Url, String), SsoFailure> {
    limit(state, request).await?;
    let connection = enabled_connection(state, tenant).await?;
    let config = rp_config(state, tenant, request.scheme, &connection)?;
    let (url, csrf, pending) = state
        .oidc
        .authorize(&config, safe_return_to(return_to))
        .await?;
    let stored = serde_json::to_string(&pending).map_err(ApiError::internal)?;
    state.one_time.put(tenant.id, PENDING, &csrf, stored).await;
    Ok((url, csrf))
}

/// What the provider sent back to the callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer that answered.
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Checks the provider's answer and signs the member in; returns their tokens and where to go next.
/// A failure is recorded as `sso.login_failed` and nothing else changes.
pub async fn callback(
    state: &AppState,
    tenant: &Tenant,
    request: &RequestContext,
    query: CallbackQuery,
    bound_state: Option<&str>,
) -> Result<(TokenPair, Option<String>), SsoFailure> {
    let ctx = AuditCtx::anonymous(request.clone(), state.clock.now());
    match complete(state, tenant, request, &ctx, query, bound_state).await {
        Ok(done) => Ok(done),
        Err(failure) => {
            record_failure(state, tenant, &ctx, &failure).await;
            Err(failure)
        }
    }
}

async fn complete(
    state: &AppState,
    tenant: &Tenant,
    request: &RequestContext,
    ctx: &AuditCtx,
    query: CallbackQuery,
    bound_state: Option<&str>,
) -> Result<(TokenPair, Option<String>), SsoFailure> {
    limit(state, request).await?;
    let invalid_state = || {
        SsoFailure::new(
            StatusCode::BAD_REQUEST,
            "state_invalid",
            "This sign-in link is not valid any more (it was used already, or started in another browser). Start again.",
        )
    };
    let returned = query.state.as_deref().ok_or_else(invalid_state)?;
    // Single use: taken before anything else is checked, so a replay finds nothing.
    let pending = state
        .one_time
        .take(tenant.id, PENDING, returned)
        .await
        .ok_or_else(invalid_state)?;
    if !bound_state
        .is_some_and(|bound| crate::crypto::constant_time_eq(bound.as_bytes(), returned.as_bytes()))
    {
        return Err(invalid_state().detail("the state does not match this browser's"));
    }
    let pending: Pending = serde_json::from_str(&pending).map_err(ApiError::internal)?;
    let ttl = chrono::Duration::seconds(state.settings.sso.state_ttl_secs as i64);
    if ctx.now - pending.created_at > ttl {
        return Err(SsoFailure::new(
            StatusCode::BAD_REQUEST,
            "state_expired",
            "This sign-in took too long. Start again.",
        ));
    }
    if let Some(error) = &query.error {
        let description = query.error_description.as_deref().unwrap_or_default();
        return Err(SsoFailure::new(
            StatusCode::UNAUTHORIZED,
            "provider_error",
            "Your organization's identity provider did not sign you in.",
        )
        .detail(format!("{error}: {description}")));
    }
    if let Some(iss) = &query.iss
        && iss != &pending.issuer
    {
        return Err(SsoFailure::new(
            StatusCode::BAD_REQUEST,
            "issuer_mismatch",
            "The answer came from another identity provider than the one this sign-in started with.",
        )
        .detail(format!("iss {iss}")));
    }
    let code = query.code.ok_or_else(|| {
        SsoFailure::new(
            StatusCode::BAD_REQUEST,
            "code_missing",
            "The identity provider's answer was incomplete. Start again.",
        )
    })?;
    let connection = enabled_connection(state, tenant).await?;
    if connection.issuer_url != pending.issuer || connection.client_id != pending.client_id {
        return Err(SsoFailure::new(
            StatusCode::CONFLICT,
            "connection_changed",
            "The single sign-on connection changed during this sign-in. Start again.",
        ));
    }
    let config = rp_config(state, tenant, request.scheme, &connection)?;
    let return_to = pending.return_to.clone();
    let identity = state.oidc.complete(&config, code, pending).await?;
    let pair = provision::sign_in(state, tenant, ctx, &connection, &identity)
        .await
        .map_err(|failure| failure.claimed(&identity))?;
    Ok((pair, return_to))
}

async fn limit(state: &AppState, request: &RequestContext) -> Result<(), SsoFailure> {
    let ip = request.ip.map(|ip| ip.to_string()).unwrap_or_default();
    let key = state.redis.global_key(&format!("rl:sso_ip:{ip}"));
    state
        .limiter
        .hit(
            &key,
            Limit::login_per_ip(&state.settings.auth),
            state.clock.now(),
        )
        .await
        .or_too_many()?;
    Ok(())
}

/// `sso.login_failed`, in a transaction of its own (the sign-in's changes, if any, were rolled back).
async fn record_failure(state: &AppState, tenant: &Tenant, ctx: &AuditCtx, failure: &SsoFailure) {
    let recorded = async {
        let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
        let actor = match &failure.claimed {
            Some(who) => Actor::claimed(who),
            None => Actor::system("anonymous"),
        };
        audit::record(
            &tx,
            &ctx.with_actor(actor),
            AuditEvent::new("sso.login_failed").metadata(json!({
                "reason": failure.reason,
                "detail": failure.detail,
            })),
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(error) = recorded {
        tracing::error!(%error, "could not record a failed single sign-on");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_host_are_returned_to() {
        assert_eq!(
            safe_return_to(Some("/admin/members")).as_deref(),
            Some("/admin/members")
        );
        assert_eq!(
            safe_return_to(Some("/logins-report?x=1")).as_deref(),
            Some("/logins-report?x=1")
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "admin",
            "/a\nb",
            "/a b",
            "/\u{e9}",
            "/login",
            "/login?return_to=/admin",
            "/admin/login",
            "/logout",
        ] {
            assert_eq!(safe_return_to(Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_return_to(None), None);
    }
}
