//! Resolves the tenant of every request under a tenant scope (`/api/v1`, `/admin`, the portal) from the
//! raw Host header and stores it in the request's extensions; [`Tenant`] extracts it. [`on_tenant_host`]
//! routes only requests addressed to an organization's host to the portal at `/`.

use actix_web::{
    HttpMessage, HttpRequest,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    guard::GuardContext,
    http::header,
    middleware::Next,
    web::Data,
};
use tracing_actix_web::RootSpan;

use super::{Tenant, TenantStatus, host};
use crate::{error::ApiError, http::RequestContext, state::AppState};

pub async fn resolve_tenant(
    state: Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let tenant = match tenant_of(&state, req.request()).await {
        Ok(tenant) => tenant,
        // Rendered here, inside the request's scope, so the problem carries the request id.
        Err(error) => return Ok(req.error_response(error)),
    };
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("tenant_id", tracing::field::display(tenant.id));
    }
    // Links in what this request mails lead to the organization's own address, never to the Host
    // the request named (another case, a trailing dot, a port of the requester's choosing).
    if let Some(context) = req.extensions_mut().get_mut::<RequestContext>() {
        context.origin = Some(state.tenant_url(context.scheme, &tenant.slug, ""));
    }
    req.extensions_mut().insert(tenant);
    Ok(next.call(req).await?.map_into_boxed_body())
}

async fn tenant_of(state: &AppState, req: &HttpRequest) -> Result<Tenant, ApiError> {
    let malformed = || ApiError::bad_request("malformed_host", "the Host header is malformed");
    let raw = match raw_host(req) {
        Some(raw) => raw,
        // Present but not visible ASCII (a raw UTF-8 name, control bytes).
        None if req.headers().contains_key(header::HOST) => return Err(malformed()),
        None => {
            return Err(ApiError::bad_request(
                "missing_host",
                "a Host header is required",
            ));
        }
    };
    let target =
        host::classify(raw, &state.settings.server.base_domain).map_err(|_| malformed())?;
    let slug = match target {
        host::HostTarget::Tenant(slug) => slug,
        host::HostTarget::Base => return Err(ApiError::not_found()),
        host::HostTarget::Foreign => {
            return Err(ApiError::NotFound {
                code: "tenant_not_found",
            });
        }
    };
    let tenant = state
        .tenants
        .resolve(&slug)
        .await?
        .ok_or(ApiError::NotFound {
            code: "tenant_not_found",
        })?;
    if tenant.status == TenantStatus::Suspended {
        return Err(ApiError::forbidden(
            "tenant_suspended",
            "this organization is suspended",
        ));
    }
    Ok(tenant)
}

/// A routing guard: the request is addressed to an organization's host (whether that organization
/// exists is for [`resolve_tenant`] to say). Requests to the base domain or elsewhere pass by.
pub fn on_tenant_host(ctx: &GuardContext<'_>) -> bool {
    let Some(state) = ctx.app_data::<Data<AppState>>() else {
        return false;
    };
    let head = ctx.head();
    let raw = head
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| head.uri.authority().map(|authority| authority.as_str()));
    raw.is_some_and(|raw| {
        matches!(
            host::classify(raw, &state.settings.server.base_domain),
            Ok(host::HostTarget::Tenant(_))
        )
    })
}

/// The Host header as the client sent it, or the HTTP/2 authority. Never a forwarded header.
pub(crate) fn raw_host(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| req.uri().authority().map(|authority| authority.as_str()))
}
