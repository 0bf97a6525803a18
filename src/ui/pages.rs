//! Signing in and out, shared by the console and the portal (`/login`, `/login/mfa`, `/logout`), and
//! the console's overview. Forms are posted as `application/x-www-form-urlencoded` and carry a CSRF
//! token; failures re-render the form with a message (never a JSON problem).

use actix_web::{
    HttpMessage, HttpRequest, HttpResponse, get, post,
    web::{Data, Form},
};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::frame::{Need, PageResult, html, landing, redirect, to_sign_in};
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
    /// Where single sign-on starts (with the page to come back to), when the organization uses it.
    sso: Option<String>,
    /// The page to come back to after signing in (empty: where the member's role leads).
    return_to: &'a str,
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
    return_to: &'a str,
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
    /// Where the member goes on once the codes are kept.
    next: &'a str,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
pub struct MfaForm {
    challenge: String,
    mode: String,
    code: String,
    csrf_token: String,
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
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
    let visit = match super::frame::visit(&state, &tenant, &req, request, "/admin", Need::default())
        .await?
    {
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
        Err(_) => return Ok(Err(to_sign_in(back))),
    };
    let Some(session) = token.session_id() else {
        return Ok(Err(to_sign_in(back)));
    };
    let auth = match token.open(state).await {
        Ok(auth) => auth,
        Err(ApiError::Unauthorized { .. }) => return Ok(Err(to_sign_in(back))),
        Err(error) => return Err(error),
    };
    let Subject::User { email, .. } = &auth.principal.subject else {
        return Ok(Err(to_sign_in(back)));
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
        return Ok(to_sign_in(back));
    };
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    match auth::refresh(state, tenant, &ctx, refresh.value()).await {
        Ok(pair) => Ok(signed_in(state, &pair, back)),
        // Another tab renewed a moment ago and the browser now holds its cookies: just come back.
        Err(ApiError::Unauthorized {
            code: "refresh_token_used",
        }) => Ok(redirect(back)),
        Err(ApiError::Unauthorized { .. }) => {
            let mut response = to_sign_in(back);
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

/// Where a sign-in was asked to lead: a path on this host, or empty (where the member's role leads).
fn return_path(requested: Option<&str>) -> String {
    crate::auth::oidc::flow::safe_return_to(requested.filter(|p| !p.is_empty())).unwrap_or_default()
}

async fn login_page(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    error: Option<&str>,
    return_to: &str,
) -> PageResult {
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let org = auth::org_name(&tx).await?;
    let sso = tenant.has(&state.settings.plans, crate::tenancy::plan::Feature::Sso)
        && crate::modules::sso::connection::find(&tx)
            .await?
            .is_some_and(|c| c.enabled);
    tx.commit().await?;
    let sso = sso.then(|| match return_to {
        "" => "/auth/sso/start".to_owned(),
        to => super::form::with_query("/auth/sso/start", &[("return_to", to)]),
    });
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
            return_to,
        },
    )?;
    let _ = response.add_cookie(&web_session::login_cookie(state, nonce));
    Ok(response)
}

#[get("/login")]
pub async fn login_form(
    state: Data<AppState>,
    tenant: Tenant,
    query: actix_web::web::Query<LoginQuery>,
) -> PageResult {
    let return_to = return_path(query.return_to.as_deref());
    login_page(&state, &tenant, "", None, &return_to).await
}

/// The console's former sign-in address: the shared page, coming back to what was asked or else to
/// the console.
#[get("/login")]
pub async fn console_login(query: actix_web::web::Query<LoginQuery>) -> HttpResponse {
    match return_path(query.return_to.as_deref()).as_str() {
        "" => to_sign_in("/admin"),
        asked => to_sign_in(asked),
    }
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
    let return_to = return_path(Some(&form.return_to));
    let again = async |email: &str, message: &str| {
        login_page(&state, &tenant, email, Some(message), &return_to).await
    };
    let Ok(email) = Email::parse(&form.email) else {
        return again(&form.email, "That is not an email address.").await;
    };
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let password = SecretString::from(form.password);
    match auth::login(&state, &tenant, &ctx, &email, &password).await {
        Ok(outcome) => continue_sign_in(&state, &tenant, &ctx, outcome, &return_to).await,
        Err(ApiError::Unauthorized { .. }) => {
            again(email.as_str(), "The email or password is wrong.").await
        }
        Err(ApiError::Forbidden {
            code: "sso_required",
            ..
        }) => {
            again(
                email.as_str(),
                "This organization signs in with single sign-on: use the button above.",
            )
            .await
        }
        Err(ApiError::TooManyRequests { .. }) => {
            again(
                email.as_str(),
                "Too many attempts. Wait a while, then try again.",
            )
            .await
        }
        Err(error) => Err(error),
    }
}

/// Sets the session cookies and sends the browser to `return_to`, or where the member's role leads.
pub(super) async fn signed_in_to(
    state: &AppState,
    tenant: &Tenant,
    pair: &TokenPair,
    return_to: &str,
) -> PageResult {
    let to = destination(state, tenant, pair, return_to).await;
    Ok(signed_in(state, pair, &to))
}

/// Where a completed sign-in leads: `return_to`, or where the member's role leads (the portal's home
/// when that cannot be told: the tokens are issued, and a failure to choose the app must not lose the
/// sign-in).
async fn destination(
    state: &AppState,
    tenant: &Tenant,
    pair: &TokenPair,
    return_to: &str,
) -> String {
    match return_to {
        "" => landing(state, tenant, &pair.access_token)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "landing after sign-in: the portal's home instead");
                "/".to_owned()
            }),
        to => to.to_owned(),
    }
}

/// The console's former sign-in, second-step and sign-out posts: on to the shared ones (307 keeps the
/// method and the form), for pages loaded before the move.
pub(super) async fn moved(req: HttpRequest) -> HttpResponse {
    let to = req.path().strip_prefix("/admin").unwrap_or("/login");
    HttpResponse::TemporaryRedirect()
        .insert_header((actix_web::http::header::LOCATION, to))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Where a sign-in (or an accepted invitation) goes on: signed in to `return_to` (or where the
/// member's role leads), or the second step — a code, or enrolment when the organization requires it.
pub(super) async fn continue_sign_in(
    state: &AppState,
    tenant: &Tenant,
    ctx: &AuditCtx,
    outcome: LoginOutcome,
    return_to: &str,
) -> PageResult {
    match outcome {
        LoginOutcome::Tokens(pair) => signed_in_to(state, tenant, &pair, return_to).await,
        LoginOutcome::MfaRequired { challenge } => {
            let step = MfaStep::new(&challenge, "verify", return_to);
            mfa_page(state, tenant, step, None, None).await
        }
        LoginOutcome::MfaEnrollmentRequired { challenge } => {
            let enrolment = mfa::enroll_with_challenge(state, tenant, ctx, &challenge).await?;
            let step = MfaStep::new(&challenge, "enroll", return_to);
            mfa_page(state, tenant, step, Some(&enrolment), None).await
        }
    }
}

/// The second step of a sign-in: its challenge, `verify` or `enroll`, and where it leads.
struct MfaStep<'a> {
    challenge: &'a str,
    mode: &'a str,
    return_to: &'a str,
}

impl<'a> MfaStep<'a> {
    fn new(challenge: &'a str, mode: &'a str, return_to: &'a str) -> MfaStep<'a> {
        MfaStep {
            challenge,
            mode,
            return_to,
        }
    }
}

async fn mfa_page(
    state: &AppState,
    tenant: &Tenant,
    step: MfaStep<'_>,
    enrolment: Option<&mfa::Enrolment>,
    error: Option<&str>,
) -> PageResult {
    let org = org_name(state, tenant).await?;
    let (nonce, csrf) = web_session::login_csrf(&state.crypto);
    let page = MfaPage {
        org: &org,
        csrf: &csrf,
        challenge: step.challenge,
        mode: step.mode,
        qr_svg: enrolment.map(|e| e.qr_svg.as_str()),
        secret: enrolment.map(|e| e.secret.as_str()).unwrap_or_default(),
        error,
        return_to: step.return_to,
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
    let return_to = return_path(Some(&form.return_to));
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
        Ok((None, pair)) => signed_in_to(&state, &tenant, &pair, &return_to).await,
        Ok((Some(codes), pair)) => {
            let org = org_name(&state, &tenant).await?;
            let next = destination(&state, &tenant, &pair, &return_to).await;
            let mut response = html(
                actix_web::http::StatusCode::OK,
                RecoveryCodesPage {
                    org: &org,
                    codes: &codes,
                    next: &next,
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
            let message = "That sign-in has expired. Sign in again.";
            login_page(&state, &tenant, "", Some(message), &return_to).await
        }
        Err(ApiError::Unauthorized { .. } | ApiError::Validation(_)) => {
            let step = MfaStep::new(&form.challenge, &form.mode, &return_to);
            let message = "That code is not right. Try the next one.";
            mfa_page(&state, &tenant, step, None, Some(message)).await
        }
        Err(ApiError::TooManyRequests { .. }) => {
            let message = "Too many codes tried. Wait a while, then sign in again.";
            login_page(&state, &tenant, "", Some(message), &return_to).await
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
    let mut response = redirect("/login");
    for cookie in web_session::cleared_cookies(&state) {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}
