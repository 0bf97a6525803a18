//! The job worker. It connects as `trellis_worker`, whose extra policy on `jobs` lets it see every
//! tenant's jobs; each job's tenant work then runs in a `TenantTx` of that job's tenant, like a request.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Row, postgres::PgListener};
use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

use super::JobKind;
use crate::modules::imports::process::{Extent, Progress};
use crate::{
    audit::{
        sealer::Sealer,
        stream::{delivery::Streamer, sender::Sender},
    },
    clock::SharedClock,
    config::{AuditSettings, JobsSettings},
    coordination::RedisStore,
    crypto::Crypto,
    domain::TenantId,
    mail::Mailer,
    modules::analytics::rollup::Rollup,
};

/// A job this worker holds the lease of.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    /// Including this one.
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Why a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt later (an SMTP server that did not answer).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (a payload that no longer opens): parked as dead at once.
    #[error("{0}")]
    Permanent(String),
}

pub struct Worker {
    pool: PgPool,
    id: String,
    clock: SharedClock,
    mailer: Arc<Mailer>,
    crypto: Arc<Crypto>,
    settings: JobsSettings,
    /// Where progress is announced to every instance (imports), when there is Redis.
    notify: Option<RedisStore>,
    /// The audit log's upkeep: chaining, streaming, retention, partitions.
    audit: Option<AuditWork>,
    /// Usage analytics' roll-up and how often it runs.
    usage: Option<(Rollup, Duration)>,
    /// Set when [`Worker::run`] is told to stop: long jobs (imports) hand themselves back at their
    /// next checkpoint, and no further job is claimed.
    stopping: Arc<AtomicBool>,
}

/// What the worker needs to keep the audit log: see [`Worker::with_audit`].
pub struct AuditJobs {
    pub sealer: Sealer,
    /// Posts to the organizations' log streams.
    pub sender: Arc<Sender>,
    pub settings: AuditSettings,
    /// Monthly audit partitions kept ahead of time.
    pub partitions_ahead: i32,
    /// The plans whose organizations' log streams are delivered.
    pub stream_plans: Vec<String>,
}

struct AuditWork {
    sealer: Sealer,
    streamer: Arc<Streamer>,
    /// How often retention and partition upkeep run.
    upkeep_every: Duration,
    partitions_ahead: i32,
}

impl Worker {
    pub fn new(
        pool: PgPool,
        clock: SharedClock,
        mailer: Arc<Mailer>,
        crypto: Arc<Crypto>,
        settings: JobsSettings,
    ) -> Worker {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        Worker {
            id: format!("{host}:{}:{}", std::process::id(), Uuid::now_v7().simple()),
            pool,
            clock,
            mailer,
            crypto,
            settings,
            notify: None,
            audit: None,
            usage: None,
            stopping: Arc::default(),
        }
    }

    /// This worker's name in `jobs.locked_by`.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.settings.lease_secs.max(1) as i64)
    }

    /// Runs due jobs (queued and ripe, or running with an expired lease) one after another, up to the
    /// batch size, and returns how many it ran. Each is claimed only when the previous one is done, so
    /// no job holds a lease (without a heartbeat) while it waits its turn here, and another worker can
    /// take it. Tests call this to drain the queue deterministically.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        let mut ran = 0;
        while (ran as i64) < self.settings.batch.max(1) && !self.stopping.load(Ordering::Acquire) {
            let Some(job) = self.claim().await? else {
                break;
            };
            self.process(&job).await;
            ran += 1;
        }
        Ok(ran)
    }

    /// Takes the lease of the oldest due job, skipping those another worker holds.
    pub async fn claim(&self) -> Result<Option<ClaimedJob>, sqlx::Error> {
        let now = self.clock.now();
        let row = sqlx::query(
            "UPDATE jobs AS j SET status = 'running', attempts = j.attempts + 1, locked_by = $1, \
                    locked_until = $2, updated_at = $3 \
             FROM (SELECT tenant_id, id FROM jobs \
                   WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3) \
                   ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) AS due \
             WHERE j.tenant_id = due.tenant_id AND j.id = due.id \
             RETURNING j.tenant_id, j.id, j.kind, j.payload, j.attempts, j.max_attempts",
        )
        .bind(&self.id)
        .bind(now + self.lease())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ClaimedJob {
                tenant_id: row.try_get("tenant_id")?,
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
            })
        })
        .transpose()
    }

    async fn process(&self, job: &ClaimedJob) {
        let span = tracing::info_span!("job", job_id = %job.id, tenant_id = %job.tenant_id, kind = %job.kind, attempt = job.attempts);
        let _entered = span.enter();
        if job.attempts > job.max_attempts {
            // Its last attempt was claimed by a worker that died before finishing.
            self.finish(
                job,
                Outcome::Dead("the last attempt's worker stopped before finishing".into()),
            )
            .await;
            return;
        }
        let heartbeat = self.spawn_heartbeat(job);
        let result = self.execute(job).await;
        heartbeat.abort();
        let outcome = match result {
            Ok(Ran::Finished) => Outcome::Succeeded,
            Ok(Ran::HandedBack) => Outcome::HandedBack,
            Err(JobError::Permanent(error)) => Outcome::Dead(error),
            Err(JobError::Retry(error)) if job.attempts >= job.max_attempts => Outcome::Dead(error),
            Err(JobError::Retry(error)) => Outcome::Retry(error),
        };
        self.finish(job, outcome).await;
    }

    async fn execute(&self, job: &ClaimedJob) -> Result<Ran, JobError> {
        let tenant = TenantId::from_uuid(job.tenant_id);
        match JobKind::parse(&job.kind) {
            Some(JobKind::SendMail) => {
                crate::mail::deliver(&self.mailer, &self.crypto, tenant, &job.payload)
                    .await
                    .map(|()| Ran::Finished)
            }
            Some(JobKind::ImportRun) => crate::modules::imports::process::run(
                &self.pool,
                &self.clock,
                &self.crypto,
                self.notify.as_ref(),
                tenant,
                &job.payload,
                Extent::UnlessStopped(&self.stopping),
            )
            .await
            .map(|progress| match progress {
                Progress::Finished => Ran::Finished,
                Progress::Paused => Ran::HandedBack,
            }),
            Some(JobKind::InterviewNotice) => crate::modules::interview::reminders::run(
                &self.pool,
                &self.clock,
                &self.crypto,
                tenant,
                job.id,
                &job.payload,
            )
            .await
            .map(|()| Ran::Finished),
            Some(JobKind::EventReminder) => crate::modules::networking::event_reminders::run(
                &self.pool,
                &self.clock,
                &self.crypto,
                tenant,
                &job.payload,
            )
            .await
            .map(|()| Ran::Finished),
            Some(JobKind::ReviewReminder) => crate::modules::workspaces::review_reminders::run(
                &self.pool,
                &self.clock,
                &self.crypto,
                tenant,
                &job.payload,
            )
            .await
            .map(|()| Ran::Finished),
            Some(JobKind::NotificationDigest) => crate::modules::notifications::digest::run(
                &self.pool,
                &self.clock,
                &self.crypto,
                tenant,
                &job.payload,
            )
            .await
            .map(|()| Ran::Finished),
            None => Err(JobError::Permanent(format!(
                "unknown job kind {}",
                job.kind
            ))),
        }
    }

    /// Announce progress (of imports) on Redis, so progress streams on every instance wake at once.
    pub fn with_notifier(mut self, store: RedisStore) -> Worker {
        self.notify = Some(store);
        self
    }

    /// Keeps the audit log: seals new events and delivers the organizations' log streams (each every
    /// second, in tasks of their own), applies retention and makes the coming months' partitions every
    /// `audit.retention_interval_secs`.
    pub fn with_audit(mut self, jobs: AuditJobs) -> Worker {
        let streamer = Arc::new(Streamer::new(
            self.pool.clone(),
            self.clock.clone(),
            self.crypto.clone(),
            jobs.sender,
            jobs.settings.clone(),
            self.id.clone(),
            jobs.stream_plans,
        ));
        self.audit = Some(AuditWork {
            sealer: jobs.sealer,
            streamer,
            upkeep_every: Duration::from_secs(jobs.settings.retention_interval_secs.max(1)),
            partitions_ahead: jobs.partitions_ahead,
        });
        self
    }

    /// Rolls up usage every `every` and keeps its daily partitions (ahead, and past retention dropped).
    pub fn with_usage(mut self, rollup: Rollup, every: Duration) -> Worker {
        self.usage = Some((rollup, every));
        self
    }

    /// Rolls up every organization's unfinished days of usage now; returns the days rolled up.
    pub async fn roll_up_usage(&self) -> Result<u64, sea_orm::DbErr> {
        match &self.usage {
            Some((rollup, _)) => rollup.run().await,
            None => Ok(0),
        }
    }

    /// Makes the coming days' usage partitions and drops those past retention: (created, dropped).
    pub async fn keep_usage_partitions(&self) -> Result<(i32, i32), sqlx::Error> {
        match &self.usage {
            Some((rollup, _)) => rollup.keep_partitions().await,
            None => Ok((0, 0)),
        }
    }

    /// Rolls usage up every `usage.rollup_interval_secs` and keeps its partitions every hour, until
    /// `shutdown`.
    async fn maintain_usage(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Some((_, every)) = &self.usage else {
            return;
        };
        let mut last_partitions: Option<tokio::time::Instant> = None;
        loop {
            if last_partitions.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                match self.keep_usage_partitions().await {
                    Ok((0, 0)) => {}
                    Ok((created, dropped)) => {
                        tracing::info!(created, dropped, "usage partitions kept")
                    }
                    Err(error) => tracing::warn!(%error, "keeping usage partitions failed"),
                }
                last_partitions = Some(tokio::time::Instant::now());
            }
            if let Err(error) = self.roll_up_usage().await {
                tracing::warn!(%error, "rolling up usage failed");
            }
            if !sleep_unless_shutdown(&mut shutdown, *every).await {
                return;
            }
        }
    }

    /// Chains every tenant's new audit events (and signs heads that are due); returns how many events.
    /// [`Worker::run`] does it every second; tests call it to seal deterministically.
    pub async fn seal_audit(&self) -> Result<u64, sea_orm::DbErr> {
        match &self.audit {
            Some(audit) => audit.sealer.seal_all().await,
            None => Ok(0),
        }
    }

    /// Sends every due log stream its sealed, undelivered events; returns how many were delivered.
    pub async fn deliver_audit_streams(&self) -> Result<u64, sea_orm::DbErr> {
        match &self.audit {
            Some(audit) => audit.streamer.deliver_all().await,
            None => Ok(0),
        }
    }

    /// Applies every organization's audit retention now; returns the events deleted.
    pub async fn apply_audit_retention(&self) -> Result<u64, sea_orm::DbErr> {
        crate::audit::retention::apply_all(&self.pool, self.clock.now()).await
    }

    /// Makes this month's audit partition and the configured months ahead (with the owner's rights, by
    /// a function the worker may call); returns how many it created.
    pub async fn ensure_audit_partitions(&self) -> Result<i32, sqlx::Error> {
        let ahead = self.audit.as_ref().map_or(0, |a| a.partitions_ahead);
        sqlx::query_scalar("SELECT app.ensure_audit_partitions($1)")
            .bind(ahead)
            .fetch_one(&self.pool)
            .await
    }

    /// Seals new audit events every second, and applies retention and makes partitions when due, until
    /// `shutdown`; a task of its own, so a long job (an import) never delays the chain.
    async fn maintain_audit(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Some(audit) = &self.audit else {
            return;
        };
        let mut last_upkeep: Option<tokio::time::Instant> = None;
        loop {
            if let Err(error) = self.seal_audit().await {
                tracing::warn!(%error, "sealing audit events failed");
            }
            if last_upkeep.is_none_or(|at| at.elapsed() >= audit.upkeep_every) {
                match self.apply_audit_retention().await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "audit retention applied"),
                    Err(error) => tracing::warn!(%error, "applying audit retention failed"),
                }
                match self.ensure_audit_partitions().await {
                    Ok(0) => {}
                    Ok(created) => tracing::info!(created, "audit partitions created"),
                    Err(error) => tracing::warn!(%error, "creating audit partitions failed"),
                }
                last_upkeep = Some(tokio::time::Instant::now());
            }
            if !sleep_unless_shutdown(&mut shutdown, Duration::from_secs(1)).await {
                return;
            }
        }
    }

    /// Starts the due log streams' deliveries every second until `shutdown`; a task of its own, so a
    /// slow receiver never delays the chain (nor, having its own slot, the other organizations).
    async fn stream_audit(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Some(audit) = &self.audit else {
            return;
        };
        loop {
            if let Err(error) = audit.streamer.start_due().await {
                tracing::warn!(%error, "delivering audit streams failed");
            }
            if !sleep_unless_shutdown(&mut shutdown, Duration::from_secs(1)).await {
                return;
            }
        }
    }

    /// Extends the lease while the job runs, so a long job is not taken by another worker.
    fn spawn_heartbeat(&self, job: &ClaimedJob) -> JoinHandle<()> {
        let pool = self.pool.clone();
        let clock = self.clock.clone();
        let lease = self.lease();
        let (tenant_id, id, worker) = (job.tenant_id, job.id, self.id.clone());
        let every = Duration::from_secs((self.settings.lease_secs / 3).max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let extended = sqlx::query(
                    "UPDATE jobs SET locked_until = $4 \
                     WHERE tenant_id = $1 AND id = $2 AND locked_by = $3 AND status = 'running'",
                )
                .bind(tenant_id)
                .bind(id)
                .bind(&worker)
                .bind(clock.now() + lease)
                .execute(&pool)
                .await;
                if let Err(error) = extended {
                    tracing::warn!(%error, job_id = %id, "heartbeat failed");
                }
            }
        })
    }

    async fn finish(&self, job: &ClaimedJob, outcome: Outcome) {
        let now = self.clock.now();
        let (status, run_at, error) = match &outcome {
            Outcome::Succeeded => ("succeeded", now, None),
            Outcome::HandedBack => ("queued", now, None),
            Outcome::Retry(error) => (
                "queued",
                now + self.backoff(job.attempts),
                Some(error.as_str()),
            ),
            Outcome::Dead(error) => ("dead", now, Some(error.as_str())),
        };
        match &outcome {
            Outcome::Succeeded => tracing::info!("job succeeded"),
            Outcome::HandedBack => tracing::info!("job handed back at a checkpoint (stopping)"),
            Outcome::Retry(error) => tracing::warn!(%error, %run_at, "job failed; will retry"),
            Outcome::Dead(error) => tracing::error!(%error, "job failed for good; parked as dead"),
        }
        let result = sqlx::query(
            "UPDATE jobs SET status = $4, run_at = $5, last_error = $6, locked_by = NULL, locked_until = NULL, updated_at = $7, \
                    attempts = greatest(attempts - $8, 0) \
             WHERE tenant_id = $1 AND id = $2 AND locked_by = $3",
        )
        .bind(job.tenant_id)
        .bind(job.id)
        .bind(&self.id)
        .bind(status)
        .bind(run_at)
        .bind(error.map(|e| e.chars().take(2000).collect::<String>()))
        .bind(now)
        // A job handed back was cut short by the stop: that attempt does not count.
        .bind(i32::from(matches!(outcome, Outcome::HandedBack)))
        .execute(&self.pool)
        .await;
        match result {
            Ok(done) if done.rows_affected() == 0 => {
                tracing::warn!(
                    "the job's lease was lost before it finished; another worker owns it"
                )
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "could not record the job's outcome"),
        }
    }

    /// Retry n waits `base * 2^(n-1)`, capped.
    fn backoff(&self, attempts: i32) -> chrono::Duration {
        let exponent = attempts.clamp(1, 30) as u32 - 1;
        let secs = self
            .settings
            .backoff_base_secs
            .saturating_mul(2u64.saturating_pow(exponent))
            .min(self.settings.backoff_max_secs);
        chrono::Duration::seconds(secs as i64)
    }

    /// Hands back the jobs this worker holds (on shutdown): they are due again at once, and the attempt
    /// that was cut short does not count.
    pub async fn release_leases(&self) -> Result<u64, sqlx::Error> {
        sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), locked_by = NULL, \
                    locked_until = NULL, updated_at = $2 \
             WHERE locked_by = $1 AND status = 'running'",
        )
        .bind(&self.id)
        .bind(self.clock.now())
        .execute(&self.pool)
        .await
        .map(|done| done.rows_affected())
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for new jobs; polling only");
                return None;
            }
        };
        match listener.listen(super::QUEUED_CHANNEL).await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for new jobs; polling only");
                None
            }
        }
    }

    /// Deletes succeeded jobs older than the retention; dead jobs stay for inspection.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let before: DateTime<Utc> =
            self.clock.now() - chrono::Duration::days(self.settings.retention_days.max(1));
        sqlx::query("DELETE FROM jobs WHERE status = 'succeeded' AND updated_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
    }

    /// Runs due jobs until `shutdown` turns true, then releases its leases. It wakes when a transaction
    /// that queued a job commits (`LISTEN`, see [`super::enqueue`]), and polls as well: for jobs due later,
    /// and while the listening connection is down.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "job worker started");
        // A job under way learns of the stop at its next checkpoint (a worker may be run again).
        self.stopping.store(false, Ordering::Release);
        let stopping = self.stopping.clone();
        let mut told = shutdown.clone();
        tokio::spawn(async move {
            while !*told.borrow_and_update() {
                if told.changed().await.is_err() {
                    return;
                }
            }
            stopping.store(true, Ordering::Release);
        });
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        let mut listener = self.listen().await;
        let mut last_prune = tokio::time::Instant::now();
        let usage = self
            .usage
            .is_some()
            .then(|| tokio::spawn(self.clone().maintain_usage(shutdown.clone())));
        let audit = self.audit.is_some().then(|| {
            (
                tokio::spawn(self.clone().maintain_audit(shutdown.clone())),
                tokio::spawn(self.clone().stream_audit(shutdown.clone())),
            )
        });
        loop {
            let ran = match self.run_once().await {
                Ok(ran) => ran,
                Err(error) => {
                    tracing::warn!(%error, "claiming jobs failed");
                    0
                }
            };
            if last_prune.elapsed() > Duration::from_secs(600) {
                if let Err(error) = self.prune().await {
                    tracing::warn!(%error, "pruning finished jobs failed");
                }
                last_prune = tokio::time::Instant::now();
            }
            // A full batch means more may be waiting: go again at once.
            if ran as i64 >= self.settings.batch {
                if *shutdown.borrow() {
                    break;
                }
                continue;
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(poll) => {}
                woke = next_notification(&mut listener) => {
                    if let Err(error) = woke {
                        tracing::warn!(%error, "listening for new jobs failed; polling only");
                        listener = None;
                    }
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
        if let Some((chain, streams)) = audit {
            let _ = chain.await;
            let _ = streams.await;
        }
        if let Some(usage) = usage {
            let _ = usage.await;
        }
        match self.release_leases().await {
            Ok(released) => tracing::info!(released, "job worker stopped"),
            Err(error) => tracing::warn!(%error, "job worker stopped without releasing its leases"),
        }
    }
}

/// How a job's run ended without an error.
enum Ran {
    Finished,
    /// It stopped at a checkpoint because the worker is stopping; it is due again at once.
    HandedBack,
}

enum Outcome {
    Succeeded,
    HandedBack,
    Retry(String),
    Dead(String),
}

/// Sleeps `period`; false when `shutdown` turned true meanwhile.
async fn sleep_unless_shutdown(shutdown: &mut watch::Receiver<bool>, period: Duration) -> bool {
    tokio::select! {
        _ = shutdown.changed() => {}
        _ = tokio::time::sleep(period) => {}
    }
    !*shutdown.borrow()
}

/// The next "a job was queued" notification; never, without a listener.
async fn next_notification(listener: &mut Option<PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}
