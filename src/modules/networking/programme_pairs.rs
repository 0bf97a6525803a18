//! A programme's pairs once matched: publishing turns the owner's draft into mentorships — all of
//! them or none — and tells everyone by mail; the health view follows the pairs afterwards (quiet:
//! no session in 30 days).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    Caller,
    cohort_matching::{self, DraftRow},
    matching::Excluded,
    programmes::{self, ProgrammeRow},
    recommend,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::service::org_name,
    crypto::Crypto,
    db::sql::statement,
    error::ApiError,
    mail::{self, MailTemplate, Notice},
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

/// A pair quiet this long (no session logged, nor since the match) shows in the health view.
pub const QUIET_DAYS: i64 = 30;

/// What a publication did.
#[derive(Debug, Clone)]
pub struct Published {
    pub programme: ProgrammeRow,
    pub mentorships: usize,
    pub unmatched: usize,
    pub mails: usize,
}

fn reason_name(reason: Excluded) -> &'static str {
    match reason {
        Excluded::Yourself => "yourself",
        Excluded::Inactive => "mentor_unavailable",
        Excluded::Full => "mentor_full",
        Excluded::ReportingLine => "reporting_line",
        Excluded::Declined => "declined_before",
        Excluded::AlreadyConnected => "already_connected",
        Excluded::NoSharedLanguage => "no_shared_language",
    }
}

#[derive(Debug, FromQueryResult)]
struct Person {
    id: Uuid,
    name: String,
    email: String,
}

async fn people(tx: &TenantTx, ids: &[Uuid]) -> Result<BTreeMap<Uuid, Person>> {
    Ok(Person::find_by_statement(statement(
        "SELECT id, CASE WHEN display_name = '' THEN email ELSE display_name END AS name, email \
         FROM users WHERE tenant_id = $1 AND id = ANY($2) AND status = 'active'",
        vec![tx.tenant_id().as_uuid().into(), ids.to_vec().into()],
    ))
    .all(tx)
    .await?
    .into_iter()
    .map(|p| (p.id, p))
    .collect())
}

/// Publishes the draft: every pair is checked again under the mentors' locks (filters and places as
/// they stand now; any that fails refuses the whole publication, 409 `matches_stale`, naming them),
/// then becomes an accepted mentorship of the programme; the programme is `published`, and mentors,
/// matched mentees and unmatched mentees each get a mail.
pub async fn publish(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    viewer: Caller,
    id: Uuid,
) -> Result<Published> {
    let programme = programmes::run_by(tx, viewer, id, true).await?;
    programmes::ensure_open(&programme)?;
    if programme.matched_at.is_none() {
        return Err(ApiError::conflict(
            "not_matched",
            "run the matching first (POST …/match), then publish",
        ));
    }
    let rows = cohort_matching::rows(tx, id).await?;
    let late = rows
        .iter()
        .filter(|r| r.unmatched.as_deref() == Some("not_matched_yet"))
        .count();
    if late > 0 {
        return Err(ApiError::conflict(
            "draft_outdated",
            format!("{late} mentee(s) joined after the last matching: run it again, then publish"),
        ));
    }
    let pairs = cohort_matching::pairs(&rows);
    if pairs.is_empty() {
        return Err(ApiError::conflict(
            "no_pairs",
            "the draft matches nobody: nothing to publish",
        ));
    }
    let mentor_ids = cohort_matching::distinct(pairs.iter().map(|p| p.1));
    // The mentors' profiles are locked (in one order) before anything is counted, as an acceptance
    // locks them: no request accepted meanwhile takes a place this publication counts on.
    let mut sorted = mentor_ids.clone();
    sorted.sort();
    tx.execute_raw(statement(
        "SELECT 1 FROM mentor_profiles WHERE tenant_id = $1 AND user_id = ANY($2) ORDER BY user_id FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), sorted.into()],
    ))
    .await?;
    let cohort = programmes::participants(tx, id).await?;
    let by_user: BTreeMap<Uuid, &programmes::ParticipantRow> =
        cohort.iter().map(|p| (p.user_id, p)).collect();
    let mut views = Vec::new();
    for (mentee, _) in &pairs {
        let Some(participant) = by_user.get(mentee) else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a draft row without its participant"
            )));
        };
        views.push(cohort_matching::mentee_view(tx, participant, ctx.now).await?);
    }
    let scored = recommend::cohort(tx, &views, &mentor_ids, ctx.now).await?;
    let places: BTreeMap<Uuid, cohort_matching::MentorPlaces> =
        cohort_matching::mentor_places(tx, id)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m))
            .collect();
    let names: BTreeMap<Uuid, String> = rows
        .iter()
        .flat_map(|r| {
            [(r.mentee_id, r.mentee_name.clone())]
                .into_iter()
                .chain(r.mentor_id.zip(r.mentor_name.clone()))
        })
        .collect();
    let column: BTreeMap<Uuid, usize> = mentor_ids
        .iter()
        .enumerate()
        .map(|(j, m)| (*m, j))
        .collect();
    let mut stale = Vec::new();
    let mut records = Vec::new();
    let mut taken: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (i, (mentee, mentor)) in pairs.iter().enumerate() {
        let name = |id: &Uuid| names.get(id).cloned().unwrap_or_default();
        let score = column
            .get(mentor)
            .and_then(|j| scored.scores.get(i).and_then(|row| row.get(*j)));
        match score {
            Some(Ok(breakdown)) => {
                let used = taken.entry(*mentor).or_insert(0);
                *used += 1;
                if *used > places.get(mentor).map_or(0, |p| p.usable()) {
                    stale.push(format!(
                        "{} → {}: no_place_left",
                        name(mentee),
                        name(mentor)
                    ));
                }
                let goals = by_user.get(mentee).map_or("", |p| p.goals.as_str());
                records.push(json!({
                    "id": Uuid::now_v7(), "mentee_id": mentee, "mentor_id": mentor, "goals": goals,
                    "score": breakdown.total, "breakdown": breakdown,
                }));
            }
            Some(Err(reason)) => stale.push(format!(
                "{} → {}: {}",
                name(mentee),
                name(mentor),
                // The filters' names speak of private history; HR hears them, an owner does not.
                if viewer.manages {
                    reason_name(*reason)
                } else {
                    "not_allowed"
                }
            )),
            None => stale.push(format!("{} → {}: not scored", name(mentee), name(mentor))),
        }
    }
    if !stale.is_empty() {
        let shown: Vec<String> = stale.iter().take(5).cloned().collect();
        return Err(ApiError::conflict(
            "matches_stale",
            format!(
                "{} pair(s) are no longer allowed: {}{} — run the matching again or adjust them",
                stale.len(),
                shown.join("; "),
                if stale.len() > 5 { "; …" } else { "" }
            ),
        ));
    }
    let count = records.len();
    let inserted = tx
        .execute_raw(statement(
            "INSERT INTO mentorships (tenant_id, id, mentor_id, mentee_id, status, goals, score, breakdown, \
             requested_at, responded_at, accepted_at, programme_id) \
             SELECT $1, r.id, r.mentor_id, r.mentee_id, 'accepted', r.goals, r.score, r.breakdown, $2, $2, $2, $3 \
             FROM jsonb_to_recordset($4) AS r(id uuid, mentor_id uuid, mentee_id uuid, goals text, score integer, breakdown jsonb) \
             ON CONFLICT (tenant_id, mentor_id, mentee_id) WHERE status IN ('requested', 'accepted', 'active') \
             DO NOTHING",
            vec![
                tx.tenant_id().as_uuid().into(),
                ctx.now.into(),
                id.into(),
                serde_json::Value::Array(records.clone()).into(),
            ],
        ))
        .await?;
    if inserted.rows_affected() as usize != count {
        // A pair connected meanwhile (a request sent while this ran); nothing is kept.
        return Err(ApiError::conflict(
            "matches_stale",
            "a pair connected on their own while this was published: run the matching again",
        ));
    }
    for record in &records {
        let mentorship = record["id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
        if let Some(mentorship) = mentorship {
            audit::record(
                tx,
                ctx,
                AuditEvent::new("mentorship.matched")
                    .target("mentorship", mentorship, None)
                    .metadata(json!({
                        "programme_id": id, "mentor_id": record["mentor_id"],
                        "mentee_id": record["mentee_id"], "score": record["score"],
                    })),
            )
            .await?;
        }
    }
    tx.execute_raw(statement(
        "UPDATE mentoring_programmes SET status = 'published', published_at = $3, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into(), ctx.now.into()],
    ))
    .await?;
    let unmatched: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.mentor_id.is_none())
        .map(|r| r.mentee_id)
        .collect();
    let mails = notify(tx, ctx, crypto, &programme, &rows).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("programme.published")
            .target("programme", id, Some(programme.name.as_str()))
            .metadata(
                json!({ "mentorships": count, "unmatched": unmatched.len(), "mails": mails }),
            ),
    )
    .await?;
    Ok(Published {
        programme: programmes::get(tx, viewer, id, false).await?,
        mentorships: count,
        unmatched: unmatched.len(),
        mails,
    })
}

/// The publication's mails: each matched mentee (their mentor), each mentor (their mentees), each
/// mentee left unmatched. Mail to deactivated members is not sent.
async fn notify(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    programme: &ProgrammeRow,
    rows: &[DraftRow],
) -> Result<usize> {
    let org = org_name(tx).await?;
    let ids = cohort_matching::distinct(
        rows.iter()
            .flat_map(|r| std::iter::once(r.mentee_id).chain(r.mentor_id)),
    );
    let people = people(tx, &ids).await?;
    let mut mails: Vec<(String, Notice)> = Vec::new();
    let mut mentees_of: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for row in rows {
        let Some(mentee) = people.get(&row.mentee_id) else {
            continue;
        };
        let notice = match row.mentor_id.and_then(|m| people.get(&m)) {
            Some(mentor) => {
                mentees_of
                    .entry(mentor.id)
                    .or_default()
                    .push(format!("{} ({})", mentee.name, mentee.email));
                Notice {
                    link: ctx.request.link("/mentoring"),
                    org_name: org.clone(),
                    name: mentee.name.clone(),
                    subject: format!("your mentor in {}", programme.name),
                    headline: format!(
                        "{} is your mentor in {}.",
                        mentor.name, programme.name
                    ),
                    lines: vec![
                        format!("Your mentor: {} ({})", mentor.name, mentor.email),
                        format!("Match score: {} points", row.score.unwrap_or(0)),
                    ],
                    next: "Say hello and agree on your first session. After it, Trellis asks you whether \
                           the match is a good fit."
                        .into(),
                }
            }
            None => Notice {
                link: ctx.request.link("/mentoring"),
                org_name: org.clone(),
                name: mentee.name.clone(),
                subject: format!("{} has published its matches", programme.name),
                headline: format!("You were not matched with a mentor in {} this time.", programme.name),
                lines: Vec::new(),
                next: "You can still ask a mentor yourself: your mentor recommendations show who fits \
                       your goals best."
                    .into(),
            },
        };
        mails.push((mentee.email.clone(), notice));
    }
    for (mentor, mentees) in mentees_of {
        let Some(person) = people.get(&mentor) else {
            continue;
        };
        mails.push((
            person.email.clone(),
            Notice {
                link: ctx.request.link("/mentoring"),
                org_name: org.clone(),
                name: person.name.clone(),
                subject: format!("your mentees in {}", programme.name),
                headline: format!(
                    "You are mentoring {} in {}.",
                    if mentees.len() == 1 {
                        "one person".to_owned()
                    } else {
                        format!("{} people", mentees.len())
                    },
                    programme.name
                ),
                lines: mentees,
                next: "Their goals are on each mentorship in Trellis. Reach out and agree on a first session."
                    .into(),
            },
        ));
    }
    let sent = mails.len();
    for (to, notice) in mails {
        mail::enqueue(tx, crypto, ctx.now, &to, MailTemplate::Notice(notice))
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(sent)
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct PairHealthRow {
    pub mentorship_id: Uuid,
    pub mentor_id: Uuid,
    pub mentor_name: String,
    pub mentee_id: Uuid,
    pub mentee_name: String,
    pub status: String,
    pub responded_at: Option<DateTime<FixedOffset>>,
    pub sessions: i64,
    pub last_session: Option<NaiveDate>,
    pub not_a_fit: bool,
    pub rating: Option<i16>,
}

/// A pair and whether it has gone quiet.
#[derive(Debug, Clone)]
pub struct PairHealth {
    pub row: PairHealthRow,
    pub quiet: bool,
    /// Days since the last session (or since the match, before any).
    pub days_since: Option<i64>,
}

/// The programme's pairs with their sessions (never their notes or goals), the quiet ones first.
pub async fn health(
    tx: &TenantTx,
    viewer: Caller,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(ProgrammeRow, Vec<PairHealth>)> {
    let programme = programmes::run_by(tx, viewer, id, false).await?;
    let rows = PairHealthRow::find_by_statement(statement(
        "SELECT s.id AS mentorship_id, s.mentor_id, \
         CASE WHEN a.display_name = '' THEN a.email ELSE a.display_name END AS mentor_name, s.mentee_id, \
         CASE WHEN b.display_name = '' THEN b.email ELSE b.display_name END AS mentee_name, s.status, \
         s.responded_at, (SELECT count(*) FROM mentorship_sessions x WHERE x.tenant_id = s.tenant_id \
         AND x.mentorship_id = s.id) AS sessions, (SELECT max(x.held_on) FROM mentorship_sessions x \
         WHERE x.tenant_id = s.tenant_id AND x.mentorship_id = s.id) AS last_session, s.not_a_fit, s.rating \
         FROM mentorships s JOIN users a ON a.tenant_id = s.tenant_id AND a.id = s.mentor_id \
         JOIN users b ON b.tenant_id = s.tenant_id AND b.id = s.mentee_id \
         WHERE s.tenant_id = $1 AND s.programme_id = $2 ORDER BY lower(b.display_name), b.email",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .all(tx)
    .await?;
    let today = now.date_naive();
    let mut pairs: Vec<PairHealth> = rows
        .into_iter()
        .map(|row| {
            let since = row
                .last_session
                .or(row.responded_at.map(|t| t.to_utc().date_naive()));
            let days_since = since.map(|d| (today - d).num_days());
            let open = matches!(row.status.as_str(), "accepted" | "active");
            PairHealth {
                quiet: open && days_since.is_some_and(|d| d > QUIET_DAYS),
                days_since: if open { days_since } else { None },
                row,
            }
        })
        .collect();
    pairs.sort_by_key(|p| !p.quiet);
    Ok((programme, pairs))
}
