//! What a scrape reads besides the request series: the pool, the database's queues, Redis, the
//! invalidation bus, usage capture and the process.

use std::time::Duration;

use super::exposition::{Exposition, Labels};
use crate::state::AppState;

/// How long a scrape waits for the database before reporting it down.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

struct Queues {
    jobs_ready: i64,
    jobs_oldest_ready_seconds: f64,
    jobs_scheduled: i64,
    jobs_running: i64,
    jobs_stalled: i64,
    jobs_dead: i64,
    audit_unsealed: i64,
    audit_oldest_unsealed_seconds: f64,
}

pub async fn collect(state: &AppState) -> Exposition {
    let mut out = Exposition::default();
    out.header(
        "trellis_build_info",
        "gauge",
        "The running version (always 1).",
    );
    out.sample(
        "trellis_build_info",
        &Labels::new().with("version", env!("CARGO_PKG_VERSION")),
        1.0,
    );
    state.metrics.write(&mut out);
    pool(state, &mut out);
    queues(state, &mut out).await;
    coordination(state, &mut out).await;
    usage(state, &mut out);
    if let Some(bytes) = resident_bytes() {
        out.single(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of this process.",
            bytes as f64,
        );
    }
    out
}

fn pool(state: &AppState, out: &mut Exposition) {
    let open = state.pool.size() as f64;
    let idle = state.pool.num_idle() as f64;
    out.by_label(
        (
            "trellis_db_pool_connections",
            "gauge",
            "The request pool's open connections, in use or idle.",
        ),
        "state",
        &[("in_use", (open - idle).max(0.0)), ("idle", idle)],
    );
    out.single(
        "trellis_db_pool_max_connections",
        "gauge",
        "The request pool's size limit (database.max_connections).",
        f64::from(state.settings.database.max_connections),
    );
}

async fn queues(state: &AppState, out: &mut Exposition) {
    let read = tokio::time::timeout(
        DATABASE_TIMEOUT,
        sqlx::query_as::<_, (i64, f64, i64, i64, i64, i64, i64, f64)>(
            "SELECT * FROM app.operational_metrics()",
        )
        .fetch_one(&state.pool),
    )
    .await;
    let queues = match read {
        Ok(Ok(row)) => Some(Queues {
            jobs_ready: row.0,
            jobs_oldest_ready_seconds: row.1,
            jobs_scheduled: row.2,
            jobs_running: row.3,
            jobs_stalled: row.4,
            jobs_dead: row.5,
            audit_unsealed: row.6,
            audit_oldest_unsealed_seconds: row.7,
        }),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: the database did not answer");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: the database did not answer within 2 s");
            None
        }
    };
    out.single(
        "trellis_database_up",
        "gauge",
        "Whether the database answered this scrape within 2 seconds (through the request pool: a pool exhausted that long reads as down, as it does for requests).",
        if queues.is_some() { 1.0 } else { 0.0 },
    );
    let Some(q) = queues else { return };
    out.by_label(
        (
            "trellis_jobs",
            "gauge",
            "Background jobs by state: ready (due, unclaimed), scheduled (due later), running, stalled (running past its lease: the worker died), dead.",
        ),
        "state",
        &[
            ("ready", q.jobs_ready as f64),
            ("scheduled", q.jobs_scheduled as f64),
            ("running", q.jobs_running as f64),
            ("stalled", q.jobs_stalled as f64),
            ("dead", q.jobs_dead as f64),
        ],
    );
    out.single(
        "trellis_jobs_oldest_ready_age_seconds",
        "gauge",
        "How long the oldest ready job has waited for a worker (0 when none waits).",
        q.jobs_oldest_ready_seconds.max(0.0),
    );
    out.single(
        "trellis_audit_unsealed_events",
        "gauge",
        "Audit events not yet sealed into their organization's hash chain.",
        q.audit_unsealed as f64,
    );
    out.single(
        "trellis_audit_sealing_lag_seconds",
        "gauge",
        "Age of the oldest audit event not yet sealed (0 when all are sealed).",
        q.audit_oldest_unsealed_seconds.max(0.0),
    );
}

async fn coordination(state: &AppState, out: &mut Exposition) {
    out.single(
        "trellis_redis_up",
        "gauge",
        "Whether Redis answered a ping (rate limits, one-time values, invalidation).",
        if state.redis.ping().await { 1.0 } else { 0.0 },
    );
    out.single(
        "trellis_invalidation_live",
        "gauge",
        "Whether cross-instance cache invalidation is subscribed (else caches live at most a second).",
        if state.bus.health().is_up() { 1.0 } else { 0.0 },
    );
}

fn usage(state: &AppState, out: &mut Exposition) {
    let report = state.usage.report();
    out.by_label(
        (
            "trellis_usage_events_total",
            "counter",
            "Usage events since start: accepted into the buffer, written, dropped (buffer full, write failed).",
        ),
        "outcome",
        &[
            ("accepted", report.accepted as f64),
            ("written", report.written as f64),
            ("dropped_buffer_full", report.dropped_buffer_full as f64),
            ("dropped_write_failed", report.dropped_write_failed as f64),
        ],
    );
}

/// `VmRSS` from `/proc/self/status` (Linux), in bytes.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
