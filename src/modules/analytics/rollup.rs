//! The roll-up: what a day of raw usage comes to, per organization, in `usage_daily` (metric, dimension,
//! value) and `usage_active_users` (who used what). A day is replaced as a whole in one transaction of
//! its tenant — deleted, then recomputed from `usage_events` — so running it again gives the same
//! numbers, and a day still being written is simply rolled up again later. The worker rolls up today and
//! every day of the last week that is not final yet (a day is final once it ended
//! [`FINAL_AFTER_MINUTES`] ago, so the capture buffer has written it); it also keeps the daily partitions
//! ahead and drops those past `usage.retention_days`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    clock::SharedClock,
    config::UsageSettings,
    domain::TenantId,
    tenancy::{TenantTx, tx::TenantLock},
};

/// A day counts as final this long after it ended.
pub const FINAL_AFTER_MINUTES: i64 = 10;
/// Days looked back for ones not rolled up for good (a worker that was down for a while).
const LOOK_BACK_DAYS: i64 = 7;

/// The latency buckets of API requests, as `usage_daily` names them.
const LATENCY_BUCKET: &str = "CASE WHEN latency_ms < 10 THEN 'lt_10ms' WHEN latency_ms < 50 THEN 'lt_50ms' \
     WHEN latency_ms < 100 THEN 'lt_100ms' WHEN latency_ms < 250 THEN 'lt_250ms' \
     WHEN latency_ms < 1000 THEN 'lt_1s' ELSE 'ge_1s' END";

pub struct Rollup {
    /// The worker role's pool.
    pool: PgPool,
    clock: SharedClock,
    settings: UsageSettings,
}

impl Rollup {
    pub fn new(pool: PgPool, clock: SharedClock, settings: UsageSettings) -> Rollup {
        Rollup {
            pool,
            clock,
            settings,
        }
    }

    /// Rolls up, for every active organization, today and each of the last week's days not final yet;
    /// returns the days rolled up.
    pub async fn run(&self) -> Result<u64, DbErr> {
        let tenants: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM tenants WHERE status = 'active'")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| DbErr::Custom(format!("listing tenants: {e}")))?;
        let now = self.clock.now();
        let today = now.date_naive();
        let mut rolled = 0;
        for tenant in tenants {
            let tenant = TenantId::from_uuid(tenant);
            // One organization's failure does not hold up the others'.
            match self.roll_tenant(tenant, today, now).await {
                Ok(days) => rolled += days,
                Err(error) => {
                    tracing::warn!(%error, tenant_id = %tenant, "rolling up usage failed")
                }
            }
        }
        Ok(rolled)
    }

    async fn roll_tenant(
        &self,
        tenant: TenantId,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<u64, DbErr> {
        let mut rolled = 0;
        for day in self.pending_days(tenant, today).await? {
            self.roll_day(tenant, day, now).await?;
            rolled += 1;
        }
        Ok(rolled)
    }

    /// Today, and the days of the last week whose roll-up is missing or not final.
    async fn pending_days(
        &self,
        tenant: TenantId,
        today: NaiveDate,
    ) -> Result<Vec<NaiveDate>, DbErr> {
        let tx = TenantTx::begin(&self.pool, tenant, None).await?;
        let rows = tx
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT d::date AS day FROM generate_series($2::date - $3::int, $2::date, interval '1 day') d \
                 WHERE NOT EXISTS (SELECT 1 FROM usage_rollups r \
                                   WHERE r.tenant_id = $1 AND r.day = d::date AND r.final) \
                 ORDER BY 1",
                [
                    tenant.as_uuid().into(),
                    today.into(),
                    (LOOK_BACK_DAYS as i32).into(),
                ],
            ))
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| row.try_get::<NaiveDate>("", "day"))
            .collect()
    }

    /// Replaces `tenant`'s roll-up of `day` with what its raw usage says now.
    pub async fn roll_day(
        &self,
        tenant: TenantId,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
        let end = start + Duration::days(1);
        let final_day = now >= end + Duration::minutes(FINAL_AFTER_MINUTES);
        let key: Vec<Value> = vec![tenant.as_uuid().into(), day.into()];
        let range: Vec<Value> = vec![
            tenant.as_uuid().into(),
            day.into(),
            start.into(),
            end.into(),
        ];
        let raw = "FROM usage_events e WHERE e.tenant_id = $1 AND e.occurred_at >= $3 AND e.occurred_at < $4";
        let statements = [
            (
                "DELETE FROM usage_daily WHERE tenant_id = $1 AND day = $2".to_owned(),
                &key,
            ),
            (
                "DELETE FROM usage_active_users WHERE tenant_id = $1 AND day = $2".to_owned(),
                &key,
            ),
            (
                format!(
                    "INSERT INTO usage_daily (tenant_id, day, metric, dimension, value) \
                 SELECT $1, $2, metric, dimension, value FROM ( \
                   SELECT e.event AS metric, e.dimension, count(*) AS value {raw} \
                     AND e.event NOT IN ('api_request', 'page_request') GROUP BY e.event, e.dimension \
                   UNION ALL SELECT 'api_requests', e.module, count(*) {raw} \
                     AND e.event = 'api_request' GROUP BY e.module \
                   UNION ALL SELECT 'page_requests', e.module, count(*) {raw} \
                     AND e.event = 'page_request' GROUP BY e.module \
                   UNION ALL SELECT 'api_status', e.status_class || 'xx', count(*) {raw} \
                     AND e.event = 'api_request' GROUP BY e.status_class \
                   UNION ALL SELECT 'api_latency', {LATENCY_BUCKET}, count(*) {raw} \
                     AND e.event = 'api_request' GROUP BY 2 \
                   UNION ALL SELECT 'module_events', e.module, count(*) {raw} GROUP BY e.module \
                 ) x"
                ),
                &range,
            ),
            // Members who still exist: `any` for each active member, and a row per area they used, with
            // the department they are in now (kept as it is once the day is final).
            (
                "INSERT INTO usage_active_users (tenant_id, day, module, user_id, department) \
             SELECT DISTINCT $1, $2, m.module, e.user_id, u.department \
             FROM usage_events e \
             JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id \
             CROSS JOIN LATERAL (VALUES ('any'), (e.module)) m(module) \
             WHERE e.tenant_id = $1 AND e.occurred_at >= $3 AND e.occurred_at < $4"
                    .to_owned(),
                &range,
            ),
            (
                "INSERT INTO usage_daily (tenant_id, day, metric, dimension, value) \
             SELECT $1, $2, 'active_users', module, count(*) FROM usage_active_users \
             WHERE tenant_id = $1 AND day = $2 GROUP BY module"
                    .to_owned(),
                &key,
            ),
        ];
        let tx = TenantTx::begin(&self.pool, tenant, None).await?;
        // Two workers never recompute the same organization at once.
        tx.lock(TenantLock::UsageRollup).await?;
        for (sql, values) in statements {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values.clone(),
            ))
            .await?;
        }
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO usage_rollups (tenant_id, day, rolled_at, final) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, day) DO UPDATE SET rolled_at = excluded.rolled_at, final = excluded.final",
            [
                tenant.as_uuid().into(),
                day.into(),
                now.into(),
                final_day.into(),
            ],
        ))
        .await?;
        tx.commit().await
    }

    /// Makes the coming days' partitions and drops those past retention; returns (created, dropped).
    pub async fn keep_partitions(&self) -> Result<(i32, i32), sqlx::Error> {
        let created: i32 = sqlx::query_scalar("SELECT app.ensure_usage_partitions($1)")
            .bind(self.settings.partitions_ahead_days)
            .fetch_one(&self.pool)
            .await?;
        let dropped: i32 = sqlx::query_scalar("SELECT app.drop_usage_partitions($1)")
            .bind(self.settings.retention_days)
            .fetch_one(&self.pool)
            .await?;
        Ok((created, dropped))
    }
}
