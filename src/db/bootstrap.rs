//! Bootstrap: in local and test, a superuser (`database.admin_url`) creates the four roles and the
//! database if they are missing; then the owner role migrates and makes the audit partitions ahead.
//! Production never bootstraps: roles and database are the operator's (docs/operations.md), and
//! `trellis migrate` runs with the owner URL only.

use migration::MigratorTrait;
use percent_encoding::percent_decode_str;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgConnection, Row};
use url::Url;

use migration::{APP_ROLE, Migrator, OWNER_ROLE, RETENTION_ROLE, WORKER_ROLE};

use crate::config::Settings;

/// Whether the bootstrap had to create the database (a new database gets the demo seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapOutcome {
    pub database_created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("cannot reach PostgreSQL with database.admin_url: {0}")]
    Admin(#[source] sqlx::Error),
    #[error("bootstrap statement failed: {0}")]
    Statement(#[source] sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[source] DbErr),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Creates the roles and the database when missing, then migrates. Safe to run concurrently: the
/// role and database creation runs under an advisory lock on the admin connection.
pub async fn bootstrap(settings: &Settings) -> Result<BootstrapOutcome, BootstrapError> {
    let db = &settings.database;
    let mut admin = PgConnection::connect(db.admin_url.expose_secret())
        .await
        .map_err(BootstrapError::Admin)?;
    exec(
        &mut admin,
        "SELECT pg_advisory_lock(hashtext('trellis.bootstrap'))",
    )
    .await?;
    let outcome = create_roles_and_database(&mut admin, settings).await;
    exec(
        &mut admin,
        "SELECT pg_advisory_unlock(hashtext('trellis.bootstrap'))",
    )
    .await?;
    let _ = admin.close().await;
    let outcome = outcome?;
    migrate(settings).await?;
    Ok(outcome)
}

/// Migrates as the owner role and makes the audit partitions ahead. Serialised across processes by an
/// advisory lock, so two instances starting together do not race.
pub async fn migrate(settings: &Settings) -> Result<(), BootstrapError> {
    let owner = crate::db::connect_owner(&settings.database.owner_url()?)
        .await
        .map_err(BootstrapError::Migrate)?;
    let result = migrate_with(&owner, settings.database.audit_partitions_ahead).await;
    let _ = owner.close().await;
    result
}

/// Migrations and partitions on an open owner connection.
pub async fn migrate_with(
    owner: &DatabaseConnection,
    months_ahead: i32,
) -> Result<(), BootstrapError> {
    let run = async {
        owner
            .execute_unprepared("SELECT pg_advisory_lock(hashtext('trellis.migrate'))")
            .await?;
        let result = async {
            Migrator::up(owner, None).await?;
            ensure_audit_partitions(owner, months_ahead).await
        }
        .await;
        owner
            .execute_unprepared("SELECT pg_advisory_unlock(hashtext('trellis.migrate'))")
            .await?;
        result
    };
    run.await.map_err(BootstrapError::Migrate)
}

/// Creates this month's audit partition and `months_ahead` more (owner only; idempotent).
pub async fn ensure_audit_partitions(
    owner: &DatabaseConnection,
    months_ahead: i32,
) -> Result<(), DbErr> {
    owner
        .execute_unprepared(&format!(
            "SELECT app.ensure_audit_partitions({})",
            months_ahead.clamp(0, 24)
        ))
        .await
        .map(|_| ())
}

/// Names of the migrations this build knows that the database has not applied (empty when current).
pub async fn pending_migrations(pool: &sqlx::PgPool) -> Result<Vec<String>, sqlx::Error> {
    let applied: Vec<String> = match sqlx::query("SELECT version FROM seaql_migrations")
        .fetch_all(pool)
        .await
    {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| r.try_get("version").ok())
            .collect(),
        // An unmigrated database has no table at all: everything is pending.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect())
}

async fn create_roles_and_database(
    admin: &mut PgConnection,
    settings: &Settings,
) -> Result<BootstrapOutcome, BootstrapError> {
    let db = &settings.database;
    let owner_password = password_of(&db.owner_url()?);
    let app_password = password_of(&db.app_url()?);
    let worker_password = password_of(&db.worker_url()?);
    let roles: [(&str, &str, Option<String>); 4] = [
        (
            OWNER_ROLE,
            "LOGIN NOSUPERUSER BYPASSRLS NOCREATEROLE",
            owner_password,
        ),
        (
            APP_ROLE,
            "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
            app_password,
        ),
        (
            WORKER_ROLE,
            "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
            worker_password,
        ),
        (
            RETENTION_ROLE,
            "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
            None,
        ),
    ];
    for (role, attributes, password) in roles {
        let exists = sqlx::query("SELECT 1 FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(&mut *admin)
            .await
            .map_err(BootstrapError::Statement)?
            .is_some();
        let verb = if exists { "ALTER" } else { "CREATE" };
        let password = password
            .map(|p| format!(" PASSWORD {}", quote_literal(&p)))
            .unwrap_or_default();
        exec(admin, &format!("{verb} ROLE {role} {attributes}{password}")).await?;
    }
    exec(admin, &format!("GRANT {RETENTION_ROLE} TO {WORKER_ROLE}")).await?;

    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&db.name)
        .fetch_optional(&mut *admin)
        .await
        .map_err(BootstrapError::Statement)?
        .is_some();
    if !exists {
        exec(
            admin,
            &format!(
                "CREATE DATABASE {} OWNER {OWNER_ROLE}",
                quote_ident(&db.name)
            ),
        )
        .await?;
    }
    Ok(BootstrapOutcome {
        database_created: !exists,
    })
}

async fn exec(conn: &mut PgConnection, sql: &str) -> Result<(), BootstrapError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(BootstrapError::Statement)
}

fn password_of(url: &SecretString) -> Option<String> {
    Url::parse(url.expose_secret()).ok().and_then(|u| {
        u.password()
            .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned())
    })
}

/// Quotes a string literal for the few DDL statements that cannot take bind parameters.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Quotes an identifier (database names in DDL).
pub fn quote_ident(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
