//! The console's roles (`roles:read`): one matrix of every permission against every role. The
//! baseline roles' columns are read-only; with `roles:manage`, each custom role's column is its own
//! form (its checkboxes name that form), saved or deleted from the foot of the column, and a last
//! column creates a role. Through the same service as `/api/v1/roles`.

use std::collections::BTreeMap;

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    form::{Again, CsrfOnly, posted},
    frame::{Nav, PageResult, Refusal, Visit, allows, html, status_of, visit},
};
use crate::{
    authz::{Act, Obj, Permission},
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::roles::service::{self, NewRole, RoleChange, RoleView},
    state::AppState,
    tenancy::Tenant,
};

const NEEDED: (Obj, Act) = (Obj::Roles, Act::Read);

struct Column {
    role: RoleView,
    /// The form's id (custom roles).
    form: String,
}

#[derive(Template)]
#[template(path = "roles.html", config = "admin-ui/askama.toml")]
struct RolesPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    permissions: Vec<String>,
    columns: Vec<Column>,
    may_manage: bool,
    notice: Option<&'static str>,
    error: Option<String>,
}

impl RolesPage<'_> {
    fn holds(&self, column: &Column, permission: &str) -> bool {
        column.role.permissions.iter().any(|p| p == permission)
    }
}

async fn render(
    state: &AppState,
    visit: Visit,
    notice: Option<&'static str>,
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let may_manage = allows(state, &auth, Obj::Roles, Act::Manage).await?;
    let roles = service::list(&auth.tx, &state.authz)
        .await
        .map_err(ApiError::from)?;
    auth.tx.commit().await?;
    let columns = roles
        .into_iter()
        .map(|role| Column {
            form: role.id.map(|id| format!("role-{id}")).unwrap_or_default(),
            role,
        })
        .collect();
    html(
        status_of(refusal.as_ref()),
        RolesPage {
            org: &org,
            csrf: &csrf,
            nav,
            permissions: Permission::all().map(|p| p.to_string()).collect(),
            columns,
            may_manage,
            notice,
            error: refusal.map(|r| r.message),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesQuery {
    #[serde(default)]
    done: String,
}

#[get("/roles")]
pub async fn roles_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<RolesQuery>,
) -> PageResult {
    let notice = match query.done.as_str() {
        "created" => Some("The role was created."),
        "saved" => Some("The role was saved."),
        "deleted" => Some("The role was deleted."),
        _ => None,
    };
    match visit(&state, &tenant, &req, request, "/admin/roles", Some(NEEDED)).await? {
        Ok(visit) => render(&state, visit, notice, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

/// A role's form: its name (new roles), description, and a checkbox `p:<object>:<action>` per
/// permission it grants.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

impl RoleForm {
    /// The permissions ticked; any other field is refused by name.
    fn permissions(&self) -> Result<Vec<String>, ApiError> {
        self.rest
            .keys()
            .map(|name| {
                name.strip_prefix("p:")
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::validation(name.clone(), "is not a field of the form"))
            })
            .collect()
    }
}

fn again<'a>(state: &'a AppState, tenant: &'a Tenant, req: &'a HttpRequest) -> Again<'a> {
    Again {
        state,
        tenant,
        req,
        back: "/admin/roles",
        needed: Some(NEEDED).into(),
    }
}

/// Creates a custom role.
#[post("/roles")]
pub async fn create(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<RoleForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(&state, visit, None, Some(refusal)).await;
    let posted = match posted(&state, &req, &form.csrf_token, (Obj::Roles, Act::Manage)).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = &posted.auth;
    let outcome = async {
        let new = NewRole {
            name: form.name.trim().to_owned(),
            description: form.description.clone(),
            permissions: form.permissions()?,
        };
        Ok(service::create(&auth.tx, &auth.ctx, &state.authz, &auth.principal, new).await?)
    }
    .await;
    let to = |_| "/admin/roles?done=created".to_owned();
    again(&state, &tenant, &req)
        .conclude(posted, outcome, to, page)
        .await
}

/// Saves a custom role's description and permissions.
#[post("/roles/{role_id}")]
pub async fn update(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    role_id: Path<Uuid>,
    form: Form<RoleForm>,
) -> PageResult {
    let form = form.into_inner();
    let page = async |visit, refusal| render(&state, visit, None, Some(refusal)).await;
    let posted = match posted(&state, &req, &form.csrf_token, (Obj::Roles, Act::Manage)).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = &posted.auth;
    let outcome = async {
        let change = RoleChange {
            description: Some(form.description.clone()),
            permissions: Some(form.permissions()?),
        };
        Ok(service::update(
            &auth.tx,
            &auth.ctx,
            &state.authz,
            &auth.principal,
            *role_id,
            change,
        )
        .await?)
    }
    .await;
    let to = |_| "/admin/roles?done=saved".to_owned();
    again(&state, &tenant, &req)
        .conclude(posted, outcome, to, page)
        .await
}

/// Deletes a custom role nobody holds.
#[post("/roles/{role_id}/delete")]
pub async fn delete(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    role_id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let page = async |visit, refusal| render(&state, visit, None, Some(refusal)).await;
    let posted = match posted(&state, &req, &form.csrf_token, (Obj::Roles, Act::Manage)).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let auth = &posted.auth;
    let outcome = service::delete(&auth.tx, &auth.ctx, &state.authz, &auth.principal, *role_id)
        .await
        .map_err(ApiError::from);
    let to = |()| "/admin/roles?done=deleted".to_owned();
    again(&state, &tenant, &req)
        .conclude(posted, outcome, to, page)
        .await
}
