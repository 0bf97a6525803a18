//! The two server-rendered apps of an organization's host, from the askama templates in `admin-ui/`
//! (compiled into the binary), on one cookie session ([`crate::auth::web_session`]):
//! - the admin console at `/admin`: invitation acceptance and password reset ([`account`]), the
//!   overview ([`pages`]), [`members`], [`roles`], [`imports`], SSO and SCIM ([`provisioning`]),
//!   [`settings`] and the [`audit`] log (docs/console.md);
//! - the employee portal at `/` ([`portal`], ADR 0018);
//!
//! and the sign-in both share at `/login` (with the second step, or through the organization's
//! identity provider at `/auth/sso`). Every page starts with [`frame::visit`]; every form posts
//! through [`form`].

mod account;
mod audit;
mod charts;
mod form;
mod frame;
mod imports;
mod members;
mod pages;
mod portal;
mod provisioning;
mod roles;
mod settings;
mod sso;

use actix_web::{middleware::from_fn, web};

use crate::tenancy::middleware::resolve_tenant;

pub use portal::scope as portal_scope;

pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // The error pages outermost: an organization that does not exist is a page too.
    web::scope("/admin")
        .wrap(from_fn(resolve_tenant))
        .wrap(from_fn(frame::html_errors))
        .service(pages::home)
        .service(pages::console_login)
        .route("/login", web::post().to(pages::moved))
        .route("/login/mfa", web::post().to(pages::moved))
        .route("/logout", web::post().to(pages::moved))
        .service(frame::script)
        .service(account::accept_form)
        .service(account::accept)
        .service(account::forgot_form)
        .service(account::forgot)
        .service(account::reset_form)
        .service(account::reset)
        .service(members::members)
        .service(members::invite)
        .service(members::invite_many)
        .service(members::member_page)
        .service(members::change_role)
        .service(members::set_status)
        .service(roles::roles_page)
        .service(roles::create)
        .service(roles::update)
        .service(roles::delete)
        .service(imports::history)
        .service(imports::upload_file)
        .service(imports::import_page)
        .service(imports::step)
        .service(provisioning::sso_page)
        .service(provisioning::save)
        .service(provisioning::test)
        .service(provisioning::create_scim_token)
        .service(provisioning::revoke_scim_token)
        .service(settings::settings_page)
        .service(settings::save)
        .service(settings::save_stream)
        .service(settings::delete_stream)
        // The fixed paths before `/audit/events/{event_id}`.
        .service(audit::audit_verify)
        .service(audit::audit_log)
        .service(audit::audit_event)
        .default_service(web::to(frame::not_found))
}

/// Single sign-on's browser routes, `/auth/sso/start` and `/auth/sso/callback`, on a tenant's host.
pub fn sso_scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/auth/sso")
        .wrap(from_fn(resolve_tenant))
        .service(sso::start)
        .service(sso::callback)
}
