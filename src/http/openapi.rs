//! The OpenAPI 3.1 document at `/api/v1/openapi.json`. Routes are collected from the route table itself
//! (utoipa-actix-web), so a route cannot be served without being documented; [`finish`] adds what every
//! operation shares: the bearer scheme and the problem-details answers it can give.

use actix_web::{HttpResponse, get, web::Data};
use utoipa::{
    PartialSchema,
    openapi::{
        Components, ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    error::{FieldError, Problem},
    state::AppState,
};

/// The API description (OpenAPI 3.1, JSON).
#[utoipa::path(
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object))
)]
#[get("/openapi.json")]
pub async fn openapi_json(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.clone())
}

/// Completes the collected document: title, the bearer scheme, the problem schemas and the error
/// answers each operation can give (by what it has: security, a body, parameters).
pub fn finish(mut api: OpenApi) -> OpenApi {
    api.info.title = "Trellis API".into();
    api.info.version = env!("CARGO_PKG_VERSION").into();
    api.info.description = Some(
        "Multi-tenant career platform. Every route is served on the organization's own host \
         (`<org>.<base domain>`); errors are RFC 9457 problem details."
            .into(),
    );
    let components = api.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components
        .schemas
        .insert("Problem".into(), Problem::schema());
    components
        .schemas
        .insert("FieldError".into(), FieldError::schema());
    for item in api.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_error_responses(operation);
        }
    }
    api
}

fn add_error_responses(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut answers = vec![
        ("400", "The Host header is missing or malformed"),
        (
            "404",
            "No organization at this host, or no such resource in it",
        ),
        (
            "500",
            "Internal error (the body carries only the request id)",
        ),
        ("503", "The database is unavailable"),
        (
            "429",
            "Too many requests: the organization's API rate limit, or a sign-in limit (`Retry-After` says when to try again)",
        ),
    ];
    if secured {
        answers.push((
            "401",
            "No valid access token for this organization, or the session has ended",
        ));
        answers.push((
            "403",
            "The member's role lacks the permission, or the organization is suspended",
        ));
    } else {
        answers.push(("403", "The organization is suspended"));
    }
    if has_body {
        answers.push(("413", "The body is larger than the server accepts"));
        answers.push(("415", "The body is not application/json"));
    }
    if has_body || has_params {
        answers.push(("422", "Invalid fields, listed in `errors`"));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.into())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/problem+json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build(),
                )
            });
    }
}
