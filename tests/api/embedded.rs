//! The embedded default: with no PostgreSQL answering, local mode starts a private cluster from the
//! installed server programs (as an unprivileged user when run as root) and bootstraps into it.

use secrecy::{ExposeSecret, SecretString};
use sqlx::Connection;
use trellis::{config::Environment, db::embedded};

use crate::helpers::test_settings;

/// Stops the cluster and removes its directory however the test ends.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = embedded::stop(&self.0.join("pg"));
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn local_mode_without_postgres_runs_a_private_cluster_and_migrates_it() {
    let var = std::env::temp_dir().join(format!(
        "trellis-embedded-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let _cleanup = Cleanup(var.clone());
    let mut settings = test_settings();
    settings.environment = Environment::Local;
    settings.server.var_dir = var.display().to_string();
    // A temporary port where nothing listens: the configured server "is not running".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    settings.database.admin_url =
        SecretString::from(format!("postgres://postgres@127.0.0.1:{port}/postgres"));

    let switched = embedded::use_private_cluster_if_needed(&mut settings)
        .await
        .unwrap();
    assert!(switched, "the private cluster was not used");
    let admin_url = settings.database.admin_url.expose_secret().to_owned();
    assert!(
        admin_url.contains("host=/"),
        "a Unix socket, not TCP: {admin_url}"
    );
    // The cluster trusts its socket, so nobody but its owner may reach it.
    use std::os::unix::fs::PermissionsExt;
    let socket_dir = var.join("pg").join("run");
    let mode = std::fs::metadata(&socket_dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "socket directory mode {mode:o}");
    let socket = std::fs::read_dir(&socket_dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name().to_string_lossy().starts_with(".s.PGSQL.")
                && !e.file_name().to_string_lossy().ends_with(".lock")
        })
        .expect("the cluster's socket");
    let mode = socket.metadata().unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "socket mode {mode:o}");
    let outcome = trellis::db::bootstrap(&settings).await.unwrap();
    assert!(outcome.database_created);

    let app_url = settings.database.app_url().unwrap();
    let mut app = sqlx::PgConnection::connect(app_url.expose_secret())
        .await
        .unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM seaql_migrations")
        .fetch_one(&mut app)
        .await
        .unwrap();
    assert!(applied >= 10, "{applied} migrations");
    let role: (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut app)
            .await
            .unwrap();
    assert_eq!(
        role,
        (false, false),
        "the app role in the private cluster is unprivileged too"
    );
    drop(app);

    // A second start finds the cluster running and reuses it.
    let again = embedded::start(&var.join("pg"), 5432).await.unwrap();
    assert_eq!(again.expose_secret(), admin_url);
    embedded::stop(&var.join("pg")).unwrap();
}
