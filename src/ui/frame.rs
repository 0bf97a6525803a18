//! What every page of the console and the employee portal shares: the response (strict CSP, no
//! caching), the start of a signed-in page ([`visit`]: session, CSRF token, navigation by permission,
//! the page's own plan feature and permission), where a member lands after signing in ([`landing`]),
//! the HTML 403 page, refusals in words, and the HTML error page that replaces the API's JSON problems
//! on both apps' paths.

use actix_web::{
    HttpMessage, HttpRequest, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
};
use askama::Template;

use crate::{
    auth::Authenticated,
    authz::{Act, Obj, Permission},
    error::ApiError,
    http::RequestContext,
    state::AppState,
    tenancy::{Tenant, TenantTx, plan::Feature},
};

pub(super) type PageResult = Result<HttpResponse, ApiError>;

/// The console's Content-Security-Policy: nothing from elsewhere, no script but our own file (none
/// inline), no framing, forms post only to us. Styles may be inline (the pages carry their own sheet).
pub(super) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(super) fn html(status: StatusCode, page: impl Template) -> PageResult {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(page.render().map_err(ApiError::internal)?))
}

pub(super) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Where a signed-in member may go: the console's sections and the portal's areas (each area also needs
/// its plan feature). Both apps' navigation show these only.
#[derive(Debug, Clone, Copy)]
pub(super) struct Nav {
    pub members: bool,
    pub roles: bool,
    pub imports: bool,
    pub sso: bool,
    pub settings: bool,
    pub audit: bool,
    pub career: bool,
    pub interview: bool,
    pub networking: bool,
    pub workspaces: bool,
}

impl Nav {
    pub(super) async fn of(
        state: &AppState,
        tenant: &Tenant,
        tx: &TenantTx,
        role: Option<&str>,
    ) -> Result<Nav, ApiError> {
        let may = async |obj, act| {
            state
                .authz
                .allows(tx, role, Permission::new(obj, act))
                .await
        };
        let plan = |feature| tenant.has(&state.settings.plans, feature);
        Ok(Nav {
            members: may(Obj::Members, Act::Read).await?,
            roles: may(Obj::Roles, Act::Read).await?,
            imports: may(Obj::Members, Act::Import).await?,
            sso: may(Obj::Sso, Act::Manage).await?,
            settings: may(Obj::OrgSettings, Act::Update).await?
                || may(Obj::AuditLog, Act::Configure).await?,
            audit: may(Obj::AuditLog, Act::Read).await?,
            career: may(Obj::Career, Act::Use).await?,
            interview: plan(Feature::Interview) && may(Obj::Interview, Act::Use).await?,
            networking: plan(Feature::Networking) && may(Obj::Networking, Act::Use).await?,
            workspaces: may(Obj::Workspaces, Act::Use).await?,
        })
    }

    /// The member may open some section of the console (its overview alone is not one).
    pub(super) fn console(&self) -> bool {
        self.members || self.roles || self.imports || self.sso || self.settings || self.audit
    }
}

/// Where a member lands after signing in when no page was asked for: the console for those who may
/// use a section of it, the portal's home for everyone else.
pub(super) async fn landing(
    state: &AppState,
    tenant: &Tenant,
    access_token: &str,
) -> Result<String, ApiError> {
    let claims = crate::auth::tokens::verify(
        &state.jwt_keys,
        access_token,
        &state.settings.auth.issuer,
        state.clock.now(),
    )
    .map_err(ApiError::internal)?;
    let tx = TenantTx::begin(&state.pool, tenant.id, None).await?;
    let role = crate::auth::service::role_of(&tx, claims.sub).await?;
    let nav = Nav::of(state, tenant, &tx, role.as_deref()).await?;
    tx.commit().await?;
    Ok(if nav.console() { "/admin" } else { "/" }.to_owned())
}

pub(super) async fn allows(
    state: &AppState,
    auth: &Authenticated,
    obj: Obj,
    act: Act,
) -> Result<bool, ApiError> {
    state
        .authz
        .allows(
            &auth.tx,
            auth.principal.role.as_deref(),
            Permission::new(obj, act),
        )
        .await
}

#[derive(Template)]
#[template(path = "forbidden.html", config = "admin-ui/askama.toml")]
struct ForbiddenPage<'a> {
    needed: &'a str,
}

/// The page for a member without the permission a page or form needs (403, as HTML).
pub(super) fn forbidden(needed: &str) -> PageResult {
    html(StatusCode::FORBIDDEN, ForbiddenPage { needed })
}

/// A form field's value, `None` when left empty.
pub(super) fn some(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// What a page needs besides a session: its area's plan feature (the page is not there without it, as
/// the API's routes are not) and a permission (the 403 page without it).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Need {
    pub feature: Option<Feature>,
    pub permission: Option<(Obj, Act)>,
}

impl From<Option<(Obj, Act)>> for Need {
    fn from(permission: Option<(Obj, Act)>) -> Need {
        Need {
            feature: None,
            permission,
        }
    }
}

impl From<(Obj, Act)> for Need {
    fn from(permission: (Obj, Act)) -> Need {
        Some(permission).into()
    }
}

/// A signed-in page's start: its transaction, the session's CSRF token, who is signed in, the
/// organization's name and the navigation.
pub(super) struct Visit {
    pub auth: Authenticated,
    pub csrf: String,
    pub email: String,
    pub org: String,
    pub nav: Nav,
}

/// The sign-in page, coming back to `back` afterwards.
pub(super) fn to_sign_in(back: &str) -> HttpResponse {
    redirect(&super::form::with_query("/login", &[("return_to", back)]))
}

/// Opens a signed-in page at `back` that needs `needed` — or answers where the browser goes instead:
/// the sign-in page, `back` again after renewing an expired access cookie, the 403 page; or the 404 page
/// when the organization's plan lacks the page's feature.
pub(super) async fn visit(
    state: &AppState,
    tenant: &Tenant,
    req: &HttpRequest,
    request: RequestContext,
    back: &str,
    needed: impl Into<Need>,
) -> Result<Result<Visit, HttpResponse>, ApiError> {
    let needed = needed.into();
    if let Some(feature) = needed.feature {
        tenant.require(&state.settings.plans, feature)?;
    }
    let (auth, csrf, email) =
        match super::pages::signed_in_page(state, tenant, req, request, back).await? {
            Ok(page) => page,
            Err(elsewhere) => return Ok(Err(elsewhere)),
        };
    if let Some((obj, act)) = needed.permission
        && !allows(state, &auth, obj, act).await?
    {
        return forbidden(&Permission::new(obj, act).to_string()).map(Err);
    }
    let nav = Nav::of(state, tenant, &auth.tx, auth.principal.role.as_deref()).await?;
    let org = crate::auth::service::org_name(&auth.tx).await?;
    Ok(Ok(Visit {
        auth,
        csrf,
        email,
        org,
        nav,
    }))
}

/// Why a form was refused, for the page shown again: the status and the reason in words.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    /// The refusal an error stands for; `None` for a failure of ours (5xx), which is not the
    /// visitor's to fix.
    pub(super) fn of(error: &ApiError) -> Option<Refusal> {
        use actix_web::ResponseError;
        let status = error.status_code();
        (status.is_client_error() && status != StatusCode::UNAUTHORIZED)
            .then(|| Refusal::new(status, described(error)))
    }
}

/// An error in words, naming the fields a validation refused.
pub(super) fn described(error: &ApiError) -> String {
    match error {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{} {}", e.field.replace('_', " "), e.message))
            .collect::<Vec<_>>()
            .join("; "),
        ApiError::NotFound { .. } => {
            "There is no such thing here (it may have been removed).".into()
        }
        other => other.to_string(),
    }
}

/// A page's status: 200, or the refusal's.
pub(super) fn status_of(refusal: Option<&Refusal>) -> StatusCode {
    refusal.map_or(StatusCode::OK, |r| r.status)
}

#[derive(Template)]
#[template(path = "error.html", config = "admin-ui/askama.toml")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    request_id: &'a str,
}

/// Renders the answers of the console and the portal that are errors as a page: the API's problems (a malformed query
/// string, a missing event, a failure of ours) reach a browser as HTML with the reason, never JSON.
pub(super) async fn html_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = req
        .extensions()
        .get::<RequestContext>()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || !is_problem {
        return Ok(response);
    }
    let message = match response.response().error() {
        Some(error) => match error.as_error::<ApiError>() {
            Some(ApiError::Internal(_)) | None => {
                "Something went wrong on our side. Try again; if it persists, give us the request id."
                    .to_owned()
            }
            Some(api) => described(api),
        },
        None => "The request could not be served.".to_owned(),
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let page = ErrorPage {
        title,
        message: &message,
        request_id: &request_id,
    };
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let (req, _) = response.into_parts();
    let mut page = html(status, page).unwrap_or_else(|_| HttpResponse::new(status));
    if let Some(retry_after) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    Ok(ServiceResponse::new(req, page))
}

/// The console's script (`admin-ui/static/console.js`, compiled in).
#[actix_web::get("/static/console.js")]
pub(super) async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("../../admin-ui/static/console.js"))
}

/// Any path the console (under `/admin`) or the portal does not have.
pub(super) async fn not_found() -> PageResult {
    Err(ApiError::NotFound {
        code: "page_not_found",
    })
}
