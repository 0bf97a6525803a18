//! The console's single sign-on and provisioning (`sso:manage`): the OpenID Connect connection's form
//! with "Test connection" (the issuer typed in the form, before it is saved), and the SCIM token —
//! created or rotated with the whole token shown once on the answer to that post, or revoked. Through
//! the same services as `/api/v1/sso/*`.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form},
};
use askama::Template;
use serde::Deserialize;

use super::{
    form::{Again, CsrfOnly, posted},
    frame::{Nav, PageResult, Refusal, Visit, html, some, status_of, visit},
};
use crate::{
    authz::{Act, Obj},
    http::{RequestContext, ValidQuery},
    modules::{
        scim::admin as scim,
        sso::{
            connection::{self, ConnectionInput},
            routes::{OidcConnectionResponse, OidcTestResponse, run_test},
        },
    },
    state::AppState,
    tenancy::{Tenant, plan::Feature},
};

const NEEDED: (Obj, Act) = (Obj::Sso, Act::Manage);

/// What the connection form shows: the saved connection, or what was typed when it was refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    issuer_url: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    allowed_email_domains: String,
    #[serde(default)]
    groups_claim: String,
    #[serde(default)]
    jit_provisioning: Option<String>,
    #[serde(default)]
    sso_required: Option<String>,
    #[serde(default)]
    enabled: Option<String>,
}

impl ConnectionForm {
    fn of(c: &OidcConnectionResponse) -> ConnectionForm {
        let on = |b: bool| b.then(|| "on".to_owned());
        ConnectionForm {
            csrf_token: String::new(),
            issuer_url: c.issuer_url.clone(),
            client_id: c.client_id.clone(),
            client_secret: String::new(),
            scopes: c.scopes.join(" "),
            allowed_email_domains: c.allowed_email_domains.join(", "),
            groups_claim: c.groups_claim.clone(),
            jit_provisioning: on(c.jit_provisioning),
            sso_required: on(c.sso_required),
            enabled: on(c.enabled),
        }
    }

    fn input(&self) -> ConnectionInput {
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        ConnectionInput {
            issuer_url: self.issuer_url.trim().to_owned(),
            client_id: self.client_id.trim().to_owned(),
            client_secret: some(&self.client_secret),
            scopes: Some(words(&self.scopes)).filter(|s| !s.is_empty()),
            allowed_email_domains: words(&self.allowed_email_domains),
            jit_provisioning: self.jit_provisioning.is_some(),
            groups_claim: some(&self.groups_claim),
            sso_required: self.sso_required.is_some(),
            enabled: self.enabled.is_some(),
        }
    }
}

struct ScimView {
    base_url: String,
    token: Option<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "sso.html", config = "admin-ui/askama.toml")]
struct SsoPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    plan_sso: bool,
    saved: Option<OidcConnectionResponse>,
    form: ConnectionForm,
    secret_set: bool,
    redirect_uri: String,
    test: Option<OidcTestResponse>,
    scim: Option<ScimView>,
    /// A SCIM token just created: shown on this answer only.
    new_token: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// What a rendering adds to the saved state.
#[derive(Default)]
struct Extra {
    typed: Option<ConnectionForm>,
    test: Option<OidcTestResponse>,
    new_token: Option<String>,
    notice: Option<&'static str>,
}

async fn render(
    state: &AppState,
    tenant: &Tenant,
    request: &RequestContext,
    visit: Visit,
    extra: Extra,
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let plan_sso = tenant.has(&state.settings.plans, Feature::Sso);
    let saved = connection::find(&auth.tx)
        .await?
        .map(|c| OidcConnectionResponse::new(c, state, tenant, request));
    let scim = match tenant.has(&state.settings.plans, Feature::Scim) {
        true => Some(ScimView {
            base_url: state.tenant_url(request.scheme, &tenant.slug, "/scim/v2"),
            token: scim::live(&auth.tx).await?.map(|t| {
                let at = |t: chrono::DateTime<chrono::FixedOffset>| {
                    t.to_utc().format("%Y-%m-%d %H:%M UTC").to_string()
                };
                (
                    t.prefix,
                    at(t.created_at),
                    t.last_used_at.map(at).unwrap_or_else(|| "never".into()),
                )
            }),
        }),
        false => None,
    };
    auth.tx.commit().await?;
    let form = match (extra.typed, &saved) {
        (Some(typed), _) => typed,
        (None, Some(saved)) => ConnectionForm::of(saved),
        (None, None) => ConnectionForm {
            scopes: connection::DEFAULT_SCOPES.join(" "),
            groups_claim: "groups".into(),
            jit_provisioning: Some("on".into()),
            enabled: Some("on".into()),
            ..ConnectionForm::default()
        },
    };
    html(
        status_of(refusal.as_ref()),
        SsoPage {
            org: &org,
            csrf: &csrf,
            nav,
            plan_sso,
            secret_set: saved.as_ref().is_some_and(|s| s.client_secret_set),
            redirect_uri: state.tenant_url(
                request.scheme,
                &tenant.slug,
                crate::auth::oidc::flow::CALLBACK_PATH,
            ),
            saved,
            form,
            test: extra.test,
            scim,
            new_token: extra.new_token,
            notice: extra.notice,
            error: refusal.map(|r| r.message),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoQuery {
    #[serde(default)]
    done: String,
}

#[get("/sso")]
pub async fn sso_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<SsoQuery>,
) -> PageResult {
    let notice = match query.done.as_str() {
        "saved" => Some("The connection was saved."),
        "revoked" => Some("The SCIM token was revoked: the directory's next request is refused."),
        _ => None,
    };
    let extra = Extra {
        notice,
        ..Extra::default()
    };
    match visit(
        &state,
        &tenant,
        &req,
        request.clone(),
        "/admin/sso",
        Some(NEEDED),
    )
    .await?
    {
        Ok(visit) => render(&state, &tenant, &request, visit, extra, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

fn again<'a>(state: &'a AppState, tenant: &'a Tenant, req: &'a HttpRequest) -> Again<'a> {
    Again {
        state,
        tenant,
        req,
        back: "/admin/sso",
        needed: Some(NEEDED).into(),
    }
}

/// Saves the connection.
#[post("/sso")]
pub async fn save(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<ConnectionForm>,
) -> PageResult {
    let form = form.into_inner();
    let input = form.input();
    let issuer = input.issuer_url.clone();
    let posted = match posted(&state, &req, &form.csrf_token, NEEDED).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let again = again(&state, &tenant, &req);
    let page = async |visit, refusal| {
        let extra = Extra {
            typed: Some(form),
            ..Extra::default()
        };
        render(&state, &tenant, &request, visit, extra, Some(refusal)).await
    };
    let auth = &posted.auth;
    let outcome = async {
        tenant.require(&state.settings.plans, Feature::Sso)?;
        connection::put(
            &auth.tx,
            &auth.ctx,
            &state.crypto,
            state.settings.sso.allow_insecure_issuers,
            input,
        )
        .await
    }
    .await;
    let to = |_| {
        state.oidc.forget(&issuer);
        "/admin/sso?done=saved".to_owned()
    };
    again.conclude(posted, outcome, to, page).await
}

/// Tests the issuer typed in the form (nothing is saved): discovery, endpoints, signing keys, PKCE.
#[post("/sso/test")]
pub async fn test(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<ConnectionForm>,
) -> PageResult {
    let form = form.into_inner();
    let posted = match posted(&state, &req, &form.csrf_token, NEEDED).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    // The provider is talked to with no transaction open.
    posted.auth.tx.commit().await?;
    let input = form.input();
    let tested = match connection::check_issuer(
        &input.issuer_url,
        state.settings.sso.allow_insecure_issuers,
    ) {
        Ok(_) => {
            let scopes = input.scopes.clone().unwrap_or_default();
            Ok(run_test(&state, input.issuer_url.clone(), &scopes).await)
        }
        Err(message) => Err(Refusal::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            format!("issuer url {message}"),
        )),
    };
    let page = async |visit| {
        let (test, refusal) = match tested {
            Ok(test) => (Some(test), None),
            Err(refusal) => (None, Some(refusal)),
        };
        let extra = Extra {
            typed: Some(form),
            test,
            ..Extra::default()
        };
        render(&state, &tenant, &request, visit, extra, refusal).await
    };
    again(&state, &tenant, &req).open(page).await
}

/// Creates the SCIM token (revoking the one before it) and shows it on this answer, once.
#[post("/sso/scim/token")]
pub async fn create_scim_token(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<CsrfOnly>,
) -> PageResult {
    let again = again(&state, &tenant, &req);
    let posted = match posted(&state, &req, &form.csrf_token, NEEDED).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = &posted.auth;
    let created = async {
        tenant.require(&state.settings.plans, Feature::Scim)?;
        scim::create(&auth.tx, &auth.ctx, &auth.principal).await
    }
    .await;
    match created {
        Ok((_, whole)) => {
            posted.auth.tx.commit().await?;
            let extra = Extra {
                new_token: Some(whole),
                ..Extra::default()
            };
            again
                .open(async |visit| render(&state, &tenant, &request, visit, extra, None).await)
                .await
        }
        Err(error) => {
            let Some(refusal) = Refusal::of(&error) else {
                return Err(error);
            };
            drop(posted);
            let page = async |visit, refusal| {
                render(
                    &state,
                    &tenant,
                    &request,
                    visit,
                    Extra::default(),
                    Some(refusal),
                )
                .await
            };
            again.show(refusal, page).await
        }
    }
}

/// Revokes the SCIM token.
#[post("/sso/scim/revoke")]
pub async fn revoke_scim_token(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: Form<CsrfOnly>,
) -> PageResult {
    let again = again(&state, &tenant, &req);
    let page = async |visit, refusal| {
        render(
            &state,
            &tenant,
            &request,
            visit,
            Extra::default(),
            Some(refusal),
        )
        .await
    };
    let posted = match posted(&state, &req, &form.csrf_token, NEEDED).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let outcome = scim::revoke_live(&posted.auth.tx, &posted.auth.ctx).await;
    let to = |()| "/admin/sso?done=revoked".to_owned();
    again.conclude(posted, outcome, to, page).await
}
