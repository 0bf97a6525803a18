//! The worker's side of the stream: it finds the organizations whose stream is behind their chain and
//! due, and for each sends its sealed events in sequence order, a batch per POST. At-least-once: the
//! stream's `delivered_seq` moves only after the receiver answered 2xx, so a crash or a failure between
//! the POST and that write sends the batch again (receivers deduplicate on the events' `id`, or on
//! `seal.seq`). A failure waits `stream_backoff_base_secs * 2^(failures-1)`, at most
//! `stream_backoff_max_secs`, and is shown in the stream's status. No transaction is open while the
//! receiver is talked to: a short one takes the stream's lease and reads the batch, another records
//! the outcome (only while the lease is still this worker's).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::DateTime;
use entity::audit_events::Model as Event;
use futures_util::{StreamExt, stream};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    sender::{Attempt, Delivery, Sender},
    settings::{self, Stream},
    wire,
};
use crate::{
    audit::{query::COLUMNS, query::SealOf, routes::EventResponse},
    clock::SharedClock,
    config::AuditSettings,
    crypto::Crypto,
    domain::TenantId,
    tenancy::TenantTx,
};

/// Batches one organization sends in a row before the others get their turn.
const BATCHES_PER_TURN: usize = 20;
/// Organizations delivered to at once.
const CONCURRENCY: usize = 8;

pub struct Streamer {
    /// The worker role's pool: it may find the streams that are due across tenants.
    pool: PgPool,
    clock: SharedClock,
    crypto: Arc<Crypto>,
    sender: Arc<Sender>,
    settings: AuditSettings,
    /// This worker's name in `audit_streams.locked_by`.
    worker: String,
    /// The plans that include the audit stream: an organization on another plan is not delivered to.
    plans: Vec<String>,
    /// Deliveries running now ([`Streamer::start_due`]), at most [`CONCURRENCY`].
    slots: Arc<tokio::sync::Semaphore>,
    in_flight: Mutex<HashSet<Uuid>>,
}

impl Streamer {
    pub fn new(
        pool: PgPool,
        clock: SharedClock,
        crypto: Arc<Crypto>,
        sender: Arc<Sender>,
        settings: AuditSettings,
        worker: String,
        plans: Vec<String>,
    ) -> Streamer {
        Streamer {
            pool,
            clock,
            crypto,
            sender,
            settings,
            worker,
            plans,
            slots: Arc::new(tokio::sync::Semaphore::new(CONCURRENCY)),
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    /// The organizations whose stream is behind its chain, due and not leased.
    async fn due(&self) -> Result<Vec<Uuid>, DbErr> {
        sqlx::query_scalar(
            "SELECT s.tenant_id FROM audit_streams s \
             JOIN audit_chain_heads h ON h.tenant_id = s.tenant_id \
             JOIN tenants t ON t.id = s.tenant_id AND t.status = 'active' AND t.plan = ANY($2) \
             WHERE s.enabled AND h.seq > s.delivered_seq AND s.next_attempt_at <= $1 \
               AND (s.locked_until IS NULL OR s.locked_until < $1)",
        )
        .bind(self.clock.now())
        .bind(&self.plans)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| DbErr::Custom(format!("finding streams to deliver: {e}")))
    }

    /// Starts a delivery for each due organization this worker is not already delivering to, while a
    /// slot is free, and returns at once: a slow receiver holds its own slot only, never the others'
    /// turn. The worker calls it every second.
    pub async fn start_due(self: &Arc<Self>) -> Result<usize, DbErr> {
        let mut started = 0;
        for tenant in self.due().await? {
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                break;
            };
            let newly = self
                .in_flight
                .lock()
                .map(|mut running| running.insert(tenant))
                .unwrap_or(false);
            if !newly {
                continue;
            }
            let streamer = self.clone();
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(error) = streamer.deliver_tenant(TenantId::from_uuid(tenant)).await {
                    tracing::warn!(%error, tenant_id = %tenant, "delivering an audit stream failed");
                }
                if let Ok(mut running) = streamer.in_flight.lock() {
                    running.remove(&tenant);
                }
            });
            started += 1;
        }
        Ok(started)
    }

    /// Delivers to every stream that is behind and due and waits for all; returns the events
    /// delivered (tests; the worker uses [`Streamer::start_due`]).
    pub async fn deliver_all(&self) -> Result<u64, DbErr> {
        let due = self.due().await?;
        let results: Vec<Result<u64, DbErr>> = stream::iter(due)
            .map(|tenant| self.deliver_tenant(TenantId::from_uuid(tenant)))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut delivered = 0;
        for result in results {
            match result {
                Ok(n) => delivered += n,
                Err(error) => tracing::warn!(%error, "delivering an audit stream failed"),
            }
        }
        Ok(delivered)
    }

    /// Sends `tenant`'s undelivered events, batch after batch, until it is caught up, a POST fails, or
    /// its turn is over; returns the events delivered.
    pub async fn deliver_tenant(&self, tenant: TenantId) -> Result<u64, DbErr> {
        let mut delivered = 0;
        for _ in 0..BATCHES_PER_TURN {
            let Some((stream, batch)) = self.claim(tenant).await? else {
                break;
            };
            let Some(last_seq) = batch.last().map(|(seq, _)| *seq) else {
                break;
            };
            let first_seq = batch.first().map_or(last_seq, |(seq, _)| *seq);
            let full = batch.len() as i64 >= self.batch_size();
            let events: Vec<EventResponse> = batch.into_iter().filter_map(|(_, e)| e).collect();
            let sent = events.len() as u64;
            let attempt = if events.is_empty() {
                // Every event of the range is gone (retention): nothing to send, move on.
                None
            } else {
                Some(self.send(&stream, &events, (first_seq, last_seq)).await)
            };
            let succeeded = attempt.as_ref().is_none_or(Attempt::succeeded);
            self.record(tenant, &stream, attempt, last_seq, sent)
                .await?;
            if !succeeded {
                break;
            }
            delivered += sent;
            if !full {
                break;
            }
        }
        Ok(delivered)
    }

    fn batch_size(&self) -> i64 {
        self.settings.stream_batch.clamp(1, 10_000)
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.settings.stream_timeout_secs as i64 + 30)
    }

    /// Takes the stream's lease when it is enabled and due, and reads the next batch after its cursor.
    /// When nothing is left after the cursor (retention deleted the rest of the chain's range), moves the
    /// cursor to the head and gives the lease back at once.
    async fn claim(
        &self,
        tenant: TenantId,
    ) -> Result<Option<(Stream, Vec<(i64, Option<EventResponse>)>)>, DbErr> {
        let now = self.clock.now();
        let tx = TenantTx::begin(&self.pool, tenant, None).await?;
        let claimed = tx
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE audit_streams SET locked_by = $2, locked_until = $3 \
                 WHERE tenant_id = $1 AND enabled AND next_attempt_at <= $4 \
                   AND (locked_until IS NULL OR locked_until < $4) \
                 RETURNING *",
                [
                    tenant.as_uuid().into(),
                    self.worker.clone().into(),
                    (now + self.lease()).into(),
                    now.into(),
                ],
            ))
            .await?;
        let Some(row) = claimed else {
            tx.commit().await?;
            return Ok(None);
        };
        let stream = Stream::from_query_result(&row, "")?;
        let rows = tx
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT s.seq, s.hash, s.sealed_at, {COLUMNS} FROM audit_seals s \
                     LEFT JOIN audit_events e ON e.tenant_id = s.tenant_id \
                       AND e.occurred_at = s.occurred_at AND e.id = s.event_id \
                     WHERE s.tenant_id = $1 AND s.seq > $2 ORDER BY s.seq LIMIT $3"
                ),
                [
                    tenant.as_uuid().into(),
                    stream.delivered_seq.into(),
                    self.batch_size().into(),
                ],
            ))
            .await?;
        if rows.is_empty() {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                // One statement, one snapshot: seals the sealer committed since the read above stop
                // the jump short of them (they and the head commit together).
                "UPDATE audit_streams SET locked_by = NULL, locked_until = NULL, delivered_seq = \
                   greatest(delivered_seq, coalesce( \
                     (SELECT min(seq) - 1 FROM audit_seals \
                      WHERE tenant_id = $1 AND seq > audit_streams.delivered_seq), \
                     (SELECT seq FROM audit_chain_heads WHERE tenant_id = $1), 0)) \
                 WHERE tenant_id = $1 AND locked_by = $2",
                [tenant.as_uuid().into(), self.worker.clone().into()],
            ))
            .await?;
        }
        tx.commit().await?;
        let mut batch = Vec::with_capacity(rows.len());
        for row in rows {
            let seal = SealOf {
                seq: row.try_get("", "seq")?,
                hash: row.try_get("", "hash")?,
                sealed_at: row
                    .try_get::<DateTime<chrono::FixedOffset>>("", "sealed_at")?
                    .to_utc(),
            };
            // An event the chain holds but the log does not (deleted): verification reports it.
            let event = match row.try_get::<Option<Uuid>>("", "id")? {
                Some(_) => Some(EventResponse::new(
                    Event::from_query_result(&row, "")?,
                    Some(seal.clone()),
                )),
                None => None,
            };
            batch.push((seal.seq, event));
        }
        Ok(Some((stream, batch)))
    }

    async fn send(&self, stream: &Stream, events: &[EventResponse], range: (i64, i64)) -> Attempt {
        let delivery = Batch {
            events,
            test: false,
            timestamp: self.clock.now().timestamp(),
            sequence: Some(range),
        };
        send(&self.sender, &self.crypto, stream, delivery).await
    }

    /// Moves the cursor past `last_seq` after a success (or a range with nothing left to send); after
    /// a failure, counts it and sets the next attempt. Either way the lease ends.
    async fn record(
        &self,
        tenant: TenantId,
        stream: &Stream,
        attempt: Option<Attempt>,
        last_seq: i64,
        sent: u64,
    ) -> Result<(), DbErr> {
        let now = self.clock.now();
        let tx = TenantTx::begin(&self.pool, tenant, None).await?;
        let status = attempt.as_ref().and_then(|a| a.status.map(i32::from));
        let statement = match attempt.as_ref().and_then(|a| a.error.clone()) {
            None => Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE audit_streams SET delivered_seq = $3, delivered_events = delivered_events + $4, \
                   consecutive_failures = 0, next_attempt_at = $5, \
                   last_attempt_at = CASE WHEN $6::int IS NULL THEN last_attempt_at ELSE $5 END, \
                   last_success_at = CASE WHEN $6::int IS NULL THEN last_success_at ELSE $5 END, \
                   last_status = coalesce($6, last_status), \
                   last_error = CASE WHEN $6::int IS NULL THEN last_error END, \
                   locked_by = NULL, locked_until = NULL \
                 WHERE tenant_id = $1 AND locked_by = $2",
                [
                    tenant.as_uuid().into(),
                    self.worker.clone().into(),
                    last_seq.into(),
                    (sent as i64).into(),
                    now.into(),
                    status.into(),
                ],
            ),
            Some(error) => {
                let failures = stream.consecutive_failures.saturating_add(1);
                tracing::warn!(tenant_id = %tenant, failures, %error, "audit stream delivery failed");
                Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "UPDATE audit_streams SET consecutive_failures = $3, next_attempt_at = $4, \
                       last_attempt_at = $5, last_status = $6, last_error = $7, \
                       locked_by = NULL, locked_until = NULL \
                     WHERE tenant_id = $1 AND locked_by = $2",
                    [
                        tenant.as_uuid().into(),
                        self.worker.clone().into(),
                        failures.into(),
                        (now + self.backoff(failures)).into(),
                        now.into(),
                        status.into(),
                        error.chars().take(1000).collect::<String>().into(),
                    ],
                )
            }
        };
        tx.execute_raw(statement).await?;
        tx.commit().await
    }

    /// Failure n waits `base * 2^(n-1)` seconds, capped.
    fn backoff(&self, failures: i32) -> chrono::Duration {
        let exponent = failures.clamp(1, 30) as u32 - 1;
        let secs = self
            .settings
            .stream_backoff_base_secs
            .max(1)
            .saturating_mul(2u64.saturating_pow(exponent))
            .min(self.settings.stream_backoff_max_secs.max(1));
        chrono::Duration::seconds(secs as i64)
    }
}

/// Events on their way to a stream.
pub struct Batch<'a> {
    pub events: &'a [EventResponse],
    /// A test delivery (the admin's "test"), marked as such in the `json` format.
    pub test: bool,
    /// Unix seconds, signed into the signature.
    pub timestamp: i64,
    /// The sequence numbers the batch covers (none for a test).
    pub sequence: Option<(i64, i64)>,
}

/// Encodes `batch` in the stream's format, signs it with the stream's secret and POSTs it with the
/// stream's headers. A secret or headers that no longer open is a failed attempt, not an error: it
/// shows in the stream's status until an admin saves the stream again.
pub async fn send(sender: &Sender, crypto: &Crypto, stream: &Stream, batch: Batch<'_>) -> Attempt {
    let failed = |error: String| Attempt {
        status: None,
        error: Some(error),
        duration: Duration::ZERO,
    };
    let secret = match settings::secret(crypto, stream) {
        Ok(secret) => secret,
        Err(error) => return failed(error),
    };
    let headers = match settings::headers(crypto, stream) {
        Ok(headers) => headers,
        Err(error) => return failed(error),
    };
    let body = match wire::encode(settings::format_of(stream), batch.events, batch.test) {
        Ok(body) => body,
        Err(error) => return failed(format!("encoding the batch failed: {error}")),
    };
    sender
        .post(Delivery {
            url: &stream.url,
            secret: &secret,
            headers: &headers,
            body,
            timestamp: batch.timestamp,
            sequence: batch.sequence,
        })
        .await
}
