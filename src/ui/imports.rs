//! The console's imports (`members:import`): upload a CSV, map its columns, validate (the report:
//! counts, seats, the rows refused and a preview), commit with a mode, follow the progress live (a
//! bar fed by the API's server-sent events, `/api/v1/imports/{id}/events`, through the console's
//! script), download the error file, cancel, and the history. Each step is the API's service.

use actix_web::{
    HttpMessage, HttpRequest, get,
    http::StatusCode,
    post,
    web::{self, Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    form::{Again, posted, with_query},
    frame::{Nav, PageResult, Refusal, Visit, forbidden, html, redirect, some, status_of, visit},
};
use crate::{
    auth::{AccessToken, web_session},
    authz::{Act, Obj},
    error::ApiError,
    http::{RequestContext, ValidQuery, pagination::PageRequest},
    modules::imports::{
        fields::Field,
        routes::progress,
        service::{self, CommitRequest, ImportRow},
        upload::{self, Parts},
        validate::Mode,
    },
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

const PAGE_SIZE: u64 = 50;
const NEEDED: (Obj, Act) = (Obj::Members, Act::Import);
/// The refused rows the page lists (the error file has them all).
const ERRORS_SHOWN: usize = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    #[serde(default)]
    after: String,
}

struct HistoryRow {
    id: Uuid,
    file: String,
    state: String,
    mode: String,
    rows: i32,
    created: String,
}

#[derive(Template)]
#[template(path = "imports.html", config = "admin-ui/askama.toml")]
struct ImportsPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    rows: Vec<HistoryRow>,
    more: Option<String>,
    max_mb: u64,
    error: Option<String>,
}

fn when(at: chrono::DateTime<chrono::FixedOffset>) -> String {
    at.to_utc().format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn render_history(
    state: &AppState,
    visit: Visit,
    query: &HistoryQuery,
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let after = match some(&query.after).map(|a| a.parse::<Uuid>()).transpose() {
        Ok(after) => after,
        Err(_) => return Err(ApiError::validation("after", "is not a page link")),
    };
    let page = PageRequest {
        limit: PAGE_SIZE,
        after,
    };
    let mut found = service::list(&auth.tx, &page).await?;
    auth.tx.commit().await?;
    let more = (found.len() as u64 > PAGE_SIZE).then(|| {
        found.truncate(PAGE_SIZE as usize);
        let last = found.last().map(|i| i.id.to_string()).unwrap_or_default();
        with_query("/admin/imports", &[("after", &last)])
    });
    let rows = found
        .into_iter()
        .map(|i| HistoryRow {
            id: i.id,
            file: i.file_name,
            state: i.state,
            mode: i.mode.unwrap_or_default(),
            rows: i.total_rows,
            created: when(i.created_at),
        })
        .collect();
    html(
        status_of(refusal.as_ref()),
        ImportsPage {
            org: &org,
            csrf: &csrf,
            nav,
            rows,
            more,
            max_mb: state.settings.imports.max_upload_bytes / (1024 * 1024),
            error: refusal.map(|r| r.message),
        },
    )
}

/// The upload form and the organization's imports, newest first.
#[get("/imports")]
pub async fn history(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<HistoryQuery>,
) -> PageResult {
    match visit(
        &state,
        &tenant,
        &req,
        request,
        "/admin/imports",
        Some(NEEDED),
    )
    .await?
    {
        Ok(visit) => render_history(&state, visit, &query, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

/// Uploads a CSV from the form (multipart, its `csrf_token` before the file). The session and the
/// permission are checked before the body is read, the CSRF token before anything is stored.
#[post("/imports")]
pub async fn upload_file(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    payload: web::Payload,
) -> PageResult {
    let again = Again {
        state: &state,
        tenant: &tenant,
        req: &req,
        back: "/admin/imports",
        needed: Some(NEEDED).into(),
    };
    let page = async |visit, refusal| {
        render_history(&state, visit, &HistoryQuery::default(), Some(refusal)).await
    };
    // The CSRF token comes with the body: the session and permission are read here (nothing
    // written), the token checked before anything is stored.
    let token = match AccessToken::read_csrf_in_body(&req) {
        Ok(token) => token,
        Err(_) => return Ok(redirect("/login")),
    };
    let Some(session) = token.session_id() else {
        return Ok(redirect("/login"));
    };
    let access = token.open(&state).await?;
    if !super::frame::allows(&state, &access, NEEDED.0, NEEDED.1).await? {
        return forbidden("members:import");
    }
    let (principal, ctx) = (access.principal.clone(), access.ctx.clone());
    access.tx.commit().await?;
    // A refused body (too large, not a CSV) is answered as an error page: its CSRF token may not
    // have been read.
    let spooled = upload::spool(&req, payload, &state.settings.imports, Parts::ConsoleForm).await?;
    let csrf_ok = spooled
        .csrf_token
        .as_deref()
        .is_some_and(|t| web_session::verify_csrf(&state.crypto, session, t));
    if !csrf_ok {
        return forbidden("the session's CSRF token");
    }
    if let Some(token) = &spooled.csrf_token {
        req.extensions_mut()
            .insert(super::form::FormCsrf(token.clone()));
    }
    let tx = TenantTx::begin(&state.pool, tenant.id, principal.user_id()).await?;
    let outcome = service::create(&tx, &ctx, &principal, spooled).await;
    match outcome {
        Ok(created) => {
            tx.commit().await?;
            Ok(redirect(&format!("/admin/imports/{}", created.id)))
        }
        Err(error) => {
            drop(tx);
            match Refusal::of(&error) {
                Some(refusal) => again.show(refusal, page).await,
                None => Err(error),
            }
        }
    }
}

/// A column choice of the mapping form.
struct MappingRow {
    field: &'static str,
    chosen: String,
}

struct ErrorLine {
    line: i64,
    column: String,
    reason: String,
}

struct PreviewLine {
    line: i64,
    action: String,
    email: String,
    name: String,
}

/// The last validation's report, as the page shows it.
#[derive(Default)]
struct Report {
    mode: String,
    rows: i64,
    counts: Vec<(String, i64)>,
    errors_total: i64,
    deactivate: i64,
    seats: String,
    seats_ok: bool,
    errors: Vec<ErrorLine>,
    preview: Vec<PreviewLine>,
    can_commit: bool,
    nothing_to_change: bool,
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Report {
    fn of(report: &Value) -> Report {
        let counts = &report["counts"];
        let seats = &report["seats"];
        Report {
            mode: text(&report["mode"]),
            rows: int(&report["rows"]),
            counts: ["create", "update", "unchanged", "error", "deactivate"]
                .into_iter()
                .map(|k| (k.to_owned(), int(&counts[k])))
                .collect(),
            errors_total: int(&counts["error"]),
            deactivate: int(&counts["deactivate"]),
            seats: format!(
                "{} of {} seats used; {} more needed; {} after the import",
                int(&seats["used"]),
                int(&seats["limit"]),
                int(&seats["needed"]),
                int(&seats["after_import"])
            ),
            seats_ok: seats["ok"].as_bool().unwrap_or(false),
            errors: report["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .take(ERRORS_SHOWN)
                        .map(|e| ErrorLine {
                            line: int(&e["line"]),
                            column: text(&e["column"]),
                            reason: text(&e["reason"]),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            preview: report["preview"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|p| PreviewLine {
                            line: int(&p["line"]),
                            action: text(&p["action"]),
                            email: text(&p["member"]["email"]),
                            name: text(&p["member"]["display_name"]),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            can_commit: report["can_commit"].as_bool().unwrap_or(false),
            nothing_to_change: report["nothing_to_change"].as_bool().unwrap_or(false),
        }
    }
}

#[derive(Template)]
#[template(path = "import.html", config = "admin-ui/askama.toml")]
struct ImportPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    import: ImportRow,
    sha256: String,
    headers: Vec<String>,
    mapping: Vec<MappingRow>,
    editable: bool,
    running: bool,
    finished: bool,
    percent: i64,
    report: Option<Report>,
    outcome: Vec<(String, i64)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    done: String,
}

async fn render_import(
    state: &AppState,
    visit: Visit,
    id: Uuid,
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
    let import = service::get(&auth.tx, id).await?;
    auth.tx.commit().await?;
    let headers = import.headers();
    let mapping = Field::ALL
        .into_iter()
        .map(|field| MappingRow {
            field: field.as_str(),
            chosen: text(&import.mapping[field.as_str()]),
        })
        .collect();
    let percent = int(&progress(&import, state.clock.now())["percent"]);
    let outcome = import
        .counts
        .as_object()
        .map(|counts| {
            counts
                .iter()
                .map(|(k, v)| (k.replace('_', " "), int(v)))
                .collect()
        })
        .unwrap_or_default();
    html(
        status_of(refusal.as_ref()),
        ImportPage {
            org: &org,
            csrf: &csrf,
            nav,
            sha256: import.sha256_hex(),
            headers,
            mapping,
            editable: matches!(import.state.as_str(), "uploaded" | "validated"),
            running: matches!(import.state.as_str(), "queued" | "processing"),
            finished: matches!(import.state.as_str(), "completed" | "failed" | "cancelled"),
            percent,
            report: import.report.as_ref().map(Report::of),
            outcome,
            import,
            notice,
            error: refusal.map(|r| r.message),
        },
    )
}

/// One import: its file, mapping, report, commit, live progress and outcome.
#[get("/imports/{import_id}")]
pub async fn import_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    import_id: Path<Uuid>,
    query: ValidQuery<ImportQuery>,
) -> PageResult {
    let back = format!("/admin/imports/{import_id}");
    let notice = match query.done.as_str() {
        "mapping" => Some("The mapping was saved: validate again."),
        "validated" => Some("Validated: read the report, then commit."),
        "committed" => Some("Committed: the import runs now."),
        "cancelled" => Some("Cancelled."),
        _ => None,
    };
    match visit(&state, &tenant, &req, request, &back, Some(NEEDED)).await? {
        Ok(visit) => render_import(&state, visit, *import_id, notice, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    csrf_token: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    send_invitations: Option<String>,
    #[serde(default)]
    skip_error_rows: Option<String>,
    #[serde(default)]
    confirm_deactivations: String,
    /// The mapping form: `map_<field>` = a column header, or empty for "not imported".
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, String>,
}

fn mode_of(text: &str) -> Result<Mode, ApiError> {
    match some(text) {
        None => Ok(Mode::Upsert),
        Some(text) => Mode::parse(&text)
            .ok_or_else(|| ApiError::validation("mode", "must be create_only, upsert or sync")),
    }
}

/// The mapping the form chose, as the API takes it (field -> header or null).
fn mapping_of(form: &StepForm) -> Result<Value, ApiError> {
    let mut mapping = Map::new();
    for (name, value) in &form.rest {
        let Some(field) = name.strip_prefix("map_").and_then(Field::parse) else {
            return Err(ApiError::validation(
                name.clone(),
                "is not a field of the form",
            ));
        };
        let column = some(value).map_or(Value::Null, Value::String);
        mapping.insert(field.as_str().to_owned(), column);
    }
    Ok(Value::Object(mapping))
}

/// A step of an import: `mapping`, `validate`, `commit` or `cancel`.
#[post("/imports/{import_id}/{step:mapping|validate|commit|cancel}")]
pub async fn step(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, String)>,
    form: Form<StepForm>,
) -> PageResult {
    let (id, step) = path.into_inner();
    let form = form.into_inner();
    let back = format!("/admin/imports/{id}");
    let again = Again {
        state: &state,
        tenant: &tenant,
        req: &req,
        back: &back,
        needed: Some(NEEDED).into(),
    };
    let page = async |visit, refusal| render_import(&state, visit, id, None, Some(refusal)).await;
    let posted = match posted(&state, &req, &form.csrf_token, NEEDED).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = &posted.auth;
    let user = auth.principal.user_id();
    if step != "mapping" && !form.rest.is_empty() {
        let unknown = form.rest.keys().cloned().collect::<Vec<_>>().join(", ");
        drop(posted);
        let refusal = Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("unknown fields: {unknown}"),
        );
        return again.show(refusal, page).await;
    }
    let outcome = match step.as_str() {
        "mapping" => match mapping_of(&form) {
            Ok(mapping) => service::set_mapping(&auth.tx, &auth.ctx, id, &mapping).await,
            Err(error) => Err(error),
        },
        "validate" => match mode_of(&form.mode) {
            Ok(mode) => {
                service::validate(
                    &auth.tx,
                    &auth.ctx,
                    &state.authz,
                    &auth.principal,
                    &tenant,
                    id,
                    mode,
                )
                .await
            }
            Err(error) => Err(error),
        },
        "commit" => {
            let confirm = some(&form.confirm_deactivations)
                .map(|n| {
                    n.parse::<i64>().map_err(|_| {
                        ApiError::validation("confirm_deactivations", "must be a whole number")
                    })
                })
                .transpose();
            match (mode_of(&form.mode), confirm) {
                (Ok(mode), Ok(confirm_deactivations)) => {
                    let committed = service::commit(
                        &auth.tx,
                        &auth.ctx,
                        &state.authz,
                        &auth.principal,
                        &tenant,
                        id,
                        CommitRequest {
                            mode,
                            send_invitations: form.send_invitations.is_some(),
                            confirm_deactivations,
                            skip_error_rows: form.skip_error_rows.is_some(),
                        },
                        state.settings.imports.chunk_rows,
                        &state.tenant_url(
                            auth.ctx.request.scheme,
                            &tenant.slug,
                            "/admin/accept-invitation#token=",
                        ),
                    )
                    .await;
                    // A refused commit keeps its fresh report, as through the API.
                    if let Err(error @ (ApiError::Conflict { .. } | ApiError::Validation(_))) =
                        committed
                    {
                        let refusal = Refusal::of(&error);
                        posted.auth.tx.commit().await?;
                        return match refusal {
                            Some(refusal) => again.show(refusal, page).await,
                            None => Err(error),
                        };
                    }
                    committed
                }
                (Err(error), _) | (_, Err(error)) => Err(error),
            }
        }
        _ => service::cancel(&auth.tx, &auth.ctx, id).await,
    };
    let to = |import: ImportRow| {
        if step == "commit" {
            state.usage.feature(
                tenant.id,
                user,
                crate::modules::analytics::capture::FeatureEvent::ImportCommitted,
                import.mode.as_deref().unwrap_or_default(),
            );
        }
        let done = match step.as_str() {
            "mapping" => "mapping",
            "validate" => "validated",
            "commit" => "committed",
            _ => "cancelled",
        };
        format!("{back}?done={done}")
    };
    again.conclude(posted, outcome, to, page).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_mapping_form_becomes_the_apis_mapping() {
        let form = StepForm {
            csrf_token: String::new(),
            mode: String::new(),
            send_invitations: None,
            skip_error_rows: None,
            confirm_deactivations: String::new(),
            rest: [
                ("map_email".to_owned(), "Work Email".to_owned()),
                ("map_title".to_owned(), " ".to_owned()),
            ]
            .into(),
        };
        assert_eq!(
            mapping_of(&form).unwrap(),
            json!({ "email": "Work Email", "title": null })
        );
        let bad = StepForm {
            rest: [("map_salary".to_owned(), "Pay".to_owned())].into(),
            ..form
        };
        assert!(mapping_of(&bad).is_err());
    }
}
