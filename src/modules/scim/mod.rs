//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): the organization's directory (Okta, Entra ID...)
//! creates, updates, deactivates and deletes members and groups at `/scim/v2` on the organization's
//! host, with the organization's SCIM token.
//!
//! - [`schema`]: what is published (the one table behind discovery, attribute names and types);
//! - [`filter`], [`patch`], [`document`]: the protocol's filters, PATCH operations and responses;
//! - [`users`], [`groups`]: the resources, on the request's transaction, every change audited with the
//!   token as actor;
//! - [`auth`]: the token check; [`admin`]: how an admin creates, rotates and revokes the token.

pub mod admin;
pub mod auth;
pub mod document;
pub mod error;
pub mod filter;
pub mod groups;
pub mod patch;
pub mod routes;
pub mod schema;
pub mod users;

use actix_web::{
    Resource, Scope,
    body::BoxBody,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    middleware::from_fn,
    web,
};

use crate::tenancy::middleware::resolve_tenant;

/// A discovery endpoint: GET only, 405 for the rest.
fn read_only(path: &str) -> Resource {
    web::resource(path).default_service(web::to(routes::method_not_allowed))
}

/// Users and Groups share their routes; each scope says which resource it serves.
fn resource_scope(path: &str, resource: routes::Resource) -> Scope {
    web::scope(path)
        .app_data(web::Data::new(resource))
        .route("", web::get().to(routes::list))
        .route("", web::post().to(routes::create))
        .route("", web::route().to(routes::method_not_allowed))
        .route("/.search", web::post().to(routes::search))
        .route("/{id}", web::get().to(routes::get))
        .route("/{id}", web::put().to(routes::write))
        .route("/{id}", web::patch().to(routes::write))
        .route("/{id}", web::delete().to(routes::delete))
        .route("/{id}", web::route().to(routes::method_not_allowed))
}

pub fn scope() -> Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/scim/v2")
        .wrap(from_fn(resolve_tenant))
        .app_data(web::PayloadConfig::new(document::MAX_BODY + 1))
        .service(read_only("/ServiceProviderConfig").get(routes::service_provider_config))
        .service(read_only("/ResourceTypes").get(routes::resource_types))
        .service(read_only("/ResourceTypes/{name}").get(routes::resource_type))
        .service(read_only("/Schemas").get(routes::schemas))
        .service(read_only("/Schemas/{id}").get(routes::schema_by_id))
        .route("/.search", web::post().to(routes::search_everything))
        .service(resource_scope("/Users", routes::Resource::Users))
        .service(resource_scope("/Groups", routes::Resource::Groups))
        .default_service(web::to(routes::not_found))
}
