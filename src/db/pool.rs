//! Connection pools. The app pool is the only one request paths use; it connects as `trellis_app` and
//! skips the ping-on-acquire (a round trip per request: a broken connection fails the query instead,
//! and the pool replaces it).

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseSettings;

/// The request-path pool, as the app role.
pub async fn connect_app_pool(
    settings: &DatabaseSettings,
    url: &SecretString,
) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.expose_secret().parse()?;
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .test_before_acquire(false)
        .connect_with(options.application_name("trellis"))
        .await
}

/// One sea-orm connection as the owner role: migrations, partitions, tenant provisioning. A single
/// connection, so a session advisory lock taken on it covers the statements that follow.
pub async fn connect_owner(url: &SecretString) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.expose_secret().to_owned());
    options
        .max_connections(1)
        .min_connections(0)
        .sqlx_logging(false);
    Database::connect(options).await
}
