//! The console's audit log (`audit_log:read`): filters (time, actor, action, target), a page of 50
//! events newest first with a link to the next, an event's detail with its before/after and its seal,
//! exports (`audit_log:export`) and the chain's verification, shown plainly. Everything reads through the
//! same code as `/api/v1/audit-events`.

use actix_web::{
    HttpRequest, get,
    http::StatusCode,
    web::{Data, Path},
};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::frame::{Nav, PageResult, Visit, allows, described, html, some, visit};
use crate::{
    audit::{
        chain,
        query::{self, Cursor, Filters},
        verify::{self, Range, Verification},
    },
    authz::{Act, Obj},
    error::ApiError,
    http::{RequestContext, ValidQuery},
    state::AppState,
    tenancy::Tenant,
};

const PAGE_SIZE: u32 = 50;
const NEEDED: (Obj, Act) = (Obj::AuditLog, Act::Read);

/// The filter form as the browser sends it: empty fields are "any".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target_type: String,
    #[serde(default)]
    target_id: String,
    /// First day (UTC), inclusive.
    #[serde(default)]
    from: String,
    /// Last day (UTC), inclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

struct Row {
    id: Uuid,
    at: String,
    actor: String,
    action: String,
    target: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit.html", config = "admin-ui/askama.toml")]
struct AuditPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    form: &'a AuditForm,
    error: Option<String>,
    rows: Vec<Row>,
    next: Option<String>,
    /// The export links' query (the filters).
    filters_query: String,
    may_export: bool,
}

#[derive(Template)]
#[template(path = "audit_event.html", config = "admin-ui/askama.toml")]
struct EventPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    id: Uuid,
    at: String,
    actor: String,
    action: String,
    target: String,
    context: String,
    metadata: String,
    seal: Option<String>,
}

#[derive(Template)]
#[template(path = "audit_verify.html", config = "admin-ui/askama.toml")]
struct VerifyPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    form: &'a VerifyForm,
    /// `None` when the range did not parse (`error` says why).
    outcome: Option<Verification>,
    error: Option<String>,
}

/// The range to verify, in UTC days (inclusive); empty is the whole log.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn day_start(field: &str, text: &str) -> Result<Option<DateTime<Utc>>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| Some(d.and_time(NaiveTime::MIN).and_utc()))
        .map_err(|_| format!("{field} must be a date (YYYY-MM-DD)"))
}

/// The API's filters from the form; a message for what does not parse.
fn filters_of(form: &AuditForm) -> Result<Filters, String> {
    let from = day_start("From", &form.from)?;
    let to = day_start("To", &form.to)?.map(|d| d + Duration::days(1));
    Ok(Filters {
        from,
        to,
        actor: some(&form.actor),
        action: some(&form.action),
        target_type: some(&form.target_type),
        target_id: some(&form.target_id),
        ..Filters::default()
    })
}

fn query_of(form: &AuditForm) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("actor", &form.actor),
        ("action", &form.action),
        ("target_type", &form.target_type),
        ("target_id", &form.target_id),
    ] {
        if !value.trim().is_empty() {
            out.append_pair(name, value.trim());
        }
    }
    for (name, value) in [("from", &form.from), ("to", &form.to)] {
        if let Ok(Some(at)) = day_start(name, value) {
            let at = if name == "to" {
                at + Duration::days(1)
            } else {
                at
            };
            out.append_pair(name, &at.to_rfc3339());
        }
    }
    out.finish()
}

fn actor_of(kind: &str, display: Option<&str>) -> String {
    match display {
        Some(display) => format!("{display} ({kind})"),
        None => kind.to_owned(),
    }
}

/// The audit log: filters and a page of events.
#[get("/audit")]
pub async fn audit_log(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: ValidQuery<AuditForm>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = match visit(&state, &tenant, &req, request, "/admin/audit", Some(NEEDED)).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let may_export = allows(&state, &auth, Obj::AuditLog, Act::Export).await?;
    let form = form.into_inner();
    let checked = filters_of(&form).and_then(|filters| {
        filters.check().map_err(|e| described(&e))?;
        let cursor = some(&form.cursor)
            .map(|c| Cursor::decode(&c).map_err(|_| "the page link is not valid".to_owned()))
            .transpose()?;
        Ok((filters, cursor))
    });
    let (rows, next, error) = match checked {
        Ok((filters, cursor)) => match query::page(&auth.tx, &filters, PAGE_SIZE, cursor).await {
            Ok((events, next)) => (events, next, None),
            Err(error @ ApiError::Validation(_)) => (Vec::new(), None, Some(described(&error))),
            Err(other) => return Err(other),
        },
        Err(message) => (Vec::new(), None, Some(message)),
    };
    auth.tx.commit().await?;
    let filters_query = query_of(&form);
    let next = next.map(|cursor| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("actor", &form.actor),
            ("action", &form.action),
            ("target_type", &form.target_type),
            ("target_id", &form.target_id),
            ("from", &form.from),
            ("to", &form.to),
        ] {
            q.append_pair(name, value);
        }
        q.append_pair("cursor", &cursor.encode());
        format!("/admin/audit?{}", q.finish())
    });
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let rows = rows
        .into_iter()
        .map(|e| Row {
            id: e.id,
            at: e
                .occurred_at
                .to_utc()
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            actor: actor_of(&e.actor_type, e.actor_display.as_deref()),
            action: e.action,
            target: match (e.target_type, e.target_display.or(e.target_id)) {
                (Some(kind), Some(shown)) => format!("{kind}: {shown}"),
                (Some(kind), None) => kind,
                _ => String::new(),
            },
            ip: e.ip.unwrap_or_default(),
        })
        .collect();
    html(
        status,
        AuditPage {
            org: &org,
            csrf: &csrf,
            nav,
            form: &form,
            error,
            rows,
            next,
            filters_query,
            may_export,
        },
    )
}

/// One event: who, what, from where, its before/after, and its place in the chain.
#[get("/audit/events/{event_id}")]
pub async fn audit_event(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    event_id: Path<Uuid>,
) -> PageResult {
    let back = format!("/admin/audit/events/{event_id}");
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = match visit(&state, &tenant, &req, request, &back, Some(NEEDED)).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let (event, seal) = query::get(&auth.tx, *event_id).await?;
    auth.tx.commit().await?;
    let page = EventPage {
        org: &org,
        csrf: &csrf,
        nav,
        id: event.id,
        at: event
            .occurred_at
            .to_utc()
            .format("%Y-%m-%d %H:%M:%S%.3f UTC")
            .to_string(),
        actor: actor_of(&event.actor_type, event.actor_display.as_deref()),
        action: event.action,
        target: [event.target_type, event.target_id, event.target_display]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        context: [
            event.ip.map(|ip| format!("IP {ip}")),
            event.user_agent,
            event.request_id.map(|id| format!("request {id}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
        metadata: serde_json::to_string_pretty(&event.metadata).map_err(ApiError::internal)?,
        seal: seal.map(|s| {
            format!(
                "#{} · sealed {} · {}",
                s.seq,
                s.sealed_at.format("%Y-%m-%d %H:%M:%S UTC"),
                chain::hex(&s.hash)
            )
        }),
    };
    html(StatusCode::OK, page)
}

/// The chain recomputed from the stored events — all of it, or the events of a range of days (a
/// large log verifies faster by parts): intact, or where and why it breaks.
#[get("/audit/verify")]
pub async fn audit_verify(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    form: ValidQuery<VerifyForm>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = match visit(
        &state,
        &tenant,
        &req,
        request,
        "/admin/audit/verify",
        Some(NEEDED),
    )
    .await?
    {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let range = day_start("From", &form.from).and_then(|from| {
        let to = day_start("To", &form.to)?.map(|d| d + Duration::days(1));
        Ok(Range { from, to })
    });
    let (outcome, error) = match range {
        Ok(range) => {
            let grace = Duration::seconds(state.settings.audit.seal_grace_secs);
            let outcome = verify::verify(&auth.tx, &state.audit_signer, &range, grace).await?;
            (Some(outcome), None)
        }
        Err(message) => (None, Some(message)),
    };
    auth.tx.commit().await?;
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    html(
        status,
        VerifyPage {
            org: &org,
            csrf: &csrf,
            nav,
            form: &form,
            outcome,
            error,
        },
    )
}
