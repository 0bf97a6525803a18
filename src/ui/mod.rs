//! The admin console, server-rendered from the askama templates in `admin-ui/` (compiled into the
//! binary). For now a placeholder page on each tenant's `/admin`; the console itself is its own issue.

use actix_web::{HttpResponse, get, middleware::from_fn, web};
use askama::Template;

use crate::{
    error::ApiError,
    tenancy::{Tenant, middleware::resolve_tenant},
};

#[derive(Template)]
#[template(path = "placeholder.html", config = "admin-ui/askama.toml")]
struct Placeholder<'a> {
    slug: &'a str,
}

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
        .service(home)
}

#[get("")]
async fn home(tenant: Tenant) -> Result<HttpResponse, ApiError> {
    let page = Placeholder {
        slug: tenant.slug.as_str(),
    }
    .render()
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page))
}
