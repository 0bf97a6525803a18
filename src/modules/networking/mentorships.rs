//! Mentorships, from the mentee's request: `requested` → `accepted` (within the mentor's limit) or
//! `declined` (remembered: that mentor is not recommended to that mentee again); after the first logged
//! session ([`super::mentorship_sessions`]) the mentee says whether it is a good fit — `active`, or
//! `cancelled` as not a fit (remembered too; they are offered other mentors) —; an active one is
//! `completed` by either side, the mentee rating it 1–5. Either side may cancel an open one. The score
//! and its breakdown are kept as they stood when requested. Only the two people in it see it.

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{matching::Excluded, recommend};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::ApiError,
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct MentorshipRow {
    pub id: Uuid,
    pub mentor_id: Uuid,
    pub mentor_name: String,
    pub mentee_id: Uuid,
    pub mentee_name: String,
    pub status: String,
    pub goals: String,
    pub message: String,
    pub score: i32,
    pub breakdown: serde_json::Value,
    pub response_note: String,
    pub requested_at: DateTime<FixedOffset>,
    pub responded_at: Option<DateTime<FixedOffset>>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    pub fit_checked_at: Option<DateTime<FixedOffset>>,
    pub not_a_fit: bool,
    pub rating: Option<i16>,
    pub feedback: String,
    pub programme_id: Option<Uuid>,
}

const SELECT: &str = "SELECT s.id, s.mentor_id, \
     CASE WHEN a.display_name = '' THEN a.email ELSE a.display_name END AS mentor_name, s.mentee_id, \
     CASE WHEN b.display_name = '' THEN b.email ELSE b.display_name END AS mentee_name, s.status, s.goals, \
     s.message, s.score, s.breakdown, s.response_note, s.requested_at, s.responded_at, s.ended_at, \
     s.fit_checked_at, s.not_a_fit, s.rating, s.feedback, s.programme_id \
     FROM mentorships s JOIN users a ON a.tenant_id = s.tenant_id AND a.id = s.mentor_id \
     JOIN users b ON b.tenant_id = s.tenant_id AND b.id = s.mentee_id";

/// The mentorships `user` is in, as mentor or mentee, newest first (at most 200).
pub async fn of_user(tx: &TenantTx, user: Uuid) -> Result<Vec<MentorshipRow>> {
    Ok(MentorshipRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE s.tenant_id = $1 AND (s.mentor_id = $2 OR s.mentee_id = $2) \
             ORDER BY s.requested_at DESC, s.id DESC LIMIT 200"
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(tx)
    .await?)
}

/// A mentorship `user` is in (anyone else's is not found), locked for a change when `lock`.
pub async fn get(tx: &TenantTx, user: Uuid, id: Uuid, lock: bool) -> Result<MentorshipRow> {
    if lock {
        tx.execute_raw(statement(
            "SELECT 1 FROM mentorships WHERE tenant_id = $1 AND id = $2 \
             AND (mentor_id = $3 OR mentee_id = $3) FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), id.into(), user.into()],
        ))
        .await?;
    }
    MentorshipRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE s.tenant_id = $1 AND s.id = $2 AND (s.mentor_id = $3 OR s.mentee_id = $3)"
        ),
        vec![tx.tenant_id().as_uuid().into(), id.into(), user.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

pub(super) fn unavailable(reason: Excluded) -> ApiError {
    match reason {
        Excluded::Yourself => ApiError::validation("mentor_id", "is you"),
        Excluded::Inactive => ApiError::conflict(
            "mentor_unavailable",
            "this mentor is not taking mentees now",
        ),
        Excluded::Full => ApiError::conflict(
            "mentor_full",
            "this mentor has as many mentees as they take",
        ),
        Excluded::ReportingLine => ApiError::conflict(
            "reporting_line",
            "a mentor cannot be your manager or above them",
        ),
        Excluded::Declined => ApiError::conflict(
            "declined_before",
            "this mentor declined a request of yours before, or you found them not a fit",
        ),
        Excluded::AlreadyConnected => ApiError::conflict(
            "already_connected",
            "you have an open request or mentorship with this mentor",
        ),
        Excluded::NoSharedLanguage => ApiError::conflict(
            "no_shared_language",
            "you and this mentor share no language",
        ),
    }
}

/// The mentee asks `mentor` to mentor them; the score is computed as the recommendations do, with the
/// mentee's time zone as given (default: the organization's).
pub async fn request(
    tx: &TenantTx,
    ctx: &AuditCtx,
    mentee: Uuid,
    mentor: Uuid,
    timezone: Option<&str>,
    goals: &str,
    message: &str,
) -> Result<MentorshipRow> {
    if let Some(zone) = timezone {
        validate::time_zone("timezone", zone).map_err(|e| ApiError::Validation(vec![e]))?;
    }
    let goals = validate::prose("goals", goals, 2000).map_err(|e| ApiError::Validation(vec![e]))?;
    let message =
        validate::prose("message", message, 1000).map_err(|e| ApiError::Validation(vec![e]))?;
    let view = recommend::mentee(tx, mentee, Default::default(), timezone, ctx.now).await?;
    let breakdown = match recommend::evaluate_one(tx, &view, mentor, ctx.now).await {
        Ok(Ok(breakdown)) => breakdown,
        Ok(Err(reason)) => return Err(unavailable(reason)),
        Err(ApiError::NotFound { .. }) => {
            return Err(ApiError::validation(
                "mentor_id",
                "is not a mentor of this organization",
            ));
        }
        Err(other) => return Err(other),
    };
    let id = Uuid::now_v7();
    let inserted = tx
        .execute_raw(statement(
            "INSERT INTO mentorships (tenant_id, id, mentor_id, mentee_id, goals, message, score, \
             breakdown, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id, mentor_id, mentee_id) WHERE status IN ('requested', 'accepted', 'active') \
             DO NOTHING",
            vec![
                tx.tenant_id().as_uuid().into(),
                id.into(),
                mentor.into(),
                mentee.into(),
                goals.into(),
                message.into(),
                (breakdown.total as i32).into(),
                json!(breakdown).into(),
                ctx.now.into(),
            ],
        ))
        .await?;
    if inserted.rows_affected() == 0 {
        return Err(unavailable(Excluded::AlreadyConnected));
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mentorship.requested")
            .target("mentorship", id, None)
            .metadata(
                json!({ "mentor_id": mentor, "mentee_id": mentee, "score": breakdown.total }),
            ),
    )
    .await?;
    get(tx, mentee, id, false).await
}

/// The mentor accepts (within their limit) or declines a request.
pub async fn respond(
    tx: &TenantTx,
    ctx: &AuditCtx,
    mentor: Uuid,
    id: Uuid,
    accept: bool,
    note: &str,
) -> Result<MentorshipRow> {
    let note = validate::prose("note", note, 1000).map_err(|e| ApiError::Validation(vec![e]))?;
    let current = get(tx, mentor, id, true).await?;
    if current.mentor_id != mentor {
        return Err(ApiError::forbidden(
            "not_the_mentor",
            "only the mentor answers a request",
        ));
    }
    if current.status != "requested" {
        return Err(ApiError::conflict(
            "not_pending",
            format!("this mentorship is {} already", current.status),
        ));
    }
    if accept {
        // The mentor's profile is locked first, and the places counted after, in a statement of its
        // own (a fresh snapshot): two acceptances at once do not both take the last place.
        tx.execute_raw(statement(
            "SELECT 1 FROM mentor_profiles WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), mentor.into()],
        ))
        .await?;
        let room = tx
            .query_one_raw(statement(
                "SELECT p.mentee_limit::bigint - (SELECT count(*) FROM mentorships s WHERE s.tenant_id = p.tenant_id \
                 AND s.mentor_id = p.user_id AND s.status IN ('accepted', 'active')) AS room \
                 FROM mentor_profiles p WHERE p.tenant_id = $1 AND p.user_id = $2",
                vec![tx.tenant_id().as_uuid().into(), mentor.into()],
            ))
            .await?
            .map(|r| r.try_get::<i64>("", "room"))
            .transpose()?
            .unwrap_or(0);
        if room <= 0 {
            return Err(ApiError::conflict(
                "mentor_full",
                "you have as many mentees as your profile takes: raise the limit first",
            ));
        }
    }
    let now: DateTime<Utc> = ctx.now;
    tx.execute_raw(statement(
        "UPDATE mentorships SET status = $3, response_note = $4, responded_at = $5, \
         accepted_at = CASE WHEN $3 = 'accepted' THEN $5 END, \
         ended_at = CASE WHEN $3 = 'declined' THEN $5 END, \
         ended_by = CASE WHEN $3 = 'declined' THEN mentor_id END \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            if accept { "accepted" } else { "declined" }.into(),
            note.into(),
            now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if accept {
            "mentorship.accepted"
        } else {
            "mentorship.declined"
        })
        .target("mentorship", id, None)
        .metadata(json!({ "mentor_id": current.mentor_id, "mentee_id": current.mentee_id })),
    )
    .await?;
    get(tx, mentor, id, false).await
}

/// Either side ends an open mentorship (accepted or active; a request: the mentee withdraws it, the
/// mentor declines it).
pub async fn cancel(tx: &TenantTx, ctx: &AuditCtx, user: Uuid, id: Uuid) -> Result<MentorshipRow> {
    let current = get(tx, user, id, true).await?;
    if current.status == "requested" && user == current.mentor_id {
        return Err(ApiError::conflict(
            "answer_instead",
            "decline the request instead: a declined request is remembered",
        ));
    }
    if !matches!(current.status.as_str(), "requested" | "accepted" | "active") {
        return Err(ApiError::conflict(
            "mentorship_closed",
            format!("this mentorship is {} already", current.status),
        ));
    }
    let now: DateTime<Utc> = ctx.now;
    tx.execute_raw(statement(
        "UPDATE mentorships SET status = 'cancelled', ended_at = $3, ended_by = $4, \
         responded_at = coalesce(responded_at, $3) WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            now.into(),
            user.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mentorship.cancelled")
            .target("mentorship", id, None)
            .metadata(json!({
                "mentor_id": current.mentor_id, "mentee_id": current.mentee_id,
                "before": current.status, "by": if user == current.mentor_id { "mentor" } else { "mentee" },
            })),
    )
    .await?;
    get(tx, user, id, false).await
}

/// The mentee's first-session check: a good fit makes the mentorship `active`; not a fit ends it
/// (`cancelled`, remembered like a decline).
pub async fn check_fit(
    tx: &TenantTx,
    ctx: &AuditCtx,
    mentee: Uuid,
    id: Uuid,
    good_fit: bool,
    note: &str,
) -> Result<MentorshipRow> {
    let note = validate::prose("note", note, 2000).map_err(|e| ApiError::Validation(vec![e]))?;
    let current = get(tx, mentee, id, true).await?;
    if current.mentee_id != mentee {
        return Err(ApiError::forbidden(
            "not_the_mentee",
            "only the mentee says whether it is a good fit",
        ));
    }
    if current.status != "accepted" {
        return Err(ApiError::conflict(
            "no_fit_check",
            format!(
                "the fit check follows an accepted request; this mentorship is {}",
                current.status
            ),
        ));
    }
    if super::mentorship_sessions::count(tx, id).await? == 0 {
        return Err(ApiError::conflict(
            "no_session_yet",
            "log your first session before saying whether it is a good fit",
        ));
    }
    let now: DateTime<Utc> = ctx.now;
    tx.execute_raw(statement(
        "UPDATE mentorships SET fit_checked_at = $3, feedback = $5, \
         status = CASE WHEN $4 THEN 'active' ELSE 'cancelled' END, not_a_fit = NOT $4, \
         ended_at = CASE WHEN $4 THEN NULL ELSE $3 END, ended_by = CASE WHEN $4 THEN NULL ELSE mentee_id END \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            now.into(),
            good_fit.into(),
            note.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if good_fit {
            "mentorship.fit_confirmed"
        } else {
            "mentorship.not_a_fit"
        })
        .target("mentorship", id, None)
        .metadata(json!({ "mentor_id": current.mentor_id, "mentee_id": current.mentee_id })),
    )
    .await?;
    get(tx, mentee, id, false).await
}

/// Either side completes an active mentorship; the mentee may rate it (1–5) with feedback.
pub async fn complete(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    id: Uuid,
    rating: Option<i64>,
    feedback: &str,
) -> Result<MentorshipRow> {
    let current = get(tx, user, id, true).await?;
    let by_mentee = user == current.mentee_id;
    if current.status != "active" {
        return Err(ApiError::conflict(
            "not_active",
            format!(
                "only an active mentorship is completed; this one is {}",
                current.status
            ),
        ));
    }
    let rating = check_rating(by_mentee, rating, feedback)?;
    let now: DateTime<Utc> = ctx.now;
    tx.execute_raw(statement(
        "UPDATE mentorships SET status = 'completed', ended_at = $3, ended_by = $4, rating = $5, \
         feedback = CASE WHEN $6 = '' THEN feedback ELSE $6 END WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            now.into(),
            user.into(),
            rating.map(|r| r as i16).into(),
            feedback.trim().to_owned().into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mentorship.completed")
            .target("mentorship", id, None)
            .metadata(json!({
                "mentor_id": current.mentor_id, "mentee_id": current.mentee_id,
                "by": if by_mentee { "mentee" } else { "mentor" }, "rating": rating,
            })),
    )
    .await?;
    get(tx, user, id, false).await
}

/// The mentee rates a completed mentorship they have not rated yet.
pub async fn rate(
    tx: &TenantTx,
    ctx: &AuditCtx,
    mentee: Uuid,
    id: Uuid,
    rating: i64,
    feedback: &str,
) -> Result<MentorshipRow> {
    let current = get(tx, mentee, id, true).await?;
    let rating = check_rating(mentee == current.mentee_id, Some(rating), feedback)?;
    if current.status != "completed" || current.rating.is_some() {
        return Err(ApiError::conflict(
            "not_to_rate",
            "a completed mentorship is rated once",
        ));
    }
    tx.execute_raw(statement(
        "UPDATE mentorships SET rating = $3, feedback = CASE WHEN $4 = '' THEN feedback ELSE $4 END \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            rating.map(|r| r as i16).into(),
            feedback.trim().to_owned().into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("mentorship.rated")
            .target("mentorship", id, None)
            .metadata(json!({ "mentor_id": current.mentor_id, "rating": rating })),
    )
    .await?;
    get(tx, mentee, id, false).await
}

/// A rating (and feedback) comes only from the mentee, 1 to 5.
fn check_rating(by_mentee: bool, rating: Option<i64>, feedback: &str) -> Result<Option<i64>> {
    if !by_mentee && rating.is_some() {
        return Err(ApiError::validation(
            "rating",
            "only the mentee rates a mentorship",
        ));
    }
    if !by_mentee && !feedback.trim().is_empty() {
        return Err(ApiError::validation(
            "feedback",
            "only the mentee gives feedback on a mentorship",
        ));
    }
    if rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(ApiError::validation("rating", "must be between 1 and 5"));
    }
    validate::prose("feedback", feedback, 2000).map_err(|e| ApiError::Validation(vec![e]))?;
    Ok(rating)
}
