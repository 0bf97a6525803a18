//! Settings: `config/base.toml`, then `config/<environment>.toml`, then `APP_SECTION__KEY` environment
//! variables. An unknown key or environment is a boot error; secrets are `SecretString` and never logged.

use std::{net::IpAddr, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Local,
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Local => "local",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }

    /// Local and test bootstrap their database, roles and keys; production never does.
    pub fn bootstraps(self) -> bool {
        !matches!(self, Environment::Production)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub mail: MailSettings,
    pub auth: AuthSettings,
    pub crypto: CryptoSettings,
    pub authz: AuthzSettings,
    pub tenancy: TenancySettings,
    pub jobs: JobsSettings,
    pub sso: SsoSettings,
    pub imports: ImportSettings,
    pub workspaces: WorkspaceSettings,
    pub audit: AuditSettings,
    pub plans: PlansSettings,
    pub usage: UsageSettings,
    pub telemetry: TelemetrySettings,
    pub metrics: MetricsSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Tenants live one label under this domain: `acme.<base_domain>`.
    pub base_domain: String,
    /// The port clients reach, for links in mails and API answers (behind a proxy on a non-standard
    /// port). Unset: the scheme's default in production, the bound port elsewhere.
    #[serde(default)]
    pub public_port: Option<u16>,
    /// Peers whose `X-Forwarded-For` is believed. Comma-separated in the environment form.
    #[serde(deserialize_with = "list_of_networks")]
    pub trusted_proxies: Vec<IpNet>,
    /// Largest accepted JSON body, in bytes.
    pub max_body_bytes: usize,
    /// Seconds a client may take to send a request body (408 after).
    pub body_timeout_secs: u64,
    /// Milliseconds a client may take to send a request's head once it starts (408 and the connection
    /// closed after), so slow or stalled clients cannot hold connections open.
    pub head_timeout_ms: u64,
    /// On SIGTERM, how long requests in flight may take to finish before the server stops anyway.
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Where the generated local secrets (JWT keys) are kept in `local`.
    pub var_dir: String,
    /// Send Strict-Transport-Security (production: clients reach us over HTTPS at the balancer).
    pub hsts: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// A superuser URL used only to bootstrap (create the database and the roles) in local and test.
    pub admin_url: SecretString,
    pub name: String,
    /// The app role's URL; derived from `admin_url` and `name` when unset (local and test only).
    pub url: Option<SecretString>,
    /// The owner role's URL, for migrations; derived like `url` when unset.
    pub owner_url: Option<SecretString>,
    /// The worker role's URL (claims jobs across tenants); derived like `url` when unset.
    pub worker_url: Option<SecretString>,
    /// Password given to the derived role URLs and set on the roles when bootstrapping.
    pub local_role_password: SecretString,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it is answered 503
    /// `database_unavailable` (2 s: an outage fails fast instead of piling up requests).
    pub acquire_timeout_ms: u64,
    /// Audit partitions made ahead of time, in months.
    pub audit_partitions_ahead: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: SecretString,
    /// Prefixes every key and pub/sub channel, so parallel installs (and test runs) never hear each other.
    pub key_prefix: String,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub smtp_url: Option<SecretString>,
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `kid:base64url(32-byte Ed25519 seed)`, comma-separated; the first signs, all verify.
    pub jwt_keys: Option<SecretString>,
    pub issuer: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    /// Absolute session lifetime; refresh tokens never outlive it.
    pub session_ttl_hours: i64,
    pub login_ip_limit: u32,
    pub login_ip_window_secs: u64,
    pub login_account_limit: u32,
    pub login_account_window_secs: u64,
    /// How long a password-reset link works.
    pub password_reset_ttl_minutes: i64,
    /// Reset requests per account (and, separately, per IP) per window.
    pub password_reset_limit: u32,
    pub password_reset_window_secs: u64,
    /// Argon2id memory cost in KiB, iterations and lanes.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoSettings {
    /// AES-GCM keys for secrets at rest, `kid:base64url(32 bytes)`, comma-separated.
    pub keys: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Ed25519 seeds that sign the chain's digests, `kid:base64url(32 bytes)`, comma-separated, newest
    /// first (a key ring, like `auth.jwt_keys`).
    pub signing_keys: Option<SecretString>,
    /// Events chained per tenant transaction of the sealer.
    pub seal_batch: i64,
    /// A chain head is signed at most this often (and only when it moved).
    pub digest_interval_secs: i64,
    /// An event dated this long before events already sealed was not written by a live transaction of
    /// the application: it is sealed, marked late, and verification reports it as inserted.
    pub seal_grace_secs: i64,
    /// How often the worker applies each organization's retention (and makes audit partitions ahead).
    pub retention_interval_secs: u64,
    /// Events per POST to an organization's log stream.
    pub stream_batch: i64,
    /// How long a stream's receiver may take to answer.
    pub stream_timeout_secs: u64,
    /// After a failed delivery the stream waits `base * 2^(failures-1)` seconds, at most `max`.
    pub stream_backoff_base_secs: u64,
    pub stream_backoff_max_secs: u64,
    /// Stream URLs on plain http, or on loopback and private addresses: development and tests only.
    pub allow_insecure_stream_urls: bool,
}

/// The plans' limits and features (`crate::tenancy::plan`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlansSettings {
    pub free: crate::tenancy::plan::PlanSettings,
    pub pro: crate::tenancy::plan::PlanSettings,
    pub enterprise: crate::tenancy::plan::PlanSettings,
}

/// Usage analytics (`crate::modules::analytics`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSettings {
    /// Record usage at all (requests and feature events).
    pub capture: bool,
    /// Events held in memory before they are written; when full, new events are dropped and counted.
    pub buffer: usize,
    /// The buffer is written at least this often, and whenever it holds `flush_batch` events.
    pub flush_interval_ms: u64,
    pub flush_batch: usize,
    /// Raw usage is kept this many days (whole daily partitions are dropped); roll-ups stay.
    pub retention_days: i32,
    /// Daily partitions made ahead of time.
    pub partitions_ahead_days: i32,
    /// How often the worker rolls up the current and unfinished days.
    pub rollup_interval_secs: u64,
    /// Breakdowns by department show no group of fewer people (k-anonymity).
    pub min_group_size: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthzSettings {
    pub policy_dir: String,
    /// Most tenant enforcers kept in memory at once.
    pub cache_capacity: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenancySettings {
    /// How long a resolved tenant (and its enforcer) is trusted while pub/sub invalidation works.
    pub cache_ttl_secs: u64,
    /// How long while pub/sub is down: cached entries live at most this long.
    pub degraded_ttl_ms: u64,
    pub cache_capacity: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSettings {
    /// How often a live activity stream reads the feed without being woken (Redis down, or a wake-up
    /// lost): the most an entry waits then.
    pub live_poll_ms: u64,
    /// How long a viewer counts as present after they last said so.
    pub presence_ttl_secs: u64,
    /// How long one activity stream stays open; the client reconnects (`Last-Event-ID`) and is
    /// authenticated again.
    pub stream_max_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// The largest CSV file accepted; a larger upload is refused as soon as its size is known.
    pub max_upload_bytes: u64,
    /// The most rows (besides the header) a file may hold; one more and the upload is refused (422
    /// `too_many_rows`) and nothing is kept.
    pub max_rows: usize,
    /// Rows per transaction when an import is processed (each chunk commits with its checkpoint).
    pub chunk_rows: usize,
    /// Where uploads are spooled while they are read (the system's temporary directory when empty).
    pub spool_dir: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    /// Issuers on plain http, or on loopback and private addresses: development and tests only. In
    /// production the provider client speaks https to public addresses alone.
    pub allow_insecure_issuers: bool,
    /// How long a request to an identity provider may take.
    pub http_timeout_secs: u64,
    /// How long a provider's discovery document and keys are reused.
    pub metadata_ttl_secs: u64,
    /// How long a sign-in may take between the redirect to the provider and the callback.
    pub state_ttl_secs: u64,
    /// Leeway for the provider's clock on ID token times.
    pub clock_skew_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsSettings {
    /// `trellis serve` runs the worker in-process; `trellis worker` runs it alone.
    pub in_process: bool,
    /// How long a claimed job is the worker's; a heartbeat extends it while the job runs.
    pub lease_secs: u64,
    pub poll_interval_ms: u64,
    /// Jobs run (one claimed at a time) before the worker checks for shutdown and pruning again.
    pub batch: i64,
    /// Retry n waits `backoff_base_secs * 2^(n-1)`, at most `backoff_max_secs`.
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// Finished (succeeded) jobs are deleted after this many days; dead ones stay for inspection.
    pub retention_days: i64,
}

/// `GET /metrics` (Prometheus text format; docs/operations.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    pub enabled: bool,
    /// Also answer on organizations' hosts (off: there it is a 404, like a missing route).
    pub tenant_hosts: bool,
    /// When set, scrapes must send `Authorization: Bearer <token>`.
    #[serde(default)]
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `pretty` or `json`.
    pub format: String,
    /// An `EnvFilter` directive; `RUST_LOG` wins when set.
    pub level: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads `base.toml`, the overlay of `APP_ENVIRONMENT` (default `local`) and `APP_*` overrides.
    pub fn load(config_dir: &Path) -> Result<Settings, ConfigError> {
        let environment = std::env::var("APP_ENVIRONMENT").unwrap_or_else(|_| "local".into());
        Self::load_for(config_dir, &environment, true)
    }

    /// Loads one environment's settings; `with_env` adds the `APP_*` overrides (tests leave them out).
    pub fn load_for(
        config_dir: &Path,
        environment: &str,
        with_env: bool,
    ) -> Result<Settings, ConfigError> {
        if !["local", "test", "production"].contains(&environment) {
            return Err(ConfigError::Invalid(format!(
                "unknown environment {environment:?}: use local, test or production"
            )));
        }
        let mut figment = Figment::new()
            .merge(Toml::file_exact(config_dir.join("base.toml")))
            .merge(Toml::file_exact(
                config_dir.join(format!("{environment}.toml")),
            ))
            .merge(("environment", environment));
        if with_env {
            figment = figment.merge(Env::prefixed("APP_").split("__"));
        }
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.environment == Environment::Production {
            for (key, value) in [
                ("APP_DATABASE__URL", self.database.url.is_some()),
                ("APP_DATABASE__OWNER_URL", self.database.owner_url.is_some()),
                (
                    "APP_DATABASE__WORKER_URL",
                    self.database.worker_url.is_some(),
                ),
                ("APP_AUTH__JWT_KEYS", self.auth.jwt_keys.is_some()),
                ("APP_CRYPTO__KEYS", self.crypto.keys.is_some()),
                ("APP_AUDIT__SIGNING_KEYS", self.audit.signing_keys.is_some()),
                // Without it mail would only be logged: invitations and resets never arrive.
                ("APP_MAIL__SMTP_URL", self.mail.smtp_url.is_some()),
            ] {
                if !value {
                    return Err(ConfigError::Invalid(format!(
                        "{key} must be set in production"
                    )));
                }
            }
        }
        if self
            .metrics
            .token
            .as_ref()
            .is_some_and(|token| token.expose_secret().len() < 16)
        {
            return Err(ConfigError::Invalid(
                "metrics.token must be at least 16 characters (unset it to scrape without one)"
                    .into(),
            ));
        }
        // Outside development the endpoint answers on the base domain, which is public: a scraper
        // must authenticate, or the operator turns it off.
        if self.environment == Environment::Production
            && self.metrics.enabled
            && self.metrics.token.is_none()
        {
            return Err(ConfigError::Invalid(
                "APP_METRICS__TOKEN must be set in production (or APP_METRICS__ENABLED=false)"
                    .into(),
            ));
        }
        if self.server.base_domain.is_empty() || self.server.base_domain.starts_with('.') {
            return Err(ConfigError::Invalid(
                "server.base_domain must be a domain like `localhost` or `trellis.example`".into(),
            ));
        }
        Ok(())
    }
}

impl DatabaseSettings {
    /// The app role's connection URL.
    pub fn app_url(&self) -> Result<SecretString, ConfigError> {
        self.role_url(self.url.as_ref(), migration::APP_ROLE)
    }

    /// The owner role's connection URL (migrations, partitions, tenant provisioning).
    pub fn owner_url(&self) -> Result<SecretString, ConfigError> {
        self.role_url(self.owner_url.as_ref(), migration::OWNER_ROLE)
    }

    /// The worker role's URL (the job queue).
    pub fn worker_url(&self) -> Result<SecretString, ConfigError> {
        self.role_url(self.worker_url.as_ref(), migration::WORKER_ROLE)
    }

    /// The admin URL pointed at the app database (bootstrap work inside it).
    pub fn admin_url_for_database(&self) -> Result<SecretString, ConfigError> {
        let mut url = self.parsed_admin_url()?;
        url.set_path(&format!("/{}", self.name));
        Ok(SecretString::from(url.to_string()))
    }

    fn role_url(
        &self,
        explicit: Option<&SecretString>,
        role: &str,
    ) -> Result<SecretString, ConfigError> {
        if let Some(url) = explicit {
            return Ok(url.clone());
        }
        let mut url = self.parsed_admin_url()?;
        url.set_path(&format!("/{}", self.name));
        let invalid = |_| ConfigError::Invalid("database.admin_url cannot carry a user".into());
        url.set_username(role).map_err(invalid)?;
        url.set_password(Some(self.local_role_password.expose_secret()))
            .map_err(invalid)?;
        Ok(SecretString::from(url.to_string()))
    }

    fn parsed_admin_url(&self) -> Result<Url, ConfigError> {
        Url::parse(self.admin_url.expose_secret())
            .map_err(|e| ConfigError::Invalid(format!("database.admin_url: {e}")))
    }
}

impl ServerSettings {
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

/// Accepts a TOML list or a comma-separated string of IPs and networks.
fn list_of_networks<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        One(String),
    }
    let items = match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    };
    items
        .iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("not an IP or network: {item}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    #[test]
    fn every_environment_loads() {
        for env in ["local", "test"] {
            let settings = Settings::load_for(&dir(), env, false).unwrap();
            assert_eq!(settings.environment.as_str(), env);
        }
    }

    #[test]
    fn production_requires_explicit_urls_and_keys() {
        let err = Settings::load_for(&dir(), "production", false).unwrap_err();
        assert!(
            err.to_string().contains("must be set in production"),
            "{err}"
        );
    }

    #[test]
    fn production_requires_an_smtp_server_and_a_metrics_token() {
        let mut settings = Settings::load_for(&dir(), "local", false).unwrap();
        settings.environment = Environment::Production;
        let secret = || Some(SecretString::from("set"));
        settings.database.url = secret();
        settings.database.owner_url = secret();
        settings.database.worker_url = secret();
        settings.auth.jwt_keys = secret();
        settings.crypto.keys = secret();
        settings.audit.signing_keys = secret();
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("APP_MAIL__SMTP_URL"), "{err}");
        settings.mail.smtp_url = Some(SecretString::from("smtp://127.0.0.1:25"));
        // Metrics on the public base domain need a scraper's token (or metrics off).
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("APP_METRICS__TOKEN"), "{err}");
        settings.metrics.token = Some(SecretString::from("short"));
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("at least 16 characters"), "{err}");
        settings.metrics.token = Some(SecretString::from("a-long-scrape-secret"));
        settings.validate().unwrap();
        settings.metrics.token = None;
        settings.metrics.enabled = false;
        settings.validate().unwrap();
    }

    #[test]
    fn unknown_environment_is_an_error() {
        assert!(Settings::load_for(&dir(), "staging", false).is_err());
    }

    #[test]
    fn derived_role_urls_use_the_role_and_database() {
        let settings = Settings::load_for(&dir(), "local", false).unwrap();
        let url = settings.database.app_url().unwrap();
        let url = Url::parse(url.expose_secret()).unwrap();
        assert_eq!(url.username(), "trellis_app");
        assert_eq!(url.path(), "/trellis");
    }

    #[test]
    fn trusted_proxies_accept_comma_separated_networks() {
        let settings: Vec<IpNet> = list_of_networks(serde::de::value::StrDeserializer::<
            serde::de::value::Error,
        >::new("10.0.0.0/8, 127.0.0.1"))
        .unwrap();
        assert_eq!(settings.len(), 2);
        assert!(settings[1].contains(&"127.0.0.1".parse::<IpAddr>().unwrap()));
    }
}
