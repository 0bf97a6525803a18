//! The audit log stream and the partition job.
//!
//! - `audit_streams`: at most one per organization — where its sealed events are POSTed (a SIEM such as
//!   Splunk HEC or Datadog), the HMAC secret and extra headers sealed by the application, and the
//!   delivery state the worker keeps: the last sequence number delivered (at-least-once: it moves only
//!   after the receiver answered 2xx), failures, the next attempt, and the lease of the worker at it.
//! - `app.ensure_audit_partitions` becomes SECURITY DEFINER (owner's rights, pinned search_path, at most
//!   24 months ahead) and executable by the worker, whose maintenance creates next months' partitions.

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
CREATE TABLE audit_streams (
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                   uuid NOT NULL,
    url                  text NOT NULL,
    format               text NOT NULL CHECK (format IN ('json', 'json_array', 'splunk_hec')),
    secret_sealed        text NOT NULL,
    -- Extra request headers (e.g. `Authorization: Splunk <token>`), a sealed JSON object; names shown.
    headers_sealed       text,
    header_names         text[] NOT NULL DEFAULT '{{}}',
    enabled              boolean NOT NULL DEFAULT true,
    delivered_seq        bigint NOT NULL DEFAULT 0 CHECK (delivered_seq >= 0),
    delivered_events     bigint NOT NULL DEFAULT 0,
    consecutive_failures integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL,
    last_attempt_at      timestamptz,
    last_success_at      timestamptz,
    last_status          integer,
    last_error           text,
    locked_by            text,
    locked_until         timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id)
);
SELECT app.secure_tenant_table('audit_streams'::regclass, 'SELECT, INSERT, UPDATE, DELETE');
-- The worker finds the streams with something to deliver; it delivers each in that tenant's transactions.
CREATE POLICY stream_discovery ON audit_streams AS PERMISSIVE FOR SELECT TO {WORKER_ROLE} USING (true);

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
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            &format!(
                "DROP TABLE audit_streams; \
                 REVOKE EXECUTE ON FUNCTION app.ensure_audit_partitions(integer) FROM {WORKER_ROLE}; \
                 ALTER FUNCTION app.ensure_audit_partitions(integer) SECURITY INVOKER RESET search_path;"
            ),
        )
        .await
    }
}
