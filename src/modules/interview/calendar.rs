//! The interview calendar: real interviews a member records for themselves — at another company or
//! for an internal role —, each with its type, the wall-clock time and IANA zone it was given in,
//! interviewers and notes, the [`super::reminders`] that go out 24 hours and one hour before, and a
//! preparation [`super::checklist`]. Entries are private to the member: nobody else — not HR, not
//! their manager — can read them, and the audit log names the fields that changed, never a company,
//! a note or an interviewer.

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{checklist, reminders};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    ics,
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// The kinds of interview a member can record.
pub const TYPES: [&str; 10] = [
    "phone_screen",
    "recruiter",
    "hiring_manager",
    "technical",
    "behavioral",
    "case",
    "panel",
    "onsite",
    "final",
    "other",
];
/// How an interview turned out, once known.
pub const OUTCOMES: [&str; 4] = ["advanced", "offer", "rejected", "withdrawn"];
/// Interviews a member may have coming up at once.
pub const MAX_UPCOMING: i64 = 50;
/// Interviewers per interview, at most.
pub const MAX_INTERVIEWERS: usize = 10;
/// How far back an interview may be recorded, and how far ahead.
pub const PAST_DAYS: i64 = 366;
pub const AHEAD_DAYS: i64 = 731;

/// Someone who interviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interviewer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ScheduledRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub company: Option<String>,
    pub career_role_id: Option<Uuid>,
    pub role_title: String,
    pub interview_type: String,
    pub starts_at: DateTime<FixedOffset>,
    pub local_start: NaiveDateTime,
    pub timezone: String,
    pub duration_minutes: i32,
    pub location: String,
    pub meeting_url: Option<String>,
    pub interviewers: serde_json::Value,
    pub notes: String,
    pub reminders_enabled: bool,
    pub status: String,
    pub outcome: Option<String>,
    pub sequence: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub cancelled_at: Option<DateTime<FixedOffset>>,
    /// When a reminder last carried the calendar file to the member.
    pub calendar_sent_at: Option<DateTime<FixedOffset>>,
}

/// Every column of a scheduled interview, for [`ScheduledRow`].
pub const SCHEDULED_SELECT: &str = "SELECT id, user_id, company, career_role_id, role_title, interview_type, \
     starts_at, local_start, timezone, duration_minutes, location, meeting_url, interviewers, notes, \
     reminders_enabled, status, outcome, sequence, created_at, updated_at, cancelled_at, \
     calendar_sent_at FROM scheduled_interviews";

impl ScheduledRow {
    pub fn ends_at(&self) -> DateTime<Utc> {
        self.starts_at.to_utc() + Duration::minutes(i64::from(self.duration_minutes))
    }

    pub fn interviewers(&self) -> Vec<Interviewer> {
        serde_json::from_value(self.interviewers.clone()).unwrap_or_default()
    }

    /// "Staff Engineer at Globex", or "Team Lead (internal)".
    pub fn title(&self) -> String {
        match &self.company {
            Some(company) => format!("{} at {company}", self.role_title),
            None => format!("{} (internal)", self.role_title),
        }
    }

    /// `upcoming`, `under_way`, `past` or `cancelled`.
    pub fn phase(&self, now: DateTime<Utc>) -> &'static str {
        if self.status == "cancelled" {
            "cancelled"
        } else if now < self.starts_at.to_utc() {
            "upcoming"
        } else if now < self.ends_at() {
            "under_way"
        } else {
            "past"
        }
    }

    /// The time in the interview's zone: "Thursday 10 December 2026, 14:00 CET (Europe/Berlin), 60
    /// minutes".
    pub fn when(&self) -> String {
        let zone = self
            .timezone
            .parse::<Tz>()
            .map(|tz| self.starts_at.with_timezone(&tz).format("%Z").to_string())
            .unwrap_or_default();
        format!(
            "{}{}{} ({}), {} minutes",
            self.local_start.format("%A %-d %B %Y, %H:%M"),
            if zone.is_empty() { "" } else { " " },
            zone,
            self.timezone,
            self.duration_minutes
        )
    }

    /// The calendar file for this version of the interview.
    pub fn calendar_file(&self) -> String {
        let uid = format!("{}@interviews.trellis", self.id);
        let people: Vec<String> = self.interviewers().iter().map(Interviewer::label).collect();
        let mut description = format!("{} interview", type_label(&self.interview_type));
        if !people.is_empty() {
            description.push_str(&format!("\nWith: {}", people.join(", ")));
        }
        if let Some(url) = &self.meeting_url {
            description.push_str(&format!("\nJoin: {url}"));
        }
        ics::render(&ics::CalendarEvent {
            uid: &uid,
            sequence: self.sequence,
            stamp: self.updated_at.to_utc(),
            start: self.starts_at.to_utc(),
            end: self.ends_at(),
            summary: &format!("Interview: {}", self.title()),
            description: &description,
            location: Some(self.location.as_str()),
            url: self.meeting_url.as_deref(),
            cancelled: self.status == "cancelled",
        })
    }
}

impl Interviewer {
    pub fn label(&self) -> String {
        match &self.title {
            Some(title) => format!("{} ({title})", self.name),
            None => self.name.clone(),
        }
    }
}

/// "Phone screen", "Hiring manager".
pub fn type_label(kind: &str) -> String {
    let spaced = kind.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// The instant a wall-clock time names in an IANA zone. A time the clocks skip (the hour lost when
/// summer time starts) is an error; a time they pass twice (the hour repeated when it ends) is its
/// first occurrence.
pub fn resolve_start(
    local: NaiveDateTime,
    zone: &str,
) -> std::result::Result<DateTime<Utc>, FieldError> {
    let tz = validate::time_zone("timezone", zone)?;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Ok(at.to_utc()),
        LocalResult::Ambiguous(first, _) => Ok(first.to_utc()),
        LocalResult::None => Err(FieldError::new(
            "starts_at",
            format!("does not exist in {zone}: the clocks skip it"),
        )),
    }
}

/// Everything an interview is, before it is checked.
#[derive(Debug, Clone)]
pub struct Draft {
    pub company: Option<String>,
    pub career_role_id: Option<Uuid>,
    pub role_title: Option<String>,
    pub interview_type: String,
    pub local_start: NaiveDateTime,
    pub timezone: String,
    pub duration_minutes: i64,
    pub location: String,
    pub meeting_url: Option<String>,
    pub interviewers: Vec<Interviewer>,
    pub notes: String,
    pub reminders_enabled: bool,
    pub outcome: Option<String>,
}

/// A change: absent fields stay; `Some(None)` clears what may be cleared.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub company: Option<Option<String>>,
    pub career_role_id: Option<Option<Uuid>>,
    pub role_title: Option<String>,
    pub interview_type: Option<String>,
    pub local_start: Option<NaiveDateTime>,
    pub timezone: Option<String>,
    pub duration_minutes: Option<i64>,
    pub location: Option<String>,
    pub meeting_url: Option<Option<String>>,
    pub interviewers: Option<Vec<Interviewer>>,
    pub notes: Option<String>,
    pub reminders_enabled: Option<bool>,
    pub outcome: Option<Option<String>>,
}

/// A checked draft: what is stored.
#[derive(Debug, Clone, PartialEq)]
struct Checked {
    company: Option<String>,
    career_role_id: Option<Uuid>,
    role_title: String,
    interview_type: String,
    starts_at: DateTime<Utc>,
    local_start: NaiveDateTime,
    timezone: String,
    duration_minutes: i32,
    location: String,
    meeting_url: Option<String>,
    interviewers: Vec<Interviewer>,
    notes: String,
    reminders_enabled: bool,
    outcome: Option<String>,
}

impl Checked {
    /// What is stored now.
    fn stored(row: &ScheduledRow) -> Checked {
        Checked {
            company: row.company.clone(),
            career_role_id: row.career_role_id,
            role_title: row.role_title.clone(),
            interview_type: row.interview_type.clone(),
            starts_at: row.starts_at.to_utc(),
            local_start: row.local_start,
            timezone: row.timezone.clone(),
            duration_minutes: row.duration_minutes,
            location: row.location.clone(),
            meeting_url: row.meeting_url.clone(),
            interviewers: row.interviewers(),
            notes: row.notes.clone(),
            reminders_enabled: row.reminders_enabled,
            outcome: row.outcome.clone(),
        }
    }

    /// The stored columns' values, from `company` to `outcome` in table order.
    fn values(&self) -> Vec<sea_orm::Value> {
        vec![
            self.company.clone().into(),
            self.career_role_id.into(),
            self.role_title.clone().into(),
            self.interview_type.clone().into(),
            self.starts_at.into(),
            self.local_start.into(),
            self.timezone.clone().into(),
            self.duration_minutes.into(),
            self.location.clone().into(),
            self.meeting_url.clone().into(),
            json!(self.interviewers).into(),
            self.notes.clone().into(),
            self.reminders_enabled.into(),
            self.outcome.clone().into(),
        ]
    }
}

impl From<Checked> for Draft {
    fn from(checked: Checked) -> Draft {
        Draft {
            company: checked.company,
            career_role_id: checked.career_role_id,
            role_title: Some(checked.role_title),
            interview_type: checked.interview_type,
            local_start: checked.local_start,
            timezone: checked.timezone,
            duration_minutes: i64::from(checked.duration_minutes),
            location: checked.location,
            meeting_url: checked.meeting_url,
            interviewers: checked.interviewers,
            notes: checked.notes,
            reminders_enabled: checked.reminders_enabled,
            outcome: checked.outcome,
        }
    }
}

/// What [`check`] must look at again: on a change, the career role only when it changes (looking it up
/// locks it, and a role's deletion locks the interviews that name it: never both ways round), and the
/// time window only when the time changes (an interview recorded long ago keeps taking notes).
#[derive(Debug, Clone, Copy)]
struct Recheck {
    role: bool,
    time: bool,
}

async fn check(
    tx: &TenantTx,
    draft: Draft,
    now: DateTime<Utc>,
    recheck: Recheck,
) -> Result<Checked> {
    let mut errors = Vec::new();
    let mut keep = |result: std::result::Result<String, FieldError>| {
        result.map_err(|e| errors.push(e)).unwrap_or_default()
    };
    let company = draft
        .company
        .as_deref()
        .map(|c| keep(validate::label("company", c, 200)));
    let typed_title = draft
        .role_title
        .as_deref()
        .map(|t| keep(validate::label("role_title", t, 200)));
    let location = keep(validate::prose("location", &draft.location, 500));
    let notes = keep(validate::prose("notes", &draft.notes, 10_000));
    let meeting_url = draft
        .meeting_url
        .as_deref()
        .map(|u| keep(validate::web_url("meeting_url", u)));
    let mut interviewers = Vec::new();
    for (i, person) in draft.interviewers.iter().enumerate() {
        let name = keep(validate::label(
            &format!("interviewers[{i}].name"),
            &person.name,
            120,
        ));
        let title = person
            .title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| keep(validate::label(&format!("interviewers[{i}].title"), t, 120)));
        interviewers.push(Interviewer { name, title });
    }
    if draft.interviewers.len() > MAX_INTERVIEWERS {
        errors.push(FieldError::new(
            "interviewers",
            format!("must list at most {MAX_INTERVIEWERS} people"),
        ));
    }
    if !TYPES.contains(&draft.interview_type.as_str()) {
        errors.push(FieldError::new(
            "interview_type",
            format!("must be one of {}", TYPES.join(", ")),
        ));
    }
    if let Some(outcome) = &draft.outcome
        && !OUTCOMES.contains(&outcome.as_str())
    {
        errors.push(FieldError::new(
            "outcome",
            format!("must be one of {}", OUTCOMES.join(", ")),
        ));
    }
    if !(5..=720).contains(&draft.duration_minutes) {
        errors.push(FieldError::new(
            "duration_minutes",
            "must be between 5 and 720",
        ));
    }
    let starts_at = match resolve_start(draft.local_start, &draft.timezone) {
        Ok(at) if recheck.time && at < now - Duration::days(PAST_DAYS) => {
            errors.push(FieldError::new("starts_at", "must be within the past year"));
            None
        }
        Ok(at) if recheck.time && at > now + Duration::days(AHEAD_DAYS) => {
            errors.push(FieldError::new("starts_at", "must be within two years"));
            None
        }
        Ok(at) => Some(at),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let role_title = match (draft.career_role_id, &company) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "career_role_id",
                "names an internal role: leave company out (or null)",
            ));
            None
        }
        (Some(_), None) if !recheck.role => typed_title,
        (Some(role), None) => {
            // Locked so the role cannot go while this transaction refers to it.
            let title = tx
                .query_one_raw(statement(
                    "SELECT title FROM career_roles WHERE tenant_id = $1 AND id = $2 FOR KEY SHARE",
                    vec![tx.tenant_id().as_uuid().into(), role.into()],
                ))
                .await?
                .map(|r| r.try_get::<String>("", "title"))
                .transpose()?;
            if title.is_none() {
                errors.push(FieldError::new(
                    "career_role_id",
                    "is not a career role of this organization",
                ));
            }
            // A title given with the role names this interview; else the role's own.
            typed_title.or(title)
        }
        (None, _) => {
            if typed_title.is_none() {
                errors.push(FieldError::new(
                    "role_title",
                    "is required unless career_role_id names the role",
                ));
            }
            typed_title
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    match (starts_at, role_title) {
        (Some(starts_at), Some(role_title)) => Ok(Checked {
            company,
            career_role_id: draft.career_role_id,
            role_title,
            interview_type: draft.interview_type,
            starts_at,
            local_start: draft.local_start,
            timezone: draft.timezone,
            duration_minutes: draft.duration_minutes as i32,
            location,
            meeting_url,
            interviewers,
            notes,
            reminders_enabled: draft.reminders_enabled,
            outcome: draft.outcome,
        }),
        _ => Err(ApiError::validation("starts_at", "is not valid")),
    }
}

/// An interview with its reminders and checklist.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub row: ScheduledRow,
    pub reminders: Vec<reminders::ReminderRow>,
    pub checklist: Vec<checklist::ItemRow>,
}

/// Which of the member's interviews to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Not cancelled and not over, the soonest first.
    Upcoming,
    /// Not cancelled and over, the latest first.
    Past,
    Cancelled,
    All,
}

impl Listing {
    pub fn parse(text: &str) -> Option<Listing> {
        match text {
            "upcoming" => Some(Listing::Upcoming),
            "past" => Some(Listing::Past),
            "cancelled" => Some(Listing::Cancelled),
            "all" => Some(Listing::All),
            _ => None,
        }
    }
}

/// The member's interviews (at most 200).
pub async fn list(
    tx: &TenantTx,
    user: Uuid,
    listing: Listing,
    now: DateTime<Utc>,
) -> Result<Vec<Scheduled>> {
    let (filter, order) = match listing {
        Listing::Upcoming => (
            "status = 'scheduled' AND starts_at + make_interval(mins => duration_minutes) > $3",
            "starts_at, id",
        ),
        Listing::Past => (
            "status = 'scheduled' AND starts_at + make_interval(mins => duration_minutes) <= $3",
            "starts_at DESC, id DESC",
        ),
        Listing::Cancelled => (
            "status = 'cancelled' AND $3::timestamptz IS NOT NULL",
            "starts_at DESC, id DESC",
        ),
        Listing::All => ("$3::timestamptz IS NOT NULL", "starts_at DESC, id DESC"),
    };
    let rows = ScheduledRow::find_by_statement(statement(
        &format!(
            "{SCHEDULED_SELECT} WHERE tenant_id = $1 AND user_id = $2 AND {filter} ORDER BY {order} LIMIT 200"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into(), now.into()],
    ))
    .all(tx)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut reminders = reminders::of(tx, &ids).await?;
    let mut items = checklist::of(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Scheduled {
            reminders: reminders.remove(&row.id).unwrap_or_default(),
            checklist: items.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// The member's interview `id`, locked for a change when `lock` (someone else's is not found).
pub async fn row(tx: &TenantTx, user: Uuid, id: Uuid, lock: bool) -> Result<ScheduledRow> {
    ScheduledRow::find_by_statement(statement(
        &format!(
            "{SCHEDULED_SELECT} WHERE tenant_id = $1 AND user_id = $2 AND id = $3{}",
            if lock { " FOR UPDATE" } else { "" }
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid) -> Result<Scheduled> {
    let row = row(tx, user, id, false).await?;
    let reminders = reminders::of(tx, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let checklist = checklist::of(tx, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(Scheduled {
        row,
        reminders,
        checklist,
    })
}

/// Refuses a member's upcoming interview beyond [`MAX_UPCOMING`] (`id`, the one being added or moved,
/// aside). The member's calendar is locked for the rest of the transaction, so two requests at once
/// cannot both take the last place.
async fn ensure_room(tx: &TenantTx, user: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    tx.execute_raw(statement(
        "SELECT pg_advisory_xact_lock(hashtextextended('scheduled_interviews:' || $1::text || ':' || $2::text, 0))",
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .await?;
    let upcoming = crate::db::sql::count(
        tx,
        "SELECT count(*) AS n FROM scheduled_interviews WHERE tenant_id = $1 AND user_id = $2 \
             AND status = 'scheduled' AND starts_at > $3 AND id <> $4",
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            now.into(),
            id.into(),
        ],
    )
    .await?;
    if upcoming >= MAX_UPCOMING {
        return Err(ApiError::conflict(
            "calendar_full",
            format!("at most {MAX_UPCOMING} interviews may be coming up at once"),
        ));
    }
    Ok(())
}

fn audit_event(action: &'static str, id: Uuid, metadata: serde_json::Value) -> AuditEvent {
    // No display: an interview elsewhere is the member's private business.
    AuditEvent::new(action)
        .target("scheduled_interview", id, None)
        .metadata(metadata)
}

/// Records an interview, schedules its reminders and, unless told not to, suggests a checklist.
pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    draft: Draft,
    suggest_checklist: bool,
) -> Result<Scheduled> {
    let checked = check(
        tx,
        draft,
        ctx.now,
        Recheck {
            role: true,
            time: true,
        },
    )
    .await?;
    let id = Uuid::now_v7();
    if checked.starts_at > ctx.now {
        ensure_room(tx, user, id, ctx.now).await?;
    }
    let mut values = vec![tx.tenant_id().as_uuid().into(), id.into()];
    values.extend(checked.values());
    values.extend([user.into(), ctx.now.into()]);
    tx.execute_raw(statement(
        "INSERT INTO scheduled_interviews (tenant_id, id, company, career_role_id, role_title, \
         interview_type, starts_at, local_start, timezone, duration_minutes, location, meeting_url, \
         interviewers, notes, reminders_enabled, outcome, user_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)",
        values,
    ))
    .await?;
    let created = row(tx, user, id, false).await?;
    reminders::sync(tx, &created, ctx.now).await?;
    if suggest_checklist {
        checklist::suggest(tx, &created, ctx.now).await?;
    }
    audit::record(
        tx,
        ctx,
        audit_event(
            "scheduled_interview.created",
            id,
            json!({
                "internal": created.company.is_none(),
                "interview_type": created.interview_type,
                "reminders_enabled": created.reminders_enabled,
            }),
        ),
    )
    .await?;
    get(tx, user, id).await
}

/// Applies a change. A new time re-schedules the reminders (one already sent is sent again before
/// the new time); turning reminders off cancels those not sent. A cancelled interview is closed.
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    change: Change,
) -> Result<Scheduled> {
    let current = row(tx, user, id, true).await?;
    if current.status == "cancelled" {
        return Err(ApiError::conflict(
            "interview_cancelled",
            "this interview is cancelled; record a new one instead",
        ));
    }
    let old = Checked::stored(&current);
    let before = Draft::from(old.clone());
    let draft = Draft {
        company: change.company.unwrap_or(before.company.clone()),
        career_role_id: change.career_role_id.unwrap_or(before.career_role_id),
        // A new role brings its own title unless one is given with it.
        role_title: match change.career_role_id {
            Some(Some(_)) => change.role_title,
            _ => change.role_title.or(before.role_title.clone()),
        },
        interview_type: change
            .interview_type
            .unwrap_or(before.interview_type.clone()),
        local_start: change.local_start.unwrap_or(before.local_start),
        timezone: change.timezone.unwrap_or(before.timezone.clone()),
        duration_minutes: change.duration_minutes.unwrap_or(before.duration_minutes),
        location: change.location.unwrap_or(before.location.clone()),
        meeting_url: change.meeting_url.unwrap_or(before.meeting_url.clone()),
        interviewers: change.interviewers.unwrap_or(before.interviewers.clone()),
        notes: change.notes.unwrap_or(before.notes.clone()),
        reminders_enabled: change.reminders_enabled.unwrap_or(before.reminders_enabled),
        outcome: change.outcome.unwrap_or(before.outcome.clone()),
    };
    let recheck = Recheck {
        role: draft.career_role_id != current.career_role_id,
        time: draft.local_start != current.local_start || draft.timezone != current.timezone,
    };
    let checked = check(tx, draft, ctx.now, recheck).await?;
    if checked.starts_at != current.starts_at.to_utc() && checked.starts_at > ctx.now {
        ensure_room(tx, user, id, ctx.now).await?;
    }
    let changed = changed_fields(&old, &checked);
    if changed.is_empty() {
        return get(tx, user, id).await;
    }
    let mut values = vec![tx.tenant_id().as_uuid().into(), id.into()];
    values.extend(checked.values());
    values.push(ctx.now.into());
    tx.execute_raw(statement(
        "UPDATE scheduled_interviews SET company = $3, career_role_id = $4, role_title = $5, \
         interview_type = $6, starts_at = $7, local_start = $8, timezone = $9, duration_minutes = $10, \
         location = $11, meeting_url = $12, interviewers = $13, notes = $14, reminders_enabled = $15, \
         outcome = $16, sequence = sequence + 1, updated_at = $17 \
         WHERE tenant_id = $1 AND id = $2",
        values,
    ))
    .await?;
    let updated = row(tx, user, id, false).await?;
    let retimed = old.starts_at != checked.starts_at;
    reminders::sync(tx, &updated, ctx.now).await?;
    audit::record(
        tx,
        ctx,
        audit_event(
            "scheduled_interview.updated",
            id,
            json!({ "changed": changed, "rescheduled": retimed }),
        ),
    )
    .await?;
    get(tx, user, id).await
}

/// The names of the fields that differ (values are private).
fn changed_fields(old: &Checked, new: &Checked) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut note = |name: &'static str, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    note("company", old.company != new.company);
    note("career_role_id", old.career_role_id != new.career_role_id);
    note("role_title", old.role_title != new.role_title);
    note("interview_type", old.interview_type != new.interview_type);
    note("starts_at", old.starts_at != new.starts_at);
    note(
        "local_start",
        old.local_start != new.local_start || old.timezone != new.timezone,
    );
    note(
        "duration_minutes",
        old.duration_minutes != new.duration_minutes,
    );
    note("location", old.location != new.location);
    note("meeting_url", old.meeting_url != new.meeting_url);
    note("interviewers", old.interviewers != new.interviewers);
    note("notes", old.notes != new.notes);
    note(
        "reminders_enabled",
        old.reminders_enabled != new.reminders_enabled,
    );
    note("outcome", old.outcome != new.outcome);
    changed
}

/// Cancels the interview: reminders not sent are cancelled, and when one was sent (so the member
/// may have the calendar file) a cancellation with the updated file goes out.
pub async fn cancel(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<Scheduled> {
    let current = row(tx, user, id, true).await?;
    if current.status == "cancelled" {
        return Err(ApiError::conflict(
            "interview_cancelled",
            "this interview is cancelled already",
        ));
    }
    tx.execute_raw(statement(
        "UPDATE scheduled_interviews SET status = 'cancelled', cancelled_at = $3, \
         sequence = sequence + 1, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into(), ctx.now.into()],
    ))
    .await?;
    let cancelled = row(tx, user, id, false).await?;
    let stopped = reminders::sync(tx, &cancelled, ctx.now).await?;
    let notified = reminders::announce_cancellation(tx, &cancelled, ctx.now).await?;
    audit::record(
        tx,
        ctx,
        audit_event(
            "scheduled_interview.cancelled",
            id,
            json!({ "reminders_cancelled": stopped, "cancellation_sent": notified }),
        ),
    )
    .await?;
    get(tx, user, id).await
}

/// Deletes the interview with its reminders (their queued jobs too) and checklist.
pub async fn delete(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<()> {
    let current = row(tx, user, id, true).await?;
    reminders::drop_jobs(tx, id).await?;
    tx.execute_raw(statement(
        "DELETE FROM scheduled_interviews WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        audit_event(
            "scheduled_interview.deleted",
            id,
            json!({ "status": current.status, "internal": current.company.is_none() }),
        ),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn a_wall_clock_time_resolves_in_its_zone() {
        let winter = resolve_start(local(2026, 12, 10, 14, 0), "Europe/Berlin").unwrap();
        assert_eq!(winter.to_rfc3339(), "2026-12-10T13:00:00+00:00");
        let summer = resolve_start(local(2026, 7, 10, 14, 0), "Europe/Berlin").unwrap();
        assert_eq!(summer.to_rfc3339(), "2026-07-10T12:00:00+00:00");
        let tokyo = resolve_start(local(2026, 12, 10, 9, 30), "Asia/Tokyo").unwrap();
        assert_eq!(tokyo.to_rfc3339(), "2026-12-10T00:30:00+00:00");
    }

    #[test]
    fn a_skipped_time_is_refused_and_a_repeated_one_is_its_first_occurrence() {
        // 29 March 2026, 02:30 does not happen in Berlin (02:00 → 03:00).
        let skipped = resolve_start(local(2026, 3, 29, 2, 30), "Europe/Berlin").unwrap_err();
        assert_eq!(skipped.field, "starts_at");
        // 25 October 2026, 02:30 happens twice: first in summer time (UTC+2).
        let repeated = resolve_start(local(2026, 10, 25, 2, 30), "Europe/Berlin").unwrap();
        assert_eq!(repeated.to_rfc3339(), "2026-10-25T00:30:00+00:00");
        let unknown = resolve_start(local(2026, 12, 10, 14, 0), "Mars/Olympus").unwrap_err();
        assert_eq!(unknown.field, "timezone");
    }

    #[test]
    fn titles_and_type_labels_read_well() {
        assert_eq!(type_label("hiring_manager"), "Hiring manager");
        assert_eq!(type_label("panel"), "Panel");
        let person = Interviewer {
            name: "Ada".into(),
            title: Some("CTO".into()),
        };
        assert_eq!(person.label(), "Ada (CTO)");
    }
}
