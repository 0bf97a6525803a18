//! The `trellis` command line: `serve` (the default), `migrate`, `tenant create`, `seed-demo`,
//! `keys generate`, `import`. Every command reads the same settings, so each reaches the same database.

use std::{io::Read, path::Path, sync::Arc};

use sea_orm::ConnectionTrait;
use tokio::sync::watch;

use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::{
    audit::signing::DigestSigner,
    auth::password::{NewPassword, PasswordHasher},
    clock::{Clock, SystemClock},
    config::Settings,
    coordination::{RedisStore, bus},
    crypto::Crypto,
    db,
    domain::{DisplayName, Email, TenantSlug},
    keys,
    startup::{Application, Ring, job_worker, key_ring},
    tenancy::{
        plan::Plan,
        provision::{self, NewTenant, ProvisionError},
    },
};

#[derive(Debug, Parser)]
#[command(
    name = "trellis",
    version,
    about = "Trellis, the multi-tenant career platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (in local and test, bootstrap and migrate the database first).
    Serve,
    /// Create the database and roles if missing (local and test), then migrate as the owner role.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Run the job worker alone (mail, and later imports); `serve` runs one in-process by default.
    Worker,
    /// Create the demo organization `acme` (a few hundred people) if missing, and print how to sign in.
    SeedDemo,
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Import members from a CSV file (the same path as the API), with a progress bar.
    Import(crate::modules::imports::command::ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Provision a tenant with its first owner.
    Create(CreateTenantArgs),
    /// Change what the platform sets for a tenant: plan, seat limit, API rate limit, status.
    Update(UpdateTenantArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanArg {
    Free,
    Pro,
    Enterprise,
}

impl From<PlanArg> for Plan {
    fn from(plan: PlanArg) -> Plan {
        match plan {
            PlanArg::Free => Plan::Free,
            PlanArg::Pro => Plan::Pro,
            PlanArg::Enterprise => Plan::Enterprise,
        }
    }
}

#[derive(Debug, Args)]
pub struct UpdateTenantArgs {
    #[arg(long)]
    pub slug: String,
    /// Moves the tenant to this plan (and, unless --seat-limit is given, to the plan's seat limit).
    #[arg(long, value_enum)]
    pub plan: Option<PlanArg>,
    #[arg(long)]
    pub seat_limit: Option<i32>,
    /// API requests per minute for this tenant, instead of its plan's.
    #[arg(long, conflicts_with = "plan_rate_limit")]
    pub api_rate_limit: Option<i32>,
    /// Go back to the plan's API rate limit.
    #[arg(long)]
    pub plan_rate_limit: bool,
    #[arg(long, conflicts_with = "activate")]
    pub suspend: bool,
    #[arg(long)]
    pub activate: bool,
}

#[derive(Debug, Args)]
pub struct CreateTenantArgs {
    /// The subdomain label, e.g. `acme` for acme.<base domain>.
    #[arg(long)]
    pub slug: String,
    /// The organization's display name.
    #[arg(long)]
    pub name: String,
    /// The first owner's email address.
    #[arg(long)]
    pub admin_email: String,
    /// The owner's password (prefer --admin-password-stdin: arguments show in `ps`).
    #[arg(long, conflicts_with = "admin_password_stdin")]
    pub admin_password: Option<String>,
    /// Read the owner's password from standard input.
    #[arg(long)]
    pub admin_password_stdin: bool,
    /// The plan (its limits and features are configuration, `plans.*`).
    #[arg(long, value_enum, default_value = "enterprise")]
    pub plan: PlanArg,
    /// Seats the organization may use (default: the plan's).
    #[arg(long)]
    pub seat_limit: Option<i32>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new key `kid:secret` (for APP_AUTH__JWT_KEYS or APP_CRYPTO__KEYS).
    Generate {
        #[arg(long, default_value = "k1")]
        kid: String,
    },
    /// Put a new key first in a ring: it signs (or encrypts) from now on, the others still verify
    /// (or decrypt). Local: rewrites the ring's file under var/; elsewhere: prints the new value to set.
    Rotate {
        #[arg(long, value_enum)]
        ring: RingArg,
        /// The new key's id (default: `<jwt|aes>-<unix time>`).
        #[arg(long)]
        kid: Option<String>,
    },
    /// Drop an old key from a ring once nothing it made is needed (JWT: wait the access-token lifetime;
    /// AES: re-seal or let expire what it sealed).
    Retire {
        #[arg(long, value_enum)]
        ring: RingArg,
        #[arg(long)]
        kid: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RingArg {
    /// The JWT signing keys (auth.jwt_keys).
    Jwt,
    /// The keys for secrets at rest (crypto.keys).
    Crypto,
    /// The keys that sign the audit chain's digests (audit.signing_keys).
    Audit,
}

impl From<RingArg> for Ring {
    fn from(ring: RingArg) -> Ring {
        match ring {
            RingArg::Jwt => Ring::Jwt,
            RingArg::Crypto => Ring::Crypto,
            RingArg::Audit => Ring::Audit,
        }
    }
}

pub async fn run(cli: Cli, mut settings: Settings) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Keys(_)) {
        // Local development without a running PostgreSQL: a private cluster, if PostgreSQL is installed.
        db::embedded::use_private_cluster_if_needed(&mut settings).await?;
    }
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::Tenant(TenantCommand::Create(args)) => create_tenant(&settings, args).await,
        Command::Tenant(TenantCommand::Update(args)) => update_tenant(&settings, args).await,
        Command::Worker => run_worker(settings).await,
        Command::Import(args) => crate::modules::imports::command::run(&settings, args).await,
        Command::SeedDemo => seed_demo(&settings).await.map(|seed| seed.print()),
        Command::Keys(KeysCommand::Generate { kid }) => {
            println!("{}", keys::generate(&kid).expose_secret());
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { ring, kid }) => {
            let (name, _, prefix) = Ring::from(ring).names();
            let kid = kid.unwrap_or_else(|| keys::new_kid(prefix, SystemClock.now()));
            let current = key_ring(&settings, ring.into())?;
            let updated = keys::rotated(name, &current, &kid)?;
            save_ring(
                &settings,
                ring.into(),
                &updated,
                &format!("{kid} now signs/encrypts; the older keys still verify/decrypt"),
            )
        }
        Command::Keys(KeysCommand::Retire { ring, kid }) => {
            let (name, _, _) = Ring::from(ring).names();
            let current = key_ring(&settings, ring.into())?;
            let updated = keys::retired(name, &current, &kid)?;
            save_ring(&settings, ring.into(), &updated, &format!("{kid} retired"))
        }
    }
}

/// Writes a changed ring: the local file in `local` (restart the server to use it), else prints it.
fn save_ring(
    settings: &Settings,
    ring: Ring,
    spec: &secrecy::SecretString,
    done: &str,
) -> anyhow::Result<()> {
    let (name, file, _) = ring.names();
    if settings.environment == crate::config::Environment::Local
        && ring.configured(settings).is_none()
    {
        keys::write_local(name, Path::new(&settings.server.var_dir), file, spec)?;
        println!(
            "{done}; {}/{file} updated: restart trellis to use it",
            settings.server.var_dir
        );
    } else {
        println!("{done}. Set {} on every instance to:", ring.variable());
        println!("{}", spec.expose_secret());
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.environment.bootstraps() {
        let outcome = db::bootstrap(&settings).await?;
        if outcome.database_created {
            seed_demo(&settings).await?.print();
        }
    } else {
        let owner = db::connect_owner(&settings.database.owner_url()?).await?;
        db::bootstrap::ensure_audit_partitions(&owner, settings.database.audit_partitions_ahead)
            .await?;
    }
    let base = format!("{}:{}", settings.server.base_domain, settings.server.port);
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    tracing::info!(
        port = app.port(),
        "serving; tenants at http://<slug>.{base}"
    );
    app.stop_on_signal();
    app.run_until_stopped().await?;
    Ok(())
}

async fn run_worker(settings: Settings) -> anyhow::Result<()> {
    let crypto = Arc::new(Crypto::parse(&key_ring(&settings, Ring::Crypto)?)?);
    let signer = Arc::new(DigestSigner::parse(&key_ring(&settings, Ring::Audit)?)?);
    let worker = Arc::new(
        job_worker(
            &settings,
            Arc::new(SystemClock),
            crypto,
            signer,
            RedisStore::new(&settings.redis)?,
        )
        .await?,
    );
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(worker.run(stopped));
    crate::startup::shutdown_signal().await;
    let _ = stop.send(true);
    task.await?;
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    if settings.environment.bootstraps() {
        db::bootstrap(&settings).await?;
    } else {
        db::migrate(&settings).await?;
    }
    println!("database {} is migrated", settings.database.name);
    Ok(())
}

async fn create_tenant(settings: &Settings, args: CreateTenantArgs) -> anyhow::Result<()> {
    let password = match (args.admin_password, args.admin_password_stdin) {
        (Some(password), _) => password,
        (None, true) => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            input.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, false) => {
            let generated = crate::auth::service::random_token();
            println!("generated password for {}: {generated}", args.admin_email);
            generated
        }
    };
    let email =
        Email::parse(&args.admin_email).map_err(|m| anyhow::anyhow!("--admin-email {m}"))?;
    let new = NewTenant {
        slug: TenantSlug::parse_new(&args.slug).map_err(|m| anyhow::anyhow!("--slug {m}"))?,
        name: DisplayName::parse(&args.name).map_err(|m| anyhow::anyhow!("--name {m}"))?,
        admin_password: NewPassword::parse(&password, email.as_str())
            .map_err(|m| anyhow::anyhow!("the password {m}"))?,
        admin_email: email,
        plan: args.plan.into(),
        seat_limit: args
            .seat_limit
            .unwrap_or(settings.plans.of(args.plan.into()).seat_limit)
            .max(1),
    };
    let slug = new.slug.clone();
    let created = provision_tenant(settings, new).await?;
    println!(
        "tenant {slug} created (id {}), owner id {}: http://{slug}.{}:{}",
        created.tenant_id, created.owner_id, settings.server.base_domain, settings.server.port
    );
    Ok(())
}

async fn update_tenant(settings: &Settings, args: UpdateTenantArgs) -> anyhow::Result<()> {
    let slug = TenantSlug::parse(&args.slug).map_err(|m| anyhow::anyhow!("--slug {m}"))?;
    if let Some(seats) = args.seat_limit
        && seats < 0
    {
        anyhow::bail!("--seat-limit must be 0 or more");
    }
    if let Some(limit) = args.api_rate_limit
        && !(1..=1_000_000).contains(&limit)
    {
        anyhow::bail!("--api-rate-limit must be 1 to 1000000 requests per minute");
    }
    let plan: Option<Plan> = args.plan.map(Into::into);
    let change = provision::TenantChange {
        plan,
        seat_limit: args
            .seat_limit
            .or(plan.map(|p| settings.plans.of(p).seat_limit)),
        api_rate_limit: match (args.api_rate_limit, args.plan_rate_limit) {
            (Some(limit), _) => Some(Some(limit)),
            (None, true) => Some(None),
            (None, false) => None,
        },
        suspended: match (args.suspend, args.activate) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
    };
    let owner = db::connect_owner(&settings.database.owner_url()?).await?;
    let result = provision::update_tenant(
        &owner,
        SystemClock.now(),
        &slug,
        &change,
        "trellis tenant update",
    )
    .await;
    let _ = owner.close().await;
    result?;
    let store = RedisStore::new(&settings.redis)?;
    bus::announce(
        &store,
        &bus::Invalidation::Tenant {
            slug: slug.to_string(),
        },
    )
    .await;
    println!("tenant {slug} updated");
    Ok(())
}

/// Creates `acme` with a random owner password, printed once; does nothing if it exists.
/// What seeding the demo organization did.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub url: String,
    /// The password of the accounts this run created (the owner when `created`, the others when `added`).
    pub password: String,
    pub created: bool,
    pub added: usize,
}

impl DemoSeed {
    pub fn print(&self) {
        println!("demo organization acme is at {}", self.url);
        if self.created {
            println!("  owner: owner@acme.localhost  password: {}", self.password);
        }
        if self.added > 0 {
            println!(
                "  {} people added; these sign in with the password {}:",
                self.added, self.password
            );
            for (account, role) in crate::demo::SIGN_IN_ACCOUNTS.iter().skip(1) {
                println!("    {account} ({role})");
            }
        } else if !self.created {
            println!("  it already has its people; nothing changed");
        }
    }
}

/// Creates the demo organization `acme` if it does not exist and fills it with its demo people if it
/// has none.
pub async fn seed_demo(settings: &Settings) -> anyhow::Result<DemoSeed> {
    let email = "owner@acme.localhost";
    let password = crate::auth::service::random_token();
    let new = NewTenant {
        slug: TenantSlug::parse_new("acme").map_err(anyhow::Error::msg)?,
        name: DisplayName::parse("Acme Corporation").map_err(anyhow::Error::msg)?,
        admin_email: Email::parse(email).map_err(anyhow::Error::msg)?,
        admin_password: NewPassword::parse(&password, email).map_err(anyhow::Error::msg)?,
        plan: Plan::Enterprise,
        seat_limit: 500,
    };
    let url = format!(
        "http://acme.{}:{}",
        settings.server.base_domain, settings.server.port
    );
    let (tenant_id, owner_id, created) = match provision_tenant(settings, new).await {
        Ok(created) => (created.tenant_id, created.owner_id, true),
        Err(e) if matches!(e.downcast_ref(), Some(ProvisionError::SlugTaken(_))) => {
            let (tenant, owner) = existing_demo(settings, email).await?;
            (tenant, owner, false)
        }
        Err(e) => return Err(e),
    };
    let owner = db::connect_owner(&settings.database.owner_url()?).await?;
    let hash = PasswordHasher::new(&settings.auth)?
        .hash(&secrecy::SecretString::from(password.clone()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let added = crate::demo::populate(
        &owner,
        tenant_id,
        owner_id.as_uuid(),
        &hash,
        SystemClock.now(),
    )
    .await?;
    let _ = owner.close().await;
    Ok(DemoSeed {
        url,
        password,
        created,
        added,
    })
}

/// The demo organization's id and its owner's, when it exists already.
async fn existing_demo(
    settings: &Settings,
    email: &str,
) -> anyhow::Result<(crate::domain::TenantId, crate::domain::UserId)> {
    let owner = db::connect_owner(&settings.database.owner_url()?).await?;
    let row = owner
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT t.id AS tenant_id, u.id AS user_id FROM tenants t \
             JOIN users u ON u.tenant_id = t.id AND u.email = $1 WHERE t.slug = 'acme'",
            [email.into()],
        ))
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("the tenant acme exists but has no {email}: not the demo organization")
        })?;
    let _ = owner.close().await;
    Ok((
        crate::domain::TenantId::from_uuid(row.try_get("", "tenant_id")?),
        crate::domain::UserId::from_uuid(row.try_get("", "user_id")?),
    ))
}

async fn provision_tenant(
    settings: &Settings,
    new: NewTenant,
) -> anyhow::Result<provision::CreatedTenant> {
    let owner = db::connect_owner(&settings.database.owner_url()?).await?;
    let passwords = PasswordHasher::new(&settings.auth)?;
    let slug = new.slug.to_string();
    let created = provision::create_tenant(&owner, &passwords, SystemClock.now(), new).await?;
    // Instances may have cached "no such tenant" for this slug.
    let store = RedisStore::new(&settings.redis)?;
    bus::announce(&store, &bus::Invalidation::Tenant { slug }).await;
    Ok(created)
}

/// Loads settings from `./config` (the working directory), as every command does.
pub fn load_settings() -> anyhow::Result<Settings> {
    Ok(Settings::load(Path::new("config"))?)
}
