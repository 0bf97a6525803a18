//! Which tenant a request belongs to, and the only door to tenant tables.
//!
//! - [`host`] turns the raw `Host` header into a tenant slug (or the bare base domain);
//! - [`directory`] looks slugs up in the global `tenants` table through a short-lived cache that Redis
//!   pub/sub invalidates across instances;
//! - [`middleware`] puts the resolved [`Tenant`] into each tenant-scoped request;
//! - [`tx`] is [`TenantTx`]: one transaction per request with `SET LOCAL app.tenant_id`, so row-level
//!   security keeps tenants apart in the database itself;
//! - [`plan`] is what an organization pays for: limits and features; [`limits`] enforces its API rate
//!   limit;
//! - [`provision`] creates and updates tenants (CLI, demo seed).

pub mod directory;
pub mod host;
pub mod limits;
pub mod middleware;
pub mod plan;
pub mod provision;
pub mod tx;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use std::future::{Ready, ready};

pub use directory::TenantDirectory;
pub use tx::TenantTx;

use crate::{
    domain::{TenantId, TenantSlug},
    error::ApiError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    Active,
    Suspended,
}

/// A resolved tenant, as the global `tenants` table has it.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub status: TenantStatus,
    pub plan: plan::Plan,
    pub seat_limit: i32,
    /// API requests per minute for this organization; `None`: its plan's.
    pub api_rate_limit: Option<i32>,
}

/// Extracts the tenant the middleware resolved. A handler that asks for it outside a tenant scope is a
/// programming error, answered as 404 rather than a panic.
impl FromRequest for Tenant {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Tenant>()
                .cloned()
                .ok_or(ApiError::NotFound {
                    code: "tenant_not_found",
                }),
        )
    }
}
