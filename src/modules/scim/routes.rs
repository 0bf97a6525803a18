//! The SCIM 2.0 endpoints under `/scim/v2` on the organization's host. Each request: check the token
//! in the transaction's opening message, do the work, commit, answer `application/scim+json`.

use actix_web::{
    HttpRequest, HttpResponse,
    http::StatusCode,
    http::header,
    web,
    web::{Bytes, Data, Path},
};
use serde_json::Value;

use super::{
    auth::{ScimAuth, ScimSession},
    document::{self, Query},
    error::{CONTENT_TYPE, ScimError, ScimResult},
    groups,
    schema::{self, GROUPS, RESOURCE_TYPES, ResourceType, SCHEMAS, USERS},
    users,
};
use crate::state::AppState;

const DOCS_URL: &str = "https://github.com/trellis/trellis/blob/main/docs/sso.md#scim-provisioning";

fn respond(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .json(body)
}

fn query_params(req: &HttpRequest) -> ScimResult<Query> {
    let params: Vec<(String, String)> =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map_err(|_| ScimError::bad("invalidSyntax", "the query string is malformed"))?
            .into_inner();
    Query::from_params(&params)
}

async fn open(state: &AppState, auth: ScimAuth) -> ScimResult<ScimSession> {
    auth.open(state).await
}

async fn commit(session: ScimSession) -> ScimResult<()> {
    session.tx.commit().await?;
    Ok(())
}

pub async fn service_provider_config(
    state: Data<AppState>,
    auth: ScimAuth,
) -> ScimResult<HttpResponse> {
    let session = open(&state, auth).await?;
    let body = schema::service_provider_config(&session.base_url, DOCS_URL);
    commit(session).await?;
    Ok(respond(StatusCode::OK, &body))
}

pub async fn resource_types(state: Data<AppState>, auth: ScimAuth) -> ScimResult<HttpResponse> {
    let session = open(&state, auth).await?;
    let all: Vec<Value> = RESOURCE_TYPES
        .iter()
        .map(|rt| rt.document(&session.base_url))
        .collect();
    commit(session).await?;
    Ok(respond(
        StatusCode::OK,
        &document::list_response(all.len() as u64, 1, all),
    ))
}

pub async fn resource_type(
    state: Data<AppState>,
    auth: ScimAuth,
    name: Path<String>,
) -> ScimResult<HttpResponse> {
    let session = open(&state, auth).await?;
    let found = RESOURCE_TYPES
        .iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(&name))
        .map(|rt| rt.document(&session.base_url))
        .ok_or_else(|| ScimError::not_found("ResourceType", &name))?;
    commit(session).await?;
    Ok(respond(StatusCode::OK, &found))
}

pub async fn schemas(state: Data<AppState>, auth: ScimAuth) -> ScimResult<HttpResponse> {
    let session = open(&state, auth).await?;
    let all: Vec<Value> = SCHEMAS
        .iter()
        .map(|s| schema::schema_document(s, &session.base_url))
        .collect();
    commit(session).await?;
    Ok(respond(
        StatusCode::OK,
        &document::list_response(all.len() as u64, 1, all),
    ))
}

pub async fn schema_by_id(
    state: Data<AppState>,
    auth: ScimAuth,
    id: Path<String>,
) -> ScimResult<HttpResponse> {
    let session = open(&state, auth).await?;
    let found = SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .map(|s| schema::schema_document(s, &session.base_url))
        .ok_or_else(|| ScimError::not_found("Schema", &id))?;
    commit(session).await?;
    Ok(respond(StatusCode::OK, &found))
}

/// Which resource a route serves.
#[derive(Clone, Copy)]
pub enum Resource {
    Users,
    Groups,
}

impl Resource {
    fn rt(self) -> &'static ResourceType {
        match self {
            Resource::Users => &USERS,
            Resource::Groups => &GROUPS,
        }
    }

    async fn list(self, session: &ScimSession, query: &Query) -> ScimResult<(u64, Vec<Value>)> {
        match self {
            Resource::Users => users::list(session, query).await,
            Resource::Groups => groups::list(session, query).await,
        }
    }

    async fn get(self, session: &ScimSession, id: &str, query: &Query) -> ScimResult<Value> {
        match self {
            Resource::Users => users::get(session, id).await,
            Resource::Groups => groups::get(session, id, query).await,
        }
    }

    async fn create(self, session: &ScimSession, doc: Value) -> ScimResult<Value> {
        match self {
            Resource::Users => users::create(session, doc).await,
            Resource::Groups => groups::create(session, doc).await,
        }
    }

    async fn replace(self, session: &ScimSession, id: &str, doc: Value) -> ScimResult<Value> {
        match self {
            Resource::Users => users::replace(session, id, doc).await,
            Resource::Groups => groups::replace(session, id, doc).await,
        }
    }

    async fn patch(self, session: &ScimSession, id: &str, body: Value) -> ScimResult<Value> {
        match self {
            Resource::Users => users::patch(session, id, body).await,
            Resource::Groups => groups::patch(session, id, body).await,
        }
    }

    async fn delete(self, session: &ScimSession, id: &str) -> ScimResult<()> {
        match self {
            Resource::Users => users::delete(session, id).await,
            Resource::Groups => groups::delete(session, id).await,
        }
    }
}

async fn list_with(
    state: &AppState,
    auth: ScimAuth,
    resource: Resource,
    query: Query,
) -> ScimResult<HttpResponse> {
    let session = open(state, auth).await?;
    let (total, resources) = resource.list(&session, &query).await?;
    commit(session).await?;
    Ok(respond(
        StatusCode::OK,
        &document::list_response(total, query.start_index, resources),
    ))
}

pub async fn list(
    state: Data<AppState>,
    auth: ScimAuth,
    req: HttpRequest,
    resource: Data<Resource>,
) -> ScimResult<HttpResponse> {
    let query = query_params(&req)?;
    list_with(&state, auth, **resource, query).await
}

pub async fn search(
    state: Data<AppState>,
    auth: ScimAuth,
    body: Bytes,
    resource: Data<Resource>,
) -> ScimResult<HttpResponse> {
    let query = Query::from_search(&document::body_json(&body)?)?;
    list_with(&state, auth, **resource, query).await
}

pub async fn get(
    state: Data<AppState>,
    auth: ScimAuth,
    req: HttpRequest,
    id: Path<String>,
    resource: Data<Resource>,
) -> ScimResult<HttpResponse> {
    let query = query_params(&req)?;
    let session = open(&state, auth).await?;
    let doc = resource.get(&session, &id, &query).await?;
    commit(session).await?;
    Ok(respond(
        StatusCode::OK,
        &document::project(resource.rt(), doc, &query),
    ))
}

pub async fn create(
    state: Data<AppState>,
    auth: ScimAuth,
    req: HttpRequest,
    body: Bytes,
    resource: Data<Resource>,
) -> ScimResult<HttpResponse> {
    let query = query_params(&req)?;
    let doc = document::body_json(&body)?;
    let session = open(&state, auth).await?;
    let created = resource.create(&session, doc).await?;
    commit(session).await?;
    let location = created["meta"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut response = respond(
        StatusCode::CREATED,
        &document::project(resource.rt(), created, &query),
    );
    if let Ok(value) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// PUT (replace) and PATCH: the resource's new document is answered.
pub async fn write(
    state: Data<AppState>,
    auth: ScimAuth,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
    resource: Data<Resource>,
) -> ScimResult<HttpResponse> {
    let query = query_params(&req)?;
    let body = document::body_json(&body)?;
    let session = open(&state, auth).await?;
    let saved = if req.method() == actix_web::http::Method::PATCH {
        resource.patch(&session, &id, body).await?
    } else {
        resource.replace(&session, &id, body).await?
    };
    commit(session).await?;
    Ok(respond(
        StatusCode::OK,
        &document::project(resource.rt(), saved, &query),
    ))
}

pub async fn delete(
    state: Data<AppState>,
    auth: ScimAuth,
    id: Path<String>,
    resource: Data<Resource>,
) -> ScimResult<HttpResponse> {
    let session = open(&state, auth).await?;
    resource.delete(&session, &id).await?;
    commit(session).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /.search` across resource types: not supported (RFC 7644 §3.4.3 allows 501).
pub async fn search_everything(state: Data<AppState>, auth: ScimAuth) -> ScimResult<HttpResponse> {
    let session = open(&state, auth).await?;
    commit(session).await?;
    Err(ScimError::not_implemented(
        "searching several resource types at once is not supported; use /Users/.search or /Groups/.search",
    ))
}

pub async fn not_found(req: HttpRequest) -> ScimResult<HttpResponse> {
    Err(ScimError::not_found("endpoint", req.path()))
}

pub async fn method_not_allowed(req: HttpRequest) -> ScimResult<HttpResponse> {
    // Without the plan's SCIM, no endpoint exists: not even its methods are told.
    let provisioning = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .zip(
            actix_web::HttpMessage::extensions(&req)
                .get::<crate::tenancy::Tenant>()
                .cloned(),
        )
        .is_some_and(|(state, tenant)| {
            tenant.has(&state.settings.plans, crate::tenancy::plan::Feature::Scim)
        });
    if !provisioning {
        return Err(ScimError::not_found("endpoint", req.path()));
    }
    Err(ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this endpoint does not take that method",
    ))
}
