//! Internal referrals: a member refers a candidate to an open posting; HR (`networking:manage`) moves
//! the referral through the pipeline and settles the referral bonus. The referrer sees their
//! referrals' posting, the candidate's name, the status and the bonus — never the candidate's contact
//! details, résumé or HR's notes, which only HR reads. Each referral has an unguessable tracking code:
//! the link the referrer sends the candidate shows the posting and nothing else.

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::postings;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::service::random_token,
    db::sql::statement,
    domain::Email,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// The pipeline, in order; `rejected` ends it from any step before `hired`.
pub const PIPELINE: [&str; 4] = ["submitted", "screening", "interviewing", "hired"];

/// Whether a referral may move from `from` to `to`: forward along the pipeline (steps may be
/// skipped), or to `rejected`; `hired` and `rejected` are final.
pub fn may_move(from: &str, to: &str) -> bool {
    let rank = |s: &str| PIPELINE.iter().position(|p| *p == s);
    match (rank(from), to) {
        (Some(3), _) | (None, _) => false,
        (Some(_), "rejected") => true,
        (Some(from), to) => rank(to).is_some_and(|to| to > from),
    }
}

/// Whether the bonus may go from `from` to `to` on a hired referral: `pending` → `approved` → `paid`,
/// and `pending` or `approved` → `not_eligible` (the hire left before the bonus was due); `paid` is
/// final.
pub fn may_settle(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("pending", "approved")
            | ("approved", "paid")
            | ("pending", "not_eligible")
            | ("approved", "not_eligible")
    )
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ReferralRow {
    pub id: Uuid,
    pub posting_id: Uuid,
    pub posting_title: String,
    pub referrer_id: Option<Uuid>,
    pub referrer_name: Option<String>,
    pub candidate_name: String,
    pub candidate_email: String,
    pub note: String,
    pub resume_url: Option<String>,
    pub tracking_code: String,
    pub status: String,
    pub hr_notes: String,
    /// The bonus the posting offered when the candidate was referred; empty: none.
    pub referral_bonus: String,
    pub bonus_status: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub status_changed_at: DateTime<FixedOffset>,
    pub hired_at: Option<DateTime<FixedOffset>>,
}

const SELECT: &str = "SELECT r.id, r.posting_id, p.title AS posting_title, r.referrer_id, \
     CASE WHEN u.id IS NULL THEN NULL WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS referrer_name, \
     r.candidate_name, r.candidate_email, r.note, r.resume_url, r.tracking_code, r.status, r.hr_notes, \
     r.referral_bonus, r.bonus_status, r.created_at, r.updated_at, r.status_changed_at, r.hired_at \
     FROM referrals r JOIN job_postings p ON p.tenant_id = r.tenant_id AND p.id = r.posting_id \
     LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.referrer_id";

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<ReferralRow> {
    ReferralRow::find_by_statement(statement(
        &format!("{SELECT} WHERE r.tenant_id = $1 AND r.id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// The referrals `referrer` made, newest first (at most 500).
pub async fn of_referrer(tx: &TenantTx, referrer: Uuid) -> Result<Vec<ReferralRow>> {
    Ok(ReferralRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE r.tenant_id = $1 AND r.referrer_id = $2 \
             ORDER BY r.created_at DESC, r.id DESC LIMIT 500"
        ),
        vec![tx.tenant_id().as_uuid().into(), referrer.into()],
    ))
    .all(tx)
    .await?)
}

/// Every referral (for HR), filtered by posting and status, newest first (at most 500).
pub async fn list(
    tx: &TenantTx,
    posting: Option<Uuid>,
    status: Option<&str>,
) -> Result<Vec<ReferralRow>> {
    Ok(ReferralRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE r.tenant_id = $1 AND ($2::uuid IS NULL OR r.posting_id = $2) \
             AND ($3::text IS NULL OR r.status = $3) ORDER BY r.created_at DESC, r.id DESC LIMIT 500"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            posting.into(),
            status.map(str::to_owned).into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// A posting's status, if it exists.
pub async fn posting_status(tx: &TenantTx, posting: Uuid) -> Result<Option<String>> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT status FROM job_postings WHERE tenant_id = $1 AND id = $2",
            vec![tx.tenant_id().as_uuid().into(), posting.into()],
        ))
        .await?
        .map(|r| r.try_get::<String>("", "status"))
        .transpose()?)
}

/// A candidate, as the referrer gives them.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub name: String,
    pub email: String,
    pub note: String,
    pub resume_url: Option<String>,
}

/// Refers a candidate to an open posting.
pub async fn refer(
    tx: &TenantTx,
    ctx: &AuditCtx,
    referrer: Uuid,
    posting_id: Uuid,
    candidate: Candidate,
) -> Result<ReferralRow> {
    // The posting is held (FOR SHARE: no change, so no closing, until this referral commits) while
    // its status decides.
    tx.execute_raw(statement(
        "SELECT 1 FROM job_postings WHERE tenant_id = $1 AND id = $2 FOR SHARE",
        vec![tx.tenant_id().as_uuid().into(), posting_id.into()],
    ))
    .await?;
    let posting = postings::get(tx, posting_id).await?;
    if posting.status != "open" {
        return Err(ApiError::conflict(
            "posting_not_open",
            "this posting does not take referrals now",
        ));
    }
    let mut errors = Vec::new();
    let name = validate::label("candidate_name", &candidate.name, 200)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let email = Email::parse(&candidate.email)
        .map_err(|m| errors.push(FieldError::new("candidate_email", m)))
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    let note = validate::prose("note", &candidate.note, 2000)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let resume_url = candidate
        .resume_url
        .as_deref()
        .map(|u| validate::web_url("resume_url", u))
        .transpose()
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let member = tx
        .query_one_raw(statement(
            "SELECT 1 AS found FROM users WHERE tenant_id = $1 AND email = $2 AND status = 'active'",
            vec![tx.tenant_id().as_uuid().into(), email.clone().into()],
        ))
        .await?;
    if member.is_some() {
        return Err(ApiError::validation(
            "candidate_email",
            "is the address of a current member of this organization",
        ));
    }
    let id = Uuid::now_v7();
    let inserted = tx
        .execute_raw(statement(
            "INSERT INTO referrals (tenant_id, id, posting_id, referrer_id, candidate_name, \
             candidate_email, note, resume_url, tracking_code, referral_bonus, created_at, updated_at, \
             status_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $10, $10, $10) \
             ON CONFLICT (tenant_id, posting_id, candidate_email) DO NOTHING",
            vec![
                tx.tenant_id().as_uuid().into(),
                id.into(),
                posting_id.into(),
                referrer.into(),
                name.clone().into(),
                email.into(),
                note.into(),
                resume_url.into(),
                random_token().into(),
                ctx.now.into(),
                posting.referral_bonus.clone().into(),
            ],
        ))
        .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "already_referred",
            "this candidate has been referred to this posting already",
        ));
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("referral.created")
            .target("referral", id, None)
            .metadata(json!({ "posting_id": posting_id, "referrer_id": referrer })),
    )
    .await?;
    get(tx, id).await
}

/// What HR changes on a referral.
#[derive(Debug, Clone, Default)]
pub struct Review {
    pub status: Option<String>,
    pub bonus_status: Option<String>,
    pub hr_notes: Option<String>,
}

/// Moves a referral along the pipeline, settles its bonus, keeps HR's notes (the row locked first).
/// Hiring a referral made while its posting offered a bonus makes the bonus `pending` (unless the
/// referrer's account is gone: nobody to pay).
pub async fn review(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    review: Review,
) -> Result<ReferralRow> {
    tx.execute_raw(statement(
        "SELECT 1 FROM referrals WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    let current = get(tx, id).await?;
    let notes = review
        .hr_notes
        .as_deref()
        .map(|n| validate::prose("hr_notes", n, 5000))
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?
        .unwrap_or(current.hr_notes.clone());
    let status = review.status.clone().unwrap_or(current.status.clone());
    if status != current.status && !may_move(&current.status, &status) {
        return Err(ApiError::conflict(
            "illegal_transition",
            format!(
                "a referral cannot go from {} to {status} (the pipeline is {}, or rejected)",
                current.status,
                PIPELINE.join(" → ")
            ),
        ));
    }
    let hired_now = status == "hired" && current.status != "hired";
    let mut bonus =
        if hired_now && !current.referral_bonus.is_empty() && current.referrer_id.is_some() {
            "pending".to_owned()
        } else {
            current.bonus_status.clone()
        };
    if let Some(wanted) = &review.bonus_status
        && *wanted != bonus
    {
        if !may_settle(&bonus, wanted) {
            return Err(ApiError::conflict(
                "illegal_bonus_transition",
                format!(
                    "the bonus cannot go from {bonus} to {wanted} (pending → approved → paid, \
                     or not_eligible; only for a hire)"
                ),
            ));
        }
        bonus = wanted.clone();
    }
    if status == current.status && bonus == current.bonus_status && notes == current.hr_notes {
        return Ok(current);
    }
    let now: DateTime<Utc> = ctx.now;
    tx.execute_raw(statement(
        "UPDATE referrals SET status = $3, bonus_status = $4, hr_notes = $5, updated_at = $6, \
         status_changed_at = CASE WHEN status <> $3 THEN $6 ELSE status_changed_at END, \
         hired_at = CASE WHEN $3 = 'hired' THEN coalesce(hired_at, $6) END \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            status.clone().into(),
            bonus.clone().into(),
            notes.clone().into(),
            now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("referral.reviewed")
            .target("referral", id, None)
            .metadata(json!({
                "posting_id": current.posting_id,
                "before": { "status": current.status, "bonus_status": current.bonus_status },
                "after": { "status": status, "bonus_status": bonus },
                "notes_changed": notes != current.hr_notes,
            })),
    )
    .await?;
    get(tx, id).await
}

/// The posting a tracking code leads to: what the candidate may see (its details only while open).
#[derive(Debug, Clone, FromQueryResult)]
pub struct LinkRow {
    pub title: String,
    pub department: String,
    pub location: String,
    pub description: String,
    pub status: String,
}

pub async fn by_code(tx: &TenantTx, code: &str) -> Result<LinkRow> {
    LinkRow::find_by_statement(statement(
        "SELECT p.title, p.department, p.location, p.description, p.status FROM referrals r \
         JOIN job_postings p ON p.tenant_id = r.tenant_id AND p.id = r.posting_id \
         WHERE r.tenant_id = $1 AND r.tracking_code = $2",
        vec![tx.tenant_id().as_uuid().into(), code.to_owned().into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_only_moves_forward_and_ends_at_a_hire_or_a_rejection() {
        assert!(may_move("submitted", "screening"));
        assert!(
            may_move("submitted", "interviewing"),
            "steps may be skipped"
        );
        assert!(may_move("interviewing", "hired"));
        assert!(may_move("screening", "rejected"));
        assert!(!may_move("interviewing", "screening"), "never back");
        assert!(!may_move("hired", "rejected"));
        assert!(!may_move("rejected", "screening"));
        assert!(!may_move("submitted", "submitted"));
        assert!(!may_move("submitted", "promoted"));
    }

    #[test]
    fn the_bonus_is_approved_then_paid_or_found_not_due() {
        assert!(may_settle("pending", "approved"));
        assert!(may_settle("approved", "paid"));
        assert!(may_settle("pending", "not_eligible"));
        assert!(may_settle("approved", "not_eligible"));
        assert!(!may_settle("pending", "paid"), "approved first");
        assert!(!may_settle("paid", "not_eligible"));
        assert!(!may_settle("not_eligible", "pending"));
    }
}
