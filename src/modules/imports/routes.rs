//! `/api/v1/imports`: upload a CSV, read and list imports, change the column mapping, validate (dry
//! run), download the rows validation refused. All need `members:import`.

use actix_web::{
    HttpRequest, HttpResponse, get,
    http::header,
    post, put,
    web::{self, Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    service::{self, ImportRow},
    upload,
    validate::Mode,
};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::{
        ValidJson, ValidQuery,
        pagination::{Page, PageQuery},
    },
    spreadsheet::defuse,
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    pub id: Uuid,
    pub file_name: String,
    /// SHA-256 of the file as uploaded (hex).
    pub file_sha256: String,
    pub file_bytes: i64,
    /// `,`, `;` or a tab, as detected.
    pub delimiter: String,
    pub headers: Vec<String>,
    /// Field -> column header: `email`, `first_name`, `last_name`, `full_name`, `title`, `department`,
    /// `location`, `manager_email`, `employee_id`, `role`, `start_date`.
    #[schema(value_type = Object)]
    pub mapping: Value,
    /// Columns no field reads.
    pub unmapped_columns: Vec<String>,
    /// `uploaded`, `validated`, `queued`, `processing`, `completed`, `failed`, `cancelled`.
    pub state: String,
    pub mode: Option<String>,
    pub total_rows: i32,
    pub processed_rows: i32,
    #[schema(value_type = Object)]
    pub counts: Value,
    /// The last validation's report.
    #[schema(value_type = Option<Object>)]
    pub report: Option<Value>,
    pub error: Option<String>,
    /// While it is processed: `percent`, `rows_per_second` and `eta_seconds` (from the pace so far).
    #[schema(value_type = Object)]
    pub progress: Value,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How far the import is, and when it should be done at the pace so far.
pub(crate) fn progress(row: &ImportRow, now: DateTime<Utc>) -> Value {
    let total = i64::from(row.total_rows.max(0));
    let done = i64::from(row.processed_rows.max(0));
    let percent = if total == 0 { 100 } else { done * 100 / total };
    let elapsed = row
        .started_at
        .map(|s| {
            (row.finished_at.map(|f| f.to_utc()).unwrap_or(now) - s.to_utc()).num_milliseconds()
        })
        .unwrap_or(0);
    let rate = (elapsed > 0 && done > 0).then(|| done as f64 * 1000.0 / elapsed as f64);
    let eta = match (row.state.as_str(), rate) {
        ("queued" | "processing", Some(rate)) if rate > 0.0 => {
            Some(((total - done).max(0) as f64 / rate).ceil() as i64)
        }
        _ => None,
    };
    json!({
        "processed_rows": done,
        "total_rows": total,
        "percent": percent,
        "rows_per_second": rate.map(|r| r.round() as i64),
        "eta_seconds": eta,
    })
}

impl ImportResponse {
    fn new(row: ImportRow, now: DateTime<Utc>) -> Self {
        let progress = progress(&row, now);
        let headers = row.headers();
        let unmapped = row
            .mapping()
            .map(|m| m.unmapped(&headers))
            .unwrap_or_default();
        ImportResponse {
            file_sha256: row.sha256_hex(),
            id: row.id,
            file_name: row.file_name,
            file_bytes: row.file_bytes,
            delimiter: row.delimiter,
            headers,
            mapping: row.mapping,
            unmapped_columns: unmapped,
            state: row.state,
            mode: row.mode,
            total_rows: row.total_rows,
            processed_rows: row.processed_rows,
            counts: row.counts,
            report: row.report,
            error: row.error,
            progress,
            created_by: row.created_by,
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedResponse {
    pub import: ImportResponse,
    /// An earlier import of the very same file, if there is one (its id and state).
    #[schema(value_type = Option<Object>)]
    pub same_file_as: Option<Value>,
}

/// Uploads a CSV (multipart: `file`, optionally `mapping` as JSON). UTF-8 with or without BOM; `,`,
/// `;` or tab, detected from the header. The rows are stored; nothing else changes until a commit.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Uploaded", body = UploadedResponse),
        (status = 422, description = "`file_too_large`, `too_many_rows`, `empty_file`, `binary_file`, `not_utf8`, `duplicate_header`, `empty_header`, `too_many_columns`, `no_rows`, `malformed_csv`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports")]
pub async fn upload_import(
    state: Data<AppState>,
    token: AccessToken,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let settings = &state.settings.imports;
    // A body announced larger than the limit is refused before a byte of it is read.
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > settings.max_upload_bytes + upload::FORM_OVERHEAD) {
        return Err(ApiError::Unprocessable {
            code: "file_too_large",
            detail: format!(
                "the file is larger than the limit of {} MB",
                settings.max_upload_bytes / (1024 * 1024)
            ),
        });
    }
    // Checked before the body is read, on a short transaction of its own.
    let access = token.open(&state).await?;
    state
        .authz
        .require(&access, Obj::Members, Act::Import)
        .await?;
    let (principal, ctx) = (access.principal.clone(), access.ctx.clone());
    access.tx.commit().await?;
    let spooled = upload::spool(&req, payload, settings, upload::Parts::Api).await?;
    let tenant_id = principal.tenant_id;
    let tx = crate::tenancy::TenantTx::begin(&state.pool, tenant_id, principal.user_id()).await?;
    let created = service::create(&tx, &ctx, &principal, spooled).await?;
    let previous = service::previous_of(&tx, &created).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(UploadedResponse {
        import: ImportResponse::new(created, ctx.now),
        same_file_as: previous.map(|(id, state)| json!({ "id": id, "state": state })),
    }))
}

/// The organization's imports, newest first.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of imports", body = Page<ImportResponse>))
)]
#[get("/imports")]
pub async fn list_imports(
    state: Data<AppState>,
    token: AccessToken,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<ImportResponse>>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let page = page.parse::<Uuid>()?;
    let rows = service::list(&auth.tx, &page).await?;
    auth.tx.commit().await?;
    let now = auth.ctx.now;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |r| r.id,
        |r| ImportResponse::new(r, now),
    )))
}

/// One import: its state, progress, counts and last validation report.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    responses((status = 200, description = "The import", body = ImportResponse))
)]
#[get("/imports/{import_id}")]
pub async fn get_import(
    state: Data<AppState>,
    token: AccessToken,
    import_id: Path<Uuid>,
) -> ApiResult<Json<ImportResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let import = service::get(&auth.tx, *import_id).await?;
    let now = auth.ctx.now;
    auth.tx.commit().await?;
    Ok(Json(ImportResponse::new(import, now)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "mapping": { "email": "Work Email", "full_name": "Name", "department": "Team" } }))]
pub struct MappingRequest {
    /// Field -> column header (null: the field is not imported).
    #[schema(value_type = Object)]
    pub mapping: Value,
}

/// Replaces the column mapping (the import then needs validating again).
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    request_body = MappingRequest,
    responses(
        (status = 200, description = "The import", body = ImportResponse),
        (status = 409, description = "`import_not_editable`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/imports/{import_id}/mapping")]
pub async fn set_import_mapping(
    state: Data<AppState>,
    token: AccessToken,
    import_id: Path<Uuid>,
    body: ValidJson<MappingRequest>,
) -> ApiResult<Json<ImportResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let import =
        service::set_mapping(&auth.tx, &auth.ctx, *import_id, &body.into_inner().mapping).await?;
    let now = auth.ctx.now;
    auth.tx.commit().await?;
    Ok(Json(ImportResponse::new(import, now)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "mode": "upsert" }))]
pub struct ValidateRequest {
    /// `create_only`, `upsert` (by employee id, else email; the default) or `sync` (upsert, and
    /// deactivate active members missing from the file).
    pub mode: Option<String>,
}

/// Validates the import without writing any member: the report (`report` on the import) has per-row
/// errors, the counts of rows to create, update, leave unchanged and deactivate, the seat check and a
/// preview.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    request_body = ValidateRequest,
    responses(
        (status = 200, description = "The import with its report", body = ImportResponse),
        (status = 409, description = "`import_not_editable`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports/{import_id}/validate")]
pub async fn validate_import(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    import_id: Path<Uuid>,
    body: ValidJson<ValidateRequest>,
) -> ApiResult<Json<ImportResponse>> {
    let mode = parse_mode(body.into_inner().mode.as_deref())?;
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let import = service::validate(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        &tenant,
        *import_id,
        mode,
    )
    .await?;
    let now = auth.ctx.now;
    auth.tx.commit().await?;
    Ok(Json(ImportResponse::new(import, now)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "mode": "upsert", "send_invitations": false }))]
pub struct CommitRequestBody {
    /// `create_only`, `upsert` (the default) or `sync`.
    pub mode: Option<String>,
    /// Mail each new member an invitation (after the import's transaction commits).
    #[serde(default)]
    pub send_invitations: bool,
    /// For `sync`: the number of members it deactivates, as the report counts them.
    pub confirm_deactivations: Option<i64>,
    /// Import the rows without errors and leave the others (they stay in the error file).
    #[serde(default)]
    pub skip_error_rows: bool,
}

fn parse_mode(mode: Option<&str>) -> Result<Mode, ApiError> {
    match mode {
        None => Ok(Mode::Upsert),
        Some(text) => Mode::parse(text)
            .ok_or_else(|| ApiError::validation("mode", "must be create_only, upsert or sync")),
    }
}

/// Commits the import: validated again now, then written by a background job in chunks (each with its
/// checkpoint). `GET /api/v1/imports/{id}` follows it. A file that changes nothing completes at once.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    request_body = CommitRequestBody,
    responses(
        (status = 202, description = "Queued (or completed at once when nothing changes)", body = ImportResponse),
        (status = 409, description = "`import_has_errors`, `seat_limit_reached`, `import_not_editable`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`confirm_deactivations` missing or wrong for sync", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports/{import_id}/commit")]
pub async fn commit_import(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    import_id: Path<Uuid>,
    body: ValidJson<CommitRequestBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let request = service::CommitRequest {
        mode: parse_mode(body.mode.as_deref())?,
        send_invitations: body.send_invitations,
        confirm_deactivations: body.confirm_deactivations,
        skip_error_rows: body.skip_error_rows,
    };
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let import = service::commit(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        &tenant,
        *import_id,
        request,
        state.settings.imports.chunk_rows,
        &state.tenant_url(
            auth.ctx.request.scheme,
            &tenant.slug,
            "/admin/accept-invitation#token=",
        ),
    )
    .await;
    // A refused commit keeps its fresh report.
    let import = match import {
        Ok(import) => import,
        Err(error) => {
            if matches!(error, ApiError::Conflict { .. } | ApiError::Validation(_)) {
                auth.tx.commit().await?;
            }
            return Err(error);
        }
    };
    let now = auth.ctx.now;
    let user = auth.tx.user_id();
    auth.tx.commit().await?;
    state.usage.feature(
        tenant.id,
        user,
        crate::modules::analytics::capture::FeatureEvent::ImportCommitted,
        import.mode.as_deref().unwrap_or_default(),
    );
    Ok(HttpResponse::Accepted().json(ImportResponse::new(import, now)))
}

/// Cancels the import: at once before it starts, else between two chunks.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    responses(
        (status = 202, description = "Cancelled, or to be cancelled after the current chunk", body = ImportResponse),
        (status = 409, description = "`import_finished`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/imports/{import_id}/cancel")]
pub async fn cancel_import(
    state: Data<AppState>,
    token: AccessToken,
    import_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let import = service::cancel(&auth.tx, &auth.ctx, *import_id).await?;
    let now = auth.ctx.now;
    auth.tx.commit().await?;
    Ok(HttpResponse::Accepted().json(ImportResponse::new(import, now)))
}

/// The rows validation refused, as CSV: the file's columns, then `line` and `error`.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    responses((status = 200, description = "text/csv", content_type = "text/csv"))
)]
#[get("/imports/{import_id}/errors")]
pub async fn import_errors(
    state: Data<AppState>,
    token: AccessToken,
    import_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let import = service::get(&auth.tx, *import_id).await?;
    let headers = import.headers();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header_row: Vec<String> = headers.iter().map(|h| defuse(h)).collect();
    header_row.push("line".into());
    header_row.push("error".into());
    out.write_record(&header_row).map_err(ApiError::internal)?;
    let mut after = 0;
    loop {
        let page = service::error_rows(&auth.tx, *import_id, after, 2_000).await?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for (line, cells, errors) in &page {
            let mut record: Vec<String> = (0..headers.len())
                .map(|i| defuse(cells.get(i).map(String::as_str).unwrap_or_default()))
                .collect();
            record.push(line.to_string());
            let reasons: Vec<String> = errors
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| match e["column"].as_str() {
                    Some(column) => {
                        format!("{column}: {}", e["reason"].as_str().unwrap_or_default())
                    }
                    None => e["reason"].as_str().unwrap_or_default().to_owned(),
                })
                .collect();
            record.push(defuse(&reasons.join("; ")));
            out.write_record(&record).map_err(ApiError::internal)?;
        }
        if page.len() < 2_000 {
            break;
        }
    }
    auth.tx.commit().await?;
    let body = out
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    let name = import
        .file_name
        .trim_end_matches(".csv")
        .replace(['"', '\\'], "");
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}-errors.csv\""),
        ))
        .body(body))
}

/// What a progress stream keeps between two events.
struct Stream {
    state: Data<AppState>,
    tenant: crate::domain::TenantId,
    user: Option<crate::domain::UserId>,
    id: Uuid,
    news: tokio::sync::broadcast::Receiver<(crate::domain::TenantId, Uuid)>,
    next: Option<ImportRow>,
    last: Option<String>,
    done: bool,
    until: std::time::Instant,
}

impl Stream {
    /// Until this import's news arrives (another instance's job, through Redis), or a second passes.
    async fn wait(&mut self) {
        let (tenant, id) = (self.tenant, self.id);
        let news = &mut self.news;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async move {
            loop {
                match news.recv().await {
                    Ok((t, i)) if t == tenant && i == id => return,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        return;
                    }
                }
            }
        })
        .await;
    }

    async fn read(&self) -> Result<ImportRow, ApiError> {
        let tx = crate::tenancy::TenantTx::begin(&self.state.pool, self.tenant, self.user).await?;
        let row = service::get(&tx, self.id).await?;
        tx.commit().await?;
        Ok(row)
    }
}

/// The import's progress as Server-Sent Events: `progress` whenever it moves (woken through Redis
/// pub/sub, else every second), then `done` with the final state. Ends after an hour at most.
#[utoipa::path(
    tag = "imports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    responses((status = 200, description = "text/event-stream of the import as GET /imports/{id} shows it", content_type = "text/event-stream"))
)]
#[get("/imports/{import_id}/events")]
pub async fn import_events(
    state: Data<AppState>,
    token: AccessToken,
    import_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Import)
        .await?;
    let first = service::get(&auth.tx, *import_id).await?;
    auth.tx.commit().await?;
    let start = Stream {
        news: state.import_progress.subscribe(),
        tenant: auth.principal.tenant_id,
        user: auth.principal.user_id(),
        id: *import_id,
        next: Some(first),
        last: None,
        done: false,
        until: std::time::Instant::now() + std::time::Duration::from_secs(3600),
        state,
    };
    let events = futures_util::stream::unfold(start, |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            let row = match s.next.take() {
                Some(row) => row,
                None => {
                    s.wait().await;
                    match s.read().await {
                        Ok(row) => row,
                        Err(_) => {
                            s.done = true;
                            let event = actix_web::web::Bytes::from_static(
                                b"event: error\ndata: {\"detail\":\"the import could not be read\"}\n\n",
                            );
                            return Some((Ok::<_, actix_web::Error>(event), s));
                        }
                    }
                }
            };
            let finished = matches!(row.state.as_str(), "completed" | "failed" | "cancelled");
            let json = serde_json::to_string(&ImportResponse::new(row, s.state.clock.now()))
                .unwrap_or_default();
            if std::time::Instant::now() > s.until {
                s.done = true;
            }
            if finished || s.last.as_deref() != Some(json.as_str()) {
                s.done |= finished;
                let kind = if finished { "done" } else { "progress" };
                let event = actix_web::web::Bytes::from(format!("event: {kind}\ndata: {json}\n\n"));
                s.last = Some(json);
                return Some((Ok(event), s));
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(events))
}
