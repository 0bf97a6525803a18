//! A mentorship's session log: either side records a session they held (its date, length and notes)
//! while the mentorship is accepted or active. The first one opens the mentee's fit check
//! ([`super::mentorships::check_fit`]). Only the two people in the mentorship read it.

use chrono::{DateTime, FixedOffset, NaiveDate};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::mentorships;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct SessionRow {
    pub id: Uuid,
    pub mentorship_id: Uuid,
    pub held_on: NaiveDate,
    pub minutes: i16,
    pub notes: String,
    pub logged_by: Option<Uuid>,
    pub created_at: DateTime<FixedOffset>,
}

const SELECT: &str = "SELECT id, mentorship_id, held_on, minutes, notes, logged_by, created_at \
     FROM mentorship_sessions";

/// Sessions logged for a mentorship.
pub async fn count(tx: &TenantTx, mentorship: Uuid) -> Result<i64> {
    Ok(crate::db::sql::count(
        tx,
        "SELECT count(*) AS n FROM mentorship_sessions WHERE tenant_id = $1 AND mentorship_id = $2",
        vec![tx.tenant_id().as_uuid().into(), mentorship.into()],
    )
    .await?)
}

/// The sessions of a mentorship `user` is in, the latest first (at most 500).
pub async fn list(tx: &TenantTx, user: Uuid, mentorship: Uuid) -> Result<Vec<SessionRow>> {
    mentorships::get(tx, user, mentorship, false).await?;
    Ok(SessionRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE tenant_id = $1 AND mentorship_id = $2 \
             ORDER BY held_on DESC, created_at DESC LIMIT 500"
        ),
        vec![tx.tenant_id().as_uuid().into(), mentorship.into()],
    ))
    .all(tx)
    .await?)
}

/// A session one side logs.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub held_on: NaiveDate,
    pub minutes: i64,
    pub notes: String,
}

/// Logs a session of an accepted or active mentorship: held on or after the day of its acceptance,
/// not after today — days as someone in any time zone may count them (UTC−12 to UTC+14), since the two
/// people may live in any.
pub async fn log(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    mentorship: Uuid,
    new: NewSession,
) -> Result<SessionRow> {
    let current = mentorships::get(tx, user, mentorship, true).await?;
    if !matches!(current.status.as_str(), "accepted" | "active") {
        return Err(ApiError::conflict(
            "not_running",
            format!(
                "sessions are logged while a mentorship is accepted or active; this one is {}",
                current.status
            ),
        ));
    }
    let mut errors = Vec::new();
    let today = (ctx.now + chrono::Duration::hours(14)).date_naive();
    let accepted_on = current
        .responded_at
        .map(|t| (t.to_utc() - chrono::Duration::hours(12)).date_naive());
    if new.held_on > today {
        errors.push(FieldError::new("held_on", "must not be in the future"));
    } else if accepted_on.is_some_and(|day| new.held_on < day) {
        errors.push(FieldError::new(
            "held_on",
            "must not be before the mentorship was accepted",
        ));
    }
    if !(5..=600).contains(&new.minutes) {
        errors.push(FieldError::new("minutes", "must be between 5 and 600"));
    }
    let notes = validate::prose("notes", &new.notes, 5000)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO mentorship_sessions (tenant_id, id, mentorship_id, held_on, minutes, notes, \
         logged_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            mentorship.into(),
            new.held_on.into(),
            (new.minutes as i16).into(),
            notes.into(),
            user.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mentorship.session_logged")
            .target("mentorship", mentorship, None)
            .metadata(json!({ "session_id": id, "held_on": new.held_on, "minutes": new.minutes })),
    )
    .await?;
    SessionRow::find_by_statement(statement(
        &format!("{SELECT} WHERE tenant_id = $1 AND id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}
