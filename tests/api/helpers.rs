//! The test harness: `spawn_app()` gives each test its own database (cloned from a migrated template),
//! a random port and a random Redis key prefix, and a `TestApp` with typed helpers. HTTP goes to
//! 127.0.0.1 with the tenant in the Host header; the server connects as `trellis_app`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool, postgres::PgPoolOptions};
use trellis::{
    auth::{JwtKeys, password::NewPassword, password::PasswordHasher},
    clock::FixedClock,
    config::Settings,
    domain::{DisplayName, Email, TenantId, TenantSlug, UserId},
    jobs::worker::Worker,
    tenancy::provision::{self, NewTenant},
    {startup::Application, state::AppState},
};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub port: u16,
    /// The job worker; tests drain the queue with `worker.run_once()`.
    pub worker: Arc<Worker>,
    pub settings: Settings,
    pub state: actix_web::web::Data<AppState>,
    pub clock: FixedClock,
    pub jwt_spec: SecretString,
    pub client: reqwest::Client,
    db_name: String,
    server: actix_web::dev::ServerHandle,
}

#[derive(Debug, Clone)]
pub struct TestTenant {
    pub id: TenantId,
    pub slug: String,
    pub owner: TestUser,
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: UserId,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
}

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// The test settings, before the per-test database, port and prefix are set.
pub fn test_settings() -> Settings {
    let mut settings =
        Settings::load_for(&config_dir(), "test", false).expect("config/test.toml loads");
    settings.authz.policy_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .display()
        .to_string();
    // Tests may point at another server, as CI and the README's command do.
    if let Ok(url) = std::env::var("APP_DATABASE__ADMIN_URL") {
        settings.database.admin_url = SecretString::from(url);
    }
    if let Ok(url) = std::env::var("APP_REDIS__URL") {
        settings.redis.url = SecretString::from(url);
    }
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns an app on a fresh database; `customise` may change the settings first.
pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    let template = ensure_template(&settings).await;
    let db_name = format!("trellis_test_{}", Uuid::new_v4().simple());
    clone_database(&settings, &template, &db_name).await;
    settings.database.name = db_name.clone();
    settings.redis.key_prefix = format!("trellis_test_{}", Uuid::new_v4().simple());
    let jwt_spec = JwtKeys::generate_spec("test1");
    settings.auth.jwt_keys = Some(jwt_spec.clone());
    settings.crypto.keys = Some(trellis::keys::generate("aes-test"));
    settings.audit.signing_keys = Some(trellis::keys::generate("audit-test"));
    customise(&mut settings);
    spawn_on(settings, db_name, jwt_spec).await
}

/// A second instance on the same database and Redis prefix as `app` (cross-instance tests).
pub async fn spawn_peer(app: &TestApp) -> TestApp {
    spawn_peer_with(app, |_| {}).await
}

/// Another instance on `app`'s database and Redis prefix, with settings changed by `customise`.
pub async fn spawn_peer_with(app: &TestApp, customise: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = app.settings.clone();
    settings.database.name = app.db_name.clone();
    customise(&mut settings);
    let jwt_spec = settings
        .auth
        .jwt_keys
        .clone()
        .unwrap_or_else(|| app.jwt_spec.clone());
    let mut peer = spawn_on(settings, String::new(), jwt_spec).await;
    peer.db_name = String::new(); // the first instance drops the database
    peer
}

async fn spawn_on(settings: Settings, db_name: String, jwt_spec: SecretString) -> TestApp {
    trellis::telemetry::init(&settings.telemetry);
    let clock = FixedClock::at(trellis::clock::Clock::now(&trellis::clock::SystemClock));
    let app = Application::build(settings.clone(), Arc::new(clock.clone()))
        .await
        .expect("the application builds");
    let port = app.port();
    let state = app.state();
    let worker = app.worker();
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        port,
        worker,
        settings,
        state,
        clock,
        jwt_spec,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap(),
        db_name,
        server,
    }
}

/// The migrated template database for this version of the migrations, made once for all tests.
async fn ensure_template(settings: &Settings) -> String {
    let mut hasher = Sha256::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("migration/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root.join("src/db/bootstrap.rs"));
    files.sort();
    for file in files {
        hasher.update(std::fs::read(&file).unwrap());
    }
    let template = format!("trellis_tpl_{}", &hex(&hasher.finalize())[..16]);

    let mut admin = PgConnection::connect(settings.database.admin_url.expose_secret())
        .await
        .expect("PostgreSQL answers at APP_DATABASE__ADMIN_URL");
    sqlx::query("SELECT pg_advisory_lock(hashtext('trellis.test_template'))")
        .execute(&mut admin)
        .await
        .unwrap();
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut admin)
        .await
        .unwrap()
        .is_some();
    if !exists {
        let mut template_settings = settings.clone();
        template_settings.database.name = template.clone();
        let result = trellis::db::bootstrap(&template_settings).await;
        if let Err(error) = result {
            // Leave nothing half-made behind for the next run.
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
            panic!("cannot build the template database: {error}");
        }
        // Templates of older migrations are no longer cloned: drop those nobody is using.
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database d WHERE datname LIKE 'trellis\\_tpl\\_%' AND datname <> $1 \
             AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
        )
        .bind(&template)
        .fetch_all(&mut admin)
        .await
        .unwrap_or_default();
        for name in stale {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\""
            )))
            .execute(&mut admin)
            .await;
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(hashtext('trellis.test_template'))")
        .execute(&mut admin)
        .await
        .unwrap();
    template
}

async fn clone_database(settings: &Settings, template: &str, name: &str) {
    let mut admin = PgConnection::connect(settings.database.admin_url.expose_secret())
        .await
        .unwrap();
    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\" OWNER trellis_owner");
    for attempt in 0..50 {
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut admin)
            .await
        {
            Ok(_) => return,
            // Another test cloning the same template at this instant.
            Err(e) if e.to_string().contains("being accessed by other users") && attempt < 49 => {
                tokio::time::sleep(Duration::from_millis(50 + attempt * 20)).await;
            }
            Err(e) => panic!("cannot clone the template: {e}"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; awaiting it here would block on this very runtime.
        drop(self.server.stop(false));
        let db_name = std::mem::take(&mut self.db_name);
        let admin_url = self.settings.database.admin_url.clone();
        let redis_url = self.settings.redis.url.clone();
        let prefix = self.settings.redis.key_prefix.clone();
        // A runtime of its own: Drop cannot await, and the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if !db_name.is_empty()
                    && let Ok(mut admin) = PgConnection::connect(admin_url.expose_secret()).await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{db_name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
                if let Ok(client) = redis::Client::open(redis_url.expose_secret())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{prefix}:*"))
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> =
                            redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        })
        .join();
    }
}

impl TestApp {
    pub fn host(&self, slug: &str) -> String {
        format!("{slug}.{}:{}", self.settings.server.base_domain, self.port)
    }

    /// A request to `path` on `slug`'s host.
    pub fn request(&self, method: Method, slug: &str, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("http://127.0.0.1:{}{path}", self.port))
            .header(header::HOST, self.host(slug))
    }

    /// A request with a raw Host header (or none, with `None`).
    pub fn request_with_host(
        &self,
        method: Method,
        host: Option<&str>,
        path: &str,
    ) -> RequestBuilder {
        let builder = self
            .client
            .request(method, format!("http://127.0.0.1:{}{path}", self.port));
        match host {
            Some(host) => builder.header(header::HOST, host),
            None => builder,
        }
    }

    pub async fn get(&self, slug: &str, path: &str, token: &str) -> Response {
        self.request(Method::GET, slug, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json(
        &self,
        method: Method,
        slug: &str,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.request(method, slug, path)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, slug: &str, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(Method::POST, slug, path, token, body).await
    }

    /// A database connection as the app role, outside any request (no tenant context).
    pub async fn app_connection(&self) -> PgConnection {
        let url = self.settings.database.app_url().unwrap();
        PgConnection::connect(url.expose_secret()).await.unwrap()
    }

    /// A pool as the owner role (BYPASSRLS): to look behind the API in assertions only.
    pub async fn owner_pool(&self) -> PgPool {
        let url = self.settings.database.owner_url().unwrap();
        PgPoolOptions::new()
            .max_connections(2)
            .connect(url.expose_secret())
            .await
            .unwrap()
    }

    /// A superuser connection to this test's database: catalog inspection.
    pub async fn admin_connection(&self) -> PgConnection {
        let url = self.settings.database.admin_url_for_database().unwrap();
        PgConnection::connect(url.expose_secret()).await.unwrap()
    }

    /// Another worker on the same queue, as a second process would be.
    pub async fn another_worker(&self) -> Worker {
        let url = self.settings.database.worker_url().unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(url.expose_secret())
            .await
            .unwrap();
        Worker::new(
            pool,
            Arc::new(self.clock.clone()),
            Arc::new(trellis::mail::Mailer::new(&self.settings.mail).unwrap()),
            self.state.crypto.clone(),
            self.settings.jobs.clone(),
        )
    }

    /// Provisions a tenant with an owner, as `trellis tenant create` does.
    pub async fn create_tenant(&self, slug: &str) -> TestTenant {
        self.create_tenant_with_seats(slug, 100).await
    }

    pub async fn create_tenant_with_seats(&self, slug: &str, seats: i32) -> TestTenant {
        let email = format!("owner@{slug}.example");
        let owner =
            sea_orm::Database::connect(self.settings.database.owner_url().unwrap().expose_secret())
                .await
                .unwrap();
        let hasher = PasswordHasher::new(&self.settings.auth).unwrap();
        let created = provision::create_tenant(
            &owner,
            &hasher,
            trellis::clock::Clock::now(&self.clock),
            NewTenant {
                slug: TenantSlug::parse_new(slug).unwrap(),
                name: DisplayName::parse(&format!("{slug} Inc")).unwrap(),
                admin_email: Email::parse(&email).unwrap(),
                admin_password: NewPassword::parse(PASSWORD, &email).unwrap(),
                plan: trellis::tenancy::plan::Plan::Enterprise,
                seat_limit: seats,
            },
        )
        .await
        .unwrap();
        let _ = owner.close().await;
        TestTenant {
            id: created.tenant_id,
            slug: slug.to_owned(),
            owner: TestUser {
                id: created.owner_id,
                email,
                password: PASSWORD.into(),
            },
        }
    }

    pub async fn try_login(&self, slug: &str, email: &str, password: &str) -> Response {
        self.request(Method::POST, slug, "/api/v1/auth/login")
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, slug: &str, user: &TestUser) -> Session {
        let response = self.try_login(slug, &user.email, &user.password).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "login of {} failed",
            user.email
        );
        let body: Value = response.json().await.unwrap();
        Session {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn login_owner(&self, tenant: &TestTenant) -> Session {
        self.login(&tenant.slug, &tenant.owner).await
    }

    /// Invites `email` with `role` as `inviter` and returns the invitation's JSON.
    pub async fn invite(&self, slug: &str, inviter: &Session, email: &str, role: &str) -> Value {
        let response = self
            .post(
                slug,
                "/api/v1/invitations",
                &inviter.access,
                &json!({ "email": email, "role": role }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "inviting {email}");
        response.json().await.unwrap()
    }

    /// Accepts an invitation with its token and a password.
    pub async fn accept(&self, slug: &str, token: &str, password: &str) -> Response {
        self.request(Method::POST, slug, "/api/v1/invitations/accept")
            .json(&json!({ "token": token, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, slug: &str, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, slug, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A GET on the bare base domain (tenant-less routes).
    pub async fn base_get(&self, path: &str) -> Response {
        let host = format!("{}:{}", self.settings.server.base_domain, self.port);
        self.request_with_host(Method::GET, Some(&host), path)
            .send()
            .await
            .unwrap()
    }

    /// The OpenAPI document, as served on `slug`'s host.
    pub async fn openapi(&self, slug: &str) -> Value {
        self.request(Method::GET, slug, "/api/v1/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Invites and accepts: an active member holding `role`.
    pub async fn add_member(
        &self,
        tenant: &TestTenant,
        inviter: &Session,
        name: &str,
        role: &str,
    ) -> TestUser {
        let email = format!("{name}@{}.example", tenant.slug);
        let invited = self.invite(&tenant.slug, inviter, &email, role).await;
        let response = self
            .accept(&tenant.slug, &invitation_token(&invited), PASSWORD)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "accepting the invitation of {email}"
        );
        TestUser {
            id: invited["member"]["id"].as_str().unwrap().parse().unwrap(),
            email,
            password: PASSWORD.into(),
        }
    }

    /// Asserts that every one of `actions` was recorded for `tenant`.
    pub async fn assert_audited(&self, tenant: TenantId, actions: &[&str]) {
        let recorded = self.audit_actions(tenant).await;
        for action in actions {
            assert!(
                recorded.iter().any(|r| r == action),
                "{action} not in {recorded:?}"
            );
        }
    }

    /// The audit actions recorded for `tenant`, oldest first (read as the owner, behind the API).
    pub async fn audit_actions(&self, tenant: TenantId) -> Vec<String> {
        let pool = self.owner_pool().await;
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT action FROM audit_events WHERE tenant_id = $1 ORDER BY occurred_at, id",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        rows.into_iter().map(|(a,)| a).collect()
    }
}

/// The acceptance token in an invitation's `accept_url`.
pub fn invitation_token(invited: &Value) -> String {
    let url = invited["accept_url"].as_str().unwrap();
    url.split("#token=").nth(1).unwrap().to_owned()
}

/// The body of a problem response, checking its shape.
pub async fn problem(response: Response) -> Value {
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "a problem response"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["request_id"].is_string(),
        "problem without a request id: {body}"
    );
    body
}

/// Asserts the status and returns the problem's code.
pub async fn expect_problem(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "unexpected status");
    problem(response).await["code"].as_str().unwrap().to_owned()
}

/// The SQLSTATE of a database error.
pub fn sqlstate(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()).unwrap_or_default(),
        other => format!("not a database error: {other}"),
    }
}

/// Polls `check` every 50 ms until it is true; fails the test after `seconds` (a bound on a wait for
/// an outcome, not a timing assertion).
pub async fn eventually(what: &str, seconds: u64, mut check: impl AsyncFnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(seconds),
            "not within {seconds} s: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The tenant's roles whose names match `like` (a LIKE pattern), and its `role.created` events: the
/// fault tests' check that no change committed without its event, nor an event without its change.
pub async fn roles_and_created_events(pool: &PgPool, tenant: TenantId, like: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM roles WHERE tenant_id = $1 AND name LIKE $2), \
                (SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'role.created')",
    )
    .bind(tenant.as_uuid())
    .bind(like)
    .fetch_one(pool)
    .await
    .unwrap()
}
