//! The state every request may reach, built once by [`crate::startup::Application::build`] and shared by
//! all workers.

use std::sync::Arc;

use sqlx::PgPool;

use crate::{
    auth::{JwtKeys, oidc::OidcClient, password::PasswordHasher, rate_limit::RateLimiter},
    authz::Authz,
    clock::SharedClock,
    config::Settings,
    coordination::{InvalidationBus, OneTimeStore, RedisStore},
    crypto::Crypto,
    domain::TenantSlug,
    tenancy::TenantDirectory,
};

/// Everything a request may need, shared by all workers.
pub struct AppState {
    pub settings: Settings,
    pub pool: PgPool,
    pub clock: SharedClock,
    pub tenants: Arc<TenantDirectory>,
    pub authz: Arc<Authz>,
    pub jwt_keys: JwtKeys,
    pub crypto: Arc<Crypto>,
    pub passwords: PasswordHasher,
    pub limiter: RateLimiter,
    pub redis: RedisStore,
    pub bus: Arc<InvalidationBus>,
    /// Wakes the import progress streams of this instance.
    pub import_progress: Arc<crate::modules::imports::progress::ProgressHub>,
    /// Wakes this instance's workspace activity streams.
    pub workspace_activity: Arc<crate::modules::workspaces::live::ActivityHub>,
    /// The relying party for the organizations' identity providers.
    pub oidc: Arc<OidcClient>,
    /// Single-use values shared by the instances (SSO sign-ins in flight).
    pub one_time: Arc<OneTimeStore>,
    /// Signs the audit chain's digests; its ring's public keys verify them.
    pub audit_signer: Arc<crate::audit::signing::DigestSigner>,
    /// Posts to the organizations' audit log streams (their admins' test deliveries).
    pub audit_stream: Arc<crate::audit::stream::sender::Sender>,
    /// Usage capture: requests and feature events, buffered and written off the request's path.
    pub usage: Arc<crate::modules::analytics::capture::Capture>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: Arc<crate::metrics::RequestMetrics>,
    /// The OpenAPI document, serialised once.
    pub openapi_json: String,
    /// The port in links the server hands out (`server.public_port`; outside production, the bound port
    /// when unset); `None` means the scheme's default.
    pub link_port: Option<u16>,
}

impl AppState {
    /// `path` on `tenant`'s host, for links the server hands out or mails. Built from the tenant's slug
    /// and the configured domain, never from the request's Host header: a link in a mail leads to the
    /// organization's real address whatever the requester sent.
    pub fn tenant_url(&self, scheme: &str, tenant: &TenantSlug, path: &str) -> String {
        let domain = self.settings.server.base_domain.trim_end_matches('.');
        match self.link_port {
            Some(port) => format!("{scheme}://{tenant}.{domain}:{port}{path}"),
            None => format!("{scheme}://{tenant}.{domain}{path}"),
        }
    }
}
