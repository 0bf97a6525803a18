//! The state every request may reach, built once by [`crate::startup::Application::build`] and shared by
//! all workers.

use std::sync::Arc;

use sqlx::PgPool;

use crate::{
    auth::{JwtKeys, password::PasswordHasher, rate_limit::RateLimiter},
    authz::Authz,
    clock::SharedClock,
    config::Settings,
    coordination::{InvalidationBus, RedisStore},
    crypto::Crypto,
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
    /// The OpenAPI document, serialised once.
    pub openapi_json: String,
}
