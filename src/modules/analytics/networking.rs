//! The networking figures (docs/analytics.md "Networking"): read from the networking tables themselves
//! — they are the record of each match, referral and RSVP — rather than from usage events, which are
//! approximate by design. Every figure is a count or a ratio over the organization; none names anyone.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::FromQueryResult;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{db::sql::statement, error::ApiError, tenancy::TenantTx};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Serialize, ToSchema, FromQueryResult)]
pub struct MentoringFigures {
    /// Requests members made in the range.
    pub requests: i64,
    /// Requests mentors accepted in the range (whenever made).
    pub accepted: i64,
    /// Requests mentors declined in the range.
    pub declined: i64,
    /// accepted / (accepted + declined), 0–1; null without answers.
    pub acceptance_rate: Option<f64>,
    /// From request to acceptance, for the requests accepted in the range: the median and the 90th
    /// percentile, in hours.
    pub time_to_match_median_hours: Option<f64>,
    pub time_to_match_p90_hours: Option<f64>,
    /// Mentorships made by programmes published in the range.
    pub programme_matches: i64,
    /// Mentorships accepted or active now.
    pub active_pairs: i64,
    /// Mentorships completed in the range, and their mentees' average rating.
    pub completed: i64,
    pub average_rating: Option<f64>,
    /// Ended as not a good fit at the first-session check in the range.
    pub not_a_fit: i64,
}

#[derive(Debug, Serialize, ToSchema, FromQueryResult)]
pub struct ReferralFigures {
    /// Referrals made in the range.
    pub submitted: i64,
    /// Of those, hired so far.
    pub hired: i64,
    /// hired / submitted, 0–1; null without referrals.
    pub referral_to_hire_rate: Option<f64>,
    /// Days from referral to hire, for the hires made in the range (median).
    pub days_to_hire_median: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema, FromQueryResult)]
pub struct EventFigures {
    /// Events starting in the range, not cancelled.
    pub held: i64,
    pub cancelled: i64,
    /// RSVPs of the events held: going, and still waiting.
    pub going: i64,
    pub waitlisted: i64,
    /// going / the places of the events held, 0–1.
    pub fill_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema, FromQueryResult)]
pub struct CommunityFigures {
    /// Communities not archived.
    pub communities: i64,
    /// Threads and replies written in the range (not removed).
    pub threads: i64,
    pub replies: i64,
    /// Communities with something written in the range.
    pub active_communities: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkingReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub mentoring: MentoringFigures,
    pub referrals: ReferralFigures,
    pub events: EventFigures,
    pub communities: CommunityFigures,
}

fn bounds(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let end = (to + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    (start, end)
}

async fn one<T: FromQueryResult>(
    tx: &TenantTx,
    sql: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<T> {
    let (start, end) = bounds(from, to);
    T::find_by_statement(statement(
        sql,
        vec![tx.tenant_id().as_uuid().into(), start.into(), end.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an aggregate returned no row")))
}

/// `$1` the tenant; the range is `[$2, $3)`.
const MENTORING: &str = "SELECT \
     count(*) FILTER (WHERE programme_id IS NULL AND requested_at >= $2 AND requested_at < $3) AS requests, \
     count(*) FILTER (WHERE programme_id IS NULL AND accepted_at >= $2 AND accepted_at < $3) AS accepted, \
     count(*) FILTER (WHERE status = 'declined' AND responded_at >= $2 AND responded_at < $3) AS declined, \
     (count(*) FILTER (WHERE programme_id IS NULL AND accepted_at >= $2 AND accepted_at < $3))::float8 \
       / nullif(count(*) FILTER (WHERE (programme_id IS NULL AND accepted_at >= $2 AND accepted_at < $3) \
         OR (status = 'declined' AND responded_at >= $2 AND responded_at < $3)), 0) AS acceptance_rate, \
     percentile_cont(0.5) WITHIN GROUP (ORDER BY (extract(epoch FROM accepted_at - requested_at) / 3600.0)::float8) \
       FILTER (WHERE programme_id IS NULL AND accepted_at >= $2 AND accepted_at < $3) AS time_to_match_median_hours, \
     percentile_cont(0.9) WITHIN GROUP (ORDER BY (extract(epoch FROM accepted_at - requested_at) / 3600.0)::float8) \
       FILTER (WHERE programme_id IS NULL AND accepted_at >= $2 AND accepted_at < $3) AS time_to_match_p90_hours, \
     count(*) FILTER (WHERE programme_id IS NOT NULL AND accepted_at >= $2 AND accepted_at < $3) AS programme_matches, \
     count(*) FILTER (WHERE status IN ('accepted', 'active')) AS active_pairs, \
     count(*) FILTER (WHERE status = 'completed' AND ended_at >= $2 AND ended_at < $3) AS completed, \
     (avg(rating) FILTER (WHERE status = 'completed' AND ended_at >= $2 AND ended_at < $3))::float8 AS average_rating, \
     count(*) FILTER (WHERE not_a_fit AND ended_at >= $2 AND ended_at < $3) AS not_a_fit \
     FROM mentorships WHERE tenant_id = $1";

const REFERRALS: &str = "SELECT \
     count(*) FILTER (WHERE created_at >= $2 AND created_at < $3) AS submitted, \
     count(*) FILTER (WHERE created_at >= $2 AND created_at < $3 AND hired_at IS NOT NULL) AS hired, \
     (count(*) FILTER (WHERE created_at >= $2 AND created_at < $3 AND hired_at IS NOT NULL))::float8 \
       / nullif(count(*) FILTER (WHERE created_at >= $2 AND created_at < $3), 0) AS referral_to_hire_rate, \
     percentile_cont(0.5) WITHIN GROUP (ORDER BY (extract(epoch FROM hired_at - created_at) / 86400.0)::float8) \
       FILTER (WHERE hired_at >= $2 AND hired_at < $3) AS days_to_hire_median \
     FROM referrals WHERE tenant_id = $1";

const EVENTS: &str = "SELECT \
     count(*) FILTER (WHERE e.status = 'scheduled') AS held, \
     count(*) FILTER (WHERE e.status = 'cancelled') AS cancelled, \
     coalesce(sum(r.going) FILTER (WHERE e.status = 'scheduled'), 0)::bigint AS going, \
     coalesce(sum(r.waitlisted) FILTER (WHERE e.status = 'scheduled'), 0)::bigint AS waitlisted, \
     (sum(r.going) FILTER (WHERE e.status = 'scheduled'))::float8 \
       / nullif(sum(e.capacity) FILTER (WHERE e.status = 'scheduled'), 0) AS fill_rate \
     FROM network_events e LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE x.status = 'going') AS going, \
       count(*) FILTER (WHERE x.status = 'waitlisted') AS waitlisted FROM event_rsvps x \
       WHERE x.tenant_id = e.tenant_id AND x.event_id = e.id) r ON true \
     WHERE e.tenant_id = $1 AND e.starts_at >= $2 AND e.starts_at < $3";

const COMMUNITIES: &str = "SELECT \
     (SELECT count(*) FROM communities c WHERE c.tenant_id = $1 AND c.archived_at IS NULL) AS communities, \
     count(*) FILTER (WHERE p.parent_id IS NULL) AS threads, \
     count(*) FILTER (WHERE p.parent_id IS NOT NULL) AS replies, \
     count(DISTINCT p.community_id) AS active_communities \
     FROM community_posts p WHERE p.tenant_id = $1 AND p.created_at >= $2 AND p.created_at < $3 \
     AND p.removed_at IS NULL";

/// The figures of the days `from` to `to` (UTC), inclusive.
pub async fn report(tx: &TenantTx, from: NaiveDate, to: NaiveDate) -> Result<NetworkingReport> {
    Ok(NetworkingReport {
        from,
        to,
        mentoring: one(tx, MENTORING, from, to).await?,
        referrals: one(tx, REFERRALS, from, to).await?,
        events: one(tx, EVENTS, from, to).await?,
        communities: one(tx, COMMUNITIES, from, to).await?,
    })
}
