//! `/api/v1/audit-stream`: the organization's log stream — its settings, its delivery status, and a
//! test delivery (docs/audit.md, "Streaming to a SIEM").

use std::collections::BTreeMap;

use actix_web::{
    HttpResponse, delete, get, post, put,
    web::{Data, Json},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    delivery::{self, Batch},
    settings::{self, StartAt, Stream, StreamInput},
};
use crate::{
    audit::routes::{ActorResponse, ContextResponse, EventResponse, TargetResponse},
    auth::{AccessToken, Authenticated},
    authz::{Act, Obj},
    error::ApiResult,
    http::ValidJson,
    state::AppState,
    tenancy::{Tenant, plan::Feature},
};

/// How delivery is going.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryStatus {
    /// `disabled`, `failing` (the last attempt failed; retried with backoff), `catching_up` (events
    /// wait to be sent) or `up_to_date`.
    pub state: &'static str,
    /// The last sequence number the receiver accepted.
    pub delivered_seq: i64,
    /// The newest sequence number sealed in the organization's chain.
    pub head_seq: i64,
    /// Events sealed but not delivered yet.
    pub pending_events: i64,
    /// Events delivered since the stream was created.
    pub delivered_events: i64,
    pub consecutive_failures: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status at the last attempt, when it answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StreamResponse {
    pub id: Uuid,
    pub url: String,
    /// `json`, `json_array` or `splunk_hec`.
    pub format: String,
    /// Names of the extra headers sent; their values are never returned.
    pub header_names: Vec<String>,
    /// The HMAC secret itself is never returned.
    pub secret_set: bool,
    pub enabled: bool,
    pub delivery: DeliveryStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StreamResponse {
    pub(crate) fn new(s: Stream, head_seq: i64) -> StreamResponse {
        let pending = (head_seq - s.delivered_seq).max(0);
        let state = if !s.enabled {
            "disabled"
        } else if s.consecutive_failures > 0 {
            "failing"
        } else if pending > 0 {
            "catching_up"
        } else {
            "up_to_date"
        };
        StreamResponse {
            id: s.id,
            url: s.url,
            format: s.format,
            header_names: s.header_names,
            secret_set: !s.secret_sealed.is_empty(),
            enabled: s.enabled,
            delivery: DeliveryStatus {
                state,
                delivered_seq: s.delivered_seq,
                head_seq,
                pending_events: pending,
                delivered_events: s.delivered_events,
                consecutive_failures: s.consecutive_failures,
                last_attempt_at: s.last_attempt_at.map(|t| t.to_utc()),
                last_success_at: s.last_success_at.map(|t| t.to_utc()),
                last_status: s.last_status,
                last_error: s.last_error,
                next_attempt_at: s.next_attempt_at.to_utc(),
            },
            created_at: s.created_at.to_utc(),
            updated_at: s.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartAtBody {
    Now,
    Oldest,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://http-inputs-acme.splunkcloud.com/services/collector/event",
    "secret": "a long random string shared with the receiver",
    "format": "splunk_hec",
    "headers": { "Authorization": "Splunk 00000000-0000-0000-0000-000000000000" },
    "enabled": true,
    "start_at": "now"
}))]
pub struct PutStreamRequest {
    /// Where batches are POSTed: https, a public address.
    pub url: String,
    /// Signs every batch (HMAC-SHA256, `Trellis-Signature`); 16 to 512 characters. Required for a new
    /// stream and when the URL's origin changes; leave it out to keep the stored one.
    pub secret: Option<String>,
    /// `json` (default), `json_array` or `splunk_hec`.
    pub format: Option<String>,
    /// Extra headers, e.g. the receiver's credentials; stored encrypted. Given: replaces the stored
    /// ones (`{}` for none). Left out: kept, unless the URL's origin changes.
    pub headers: Option<BTreeMap<String, String>>,
    /// Default true.
    pub enabled: Option<bool>,
    /// `now` (default for a new stream: events sealed from now on) or `oldest` (everything the log
    /// holds). On a change, moves the delivery cursor; left out, delivery goes on where it was.
    pub start_at: Option<StartAtBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StreamTestResponse {
    /// Whether the receiver accepted the test batch (2xx).
    pub ok: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// The request's transaction, once the plan has the stream and the caller may configure it.
async fn configurer(
    state: &AppState,
    tenant: &Tenant,
    token: AccessToken,
) -> ApiResult<Authenticated> {
    tenant.require(&state.settings.plans, Feature::AuditStream)?;
    let auth = token.open(state).await?;
    state
        .authz
        .require(&auth, Obj::AuditLog, Act::Configure)
        .await?;
    Ok(auth)
}

/// The organization's audit log stream and how its delivery is going.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stream", body = StreamResponse),
        (status = 404, description = "`audit_stream_not_configured`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-stream")]
pub async fn get_stream(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<StreamResponse>> {
    let auth = configurer(&state, &tenant, token).await?;
    let stream = settings::get(&auth.tx).await?;
    let head = settings::head_seq(&auth.tx).await?;
    auth.tx.commit().await?;
    Ok(Json(StreamResponse::new(stream, head)))
}

/// Creates or replaces the audit log stream. The secret and header values are stored encrypted.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    request_body = PutStreamRequest,
    responses(
        (status = 200, description = "Replaced", body = StreamResponse),
        (status = 201, description = "Created", body = StreamResponse),
        (status = 422, description = "Invalid settings", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/audit-stream")]
pub async fn put_stream(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<PutStreamRequest>,
) -> ApiResult<HttpResponse> {
    let auth = configurer(&state, &tenant, token).await?;
    let body = body.into_inner();
    let input = StreamInput {
        url: body.url,
        secret: body.secret,
        format: body.format,
        headers: body.headers,
        enabled: body.enabled.unwrap_or(true),
        start_at: body.start_at.map(|s| match s {
            StartAtBody::Now => StartAt::Now,
            StartAtBody::Oldest => StartAt::Oldest,
        }),
    };
    let (saved, created) = settings::put(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        state.audit_stream.allows_insecure(),
        input,
    )
    .await?;
    let head = settings::head_seq(&auth.tx).await?;
    auth.tx.commit().await?;
    let body = StreamResponse::new(saved, head);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// Removes the audit log stream. Events stay in the log.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`audit_stream_not_configured`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/audit-stream")]
pub async fn delete_stream(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
) -> ApiResult<HttpResponse> {
    let auth = configurer(&state, &tenant, token).await?;
    settings::delete(&auth.tx, &auth.ctx).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends one test batch to the saved stream, signed like every batch, and reports the receiver's
/// answer. The batch holds a made-up `audit_stream.test` event (not in the log) and, in the `json`
/// format, `"test": true`. Changes nothing.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The receiver's answer (`ok` false says what failed)", body = StreamTestResponse),
        (status = 404, description = "`audit_stream_not_configured`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/audit-stream/test")]
pub async fn test_stream(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<StreamTestResponse>> {
    let auth = configurer(&state, &tenant, token).await?;
    let stream = settings::get(&auth.tx).await?;
    // The receiver is talked to with no transaction open.
    auth.tx.commit().await?;
    let now = state.clock.now();
    let event = EventResponse {
        id: Uuid::now_v7(),
        occurred_at: now,
        tenant_id: stream.tenant_id,
        actor: ActorResponse {
            kind: auth.ctx.actor.kind.as_str().to_owned(),
            id: auth.ctx.actor.id,
            display: auth.ctx.actor.display.clone(),
        },
        action: "audit_stream.test".into(),
        targets: vec![TargetResponse {
            kind: "audit_stream".into(),
            id: Some(stream.id.to_string()),
            display: Some(stream.url.clone()),
        }],
        context: ContextResponse {
            ip: auth.ctx.request.ip.map(|ip| ip.to_string()),
            user_agent: auth.ctx.request.user_agent.clone(),
            request_id: Some(auth.ctx.request.request_id.clone()),
        },
        metadata: json!({ "test": true }),
        seal: None,
    };
    let batch = Batch {
        events: &[event],
        test: true,
        timestamp: now.timestamp(),
        sequence: None,
    };
    let attempt = delivery::send(&state.audit_stream, &state.crypto, &stream, batch).await;
    Ok(Json(StreamTestResponse {
        ok: attempt.succeeded(),
        status: attempt.status,
        error: attempt.error,
        duration_ms: attempt.duration.as_millis() as u64,
    }))
}
