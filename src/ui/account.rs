//! The console's pages for people who are not signed in yet: accepting an invitation (choose a
//! password, then signed in — or on to two-step enrolment when the organization requires it), asking
//! for a password-reset link, and setting a new password with it. The single-use tokens arrive in the
//! link's fragment, which no server receives; the console's script moves them into the form. The
//! forms carry the sign-in page's CSRF token (a nonce cookie), as they have no session yet.

use actix_web::{
    HttpRequest, HttpResponse, get,
    http::StatusCode,
    post,
    web::{Data, Form},
};
use askama::Template;
use serde::Deserialize;

use super::{
    frame::{PageResult, described, html},
    pages::{continue_sign_in, org_name},
};
use crate::{
    audit::AuditCtx,
    auth::{service as auth, web_session},
    domain::{DisplayName, Email},
    error::ApiError,
    http::RequestContext,
    modules::members::service as members,
    state::AppState,
    tenancy::Tenant,
};

/// Which form the page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Accept,
    Forgot,
    ForgotSent,
    Reset,
    ResetDone,
}

#[derive(Template)]
#[template(path = "account.html", config = "admin-ui/askama.toml")]
struct AccountPage<'a> {
    org: &'a str,
    csrf: &'a str,
    step: Step,
    /// The token, when a refused form is shown again.
    token: &'a str,
    name: &'a str,
    error: Option<&'a str>,
}

async fn page(
    state: &AppState,
    tenant: &Tenant,
    step: Step,
    token: &str,
    name: &str,
    error: Option<(StatusCode, &str)>,
) -> PageResult {
    let org = org_name(state, tenant).await?;
    let (nonce, csrf) = web_session::login_csrf(&state.crypto);
    let mut response = html(
        error.map_or(StatusCode::OK, |(status, _)| status),
        AccountPage {
            org: &org,
            csrf: &csrf,
            step,
            token,
            name,
            error: error.map(|(_, message)| message),
        },
    )?;
    let _ = response.add_cookie(&web_session::login_cookie(state, nonce));
    Ok(response)
}

fn expired_form() -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/plain; charset=utf-8")
        .body(
            "This form has expired or did not come from this site. Go back, reload and try again.",
        )
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

#[get("/accept-invitation")]
pub async fn accept_form(state: Data<AppState>, tenant: Tenant) -> PageResult {
    page(&state, &tenant, Step::Accept, "", "", None).await
}

#[derive(Deserialize)]
pub struct AcceptForm {
    csrf_token: String,
    token: String,
    #[serde(default)]
    display_name: String,
    password: String,
}

/// Accepts the invitation: the password is set, the member is active and signed in.
#[post("/accept-invitation")]
pub async fn accept(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<AcceptForm>,
) -> PageResult {
    let form = form.into_inner();
    if !web_session::verify_login_csrf(&state.crypto, &req, &form.csrf_token) {
        return Ok(expired_form());
    }
    let again = async |message: &str| {
        let error = Some((UNPROCESSABLE, message));
        page(
            &state,
            &tenant,
            Step::Accept,
            &form.token,
            &form.display_name,
            error,
        )
        .await
    };
    let name = form.display_name.trim();
    let display_name = match name.is_empty() {
        true => None,
        false => match DisplayName::parse(name) {
            Ok(name) => Some(name),
            Err(message) => return again(&format!("The name {message}.")).await,
        },
    };
    if form.token.trim().is_empty() {
        return again("Open the link from your invitation email again: it carries the invitation.")
            .await;
    }
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let outcome = members::accept_invitation(
        &state,
        &tenant,
        &ctx,
        form.token.trim(),
        &form.password,
        display_name,
    )
    .await
    .map_err(ApiError::from);
    if outcome.is_ok() {
        state.usage.feature(
            tenant.id,
            None,
            crate::modules::analytics::capture::FeatureEvent::InvitationAccepted,
            "",
        );
    }
    match outcome {
        Ok(outcome) => continue_sign_in(&state, &tenant, &ctx, outcome, "").await,
        Err(ApiError::Unauthorized { .. }) => {
            let message = "This invitation is not valid any more: it was used, revoked or has expired. \
                           Ask your administrator for a new one.";
            page(
                &state,
                &tenant,
                Step::Accept,
                "",
                &form.display_name,
                Some((StatusCode::GONE, message)),
            )
            .await
        }
        Err(error @ ApiError::Validation(_)) => again(&described(&error)).await,
        Err(error) => Err(error),
    }
}

#[get("/forgot-password")]
pub async fn forgot_form(state: Data<AppState>, tenant: Tenant) -> PageResult {
    page(&state, &tenant, Step::Forgot, "", "", None).await
}

#[derive(Deserialize)]
pub struct ForgotForm {
    csrf_token: String,
    email: String,
}

/// Mails a reset link when the address has an account; the answer is the same either way.
#[post("/forgot-password")]
pub async fn forgot(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<ForgotForm>,
) -> PageResult {
    if !web_session::verify_login_csrf(&state.crypto, &req, &form.csrf_token) {
        return Ok(expired_form());
    }
    let Ok(email) = Email::parse(&form.email) else {
        let error = Some((UNPROCESSABLE, "That is not an email address."));
        return page(&state, &tenant, Step::Forgot, "", "", error).await;
    };
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    match auth::request_password_reset(&state, &tenant, &ctx, &email).await {
        Ok(()) => page(&state, &tenant, Step::ForgotSent, "", "", None).await,
        Err(ApiError::TooManyRequests { .. }) => {
            let error = Some((
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests. Wait a while, then try again.",
            ));
            page(&state, &tenant, Step::Forgot, "", "", error).await
        }
        Err(error) => Err(error),
    }
}

#[get("/reset-password")]
pub async fn reset_form(state: Data<AppState>, tenant: Tenant) -> PageResult {
    page(&state, &tenant, Step::Reset, "", "", None).await
}

#[derive(Deserialize)]
pub struct ResetForm {
    csrf_token: String,
    token: String,
    password: String,
}

/// Sets the new password with the mailed token (every session of the account ends).
#[post("/reset-password")]
pub async fn reset(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<ResetForm>,
) -> PageResult {
    if !web_session::verify_login_csrf(&state.crypto, &req, &form.csrf_token) {
        return Ok(expired_form());
    }
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    match auth::confirm_password_reset(&state, &tenant, &ctx, form.token.trim(), &form.password)
        .await
    {
        Ok(()) => page(&state, &tenant, Step::ResetDone, "", "", None).await,
        Err(ApiError::Unauthorized { .. }) => {
            let message =
                "This link is not valid any more: it was used or has expired. Ask for a new one.";
            page(
                &state,
                &tenant,
                Step::Forgot,
                "",
                "",
                Some((StatusCode::GONE, message)),
            )
            .await
        }
        Err(error @ ApiError::Validation(_)) => {
            let message = described(&error);
            let error = Some((UNPROCESSABLE, message.as_str()));
            page(&state, &tenant, Step::Reset, &form.token, "", error).await
        }
        Err(error) => Err(error),
    }
}
