//! The admin console, server-rendered from the askama templates in `admin-ui/` (compiled into the
//! binary), on each tenant's `/admin`: sign-in (with the second step, or through the organization's
//! identity provider at `/auth/sso`), invitation acceptance and password reset ([`account`]), the
//! overview ([`pages`]), [`members`], [`roles`], [`imports`], SSO and SCIM ([`provisioning`]),
//! [`settings`] and the [`audit`] log, on the cookie session of [`crate::auth::web_session`].
//! Every page starts with [`frame::visit`]; every form posts through [`form`] (docs/console.md).

mod account;
mod audit;
mod charts;
mod form;
mod frame;
mod imports;
mod members;
mod pages;
mod provisioning;
mod roles;
mod settings;
mod sso;

use actix_web::{middleware::from_fn, web};

use crate::tenancy::middleware::resolve_tenant;

pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/admin")
        .wrap(from_fn(frame::html_errors))
        .wrap(from_fn(resolve_tenant))
        .service(pages::home)
        .service(pages::login_form)
        .service(pages::login)
        .service(pages::login_mfa)
        .service(pages::logout)
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
