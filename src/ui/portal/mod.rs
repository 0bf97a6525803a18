//! The employee portal at `/` on an organization's host (ADR 0018): the pages employees use, on the
//! console's frame ([`super::frame::visit`], [`super::form`]) and session. Each area is a file that
//! calls its module's services in the request's transaction, as the console does; the sign-in pages at
//! `/login` are shared with the console ([`super::pages`]).

mod home;

use actix_web::{guard, middleware::from_fn, web};

use super::{frame, pages};
use crate::tenancy::middleware::{on_tenant_host, resolve_tenant};

/// The portal's routes and the shared sign-in pages; registered last, it answers only requests to an
/// organization's host (any other host gets the server's JSON 404 as before), and what it does not
/// have is the HTML 404 page.
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("")
        .guard(guard::fn_guard(on_tenant_host))
        // The error pages outermost: an organization that does not exist is a page too.
        .wrap(from_fn(resolve_tenant))
        .wrap(from_fn(frame::html_errors))
        .service(home::home)
        .service(pages::login_form)
        .service(pages::login)
        .service(pages::login_mfa)
        .service(pages::logout)
        .default_service(web::to(frame::not_found))
}
