//! The console's settings: the organization's name, security (two-step verification, session
//! lengths, single sign-on required), audit retention (`org_settings:update`), and the audit log's
//! stream to a SIEM (`audit_log:configure`, on plans with streaming). The forms go through the same
//! parsing and services as `PATCH /api/v1/org/settings` and `PUT /api/v1/audit-stream`.

use std::collections::BTreeMap;

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form},
};
use askama::Template;
use serde::Deserialize;

use super::{
    form::{Again, CsrfOnly, posted},
    frame::{Nav, PageResult, Refusal, Visit, allows, html, some, status_of, visit},
};
use crate::{
    audit::stream::{
        routes::StreamResponse,
        settings::{self as stream, StartAt, StreamInput},
    },
    authz::{Act, Obj},
    error::{ApiError, FieldError},
    http::{RequestContext, ValidQuery},
    modules::{
        orgs::{routes::UpdateOrgSettingsRequest, service as orgs},
        sso::connection,
    },
    state::AppState,
    tenancy::{Tenant, plan::Feature},
};

#[derive(Template)]
#[template(path = "settings.html", config = "admin-ui/askama.toml")]
struct SettingsPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    settings: orgs::OrgSettings,
    may_update: bool,
    /// `Some(required)` when the organization has an SSO connection.
    sso_required: Option<bool>,
    may_stream: bool,
    plan_streams: bool,
    stream: Option<StreamResponse>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsQuery {
    #[serde(default)]
    done: String,
}

async fn render(
    state: &AppState,
    tenant: &Tenant,
    visit: Visit,
    notice: Option<&'static str>,
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let settings = orgs::get(&auth.tx).await?;
    let may_update = allows(state, &auth, Obj::OrgSettings, Act::Update).await?;
    let sso_required = connection::find(&auth.tx).await?.map(|c| c.sso_required);
    let may_stream = allows(state, &auth, Obj::AuditLog, Act::Configure).await?;
    let plan_streams = tenant.has(&state.settings.plans, Feature::AuditStream);
    let stream = match may_stream && plan_streams {
        true => match stream::find(&auth.tx).await? {
            Some(found) => Some(StreamResponse::new(
                found,
                stream::head_seq(&auth.tx).await?,
            )),
            None => None,
        },
        false => None,
    };
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        SettingsPage {
            org: &org,
            csrf: &csrf,
            nav,
            settings,
            may_update,
            sso_required,
            may_stream,
            plan_streams,
            stream,
            notice,
            error: refusal.map(|r| r.message),
        },
    )
}

#[get("/settings")]
pub async fn settings_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<SettingsQuery>,
) -> PageResult {
    let notice = match query.done.as_str() {
        "settings" => Some("The settings were saved."),
        "stream" => Some("The log stream was saved."),
        "stream_removed" => Some("The log stream was removed."),
        _ => None,
    };
    let needed = Some((Obj::OrgSettings, Act::Read));
    match visit(&state, &tenant, &req, request, "/admin/settings", needed).await? {
        Ok(visit) => render(&state, &tenant, visit, notice, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

fn again<'a>(state: &'a AppState, tenant: &'a Tenant, req: &'a HttpRequest) -> Again<'a> {
    Again {
        state,
        tenant,
        req,
        back: "/admin/settings",
        needed: Some((Obj::OrgSettings, Act::Read)).into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsForm {
    csrf_token: String,
    display_name: String,
    #[serde(default)]
    mfa_required: Option<String>,
    #[serde(default)]
    sso_required: Option<String>,
    /// Present when the page offered the SSO checkbox.
    #[serde(default)]
    sso_offered: Option<String>,
    #[serde(default)]
    session_idle_minutes: String,
    #[serde(default)]
    session_absolute_hours: String,
    audit_retention_days: String,
}

/// A whole number from a form field; empty is `empty`.
fn number(field: &str, text: &str, empty: i32) -> Result<i32, FieldError> {
    match some(text) {
        None => Ok(empty),
        Some(text) => text
            .parse()
            .map_err(|_| FieldError::new(field, "must be a whole number")),
    }
}

impl SettingsForm {
    /// The API's request from the form: every field is sent (a checkbox left unticked is `false`, an
    /// empty session length is "off" / "the default"), and every bad field is reported at once.
    fn request(&self) -> Result<UpdateOrgSettingsRequest, ApiError> {
        let idle = number("session_idle_minutes", &self.session_idle_minutes, 0);
        let absolute = number("session_absolute_hours", &self.session_absolute_hours, 0);
        let retention = number("audit_retention_days", &self.audit_retention_days, -1);
        match (idle, absolute, retention) {
            (Ok(idle), Ok(absolute), Ok(retention)) => Ok(UpdateOrgSettingsRequest {
                display_name: Some(self.display_name.clone()),
                default_locale: None,
                timezone: None,
                invitation_ttl_hours: None,
                allowed_email_domains: None,
                session_idle_minutes: Some(idle),
                session_absolute_hours: Some(absolute),
                mfa_required: Some(self.mfa_required.is_some()),
                audit_retention_days: Some(retention),
            }),
            (idle, absolute, retention) => Err(ApiError::Validation(
                [idle.err(), absolute.err(), retention.err()]
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
        }
    }
}

/// Saves the organization's settings (and whether SSO is required, when there is a connection).
#[post("/settings")]
pub async fn save(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<SettingsForm>,
) -> PageResult {
    let form = form.into_inner();
    let again = again(&state, &tenant, &req);
    let page = async |visit, refusal| render(&state, &tenant, visit, None, Some(refusal)).await;
    let needed = (Obj::OrgSettings, Act::Update);
    let posted = match posted(&state, &req, &form.csrf_token, needed).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = &posted.auth;
    let outcome = async {
        let change = form.request()?.parse()?;
        orgs::update(&auth.tx, &auth.ctx, change).await?;
        if form.sso_offered.is_some() {
            set_sso_required(&state, &tenant, auth, form.sso_required.is_some()).await?;
        }
        Ok(())
    }
    .await;
    let to = |()| "/admin/settings?done=settings".to_owned();
    again.conclude(posted, outcome, to, page).await
}

/// Requires single sign-on (or not) on the organization's connection, keeping everything else of it.
async fn set_sso_required(
    state: &AppState,
    tenant: &Tenant,
    auth: &crate::auth::Authenticated,
    required: bool,
) -> Result<(), ApiError> {
    let Some(current) = connection::find(&auth.tx).await? else {
        return Ok(());
    };
    if current.sso_required == required {
        return Ok(());
    }
    tenant.require(&state.settings.plans, Feature::Sso)?;
    if !allows(state, auth, Obj::Sso, Act::Manage).await? {
        return Err(ApiError::forbidden(
            "forbidden",
            "changing whether single sign-on is required needs sso:manage",
        ));
    }
    let input = connection::ConnectionInput {
        sso_required: required,
        ..connection::input_of(&current)
    };
    connection::put(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        state.settings.sso.allow_insecure_issuers,
        input,
    )
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamForm {
    csrf_token: String,
    url: String,
    format: String,
    #[serde(default)]
    secret: String,
    /// `Name: value`, one a line; empty keeps the stored headers (when the URL keeps its origin).
    #[serde(default)]
    headers: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    start_at: String,
}

fn headers_of(text: &str) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut headers = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ApiError::validation(
                "headers",
                format!("\"{}\" is not `Name: value`", line.trim()),
            ));
        };
        headers.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(Some(headers))
}

/// Creates or replaces the log stream.
#[post("/settings/stream")]
pub async fn save_stream(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<StreamForm>,
) -> PageResult {
    let form = form.into_inner();
    let again = again(&state, &tenant, &req);
    let page = async |visit, refusal| render(&state, &tenant, visit, None, Some(refusal)).await;
    let posted = match posted(
        &state,
        &req,
        &form.csrf_token,
        (Obj::AuditLog, Act::Configure),
    )
    .await?
    {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = &posted.auth;
    let outcome = async {
        tenant.require(&state.settings.plans, Feature::AuditStream)?;
        let start_at = match form.start_at.as_str() {
            "" => None,
            "now" => Some(StartAt::Now),
            "oldest" => Some(StartAt::Oldest),
            _ => return Err(ApiError::validation("start_at", "must be now or oldest")),
        };
        let input = StreamInput {
            url: form.url.trim().to_owned(),
            secret: some(&form.secret),
            format: some(&form.format),
            headers: headers_of(&form.headers)?,
            enabled: form.enabled.is_some(),
            start_at,
        };
        stream::put(
            &auth.tx,
            &auth.ctx,
            &state.crypto,
            state.audit_stream.allows_insecure(),
            input,
        )
        .await?;
        Ok(())
    }
    .await;
    let to = |()| "/admin/settings?done=stream".to_owned();
    again.conclude(posted, outcome, to, page).await
}

/// Removes the log stream (the events stay in the log).
#[post("/settings/stream/delete")]
pub async fn delete_stream(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<CsrfOnly>,
) -> PageResult {
    let again = again(&state, &tenant, &req);
    let page = async |visit, refusal| render(&state, &tenant, visit, None, Some(refusal)).await;
    let posted = match posted(
        &state,
        &req,
        &form.csrf_token,
        (Obj::AuditLog, Act::Configure),
    )
    .await?
    {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let outcome = stream::delete(&posted.auth.tx, &posted.auth.ctx).await;
    let to = |()| "/admin/settings?done=stream_removed".to_owned();
    again.conclude(posted, outcome, to, page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_sends_every_setting_and_reports_every_bad_number() {
        let form = SettingsForm {
            csrf_token: String::new(),
            display_name: "Acme".into(),
            mfa_required: None,
            sso_required: None,
            sso_offered: None,
            session_idle_minutes: String::new(),
            session_absolute_hours: "12".into(),
            audit_retention_days: "400".into(),
        };
        let request = form.request().unwrap();
        assert_eq!(request.mfa_required, Some(false));
        assert_eq!(request.session_idle_minutes, Some(0));
        assert_eq!(request.session_absolute_hours, Some(12));
        let bad = SettingsForm {
            session_idle_minutes: "ten".into(),
            audit_retention_days: "".into(),
            ..form
        };
        match bad.request() {
            Err(ApiError::Validation(errors)) => {
                assert_eq!(errors.len(), 1, "{errors:?}");
                assert_eq!(errors[0].field, "session_idle_minutes");
            }
            other => panic!("{other:?}"),
        }
        // An empty retention is -1, which the API's parse refuses by name.
        let empty_retention = SettingsForm {
            session_idle_minutes: String::new(),
            ..bad
        };
        assert!(empty_retention.request().unwrap().parse().is_err());
        assert!(
            headers_of("DD-API-KEY: abc\nX-Other: 1")
                .unwrap()
                .unwrap()
                .len()
                == 2
        );
        assert!(headers_of("no colon").is_err());
        assert!(headers_of("  ").unwrap().is_none());
    }
}
