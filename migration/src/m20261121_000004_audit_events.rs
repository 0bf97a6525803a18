//! The audit log: partitioned by month on `occurred_at` from the start, append-only for everyone but the
//! retention role, with a DEFAULT partition so no insert ever fails. `app.ensure_audit_partitions(n)`
//! creates this month's and the next `n` months' partitions, each secured like every tenant table; the
//! owner runs it from `trellis migrate` and at boot.

use crate::{Grants, OWNER_ROLE, RETENTION_ROLE, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE audit_events (
    tenant_id       uuid NOT NULL,
    occurred_at     timestamptz NOT NULL,
    id              uuid NOT NULL,
    actor_type      text NOT NULL CHECK (actor_type IN ('user', 'system', 'scim_token', 'api_key')),
    actor_id        uuid,
    actor_display   text,
    action          text NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    target_type     text,
    target_id       text,
    target_display  text,
    request_id      text,
    ip              text,
    user_agent      text,
    metadata        jsonb NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX audit_events_tenant_action_idx ON audit_events (tenant_id, action, occurred_at);
CREATE INDEX audit_events_tenant_actor_idx ON audit_events (tenant_id, actor_id, occurred_at);
CREATE INDEX audit_events_tenant_target_idx ON audit_events (tenant_id, target_type, target_id, occurred_at);

CREATE FUNCTION app.audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = '{RETENTION_ROLE}' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION app.audit_events_append_only() FROM PUBLIC;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION app.audit_events_append_only();

{audit_events}
GRANT SELECT, DELETE ON audit_events TO {RETENTION_ROLE};

CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
SELECT app.secure_tenant_table('audit_events_default'::regclass, '');

CREATE FUNCTION app.ensure_audit_partitions(months_ahead integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    month_start date;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0..months_ahead LOOP
        month_start := (first_month + make_interval(months => i))::date;
        part := format('audit_events_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
        IF to_regclass(format('public.%I', part)) IS NULL THEN
            BEGIN
                EXECUTE format(
                    'CREATE TABLE public.%I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
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
GRANT EXECUTE ON FUNCTION app.ensure_audit_partitions(integer) TO {OWNER_ROLE};
SELECT app.ensure_audit_partitions(3);
"#,
            audit_events = tenant_table("audit_events", Grants::AppendOnly),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE audit_events; DROP FUNCTION app.ensure_audit_partitions(integer), app.audit_events_append_only();",
        )
        .await
    }
}
