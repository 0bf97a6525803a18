//! Events — virtual career fairs, talks, workshops, meetups — with a capacity: members RSVP and are
//! `going` while places last, then `waitlisted`, first come first promoted when a place opens (a
//! cancellation, a larger capacity), with a mail saying so. HR organizes any event; a community's
//! owners organize their community's. Every member sees every event. A reminder mail with the calendar
//! file goes to those going 24 hours before ([`super::event_reminders`]); a cancellation tells everyone.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{Caller, communities};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::service::org_name,
    crypto::Crypto,
    db::sql::statement,
    error::{ApiError, FieldError},
    ics,
    jobs::{self, JobKind},
    mail::{self, MailAttachment, MailTemplate, Notice},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

pub const KINDS: [&str; 5] = ["career_fair", "talk", "workshop", "meetup", "other"];
/// How long before the start the reminder goes out.
pub const REMINDER_LEAD_HOURS: i64 = 24;

#[derive(Debug, Clone, FromQueryResult)]
pub struct EventRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub timezone: String,
    pub location: String,
    pub meeting_url: Option<String>,
    pub capacity: i32,
    pub community_id: Option<Uuid>,
    pub organizer_id: Option<Uuid>,
    pub organizer_name: Option<String>,
    pub status: String,
    pub sequence: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub going: i64,
    pub waitlisted: i64,
    /// The caller's RSVP: `going`, `waitlisted`, or none.
    pub my_status: Option<String>,
}

impl EventRow {
    /// The event's calendar file (cancelled: the file that removes it).
    pub fn calendar_file(&self) -> MailAttachment {
        let uid = format!("{}@events.trellis", self.id);
        let mut description = self.description.clone();
        if let Some(url) = &self.meeting_url {
            description.push_str(&format!("\nJoin: {url}"));
        }
        MailAttachment {
            filename: "event.ics".into(),
            content_type: ics::CONTENT_TYPE.into(),
            content: ics::render(&ics::CalendarEvent {
                uid: &uid,
                sequence: self.sequence,
                stamp: self.updated_at.to_utc(),
                start: self.starts_at.to_utc(),
                end: self.ends_at.to_utc(),
                summary: &self.title,
                description: &description,
                location: (!self.location.is_empty()).then_some(self.location.as_str()),
                url: self.meeting_url.as_deref(),
                cancelled: self.status == "cancelled",
            }),
        }
    }

    /// "Thursday 10 December 2026, 14:00–15:30 CET (Europe/Berlin)".
    pub fn when(&self) -> String {
        match self.timezone.parse::<chrono_tz::Tz>() {
            Ok(tz) => {
                let start = self.starts_at.with_timezone(&tz);
                let end = self.ends_at.with_timezone(&tz);
                let end_format = if end.date_naive() == start.date_naive() {
                    "%H:%M %Z"
                } else {
                    "%A %-d %B %Y, %H:%M %Z"
                };
                format!(
                    "{}–{} ({})",
                    start.format("%A %-d %B %Y, %H:%M"),
                    end.format(end_format),
                    self.timezone
                )
            }
            Err(_) => format!("{} UTC", self.starts_at.to_utc().format("%Y-%m-%d %H:%M")),
        }
    }
}

/// `$1` the tenant, `$2` the caller.
const SELECT: &str = "SELECT e.id, e.title, e.description, e.kind, e.starts_at, e.ends_at, e.timezone, \
     e.location, e.meeting_url, e.capacity, e.community_id, e.organizer_id, \
     CASE WHEN o.display_name = '' THEN o.email ELSE o.display_name END AS organizer_name, e.status, \
     e.sequence, e.created_at, e.updated_at, \
     (SELECT count(*) FROM event_rsvps r WHERE r.tenant_id = e.tenant_id AND r.event_id = e.id \
      AND r.status = 'going') AS going, \
     (SELECT count(*) FROM event_rsvps r WHERE r.tenant_id = e.tenant_id AND r.event_id = e.id \
      AND r.status = 'waitlisted') AS waitlisted, \
     (SELECT r.status FROM event_rsvps r WHERE r.tenant_id = e.tenant_id AND r.event_id = e.id \
      AND r.user_id = $2) AS my_status \
     FROM network_events e LEFT JOIN users o ON o.tenant_id = e.tenant_id AND o.id = e.organizer_id";

/// Events ending after `from`, soonest first, optionally of one community; at most `limit`.
pub async fn list(
    tx: &TenantTx,
    user: Uuid,
    from: DateTime<Utc>,
    community: Option<Uuid>,
    limit: u64,
) -> Result<Vec<EventRow>> {
    Ok(EventRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE e.tenant_id = $1 AND e.ends_at > $3 AND ($4::uuid IS NULL OR e.community_id = $4) \
             ORDER BY e.starts_at, e.id LIMIT $5"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            from.into(),
            community.into(),
            (limit as i64).into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// One event, locked for a change when `lock`.
pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid, lock: bool) -> Result<EventRow> {
    if lock {
        tx.execute_raw(statement(
            "SELECT 1 FROM network_events WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?;
    }
    EventRow::find_by_statement(statement(
        &format!("{SELECT} WHERE e.tenant_id = $1 AND e.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// What an organizer gives an event; `None` leaves a field (on creation: the default, or 422 for a
/// required one).
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub timezone: Option<String>,
    pub location: Option<String>,
    /// `Some(None)` clears it.
    pub meeting_url: Option<Option<String>>,
    pub capacity: Option<i64>,
    /// Only on creation.
    pub community_id: Option<Uuid>,
    /// Only `cancelled`, on a change.
    pub status: Option<String>,
}

/// The checked fields of an event.
struct Fields {
    title: String,
    description: String,
    kind: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    timezone: String,
    location: String,
    meeting_url: Option<String>,
    capacity: i32,
}

fn check(input: &EventInput, current: Option<&EventRow>, now: DateTime<Utc>) -> Result<Fields> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut text = |field: &str, given: Option<&String>, had: Option<&String>, max, label: bool| {
        let raw = given.or(had).map(String::as_str).unwrap_or("");
        let checked = if label {
            validate::label(field, raw, max)
        } else {
            validate::prose(field, raw, max)
        };
        checked.map_err(|e| errors.push(e)).unwrap_or_default()
    };
    let title = text(
        "title",
        input.title.as_ref(),
        current.map(|c| &c.title),
        200,
        true,
    );
    let description = text(
        "description",
        input.description.as_ref(),
        current.map(|c| &c.description),
        5000,
        false,
    );
    let location = text(
        "location",
        input.location.as_ref(),
        current.map(|c| &c.location),
        200,
        false,
    );
    let kind = input
        .kind
        .clone()
        .or(current.map(|c| c.kind.clone()))
        .unwrap_or_else(|| "other".into());
    if !KINDS.contains(&kind.as_str()) {
        errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", KINDS.join(", ")),
        ));
    }
    let timezone = input
        .timezone
        .clone()
        .or(current.map(|c| c.timezone.clone()))
        .unwrap_or_else(|| "UTC".into());
    if let Err(e) = validate::time_zone("timezone", &timezone) {
        errors.push(e);
    }
    let meeting_url = match (&input.meeting_url, current) {
        (Some(Some(url)), _) => validate::web_url("meeting_url", url)
            .map(Some)
            .map_err(|e| errors.push(e))
            .unwrap_or_default(),
        (Some(None), _) => None,
        (None, Some(c)) => c.meeting_url.clone(),
        (None, None) => None,
    };
    let starts_at = input.starts_at.or(current.map(|c| c.starts_at.to_utc()));
    let ends_at = input.ends_at.or(current.map(|c| c.ends_at.to_utc()));
    let (starts_at, ends_at) = match (starts_at, ends_at) {
        (Some(s), Some(e)) => {
            if e <= s {
                errors.push(FieldError::new("ends_at", "must be after starts_at"));
            } else if e - s > Duration::days(14) {
                errors.push(FieldError::new("ends_at", "an event lasts at most 14 days"));
            }
            if input.starts_at.is_some() && s <= now {
                errors.push(FieldError::new("starts_at", "must be in the future"));
            }
            (s, e)
        }
        (s, e) => {
            if s.is_none() {
                errors.push(FieldError::new("starts_at", "is required"));
            }
            if e.is_none() {
                errors.push(FieldError::new("ends_at", "is required"));
            }
            (now, now)
        }
    };
    let capacity = input
        .capacity
        .or(current.map(|c| i64::from(c.capacity)))
        .unwrap_or(0);
    if !(1..=100_000).contains(&capacity) {
        errors.push(FieldError::new("capacity", "must be between 1 and 100,000"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Fields {
        title,
        description,
        kind,
        starts_at,
        ends_at,
        timezone,
        location,
        meeting_url,
        capacity: capacity as i32,
    })
}

/// Whether `member` organizes events of `community` (none: the organization's): HR, or its owners.
async fn may_organize(tx: &TenantTx, member: Caller, community: Option<Uuid>) -> Result<bool> {
    if member.manages {
        return Ok(true);
    }
    match community {
        Some(id) => Ok(communities::get(tx, member.user, id, false)
            .await?
            .my_role
            .as_deref()
            == Some("owner")),
        None => Ok(false),
    }
}

/// Queues the reminder for the event's current sequence: 24 hours before (at once when it is nearer),
/// none within the hour before the start.
async fn schedule_reminder(tx: &TenantTx, event: &EventRow, now: DateTime<Utc>) -> Result<()> {
    let starts = event.starts_at.to_utc();
    if event.status != "scheduled" || starts - now <= Duration::hours(1) {
        return Ok(());
    }
    let due = (starts - Duration::hours(REMINDER_LEAD_HOURS)).max(now);
    jobs::enqueue_at(
        tx,
        JobKind::EventReminder,
        json!({ "event_id": event.id, "sequence": event.sequence }),
        due,
        now,
    )
    .await?;
    Ok(())
}

pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    member: Caller,
    input: EventInput,
) -> Result<EventRow> {
    if let Some(community) = input.community_id {
        match communities::get(tx, member.user, community, false).await {
            Ok(c) => c.ensure_active()?,
            Err(ApiError::NotFound { .. }) => {
                return Err(ApiError::validation(
                    "community_id",
                    "is not a community of this organization",
                ));
            }
            Err(other) => return Err(other),
        }
    }
    if !may_organize(tx, member, input.community_id).await? {
        return Err(ApiError::forbidden(
            "not_event_organizer",
            "HR organizes events, and a community's owners organize their community's",
        ));
    }
    let mut input = input;
    if input.timezone.is_none() {
        input.timezone = crate::modules::orgs::service::time_zone(tx).await?;
    }
    if input.status.as_deref().is_some_and(|s| s != "scheduled") {
        return Err(ApiError::validation("status", "a new event is scheduled"));
    }
    let fields = check(&input, None, ctx.now)?;
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO network_events (tenant_id, id, title, description, kind, starts_at, ends_at, timezone, \
         location, meeting_url, capacity, community_id, organizer_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            fields.title.clone().into(),
            fields.description.into(),
            fields.kind.clone().into(),
            fields.starts_at.into(),
            fields.ends_at.into(),
            fields.timezone.into(),
            fields.location.into(),
            fields.meeting_url.into(),
            fields.capacity.into(),
            input.community_id.into(),
            member.user.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let event = get(tx, member.user, id, false).await?;
    schedule_reminder(tx, &event, ctx.now).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("network_event.created")
            .target("network_event", id, Some(fields.title.as_str()))
            .metadata(json!({
                "kind": fields.kind, "starts_at": fields.starts_at, "ends_at": fields.ends_at,
                "capacity": fields.capacity, "community_id": input.community_id,
            })),
    )
    .await?;
    Ok(event)
}

/// The organizer (or HR, or the community's owners) changes an event; `status: cancelled` cancels it
/// and tells everyone.
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    member: Caller,
    id: Uuid,
    input: EventInput,
) -> Result<EventRow> {
    let current = get(tx, member.user, id, true).await?;
    if current.organizer_id != Some(member.user)
        && !may_organize(tx, member, current.community_id).await?
    {
        return Err(ApiError::forbidden(
            "not_event_organizer",
            "only the event's organizer, HR or its community's owners change it",
        ));
    }
    if input.community_id.is_some() {
        return Err(ApiError::validation(
            "community_id",
            "is set when the event is created",
        ));
    }
    if current.status == "cancelled" {
        return Err(ApiError::conflict(
            "event_cancelled",
            "this event is cancelled",
        ));
    }
    if current.ends_at.to_utc() <= ctx.now {
        return Err(ApiError::conflict("event_over", "this event is over"));
    }
    let cancelling = match input.status.as_deref() {
        None | Some("scheduled") => false,
        Some("cancelled") => true,
        Some(_) => {
            return Err(ApiError::validation(
                "status",
                "must be scheduled or cancelled",
            ));
        }
    };
    let fields = check(&input, Some(&current), ctx.now)?;
    if i64::from(fields.capacity) < current.going {
        return Err(ApiError::conflict(
            "capacity_below_attendance",
            format!(
                "{} people are going: the capacity cannot be lower",
                current.going
            ),
        ));
    }
    let calendar_changed = cancelling
        || fields.title != current.title
        || fields.description != current.description
        || fields.starts_at != current.starts_at.to_utc()
        || fields.ends_at != current.ends_at.to_utc()
        || fields.location != current.location
        || fields.meeting_url != current.meeting_url;
    tx.execute_raw(statement(
        "UPDATE network_events SET title = $3, description = $4, kind = $5, starts_at = $6, ends_at = $7, \
         timezone = $8, location = $9, meeting_url = $10, capacity = $11, updated_at = $12, \
         status = CASE WHEN $13 THEN 'cancelled' ELSE status END, \
         sequence = sequence + CASE WHEN $14 THEN 1 ELSE 0 END WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            fields.title.clone().into(),
            fields.description.into(),
            fields.kind.into(),
            fields.starts_at.into(),
            fields.ends_at.into(),
            fields.timezone.into(),
            fields.location.into(),
            fields.meeting_url.into(),
            fields.capacity.into(),
            ctx.now.into(),
            cancelling.into(),
            calendar_changed.into(),
        ],
    ))
    .await?;
    let event = get(tx, member.user, id, false).await?;
    // A new sequence needs its own reminder: the queued one does nothing now. Those already reminded
    // are reminded again, with the updated file, when the new one is due.
    if calendar_changed && !cancelling {
        schedule_reminder(tx, &event, ctx.now).await?;
    }
    let promoted = if cancelling {
        tell_everyone_cancelled(tx, ctx, crypto, &event).await?;
        Vec::new()
    } else if event.starts_at.to_utc() > ctx.now {
        promote(tx, ctx, crypto, &event).await?
    } else {
        Vec::new()
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if cancelling {
            "network_event.cancelled"
        } else {
            "network_event.updated"
        })
        .target("network_event", id, Some(event.title.as_str()))
        .metadata(json!({
            "starts_at": { "before": current.starts_at, "after": event.starts_at },
            "capacity": { "before": current.capacity, "after": event.capacity },
            "sequence": event.sequence, "promoted": promoted,
        })),
    )
    .await?;
    get(tx, member.user, id, false).await
}

#[derive(Debug, FromQueryResult)]
struct Attendee {
    user_id: Uuid,
    name: String,
    email: String,
    status: String,
}

async fn attendees_with_status(
    tx: &TenantTx,
    event: Uuid,
    status: &[&str],
) -> Result<Vec<Attendee>> {
    Ok(Attendee::find_by_statement(statement(
        "SELECT r.user_id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS name, \
         u.email, r.status FROM event_rsvps r JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND r.event_id = $2 AND r.status = ANY($3) AND u.status = 'active' \
         ORDER BY r.responded_at, r.user_id",
        vec![
            tx.tenant_id().as_uuid().into(),
            event.into(),
            status.iter().map(|s| s.to_string()).collect::<Vec<_>>().into(),
        ],
    ))
    .all(tx)
    .await?)
}

async fn tell_everyone_cancelled(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    event: &EventRow,
) -> Result<()> {
    let org = org_name(tx).await?;
    for person in attendees_with_status(tx, event.id, &["going", "waitlisted"]).await? {
        let notice = Notice {
            link: ctx.request.link(&format!("/events/{}", event.id)),
            org_name: org.clone(),
            name: person.name,
            subject: format!("cancelled: {}", event.title),
            headline: format!("{} is cancelled.", event.title),
            lines: vec![event.when()],
            next: if person.status == "going" {
                "The attached calendar file removes it from your calendar.".into()
            } else {
                "You were on its waitlist; there is nothing more to do.".into()
            },
        };
        let files = if person.status == "going" {
            vec![event.calendar_file()]
        } else {
            Vec::new()
        };
        mail::enqueue_with(
            tx,
            crypto,
            ctx.now,
            &person.email,
            MailTemplate::Notice(notice),
            files,
        )
        .await
        .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// Fills the places left from the waitlist, first come first, each promoted member told by mail with
/// the calendar file. The event is locked by the caller.
async fn promote(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    event: &EventRow,
) -> Result<Vec<Uuid>> {
    let promoted: Vec<Uuid> = tx
        .query_all_raw(statement(
            "UPDATE event_rsvps SET status = 'going' WHERE tenant_id = $1 AND event_id = $2 AND user_id IN \
             (SELECT r.user_id FROM event_rsvps r JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
              WHERE r.tenant_id = $1 AND r.event_id = $2 AND r.status = 'waitlisted' AND u.status = 'active' \
              ORDER BY r.responded_at, r.user_id \
              LIMIT greatest(0, $3 - (SELECT count(*) FROM event_rsvps WHERE tenant_id = $1 AND event_id = $2 \
              AND status = 'going'))) RETURNING user_id",
            vec![
                tx.tenant_id().as_uuid().into(),
                event.id.into(),
                i64::from(event.capacity).into(),
            ],
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<Uuid>("", "user_id"))
        .collect::<std::result::Result<_, _>>()?;
    if promoted.is_empty() {
        return Ok(promoted);
    }
    let org = org_name(tx).await?;
    for person in attendees_with_status(tx, event.id, &["going"]).await? {
        if !promoted.contains(&person.user_id) {
            continue;
        }
        let notice = Notice {
            link: ctx.request.link(&format!("/events/{}", event.id)),
            org_name: org.clone(),
            name: person.name,
            subject: format!("a place for you at {}", event.title),
            headline: format!("A place opened at {}: you are going.", event.title),
            lines: vec![event.when()],
            next: "The attached calendar file adds it to your calendar. If you cannot come, cancel your \
                   RSVP so the next person gets the place."
                .into(),
        };
        mail::enqueue_with(
            tx,
            crypto,
            ctx.now,
            &person.email,
            MailTemplate::Notice(notice),
            vec![event.calendar_file()],
        )
        .await
        .map_err(ApiError::internal)?;
    }
    Ok(promoted)
}

/// The caller's RSVP: `going` while places last, else `waitlisted` (already answered: as it was, and
/// `false`).
pub async fn rsvp(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<(EventRow, bool)> {
    let event = get(tx, user, id, true).await?;
    if event.my_status.is_some() {
        return Ok((event, false));
    }
    if event.status == "cancelled" {
        return Err(ApiError::conflict(
            "event_cancelled",
            "this event is cancelled",
        ));
    }
    if event.starts_at.to_utc() <= ctx.now {
        return Err(ApiError::conflict(
            "event_started",
            "this event has started: RSVPs are closed",
        ));
    }
    let status = if event.going < i64::from(event.capacity) {
        "going"
    } else {
        "waitlisted"
    };
    tx.execute_raw(statement(
        "INSERT INTO event_rsvps (tenant_id, event_id, user_id, status, responded_at) VALUES ($1, $2, $3, $4, $5)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            user.into(),
            status.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("network_event.rsvp")
            .target("network_event", id, Some(event.title.as_str()))
            .metadata(json!({ "user_id": user, "status": status })),
    )
    .await?;
    Ok((get(tx, user, id, false).await?, true))
}

/// The caller withdraws their RSVP; a place they free goes to the waitlist's first.
pub async fn withdraw(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    user: Uuid,
    id: Uuid,
) -> Result<EventRow> {
    let event = get(tx, user, id, true).await?;
    let Some(before) = event.my_status.clone() else {
        return Err(ApiError::not_found());
    };
    tx.execute_raw(statement(
        "DELETE FROM event_rsvps WHERE tenant_id = $1 AND event_id = $2 AND user_id = $3",
        vec![tx.tenant_id().as_uuid().into(), id.into(), user.into()],
    ))
    .await?;
    let promoted =
        if before == "going" && event.status == "scheduled" && event.starts_at.to_utc() > ctx.now {
            promote(tx, ctx, crypto, &event).await?
        } else {
            Vec::new()
        };
    audit::record(
        tx,
        ctx,
        AuditEvent::new("network_event.rsvp_withdrawn")
            .target("network_event", id, Some(event.title.as_str()))
            .metadata(json!({ "user_id": user, "before": before, "promoted": promoted })),
    )
    .await?;
    get(tx, user, id, false).await
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct AttendeeRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub status: String,
    pub responded_at: DateTime<FixedOffset>,
}

/// Who is going and who waits, in order (the organizer, HR or the community's owners).
pub async fn attendees(tx: &TenantTx, member: Caller, id: Uuid) -> Result<Vec<AttendeeRow>> {
    let event = get(tx, member.user, id, false).await?;
    if event.organizer_id != Some(member.user)
        && !may_organize(tx, member, event.community_id).await?
    {
        return Err(ApiError::forbidden(
            "not_event_organizer",
            "only the event's organizer, HR or its community's owners see who comes",
        ));
    }
    Ok(AttendeeRow::find_by_statement(statement(
        "SELECT r.user_id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS display_name, \
         u.email, r.status, r.responded_at FROM event_rsvps r \
         JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id \
         WHERE r.tenant_id = $1 AND r.event_id = $2 ORDER BY r.status, r.responded_at, r.user_id",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .all(tx)
    .await?)
}
