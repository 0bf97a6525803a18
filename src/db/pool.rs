//! Connection pools. The app pool is the only one request paths use; it connects as `trellis_app` and
//! skips the ping-on-acquire (a round trip per request): a connection the server closed while it sat in
//! the pool fails the first statement sent on it instead, which [`on_live_connection`] sends again on
//! another, and the pool replaces it.

use std::{future::Future, time::Duration};

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

/// Whether `err` says that an established connection was lost: the server terminated it (SQLSTATE
/// classes 08 and 57P: a restart, `pg_terminate_backend`) or its socket broke.
pub fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// Runs `attempt` — which must take a connection from `pool` and be harmless to repeat when its
/// connection was lost (a read, or a transaction's opening message: nothing of it can have committed)
/// — again while it fails because its connection was lost, until it meets one the pool opens anew
/// (every pooled connection may be dead after a restart), and for no longer than the pool's acquire
/// timeout in all. A request never pays for connections the server closed while they sat idle.
pub async fn on_live_connection<T, E, Fut>(
    pool: &PgPool,
    lost: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut left = pool.options().get_max_connections() + 1;
    let until = tokio::time::Instant::now() + pool.options().get_acquire_timeout();
    loop {
        match attempt().await {
            Err(err) if left > 1 && lost(&err) && tokio::time::Instant::now() < until => {
                tracing::debug!("a pooled connection was closed by the server; trying another");
                left -= 1;
            }
            result => return result,
        }
    }
}
