//! The organization's API rate limit: requests per minute under `/api/v1`, counted across every instance
//! (Redis; per instance while Redis is down, see `auth::rate_limit`). The limit is the tenant's own or
//! its plan's ([`super::plan`]). Requests with a member's valid token count in one bucket of the
//! organization; each API key counts in its own; anything else (sign-in, a bad or missing credential)
//! per client IP — so nobody without the organization's credentials can use up its limit. Every answer
//! carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; past the limit, 429
//! `api_rate_limit_exceeded` naming it, with `Retry-After`.

use actix_web::{
    HttpMessage,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web::Data,
};

use super::Tenant;
use crate::{
    auth::{AccessToken, rate_limit::Limit},
    error::ApiError,
    http::RequestContext,
    state::AppState,
};

pub async fn api_rate_limit(
    state: Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(tenant) = req.extensions().get::<Tenant>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let max = tenant.api_rate_limit(&state.settings.plans);
    let bucket = match AccessToken::read(req.request(), None) {
        Ok(token) => token.rate_bucket(),
        Err(_) => {
            let ip = req
                .extensions()
                .get::<RequestContext>()
                .and_then(|c| c.ip)
                .map(|ip| ip.to_string())
                .unwrap_or_default();
            format!("ip:{ip}")
        }
    };
    let decision = state
        .limiter
        .hit(
            &format!("api:{}:{bucket}", tenant.id),
            Limit {
                max,
                window_secs: 60,
            },
            state.clock.now(),
        )
        .await;
    let headers = [
        ("ratelimit-limit", max.to_string()),
        (
            "ratelimit-remaining",
            max.saturating_sub(decision.count).to_string(),
        ),
        ("ratelimit-reset", decision.retry_after_secs.to_string()),
    ];
    let mut response = if decision.allowed {
        next.call(req).await?.map_into_boxed_body()
    } else {
        req.error_response(ApiError::LimitExceeded {
            code: "api_rate_limit_exceeded",
            detail: format!(
                "this organization may make {max} API requests per minute (its plan's limit: for \
                 its members together, and for each API key or other client); try again in {} seconds",
                decision.retry_after_secs
            ),
            retry_after_secs: decision.retry_after_secs,
        })
    };
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}
