//! The browser's side of single sign-on on the organization's host: `/auth/sso/start` sends it to the
//! identity provider, `/auth/sso/callback` signs it in (session cookies, then on to the page asked
//! for, or where the member's role leads) or shows what went wrong. The logic is in [`crate::auth::oidc::flow`].

use actix_web::{
    HttpRequest, HttpResponse, get,
    http::header,
    web::{Data, Query},
};
use askama::Template;
use serde::Deserialize;

use super::{
    frame::{PageResult, html},
    pages::{org_name, signed_in_to},
};
use crate::{
    auth::{
        oidc::{
            failure::SsoFailure,
            flow::{self, CallbackQuery},
        },
        web_session,
    },
    error::current_request_id,
    http::RequestContext,
    state::AppState,
    tenancy::Tenant,
    tenancy::plan::Feature,
};

#[derive(Template)]
#[template(path = "sso_error.html", config = "admin-ui/askama.toml")]
struct SsoErrorPage<'a> {
    org: &'a str,
    message: &'a str,
    reason: &'a str,
    request_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    /// A path on this host to land on after signing in (by default, where the member's role leads).
    return_to: Option<String>,
}

#[get("/start")]
pub async fn start(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    query: Query<StartQuery>,
) -> PageResult {
    tenant.require(&state.settings.plans, Feature::Sso)?;
    match flow::start(&state, &tenant, &request, query.return_to.as_deref()).await {
        Ok((url, bound)) => {
            let mut response = HttpResponse::Found()
                .insert_header((header::LOCATION, url.as_str()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
            let _ = response.add_cookie(&web_session::sso_cookie(&state, bound));
            Ok(response)
        }
        Err(failure) => error_page(&state, &tenant, &failure).await,
    }
}

#[get("/callback")]
pub async fn callback(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: Query<CallbackQuery>,
) -> PageResult {
    tenant.require(&state.settings.plans, Feature::Sso)?;
    let bound = req
        .cookie(web_session::SSO_COOKIE)
        .map(|c| c.value().to_owned());
    let outcome = flow::callback(
        &state,
        &tenant,
        &request,
        query.into_inner(),
        bound.as_deref(),
    )
    .await;
    let mut response = match outcome {
        Ok((pair, return_to)) => {
            signed_in_to(
                &state,
                &tenant,
                &pair,
                return_to.as_deref().unwrap_or_default(),
            )
            .await?
        }
        Err(failure) => error_page(&state, &tenant, &failure).await?,
    };
    let _ = response.add_cookie(&web_session::cleared_sso_cookie(&state));
    Ok(response)
}

async fn error_page(state: &AppState, tenant: &Tenant, failure: &SsoFailure) -> PageResult {
    let org = org_name(state, tenant).await?;
    html(
        failure.status,
        SsoErrorPage {
            org: &org,
            message: failure.message,
            reason: failure.reason,
            request_id: current_request_id(),
        },
    )
}
