//! Slug -> tenant lookups: an in-process cache in front of the global `tenants` table (which the app
//! role may only read). Unknown slugs are cached too, so random subdomains do not reach the database.

use std::time::Duration;

use sqlx::{PgPool, Row};

use super::{Tenant, TenantStatus, plan::Plan};
use crate::{
    cache::TtlCache,
    config::TenancySettings,
    coordination::{BusHealth, Invalidation, InvalidationListener},
    domain::{TenantId, TenantSlug},
};

pub struct TenantDirectory {
    pool: PgPool,
    cache: TtlCache<String, Option<Tenant>>,
    ttl: Duration,
    degraded_ttl: Duration,
    health: BusHealth,
}

impl TenantDirectory {
    pub fn new(pool: PgPool, settings: &TenancySettings, health: BusHealth) -> Self {
        TenantDirectory {
            pool,
            cache: TtlCache::new(settings.cache_capacity),
            ttl: Duration::from_secs(settings.cache_ttl_secs),
            degraded_ttl: Duration::from_millis(settings.degraded_ttl_ms),
            health,
        }
    }

    /// The tenant served at `slug`, if any (active or suspended).
    pub async fn resolve(&self, slug: &TenantSlug) -> Result<Option<Tenant>, sqlx::Error> {
        let ttl = if self.health.is_up() {
            self.ttl
        } else {
            self.degraded_ttl
        };
        if let Some(hit) = self.cache.get(slug.as_str(), ttl) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let row = crate::db::pool::on_live_connection(
            &self.pool,
            crate::db::pool::connection_lost,
            || {
                sqlx::query("SELECT id, slug, status, plan, seat_limit, api_rate_limit FROM tenants WHERE slug = $1")
                    .bind(slug.as_str())
                    .fetch_optional(&self.pool)
            },
        )
        .await?;
        let tenant = match row {
            Some(row) => Some(Tenant {
                id: TenantId::from_uuid(row.try_get("id")?),
                slug: slug.clone(),
                status: match row.try_get::<&str, _>("status")? {
                    "active" => TenantStatus::Active,
                    _ => TenantStatus::Suspended,
                },
                // The column's CHECK allows only the known plans; anything else is the least.
                plan: Plan::parse(row.try_get("plan")?).unwrap_or(Plan::Free),
                seat_limit: row.try_get("seat_limit")?,
                api_rate_limit: row.try_get("api_rate_limit")?,
            }),
            None => None,
        };
        self.cache
            .insert_loaded(generation, slug.as_str().to_owned(), tenant.clone());
        Ok(tenant)
    }
}

impl InvalidationListener for TenantDirectory {
    fn invalidate(&self, message: &Invalidation) {
        if let Invalidation::Tenant { slug } = message {
            self.cache.remove(slug.as_str());
        }
    }

    fn flush(&self) {
        self.cache.clear();
    }
}
