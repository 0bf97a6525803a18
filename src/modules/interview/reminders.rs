//! Reminders of a scheduled interview, 24 hours and one hour before it, each by mail with the
//! interview's calendar file attached.
//!
//! Each reminder is a row (`scheduled`, `sent`, `cancelled` or `skipped`) and, while `scheduled`, a
//! job due at the reminder's time ([`jobs::enqueue_at`]), written in the same transaction as the
//! change that needs it. A new time deletes the queued jobs and queues new ones; cancelling the
//! interview or turning its reminders off deletes them. A job that was already running when that
//! happened finds, once it holds the reminder's row, that the row no longer names it, and does
//! nothing: a reminder is sent at most once per scheduling, and never for a time that is gone.
//!
//! The job does not send the mail itself: it renders it and queues a `mail.send` job in its own
//! transaction, together with marking the reminder `sent`, so a failed delivery is retried by the mail
//! job and never sends the reminder twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    calendar::{SCHEDULED_SELECT, ScheduledRow},
    checklist,
};
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    clock::SharedClock,
    crypto::Crypto,
    db::sql::statement,
    domain::TenantId,
    error::ApiError,
    http::context::RequestContext,
    jobs::{self, JobKind, worker::JobError},
    mail::{self, InterviewNotice, MailAttachment, MailTemplate},
    tenancy::TenantTx,
};

/// How long before the interview each reminder goes out, in minutes.
pub const LEADS: [i32; 2] = [1440, 60];

#[derive(Debug, Clone, FromQueryResult)]
pub struct ReminderRow {
    pub interview_id: Uuid,
    pub lead_minutes: i32,
    pub due_at: DateTime<FixedOffset>,
    pub state: String,
    pub job_id: Option<Uuid>,
    pub sent_at: Option<DateTime<FixedOffset>>,
    /// Its job failed for good (parked as dead): it will not go out.
    pub job_dead: bool,
}

impl ReminderRow {
    /// The state as the member sees it: a scheduled reminder whose job is dead is `failed`.
    pub fn shown_state(&self) -> &str {
        if self.state == "scheduled" && self.job_dead {
            "failed"
        } else {
            &self.state
        }
    }
}

/// What becomes of one reminder after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// As it is.
    Keep,
    /// Queued for its due time.
    Schedule,
    /// Its time has passed: not sent.
    Skip,
    /// Called off.
    Cancel,
}

/// The reminder's next state: `current` is its state (none for a new interview), `active` whether the
/// interview is scheduled with reminders on, `retimed` whether its time changed, `due_ahead` whether the
/// reminder's time is still to come.
pub fn next(current: Option<&str>, active: bool, retimed: bool, due_ahead: bool) -> Next {
    if !active {
        return match current {
            None | Some("scheduled") => Next::Cancel,
            Some(_) => Next::Keep,
        };
    }
    let fresh = retimed || matches!(current, None | Some("cancelled"));
    match (fresh, due_ahead, current) {
        (false, _, _) => Next::Keep,
        (true, true, _) => Next::Schedule,
        // Moved to a time whose reminder moment has passed: one sent stays on record.
        (true, false, Some("sent")) => Next::Keep,
        (true, false, _) => Next::Skip,
    }
}

/// Why a due reminder is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// The interview has begun (the job ran late), or the one-hour reminder is about to go out anyway.
    TooLate,
    /// The member cannot sign in any more.
    MemberInactive,
}

/// Whether a reminder `lead` minutes before `starts_at`, running at `now`, still goes out.
pub fn verdict(lead: i32, starts_at: DateTime<Utc>, now: DateTime<Utc>, active: bool) -> Verdict {
    let shortest = LEADS.iter().copied().min().unwrap_or(lead);
    if now >= starts_at
        || (lead > shortest && now >= starts_at - Duration::minutes(i64::from(shortest)))
    {
        Verdict::TooLate
    } else if !active {
        Verdict::MemberInactive
    } else {
        Verdict::Send
    }
}

/// "in 24 hours", "in one hour".
pub fn lead_phrase(lead: i32) -> String {
    match lead {
        60 => "in one hour".to_owned(),
        m if m % 60 == 0 => format!("in {} hours", m / 60),
        m => format!("in {m} minutes"),
    }
}

/// The reminders of `interviews`, the earliest first.
pub async fn of(
    tx: &TenantTx,
    interviews: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<ReminderRow>>, ApiError> {
    let mut by_interview: BTreeMap<Uuid, Vec<ReminderRow>> = BTreeMap::new();
    if interviews.is_empty() {
        return Ok(by_interview);
    }
    let rows = ReminderRow::find_by_statement(statement(
        "SELECT r.interview_id, r.lead_minutes, r.due_at, r.state, r.job_id, r.sent_at, \
         coalesce(j.status = 'dead', false) AS job_dead \
         FROM scheduled_interview_reminders r \
         LEFT JOIN jobs j ON j.tenant_id = r.tenant_id AND j.id = r.job_id \
         WHERE r.tenant_id = $1 AND r.interview_id = ANY($2) ORDER BY r.lead_minutes DESC",
        vec![tx.tenant_id().as_uuid().into(), interviews.to_vec().into()],
    ))
    .all(tx)
    .await?;
    for row in rows {
        by_interview.entry(row.interview_id).or_default().push(row);
    }
    Ok(by_interview)
}

async fn drop_job(tx: &TenantTx, job: Option<Uuid>) -> Result<(), DbErr> {
    if let Some(job) = job {
        tx.execute_raw(statement(
            "DELETE FROM jobs WHERE tenant_id = $1 AND id = $2 AND status = 'queued'",
            vec![tx.tenant_id().as_uuid().into(), job.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Deletes the queued jobs of the interview's scheduled reminders (before it is deleted).
pub async fn drop_jobs(tx: &TenantTx, interview: Uuid) -> Result<(), DbErr> {
    tx.execute_raw(statement(
        "DELETE FROM jobs WHERE tenant_id = $1 AND status = 'queued' AND id IN \
         (SELECT job_id FROM scheduled_interview_reminders \
          WHERE tenant_id = $1 AND interview_id = $2 AND job_id IS NOT NULL)",
        vec![tx.tenant_id().as_uuid().into(), interview.into()],
    ))
    .await?;
    Ok(())
}

/// Brings the interview's reminders in line with it (its row locked by the caller): a reminder whose
/// moment is not the one its row holds counts as retimed — also when the time changed while reminders
/// were off. Returns how many scheduled reminders were called off.
pub async fn sync(
    tx: &TenantTx,
    interview: &ScheduledRow,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    let current = of(tx, &[interview.id])
        .await?
        .remove(&interview.id)
        .unwrap_or_default();
    let active = interview.status == "scheduled" && interview.reminders_enabled;
    let mut called_off = 0;
    for lead in LEADS {
        let existing = current.iter().find(|r| r.lead_minutes == lead);
        let due = interview.starts_at.to_utc() - Duration::minutes(i64::from(lead));
        let retimed = existing.is_some_and(|r| r.due_at.to_utc() != due);
        let (state, job) = match next(
            existing.map(|r| r.state.as_str()),
            active,
            retimed,
            due > now,
        ) {
            Next::Keep => continue,
            Next::Schedule => ("scheduled", true),
            Next::Skip => ("skipped", false),
            Next::Cancel => ("cancelled", false),
        };
        drop_job(tx, existing.and_then(|r| r.job_id)).await?;
        if state == "cancelled" && existing.is_some_and(|r| r.state == "scheduled") {
            called_off += 1;
        }
        let job_id = if job {
            Some(
                jobs::enqueue_at(
                    tx,
                    JobKind::InterviewNotice,
                    json!({ "interview_id": interview.id, "lead_minutes": lead }),
                    due,
                    now,
                )
                .await?,
            )
        } else {
            None
        };
        tx.execute_raw(statement(
            "INSERT INTO scheduled_interview_reminders (tenant_id, interview_id, lead_minutes, due_at, \
             state, job_id, sent_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7) \
             ON CONFLICT (tenant_id, interview_id, lead_minutes) DO UPDATE SET due_at = excluded.due_at, \
             state = excluded.state, job_id = excluded.job_id, sent_at = NULL, updated_at = excluded.updated_at",
            vec![
                tx.tenant_id().as_uuid().into(),
                interview.id.into(),
                lead.into(),
                due.into(),
                state.into(),
                job_id.into(),
                now.into(),
            ],
        ))
        .await?;
    }
    Ok(called_off)
}

/// Queues the cancellation notice of a just-cancelled interview when a reminder carried its calendar
/// file to the member (it may be in their calendar); returns whether it did.
pub async fn announce_cancellation(
    tx: &TenantTx,
    interview: &ScheduledRow,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    if interview.calendar_sent_at.is_none() {
        return Ok(false);
    }
    jobs::enqueue(
        tx,
        JobKind::InterviewNotice,
        json!({ "interview_id": interview.id, "lead_minutes": null }),
        now,
    )
    .await?;
    Ok(true)
}

/// The job: sends the reminder (or the cancellation) `payload` names, if it still stands.
pub async fn run(
    pool: &PgPool,
    clock: &SharedClock,
    crypto: &Crypto,
    tenant: TenantId,
    job_id: Uuid,
    payload: &Value,
) -> Result<(), JobError> {
    let interview: Uuid = payload["interview_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| JobError::Permanent("interview notice without an interview_id".into()))?;
    let lead = payload["lead_minutes"].as_i64().map(|l| l as i32);
    let retry = |e: DbErr| JobError::Retry(format!("database: {e}"));
    let tx = TenantTx::begin(pool, tenant, None).await.map_err(retry)?;
    let ctx = AuditCtx {
        actor: Actor::system("interview reminders"),
        request: RequestContext::default(),
        now: clock.now(),
    };
    let notice = Notice::load(&tx, interview).await.map_err(retry)?;
    let Some(notice) = notice else {
        // Deleted since: nothing to say.
        return tx.commit().await.map_err(retry);
    };
    match lead {
        Some(lead) => remind(&tx, &ctx, crypto, job_id, &notice, lead).await?,
        // Once: the mark is cleared with the mail queued, so a second run finds nothing to do.
        None if notice.row.status == "cancelled"
            && notice.row.calendar_sent_at.is_some()
            && notice.member_active =>
        {
            send(&tx, &ctx, crypto, &notice, None).await?;
            tx.execute_raw(statement(
                "UPDATE scheduled_interviews SET calendar_sent_at = NULL WHERE tenant_id = $1 AND id = $2",
                vec![tx.tenant_id().as_uuid().into(), interview.into()],
            ))
            .await
            .map_err(retry)?;
        }
        None => {}
    }
    tx.commit().await.map_err(retry)
}

async fn remind(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    job_id: Uuid,
    notice: &Notice,
    lead: i32,
) -> Result<(), JobError> {
    let retry = |e: DbErr| JobError::Retry(format!("database: {e}"));
    let reminder = ReminderRow::find_by_statement(statement(
        "SELECT interview_id, lead_minutes, due_at, state, job_id, sent_at, false AS job_dead \
         FROM scheduled_interview_reminders \
         WHERE tenant_id = $1 AND interview_id = $2 AND lead_minutes = $3 FOR UPDATE",
        vec![
            tx.tenant_id().as_uuid().into(),
            notice.row.id.into(),
            lead.into(),
        ],
    ))
    .one(tx)
    .await
    .map_err(retry)?;
    let Some(reminder) = reminder else {
        return Ok(());
    };
    if reminder.state != "scheduled" || reminder.job_id != Some(job_id) {
        // Rescheduled or called off after this job was taken.
        return Ok(());
    }
    let outcome = verdict(
        lead,
        notice.row.starts_at.to_utc(),
        ctx.now,
        notice.member_active,
    );
    let (state, action) = match outcome {
        Verdict::Send => {
            send(tx, ctx, crypto, notice, Some(lead)).await?;
            tx.execute_raw(statement(
                "UPDATE scheduled_interviews SET calendar_sent_at = $3 WHERE tenant_id = $1 AND id = $2",
                vec![
                    tx.tenant_id().as_uuid().into(),
                    notice.row.id.into(),
                    ctx.now.into(),
                ],
            ))
            .await
            .map_err(retry)?;
            ("sent", "scheduled_interview.reminder_sent")
        }
        Verdict::TooLate | Verdict::MemberInactive => {
            ("skipped", "scheduled_interview.reminder_skipped")
        }
    };
    tx.execute_raw(statement(
        "UPDATE scheduled_interview_reminders SET state = $4, job_id = NULL, \
         sent_at = CASE WHEN $4 = 'sent' THEN $5 END, updated_at = $5 \
         WHERE tenant_id = $1 AND interview_id = $2 AND lead_minutes = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            notice.row.id.into(),
            lead.into(),
            state.into(),
            ctx.now.into(),
        ],
    ))
    .await
    .map_err(retry)?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("scheduled_interview", notice.row.id, None)
            .metadata(json!({
                "lead_minutes": lead,
                "user_id": notice.row.user_id,
                "reason": match outcome {
                    Verdict::Send => Value::Null,
                    Verdict::TooLate => json!("too_late"),
                    Verdict::MemberInactive => json!("member_inactive"),
                },
            })),
    )
    .await
    .map_err(retry)?;
    Ok(())
}

/// Renders the reminder (`lead`) or the cancellation (none) with the calendar file and queues it.
async fn send(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    notice: &Notice,
    lead: Option<i32>,
) -> Result<(), JobError> {
    let details = InterviewNotice {
        org_name: notice.org_name.clone(),
        name: notice.name.clone(),
        title: notice.row.title(),
        when: notice.row.when(),
        lead: lead.map(lead_phrase).unwrap_or_default(),
        location: notice.row.location.clone(),
        meeting_url: notice.row.meeting_url.clone(),
        interviewers: notice
            .row
            .interviewers()
            .iter()
            .map(|p| p.label())
            .collect(),
        open_items: notice.open_items.clone(),
    };
    let template = match lead {
        Some(_) => MailTemplate::InterviewReminder(details),
        None => MailTemplate::InterviewCancelled(details),
    };
    let file = MailAttachment {
        filename: "interview.ics".into(),
        content_type: crate::ics::CONTENT_TYPE.into(),
        content: notice.row.calendar_file(),
    };
    mail::enqueue_with(tx, crypto, ctx.now, &notice.email, template, vec![file])
        .await
        .map_err(|e| match e {
            mail::MailError::Db(e) => JobError::Retry(format!("database: {e}")),
            other => JobError::Permanent(other.to_string()),
        })
}

/// What a notice needs, read (the interview locked) in the job's transaction.
struct Notice {
    row: ScheduledRow,
    email: String,
    name: String,
    member_active: bool,
    org_name: String,
    open_items: Vec<String>,
}

impl Notice {
    async fn load(tx: &TenantTx, interview: Uuid) -> Result<Option<Notice>, DbErr> {
        let row = ScheduledRow::find_by_statement(statement(
            &format!("{SCHEDULED_SELECT} WHERE tenant_id = $1 AND id = $2 FOR UPDATE"),
            vec![tx.tenant_id().as_uuid().into(), interview.into()],
        ))
        .one(tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let member = tx
            .query_one_raw(statement(
                "SELECT u.email, u.display_name, u.status, \
                        (SELECT display_name FROM org_settings WHERE tenant_id = u.tenant_id) AS org_name \
                 FROM users u WHERE u.tenant_id = $1 AND u.id = $2",
                vec![tx.tenant_id().as_uuid().into(), row.user_id.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the interview's member".into()))?;
        let email: String = member.try_get("", "email")?;
        let display: String = member.try_get("", "display_name")?;
        let status: String = member.try_get("", "status")?;
        let org_name: Option<String> = member.try_get("", "org_name")?;
        let open_items = checklist::of(tx, &[interview])
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .remove(&interview)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i.done_at.is_none())
            .map(|i| i.label)
            .collect();
        Ok(Some(Notice {
            name: if display.is_empty() {
                email.clone()
            } else {
                display
            },
            email,
            member_active: status == "active",
            org_name: org_name.unwrap_or_else(|| "Your organization".into()),
            open_items,
            row,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_interview_schedules_what_is_ahead_and_skips_what_is_past() {
        assert_eq!(next(None, true, false, true), Next::Schedule);
        assert_eq!(next(None, true, false, false), Next::Skip);
        assert_eq!(next(None, false, false, true), Next::Cancel);
    }

    #[test]
    fn a_new_time_reschedules_even_a_sent_reminder_but_keeps_it_on_record_when_past() {
        assert_eq!(next(Some("sent"), true, true, true), Next::Schedule);
        assert_eq!(next(Some("scheduled"), true, true, true), Next::Schedule);
        assert_eq!(next(Some("skipped"), true, true, true), Next::Schedule);
        assert_eq!(next(Some("sent"), true, true, false), Next::Keep);
        assert_eq!(next(Some("scheduled"), true, true, false), Next::Skip);
    }

    #[test]
    fn other_changes_leave_reminders_alone_and_turning_them_off_cancels_only_scheduled_ones() {
        assert_eq!(next(Some("scheduled"), true, false, true), Next::Keep);
        assert_eq!(next(Some("sent"), true, false, true), Next::Keep);
        assert_eq!(next(Some("scheduled"), false, false, true), Next::Cancel);
        assert_eq!(next(Some("sent"), false, false, true), Next::Keep);
        assert_eq!(next(Some("skipped"), false, true, true), Next::Keep);
        // Turned on again: what was cancelled comes back.
        assert_eq!(next(Some("cancelled"), true, false, true), Next::Schedule);
        assert_eq!(next(Some("cancelled"), true, false, false), Next::Skip);
    }

    #[test]
    fn a_late_job_does_not_remind_of_what_has_begun_or_what_the_hour_reminder_covers() {
        let start = DateTime::parse_from_rfc3339("2026-12-10T13:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            verdict(1440, start, start - Duration::hours(24), true),
            Verdict::Send
        );
        assert_eq!(
            verdict(1440, start, start - Duration::hours(2), true),
            Verdict::Send
        );
        assert_eq!(
            verdict(1440, start, start - Duration::minutes(59), true),
            Verdict::TooLate
        );
        assert_eq!(
            verdict(60, start, start - Duration::minutes(59), true),
            Verdict::Send
        );
        assert_eq!(verdict(60, start, start, true), Verdict::TooLate);
        assert_eq!(
            verdict(60, start, start - Duration::hours(1), false),
            Verdict::MemberInactive
        );
    }

    #[test]
    fn lead_phrases() {
        assert_eq!(lead_phrase(1440), "in 24 hours");
        assert_eq!(lead_phrase(60), "in one hour");
        assert_eq!(lead_phrase(90), "in 90 minutes");
    }
}
