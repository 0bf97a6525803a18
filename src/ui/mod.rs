//! The admin console, server-rendered from the askama templates in `admin-ui/` (compiled into the
//! binary), on each tenant's `/admin`: sign-in (with the second step, or through the organization's
//! identity provider at `/auth/sso`), the overview, members, the audit log, and sign-out, on the cookie session
//! of [`crate::auth::web_session`] (docs/console.md).

mod audit;
mod charts;
mod members;
mod pages;
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
        .wrap(from_fn(resolve_tenant))
        .service(pages::home)
        .service(pages::login_form)
        .service(pages::login)
        .service(pages::login_mfa)
        .service(pages::logout)
        .service(members::members)
        .service(members::invite)
        // The fixed paths before `/audit/events/{event_id}`.
        .service(audit::audit_verify)
        .service(audit::audit_log)
        .service(audit::audit_event)
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
