//! `/api/v1/analytics`: how the organization uses the platform (docs/analytics.md). Everything reads
//! the roll-ups; `analytics:read` (owner, admin, hr).

use actix_web::{
    HttpResponse, get,
    http::header,
    web::{Data, Json},
};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::service::{self, ActiveCounts, Adoption, DepartmentRow, Interval, Point};
use crate::{
    auth::{AccessToken, Authenticated},
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::ValidQuery,
    modules::members,
    spreadsheet::defuse,
    state::AppState,
    tenancy::{
        Tenant,
        plan::{Feature, Plan},
    },
};

/// The longest range a report covers.
const MAX_DAYS: i64 = 400;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverviewQuery {
    /// The day the figures end at (UTC); default today.
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Seats {
    /// Active and invited members (and seats an import in progress holds).
    pub used: i64,
    pub limit: i32,
    /// Members active in the 30 days up to the date.
    pub active: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanLimits {
    pub plan: Plan,
    pub seat_limit: i32,
    pub api_requests_per_minute: u32,
    pub features: Vec<Feature>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub date: NaiveDate,
    pub active_members: ActiveCounts,
    pub seats: Seats,
    /// Sign-ins in the 30 days up to the date, by method: `password`, `password+totp`, `invitation`
    /// (accepting one signs in), `sso`.
    pub logins: std::collections::BTreeMap<String, i64>,
    /// API requests in the 30 days up to the date.
    pub api_requests: i64,
    pub plan: PlanLimits,
}

/// Active members (DAU/WAU/MAU), seats against the limit, sign-ins by method, the plan.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(OverviewQuery),
    responses((status = 200, description = "The overview", body = Overview))
)]
#[get("/analytics/overview")]
pub async fn overview(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    query: ValidQuery<OverviewQuery>,
) -> ApiResult<Json<Overview>> {
    let auth = reader(&state, token).await?;
    let date = sane(
        "date",
        query.date.unwrap_or_else(|| state.clock.now().date_naive()),
    )?;
    let month = date - Duration::days(29);
    let active = service::active_counts(&auth.tx, date).await?;
    let used = members::service::seats_used(&auth.tx)
        .await
        .map_err(ApiError::from)?;
    let logins = service::logins_by_method(&auth.tx, month, date).await?;
    let api_requests = service::sums(&auth.tx, "api_requests", month, date)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    auth.tx.commit().await?;
    let plans = &state.settings.plans;
    Ok(Json(Overview {
        date,
        seats: Seats {
            used,
            limit: tenant.seat_limit,
            active: active.mau,
        },
        active_members: active,
        logins,
        api_requests,
        plan: PlanLimits {
            plan: tenant.plan,
            seat_limit: tenant.seat_limit,
            api_requests_per_minute: tenant.api_rate_limit(plans),
            features: plans.of(tenant.plan).features.clone(),
        },
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// First day (UTC), inclusive; default 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last day (UTC), inclusive; default today.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdoptionReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Product areas by distinct members, most used first.
    pub modules: Vec<Adoption>,
}

/// Which product areas members used over a range, and how much.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(RangeQuery),
    responses((status = 200, description = "Adoption per module", body = AdoptionReport))
)]
#[get("/analytics/adoption")]
pub async fn adoption(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<RangeQuery>,
) -> ApiResult<Json<AdoptionReport>> {
    let auth = reader(&state, token).await?;
    let (from, to) = range(&state, query.from, query.to)?;
    let modules = service::adoption(&auth.tx, from, to).await?;
    auth.tx.commit().await?;
    Ok(Json(AdoptionReport { from, to, modules }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// `active_members` (default), `api_requests`, `page_requests`, `login`, `sso_login`, or another
    /// feature event.
    pub metric: Option<String>,
    /// `day` (default) or `week`.
    pub interval: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendReport {
    pub metric: String,
    pub interval: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Every period of the range, zero where nothing happened.
    pub points: Vec<Point>,
}

/// A metric by day or week.
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(TrendQuery),
    responses((status = 200, description = "The trend", body = TrendReport))
)]
#[get("/analytics/trends")]
pub async fn trends(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<TrendQuery>,
) -> ApiResult<Json<TrendReport>> {
    let auth = reader(&state, token).await?;
    let report = trend_report(&state, &auth.tx, &query).await?;
    auth.tx.commit().await?;
    Ok(Json(report))
}

async fn trend_report(
    state: &AppState,
    tx: &crate::tenancy::TenantTx,
    query: &TrendQuery,
) -> ApiResult<TrendReport> {
    let metric = query.metric.as_deref().unwrap_or("active_members");
    if !TREND_METRICS.contains(&metric) {
        return Err(ApiError::validation(
            "metric",
            format!("must be one of {}", TREND_METRICS.join(", ")),
        ));
    }
    let interval = match query.interval.as_deref().unwrap_or("day") {
        "day" => Interval::Day,
        "week" => Interval::Week,
        _ => return Err(ApiError::validation("interval", "must be day or week")),
    };
    let (from, to) = range(state, query.from, query.to)?;
    let points = service::trend(tx, metric, interval, from, to).await?;
    Ok(TrendReport {
        metric: metric.to_owned(),
        interval: query.interval.clone().unwrap_or_else(|| "day".into()),
        from,
        to,
        points,
    })
}

/// The metrics a trend can follow.
const TREND_METRICS: &[&str] = &[
    "active_members",
    "api_requests",
    "page_requests",
    "login",
    "sso_login",
    "invitation_accepted",
    "import_committed",
    "audit_exported",
    "mentorship_requested",
    "mentorship_started",
    "referral_submitted",
    "referral_hired",
    "event_rsvp",
    "community_post",
];

/// Mentoring (match acceptance, time to match, active pairs), referrals (referral-to-hire), events and
/// communities over a range, read from the networking tables (the plan's `networking` feature).
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(RangeQuery),
    responses((status = 200, description = "The networking figures", body = super::networking::NetworkingReport))
)]
#[get("/analytics/networking")]
pub async fn networking(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<RangeQuery>,
) -> ApiResult<Json<super::networking::NetworkingReport>> {
    let auth = token
        .open_for(
            &state,
            &tenant,
            Feature::Networking,
            Obj::Analytics,
            Act::Read,
        )
        .await?;
    let (from, to) = range(&state, query.from, query.to)?;
    let report = super::networking::report(&auth.tx, from, to).await?;
    auth.tx.commit().await?;
    Ok(Json(report))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// No figure describes fewer people than this.
    pub min_group_size: i64,
    pub departments: Vec<DepartmentRow>,
}

/// Active members per department, groups smaller than the minimum suppressed (k-anonymity).
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(RangeQuery),
    responses((status = 200, description = "Per department", body = DepartmentReport))
)]
#[get("/analytics/departments")]
pub async fn departments(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<RangeQuery>,
) -> ApiResult<Json<DepartmentReport>> {
    let auth = reader(&state, token).await?;
    let (from, to) = range(&state, query.from, query.to)?;
    let min_group_size = state.settings.usage.min_group_size.max(1);
    let departments = service::departments(&auth.tx, from, to, min_group_size).await?;
    auth.tx.commit().await?;
    Ok(Json(DepartmentReport {
        from,
        to,
        min_group_size,
        departments,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `trends`, `adoption` or `departments`.
    pub report: String,
    pub metric: Option<String>,
    pub interval: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A report as CSV (cells a spreadsheet would run as formulas are prefixed with `'`).
#[utoipa::path(
    tag = "analytics",
    security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, description = "text/csv", content_type = "text/csv"))
)]
#[get("/analytics/export")]
pub async fn export(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let auth = reader(&state, token).await?;
    let query = query.into_inner();
    let (from, to) = range(&state, query.from, query.to)?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    match query.report.as_str() {
        "trends" => {
            let report = trend_report(
                &state,
                &auth.tx,
                &TrendQuery {
                    metric: query.metric,
                    interval: query.interval,
                    from: Some(from),
                    to: Some(to),
                },
            )
            .await?;
            rows.push(vec!["period".into(), report.metric]);
            for p in report.points {
                rows.push(vec![p.period.to_string(), p.value.to_string()]);
            }
        }
        "adoption" | "departments" if query.metric.is_some() || query.interval.is_some() => {
            return Err(ApiError::validation(
                "metric",
                "metric and interval are for the trends report",
            ));
        }
        "adoption" => {
            rows.push(vec![
                "module".into(),
                "active_members".into(),
                "events".into(),
            ]);
            for a in service::adoption(&auth.tx, from, to).await? {
                rows.push(vec![
                    a.module,
                    a.active_members.to_string(),
                    a.events.to_string(),
                ]);
            }
        }
        "departments" => {
            let min = state.settings.usage.min_group_size.max(1);
            rows.push(vec![
                "department".into(),
                "members".into(),
                "active_members".into(),
                "suppressed".into(),
            ]);
            for d in service::departments(&auth.tx, from, to, min).await? {
                let shown = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
                rows.push(vec![
                    d.department
                        .unwrap_or_else(|| "(smaller departments)".into()),
                    shown(d.members),
                    shown(d.active_members),
                    d.suppressed.to_string(),
                ]);
            }
        }
        _ => {
            return Err(ApiError::validation(
                "report",
                "must be trends, adoption or departments",
            ));
        }
    }
    auth.tx.commit().await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(row.iter().map(|cell| defuse(cell)))
            .map_err(ApiError::internal)?;
    }
    let body = writer.into_inner().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"analytics-{}-{from}-{to}.csv\"",
                query.report
            ),
        ))
        .body(body))
}

/// The request's transaction, once the caller may read analytics.
async fn reader(state: &AppState, token: AccessToken) -> ApiResult<Authenticated> {
    let auth = token.open(state).await?;
    state
        .authz
        .require(&auth, Obj::Analytics, Act::Read)
        .await?;
    Ok(auth)
}

/// `from`..=`to`, defaulting to the 30 days up to today, at most [`MAX_DAYS`] long.
fn range(
    state: &AppState,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<(NaiveDate, NaiveDate)> {
    let to = sane("to", to.unwrap_or_else(|| state.clock.now().date_naive()))?;
    let from = sane("from", from.unwrap_or(to - Duration::days(29)))?;
    if from > to {
        return Err(ApiError::validation("from", "must not be after to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::validation(
            "from",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// A date the reports can mean: 2000-01-01 to 9999-12-31 (arithmetic on it cannot overflow).
fn sane(field: &str, date: NaiveDate) -> ApiResult<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2000, 1, 1);
    let last = NaiveDate::from_ymd_opt(9999, 12, 31);
    match (first, last) {
        (Some(first), Some(last)) if (first..=last).contains(&date) => Ok(date),
        _ => Err(ApiError::validation(
            field,
            "must be a date between 2000-01-01 and 9999-12-31",
        )),
    }
}
