//! Retention: each organization keeps its audit events `org_settings.audit_retention_days` (365 by
//! default, at least 90). The worker deletes the oldest *sealed* events in sequence order — a prefix of
//! the chain, so what remains is still one unbroken chain — as `trellis_retention`, the only role the
//! append-only triggers let delete. It records where the chain now starts (`audit_anchors`: the last
//! deleted sequence number and its hash) and an `audit_log.retention_applied` event, in the same
//! transaction, so verification starts from the anchor and stays green.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Actor, AuditCtx, AuditEvent};
use crate::{
    domain::TenantId,
    http::RequestContext,
    tenancy::{TenantTx, tx::TenantLock},
};

/// Events deleted per transaction, so no retention run holds its locks for long.
const BATCH: i64 = 50_000;

/// Applies every organization's retention at `now`; returns the events deleted.
pub async fn apply_all(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let tenants: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_all(pool)
        .await
        .map_err(|e| DbErr::Custom(format!("listing tenants for retention: {e}")))?;
    let mut deleted = 0;
    for tenant in tenants {
        deleted += apply(pool, TenantId::from_uuid(tenant), now).await?;
    }
    Ok(deleted)
}

/// Applies `tenant`'s retention; returns the events deleted.
pub async fn apply(pool: &PgPool, tenant: TenantId, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let mut deleted = 0;
    loop {
        let tx = TenantTx::begin(pool, tenant, None).await?;
        if !tx.try_lock(TenantLock::AuditChain).await? {
            return Ok(deleted);
        }
        let step = apply_batch(&tx, now).await?;
        tx.commit().await?;
        deleted += step;
        if step < BATCH as u64 {
            return Ok(deleted);
        }
    }
}

async fn apply_batch(tx: &TenantTx, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let t = tx.tenant_id().as_uuid();
    // How long this organization keeps its log, where its chain starts, and the last sealed event older
    // than the cutoff in an unbroken run from there (at most BATCH of them).
    let Some(row) = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH settings AS (SELECT audit_retention_days AS days FROM org_settings WHERE tenant_id = $1), \
             anchor AS (SELECT coalesce(max(seq), 0) AS seq FROM audit_anchors WHERE tenant_id = $1), \
             cutoff AS (SELECT $2::timestamptz - make_interval(days => days) AS at FROM settings), \
             kept AS (SELECT min(s.seq) AS seq FROM ( \
                 SELECT a.seq FROM audit_seals a, anchor, cutoff \
                 WHERE a.tenant_id = $1 AND a.seq > anchor.seq AND a.occurred_at >= cutoff.at \
                 ORDER BY a.seq LIMIT 1) s) \
             SELECT cutoff.at AS cutoff, settings.days, anchor.seq AS anchor, \
               least(coalesce(kept.seq - 1, (SELECT max(seq) FROM audit_seals WHERE tenant_id = $1)), \
                     anchor.seq + $3) AS last \
             FROM settings, cutoff, anchor, kept",
            [t.into(), now.into(), BATCH.into()],
        ))
        .await?
    else {
        return Ok(0);
    };
    let anchor: i64 = row.try_get("", "anchor")?;
    let last: Option<i64> = row.try_get("", "last")?;
    let Some(last) = last.filter(|last| *last > anchor) else {
        return Ok(0);
    };
    let cutoff: DateTime<chrono::FixedOffset> = row.try_get("", "cutoff")?;
    let days: i32 = row.try_get("", "days")?;

    tx.execute_unprepared("SET LOCAL ROLE trellis_retention")
        .await?;
    let deleted = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH last AS (SELECT hash FROM audit_seals WHERE tenant_id = $1 AND seq = $3), \
             gone AS (DELETE FROM audit_seals WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 \
                      RETURNING event_id, occurred_at), \
             events AS (DELETE FROM audit_events e USING gone \
                        WHERE e.tenant_id = $1 AND e.occurred_at = gone.occurred_at AND e.id = gone.event_id \
                        RETURNING 1), \
             anchored AS (INSERT INTO audit_anchors (tenant_id, seq, hash, deleted, cutoff, applied_at) \
                          SELECT $1, $3, last.hash, (SELECT count(*) FROM events), $4, $5 FROM last \
                          RETURNING deleted, encode(hash, 'hex') AS hash) \
             SELECT deleted, hash FROM anchored",
            [
                t.into(),
                anchor.into(),
                last.into(),
                cutoff.into(),
                now.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("retention found no seal to anchor on".into()))?;
    tx.execute_unprepared("RESET ROLE").await?;
    let count: i64 = deleted.try_get("", "deleted")?;
    let hash: String = deleted.try_get("", "hash")?;
    let ctx = AuditCtx {
        actor: Actor::system("retention"),
        request: RequestContext::default(),
        now,
    };
    super::record(
        tx,
        &ctx,
        AuditEvent::new("audit_log.retention_applied").metadata(json!({
            "retention_days": days,
            "cutoff": cutoff.to_utc(),
            "deleted": count,
            "first_seq": anchor + 1,
            "through_seq": last,
            "anchor_hash": hash,
        })),
    )
    .await?;
    Ok(count as u64)
}
