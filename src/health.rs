//! Tenant-less routes: `/healthz` (the process is up), `/readyz` (the database answers; Redis status
//! reported, but Redis is optional), and a landing page on the bare base domain.

use std::time::Duration;

use actix_web::{
    HttpResponse, get,
    web::{self, Data},
};
use serde::Serialize;

use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(landing);
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: &'static str,
    redis: &'static str,
    /// Whether cross-instance cache invalidation is live (else caches live at most a second).
    invalidation: &'static str,
    /// Usage capture since this process started, with what it dropped (docs/analytics.md).
    usage: crate::modules::analytics::capture::CaptureReport,
}

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[get("/readyz")]
async fn readyz(state: Data<AppState>) -> HttpResponse {
    let database = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(&state.pool),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let redis = state.redis.ping().await;
    let body = Readiness {
        status: if database { "ready" } else { "unavailable" },
        database: if database { "up" } else { "down" },
        redis: if redis { "up" } else { "down" },
        usage: state.usage.report(),
        invalidation: if state.bus.health().is_up() {
            "live"
        } else {
            "degraded"
        },
    };
    if database {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The base domain's (and any other host's) page; an organization's host has the portal at `/`.
#[get("/", guard = "not_an_organizations_host")]
async fn landing() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("Trellis: each organization is served on its own subdomain, e.g. acme.<this host>.\n")
}

fn not_an_organizations_host(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    !crate::tenancy::middleware::on_tenant_host(ctx)
}
