//! The request context: every request gets an id (UUIDv7, echoed as `x-request-id`), a root span with
//! `request_id`, `tenant_id` and `user_id`, and a client IP that believes `X-Forwarded-For` only from
//! `server.trusted_proxies`. Errors are rendered here, inside the request's scope, so every problem
//! body carries its request id. It also counts each answer for `/metrics` (method, route pattern,
//! status, latency) and gives it the security headers ([`super::headers`]).

use std::{
    future::{Ready, ready},
    net::IpAddr,
    time::Instant,
};

use actix_web::{
    FromRequest, HttpMessage, HttpRequest, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
    web::Data,
};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::{
    error::{ApiError, REQUEST_ID},
    state::AppState,
};

/// Who is asking, from where: what the audit log records about a request.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: String,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// `https` when a trusted proxy says the client used it, else `http` (the server itself speaks only
    /// plain HTTP).
    pub scheme: &'static str,
    /// The organization's own address (`scheme://acme.example.com`, from the configuration, never from
    /// the request's Host), set once the tenant is resolved: links in the mails a request sends.
    pub origin: Option<String>,
}

impl RequestContext {
    /// `path` at the organization's address; `None` outside an organization's request (a background
    /// job, the base domain).
    pub fn link(&self, path: &str) -> Option<String> {
        self.origin.as_ref().map(|origin| format!("{origin}{path}"))
    }
}

impl FromRequest for RequestContext {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<RequestContext>()
            .cloned()
            .unwrap_or_default()))
    }
}

/// The root span of each request.
pub struct TrellisRootSpan;

impl RootSpanBuilder for TrellisRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "http_request",
            http.method = %request.method(),
            http.path = %loggable_path(request.path()),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
            tenant_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Sets the request id for error bodies, records the client context, gives bare error statuses a
/// problem body and logs the outcome.
pub async fn request_context(
    state: Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let scheme = client_scheme(req.request(), &state);
    let context = RequestContext {
        request_id: request_id.clone(),
        ip: client_ip(req.request(), &state),
        scheme,
        origin: None,
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    };
    req.extensions_mut().insert(context);
    let method = req.method().clone();
    let path = loggable_path(req.path()).into_owned();
    REQUEST_ID
        .scope(request_id.clone(), async move {
            // Inner middleware renders its errors itself (inside this scope, so they carry the id).
            let mut response = next.call(req).await?.map_into_boxed_body();
            if needs_problem_body(&response) {
                response = response.map_body(|head, _| {
                    let problem = ApiError::for_status(head.status).error_response();
                    head.headers = problem.headers().clone();
                    problem.into_body()
                });
            }
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(X_REQUEST_ID.clone(), value);
            }
            super::headers::secure(response.headers_mut(), state.settings.server.hsts);
            let status = response.status().as_u16();
            let took = started.elapsed();
            state
                .metrics
                .observe(&method, response.request().match_pattern(), status, took);
            let elapsed_ms = took.as_secs_f64() * 1000.0;
            if status >= 500 {
                tracing::error!(%method, %path, status, elapsed_ms, "request failed");
            } else {
                tracing::info!(%method, %path, status, elapsed_ms, "request");
            }
            Ok(response)
        })
        .await
}

/// An error status without a body of ours (actix's own 404, 405, 413...) gets a problem body too.
fn needs_problem_body(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && !response.headers().contains_key(header::CONTENT_TYPE)
}

/// `X-Forwarded-Proto`, believed only from a trusted proxy.
fn client_scheme(req: &HttpRequest, state: &AppState) -> &'static str {
    let trusted = req
        .peer_addr()
        .is_some_and(|peer| state.settings.server.is_trusted_proxy(peer.ip()));
    let forwarded = req
        .headers()
        .get(HeaderName::from_static("x-forwarded-proto"))
        .and_then(|v| v.to_str().ok());
    match (trusted, forwarded) {
        (true, Some(proto)) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// The client's address: the peer, or the right-most untrusted address of `X-Forwarded-For` when the
/// peer is a trusted proxy.
pub fn client_ip(req: &HttpRequest, state: &AppState) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let server = &state.settings.server;
    if !server.is_trusted_proxy(peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !server.is_trusted_proxy(*ip))
        .or(Some(peer))
}

/// Paths whose last segment is a capability (whoever holds it may use it): never written to the logs.
const CAPABILITY_PATHS: &[&str] = &["/api/v1/network/referral-links/"];

/// The path as the logs show it: a capability in it replaced by `[redacted]`.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match CAPABILITY_PATHS
        .iter()
        .find(|prefix| path.starts_with(*prefix))
    {
        Some(prefix) => format!("{prefix}[redacted]").into(),
        None => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_in_paths_stay_out_of_the_logs() {
        assert_eq!(
            loggable_path("/api/v1/network/referral-links/abcDEF123"),
            "/api/v1/network/referral-links/[redacted]"
        );
        assert_eq!(loggable_path("/api/v1/members/42"), "/api/v1/members/42");
    }
}
