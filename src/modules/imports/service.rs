//! Imports on the request's transaction: create one from an uploaded file, read it, change its mapping,
//! validate it (dry run), and read its error rows. Every change is audited in the same transaction.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use std::sync::Arc;

use super::{
    fields::Mapping,
    rows::{self, Shape, Stored},
    upload::{self, Parsed, Spooled},
    validate::{self, Mode},
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::Principal,
    authz::Authz,
    error::ApiError,
    http::pagination::PageRequest,
    jobs::{self, JobKind},
    tenancy::{Tenant, TenantTx, tx::TenantLock},
};

#[derive(Debug, Clone, FromQueryResult)]
pub struct ImportRow {
    pub id: Uuid,
    pub created_by: Option<Uuid>,
    pub file_name: String,
    pub file_sha256: Vec<u8>,
    pub file_bytes: i64,
    pub delimiter: String,
    pub headers: Value,
    pub mapping: Value,
    pub normalized_mapping: Option<Value>,
    pub state: String,
    pub mode: Option<String>,
    pub total_rows: i32,
    pub processed_rows: i32,
    pub counts: Value,
    pub report: Option<Value>,
    pub error: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub started_at: Option<DateTime<FixedOffset>>,
    pub finished_at: Option<DateTime<FixedOffset>>,
}

impl ImportRow {
    pub fn headers(&self) -> Vec<String> {
        self.headers
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn mapping(&self) -> Result<Mapping, ApiError> {
        Mapping::from_json(&self.mapping, &self.headers())
    }

    /// Its rows, as validation works on them.
    pub fn stored(&self) -> Result<Stored, ApiError> {
        Ok(Stored {
            import_id: self.id,
            shape: Shape {
                mapping: Arc::new(self.mapping()?),
                headers: Arc::new(self.headers()),
            },
            normalized_with: self.normalized_mapping.clone(),
        })
    }

    pub fn sha256_hex(&self) -> String {
        self.file_sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

const COLUMNS: &str = "id, created_by, file_name, file_sha256, file_bytes, delimiter, headers, mapping, \
     normalized_mapping, state, mode, total_rows, processed_rows, counts, report, error, created_at, updated_at, started_at, finished_at";

/// Creates an import from a spooled upload: its rows are stored as they are read. Nothing is kept if
/// the file turns out to be unusable.
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    principal: &Principal,
    spooled: Spooled,
) -> Result<ImportRow, ApiError> {
    let Spooled {
        file,
        name,
        bytes,
        sha256,
        mapping: requested,
        csrf_token: _,
        max_rows,
    } = spooled;
    let t = tx.tenant_id().as_uuid();
    let id = Uuid::now_v7();
    let mut parsed = upload::parse(file, max_rows);
    let (headers, delimiter) = match parsed.recv().await {
        Some(Ok(Parsed::Header { headers, delimiter })) => (headers, delimiter),
        Some(Err(error)) => return Err(error),
        Some(Ok(Parsed::Rows(_))) | None => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "the parser gave no header"
            )));
        }
    };
    let mapping = match &requested {
        Some(requested) => Mapping::from_json(requested, &headers)?,
        None => Mapping::detect(&headers),
    };
    let stored_mapping = mapping.to_json(&headers);
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO imports (tenant_id, id, created_by, file_name, file_sha256, file_bytes, delimiter, \
           headers, mapping, normalized_mapping, state, total_rows, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 'uploaded', 0, $10, $10)",
        [
            t.into(),
            id.into(),
            principal.user_id().map(|u| u.as_uuid()).into(),
            name.clone().into(),
            sha256.to_vec().into(),
            (bytes as i64).into(),
            (delimiter as char).to_string().into(),
            json!(headers).into(),
            stored_mapping.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let shape = Shape {
        headers: Arc::new(headers),
        mapping: Arc::new(mapping),
    };
    let total = rows::insert(tx, id, parsed, shape).await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE imports SET total_rows = $3 WHERE tenant_id = $1 AND id = $2",
        [t.into(), id.into(), (total as i32).into()],
    ))
    .await?;
    let sha = sha256
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    audit::record(
        tx,
        ctx,
        AuditEvent::new("import.uploaded")
            .target("import", id, Some(&name))
            .metadata(json!({ "file_name": name, "sha256": sha, "bytes": bytes, "rows": total })),
    )
    .await?;
    get(tx, id).await
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<ImportRow, ApiError> {
    find(tx, id, false).await?.ok_or_else(ApiError::not_found)
}

async fn find(tx: &TenantTx, id: Uuid, lock: bool) -> Result<Option<ImportRow>, ApiError> {
    Ok(ImportRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM imports WHERE tenant_id = $1 AND id = $2{}",
            if lock { " FOR UPDATE" } else { "" }
        ),
        [tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?)
}

/// Newest first (`limit + 1` rows).
pub async fn list(tx: &TenantTx, page: &PageRequest<Uuid>) -> Result<Vec<ImportRow>, ApiError> {
    let after = page.after.unwrap_or_else(Uuid::max);
    Ok(ImportRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        // The LIMIT is written, not bound (see `SqlBuilder::limit`).
        format!(
            "SELECT {COLUMNS} FROM imports WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT {}",
            page.limit + 1
        ),
        [tx.tenant_id().as_uuid().into(), after.into()],
    ))
    .all(tx)
    .await?)
}

/// An earlier import of the same file (same SHA-256), if any.
pub async fn previous_of(
    tx: &TenantTx,
    import: &ImportRow,
) -> Result<Option<(Uuid, String)>, ApiError> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id, state FROM imports WHERE tenant_id = $1 AND file_sha256 = $2 AND id < $3 \
             ORDER BY id DESC LIMIT 1",
            [
                tx.tenant_id().as_uuid().into(),
                import.file_sha256.clone().into(),
                import.id.into(),
            ],
        ))
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("", "id")?, r.try_get("", "state")?)),
        None => None,
    })
}

fn ensure_editable(import: &ImportRow) -> Result<(), ApiError> {
    if !matches!(import.state.as_str(), "uploaded" | "validated") {
        return Err(ApiError::conflict(
            "import_not_editable",
            format!(
                "the import is {}; only an uploaded or validated import can change",
                import.state
            ),
        ));
    }
    Ok(())
}

/// Replaces the column mapping; the import must be validated again.
pub async fn set_mapping(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    requested: &Value,
) -> Result<ImportRow, ApiError> {
    let import = find(tx, id, true).await?.ok_or_else(ApiError::not_found)?;
    ensure_editable(&import)?;
    let headers = import.headers();
    let mapping = Mapping::from_json(requested, &headers)?;
    let stored = mapping.to_json(&headers);
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE imports SET mapping = $3, state = 'uploaded', report = NULL, mode = NULL, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2",
        [tx.tenant_id().as_uuid().into(), id.into(), stored.clone().into(), ctx.now.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("import.mapping_changed")
            .target("import", id, Some(&import.file_name))
            .metadata(json!({ "before": import.mapping, "after": stored })),
    )
    .await?;
    get(tx, id).await
}

/// The dry run: the report, stored on the import (state `validated`). Writes no member.
pub async fn validate(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    tenant: &Tenant,
    id: Uuid,
    mode: Mode,
) -> Result<ImportRow, ApiError> {
    let import = find(tx, id, true).await?.ok_or_else(ApiError::not_found)?;
    ensure_editable(&import)?;
    let report = validate::run(tx, authz, principal, tenant, &import.stored()?, mode).await?;
    store_report(tx, ctx, id, mode, &report).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("import.validated")
            .target("import", id, Some(&import.file_name))
            .metadata(json!({ "mode": mode.as_str(), "counts": report["counts"], "seats": report["seats"] })),
    )
    .await?;
    get(tx, id).await
}

/// The import is `validated` in `mode`, with `report`.
async fn store_report(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    mode: Mode,
    report: &Value,
) -> Result<(), ApiError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE imports SET report = $3, mode = $4, state = 'validated', updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2",
        [
            tx.tenant_id().as_uuid().into(),
            id.into(),
            report.clone().into(),
            mode.as_str().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// One page of the rows validation refused, in line order after `after`: (line, cells, errors).
pub async fn error_rows(
    tx: &TenantTx,
    id: Uuid,
    after: i32,
    limit: i64,
) -> Result<Vec<(i32, Vec<String>, Value)>, ApiError> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT line, cells, errors FROM import_rows \
             WHERE tenant_id = $1 AND import_id = $2 AND action = 'error' AND line > $3 \
             ORDER BY line LIMIT $4",
            [
                tx.tenant_id().as_uuid().into(),
                id.into(),
                after.into(),
                limit.into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "line")?,
                rows::cells_of(&r.try_get("", "cells")?),
                r.try_get("", "errors")?,
            ))
        })
        .collect()
}

/// What the caller asks of a commit.
pub struct CommitRequest {
    pub mode: Mode,
    pub send_invitations: bool,
    /// `sync`: the number of members the caller agrees to deactivate (the report's count).
    pub confirm_deactivations: Option<i64>,
    /// Import the good rows and leave the refused ones (listed in the error file).
    pub skip_error_rows: bool,
}

/// Commits the import: validated again in this transaction (so it acts on what is true now), then
/// queued for the job that writes it chunk by chunk. A file that would change nothing completes at once
/// and says so.
#[allow(clippy::too_many_arguments)]
pub async fn commit(
    tx: &TenantTx,
    ctx: &AuditCtx,
    authz: &Authz,
    principal: &Principal,
    tenant: &Tenant,
    id: Uuid,
    request: CommitRequest,
    chunk_rows: usize,
    invitation_url: &str,
) -> Result<ImportRow, ApiError> {
    let import = find(tx, id, true).await?.ok_or_else(ApiError::not_found)?;
    ensure_editable(&import)?;
    let mode = request.mode;
    // The seat check below and the reservation it leads to, with no other seat taken in between.
    tx.lock(TenantLock::Seats).await?;
    let report = validate::run(tx, authz, principal, tenant, &import.stored()?, mode).await?;
    let counts = &report["counts"];
    let n = |key: &str| counts[key].as_i64().unwrap_or(0);
    let t = tx.tenant_id().as_uuid();
    // The report is kept whatever happens next.
    store_report(tx, ctx, id, mode, &report).await?;
    if n("error") > 0 && !request.skip_error_rows {
        return Err(ApiError::conflict(
            "import_has_errors",
            format!(
                "{} rows have errors: correct them (GET /api/v1/imports/{id}/errors lists them) and upload \
                 again, or commit with skip_error_rows",
                n("error")
            ),
        ));
    }
    if report["seats"]["ok"] != json!(true) {
        return Err(ApiError::conflict(
            "seat_limit_reached",
            format!(
                "the import needs {} seats and the organization has {}",
                report["seats"]["after_import"], tenant.seat_limit
            ),
        ));
    }
    if mode == Mode::Sync && request.confirm_deactivations != Some(n("deactivate")) {
        return Err(ApiError::validation(
            "confirm_deactivations",
            format!(
                "must be {}: the number of members this sync deactivates (see the report)",
                n("deactivate")
            ),
        ));
    }
    let changes = n("create") + n("update") + n("deactivate");
    let audit_meta = json!({
        "file_name": import.file_name,
        "sha256": import.sha256_hex(),
        "mode": mode.as_str(),
        "planned": counts,
        "send_invitations": request.send_invitations,
    });
    if changes == 0 {
        let done = json!({ "created": 0, "updated": 0, "unchanged": n("unchanged"),
                           "skipped": n("error"), "deactivated": 0, "nothing_to_change": true });
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE imports SET state = 'completed', counts = $3, processed_rows = total_rows, \
               started_at = $4, finished_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
            [t.into(), id.into(), done.clone().into(), ctx.now.into()],
        ))
        .await?;
        let mut meta = audit_meta;
        meta["counts"] = done;
        audit::record(
            tx,
            ctx,
            AuditEvent::new("import.completed")
                .target("import", id, Some(&import.file_name))
                .metadata(meta),
        )
        .await?;
        return get(tx, id).await;
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE imports SET state = 'queued', send_invitations = $3, counts = '{}', processed_rows = 0, \
           checkpoint_line = 0, seats_reserved = $5, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        [
            t.into(),
            id.into(),
            request.send_invitations.into(),
            ctx.now.into(),
            report["seats"]["needed"].as_i64().unwrap_or(0).into(),
        ],
    ))
    .await?;
    jobs::enqueue(
        tx,
        JobKind::ImportRun,
        json!({
            "import_id": id,
            "chunk_rows": chunk_rows,
                        "confirm_deactivations": request.confirm_deactivations,
            "invitation_url": request.send_invitations.then_some(invitation_url),
        }),
        ctx.now,
    )
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("import.committed")
            .target("import", id, Some(&import.file_name))
            .metadata(audit_meta),
    )
    .await?;
    get(tx, id).await
}

/// Cancels the import: at once if it has not started, else between two chunks (the job stops there;
/// the chunks before stay committed).
pub async fn cancel(tx: &TenantTx, ctx: &AuditCtx, id: Uuid) -> Result<ImportRow, ApiError> {
    let import = find(tx, id, true).await?.ok_or_else(ApiError::not_found)?;
    let sql = match import.state.as_str() {
        "uploaded" | "validated" => {
            "UPDATE imports SET state = 'cancelled', finished_at = $3, updated_at = $3 \
             WHERE tenant_id = $1 AND id = $2"
        }
        "queued" | "processing" => {
            "UPDATE imports SET cancel_requested = true, updated_at = $3 WHERE tenant_id = $1 AND id = $2"
        }
        other => {
            return Err(ApiError::conflict(
                "import_finished",
                format!("the import is {other}: there is nothing to cancel"),
            ));
        }
    };
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [tx.tenant_id().as_uuid().into(), id.into(), ctx.now.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("import.cancel_requested")
            .target("import", id, Some(&import.file_name))
            .metadata(json!({ "state": import.state, "processed_rows": import.processed_rows })),
    )
    .await?;
    get(tx, id).await
}
