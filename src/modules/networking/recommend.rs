//! Gathers what [`super::matching`] needs from the organization's data: the mentee's goal gaps (their
//! active career goal against their effective levels, as in docs/career.md), reporting line, role level
//! and profile skills; each mentor's profile, load, ratings, history with this mentee, role level and
//! effective levels; and the organization's weights.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Offset, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::{
    matching::{self, Breakdown, Excluded, GoalGap, Mentee, Mentor, Weights},
    mentors,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::ApiError,
    modules::career::{goals, pathways, profiles, readiness},
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

/// The organization's weights, or the defaults.
pub async fn weights(tx: &TenantTx) -> Result<Weights> {
    let row = tx
        .query_one_raw(statement(
            "SELECT skills, stage, timezone, interests, rating FROM matching_weights WHERE tenant_id = $1",
            vec![tx.tenant_id().as_uuid().into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => Weights {
            skills: i64::from(row.try_get::<i16>("", "skills")?),
            stage: i64::from(row.try_get::<i16>("", "stage")?),
            timezone: i64::from(row.try_get::<i16>("", "timezone")?),
            interests: i64::from(row.try_get::<i16>("", "interests")?),
            rating: i64::from(row.try_get::<i16>("", "rating")?),
        },
        None => Weights::default(),
    })
}

/// Sets the organization's weights (each 0–100, checked by the caller).
pub async fn save_weights(tx: &TenantTx, ctx: &AuditCtx, weights: Weights) -> Result<Weights> {
    let before = self::weights(tx).await?;
    tx.execute_raw(statement(
        "INSERT INTO matching_weights (tenant_id, skills, stage, timezone, interests, rating, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET \
         skills = excluded.skills, stage = excluded.stage, timezone = excluded.timezone, \
         interests = excluded.interests, rating = excluded.rating, updated_at = excluded.updated_at",
        vec![
            tx.tenant_id().as_uuid().into(),
            (weights.skills as i16).into(),
            (weights.stage as i16).into(),
            (weights.timezone as i16).into(),
            (weights.interests as i16).into(),
            (weights.rating as i16).into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("matching_weights.updated")
            .metadata(serde_json::json!({ "before": before, "after": weights })),
    )
    .await?;
    Ok(weights)
}

/// The UTC offset, in minutes, of `zone` at `at`.
pub fn offset_minutes(zone: &str, at: DateTime<Utc>) -> Option<i64> {
    let tz: Tz = zone.parse().ok()?;
    Some(i64::from(at.with_timezone(&tz).offset().fix().local_minus_utc()) / 60)
}

#[derive(Debug, FromQueryResult)]
struct LevelRow {
    user_id: Uuid,
    level: i16,
}

/// The level of the career role each of `users` holds now.
async fn role_levels(tx: &TenantTx, users: &[Uuid]) -> Result<BTreeMap<Uuid, i64>> {
    if users.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(LevelRow::find_by_statement(statement(
        "SELECT p.user_id, max(r.level) AS level FROM career_positions p \
         JOIN career_roles r ON r.tenant_id = p.tenant_id AND r.id = p.role_id \
         WHERE p.tenant_id = $1 AND p.ended_on IS NULL AND p.user_id = ANY($2) GROUP BY p.user_id",
        vec![tx.tenant_id().as_uuid().into(), users.to_vec().into()],
    ))
    .all(tx)
    .await?
    .into_iter()
    .map(|r| (r.user_id, i64::from(r.level)))
    .collect())
}

#[derive(Debug, FromQueryResult)]
struct HistoryRow {
    mentor_id: Uuid,
    declined: bool,
    connected: bool,
}

/// The mentee as matching sees them; `languages` and `timezone` as they asked (the time zone defaults
/// to the organization's).
pub async fn mentee(
    tx: &TenantTx,
    user: Uuid,
    languages: BTreeSet<String>,
    timezone: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Mentee> {
    let managers: BTreeSet<Uuid> = tx
        .query_all_raw(statement(
            "WITH RECURSIVE chain (id, depth) AS ( \
               SELECT manager_id, 1 FROM users WHERE tenant_id = $1 AND id = $2 \
               UNION ALL \
               SELECT u.manager_id, c.depth + 1 FROM users u JOIN chain c ON u.tenant_id = $1 AND u.id = c.id \
               WHERE c.depth < 50) \
             SELECT id FROM chain WHERE id IS NOT NULL",
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id"))
        .collect::<std::result::Result<_, _>>()?;
    let zone = match timezone {
        Some(zone) => Some(zone.to_owned()),
        None => crate::modules::orgs::service::time_zone(tx).await?,
    };
    let skills = profiles::skills(tx, user, now).await?;
    let levels = profiles::levels(&skills);
    let gaps = match goals::active(tx, user).await? {
        Some(goal) => {
            let requirements: Vec<readiness::Requirement> =
                pathways::requirements(tx, goal.target_role_id)
                    .await?
                    .iter()
                    .map(pathways::RequirementRow::requirement)
                    .collect();
            readiness::readiness(&requirements, &levels)
                .gaps
                .into_iter()
                .map(|g| GoalGap {
                    skill_id: g.skill_id,
                    have: g.level,
                    need: f64::from(g.min_level),
                    weight: f64::from(g.weight),
                })
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Mentee {
        id: user,
        managers,
        languages,
        utc_offset: zone.and_then(|z| offset_minutes(&z, now)),
        level: role_levels(tx, &[user]).await?.get(&user).copied(),
        gaps,
        interests: skills.iter().map(|s| s.skill_id).collect(),
    })
}

/// A recommendation: the mentor's profile and the breakdown of their score.
pub struct Recommendation {
    pub mentor: mentors::Mentor,
    pub breakdown: Breakdown,
}

async fn history(
    tx: &TenantTx,
    mentee: Uuid,
    mentor: Option<Uuid>,
) -> Result<BTreeMap<Uuid, HistoryRow>> {
    Ok(HistoryRow::find_by_statement(statement(
        "SELECT mentor_id, bool_or(status = 'declined' OR not_a_fit) AS declined, \
         bool_or(status IN ('requested', 'accepted', 'active')) AS connected \
         FROM mentorships WHERE tenant_id = $1 AND mentee_id = $2 \
         AND ($3::uuid IS NULL OR mentor_id = $3) GROUP BY mentor_id",
        vec![
            tx.tenant_id().as_uuid().into(),
            mentee.into(),
            mentor.into(),
        ],
    ))
    .all(tx)
    .await?
    .into_iter()
    .map(|h| (h.mentor_id, h))
    .collect())
}

/// The mentor as matching sees them, without their skills and history with any mentee.
fn unfiltered(profile: &mentors::Mentor, level: Option<i64>, now: DateTime<Utc>) -> Mentor {
    let row = &profile.row;
    Mentor {
        id: row.user_id,
        active: row.active,
        mentee_limit: i64::from(row.mentee_limit),
        load: row.load,
        pending: row.pending,
        languages: row.languages.iter().cloned().collect(),
        utc_offset: offset_minutes(&row.timezone, now),
        level,
        skills: BTreeMap::new(),
        ratings: row.ratings,
        rating_sum: row.rating_sum,
        declined: false,
        connected: false,
    }
}

/// The mentor as matching sees them, without their skills yet, or the filter that leaves them out.
fn candidate(
    mentee: &Mentee,
    profile: &mentors::Mentor,
    past: Option<&HistoryRow>,
    level: Option<i64>,
    now: DateTime<Utc>,
) -> std::result::Result<Mentor, Excluded> {
    let mentor = Mentor {
        declined: past.is_some_and(|h| h.declined),
        connected: past.is_some_and(|h| h.connected),
        ..unfiltered(profile, level, now)
    };
    match matching::filter(mentee, &mentor) {
        Some(reason) => Err(reason),
        None => Ok(mentor),
    }
}

/// Fills in the skills of the mentors who passed the filters — their effective levels from their career
/// profiles (read for all of them at once), and which of those they teach.
async fn with_skills(
    tx: &TenantTx,
    mentors: &mut [Mentor],
    profiles_by_id: &BTreeMap<Uuid, mentors::Mentor>,
    now: DateTime<Utc>,
) -> Result<()> {
    let ids: Vec<Uuid> = mentors.iter().map(|m| m.id).collect();
    let mut careers = profiles::skills_of(tx, &ids, now).await?;
    for mentor in mentors.iter_mut() {
        let career = profiles::levels(&careers.remove(&mentor.id).unwrap_or_default());
        mentor.skills = career
            .into_iter()
            .map(|(id, level)| (id, (level, false)))
            .collect();
        for skill in profiles_by_id
            .get(&mentor.id)
            .map_or(&[][..], |p| p.skills.as_slice())
        {
            let level = mentor.skills.get(&skill.skill_id).map_or(0.0, |s| s.0);
            mentor.skills.insert(skill.skill_id, (level, skill.teaches));
        }
    }
    Ok(())
}

/// The best `limit` of every active mentor for `mentee`, how many each filter left out, and the
/// weights the scores used.
pub async fn recommend(
    tx: &TenantTx,
    mentee: &Mentee,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<(Vec<Recommendation>, BTreeMap<Excluded, usize>, Weights)> {
    let weights = weights(tx).await?;
    let mut profiles_by_id: BTreeMap<Uuid, mentors::Mentor> = mentors::list(tx, None)
        .await?
        .into_iter()
        .map(|m| (m.row.user_id, m))
        .collect();
    let past = history(tx, mentee.id, None).await?;
    let ids: Vec<Uuid> = profiles_by_id.keys().copied().collect();
    let levels = role_levels(tx, &ids).await?;
    let mut candidates = Vec::new();
    let mut excluded: BTreeMap<Excluded, usize> = BTreeMap::new();
    for (id, profile) in &profiles_by_id {
        match candidate(mentee, profile, past.get(id), levels.get(id).copied(), now) {
            Ok(mentor) => candidates.push(mentor),
            Err(reason) => *excluded.entry(reason).or_insert(0) += 1,
        }
    }
    with_skills(tx, &mut candidates, &profiles_by_id, now).await?;
    let (ranked, _) = matching::recommend(mentee, &candidates, &weights, limit);
    let picked: Vec<(Uuid, Breakdown)> = ranked.iter().map(|(m, b)| (m.id, *b)).collect();
    Ok((
        picked
            .into_iter()
            .filter_map(|(id, breakdown)| {
                profiles_by_id
                    .remove(&id)
                    .map(|mentor| Recommendation { mentor, breakdown })
            })
            .collect(),
        excluded,
        weights,
    ))
}

/// What the batch matching of a cohort needs: each mentor's profile (`None`: no active profile, or not
/// an active member), and every mentee's score with every mentor, or the filter that forbids the pair.
pub struct CohortScores {
    pub mentors: Vec<Option<mentors::Mentor>>,
    /// By mentee, then mentor, in the order given.
    pub scores: Vec<Vec<std::result::Result<Breakdown, Excluded>>>,
}

#[derive(Debug, FromQueryResult)]
struct PairHistoryRow {
    mentee_id: Uuid,
    mentor_id: Uuid,
    declined: bool,
    connected: bool,
}

/// Scores every pair of `mentees` and `mentor_ids` as the recommendations would, in a fixed number of
/// statements however large the cohort (the mentees' own views are gathered by the caller, with
/// [`mentee`]).
pub async fn cohort(
    tx: &TenantTx,
    mentees: &[Mentee],
    mentor_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<CohortScores> {
    let weights = weights(tx).await?;
    let profiles_by_id: BTreeMap<Uuid, mentors::Mentor> = mentors::list(tx, None)
        .await?
        .into_iter()
        .filter(|m| mentor_ids.contains(&m.row.user_id))
        .map(|m| (m.row.user_id, m))
        .collect();
    let ids: Vec<Uuid> = profiles_by_id.keys().copied().collect();
    let levels = role_levels(tx, &ids).await?;
    let mentee_ids: Vec<Uuid> = mentees.iter().map(|m| m.id).collect();
    let past: BTreeMap<(Uuid, Uuid), PairHistoryRow> = if mentee_ids.is_empty() || ids.is_empty() {
        BTreeMap::new()
    } else {
        PairHistoryRow::find_by_statement(statement(
            "SELECT mentee_id, mentor_id, bool_or(status = 'declined' OR not_a_fit) AS declined, \
             bool_or(status IN ('requested', 'accepted', 'active')) AS connected \
             FROM mentorships WHERE tenant_id = $1 AND mentee_id = ANY($2) AND mentor_id = ANY($3) \
             GROUP BY mentee_id, mentor_id",
            vec![
                tx.tenant_id().as_uuid().into(),
                mentee_ids.into(),
                ids.clone().into(),
            ],
        ))
        .all(tx)
        .await?
        .into_iter()
        .map(|h| ((h.mentee_id, h.mentor_id), h))
        .collect()
    };
    // Each mentor's view once, skills included; the pair's history is set per mentee below, and the
    // filters run per pair.
    let mut views: Vec<Mentor> = profiles_by_id
        .iter()
        .map(|(id, profile)| unfiltered(profile, levels.get(id).copied(), now))
        .collect();
    with_skills(tx, &mut views, &profiles_by_id, now).await?;
    let views: BTreeMap<Uuid, Mentor> = views.into_iter().map(|v| (v.id, v)).collect();
    let scores = mentees
        .iter()
        .map(|mentee| {
            mentor_ids
                .iter()
                .map(|id| match views.get(id) {
                    None => Err(if *id == mentee.id {
                        Excluded::Yourself
                    } else {
                        Excluded::Inactive
                    }),
                    Some(view) => {
                        let history = past.get(&(mentee.id, *id));
                        let pair = Mentor {
                            declined: history.is_some_and(|h| h.declined),
                            connected: history.is_some_and(|h| h.connected),
                            ..view.clone()
                        };
                        matching::evaluate(mentee, &pair, &weights)
                    }
                })
                .collect()
        })
        .collect();
    let mut profiles_by_id = profiles_by_id;
    Ok(CohortScores {
        mentors: mentor_ids
            .iter()
            .map(|id| profiles_by_id.remove(id))
            .collect(),
        scores,
    })
}

/// The score `mentor` (who must have a profile: 404 else) has for `mentee` now, or the filter that
/// leaves them out.
pub async fn evaluate_one(
    tx: &TenantTx,
    mentee: &Mentee,
    mentor: Uuid,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Breakdown, Excluded>> {
    let profile = mentors::get(tx, mentor).await?;
    let past = history(tx, mentee.id, Some(mentor)).await?;
    let level = role_levels(tx, &[mentor]).await?.get(&mentor).copied();
    let mut view = match candidate(mentee, &profile, past.get(&mentor), level, now) {
        Ok(view) => [view],
        Err(reason) => return Ok(Err(reason)),
    };
    let by_id = BTreeMap::from([(mentor, profile)]);
    with_skills(tx, &mut view, &by_id, now).await?;
    Ok(matching::evaluate(mentee, &view[0], &weights(tx).await?))
}
