//! The catalog test: every table with a `tenant_id` column, now and in every later migration, must keep
//! the rules of ARCHITECTURE.md section 4, read from PostgreSQL's own catalog. A new table that breaks one
//! fails here without anyone writing a test for it.

use sqlx::{PgConnection, Row};

use crate::helpers::spawn_app;

/// Every broken rule, as `table: rule` lines (empty when the schema is sound).
pub async fn violations(db: &mut PgConnection) -> Vec<String> {
    let mut found = Vec::new();
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(&mut *db)
    .await
    .unwrap();
    assert!(
        tables.len() >= 9,
        "the tenant tables were not found: {tables:?}"
    );

    for (table, rls, forced) in &tables {
        let mut fail = |rule: &str| found.push(format!("{table}: {rule}"));
        if !rls {
            fail("row-level security is not enabled");
        }
        if !forced {
            fail("row-level security is not forced");
        }
        let not_null: bool = sqlx::query_scalar(
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'tenant_id'",
        )
        .bind(table)
        .fetch_one(&mut *db)
        .await
        .unwrap();
        if !not_null {
            fail("tenant_id is nullable");
        }

        // Policies that apply to the app role (named, or PUBLIC) must all be the tenant predicate, on
        // every command, with USING and WITH CHECK; there must be at least one.
        let policies = sqlx::query(
            "SELECT p.polname::text AS name, p.polcmd::text AS cmd, p.polpermissive AS permissive, \
                    pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS checks \
             FROM pg_policy p \
             WHERE p.polrelid = $1::regclass \
               AND (0 = ANY (p.polroles) OR (SELECT oid FROM pg_roles WHERE rolname = 'trellis_app') = ANY (p.polroles))",
        )
        .bind(table)
        .fetch_all(&mut *db)
        .await
        .unwrap();
        if !policies.iter().any(|p| p.get::<String, _>("cmd") == "*") {
            fail("no FOR ALL policy applies to trellis_app");
        }
        for policy in &policies {
            let name: String = policy.get("name");
            let qual: Option<String> = policy.get("qual");
            let checks: Option<String> = policy.get("checks");
            let expected = Some("(tenant_id = app.current_tenant_id())".to_owned());
            if qual != expected {
                fail(&format!(
                    "policy {name} USING is {qual:?}, not the tenant predicate"
                ));
            }
            if checks != expected {
                fail(&format!(
                    "policy {name} WITH CHECK is {checks:?}, not the tenant predicate"
                ));
            }
            if !policy.get::<bool, _>("permissive") {
                fail(&format!(
                    "policy {name} is restrictive; the tenant policy must be permissive and alone"
                ));
            }
        }

        // The primary key leads with tenant_id; every unique index includes it; every index leads with it.
        let indexes = sqlx::query(
            "SELECT i.indexrelid::regclass::text AS name, i.indisprimary AS primary, i.indisunique AS unique, \
                    (SELECT attname::text FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = i.indkey[0]) AS first, \
                    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attname = 'tenant_id' \
                            AND a.attnum = ANY (i.indkey::int2[])) AS has_tenant \
             FROM pg_index i WHERE i.indrelid = $1::regclass",
        )
        .bind(table)
        .fetch_all(&mut *db)
        .await
        .unwrap();
        if !indexes.iter().any(|i| i.get::<bool, _>("primary")) {
            fail("has no primary key");
        }
        for index in &indexes {
            let name: String = index.get("name");
            let first: Option<String> = index.get("first");
            if first.as_deref() != Some("tenant_id") {
                fail(&format!("index {name} does not lead with tenant_id"));
            }
            if index.get::<bool, _>("unique") && !index.get::<bool, _>("has_tenant") {
                fail(&format!("unique index {name} does not include tenant_id"));
            }
        }

        // Foreign keys to other tenant tables are composite on (tenant_id, ...) at both ends; the only other
        // allowed target is tenants(id), from tenant_id.
        let fks = sqlx::query(
            "SELECT con.conname::text AS name, con.confrelid::regclass::text AS target, \
                    (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) \
                       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num) AS columns, \
                    (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) \
                       JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num) AS target_columns, \
                    con.confdeltype::text AS on_delete, con.confdelsetcols IS NOT NULL AS set_cols \
             FROM pg_constraint con WHERE con.conrelid = $1::regclass AND con.contype = 'f' AND con.conparentid = 0",
        )
        .bind(table)
        .fetch_all(&mut *db)
        .await
        .unwrap();
        for fk in &fks {
            let name: String = fk.get("name");
            let target: String = fk.get("target");
            let columns: Vec<String> = fk.get("columns");
            let target_columns: Vec<String> = fk.get("target_columns");
            if target == "tenants" {
                if columns != ["tenant_id"] || target_columns != ["id"] {
                    fail(&format!(
                        "foreign key {name} to tenants is not tenant_id -> id"
                    ));
                }
                continue;
            }
            if columns.first().map(String::as_str) != Some("tenant_id")
                || target_columns.first().map(String::as_str) != Some("tenant_id")
            {
                fail(&format!(
                    "foreign key {name} to {target} is not composite on tenant_id"
                ));
            }
            let on_delete: String = fk.get("on_delete");
            if on_delete == "n" && !fk.get::<bool, _>("set_cols") {
                fail(&format!(
                    "foreign key {name} sets tenant_id to null on delete (name the column)"
                ));
            }
        }

        // tenant_id cannot change: the shared trigger fires before every update.
        let guarded: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid \
             WHERE t.tgrelid = $1::regclass AND p.proname = 'forbid_tenant_id_change' \
               AND (t.tgtype & 2) <> 0 AND (t.tgtype & 16) <> 0 AND (t.tgtype & 1) <> 0)",
        )
        .bind(table)
        .fetch_one(&mut *db)
        .await
        .unwrap();
        if !guarded {
            fail("no BEFORE UPDATE row trigger keeps tenant_id immutable");
        }
    }

    // Global tables never point at tenant tables.
    let global_to_tenant: Vec<String> = sqlx::query_scalar(
        "SELECT con.conname::text FROM pg_constraint con \
         WHERE con.contype = 'f' \
           AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = con.conrelid AND attname = 'tenant_id') \
           AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = con.confrelid AND attname = 'tenant_id')",
    )
    .fetch_all(&mut *db)
    .await
    .unwrap();
    for name in global_to_tenant {
        found.push(format!(
            "global table: foreign key {name} points at a tenant table"
        ));
    }

    // The app role: no superuser, no BYPASSRLS, owns nothing.
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'trellis_app'")
            .fetch_one(&mut *db)
            .await
            .unwrap();
    if superuser {
        found.push("trellis_app: is a superuser".into());
    }
    if bypass {
        found.push("trellis_app: has BYPASSRLS".into());
    }
    let owned: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid) \
              + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid) \
              + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) \
              + (SELECT count(*) FROM pg_type WHERE typowner = r.oid) \
         FROM pg_roles r WHERE r.rolname = 'trellis_app'",
    )
    .fetch_one(&mut *db)
    .await
    .unwrap();
    if owned > 0 {
        found.push(format!("trellis_app: owns {owned} objects"));
    }

    // The context function fails closed and is STABLE; SECURITY DEFINER functions pin search_path and
    // are not executable by PUBLIC; views run as the invoker.
    let volatility: String = sqlx::query_scalar(
        "SELECT provolatile::text FROM pg_proc WHERE oid = 'app.current_tenant_id()'::regprocedure",
    )
    .fetch_one(&mut *db)
    .await
    .unwrap();
    if volatility != "s" {
        found.push("app.current_tenant_id(): is not STABLE".into());
    }
    let definers: Vec<String> = sqlx::query_scalar(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.prosecdef AND n.nspname IN ('public', 'app') \
           AND (NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%') \
                OR has_function_privilege('public', p.oid, 'EXECUTE'))",
    )
    .fetch_all(&mut *db)
    .await
    .unwrap();
    for function in definers {
        found.push(format!(
            "{function}: SECURITY DEFINER without a pinned search_path or open to PUBLIC"
        ));
    }
    let views: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'v' AND n.nspname = 'public' \
           AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)",
    )
    .fetch_all(&mut *db)
    .await
    .unwrap();
    for view in views {
        found.push(format!("view {view}: not security_invoker"));
    }
    found
}

#[tokio::test]
async fn every_tenant_table_keeps_the_database_rules() {
    let app = spawn_app().await;
    let mut db = app.admin_connection().await;
    let found = violations(&mut db).await;
    assert!(
        found.is_empty(),
        "schema rules broken:\n{}",
        found.join("\n")
    );
}

#[tokio::test]
async fn the_catalog_check_fails_when_a_policy_or_force_is_dropped() {
    let app = spawn_app().await;
    let mut db = app.admin_connection().await;
    sqlx::raw_sql(
        "DROP POLICY tenant_isolation ON users; \
         ALTER TABLE memberships NO FORCE ROW LEVEL SECURITY; \
         DROP TRIGGER tenant_id_immutable ON invitations; \
         CREATE TABLE notes (tenant_id uuid NOT NULL, id uuid PRIMARY KEY, body text); \
         CREATE FUNCTION app.leaky() RETURNS int SECURITY DEFINER LANGUAGE sql AS 'SELECT 1'",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let found = violations(&mut db).await.join("\n");
    for expected in [
        "users: no FOR ALL policy applies to trellis_app",
        "memberships: row-level security is not forced",
        "invitations: no BEFORE UPDATE row trigger keeps tenant_id immutable",
        "notes: row-level security is not enabled",
        "notes: index notes_pkey does not lead with tenant_id",
        "app.leaky(): SECURITY DEFINER without a pinned search_path or open to PUBLIC",
    ] {
        assert!(
            found.contains(expected),
            "{expected:?} was not reported in:\n{found}"
        );
    }
}

#[tokio::test]
async fn every_audit_partition_is_secured_like_its_parent() {
    let app = spawn_app().await;
    let mut db = app.admin_connection().await;
    let partitions: Vec<(String, bool, bool, i64)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                (SELECT count(*) FROM pg_policy WHERE polrelid = c.oid) \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'audit_events'::regclass",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(
        partitions.iter().any(|p| p.0 == "audit_events_default"),
        "{partitions:?}"
    );
    assert!(
        partitions.len() >= 4,
        "this month and the next months exist: {partitions:?}"
    );
    for (name, rls, forced, policies) in partitions {
        assert!(rls && forced && policies >= 1, "{name} is not secured");
    }
}
