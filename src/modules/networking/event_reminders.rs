//! The `event.reminder` job: 24 hours before an event, a mail with its calendar file to each active
//! member going. The job carries the event's `sequence` when it was queued; a change that moves the
//! event raises the sequence and queues a new job, so a job for an older sequence, a cancelled event or
//! one already begun does nothing. Each RSVP keeps the sequence it was reminded of, marked in the same
//! transaction as the mail is queued, so a job run twice reminds nobody twice.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::events;
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    auth::service::org_name,
    clock::SharedClock,
    crypto::Crypto,
    db::sql::statement,
    domain::TenantId,
    http::context::RequestContext,
    jobs::worker::JobError,
    mail::{self, MailTemplate, Notice},
    tenancy::TenantTx,
};

#[derive(Debug, FromQueryResult)]
struct Due {
    user_id: Uuid,
    name: String,
    email: String,
}

/// "in 24 hours", "in 5 hours": the time left, to the nearest hour.
fn lead(ahead: chrono::Duration) -> String {
    let hours = (ahead.num_minutes() + 30) / 60;
    if hours == 1 {
        "in one hour".into()
    } else {
        format!("in {hours} hours")
    }
}

pub async fn run(
    pool: &PgPool,
    clock: &SharedClock,
    crypto: &Crypto,
    tenant: TenantId,
    payload: &Value,
) -> Result<(), JobError> {
    let event_id: Uuid = payload["event_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| JobError::Permanent("event reminder without an event_id".into()))?;
    let sequence = payload["sequence"]
        .as_i64()
        .ok_or_else(|| JobError::Permanent("event reminder without a sequence".into()))?;
    let retry = |e: DbErr| JobError::Retry(format!("database: {e}"));
    let tx = TenantTx::begin(pool, tenant, None).await.map_err(retry)?;
    let ctx = AuditCtx {
        actor: Actor::system("event reminders"),
        request: RequestContext::default(),
        now: clock.now(),
    };
    let event = match events::get(&tx, Uuid::nil(), event_id, true).await {
        Ok(event) => event,
        // Deleted with its organization's data: nothing to say.
        Err(crate::error::ApiError::NotFound { .. }) => return tx.commit().await.map_err(retry),
        Err(other) => return Err(JobError::Retry(other.to_string())),
    };
    // Too late within the last hour (a backlog, retries): the reminder would only be noise.
    let ahead = event.starts_at.to_utc() - ctx.now;
    if event.status != "scheduled"
        || i64::from(event.sequence) != sequence
        || ahead < chrono::Duration::hours(1)
    {
        return tx.commit().await.map_err(retry);
    }
    let due = Due::find_by_statement(statement(
        "SELECT r.user_id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS name, u.email \
         FROM event_rsvps r JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND r.event_id = $2 AND r.status = 'going' AND u.status = 'active' \
         AND r.reminded_sequence IS DISTINCT FROM $3 ORDER BY r.responded_at, r.user_id",
        vec![
            tx.tenant_id().as_uuid().into(),
            event_id.into(),
            event.sequence.into(),
        ],
    ))
    .all(&tx)
    .await
    .map_err(retry)?;
    if due.is_empty() {
        return tx.commit().await.map_err(retry);
    }
    let org = org_name(&tx)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    for person in &due {
        let mut lines = vec![event.when()];
        if !event.location.is_empty() {
            lines.push(format!("Where: {}", event.location));
        }
        if let Some(url) = &event.meeting_url {
            lines.push(format!("Join: {url}"));
        }
        let notice = Notice {
            link: None,
            org_name: org.clone(),
            name: person.name.clone(),
            subject: format!("reminder: {}", event.title),
            headline: format!("{} starts {}.", event.title, lead(ahead)),
            lines,
            next:
                "The attached calendar file adds it to your calendar, or updates it. If you cannot \
                   come, cancel your RSVP so someone on the waitlist gets your place."
                    .into(),
        };
        mail::enqueue_with(
            &tx,
            crypto,
            ctx.now,
            &person.email,
            MailTemplate::Notice(notice),
            vec![event.calendar_file()],
        )
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    }
    let users: Vec<Uuid> = due.iter().map(|d| d.user_id).collect();
    tx.execute_raw(statement(
        "UPDATE event_rsvps SET reminded_sequence = $3 WHERE tenant_id = $1 AND event_id = $2 AND user_id = ANY($4)",
        vec![
            tx.tenant_id().as_uuid().into(),
            event_id.into(),
            event.sequence.into(),
            users.into(),
        ],
    ))
    .await
    .map_err(retry)?;
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("network_event.reminders_sent")
            .target("network_event", event_id, Some(event.title.as_str()))
            .metadata(json!({ "sequence": event.sequence, "count": due.len() })),
    )
    .await
    .map_err(retry)?;
    tx.commit().await.map_err(retry)
}
