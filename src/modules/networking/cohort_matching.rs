//! A programme's draft matches: the owner runs the batch matching over the cohort (scores as the
//! recommendations give them, [`super::recommend::cohort`]; the assignment by
//! [`super::assignment::assign`], off the async threads), reads the preview, and adjusts it — a pair
//! set by hand, or a mentee kept out, is `pinned` and kept by the next run. Publishing is in
//! [`super::programme_pairs`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    Caller,
    assignment::{self, Method, Problem},
    matching::{Breakdown, Excluded, Mentee},
    mentorships,
    programmes::{self, ParticipantRow, ProgrammeRow},
    recommend,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::ApiError,
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct DraftRow {
    pub mentee_id: Uuid,
    pub mentee_name: String,
    pub mentor_id: Option<Uuid>,
    pub mentor_name: Option<String>,
    pub score: Option<i32>,
    pub breakdown: Option<serde_json::Value>,
    pub pinned: bool,
    /// `no_allowed_mentor`, `no_place_left`, `kept_out`, or `not_matched_yet` (joined after the run).
    pub unmatched: Option<String>,
}

/// A mentor's places in the programme: what they gave it, what their profile has open now (none: no
/// active profile), and how many the draft gives them.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MentorPlaces {
    pub user_id: Uuid,
    pub display_name: String,
    pub places: i16,
    pub open_places: Option<i64>,
    pub assigned: i64,
}

impl MentorPlaces {
    /// The mentees the programme may give them now.
    pub fn usable(&self) -> i64 {
        i64::from(self.places).min(self.open_places.unwrap_or(0).max(0))
    }
}

/// The draft as the owner reads it.
#[derive(Debug, Clone)]
pub struct Draft {
    pub programme: ProgrammeRow,
    pub rows: Vec<DraftRow>,
    pub mentors: Vec<MentorPlaces>,
}

impl Draft {
    pub fn total(&self) -> i64 {
        self.rows
            .iter()
            .filter_map(|r| r.score)
            .map(i64::from)
            .sum()
    }
}

/// Every mentee of the programme who is an active member, with their draft match (or why they have
/// none). A deactivated member's row stays until they return, and is neither shown nor published.
pub async fn rows(tx: &TenantTx, programme: Uuid) -> Result<Vec<DraftRow>> {
    Ok(DraftRow::find_by_statement(statement(
        "SELECT x.user_id AS mentee_id, \
         CASE WHEN a.display_name = '' THEN a.email ELSE a.display_name END AS mentee_name, m.mentor_id, \
         CASE WHEN b.display_name = '' THEN b.email ELSE b.display_name END AS mentor_name, m.score, \
         m.breakdown, coalesce(m.pinned, false) AS pinned, \
         CASE WHEN m.mentee_id IS NULL THEN 'not_matched_yet' ELSE m.unmatched END AS unmatched \
         FROM programme_participants x JOIN users a ON a.tenant_id = x.tenant_id AND a.id = x.user_id \
         AND a.status = 'active' \
         LEFT JOIN programme_matches m ON m.tenant_id = x.tenant_id AND m.programme_id = x.programme_id \
         AND m.mentee_id = x.user_id \
         LEFT JOIN users b ON b.tenant_id = m.tenant_id AND b.id = m.mentor_id \
         WHERE x.tenant_id = $1 AND x.programme_id = $2 AND x.role = 'mentee' \
         ORDER BY (m.mentor_id IS NULL), lower(a.display_name), a.email",
        vec![tx.tenant_id().as_uuid().into(), programme.into()],
    ))
    .all(tx)
    .await?)
}

/// Every mentor of the programme with their places.
pub async fn mentor_places(tx: &TenantTx, programme: Uuid) -> Result<Vec<MentorPlaces>> {
    Ok(MentorPlaces::find_by_statement(statement(
        "SELECT x.user_id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS display_name, \
         x.places, \
         (SELECT p.mentee_limit::bigint - (SELECT count(*) FROM mentorships s WHERE s.tenant_id = p.tenant_id \
            AND s.mentor_id = p.user_id AND s.status IN ('accepted', 'active')) \
          FROM mentor_profiles p WHERE p.tenant_id = x.tenant_id AND p.user_id = x.user_id AND p.active \
          AND u.status = 'active') AS open_places, \
         (SELECT count(*) FROM programme_matches m WHERE m.tenant_id = x.tenant_id \
          AND m.programme_id = x.programme_id AND m.mentor_id = x.user_id) AS assigned \
         FROM programme_participants x JOIN users u ON u.tenant_id = x.tenant_id AND u.id = x.user_id \
         WHERE x.tenant_id = $1 AND x.programme_id = $2 AND x.role = 'mentor' \
         ORDER BY lower(u.display_name), u.email",
        vec![tx.tenant_id().as_uuid().into(), programme.into()],
    ))
    .all(tx)
    .await?)
}

pub async fn draft(tx: &TenantTx, programme: ProgrammeRow) -> Result<Draft> {
    Ok(Draft {
        rows: rows(tx, programme.id).await?,
        mentors: mentor_places(tx, programme.id).await?,
        programme,
    })
}

/// A mentee as matching sees them, with the languages and time zone they joined with.
pub async fn mentee_view(
    tx: &TenantTx,
    participant: &ParticipantRow,
    now: DateTime<Utc>,
) -> Result<Mentee> {
    recommend::mentee(
        tx,
        participant.user_id,
        participant.languages.iter().cloned().collect(),
        participant.timezone.as_deref(),
        now,
    )
    .await
}

/// Runs the batch matching: pinned rows stay, every other mentee is matched anew.
pub async fn run(tx: &TenantTx, ctx: &AuditCtx, viewer: Caller, id: Uuid) -> Result<Draft> {
    let programme = programmes::run_by(tx, viewer, id, true).await?;
    programmes::ensure_open(&programme)?;
    let cohort = programmes::participants(tx, id).await?;
    let before = rows(tx, id).await?;
    // `rows` lists active mentees only: a deactivated one's pin neither counts nor takes a place.
    let pinned: BTreeMap<Uuid, Option<Uuid>> = before
        .iter()
        .filter(|r| r.pinned)
        .map(|r| (r.mentee_id, r.mentor_id))
        .collect();
    let places = mentor_places(tx, id).await?;
    let mentor_ids: Vec<Uuid> = places.iter().map(|m| m.user_id).collect();
    let capacity: Vec<usize> = places
        .iter()
        .map(|m| {
            let taken = pinned.values().filter(|p| **p == Some(m.user_id)).count() as i64;
            (m.usable() - taken).max(0) as usize
        })
        .collect();
    let mut mentees = Vec::new();
    for participant in cohort
        .iter()
        .filter(|p| p.role == "mentee" && p.active && !pinned.contains_key(&p.user_id))
    {
        mentees.push(mentee_view(tx, participant, ctx.now).await?);
    }
    let scores = recommend::cohort(tx, &mentees, &mentor_ids, ctx.now).await?;
    let problem = Problem {
        scores: scores
            .scores
            .iter()
            .map(|row| {
                row.iter()
                    .map(|s| s.as_ref().ok().map(|b| b.total))
                    .collect()
            })
            .collect(),
        capacity,
    };
    let solved = {
        let problem = problem.clone();
        tokio::task::spawn_blocking(move || assignment::assign(&problem))
            .await
            .map_err(ApiError::internal)?
    };
    let mut records = Vec::new();
    for (i, mentee) in mentees.iter().enumerate() {
        let record = match solved.mentor_of.get(i).copied().flatten() {
            Some(j) => {
                let breakdown: Option<Breakdown> = scores.scores[i][j].as_ref().ok().copied();
                json!({
                    "mentee_id": mentee.id, "mentor_id": mentor_ids[j],
                    "score": breakdown.map(|b| b.total), "breakdown": breakdown,
                })
            }
            None => {
                let allowed = problem.scores[i].iter().any(Option::is_some);
                json!({
                    "mentee_id": mentee.id,
                    "unmatched": if allowed { "no_place_left" } else { "no_allowed_mentor" },
                })
            }
        };
        records.push(record);
    }
    tx.execute_raw(statement(
        "DELETE FROM programme_matches WHERE tenant_id = $1 AND programme_id = $2 AND NOT pinned",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    tx.execute_raw(statement(
        "INSERT INTO programme_matches (tenant_id, programme_id, mentee_id, mentor_id, score, breakdown, unmatched) \
         SELECT $1, $2, r.mentee_id, r.mentor_id, r.score, r.breakdown, r.unmatched \
         FROM jsonb_to_recordset($3) AS r(mentee_id uuid, mentor_id uuid, score integer, breakdown jsonb, unmatched text)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            serde_json::Value::Array(records).into(),
        ],
    ))
    .await?;
    let method = match solved.method {
        Method::Optimal => "optimal",
        Method::Greedy => "greedy",
    };
    tx.execute_raw(statement(
        "UPDATE mentoring_programmes SET matched_at = $3, match_method = $4, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            ctx.now.into(),
            method.into(),
        ],
    ))
    .await?;
    let matched = solved.mentor_of.iter().filter(|m| m.is_some()).count();
    audit::record(
        tx,
        ctx,
        AuditEvent::new("programme.matched")
            .target("programme", id, Some(programme.name.as_str()))
            .metadata(json!({
                "mentees": mentees.len() + pinned.len(), "pinned": pinned.len(),
                "matched_by_run": matched, "total_by_run": solved.total,
                "mentors": mentor_ids.len(), "method": method,
            })),
    )
    .await?;
    let programme = programmes::get(tx, viewer, id, false).await?;
    draft(tx, programme).await
}

/// Why a pair is refused, as the owner may learn it: HR hears the filter; an owner who is not HR only
/// that the pair is not allowed, since the filters speak of private history (a decline, an open request)
/// and of reporting lines.
pub fn not_allowed(viewer: Caller, reason: Excluded) -> ApiError {
    if viewer.manages {
        mentorships::unavailable(reason)
    } else {
        ApiError::conflict(
            "pair_not_allowed",
            "the matching's filters do not allow this pair",
        )
    }
}

async fn mentee_participant(
    tx: &TenantTx,
    programme: Uuid,
    mentee: Uuid,
) -> Result<ParticipantRow> {
    match programmes::participation(tx, programme, mentee).await {
        Ok(p) if p.role == "mentee" && p.active => Ok(p),
        Ok(_) | Err(ApiError::NotFound { .. }) => Err(ApiError::not_found()),
        Err(other) => Err(other),
    }
}

/// The owner sets a mentee's mentor by hand (`None`: keeps them out of this programme's matches);
/// the pair must pass the filters and the mentor have a place left. Pinned: the next run keeps it.
pub async fn set(
    tx: &TenantTx,
    ctx: &AuditCtx,
    viewer: Caller,
    id: Uuid,
    mentee: Uuid,
    mentor: Option<Uuid>,
) -> Result<Draft> {
    let programme = programmes::run_by(tx, viewer, id, true).await?;
    programmes::ensure_open(&programme)?;
    let participant = mentee_participant(tx, id, mentee).await?;
    let before = rows(tx, id)
        .await?
        .into_iter()
        .find(|r| r.mentee_id == mentee)
        .and_then(|r| r.mentor_id);
    let record = match mentor {
        Some(mentor) => {
            let places = mentor_places(tx, id).await?;
            let Some(slot) = places.iter().find(|m| m.user_id == mentor) else {
                return Err(ApiError::validation(
                    "mentor_id",
                    "is not a mentor in this programme",
                ));
            };
            let view = mentee_view(tx, &participant, ctx.now).await?;
            let scored = recommend::cohort(tx, &[view], &[mentor], ctx.now).await?;
            let breakdown = match scored.scores.first().and_then(|r| r.first()) {
                Some(Ok(b)) => *b,
                Some(Err(reason)) => return Err(not_allowed(viewer, *reason)),
                None => return Err(ApiError::internal(anyhow::anyhow!("no score for the pair"))),
            };
            let others = slot.assigned - i64::from(before == Some(mentor));
            if others >= slot.usable() {
                return Err(ApiError::conflict(
                    "no_place_left",
                    format!(
                        "{} has no place left in this programme: move one of their mentees first",
                        slot.display_name
                    ),
                ));
            }
            json!({ "mentor_id": mentor, "score": breakdown.total, "breakdown": breakdown, "unmatched": null })
        }
        None => {
            json!({ "mentor_id": null, "score": null, "breakdown": null, "unmatched": "kept_out" })
        }
    };
    tx.execute_raw(statement(
        "INSERT INTO programme_matches (tenant_id, programme_id, mentee_id, mentor_id, score, breakdown, unmatched, pinned) \
         SELECT $1, $2, $3, r.mentor_id, r.score, r.breakdown, r.unmatched, true \
         FROM jsonb_to_record($4) AS r(mentor_id uuid, score integer, breakdown jsonb, unmatched text) \
         ON CONFLICT (tenant_id, programme_id, mentee_id) DO UPDATE SET mentor_id = excluded.mentor_id, \
         score = excluded.score, breakdown = excluded.breakdown, unmatched = excluded.unmatched, pinned = true",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            mentee.into(),
            record.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("programme.match_set")
            .target("programme", id, Some(programme.name.as_str()))
            .metadata(
                json!({ "mentee_id": mentee, "mentor": { "before": before, "after": mentor } }),
            ),
    )
    .await?;
    draft(tx, programme).await
}

/// The owner lets go of a pair or exclusion they set: the mentee is matched by the next run.
pub async fn release(
    tx: &TenantTx,
    ctx: &AuditCtx,
    viewer: Caller,
    id: Uuid,
    mentee: Uuid,
) -> Result<Draft> {
    let programme = programmes::run_by(tx, viewer, id, true).await?;
    programmes::ensure_open(&programme)?;
    mentee_participant(tx, id, mentee).await?;
    let released = tx
        .execute_raw(statement(
            "DELETE FROM programme_matches WHERE tenant_id = $1 AND programme_id = $2 AND mentee_id = $3 \
             AND pinned",
            vec![
                tx.tenant_id().as_uuid().into(),
                id.into(),
                mentee.into(),
            ],
        ))
        .await?;
    if released.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "not_pinned",
            "this mentee's match was not set by hand",
        ));
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("programme.match_released")
            .target("programme", id, Some(programme.name.as_str()))
            .metadata(json!({ "mentee_id": mentee })),
    )
    .await?;
    draft(tx, programme).await
}

/// Mentees of the programme, the mentors in its draft, in the order the draft lists them.
pub fn pairs(rows: &[DraftRow]) -> Vec<(Uuid, Uuid)> {
    rows.iter()
        .filter_map(|r| r.mentor_id.map(|m| (r.mentee_id, m)))
        .collect()
}

/// The distinct ids, in order of first appearance.
pub fn distinct(ids: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
    let mut seen = BTreeSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}
