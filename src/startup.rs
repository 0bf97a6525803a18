//! `Application::build` wires the parts together and binds the listener (`port()` tells tests which
//! port 0 became); `routes` is the route table.

use std::{net::TcpListener, path::Path, sync::Arc};

use secrecy::SecretString;
use tokio::{sync::watch, task::JoinHandle};

use actix_web::{
    App, HttpServer,
    dev::{HttpServiceFactory, Server},
    middleware::from_fn,
    web::{self, Data},
};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::{AppExt, OpenApiFactory, scope};

use crate::{
    audit::{self, sealer::Sealer, signing::DigestSigner, stream::sender::Sender as StreamSender},
    auth::{self, JwtKeys, oidc::OidcClient, password::PasswordHasher, rate_limit::RateLimiter},
    authz::Authz,
    clock::SharedClock,
    config::{Environment, Settings},
    coordination::{BusHealth, InvalidationBus, InvalidationListener, OneTimeStore, RedisStore},
    crypto::Crypto,
    db,
    error::ApiError,
    health,
    http::{self, context::TrellisRootSpan},
    jobs::worker::{AuditJobs, Worker},
    keys,
    mail::Mailer,
    metrics,
    modules::{
        analytics::{self, capture::Capture, rollup::Rollup},
        api_keys, career, imports, interview, members, networking, notifications, orgs, roles,
        scim, sessions, sso, workspaces,
    },
    state::AppState,
    tenancy::{self, TenantDirectory, middleware::resolve_tenant},
    ui,
};

pub struct Application {
    port: u16,
    server: Server,
    state: Data<AppState>,
    worker: Arc<Worker>,
    worker_task: Option<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
}

impl Application {
    /// Connects, loads keys and policies, binds `server.host:server.port` and prepares the server. It does
    /// not bootstrap or migrate: `trellis serve` does that first where the environment allows.
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Application> {
        let app_url = settings.database.app_url()?;
        let pool = db::connect_app_pool(&settings.database, &app_url).await?;
        let pending = db::bootstrap::pending_migrations(&pool).await?;
        if !pending.is_empty() {
            anyhow::bail!(
                "the database schema is not migrated ({} pending, first {}): run `trellis migrate` with the owner URL",
                pending.len(),
                pending[0]
            );
        }
        let (usage, _usage_writer) = Capture::start(pool.clone(), clock.clone(), &settings.usage);
        let jwt_keys = JwtKeys::parse(&key_ring(&settings, Ring::Jwt)?)?;
        let crypto = Arc::new(Crypto::parse(&key_ring(&settings, Ring::Crypto)?)?);
        let audit_signer = Arc::new(DigestSigner::parse(&key_ring(&settings, Ring::Audit)?)?);
        let redis = RedisStore::new(&settings.redis)?;
        let health = BusHealth::default();
        let tenants = Arc::new(TenantDirectory::new(
            pool.clone(),
            &settings.tenancy,
            health.clone(),
        ));
        let authz =
            Arc::new(Authz::load(&settings.authz, &settings.tenancy, health.clone()).await?);
        let import_progress = Arc::new(imports::progress::ProgressHub::default());
        let workspace_activity = Arc::new(workspaces::live::ActivityHub::default());
        let listeners: Vec<Arc<dyn InvalidationListener>> = vec![
            tenants.clone(),
            authz.clone(),
            import_progress.clone(),
            workspace_activity.clone(),
        ];
        let bus = Arc::new(InvalidationBus::new(redis.clone(), health, listeners));
        bus.clone().spawn_listener();

        let worker = Arc::new(
            job_worker(
                &settings,
                clock.clone(),
                crypto.clone(),
                audit_signer.clone(),
                redis.clone(),
            )
            .await?,
        );
        let (shutdown, shutdown_requested) = watch::channel(false);
        let worker_task = settings
            .jobs
            .in_process
            .then(|| tokio::spawn(worker.clone().run(shutdown_requested)));

        let (_, openapi) = App::new()
            .into_utoipa_app()
            .service(api_scope())
            .split_for_parts();
        let openapi_json = http::openapi::finish(openapi).to_json()?;

        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let workers = settings.server.workers;
        let link_port = settings
            .server
            .public_port
            .or((settings.environment != crate::config::Environment::Production).then_some(port));
        install_tls_provider();
        let audit_stream = Arc::new(stream_sender(&settings)?);
        let oidc = Arc::new(OidcClient::new(&settings.sso, clock.clone())?);
        let one_time = Arc::new(OneTimeStore::new(
            redis.clone(),
            std::time::Duration::from_secs(settings.sso.state_ttl_secs.max(1)),
            10_000,
        ));
        let state = Data::new(AppState {
            link_port,
            oidc,
            one_time,
            passwords: PasswordHasher::new(&settings.auth)?,
            limiter: RateLimiter::new(redis.clone()),
            settings,
            pool,
            clock,
            tenants,
            authz,
            jwt_keys,
            crypto,
            redis,
            bus,
            import_progress,
            workspace_activity,
            audit_signer,
            audit_stream,
            usage: Arc::new(usage),
            metrics: Arc::default(),
            openapi_json,
        });
        let server_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .app_data(path_errors())
                .app_data(query_errors())
                .configure(health::routes)
                .service(metrics::routes::metrics)
                .service(api_scope())
                .service(ui::scope())
                .service(ui::sso_scope())
                .service(scim::scope())
                // Last: `/` on an organization's host, and anything the others do not have there.
                .service(ui::portal_scope())
                .default_service(web::to(not_found))
                .wrap(from_fn(http::context::request_context))
                .wrap(TracingLogger::<TrellisRootSpan>::new())
        })
        .client_request_timeout(std::time::Duration::from_millis(
            state.settings.server.head_timeout_ms.max(1),
        ))
        .shutdown_timeout(state.settings.server.shutdown_timeout_secs)
        // Signals are ours (`stop_on_signal`): SIGINT stops as gracefully as SIGTERM.
        .disable_signals()
        .listen(listener)?;
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            state,
            worker,
            worker_task,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests use it to reach the invalidation bus and the clock).
    pub fn state(&self) -> Data<AppState> {
        self.state.clone()
    }

    /// The job worker (tests drain the queue with its `run_once`).
    pub fn worker(&self) -> Arc<Worker> {
        self.worker.clone()
    }

    /// Serves until the server stops (SIGINT/SIGTERM), then stops the in-process worker, which hands
    /// back the leases of the jobs it holds.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        // What the usage capture still holds is written before the process ends.
        self.state.usage.flush().await;
        let _ = self.shutdown.send(true);
        if let Some(task) = self.worker_task {
            let _ = task.await;
        }
        result
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// On SIGTERM or SIGINT alike: stops accepting connections, closes idle keep-alive ones, and lets
    /// requests in flight finish for up to `server.shutdown_timeout_secs`;
    /// [`Application::run_until_stopped`] then stops the worker.
    pub fn stop_on_signal(&self) {
        let handle = self.server.handle();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("stopping: finishing the requests in flight");
            handle.stop(true).await;
        });
    }
}

/// The job worker, as `serve` runs it in-process and `trellis worker` alone: the worker role's pool,
/// mail, progress announced on Redis, and the audit chain's sealer and retention.
pub async fn job_worker(
    settings: &Settings,
    clock: SharedClock,
    crypto: Arc<Crypto>,
    signer: Arc<DigestSigner>,
    redis: RedisStore,
) -> anyhow::Result<Worker> {
    install_tls_provider();
    let pool = db::connect_app_pool(&settings.database, &settings.database.worker_url()?).await?;
    let sealer = Sealer::new(pool.clone(), clock.clone(), signer, settings.audit.clone());
    let audit = AuditJobs {
        sealer,
        sender: Arc::new(stream_sender(settings)?),
        settings: settings.audit.clone(),
        partitions_ahead: settings.database.audit_partitions_ahead,
        stream_plans: settings
            .plans
            .with(tenancy::plan::Feature::AuditStream)
            .into_iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
    };
    let rollup = Rollup::new(pool.clone(), clock.clone(), settings.usage.clone());
    Ok(Worker::new(
        pool,
        clock,
        Arc::new(Mailer::new(&settings.mail)?),
        crypto,
        settings.jobs.clone(),
    )
    .with_notifier(redis)
    .with_audit(audit)
    .with_usage(
        rollup,
        std::time::Duration::from_secs(settings.usage.rollup_interval_secs.max(1)),
    ))
}

/// The client that POSTs to the organizations' audit log streams.
fn stream_sender(settings: &Settings) -> Result<StreamSender, reqwest::Error> {
    StreamSender::new(
        std::time::Duration::from_secs(settings.audit.stream_timeout_secs.max(1)),
        settings.audit.allow_insecure_stream_urls,
    )
}

/// One process-wide TLS provider for the clients that speak https (identity providers, log streams).
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The key rings.
#[derive(Debug, Clone, Copy)]
pub enum Ring {
    Jwt,
    Crypto,
    Audit,
}

impl Ring {
    /// The setting's name, its local file under `server.var_dir`, and the prefix of its key ids.
    pub fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Ring::Jwt => (crate::auth::keys::RING, "jwt-keys", "jwt"),
            Ring::Crypto => (crate::crypto::RING, "crypto-keys", "aes"),
            Ring::Audit => (crate::audit::signing::RING, "audit-keys", "audit"),
        }
    }

    /// The ring as configured, if it is.
    pub fn configured(self, settings: &Settings) -> Option<SecretString> {
        match self {
            Ring::Jwt => settings.auth.jwt_keys.clone(),
            Ring::Crypto => settings.crypto.keys.clone(),
            Ring::Audit => settings.audit.signing_keys.clone(),
        }
    }

    /// The environment variable that configures it.
    pub fn variable(self) -> &'static str {
        match self {
            Ring::Jwt => "APP_AUTH__JWT_KEYS",
            Ring::Crypto => "APP_CRYPTO__KEYS",
            Ring::Audit => "APP_AUDIT__SIGNING_KEYS",
        }
    }
}

/// A key ring from the settings, or in `local` from its file under `server.var_dir` (made on first use).
pub fn key_ring(settings: &Settings, ring: Ring) -> anyhow::Result<SecretString> {
    let (name, file, prefix) = ring.names();
    match ring.configured(settings) {
        Some(spec) => Ok(spec),
        None if settings.environment == Environment::Local => Ok(keys::local(
            name,
            Path::new(&settings.server.var_dir),
            file,
            prefix,
        )?),
        None => anyhow::bail!("{name} must be set outside the local environment"),
    }
}

/// Every JSON route, under `/api/v1`, behind tenant resolution. Registered through utoipa, so each one
/// is in the OpenAPI document by construction.
fn api_scope() -> impl HttpServiceFactory + OpenApiFactory + 'static {
    // Inner to outer: the plan's API rate limit, usage capture (which sees the 429s too), the tenant.
    scope::scope("/api/v1")
        .wrap(from_fn(tenancy::limits::api_rate_limit))
        .wrap(from_fn(analytics::capture::track))
        .wrap(from_fn(resolve_tenant))
        .service(http::openapi::openapi_json)
        .service(auth::routes::login)
        .service(auth::routes::refresh)
        .service(auth::routes::logout)
        .service(auth::routes::me)
        .service(auth::routes::change_password)
        .service(auth::routes::request_password_reset)
        .service(auth::routes::confirm_password_reset)
        .service(auth::mfa::routes::verify_mfa)
        .service(auth::mfa::routes::enroll_mfa_at_sign_in)
        .service(auth::mfa::routes::confirm_mfa_at_sign_in)
        .service(auth::mfa::routes::my_mfa)
        .service(auth::mfa::routes::start_my_mfa)
        .service(auth::mfa::routes::confirm_my_mfa)
        .service(auth::mfa::routes::disable_my_mfa)
        .service(auth::mfa::routes::reset_member_mfa)
        .service(orgs::routes::get_org)
        .service(orgs::routes::update_org_settings)
        .service(members::routes::list_members)
        .service(members::routes::get_member)
        .service(members::routes::change_member_role)
        .service(members::routes::deactivate_member)
        .service(members::routes::reactivate_member)
        .service(members::routes::remove_member)
        .service(members::routes::create_invitation)
        .service(members::routes::list_invitations)
        .service(members::routes::revoke_invitation)
        .service(members::routes::accept_invitation)
        .service(roles::routes::list_roles)
        .service(roles::routes::get_role)
        .service(roles::routes::create_role)
        .service(roles::routes::update_role)
        .service(roles::routes::delete_role)
        .service(roles::routes::list_permissions)
        .service(sessions::routes::list_my_sessions)
        .service(sessions::routes::revoke_my_session)
        .service(sessions::routes::revoke_my_other_sessions)
        .service(sessions::routes::list_member_sessions)
        .service(sessions::routes::revoke_member_sessions)
        .service(sessions::routes::revoke_member_session)
        .service(api_keys::routes::list_api_keys)
        .service(api_keys::routes::get_api_key)
        .service(api_keys::routes::create_api_key)
        .service(api_keys::routes::revoke_api_key)
        .service(sso::routes::get_oidc_connection)
        .service(sso::routes::put_oidc_connection)
        .service(sso::routes::delete_oidc_connection)
        .service(sso::routes::test_oidc_connection)
        .service(sso::routes::get_role_mappings)
        .service(sso::routes::put_role_mappings)
        .service(scim::admin::get_scim)
        .service(scim::admin::create_scim_token)
        .service(scim::admin::revoke_scim_token)
        .service(imports::routes::upload_import)
        .service(imports::routes::list_imports)
        .service(imports::routes::get_import)
        .service(imports::routes::set_import_mapping)
        .service(imports::routes::validate_import)
        .service(imports::routes::import_errors)
        .service(imports::routes::commit_import)
        .service(imports::routes::cancel_import)
        .service(imports::routes::import_events)
        // The fixed paths before `/audit-events/{event_id}`.
        .service(audit::routes::list_events)
        .service(audit::routes::export_events)
        .service(audit::routes::verify_chain)
        .service(audit::routes::public_keys)
        .service(audit::routes::get_event)
        .service(audit::stream::routes::get_stream)
        .service(audit::stream::routes::put_stream)
        .service(audit::stream::routes::delete_stream)
        .service(audit::stream::routes::test_stream)
        .service(analytics::routes::overview)
        .service(analytics::routes::adoption)
        .service(analytics::routes::trends)
        .service(analytics::routes::networking)
        .service(analytics::routes::departments)
        .service(analytics::routes::export)
        .service(career::routes::taxonomy::list_skill_groups)
        .service(career::routes::taxonomy::create_skill_group)
        .service(career::routes::taxonomy::rename_skill_group)
        .service(career::routes::taxonomy::list_skills)
        .service(career::routes::taxonomy::create_skill)
        .service(career::routes::taxonomy::get_skill)
        .service(career::routes::taxonomy::update_skill)
        .service(career::routes::taxonomy::merge_skill)
        // The fixed paths before `/career/me/...` and `/career/people/{member_id}`.
        .service(career::routes::profiles::my_career)
        .service(career::routes::profiles::put_my_skill)
        .service(career::routes::profiles::remove_my_skill)
        .service(career::routes::goals::list_my_goals)
        .service(career::routes::goals::create_my_goal)
        .service(career::routes::goals::update_my_goal)
        .service(career::routes::profiles::my_team)
        .service(career::routes::profiles::get_career_profile)
        .service(career::routes::profiles::rate_member)
        .service(career::routes::profiles::put_position)
        .service(career::routes::pathways::list_career_roles)
        .service(career::routes::pathways::create_career_role)
        .service(career::routes::pathways::get_career_role)
        .service(career::routes::pathways::update_career_role)
        .service(career::routes::pathways::delete_career_role)
        .service(career::routes::pathways::put_role_requirements)
        .service(career::routes::pathways::put_role_transitions)
        .service(career::routes::pathways::role_readiness)
        .service(career::routes::learning::list_courses)
        .service(career::routes::learning::create_course)
        .service(career::routes::learning::get_course)
        .service(career::routes::learning::update_course)
        .service(career::routes::learning::delete_course)
        .service(career::routes::learning::enrol)
        .service(career::routes::learning::my_learning)
        .service(career::routes::learning::update_my_enrolment)
        .service(career::routes::milestones::list_my_milestones)
        .service(career::routes::milestones::create_my_milestone)
        .service(career::routes::milestones::update_my_milestone)
        .service(career::routes::milestones::delete_my_milestone)
        .service(career::routes::milestones::list_member_milestones)
        .service(career::routes::milestones::review_milestone)
        .service(career::routes::portfolio::list_my_projects)
        .service(career::routes::portfolio::create_my_project)
        .service(career::routes::portfolio::update_my_project)
        .service(career::routes::portfolio::delete_my_project)
        .service(career::routes::portfolio::list_member_projects)
        .service(career::routes::portfolio::list_shared_projects)
        .service(career::routes::insights::my_next_roles)
        .service(career::routes::insights::skill_heat_map)
        .service(interview::routes::questions::list_questions)
        .service(interview::routes::questions::create_question)
        .service(interview::routes::questions::get_question)
        .service(interview::routes::questions::update_question)
        .service(interview::routes::sessions::list_sessions)
        .service(interview::routes::sessions::create_session)
        .service(interview::routes::sessions::get_session)
        .service(interview::routes::sessions::start_session)
        .service(interview::routes::sessions::answer_question)
        .service(interview::routes::sessions::complete_session)
        .service(interview::routes::sessions::abandon_session)
        .service(interview::routes::sessions::my_progress)
        .service(interview::routes::assignments::create_assignment)
        .service(interview::routes::assignments::list_assignments)
        .service(interview::routes::assignments::my_assignments)
        .service(interview::routes::assignments::cancel_assignment)
        .service(interview::routes::calendar::list_scheduled)
        .service(interview::routes::calendar::create_scheduled)
        .service(interview::routes::calendar::get_scheduled)
        .service(interview::routes::calendar::update_scheduled)
        .service(interview::routes::calendar::cancel_scheduled)
        .service(interview::routes::calendar::delete_scheduled)
        .service(interview::routes::calendar::scheduled_calendar_file)
        .service(interview::routes::calendar::add_checklist_item)
        .service(interview::routes::calendar::update_checklist_item)
        .service(interview::routes::calendar::remove_checklist_item)
        .service(networking::routes::postings::list_postings)
        .service(networking::routes::postings::create_posting)
        .service(networking::routes::postings::get_posting)
        .service(networking::routes::postings::update_posting)
        .service(networking::routes::referrals::create_referral)
        .service(networking::routes::referrals::my_referrals)
        .service(networking::routes::referrals::list_referrals)
        .service(networking::routes::referrals::get_referral)
        .service(networking::routes::referrals::review_referral)
        .service(networking::routes::referrals::referral_link)
        .service(networking::routes::mentors::list_mentors)
        .service(networking::routes::mentors::my_mentor_profile)
        .service(networking::routes::mentors::save_mentor_profile)
        .service(networking::routes::mentors::recommendations)
        .service(networking::routes::mentors::get_mentor)
        .service(networking::routes::mentors::get_weights)
        .service(networking::routes::mentors::save_weights)
        .service(networking::routes::mentorships::request_mentorship)
        .service(networking::routes::mentorships::list_mentorships)
        .service(networking::routes::mentorships::get_mentorship)
        .service(networking::routes::mentorships::accept_mentorship)
        .service(networking::routes::mentorships::decline_mentorship)
        .service(networking::routes::mentorships::cancel_mentorship)
        .service(networking::routes::mentorships::list_sessions)
        .service(networking::routes::mentorships::log_session)
        .service(networking::routes::mentorships::check_fit)
        .service(networking::routes::mentorships::complete_mentorship)
        .service(networking::routes::mentorships::rate_mentorship)
        .service(networking::routes::programmes::create_programme)
        .service(networking::routes::programmes::list_programmes)
        .service(networking::routes::programmes::get_programme)
        .service(networking::routes::programmes::update_programme)
        .service(networking::routes::programmes::join_programme)
        .service(networking::routes::programmes::get_participation)
        .service(networking::routes::programmes::leave_programme)
        .service(networking::routes::programmes::list_participants)
        .service(networking::routes::programmes::match_programme)
        .service(networking::routes::programmes::get_matches)
        .service(networking::routes::programmes::set_match)
        .service(networking::routes::programmes::release_match)
        .service(networking::routes::programmes::publish_programme)
        .service(networking::routes::programmes::programme_health)
        .service(networking::routes::communities::create_community)
        .service(networking::routes::communities::list_communities)
        .service(networking::routes::communities::get_community)
        .service(networking::routes::communities::update_community)
        .service(networking::routes::communities::join_community)
        .service(networking::routes::communities::leave_community)
        .service(networking::routes::communities::list_posts)
        .service(networking::routes::communities::write_post)
        .service(networking::routes::communities::get_thread)
        .service(networking::routes::communities::edit_post)
        .service(networking::routes::communities::remove_post)
        .service(networking::routes::events::create_event)
        .service(networking::routes::events::list_events)
        .service(networking::routes::events::get_event)
        .service(networking::routes::events::update_event)
        .service(networking::routes::events::rsvp_event)
        .service(networking::routes::events::withdraw_rsvp)
        .service(networking::routes::events::list_attendees)
        .service(workspaces::routes::workspaces::create_workspace)
        .service(workspaces::routes::workspaces::list_workspaces)
        .service(workspaces::routes::workspaces::get_workspace)
        .service(workspaces::routes::workspaces::update_workspace)
        .service(workspaces::routes::workspaces::list_workspace_members)
        .service(workspaces::routes::workspaces::set_workspace_member)
        .service(workspaces::routes::workspaces::remove_workspace_member)
        .service(workspaces::routes::documents::create_document)
        .service(workspaces::routes::documents::list_documents)
        .service(workspaces::routes::documents::get_document)
        .service(workspaces::routes::documents::save_document)
        .service(workspaces::routes::documents::list_versions)
        .service(workspaces::routes::documents::get_version)
        .service(workspaces::routes::documents::diff_versions)
        .service(workspaces::routes::documents::restore_version)
        .service(workspaces::routes::documents::list_templates)
        .service(workspaces::routes::comments::list_comments)
        .service(workspaces::routes::comments::start_thread)
        .service(workspaces::routes::comments::reply_comment)
        .service(workspaces::routes::comments::edit_comment)
        .service(workspaces::routes::comments::delete_comment)
        .service(workspaces::routes::comments::resolve_thread)
        .service(workspaces::routes::comments::reopen_thread)
        .service(workspaces::routes::reviews::list_reviews)
        .service(workspaces::routes::reviews::request_review)
        .service(workspaces::routes::reviews::get_review)
        .service(workspaces::routes::reviews::decide_review)
        .service(workspaces::routes::reviews::withdraw_review)
        .service(workspaces::routes::activity::workspace_activity)
        .service(workspaces::routes::activity::activity_stream)
        .service(workspaces::routes::activity::my_activity)
        .service(workspaces::routes::activity::workspace_presence)
        .service(workspaces::routes::activity::i_am_here)
        .service(workspaces::routes::activity::i_have_gone)
        .service(notifications::routes::read_all_notifications)
        .service(notifications::routes::get_preferences)
        .service(notifications::routes::set_preferences)
        .service(notifications::routes::list_notifications)
        .service(notifications::routes::read_notification)
        .default_service(web::to(not_found))
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound {
        code: "route_not_found",
    })
}

/// A malformed id in a path is answered like an id that does not exist.
fn path_errors() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into())
}

fn query_errors() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let message = err.to_string();
        let field = message.split('`').nth(1).unwrap_or("query").to_owned();
        ApiError::validation(field, "is not valid").into()
    })
}

/// SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
