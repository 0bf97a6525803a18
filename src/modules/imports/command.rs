//! `trellis import --tenant acme --file people.csv --mode upsert [--dry-run]`: the same import as the
//! API (upload, dry run, commit, the chunked job), for big initial loads by an operator. It acts as the
//! organization (`system` in the audit log, with an owner's permissions), prints the validation report
//! as a table, and runs the job itself with a progress bar. A worker that picks the queued job up
//! meanwhile shares the work safely: each chunk locks the import and starts after its checkpoint.

use std::{
    io::{Read, Seek, SeekFrom},
    path::PathBuf,
    sync::Arc,
};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    process::{self, Progress},
    service::{self, CommitRequest},
    upload::Spooled,
    validate::Mode,
};
use crate::{
    audit::AuditCtx,
    auth::principal::{Principal, Subject},
    authz::Authz,
    clock::{SharedClock, SystemClock},
    config::{Environment, Settings},
    coordination::BusHealth,
    crypto::Crypto,
    db,
    domain::TenantSlug,
    http::context::RequestContext,
    startup::{Ring, key_ring},
    tenancy::{TenantDirectory, TenantTx},
};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The organization's slug.
    #[arg(long)]
    pub tenant: String,
    /// The CSV file.
    #[arg(long)]
    pub file: PathBuf,
    /// `create_only`, `upsert` or `sync`.
    #[arg(long, default_value = "upsert")]
    pub mode: String,
    /// Validate and print the report; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Mail each new member an invitation.
    #[arg(long)]
    pub send_invitations: bool,
    /// For `sync`: the number of members it may deactivate (the report's count).
    #[arg(long)]
    pub confirm_deactivations: Option<i64>,
    /// Import the good rows and leave the refused ones.
    #[arg(long)]
    pub skip_error_rows: bool,
}

pub async fn run(settings: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    let mode = Mode::parse(&args.mode).context("--mode must be create_only, upsert or sync")?;
    let pool = db::connect_app_pool(&settings.database, &settings.database.app_url()?).await?;
    let slug = TenantSlug::parse(&args.tenant).map_err(|e| anyhow::anyhow!("--tenant {e}"))?;
    let tenant = TenantDirectory::new(pool.clone(), &settings.tenancy, BusHealth::default())
        .resolve(&slug)
        .await?
        .with_context(|| format!("no organization {slug}"))?;
    let crypto = Crypto::parse(&key_ring(settings, Ring::Crypto)?)?;
    let authz = Authz::load(&settings.authz, &settings.tenancy, BusHealth::default()).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let principal = Principal {
        tenant_id: tenant.id,
        subject: Subject::System {
            name: "trellis import (command line)".into(),
        },
        role: Some("owner".into()),
        scope: None,
    };
    let ctx = || AuditCtx {
        actor: principal.actor(),
        request: RequestContext::default(),
        now: clock.now(),
    };
    let spooled = spool(
        &args.file,
        settings.imports.max_upload_bytes,
        settings.imports.max_rows,
    )?;
    let tx = TenantTx::begin(&pool, tenant.id, None).await?;
    let import = service::create(&tx, &ctx(), &principal, spooled).await?;
    tx.commit().await?;
    let id = import.id;
    println!(
        "{}: {} rows, columns mapped: {}",
        import.file_name, import.total_rows, import.mapping
    );

    let tx = TenantTx::begin(&pool, tenant.id, None).await?;
    let validated = service::validate(&tx, &ctx(), &authz, &principal, &tenant, id, mode).await?;
    tx.commit().await?;
    print_report(validated.report.as_ref().unwrap_or(&Value::Null));
    if args.dry_run {
        println!("dry run: nothing was written (import {id})");
        return Ok(());
    }

    let scheme = if settings.environment == Environment::Production {
        "https"
    } else {
        "http"
    };
    let port = settings
        .server
        .public_port
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let invitation_url = format!(
        "{scheme}://{slug}.{}{port}/admin/accept-invitation#token=",
        settings.server.base_domain.trim_end_matches('.')
    );
    let request = CommitRequest {
        mode,
        send_invitations: args.send_invitations,
        confirm_deactivations: args.confirm_deactivations,
        skip_error_rows: args.skip_error_rows,
    };
    let chunk_rows = settings.imports.chunk_rows;
    let tx = TenantTx::begin(&pool, tenant.id, None).await?;
    let committed = service::commit(
        &tx,
        &ctx(),
        &authz,
        &principal,
        &tenant,
        id,
        request,
        chunk_rows,
        &invitation_url,
    )
    .await;
    let committed = match committed {
        Ok(import) => import,
        Err(error) => bail!("not committed: {error}"),
    };
    tx.commit().await?;
    if committed.state == "completed" {
        println!(
            "nothing to change: every row already matches ({})",
            committed.counts
        );
        return Ok(());
    }

    let payload = json!({
        "import_id": id,
        "chunk_rows": chunk_rows,
        "confirm_deactivations": args.confirm_deactivations,
        "invitation_url": args.send_invitations.then_some(invitation_url),
    });
    let bar = ProgressBar::new(committed.total_rows.max(0) as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}")
    {
        bar.set_style(style);
    }
    loop {
        let progress = process::run(
            &pool,
            &clock,
            &crypto,
            None,
            tenant.id,
            &payload,
            process::Extent::Chunks(1),
        )
        .await
        .map_err(|e| anyhow::anyhow!("the import stopped: {e}"))?;
        let tx = TenantTx::begin(&pool, tenant.id, None).await?;
        let now = service::get(&tx, id).await?;
        tx.commit().await?;
        bar.set_position(now.processed_rows.max(0) as u64);
        if progress == Progress::Finished {
            bar.finish();
            println!("{}: {}", now.state, now.counts);
            if let Some(error) = now.error {
                bail!("{error}");
            }
            return Ok(());
        }
    }
}

/// The file, hashed and measured (it is read from disk as the upload's spool would be).
fn spool(path: &PathBuf, limit: u64, max_rows: usize) -> anyhow::Result<Spooled> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bytes = file.metadata()?.len();
    if bytes > limit {
        bail!(
            "the file is larger than the limit of {} MB (imports.max_upload_bytes)",
            limit / (1024 * 1024)
        );
    }
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    file.seek(SeekFrom::Start(0))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(255).collect())
        .unwrap_or_else(|| "import.csv".into());
    Ok(Spooled {
        file,
        name,
        bytes,
        sha256: hasher.finalize().into(),
        mapping: None,
        csrf_token: None,
        max_rows,
    })
}

/// The report as a readable table.
fn print_report(report: &Value) {
    let counts = &report["counts"];
    println!(
        "\nvalidation ({} mode, {} rows)",
        report["mode"].as_str().unwrap_or("?"),
        report["rows"]
    );
    for key in ["create", "update", "unchanged", "error", "deactivate"] {
        println!("  {key:<11}{:>10}", counts[key].as_i64().unwrap_or(0));
    }
    let seats = &report["seats"];
    println!(
        "  seats      {:>10} of {} after the import{}",
        seats["after_import"],
        seats["limit"],
        if seats["ok"] == json!(true) {
            ""
        } else {
            "  (over the limit)"
        }
    );
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    if !errors.is_empty() {
        println!("\n  {:<7} {:<20} reason", "line", "column");
        for e in &errors {
            let column: String = e["column"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(20)
                .collect();
            println!(
                "  {:<7} {:<20} {}",
                e["line"],
                column,
                e["reason"].as_str().unwrap_or("")
            );
        }
        if counts["error"].as_i64().unwrap_or(0) > errors.len() as i64 {
            println!("  ... (all of them: GET /api/v1/imports/<id>/errors)");
        }
    }
    println!();
}
