//! The sealer chains each tenant's new events (ADR 0009). Writers never wait for it: an event's
//! transaction only adds a row to `audit_pending` (a trigger does). The worker then, per tenant and one
//! sealer at a time (an advisory lock), takes the pending events in time order, gives each the next
//! sequence number and its link hash in `audit_seals`, and signs the new head into `audit_digests` when
//! the last digest is older than `audit.digest_interval_secs` — all in one transaction of that tenant.
//! An event dated more than `audit.seal_grace_secs` before events already sealed was not written by a
//! live transaction of the application (they are short); it is sealed, and marked late.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use entity::audit_events::Model as Event;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{chain, query::COLUMNS, signing::DigestSigner};
use crate::{
    clock::SharedClock,
    config::AuditSettings,
    domain::TenantId,
    tenancy::{TenantTx, tx::TenantLock},
};

pub struct Sealer {
    /// The worker role's pool: it may find the tenants with pending events across tenants.
    pool: PgPool,
    clock: SharedClock,
    signer: Arc<DigestSigner>,
    settings: AuditSettings,
}

/// A tenant's chain as the sealer left it.
struct Head {
    seq: i64,
    hash: [u8; 32],
    newest_at: Option<DateTime<Utc>>,
    digest_seq: i64,
    digested_at: Option<DateTime<Utc>>,
}

impl Sealer {
    pub fn new(
        pool: PgPool,
        clock: SharedClock,
        signer: Arc<DigestSigner>,
        settings: AuditSettings,
    ) -> Sealer {
        Sealer {
            pool,
            clock,
            signer,
            settings,
        }
    }

    /// Seals what every tenant has pending, and signs heads whose digest is due; returns the events
    /// sealed.
    pub async fn seal_all(&self) -> Result<u64, DbErr> {
        let due = self.clock.now() - chrono::Duration::seconds(self.settings.digest_interval_secs);
        let tenants: Vec<Uuid> = sqlx::query_scalar(
            "SELECT tenant_id FROM audit_pending GROUP BY tenant_id \
             UNION SELECT tenant_id FROM audit_chain_heads \
             WHERE seq > digest_seq AND (digested_at IS NULL OR digested_at <= $1)",
        )
        .bind(due)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| DbErr::Custom(format!("finding tenants to seal: {e}")))?;
        let mut sealed = 0;
        for tenant in tenants {
            sealed += self.seal_tenant(TenantId::from_uuid(tenant)).await?;
        }
        Ok(sealed)
    }

    /// Seals `tenant`'s pending events, a batch per transaction; returns how many. Another sealer at
    /// work on the same tenant makes this one return at once.
    pub async fn seal_tenant(&self, tenant: TenantId) -> Result<u64, DbErr> {
        let batch = self.settings.seal_batch.max(1);
        let mut sealed = 0;
        loop {
            let tx = TenantTx::begin(&self.pool, tenant, None).await?;
            if !tx.try_lock(TenantLock::AuditChain).await? {
                return Ok(sealed);
            }
            let mut head = read_head(&tx).await?;
            let events = take_pending(&tx, batch).await?;
            let now = self.clock.now();
            if !events.is_empty() {
                seal(&tx, &mut head, &events, now, self.settings.seal_grace_secs).await?;
            }
            let digest_due = head.seq > head.digest_seq
                && head.digested_at.is_none_or(|at| {
                    now - at >= chrono::Duration::seconds(self.settings.digest_interval_secs)
                });
            if digest_due {
                self.sign_head(&tx, &mut head, now).await?;
            }
            write_head(&tx, &head).await?;
            tx.commit().await?;
            sealed += events.len() as u64;
            if (events.len() as i64) < batch {
                return Ok(sealed);
            }
        }
    }

    /// Signs the head into `audit_digests`, publishing the signing key's public half the first time.
    async fn sign_head(
        &self,
        tx: &TenantTx,
        head: &mut Head,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let (kid, public_key) = self.signer.current();
        let now = micros(now);
        let message = chain::digest_message(
            tx.tenant_id().as_uuid(),
            head.seq,
            &head.hash,
            now.timestamp_micros(),
        );
        let signature = self.signer.sign(&message);
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH key AS (INSERT INTO audit_signing_keys (key_id, public_key, first_used_at) \
                          VALUES ($5, $6, $4) ON CONFLICT (key_id) DO NOTHING) \
             INSERT INTO audit_digests (tenant_id, seq, hash, signed_at, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5, $7)",
            [
                tx.tenant_id().as_uuid().into(),
                head.seq.into(),
                head.hash.to_vec().into(),
                now.into(),
                kid.to_owned().into(),
                public_key.to_vec().into(),
                signature.to_vec().into(),
            ],
        ))
        .await?;
        head.digest_seq = head.seq;
        head.digested_at = Some(now);
        Ok(())
    }
}

/// Time as the database keeps it (microseconds), so what is signed is what is read back.
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

async fn read_head(tx: &TenantTx) -> Result<Head, DbErr> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT seq, hash, newest_at, digest_seq, digested_at FROM audit_chain_heads \
             WHERE tenant_id = $1",
            [tx.tenant_id().as_uuid().into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(Head {
            seq: 0,
            hash: chain::GENESIS,
            newest_at: None,
            digest_seq: 0,
            digested_at: None,
        });
    };
    let hash: Vec<u8> = row.try_get("", "hash")?;
    Ok(Head {
        seq: row.try_get("", "seq")?,
        hash: chain::hash32(&hash)
            .ok_or_else(|| DbErr::Custom("audit_chain_heads.hash is not 32 bytes".into()))?,
        newest_at: Some(
            row.try_get::<DateTime<FixedOffset>>("", "newest_at")?
                .to_utc(),
        ),
        digest_seq: row.try_get("", "digest_seq")?,
        digested_at: row
            .try_get::<Option<DateTime<FixedOffset>>>("", "digested_at")?
            .map(|at| at.to_utc()),
    })
}

/// Removes up to `batch` pending entries, oldest first, and returns their events in that order (an
/// entry whose event is gone — deleted before it was sealed — just leaves the queue). The chain's
/// advisory lock makes this sealer the only one taking this tenant's entries.
async fn take_pending(tx: &TenantTx, batch: i64) -> Result<Vec<Event>, DbErr> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "WITH taken AS ( \
                   DELETE FROM audit_pending p USING ( \
                     SELECT tenant_id, occurred_at, id FROM audit_pending WHERE tenant_id = $1 \
                     ORDER BY occurred_at, id LIMIT $2) next \
                   WHERE p.tenant_id = next.tenant_id AND p.occurred_at = next.occurred_at \
                     AND p.id = next.id \
                   RETURNING p.tenant_id, p.occurred_at, p.id) \
                 SELECT {COLUMNS} FROM taken t JOIN audit_events e \
                   ON e.tenant_id = t.tenant_id AND e.occurred_at = t.occurred_at AND e.id = t.id \
                 ORDER BY e.occurred_at, e.id"
            ),
            [tx.tenant_id().as_uuid().into(), batch.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Event::from_query_result(row, ""))
        .collect()
}

/// Links `events` after `head` and writes their seals; moves `head` to the last of them.
async fn seal(
    tx: &TenantTx,
    head: &mut Head,
    events: &[Event],
    now: DateTime<Utc>,
    grace_secs: i64,
) -> Result<(), DbErr> {
    let grace = chrono::Duration::seconds(grace_secs);
    let mut seals = Vec::with_capacity(events.len());
    for event in events {
        let at = event.occurred_at.to_utc();
        let late = head.newest_at.is_some_and(|newest| at < newest - grace);
        head.seq += 1;
        head.hash = chain::link(&head.hash, event);
        head.newest_at = Some(head.newest_at.map_or(at, |newest| newest.max(at)));
        seals.push(json!({
            "seq": head.seq,
            "event_id": event.id,
            "occurred_at": at,
            "hash": chain::hex(&head.hash),
            "late": late,
        }));
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO audit_seals (tenant_id, seq, event_id, occurred_at, hash, sealed_at, late) \
         SELECT $1, s.seq, s.event_id, s.occurred_at, decode(s.hash, 'hex'), $3, s.late \
         FROM jsonb_to_recordset($2) AS s(seq bigint, event_id uuid, occurred_at timestamptz, \
                                          hash text, late boolean)",
        [
            tx.tenant_id().as_uuid().into(),
            serde_json::Value::Array(seals).into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

async fn write_head(tx: &TenantTx, head: &Head) -> Result<(), DbErr> {
    let Some(newest_at) = head.newest_at else {
        return Ok(()); // nothing was ever sealed
    };
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO audit_chain_heads (tenant_id, seq, hash, newest_at, digest_seq, digested_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
           newest_at = excluded.newest_at, digest_seq = excluded.digest_seq, \
           digested_at = excluded.digested_at",
        [
            tx.tenant_id().as_uuid().into(),
            head.seq.into(),
            head.hash.to_vec().into(),
            newest_at.into(),
            head.digest_seq.into(),
            head.digested_at.into(),
        ],
    ))
    .await
    .map(|_| ())
}
