//! The database keeps tenants apart: row-level security as the app role, settings that never outlive
//! their transaction on a pooled connection, and Host-based tenant resolution.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use trellis::tenancy::TenantTx;
use uuid::Uuid;

use crate::helpers::{expect_problem, spawn_app, spawn_app_with, sqlstate};

async fn member_emails(app: &crate::helpers::TestApp, slug: &str, token: &str) -> Vec<String> {
    let response = app.get(slug, "/api/v1/members", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn one_pooled_connection_carries_no_tenant_from_one_request_to_the_next() {
    let app = spawn_app_with(|s| s.database.max_connections = 1).await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let a = app.login_owner(&acme).await;
    let b = app.login_owner(&globex).await;
    app.invite("acme", &a, "secret-project@acme.example", "member")
        .await;

    assert_eq!(member_emails(&app, "acme", &a.access).await.len(), 2);
    assert_eq!(
        member_emails(&app, "globex", &b.access).await,
        vec![globex.owner.email.clone()]
    );
    // A request of A's that fails after its transaction has run statements.
    let fails = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/members/{}/role", Uuid::now_v7()),
            &a.access,
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(fails.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        member_emails(&app, "globex", &b.access).await,
        vec![globex.owner.email.clone()]
    );

    // The same at the transaction level: A writes, a statement fails, the transaction is dropped
    // unfinished; the only connection then serves B, and then nobody.
    let pool = &app.state.pool;
    let tx = TenantTx::begin(pool, acme.id, None).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &tx,
        &format!(
            "INSERT INTO users (tenant_id, id, email, status) VALUES ('{}', '{}', 'ghost@acme.example', 'active')",
            acme.id,
            Uuid::now_v7()
        ),
    )
    .await
    .unwrap();
    assert!(
        sea_orm::ConnectionTrait::execute_unprepared(&tx, "SELECT 1/0")
            .await
            .is_err()
    );
    assert!(
        tx.commit().await.is_err(),
        "a transaction with a failed statement must not commit"
    );

    let tx = TenantTx::begin(pool, globex.id, None).await.unwrap();
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &tx,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT current_setting('app.tenant_id', true) AS t, \
                    (SELECT count(*) FROM users) AS visible, \
                    (SELECT count(*) FROM users WHERE email = 'ghost@acme.example') AS ghosts",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        row.try_get::<String>("", "t").unwrap(),
        globex.id.to_string()
    );
    assert_eq!(
        row.try_get::<i64>("", "visible").unwrap(),
        1,
        "B sees only its owner"
    );
    assert_eq!(row.try_get::<i64>("", "ghosts").unwrap(), 0);
    drop(tx); // rolled back off the request path

    let mut conn = pool.acquire().await.unwrap();
    let (tenant, user): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT nullif(current_setting('app.tenant_id', true), ''), nullif(current_setting('app.user_id', true), '')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        (tenant, user),
        (None, None),
        "a setting outlived its transaction"
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(users, 0, "without a tenant the app role sees no rows");
    drop(conn);

    let owner = app.owner_pool().await;
    let ghosts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'ghost@acme.example'")
            .fetch_one(&owner)
            .await
            .unwrap();
    assert_eq!(ghosts, 0, "the failed transaction's write was rolled back");
}

#[tokio::test]
async fn without_a_tenant_context_the_app_role_sees_nothing_and_writes_nothing() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let session = app.login_owner(&acme).await;
    app.invite("acme", &session, "x@acme.example", "member")
        .await;

    let mut admin = app.admin_connection().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let owner = app.owner_pool().await;
    let mut conn = app.app_connection().await;
    for table in &tables {
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&owner)
                .await
                .unwrap();
        let visible: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(
            visible, 0,
            "{table}: the app role saw {visible} of {total} rows without a tenant"
        );
    }
    for table in ["users", "org_settings", "sessions", "audit_events", "jobs"] {
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&owner)
                .await
                .unwrap();
        assert!(
            total > 0 || table == "jobs",
            "{table} should have rows for the check to mean anything"
        );
    }

    let insert = sqlx::query("INSERT INTO users (tenant_id, id, email, status) VALUES ($1, $2, 'n@acme.example', 'active')")
        .bind(acme.id.as_uuid())
        .bind(Uuid::now_v7())
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&insert), "42501", "{insert}");
    let audit = sqlx::query(
        "INSERT INTO audit_events (tenant_id, occurred_at, id, actor_type, action) VALUES ($1, now(), $2, 'system', 'x.y')",
    )
    .bind(acme.id.as_uuid())
    .bind(Uuid::now_v7())
    .execute(&mut conn)
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&audit), "42501", "{audit}");
}

#[tokio::test]
async fn inside_a_tenant_the_app_role_cannot_reach_or_write_another_tenant() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let mut conn = app.app_connection().await;
    let mut tx = begin_as(&mut conn, acme.id).await;
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(emails, vec![acme.owner.email.clone()]);
    // Asking for globex's rows by id finds nothing.
    let theirs: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1")
        .bind(globex.id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(theirs, 0);
    let updated = sqlx::query("UPDATE users SET display_name = 'pwned' WHERE id = $1")
        .bind(globex.owner.id.as_uuid())
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let savepoint = sqlx::query("INSERT INTO users (tenant_id, id, email, status) VALUES ($1, $2, 'spy@globex.example', 'active')")
        .bind(globex.id.as_uuid())
        .bind(Uuid::now_v7())
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(&savepoint),
        "42501",
        "WITH CHECK refuses another tenant's row"
    );
    tx.rollback().await.unwrap();

    // tenant_id never changes, even to the current tenant's own id from another.
    let mut tx = begin_as(&mut conn, acme.id).await;
    let moved = sqlx::query("UPDATE users SET tenant_id = $1 WHERE id = $2")
        .bind(globex.id.as_uuid())
        .bind(acme.owner.id.as_uuid())
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(
        ["23514", "42501"].contains(&sqlstate(&moved).as_str()),
        "{moved}"
    );
}

#[tokio::test]
async fn the_audit_log_is_append_only_even_for_the_owner() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.owner_pool().await;
    for statement in [
        "UPDATE audit_events SET action = 'x.y'",
        "DELETE FROM audit_events",
    ] {
        let error = sqlx::query(statement).execute(&owner).await.unwrap_err();
        assert_eq!(sqlstate(&error), "42501", "{statement}: {error}");
    }
    assert!(!app.audit_actions(acme.id).await.is_empty());
}

#[tokio::test]
async fn the_host_header_alone_selects_the_tenant() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let session = app.login_owner(&acme).await;
    let port = app.port;

    let cases: Vec<(Option<String>, StatusCode, &str)> = vec![
        (
            Some(format!("nope.localhost:{port}")),
            StatusCode::NOT_FOUND,
            "tenant_not_found",
        ),
        (
            Some(format!("a.acme.localhost:{port}")),
            StatusCode::NOT_FOUND,
            "tenant_not_found",
        ),
        (
            Some(format!("acme.example.com:{port}")),
            StatusCode::NOT_FOUND,
            "tenant_not_found",
        ),
        (
            Some(format!("localhost:{port}")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Some("acme..localhost".into()),
            StatusCode::BAD_REQUEST,
            "malformed_host",
        ),
        (
            Some(format!("acme.localhost:{port}x")),
            StatusCode::BAD_REQUEST,
            "malformed_host",
        ),
    ];
    for (host, status, code) in cases {
        let response = app
            .request_with_host(Method::GET, host.as_deref(), "/api/v1/me")
            .bearer_auth(&session.access)
            .send()
            .await
            .unwrap();
        assert_eq!(expect_problem(response, status).await, code, "{host:?}");
    }
    // Case, port and a trailing dot do not matter.
    for host in [
        format!("ACME.localhost:{port}"),
        "acme.localhost.".into(),
        "acme.localhost".into(),
    ] {
        let response = app
            .request_with_host(Method::GET, Some(&host), "/api/v1/me")
            .bearer_auth(&session.access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
    // Forwarded hosts and tenant headers are ignored: acme's token stays on acme.
    let response = app
        .request(Method::GET, "globex", "/api/v1/me")
        .header("x-forwarded-host", app.host("acme"))
        .header("x-tenant", "acme")
        .bearer_auth(&session.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_suspended_tenant_is_403() {
    let app = spawn_app_with(|s| s.tenancy.cache_ttl_secs = 0).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.owner_pool().await;
    sqlx::query("UPDATE tenants SET status = 'suspended' WHERE id = $1")
        .bind(acme.id.as_uuid())
        .execute(&owner)
        .await
        .unwrap();
    let response = app
        .try_login("acme", &acme.owner.email, &acme.owner.password)
        .await;
    assert_eq!(
        expect_problem(response, StatusCode::FORBIDDEN).await,
        "tenant_suspended"
    );
}

/// A transaction on a raw app-role connection with the tenant context set, as TenantTx sets it.
async fn begin_as(
    conn: &mut sqlx::PgConnection,
    tenant: trellis::domain::TenantId,
) -> sqlx::Transaction<'_, sqlx::Postgres> {
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET LOCAL app.tenant_id = '{tenant}'"
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx
}
