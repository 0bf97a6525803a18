//! What `/api/v1/analytics` reads, on the request's [`TenantTx`]: the roll-ups only (`usage_daily`,
//! `usage_active_users`), never raw usage, so a year of trends costs a few hundred rows.

use chrono::{Duration, NaiveDate};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    anonymity::{self, publishable},
    error::ApiError,
    tenancy::TenantTx,
};

/// Counts over one window ending at a day.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ActiveCounts {
    /// Members active that day.
    pub dau: i64,
    /// Members active in the 7 days up to it.
    pub wau: i64,
    /// Members active in the 30 days up to it.
    pub mau: i64,
}

/// Distinct members active in `module` (`any` for all) between `from` and `to`, inclusive.
pub async fn active_members(
    tx: &TenantTx,
    module: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<i64, ApiError> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(DISTINCT user_id) AS n FROM usage_active_users \
             WHERE tenant_id = $1 AND module = $2 AND day BETWEEN $3 AND $4",
            [
                tx.tenant_id().as_uuid().into(),
                module.into(),
                from.into(),
                to.into(),
            ],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

pub async fn active_counts(tx: &TenantTx, day: NaiveDate) -> Result<ActiveCounts, ApiError> {
    Ok(ActiveCounts {
        dau: active_members(tx, "any", day, day).await?,
        wau: active_members(tx, "any", day - Duration::days(6), day).await?,
        mau: active_members(tx, "any", day - Duration::days(29), day).await?,
    })
}

/// Sums of `metric` per dimension between `from` and `to`.
pub async fn sums(
    tx: &TenantTx,
    metric: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64)>, ApiError> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT dimension, sum(value)::bigint AS n FROM usage_daily \
             WHERE tenant_id = $1 AND metric = $2 AND day BETWEEN $3 AND $4 \
             GROUP BY dimension ORDER BY dimension",
            [
                tx.tenant_id().as_uuid().into(),
                metric.into(),
                from.into(),
                to.into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "dimension")?, r.try_get("", "n")?)))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(ApiError::from)
}

/// Sign-ins between `from` and `to` by method: `login`'s dimensions (`password`, `password+totp`,
/// `invitation`) and `sso_login`'s (`sso`).
pub async fn logins_by_method(
    tx: &TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<std::collections::BTreeMap<String, i64>, ApiError> {
    let mut logins = std::collections::BTreeMap::new();
    for metric in ["login", "sso_login"] {
        for (method, n) in sums(tx, metric, from, to).await? {
            *logins.entry(method).or_insert(0) += n;
        }
    }
    Ok(logins)
}

/// One module's adoption over a range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Adoption {
    pub module: String,
    /// Distinct members who used it.
    pub active_members: i64,
    /// Requests and feature events in it.
    pub events: i64,
}

pub async fn adoption(
    tx: &TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Adoption>, ApiError> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH events AS ( \
               SELECT dimension AS module, sum(value)::bigint AS events FROM usage_daily \
               WHERE tenant_id = $1 AND metric = 'module_events' AND day BETWEEN $2 AND $3 \
               GROUP BY dimension), \
             members AS ( \
               SELECT module, count(DISTINCT user_id) AS active_members FROM usage_active_users \
               WHERE tenant_id = $1 AND module <> 'any' AND day BETWEEN $2 AND $3 GROUP BY module) \
             SELECT coalesce(e.module, m.module) AS module, coalesce(m.active_members, 0) AS active_members, \
                    coalesce(e.events, 0) AS events \
             FROM events e FULL JOIN members m ON m.module = e.module \
             ORDER BY active_members DESC, events DESC, module",
            [tx.tenant_id().as_uuid().into(), from.into(), to.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Adoption {
                module: r.try_get("", "module")?,
                active_members: r.try_get("", "active_members")?,
                events: r.try_get("", "events")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(ApiError::from)
}

/// How a trend groups days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    /// ISO weeks, starting on Monday.
    Week,
}

impl Interval {
    fn sql(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    /// The first day of the period.
    pub period: NaiveDate,
    pub value: i64,
}

/// `metric` per period between `from` and `to` (every period, zero where nothing happened).
/// `active_members` counts distinct members per period; any other metric sums its daily values.
pub async fn trend(
    tx: &TenantTx,
    metric: &str,
    interval: Interval,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Point>, ApiError> {
    let unit = interval.sql();
    let per_period = if metric == "active_members" {
        format!(
            "SELECT date_trunc('{unit}', day)::date AS period, count(DISTINCT user_id) AS value \
             FROM usage_active_users WHERE tenant_id = $1 AND module = 'any' AND day BETWEEN $2 AND $3 \
             GROUP BY 1"
        )
    } else {
        format!(
            "SELECT date_trunc('{unit}', day)::date AS period, sum(value)::bigint AS value \
             FROM usage_daily WHERE tenant_id = $1 AND metric = $4 AND day BETWEEN $2 AND $3 GROUP BY 1"
        )
    };
    let mut values: Vec<sea_orm::Value> =
        vec![tx.tenant_id().as_uuid().into(), from.into(), to.into()];
    if metric != "active_members" {
        values.push(metric.into());
    }
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "WITH v AS ({per_period}) \
                 SELECT p::date AS period, coalesce(v.value, 0)::bigint AS value \
                 FROM generate_series(date_trunc('{unit}', $2::date), $3::date, interval '1 {unit}') p \
                 LEFT JOIN v ON v.period = p::date ORDER BY 1"
            ),
            values,
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Point {
                period: r.try_get("", "period")?,
                value: r.try_get("", "value")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(ApiError::from)
}

/// One department's figure, or its suppression.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentRow {
    /// The department; `null` for the row that gathers the groups too small to show alone.
    pub department: Option<String>,
    /// Active members of the department now (its size), when shown.
    pub members: Option<i64>,
    /// Distinct members active in the range, by the department they were in on each day, when shown.
    pub active_members: Option<i64>,
    /// True when the figures are withheld: they would describe fewer people than the minimum.
    pub suppressed: bool,
}

/// Active members per department between `from` and `to`, counting final days only (a day's
/// department of each member is frozen when the day is final, so moving or deactivating someone later
/// changes no past figure), with k-anonymity: no figure describes fewer than `min_group` people. A
/// department whose figures would is not shown on its own; such departments are gathered in one row
/// (`department: null`); while that row is not publishable either, the smallest shown department joins
/// it, so the small groups cannot be recovered by subtracting the others from a total; when nothing can
/// be shown, the one row is suppressed ([`anonymity::pool`]). Members without a department form their
/// own group.
pub async fn departments(
    tx: &TenantTx,
    from: NaiveDate,
    to: NaiveDate,
    min_group: i64,
) -> Result<Vec<DepartmentRow>, ApiError> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH heads AS ( \
               SELECT coalesce(department, '(no department)') AS department, count(*) AS members \
               FROM users WHERE tenant_id = $1 AND status = 'active' GROUP BY 1), \
             act AS ( \
               SELECT coalesce(a.department, '(no department)') AS department, \
                      count(DISTINCT a.user_id) AS active \
               FROM usage_active_users a \
               JOIN usage_rollups r ON r.tenant_id = a.tenant_id AND r.day = a.day AND r.final \
               WHERE a.tenant_id = $1 AND a.module = 'any' AND a.day BETWEEN $2 AND $3 GROUP BY 1) \
             SELECT coalesce(h.department, a.department) AS department, \
                    coalesce(h.members, 0) AS members, coalesce(a.active, 0) AS active \
             FROM heads h FULL JOIN act a ON a.department = h.department ORDER BY 1",
            [tx.tenant_id().as_uuid().into(), from.into(), to.into()],
        ))
        .await?;
    let mut groups: Vec<(Option<String>, i64, i64)> = Vec::new();
    for row in rows {
        groups.push((
            Some(row.try_get("", "department")?),
            row.try_get("", "members")?,
            row.try_get("", "active")?,
        ));
    }
    let pooled = anonymity::pool(
        groups,
        (None, 0, 0),
        |(_, members, active)| publishable(*members, *active, min_group),
        |(_, members, _)| *members,
        |pool, (_, members, active)| {
            pool.1 += members;
            pool.2 += active;
        },
    );
    let mut report: Vec<DepartmentRow> = pooled
        .shown
        .into_iter()
        .map(|(department, members, active)| DepartmentRow {
            department,
            members: Some(members),
            active_members: Some(active),
            suppressed: false,
        })
        .collect();
    if let Some(((_, members, active), ok)) = pooled.pool {
        report.push(DepartmentRow {
            department: None,
            members: ok.then_some(members),
            active_members: ok.then_some(active),
            suppressed: !ok,
        });
    }
    Ok(report)
}
