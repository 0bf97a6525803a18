//! The console's members (`members:read`): search and filters, 50 a page by email with "More", and —
//! for `members:invite` — an invitation form (posted with the session's CSRF token; the same service,
//! checks and audit event as `POST /api/v1/invitations`).

use actix_web::{
    HttpRequest, get,
    http::StatusCode,
    post,
    web::{Data, Form},
};
use askama::Template;
use serde::Deserialize;

use super::{
    audit::{Nav, allows, forbidden, some},
    pages::{PageResult, html, redirect, signed_in_page},
};
use crate::{
    auth::{AccessToken, Authenticated},
    authz::{Act, Obj},
    domain::Email,
    error::ApiError,
    http::{RequestContext, ValidQuery, pagination::PageRequest},
    modules::members::service::{self, Invite, MemberFilter},
    state::AppState,
    tenancy::Tenant,
};

const PAGE_SIZE: u64 = 50;
/// The roles the form offers (an owner is made by ownership transfer, not invited).
const INVITABLE: &[&str] = &["member", "manager", "hr", "compliance", "admin"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
    /// The address just invited (after the form's redirect).
    #[serde(default)]
    invited: String,
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    csrf_token: String,
    email: String,
    role: String,
}

struct Row {
    email: String,
    name: String,
    role: String,
    status: String,
    department: String,
    last_sign_in: String,
}

#[derive(Template)]
#[template(path = "members.html", config = "admin-ui/askama.toml")]
struct MembersPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    query: &'a MembersQuery,
    rows: Vec<Row>,
    more: Option<String>,
    may_invite: bool,
    roles: &'static [&'static str],
    notice: Option<String>,
    error: Option<String>,
}

/// Renders the members page for `auth` (after a refused invitation, with its message).
async fn render(
    state: &AppState,
    auth: Authenticated,
    csrf: &str,
    query: &MembersQuery,
    error: Option<String>,
) -> PageResult {
    let nav = Nav::of(state, &auth).await?;
    if !nav.members {
        return forbidden("members:read");
    }
    let may_invite = allows(state, &auth, Obj::Members, Act::Invite).await?;
    let org = crate::auth::service::org_name(&auth.tx).await?;
    let filter = MemberFilter {
        search: some(&query.q),
        role: some(&query.role),
        status: some(&query.status),
        department: None,
    };
    let page = PageRequest {
        limit: PAGE_SIZE,
        after: some(&query.after),
    };
    let mut found = service::list(&auth.tx, &filter, &page)
        .await
        .map_err(ApiError::from)?;
    auth.tx.commit().await?;
    let more = (found.len() as u64 > PAGE_SIZE).then(|| {
        found.truncate(PAGE_SIZE as usize);
        let last = found.last().map(|m| m.email.clone()).unwrap_or_default();
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("q", &query.q)
            .append_pair("role", &query.role)
            .append_pair("status", &query.status)
            .append_pair("after", &last);
        format!("/admin/members?{}", q.finish())
    });
    let rows = found
        .into_iter()
        .map(|m| Row {
            email: m.email,
            name: m.display_name,
            role: m.role.unwrap_or_default(),
            status: m.status,
            department: m.department.unwrap_or_default(),
            last_sign_in: m
                .last_login_at
                .map(|t| t.to_utc().format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "never".into()),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(
        status,
        MembersPage {
            org: &org,
            csrf,
            nav,
            query,
            rows,
            more,
            may_invite,
            roles: INVITABLE,
            notice: some(&query.invited).map(|e| format!("Invitation sent to {e}.")),
            error,
        },
    )
}

#[get("/members")]
pub async fn members(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<MembersQuery>,
) -> PageResult {
    let (auth, csrf, _) =
        match signed_in_page(&state, &tenant, &req, request, "/admin/members").await? {
            Ok(page) => page,
            Err(elsewhere) => return Ok(elsewhere),
        };
    render(&state, auth, &csrf, &query, None).await
}

/// Invites one person; back to the list with a notice, or the list with the reason it was refused.
#[post("/members/invite")]
pub async fn invite(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<InviteForm>,
) -> PageResult {
    let form = form.into_inner();
    let token = match AccessToken::read(&req, Some(&form.csrf_token)) {
        Ok(token) => token,
        Err(ApiError::Forbidden { .. }) => return forbidden("the session's CSRF token"),
        Err(_) => return Ok(redirect("/admin/login")),
    };
    let Some(session) = token.session_id() else {
        return Ok(redirect("/admin/login"));
    };
    let csrf = crate::auth::web_session::csrf_token(&state.crypto, session);
    let auth = token.open(&state).await?;
    if !allows(&state, &auth, Obj::Members, Act::Invite).await? {
        return forbidden("members:invite");
    }
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(message) => {
            let error = Some(format!("The address {message}."));
            return render(&state, auth, &csrf, &MembersQuery::default(), error).await;
        }
    };
    if !INVITABLE.contains(&form.role.as_str()) {
        let error = Some("Choose one of the roles offered.".to_owned());
        return render(&state, auth, &csrf, &MembersQuery::default(), error).await;
    }
    let invited = service::invite(
        &auth.tx,
        &auth.ctx,
        &state,
        &auth.principal,
        &tenant,
        Invite {
            email: email.clone(),
            display_name: None,
            role: form.role.clone(),
        },
    )
    .await;
    match invited {
        Ok(_) => {
            auth.tx.commit().await?;
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("invited", email.as_str());
            Ok(redirect(&format!("/admin/members?{}", q.finish())))
        }
        Err(error) => {
            // Nothing was written: the transaction is dropped, and a fresh one renders the list.
            let message = ApiError::from(error).to_string();
            drop(auth);
            let (auth, csrf, _) = match signed_in_page(
                &state,
                &tenant,
                &req,
                RequestContext::default(),
                "/admin/members",
            )
            .await?
            {
                Ok(page) => page,
                Err(elsewhere) => return Ok(elsewhere),
            };
            let query = MembersQuery::default();
            render(&state, auth, &csrf, &query, Some(message)).await
        }
    }
}
