//! The console's pages. Forms are posted as `application/x-www-form-urlencoded` and carry a CSRF token;
//! failures re-render the form with a message (never a JSON problem).

use actix_web::{
    HttpMessage, HttpRequest, HttpResponse, get, post,
    web::{Data, Form},
};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::frame::{PageResult, html, redirect};
use crate::{
    audit::AuditCtx,
    auth::{
        AccessToken, Subject,
        mfa::service as mfa,
        service::{self as auth, LoginOutcome, TokenPair},
        tokens, web_session,
    },
    domain::Email,
    error::ApiError,
    http::RequestContext,
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

#[derive(Template)]
#[template(path = "login.html", config = "admin-ui/askama.toml")]
struct LoginPage<'a> {
    org: &'a str,
    csrf: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    /// The organization signs in with single sign-on too.
    sso: bool,
}

#[derive(Template)]
#[template(path = "mfa.html", config = "admin-ui/askama.toml")]
struct MfaPage<'a> {
    org: &'a str,
    csrf: &'a str,
    challenge: &'a str,
    mode: &'a str,
    qr_svg: Option<&'a str>,
    secret: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "home.html", config = "admin-ui/askama.toml")]
struct HomePage<'a> {
    org: &'a str,
    csrf: &'a str,
    email: &'a str,
    role: Option<&'a str>,
    /// The organization's overview, for those who may read analytics.
    overview: Option<Overview>,
    nav: super::frame::Nav,
}

/// What the overview shows: figures, and the same figures drawn as SVG.
struct Overview {
    plan: &'static str,
    seats_used: i64,
    seat_limit: i32,
    seats_svg: String,
    dau: i64,
    wau: i64,
    mau: i64,
    active_svg: String,
    daily: Vec<(String, i64)>,
    logins: Vec<(String, i64)>,
    adoption: Vec<(String, i64, i64)>,
    adoption_svg: String,
}

/// The overview of the last 30 days, from the usage roll-ups.
async fn overview(state: &AppState, tenant: &Tenant, tx: &TenantTx) -> Result<Overview, ApiError> {
    use crate::modules::{analytics::service, members};
    let today = state.clock.now().date_naive();
    let from = today - chrono::Duration::days(29);
    let active = service::active_counts(tx, today).await?;
    let seats_used = members::service::seats_used(tx)
        .await
        .map_err(ApiError::from)?;
    let daily: Vec<(String, i64)> =
        service::trend(tx, "active_members", service::Interval::Day, from, today)
            .await?
            .into_iter()
            .map(|p| (p.period.format("%b %-d").to_string(), p.value))
            .collect();
    let logins: Vec<(String, i64)> = service::logins_by_method(tx, from, today)
        .await?
        .into_iter()
        .collect();
    let adoption: Vec<(String, i64, i64)> = service::adoption(tx, from, today)
        .await?
        .into_iter()
        .map(|a| (a.module, a.active_members, a.events))
        .collect();
    let adoption_points: Vec<(String, i64)> =
        adoption.iter().map(|(m, a, _)| (m.clone(), *a)).collect();
    Ok(Overview {
        plan: tenant.plan.as_str(),
        seats_used,
        seat_limit: tenant.seat_limit,
        seats_svg: super::charts::meter(
            "seats",
            "Seats used",
            seats_used,
            i64::from(tenant.seat_limit),
        ),
        dau: active.dau,
        wau: active.wau,
        mau: active.mau,
        active_svg: super::charts::bars("active", "Active members per day, last 30 days", &daily),
        daily,
        logins,
        adoption_svg: super::charts::bars(
            "adoption",
            "Active members per area, last 30 days",
            &adoption_points,
        ),
        adoption,
    })
}

#[derive(Template)]
#[template(path = "recovery_codes.html", config = "admin-ui/askama.toml")]
struct RecoveryCodesPage<'a> {
    org: &'a str,
    codes: &'a [String],
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct MfaForm {
    challenge: String,
    mode: String,
    code: String,
    csrf_token: String,
}

/// The organization's name, for page titles (read in a short transaction of its own).
pub(super) async fn org_name(state: &AppState, tenant: &Tenant) -> Result<String, ApiError> {
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let name = auth::org_name(&tx).await?;
    tx.commit().await?;
    Ok(name)
}

/// The signed-in home page; without a valid session, the sign-in page. An expired access cookie is
/// renewed with the refresh cookie.
#[get("")]
pub async fn home(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
) -> PageResult {
    let visit = match super::frame::visit(&state, &tenant, &req, request, "/admin", None).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = visit.auth;
    let may_read_analytics = super::frame::allows(
        &state,
        &auth,
        crate::authz::Obj::Analytics,
        crate::authz::Act::Read,
    )
    .await?;
    let overview = match may_read_analytics {
        true => Some(overview(&state, &tenant, &auth.tx).await?),
        false => None,
    };
    let page = HomePage {
        org: &visit.org,
        csrf: &visit.csrf,
        email: &visit.email,
        role: auth.principal.role.as_deref(),
        overview,
        nav: visit.nav,
    };
    let response = html(actix_web::http::StatusCode::OK, page);
    auth.tx.commit().await?;
    response
}

/// A signed-in page's start: the request's transaction, the session's CSRF token and the member's
/// email — or where the browser goes instead (the sign-in page; `back` after renewing an expired access
/// cookie with the refresh cookie).
pub(super) async fn signed_in_page(
    state: &AppState,
    tenant: &Tenant,
    req: &HttpRequest,
    request: RequestContext,
    back: &str,
) -> Result<Result<(crate::auth::Authenticated, String, String), HttpResponse>, ApiError> {
    // A page shown in answer to a form's post opens the session with the form's CSRF token.
    let posted = req
        .extensions()
        .get::<super::form::FormCsrf>()
        .map(|c| c.0.clone());
    let token = match AccessToken::read(req, posted.as_deref()) {
        Ok(token) => token,
        Err(ApiError::Unauthorized {
            code: "token_expired",
        }) => return renew(state, tenant, req, request, back).await.map(Err),
        Err(_) => return Ok(Err(redirect("/admin/login"))),
    };
    let Some(session) = token.session_id() else {
        return Ok(Err(redirect("/admin/login")));
    };
    let auth = match token.open(state).await {
        Ok(auth) => auth,
        Err(ApiError::Unauthorized { .. }) => return Ok(Err(redirect("/admin/login"))),
        Err(error) => return Err(error),
    };
    let Subject::User { email, .. } = &auth.principal.subject else {
        return Ok(Err(redirect("/admin/login")));
    };
    let email = email.clone();
    let csrf = web_session::csrf_token(&state.crypto, session);
    Ok(Ok((auth, csrf, email)))
}

async fn renew(
    state: &AppState,
    tenant: &Tenant,
    req: &HttpRequest,
    request: RequestContext,
    back: &str,
) -> PageResult {
    let Some(refresh) = req.cookie(web_session::REFRESH_COOKIE) else {
        return Ok(redirect("/admin/login"));
    };
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    match auth::refresh(state, tenant, &ctx, refresh.value()).await {
        Ok(pair) => Ok(signed_in(state, &pair, back)),
        // Another tab renewed a moment ago and the browser now holds its cookies: just come back.
        Err(ApiError::Unauthorized {
            code: "refresh_token_used",
        }) => Ok(redirect(back)),
        Err(ApiError::Unauthorized { .. }) => {
            let mut response = redirect("/admin/login");
            for cookie in web_session::cleared_cookies(state) {
                let _ = response.add_cookie(&cookie);
            }
            Ok(response)
        }
        Err(error) => Err(error),
    }
}

/// Sets the session cookies and sends the browser on.
pub(super) fn signed_in(state: &AppState, pair: &TokenPair, to: &str) -> HttpResponse {
    let mut response = redirect(to);
    for cookie in web_session::session_cookies(state, &pair.access_token, &pair.refresh_token) {
        let _ = response.add_cookie(&cookie);
    }
    response
}

async fn login_page(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    error: Option<&str>,
) -> PageResult {
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let org = auth::org_name(&tx).await?;
    let sso = tenant.has(&state.settings.plans, crate::tenancy::plan::Feature::Sso)
        && crate::modules::sso::connection::find(&tx)
            .await?
            .is_some_and(|c| c.enabled);
    tx.commit().await?;
    let (nonce, csrf) = web_session::login_csrf(&state.crypto);
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    let mut response = html(
        status,
        LoginPage {
            org: &org,
            csrf: &csrf,
            email,
            error,
            sso,
        },
    )?;
    let _ = response.add_cookie(&web_session::login_cookie(state, nonce));
    Ok(response)
}

#[get("/login")]
pub async fn login_form(state: Data<AppState>, tenant: Tenant) -> PageResult {
    login_page(&state, &tenant, "", None).await
}

#[post("/login")]
pub async fn login(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<LoginForm>,
) -> PageResult {
    let form = form.into_inner();
    if !web_session::verify_login_csrf(&state.crypto, &req, &form.csrf_token) {
        return Ok(HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("This form has expired or did not come from this site. Go back, reload and try again."));
    }
    let Ok(email) = Email::parse(&form.email) else {
        return login_page(
            &state,
            &tenant,
            &form.email,
            Some("That is not an email address."),
        )
        .await;
    };
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let password = SecretString::from(form.password);
    match auth::login(&state, &tenant, &ctx, &email, &password).await {
        Ok(outcome) => continue_sign_in(&state, &tenant, &ctx, outcome).await,
        Err(ApiError::Unauthorized { .. }) => {
            login_page(
                &state,
                &tenant,
                email.as_str(),
                Some("The email or password is wrong."),
            )
            .await
        }
        Err(ApiError::Forbidden {
            code: "sso_required",
            ..
        }) => {
            login_page(
                &state,
                &tenant,
                email.as_str(),
                Some("This organization signs in with single sign-on: use the button above."),
            )
            .await
        }
        Err(ApiError::TooManyRequests { .. }) => {
            login_page(
                &state,
                &tenant,
                email.as_str(),
                Some("Too many attempts. Wait a while, then try again."),
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// Where a sign-in (or an accepted invitation) goes on: signed in to the overview, or the second step —
/// a code, or enrolment when the organization requires it.
pub(super) async fn continue_sign_in(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    outcome: LoginOutcome,
) -> PageResult {
    match outcome {
        LoginOutcome::Tokens(pair) => Ok(signed_in(state, &pair, "/admin")),
        LoginOutcome::MfaRequired { challenge } => {
            mfa_page(state, tenant, &challenge, "verify", None, None).await
        }
        LoginOutcome::MfaEnrollmentRequired { challenge } => {
            let enrolment = mfa::enroll_with_challenge(state, tenant, ctx, &challenge).await?;
            let enrolment = Some(&enrolment);
            mfa_page(state, tenant, &challenge, "enroll", enrolment, None).await
        }
    }
}

async fn mfa_page(
    state: &AppState,
    tenant: &Tenant,
    challenge: &str,
    mode: &str,
    enrolment: Option<&mfa::Enrolment>,
    error: Option<&str>,
) -> PageResult {
    let org = org_name(state, tenant).await?;
    let (nonce, csrf) = web_session::login_csrf(&state.crypto);
    let page = MfaPage {
        org: &org,
        csrf: &csrf,
        challenge,
        mode,
        qr_svg: enrolment.map(|e| e.qr_svg.as_str()),
        secret: enrolment.map(|e| e.secret.as_str()).unwrap_or_default(),
        error,
    };
    let mut response = html(actix_web::http::StatusCode::OK, page)?;
    let _ = response.add_cookie(&web_session::login_cookie(state, nonce));
    Ok(response)
}

#[post("/login/mfa")]
pub async fn login_mfa(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<MfaForm>,
) -> PageResult {
    let form = form.into_inner();
    if !web_session::verify_login_csrf(&state.crypto, &req, &form.csrf_token) {
        return Ok(HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("This form has expired or did not come from this site. Go back to the sign-in page."));
    }
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let outcome = if form.mode == "enroll" {
        mfa::confirm_with_challenge(&state, &tenant, &ctx, &form.challenge, &form.code)
            .await
            .map(|(codes, pair)| (Some(codes), pair))
    } else {
        mfa::verify_sign_in(&state, &tenant, &ctx, &form.challenge, &form.code)
            .await
            .map(|pair| (None, pair))
    };
    match outcome {
        Ok((None, pair)) => Ok(signed_in(&state, &pair, "/admin")),
        Ok((Some(codes), pair)) => {
            let org = org_name(&state, &tenant).await?;
            let mut response = html(
                actix_web::http::StatusCode::OK,
                RecoveryCodesPage {
                    org: &org,
                    codes: &codes,
                },
            )?;
            for cookie in
                web_session::session_cookies(&state, &pair.access_token, &pair.refresh_token)
            {
                let _ = response.add_cookie(&cookie);
            }
            Ok(response)
        }
        Err(ApiError::Unauthorized {
            code: "invalid_mfa_challenge",
        }) => {
            login_page(
                &state,
                &tenant,
                "",
                Some("That sign-in has expired. Sign in again."),
            )
            .await
        }
        Err(ApiError::Unauthorized { .. } | ApiError::Validation(_)) => {
            let enrolment = None;
            mfa_page(
                &state,
                &tenant,
                &form.challenge,
                &form.mode,
                enrolment,
                Some("That code is not right. Try the next one."),
            )
            .await
        }
        Err(ApiError::TooManyRequests { .. }) => {
            login_page(
                &state,
                &tenant,
                "",
                Some("Too many codes tried. Wait a while, then sign in again."),
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// Signs out: ends the session and removes the cookies. The access cookie may have expired while the
/// session lives on (its refresh token would still work), so the session is found from the cookie's
/// signature, not its validity; a session that is already over just loses its cookies. The CSRF token is
/// required either way.
#[post("/logout")]
pub async fn logout(
    state: Data<AppState>,
    req: HttpRequest,
    tenant: Tenant,
    request: RequestContext,
    form: Form<super::form::CsrfOnly>,
) -> PageResult {
    let now = state.clock.now();
    let claims = req
        .cookie(web_session::SESSION_COOKIE)
        .and_then(|cookie| {
            tokens::verify_signature(
                &state.jwt_keys,
                cookie.value(),
                &state.settings.auth.issuer,
                now,
            )
            .ok()
        })
        .filter(|claims| claims.tid == tenant.id);
    if let Some(claims) = claims {
        if !web_session::verify_csrf(&state.crypto, claims.sid, &form.csrf_token) {
            return Err(ApiError::forbidden(
                "csrf_failed",
                "a request authenticated by cookie must carry the session's CSRF token",
            ));
        }
        let ctx = AuditCtx::anonymous(request, now);
        auth::logout_named_session(&state, &tenant, &ctx, &claims).await?;
    }
    let mut response = redirect("/admin/login");
    for cookie in web_session::cleared_cookies(&state) {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}
