//! Verification recomputes a tenant's chain from the events as they are stored now and reports OK or
//! the first break (ADR 0009): an event changed since it was sealed (`modified`), a sealed event or
//! seal gone (`missing`), an event the application did not write in order (`inserted`: unsealed yet
//! dated before what is sealed, or sealed late), a signed digest that no longer matches the chain or
//! whose signature fails (`digest_mismatch`), or a chain that ends before its last signed head
//! (`truncated`). It reads page by page in sequence order, so memory does not grow with the log.

use chrono::{DateTime, FixedOffset, Utc};
use entity::audit_events::Model as Event;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, QueryResult, Statement};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    chain,
    query::COLUMNS,
    signing::{self, DigestSigner},
};
use crate::tenancy::TenantTx;

const PAGE: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    Modified,
    Missing,
    Inserted,
    DigestMismatch,
    Truncated,
}

/// Where the chain breaks, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Break {
    pub kind: BreakKind,
    /// The sequence number where it breaks, when there is one.
    pub seq: Option<i64>,
    pub event_id: Option<Uuid>,
    pub reason: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    /// True when no break was found.
    pub ok: bool,
    /// The sequence numbers checked (none when the range holds no sealed event).
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub events_checked: u64,
    pub digests_checked: u64,
    /// The hash of `last_seq`, hex.
    pub head_hash: Option<String>,
    /// Where retention ended the older part of the chain (its first event is `anchor_seq + 1`).
    pub anchor_seq: i64,
    pub problem: Option<Break>,
}

/// What to verify: events dated within `[from, to)`; the whole chain when both are absent.
pub struct Range {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub async fn verify(
    tx: &TenantTx,
    signer: &DigestSigner,
    range: &Range,
    grace: chrono::Duration,
) -> Result<Verification, DbErr> {
    let tenant = tx.tenant_id().as_uuid();
    let (anchor_seq, anchor_hash) = anchor(tx, tenant).await?;
    let mut report = Verification {
        ok: true,
        first_seq: None,
        last_seq: None,
        events_checked: 0,
        digests_checked: 0,
        head_hash: None,
        anchor_seq,
        problem: None,
    };
    let start = match range.from {
        Some(from) => seq_at(tx, tenant, from, true).await?,
        None => Some(anchor_seq + 1),
    }
    .map(|s| s.max(anchor_seq + 1));
    let chain_end = max_seq(tx, tenant).await?;
    let end = match range.to {
        Some(to) => seq_at(tx, tenant, to, false).await?,
        None => chain_end,
    };
    let mut newest: Option<DateTime<Utc>> = None;
    if let (Some(start), Some(end)) = (start, end)
        && start <= end
    {
        report.first_seq = Some(start);
        let previous = if start == anchor_seq + 1 {
            Some(anchor_hash)
        } else {
            seal_hash(tx, tenant, start - 1).await?
        };
        let Some(mut previous) = previous else {
            return Ok(broken(
                report,
                BreakKind::Missing,
                Some(start - 1),
                None,
                format!("the seal of sequence {} is gone", start - 1),
            ));
        };
        let mut expected = start;
        'pages: while expected <= end {
            let rows = seals_from(tx, tenant, expected, end).await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seal = SealRow::read(row)?;
                if seal.seq != expected {
                    report = broken(
                        report,
                        BreakKind::Missing,
                        Some(expected),
                        None,
                        format!(
                            "sequence numbers jump from {} to {}: seals were removed",
                            expected - 1,
                            seal.seq
                        ),
                    );
                    break 'pages;
                }
                let Some(event) = seal.event else {
                    report = broken(
                        report,
                        BreakKind::Missing,
                        Some(seal.seq),
                        Some(seal.event_id),
                        format!("the event sealed as sequence {} is gone", seal.seq),
                    );
                    break 'pages;
                };
                if chain::link(&previous, &event) != seal.hash {
                    report = broken(
                        report,
                        BreakKind::Modified,
                        Some(seal.seq),
                        Some(event.id),
                        "the event differs from what was sealed".into(),
                    );
                    break 'pages;
                }
                if seal.late {
                    report = broken(
                        report,
                        BreakKind::Inserted,
                        Some(seal.seq),
                        Some(event.id),
                        format!(
                            "dated {}, long before events sealed earlier: not written by the application",
                            event.occurred_at.to_utc().to_rfc3339()
                        ),
                    );
                    break 'pages;
                }
                let at = event.occurred_at.to_utc();
                newest = Some(newest.map_or(at, |n| n.max(at)));
                previous = seal.hash;
                report.events_checked += 1;
                report.last_seq = Some(seal.seq);
                report.head_hash = Some(chain::hex(&seal.hash));
                expected += 1;
            }
        }
        if report.problem.is_some() {
            return Ok(report);
        }
    }
    if let Some(newest) = newest
        && let Some((id, at)) = unsealed_before(tx, tenant, range, newest - grace).await?
    {
        return Ok(broken(
            report,
            BreakKind::Inserted,
            None,
            Some(id),
            format!(
                "dated {}, before events already sealed, and in no seal",
                at.to_rfc3339()
            ),
        ));
    }
    let chain_end = chain_end.unwrap_or(anchor_seq);
    check_digests(
        tx, signer, tenant, anchor_seq, chain_end, start, end, range, report,
    )
    .await
}

fn broken(
    mut report: Verification,
    kind: BreakKind,
    seq: Option<i64>,
    event_id: Option<Uuid>,
    reason: String,
) -> Verification {
    report.ok = false;
    report.problem = Some(Break {
        kind,
        seq,
        event_id,
        reason,
    });
    report
}

#[allow(clippy::too_many_arguments)]
async fn check_digests(
    tx: &TenantTx,
    signer: &DigestSigner,
    tenant: Uuid,
    anchor_seq: i64,
    chain_end: i64,
    start: Option<i64>,
    end: Option<i64>,
    range: &Range,
    mut report: Verification,
) -> Result<Verification, DbErr> {
    // Digests within the range; without an end, every later digest too (a truncated tail shows there).
    let upper = if range.to.is_some() {
        end.unwrap_or(anchor_seq)
    } else {
        i64::MAX
    };
    let lower = start.unwrap_or(anchor_seq + 1).max(anchor_seq + 1);
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT d.seq, d.hash, d.signed_at, d.key_id, d.signature, k.public_key, s.hash AS seal_hash \
             FROM audit_digests d \
             LEFT JOIN audit_signing_keys k ON k.key_id = d.key_id \
             LEFT JOIN audit_seals s ON s.tenant_id = d.tenant_id AND s.seq = d.seq \
             WHERE d.tenant_id = $1 AND d.seq BETWEEN $2 AND $3 ORDER BY d.seq",
            [tenant.into(), lower.into(), upper.into()],
        ))
        .await?;
    for row in rows {
        let seq: i64 = row.try_get("", "seq")?;
        let hash: Vec<u8> = row.try_get("", "hash")?;
        let signed_at = row
            .try_get::<DateTime<FixedOffset>>("", "signed_at")?
            .to_utc();
        let kid: String = row.try_get("", "key_id")?;
        let signature: Vec<u8> = row.try_get("", "signature")?;
        let published: Option<Vec<u8>> = row.try_get("", "public_key")?;
        let seal_hash: Option<Vec<u8>> = row.try_get("", "seal_hash")?;
        let held = signer.ring_key(&kid);
        let key = match (&held, &published) {
            (Some(held), Some(published)) if held.as_slice() != published.as_slice() => {
                return Ok(broken(
                    report,
                    BreakKind::DigestMismatch,
                    Some(seq),
                    None,
                    format!("the published key {kid} is not the server's key {kid}"),
                ));
            }
            (Some(held), _) => Some(held.to_vec()),
            (None, Some(published)) => Some(published.clone()),
            (None, None) => None,
        };
        let message = chain::digest_message(tenant, seq, &hash, signed_at.timestamp_micros());
        if !key.is_some_and(|key| signing::verify(&key, &message, &signature)) {
            return Ok(broken(
                report,
                BreakKind::DigestMismatch,
                Some(seq),
                None,
                format!("the digest of sequence {seq} does not verify with key {kid}"),
            ));
        }
        match seal_hash {
            None if seq > chain_end => {
                return Ok(broken(
                    report,
                    BreakKind::Truncated,
                    Some(chain_end + 1),
                    None,
                    format!(
                        "the digest signed at {} commits to sequence {seq}; the chain ends at {chain_end}",
                        signed_at.to_rfc3339()
                    ),
                ));
            }
            None => {
                return Ok(broken(
                    report,
                    BreakKind::Missing,
                    Some(seq),
                    None,
                    format!("the seal of sequence {seq}, which a digest signed, is gone"),
                ));
            }
            Some(sealed) if sealed != hash => {
                return Ok(broken(
                    report,
                    BreakKind::DigestMismatch,
                    Some(seq),
                    None,
                    format!("the chain's hash at sequence {seq} is not the one its digest signed"),
                ));
            }
            Some(_) => report.digests_checked += 1,
        }
    }
    Ok(report)
}

/// One seal and, when it is still there, its event.
struct SealRow {
    seq: i64,
    event_id: Uuid,
    hash: [u8; 32],
    late: bool,
    event: Option<Event>,
}

impl SealRow {
    fn read(row: &QueryResult) -> Result<SealRow, DbErr> {
        let hash: Vec<u8> = row.try_get("", "s_hash")?;
        let present: Option<Uuid> = row.try_get("", "id")?;
        Ok(SealRow {
            seq: row.try_get("", "s_seq")?,
            event_id: row.try_get("", "s_event_id")?,
            hash: chain::hash32(&hash).unwrap_or([0; 32]),
            late: row.try_get("", "s_late")?,
            event: match present {
                Some(_) => Some(Event::from_query_result(row, "")?),
                None => None,
            },
        })
    }
}

async fn seals_from(
    tx: &TenantTx,
    tenant: Uuid,
    start: i64,
    end: i64,
) -> Result<Vec<QueryResult>, DbErr> {
    tx.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT s.seq AS s_seq, s.event_id AS s_event_id, s.hash AS s_hash, s.late AS s_late, {COLUMNS} \
             FROM audit_seals s LEFT JOIN audit_events e \
               ON e.tenant_id = s.tenant_id AND e.occurred_at = s.occurred_at AND e.id = s.event_id \
             WHERE s.tenant_id = $1 AND s.seq BETWEEN $2 AND $3 ORDER BY s.seq LIMIT {PAGE}"
        ),
        [tenant.into(), start.into(), end.into()],
    ))
    .await
}

async fn anchor(tx: &TenantTx, tenant: Uuid) -> Result<(i64, [u8; 32]), DbErr> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT seq, hash FROM audit_anchors WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
            [tenant.into()],
        ))
        .await?;
    match row {
        Some(row) => {
            let hash: Vec<u8> = row.try_get("", "hash")?;
            Ok((
                row.try_get("", "seq")?,
                chain::hash32(&hash).unwrap_or([0; 32]),
            ))
        }
        None => Ok((0, chain::GENESIS)),
    }
}

/// The first seal dated at or after `at` (`first`), or the last dated before it.
async fn seq_at(
    tx: &TenantTx,
    tenant: Uuid,
    at: DateTime<Utc>,
    first: bool,
) -> Result<Option<i64>, DbErr> {
    let sql = if first {
        "SELECT seq FROM audit_seals WHERE tenant_id = $1 AND occurred_at >= $2 \
         ORDER BY occurred_at, seq LIMIT 1"
    } else {
        "SELECT seq FROM audit_seals WHERE tenant_id = $1 AND occurred_at < $2 \
         ORDER BY occurred_at DESC, seq DESC LIMIT 1"
    };
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [tenant.into(), at.into()],
        ))
        .await?;
    row.map(|row| row.try_get("", "seq")).transpose()
}

async fn max_seq(tx: &TenantTx, tenant: Uuid) -> Result<Option<i64>, DbErr> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT max(seq) AS seq FROM audit_seals WHERE tenant_id = $1",
            [tenant.into()],
        ))
        .await?;
    Ok(row.map(|row| row.try_get("", "seq")).transpose()?.flatten())
}

async fn seal_hash(tx: &TenantTx, tenant: Uuid, seq: i64) -> Result<Option<[u8; 32]>, DbErr> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT hash FROM audit_seals WHERE tenant_id = $1 AND seq = $2",
            [tenant.into(), seq.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => chain::hash32(&row.try_get::<Vec<u8>>("", "hash")?),
        None => None,
    })
}

/// An event in the range, dated before `before`, that no seal covers.
async fn unsealed_before(
    tx: &TenantTx,
    tenant: Uuid,
    range: &Range,
    before: DateTime<Utc>,
) -> Result<Option<(Uuid, DateTime<Utc>)>, DbErr> {
    let until = range.to.map_or(before, |to| to.min(before));
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT e.id, e.occurred_at FROM audit_events e \
             WHERE e.tenant_id = $1 AND e.occurred_at >= coalesce($2, '-infinity'::timestamptz) \
               AND e.occurred_at < $3 \
               AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.tenant_id = e.tenant_id AND s.event_id = e.id) \
             ORDER BY e.occurred_at LIMIT 1",
            [tenant.into(), range.from.into(), until.into()],
        ))
        .await?;
    match row {
        Some(row) => Ok(Some((
            row.try_get("", "id")?,
            row.try_get::<DateTime<FixedOffset>>("", "occurred_at")?
                .to_utc(),
        ))),
        None => Ok(None),
    }
}
