//! The `app` schema: the fail-closed tenant context functions and the shared trigger that keeps
//! `tenant_id` immutable on every tenant table.

use crate::{APP_ROLE, OWNER_ROLE, RETENTION_ROLE, WORKER_ROLE, run_sql};
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
CREATE SCHEMA app AUTHORIZATION {OWNER_ROLE};
REVOKE ALL ON SCHEMA app FROM PUBLIC;
GRANT USAGE ON SCHEMA app TO {APP_ROLE}, {WORKER_ROLE}, {RETENTION_ROLE};
GRANT SELECT ON seaql_migrations TO {APP_ROLE}, {WORKER_ROLE};

-- The tenant of the current transaction, or NULL when none is set: NULL matches no row and fails every
-- WITH CHECK, so a missing context means zero rows and failing inserts, never a default tenant.
CREATE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- The acting user of the current transaction, or NULL (unauthenticated requests, system work).
CREATE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

CREATE FUNCTION app.forbid_tenant_id_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        RAISE EXCEPTION 'tenant_id is immutable (table %)', TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

-- The one mechanism that makes a table (or a partition) a tenant table. Idempotent, so the partitions made
-- at run time go through it too. `privileges` is granted to the app and worker roles ('' grants nothing:
-- partitions are reached through their parent).
CREATE FUNCTION app.secure_tenant_table(tbl regclass, privileges text) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl AND polname = 'tenant_isolation') THEN
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %s AS PERMISSIVE FOR ALL TO {APP_ROLE}, {WORKER_ROLE}, {RETENTION_ROLE} '
            'USING (tenant_id = app.current_tenant_id()) WITH CHECK (tenant_id = app.current_tenant_id())', tbl);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'tenant_id_immutable') THEN
        EXECUTE format(
            'CREATE TRIGGER tenant_id_immutable BEFORE UPDATE ON %s '
            'FOR EACH ROW EXECUTE FUNCTION app.forbid_tenant_id_change()', tbl);
    END IF;
    IF privileges <> '' THEN
        EXECUTE format('GRANT %s ON %s TO {APP_ROLE}, {WORKER_ROLE}', privileges, tbl);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION app.current_tenant_id(), app.current_user_id(), app.forbid_tenant_id_change(),
    app.secure_tenant_table(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_tenant_id(), app.current_user_id() TO {APP_ROLE}, {WORKER_ROLE}, {RETENTION_ROLE};
GRANT EXECUTE ON FUNCTION app.forbid_tenant_id_change() TO {APP_ROLE}, {WORKER_ROLE}, {RETENTION_ROLE};
"#
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP SCHEMA app CASCADE;").await
    }
}
