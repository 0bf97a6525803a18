//! `GET /metrics`. Answered on the server's own names (the base domain, an IP address, any host that
//! is not an organization's) and on organizations' hosts only when `metrics.tenant_hosts` is set; with
//! `metrics.token` set, only to `Authorization: Bearer <token>`.

use actix_web::{HttpRequest, HttpResponse, get, http::header, web::Data};
use secrecy::ExposeSecret;

use super::{exposition::CONTENT_TYPE, scrape};
use crate::{
    crypto::constant_time_eq,
    error::ApiError,
    state::AppState,
    tenancy::{host, middleware::raw_host},
};

#[get("/metrics")]
pub async fn metrics(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let settings = &state.settings.metrics;
    let on_tenant_host = raw_host(&req)
        .map(|raw| host::classify(raw, &state.settings.server.base_domain))
        .is_some_and(|target| matches!(target, Ok(host::HostTarget::Tenant(_))));
    if !settings.enabled || (on_tenant_host && !settings.tenant_hosts) {
        return Err(ApiError::NotFound {
            code: "route_not_found",
        });
    }
    if let Some(token) = &settings.token {
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(sent.as_bytes(), token.expose_secret().as_bytes()) {
            return Err(ApiError::Unauthorized {
                code: "invalid_token",
            });
        }
    }
    let text = scrape::collect(&state).await.finish();
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
