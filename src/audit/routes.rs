//! `/api/v1/audit-events`: search, one event, export (CSV or JSON Lines, streamed), verification of
//! the chain and the keys that sign its digests (docs/audit.md).

use actix_web::{
    HttpResponse, get,
    http::header,
    web::{Bytes, Data, Json, Path},
};
use chrono::{DateTime, Utc};
use entity::audit_events::Model as Event;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    AuditEvent, chain,
    query::{self, Cursor, Filters, SealOf},
    verify::{self, Range, Verification},
};
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::ValidQuery,
    spreadsheet::defuse,
    state::AppState,
    tenancy::TenantTx,
};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;
/// Rows an export reads per round trip.
const EXPORT_BATCH: usize = 2_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorResponse {
    /// `user`, `api_key`, `scim_token` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<Uuid>,
    /// An email address, a key's name, `SCIM token <prefix>`, or the system part that acted.
    pub display: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TargetResponse {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContextResponse {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SealResponse {
    /// The event's place in the organization's chain.
    pub seq: i64,
    /// SHA-256 of the previous hash and this event's canonical encoding, hex.
    pub hash: String,
    pub sealed_at: DateTime<Utc>,
}

/// An audit event (docs/audit.md has the catalogue of actions and what each records).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub tenant_id: Uuid,
    pub actor: ActorResponse,
    /// `resource.verb`.
    pub action: String,
    pub targets: Vec<TargetResponse>,
    pub context: ContextResponse,
    /// `before`/`after` for changes; never a secret.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Absent until the sealer has chained the event (about a second).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealResponse>,
}

impl EventResponse {
    pub fn new(event: Event, seal: Option<SealOf>) -> EventResponse {
        EventResponse {
            id: event.id,
            occurred_at: event.occurred_at.to_utc(),
            tenant_id: event.tenant_id,
            actor: ActorResponse {
                kind: event.actor_type,
                id: event.actor_id,
                display: event.actor_display,
            },
            action: event.action,
            targets: event
                .target_type
                .map(|kind| TargetResponse {
                    kind,
                    id: event.target_id,
                    display: event.target_display,
                })
                .into_iter()
                .collect(),
            context: ContextResponse {
                ip: event.ip,
                user_agent: event.user_agent,
                request_id: event.request_id,
            },
            metadata: event.metadata,
            seal: seal.map(|s| SealResponse {
                seq: s.seq,
                hash: chain::hex(&s.hash),
                sealed_at: s.sealed_at,
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventResponse>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Search the organization's audit log, newest first.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(Filters, crate::http::pagination::PageQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 422, description = "A filter, the limit or the cursor is invalid")
    )
)]
#[get("/audit-events")]
pub async fn list_events(
    state: Data<AppState>,
    token: AccessToken,
    filters: ValidQuery<Filters>,
) -> ApiResult<Json<EventPage>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::AuditLog, Act::Read).await?;
    filters.check()?;
    if filters.format.is_some() {
        return Err(ApiError::validation(
            "format",
            "is for exports (/audit-events/export)",
        ));
    }
    let limit = filters.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    let after = filters.cursor.as_deref().map(Cursor::decode).transpose()?;
    let (events, next) = query::page(&auth.tx, &filters, limit, after).await?;
    auth.tx.commit().await?;
    Ok(Json(EventPage {
        items: events
            .into_iter()
            .map(|e| EventResponse::new(e, None))
            .collect(),
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// One event, with its place in the chain once sealed.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(("event_id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "The event", body = EventResponse),
        (status = 404, description = "No such event in this organization")
    )
)]
#[get("/audit-events/{event_id}")]
pub async fn get_event(
    state: Data<AppState>,
    token: AccessToken,
    event_id: Path<Uuid>,
) -> ApiResult<Json<EventResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::AuditLog, Act::Read).await?;
    let (event, seal) = query::get(&auth.tx, *event_id).await?;
    auth.tx.commit().await?;
    Ok(Json(EventResponse::new(event, seal)))
}

/// Every event the filters match, newest first, streamed as CSV or JSON Lines (`format`, default
/// `csv`). CSV cells that a spreadsheet would run as a formula are prefixed with `'`. The export is
/// itself recorded (`audit_log.exported`) before the first byte is sent.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(Filters, query::ExportFormat),
    responses(
        (status = 200, description = "text/csv or application/x-ndjson", content_type = "text/csv"),
        (status = 422, description = "A filter or the format is invalid")
    )
)]
#[get("/audit-events/export")]
pub async fn export_events(
    state: Data<AppState>,
    token: AccessToken,
    filters: ValidQuery<Filters>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::AuditLog, Act::Export)
        .await?;
    let filters = filters.into_inner();
    filters.check()?;
    let format = match filters.format.as_deref().unwrap_or("csv") {
        "csv" => Format::Csv,
        "jsonl" => Format::JsonLines,
        _ => return Err(ApiError::validation("format", "must be csv or jsonl")),
    };
    for (field, given) in [
        ("limit", filters.limit.is_some()),
        ("cursor", filters.cursor.is_some()),
    ] {
        if given {
            return Err(ApiError::validation(
                field,
                "an export has every matching event; it does not page",
            ));
        }
    }
    super::record(
        &auth.tx,
        &auth.ctx,
        AuditEvent::new("audit_log.exported").metadata(json!({
            "format": format.name(),
            "filters": described(&filters),
        })),
    )
    .await?;
    let (tenant, user) = (auth.tx.tenant_id(), auth.tx.user_id());
    auth.tx.commit().await?;
    state.usage.feature(
        tenant,
        user,
        crate::modules::analytics::capture::FeatureEvent::AuditExported,
        format.name(),
    );

    // A cursor in a transaction of its own: one snapshot, read a batch per round trip.
    let tx = TenantTx::begin(&state.pool, tenant, user).await?;
    let statement = query::export_statement(&filters, tenant.as_uuid());
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "DECLARE audit_export NO SCROLL CURSOR FOR {}",
            statement.sql
        ),
        statement.values.map(|v| v.0).unwrap_or_default(),
    ))
    .await?;
    let stamp = state.clock.now().format("%Y%m%dT%H%M%SZ");
    let body = futures_util::stream::unfold(Some((tx, format, true)), |export| async move {
        let (tx, format, first) = export?;
        match next_batch(&tx, format, first).await {
            Ok(Some(bytes)) => Some((Ok(bytes), Some((tx, format, false)))),
            Ok(None) => match tx.commit().await {
                Ok(()) => None,
                Err(error) => Some((Err(export_error(error)), None)),
            },
            Err(error) => Some((Err(export_error(error)), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"audit-events-{stamp}.{}\"",
                format.name()
            ),
        ))
        .streaming(body))
}

fn export_error(error: DbErr) -> actix_web::Error {
    tracing::error!(%error, "audit export failed midway");
    actix_web::error::ErrorInternalServerError("the export failed")
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Csv,
    JsonLines,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/x-ndjson",
        }
    }
}

const CSV_HEADER: [&str; 14] = [
    "id",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_display",
    "action",
    "target_type",
    "target_id",
    "target_display",
    "ip",
    "user_agent",
    "request_id",
    "metadata",
    "tenant_id",
];

/// The next batch of the export's cursor, encoded; `None` when it is exhausted.
async fn next_batch(tx: &TenantTx, format: Format, first: bool) -> Result<Option<Bytes>, DbErr> {
    let rows = tx
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("FETCH {EXPORT_BATCH} FROM audit_export"),
        ))
        .await?;
    if rows.is_empty() && !(first && matches!(format, Format::Csv)) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rows.len() * 400);
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            let fail = |e: csv::Error| DbErr::Custom(e.to_string());
            if first {
                writer.write_record(CSV_HEADER).map_err(fail)?;
            }
            for row in &rows {
                let e = Event::from_query_result(row, "")?;
                let or_empty = |v: &Option<String>| defuse(v.as_deref().unwrap_or_default());
                writer
                    .write_record([
                        e.id.to_string(),
                        e.occurred_at.to_utc().to_rfc3339(),
                        e.actor_type.clone(),
                        e.actor_id.map(|id| id.to_string()).unwrap_or_default(),
                        or_empty(&e.actor_display),
                        e.action.clone(),
                        or_empty(&e.target_type),
                        or_empty(&e.target_id),
                        or_empty(&e.target_display),
                        or_empty(&e.ip),
                        or_empty(&e.user_agent),
                        or_empty(&e.request_id),
                        defuse(&e.metadata.to_string()),
                        e.tenant_id.to_string(),
                    ])
                    .map_err(fail)?;
            }
            writer.flush().map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        Format::JsonLines => {
            for row in &rows {
                let event = EventResponse::new(Event::from_query_result(row, "")?, None);
                serde_json::to_writer(&mut out, &event)
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
                out.push(b'\n');
            }
        }
    }
    Ok(Some(Bytes::from(out)))
}

/// The filters an export used, as its audit event records them.
fn described(filters: &Filters) -> Value {
    let mut out = serde_json::Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            out.insert(key.into(), Value::String(value));
        }
    };
    put("from", filters.from.map(|t| t.to_rfc3339()));
    put("to", filters.to.map(|t| t.to_rfc3339()));
    put("actor_id", filters.actor_id.map(|id| id.to_string()));
    put("actor_type", filters.actor_type.clone());
    put("actor", filters.actor.clone());
    put("action", filters.action.clone());
    put("target_type", filters.target_type.clone());
    put("target_id", filters.target_id.clone());
    put("request_id", filters.request_id.clone());
    Value::Object(out)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    /// Verify events dated at or after this time; from the chain's start when absent.
    pub from: Option<DateTime<Utc>>,
    /// Verify events dated before this time; to the chain's head when absent (then a truncated tail
    /// is detected too).
    pub to: Option<DateTime<Utc>>,
}

/// Recomputes the chain from the events as stored and reports OK or the first break.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(VerifyQuery),
    responses((status = 200, description = "The verification's outcome", body = Verification))
)]
#[get("/audit-events/verify")]
pub async fn verify_chain(
    state: Data<AppState>,
    token: AccessToken,
    range: ValidQuery<VerifyQuery>,
) -> ApiResult<Json<Verification>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::AuditLog, Act::Read).await?;
    if let (Some(from), Some(to)) = (range.from, range.to)
        && from >= to
    {
        return Err(ApiError::validation("to", "must be after `from`"));
    }
    let outcome = verify::verify(
        &auth.tx,
        &state.audit_signer,
        &Range {
            from: range.from,
            to: range.to,
        },
        chrono::Duration::seconds(state.settings.audit.seal_grace_secs),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(outcome))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    pub key_id: String,
    /// `Ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, base64url without padding (as in a JWK's `x`).
    pub public_key: String,
    /// When it first signed a digest (absent for the current key before its first digest).
    pub first_used_at: Option<DateTime<Utc>>,
    /// Whether it signs new digests now.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeys {
    pub keys: Vec<PublicKey>,
}

/// The public keys that sign the chain's digests — the current one and every one that ever signed,
/// so digests signed before a rotation still verify. A digest signs
/// `trellis-audit-digest/1\n<tenant id>\n<seq>\n<hash hex>\n<signed_at, microseconds>`.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, description = "The signing keys", body = PublicKeys))
)]
#[get("/audit-events/public-key")]
pub async fn public_keys(state: Data<AppState>, token: AccessToken) -> ApiResult<Json<PublicKeys>> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::AuditLog, Act::Read).await?;
    let rows = auth
        .tx
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT key_id, public_key, first_used_at FROM audit_signing_keys ORDER BY first_used_at",
        ))
        .await?;
    auth.tx.commit().await?;
    let (current_kid, current_key) = state.audit_signer.current();
    let mut keys = Vec::with_capacity(rows.len() + 1);
    for row in rows {
        let key_id: String = row.try_get("", "key_id")?;
        let public_key: Vec<u8> = row.try_get("", "public_key")?;
        let first_used_at: DateTime<chrono::FixedOffset> = row.try_get("", "first_used_at")?;
        keys.push(PublicKey {
            current: key_id == current_kid,
            key_id,
            algorithm: "Ed25519",
            public_key: URL_SAFE_NO_PAD.encode(public_key),
            first_used_at: Some(first_used_at.to_utc()),
        });
    }
    if !keys.iter().any(|k| k.current) {
        keys.push(PublicKey {
            key_id: current_kid.to_owned(),
            algorithm: "Ed25519",
            public_key: URL_SAFE_NO_PAD.encode(current_key),
            first_used_at: None,
            current: true,
        });
    }
    Ok(Json(PublicKeys { keys }))
}
