//! Plans and usage analytics.
//!
//! - `tenants.plan` is `free`, `pro` or `enterprise` (the limits and features of each are configuration,
//!   `plans.*`); `tenants.api_rate_limit` overrides the plan's requests per minute for one organization.
//! - `usage_events`: raw usage (API requests by route group, status class and latency; feature events
//!   such as sign-ins and committed imports), partitioned by day, written by the server's capture buffer
//!   (app role: INSERT, and SELECT under row-level security) and read by the worker's roll-up. Old days are dropped whole.
//! - `usage_daily` (tenant, day, metric, dimension, value) and `usage_active_users` (tenant, day, module,
//!   user): what the roll-up makes of a day, replaced as a whole each time it runs, so re-running a day
//!   gives the same numbers. The app role reads them for `/api/v1/analytics`.
//! - One partition function for both partitioned tables (`app.create_partitions`, the owner's only), with
//!   SECURITY DEFINER wrappers the worker may call: `app.ensure_audit_partitions(months)`,
//!   `app.ensure_usage_partitions(days)` and `app.drop_usage_partitions(keep_days)`.

use crate::{WORKER_ROLE, run_sql};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!(
                r#"
UPDATE tenants SET plan = 'enterprise' WHERE plan NOT IN ('free', 'pro', 'enterprise');
ALTER TABLE tenants ALTER COLUMN plan SET DEFAULT 'enterprise';
ALTER TABLE tenants ADD CONSTRAINT tenants_plan_known CHECK (plan IN ('free', 'pro', 'enterprise'));
ALTER TABLE tenants ADD COLUMN api_rate_limit integer CHECK (api_rate_limit BETWEEN 1 AND 1000000);

-- Monthly (`<parent>_yYYYYmMM`) or daily (`<parent>_dYYYYMMDD`) range partitions from this period on,
-- each secured like its parent. The owner's own; the worker reaches it through the wrappers below.
CREATE FUNCTION app.create_partitions(parent text, unit text, ahead integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
    AS $$
DECLARE
    step interval := CASE unit WHEN 'month' THEN interval '1 month' WHEN 'day' THEN interval '1 day' END;
    first_start date := date_trunc(unit, now() AT TIME ZONE 'UTC')::date;
    part_start date;
    part text;
    created integer := 0;
BEGIN
    IF step IS NULL THEN
        RAISE EXCEPTION 'unknown partition unit %', unit;
    END IF;
    FOR i IN 0..greatest(ahead, 0) LOOP
        part_start := (first_start + i * step)::date;
        part := CASE unit
            WHEN 'month' THEN format('%s_y%sm%s', parent, to_char(part_start, 'YYYY'), to_char(part_start, 'MM'))
            ELSE format('%s_d%s', parent, to_char(part_start, 'YYYYMMDD')) END;
        IF to_regclass(format('public.%I', part)) IS NULL THEN
            BEGIN
                EXECUTE format(
                    'CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                    part, parent,
                    part_start::text || ' 00:00:00+00',
                    (part_start + step)::date::text || ' 00:00:00+00');
                PERFORM app.secure_tenant_table(format('public.%I', part)::regclass, '');
                created := created + 1;
            EXCEPTION WHEN check_violation THEN
                RAISE WARNING 'partition % not created: the default partition holds rows of that period', part;
            END;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION app.create_partitions(text, text, integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.ensure_audit_partitions(months_ahead integer) RETURNS integer
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    RETURN app.create_partitions('audit_events', 'month', least(greatest(months_ahead, 0), 24));

CREATE TABLE usage_events (
    tenant_id      uuid NOT NULL,
    occurred_at    timestamptz NOT NULL,
    id             uuid NOT NULL,
    -- `api_request`, or a feature event (`login`, `sso_login`, `import_committed`, ...).
    event          text NOT NULL CHECK (event ~ '^[a-z][a-z0-9_]{{0,62}}$'),
    -- The product area: an API request's route group, a feature event's module.
    module         text NOT NULL CHECK (length(module) BETWEEN 1 AND 64),
    -- A detail: a sign-in's method, for instance.
    dimension      text NOT NULL DEFAULT '' CHECK (length(dimension) <= 64),
    user_id        uuid,
    status_class   smallint CHECK (status_class BETWEEN 1 AND 5),
    latency_ms     integer CHECK (latency_ms >= 0),
    PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
SELECT app.secure_tenant_table('usage_events'::regclass, 'SELECT, INSERT');
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;
SELECT app.secure_tenant_table('usage_events_default'::regclass, '');

CREATE FUNCTION app.ensure_usage_partitions(days_ahead integer) RETURNS integer
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    RETURN app.create_partitions('usage_events', 'day', least(greatest(days_ahead, 0), 60));

-- Drops the daily partitions that end before `keep_days` days ago (at least 7): usage retention.
CREATE FUNCTION app.drop_usage_partitions(keep_days integer) RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    AS $$
DECLARE
    cutoff date := (now() AT TIME ZONE 'UTC')::date - greatest(keep_days, 7);
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'public.usage_events'::regclass AND c.relname ~ '^usage_events_d[0-9]{{8}}$'
          AND to_date(substr(c.relname, 15), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE public.%I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;
REVOKE ALL ON FUNCTION app.ensure_usage_partitions(integer), app.drop_usage_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.ensure_usage_partitions(integer), app.drop_usage_partitions(integer)
    TO {WORKER_ROLE};
SELECT app.ensure_usage_partitions(7);

CREATE TABLE usage_daily (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day        date NOT NULL,
    metric     text NOT NULL,
    dimension  text NOT NULL DEFAULT '',
    value      bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, metric, dimension)
);
SELECT app.secure_tenant_table('usage_daily'::regclass, 'SELECT');
GRANT INSERT, DELETE ON usage_daily TO {WORKER_ROLE};
CREATE INDEX usage_daily_metric_idx ON usage_daily (tenant_id, metric, day);

CREATE TABLE usage_active_users (
    tenant_id  uuid NOT NULL,
    day        date NOT NULL,
    -- `any`, or the product area the member used.
    module     text NOT NULL,
    user_id    uuid NOT NULL,
    -- The member's department when the day was rolled up (frozen once the day is final).
    department text,
    PRIMARY KEY (tenant_id, day, module, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
SELECT app.secure_tenant_table('usage_active_users'::regclass, 'SELECT');
GRANT INSERT, DELETE ON usage_active_users TO {WORKER_ROLE};
CREATE INDEX usage_active_users_user_idx ON usage_active_users (tenant_id, user_id);

-- The roll-up job's bookkeeping: which days of which organization are final.
CREATE TABLE usage_rollups (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day        date NOT NULL,
    rolled_at  timestamptz NOT NULL,
    final      boolean NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
SELECT app.secure_tenant_table('usage_rollups'::regclass, 'SELECT');
GRANT INSERT, UPDATE ON usage_rollups TO {WORKER_ROLE};
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!(
                r#"
DROP TABLE usage_rollups, usage_active_users, usage_daily, usage_events;
DROP FUNCTION app.drop_usage_partitions(integer), app.ensure_usage_partitions(integer);
-- Migration 16's own partition function, so create_partitions can go.
CREATE OR REPLACE FUNCTION app.ensure_audit_partitions(months_ahead integer) RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
DECLARE
    first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    month_start date;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0..least(greatest(months_ahead, 0), 24) LOOP
        month_start := (first_month + make_interval(months => i))::date;
        part := format('audit_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
        IF to_regclass(format('public.%I', part)) IS NULL THEN
            BEGIN
                EXECUTE format(
                    'CREATE TABLE public.%I PARTITION OF public.audit_events FOR VALUES FROM (%L) TO (%L)',
                    part,
                    month_start::text || ' 00:00:00+00',
                    (month_start + interval '1 month')::date::text || ' 00:00:00+00');
                PERFORM app.secure_tenant_table(format('public.%I', part)::regclass, '');
                created := created + 1;
            EXCEPTION WHEN check_violation THEN
                RAISE WARNING 'audit partition % not created: the default partition holds rows of that month', part;
            END;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION app.ensure_audit_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.ensure_audit_partitions(integer) TO {WORKER_ROLE};
DROP FUNCTION app.create_partitions(text, text, integer);
ALTER TABLE tenants DROP COLUMN api_rate_limit, DROP CONSTRAINT tenants_plan_known;
ALTER TABLE tenants ALTER COLUMN plan SET DEFAULT 'standard';
"#
            ),
        )
        .await
    }
}
