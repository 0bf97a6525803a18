//! The job queue lives in PostgreSQL (`jobs`), so a job is enqueued in the same transaction as the change
//! that needs it: both commit or neither does. [`enqueue`] runs on the request's `TenantTx`; the
//! [`worker::Worker`] claims across tenants as `trellis_worker` with `FOR UPDATE SKIP LOCKED`, holds a
//! lease it extends by heartbeat while the job runs, retries with exponential backoff and parks a job as
//! `dead` after its last attempt. A crashed worker's jobs come back when their lease runs out; a worker
//! that shuts down releases its leases at once. `trellis serve` runs a worker in-process by default,
//! `trellis worker` runs one alone, and tests drain the queue with `run_once()`.

pub mod worker;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::tenancy::TenantTx;

/// What a job does; its payload's shape depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// `{"sealed": <crypto-sealed OutgoingMail>}`: deliver one email.
    SendMail,
    /// `{"import_id", "chunk_rows", "confirm_deactivations"}`: commit an import, chunk by chunk.
    ImportRun,
    /// `{"interview_id", "lead_minutes"}`: remind a member of an interview they recorded (`lead_minutes`
    /// null: tell them it is cancelled).
    InterviewNotice,
    /// `{"event_id", "sequence"}`: remind those going to an event, if it still stands as it was.
    EventReminder,
    /// `{"review_id", "turn"}`: remind the approvers a review waits on, if it still does.
    ReviewReminder,
    /// `{"user_id"}`: mail a member the digest of their notifications not mailed yet.
    NotificationDigest,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::SendMail => "mail.send",
            JobKind::ImportRun => "import.run",
            JobKind::InterviewNotice => "interview.notice",
            JobKind::EventReminder => "event.reminder",
            JobKind::ReviewReminder => "review.reminder",
            JobKind::NotificationDigest => "notification.digest",
        }
    }

    pub fn parse(kind: &str) -> Option<JobKind> {
        match kind {
            "mail.send" => Some(JobKind::SendMail),
            "import.run" => Some(JobKind::ImportRun),
            "interview.notice" => Some(JobKind::InterviewNotice),
            "event.reminder" => Some(JobKind::EventReminder),
            "review.reminder" => Some(JobKind::ReviewReminder),
            "notification.digest" => Some(JobKind::NotificationDigest),
            _ => None,
        }
    }

    /// Attempts before a job of this kind is parked as dead.
    pub fn max_attempts(self) -> i32 {
        match self {
            JobKind::SendMail => 8,
            JobKind::ImportRun => 10,
            JobKind::InterviewNotice => 5,
            JobKind::EventReminder => 5,
            JobKind::ReviewReminder => 5,
            JobKind::NotificationDigest => 5,
        }
    }
}

/// Queues a job in the request's transaction; it runs once the transaction commits.
/// The channel a transaction that queued a job notifies on commit; workers `LISTEN` to it.
pub const QUEUED_CHANNEL: &str = "trellis_jobs_queued";

pub async fn enqueue(
    tx: &TenantTx,
    kind: JobKind,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    enqueue_at(tx, kind, payload, now, now).await
}

/// [`enqueue`], for a job that is due at `run_at` (a reminder); until then no worker takes it, and
/// deleting it while it is still `queued` is how it is called off.
pub async fn enqueue_at(
    tx: &TenantTx,
    kind: JobKind,
    payload: Value,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    entity::jobs::Entity::insert(entity::jobs::ActiveModel {
        tenant_id: Set(tx.tenant_id().as_uuid()),
        id: Set(id),
        kind: Set(kind.as_str().to_owned()),
        payload: Set(payload),
        status: Set("queued".into()),
        attempts: Set(0),
        max_attempts: Set(kind.max_attempts()),
        run_at: Set(run_at.into()),
        locked_by: Set(None),
        locked_until: Set(None),
        last_error: Set(None),
        progress: Set(None),
        created_at: Set(now.into()),
        updated_at: Set(now.into()),
    })
    .exec_without_returning(tx)
    .await?;
    // Delivered when the transaction commits (and folded into one per transaction): workers wake at once.
    tx.execute_unprepared(&format!("NOTIFY {QUEUED_CHANNEL}"))
        .await?;
    Ok(id)
}
