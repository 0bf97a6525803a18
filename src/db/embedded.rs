//! The embedded default for local development: when no PostgreSQL answers at `database.admin_url` but
//! PostgreSQL's server programs are installed (`initdb` and `pg_ctl` on the PATH or under
//! `/usr/lib/postgresql/*/bin`), Trellis runs a private cluster in `<var_dir>/pg`, listening only on a
//! Unix socket there, and uses it. `initdb` refuses to run as root, so as root the cluster belongs to an
//! unprivileged system user (`postgres` if it exists, else `nobody`). The cluster keeps running after
//! Trellis exits and is reused next time; `pg_ctl -D var/pg/data stop` stops it.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgConnection};

use crate::config::{Environment, Settings};

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL answers at database.admin_url and no PostgreSQL server programs (initdb, pg_ctl) are \
         installed: start PostgreSQL, set APP_DATABASE__ADMIN_URL, or install PostgreSQL 15+"
    )]
    NotInstalled,
    #[error("{step} failed: {detail}")]
    Command { step: &'static str, detail: String },
    #[error("the private cluster: {0}")]
    Io(#[from] std::io::Error),
}

/// In `local`, when the configured server does not answer, switches `settings` to a private cluster
/// (started if needed). Elsewhere, or when the server answers, changes nothing.
pub async fn use_private_cluster_if_needed(settings: &mut Settings) -> Result<bool, EmbeddedError> {
    if settings.environment != Environment::Local
        || settings.database.url.is_some()
        || answers(&settings.database.admin_url).await
    {
        return Ok(false);
    }
    let dir = Path::new(&settings.server.var_dir).join("pg");
    let url = start(&dir, 5432).await?;
    tracing::warn!(
        cluster = %dir.display(),
        "no PostgreSQL at database.admin_url: using a private cluster on a Unix socket"
    );
    settings.database.admin_url = url;
    Ok(true)
}

async fn answers(url: &SecretString) -> bool {
    let attempt = PgConnection::connect(url.expose_secret());
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}

/// Starts (creating it on first use) a private cluster in `dir`, its socket named for `port`, and
/// returns a superuser URL for it.
pub async fn start(dir: &Path, port: u16) -> Result<SecretString, EmbeddedError> {
    let bin = server_programs().ok_or(EmbeddedError::NotInstalled)?;
    let dir = std::path::absolute(dir)?;
    let data = dir.join("data");
    let socket = dir.join("run");
    std::fs::create_dir_all(&socket)?;
    // The cluster trusts whoever reaches its socket, so only its owner (and root) may: the directory
    // and the socket are private.
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let owner = unprivileged_owner();
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
        std::os::unix::fs::chown(&socket, Some(uid), Some(gid))?;
    }
    if !data.join("PG_VERSION").exists() {
        run(
            "initdb",
            owner,
            bin.join("initdb"),
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
        )?;
    }
    let running = run(
        "pg_ctl status",
        owner,
        bin.join("pg_ctl"),
        &["-D", &data.display().to_string(), "status"],
    )
    .is_ok();
    if !running {
        let options = format!(
            "-c listen_addresses='' -c unix_socket_permissions=0700 -k {} -p {port}",
            socket.display()
        );
        run(
            "pg_ctl start",
            owner,
            bin.join("pg_ctl"),
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &dir.join("server.log").display().to_string(),
                "-w",
                "-o",
                &options,
                "start",
            ],
        )?;
    }
    Ok(SecretString::from(format!(
        "postgres://postgres@localhost/postgres?host={}&port={port}",
        socket.display()
    )))
}

/// Stops the private cluster in `dir`.
pub fn stop(dir: &Path) -> Result<(), EmbeddedError> {
    let bin = server_programs().ok_or(EmbeddedError::NotInstalled)?;
    let data = std::path::absolute(dir)?.join("data");
    run(
        "pg_ctl stop",
        unprivileged_owner(),
        bin.join("pg_ctl"),
        &["-D", &data.display().to_string(), "-m", "fast", "stop"],
    )
}

/// The directory holding `initdb` and `pg_ctl`: the PATH's, else the newest under /usr/lib/postgresql.
fn server_programs() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = entry.path().join("bin");
                (version >= 15 && bin.join("initdb").is_file()).then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

/// As root: the uid and gid of the system user that will own the cluster.
fn unprivileged_owner() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    ["postgres", "nobody"].iter().find_map(|user| {
        let uid = Command::new("id").args(["-u", user]).output().ok()?;
        let gid = Command::new("id").args(["-g", user]).output().ok()?;
        if !uid.status.success() {
            return None;
        }
        Some((
            String::from_utf8_lossy(&uid.stdout).trim().parse().ok()?,
            String::from_utf8_lossy(&gid.stdout).trim().parse().ok()?,
        ))
    })
}

fn run(
    step: &'static str,
    owner: Option<(u32, u32)>,
    program: PathBuf,
    args: &[&str],
) -> Result<(), EmbeddedError> {
    let mut command = match owner {
        // `setpriv` drops to the owner without a login shell or PAM.
        Some((uid, gid)) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg(program);
            command
        }
        None => Command::new(program),
    };
    let output = command
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .current_dir("/")
        .output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(EmbeddedError::Command {
            step,
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .trim()
            .to_owned(),
        })
    }
}
