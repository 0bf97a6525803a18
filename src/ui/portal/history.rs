//! A document's history (`…/history`): every version with who saved it, when and why; two of them
//! compared line by line (by default the newest against the one before); one version read whole
//! (`…/versions/{n}`) and, for editors, restored — saved again as the newest, so history only grows.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    document::address,
    workspaces::{WORKSPACES, wake},
};
use crate::{
    auth::Authenticated,
    http::{RequestContext, ValidQuery},
    modules::workspaces::{
        Role, documents,
        versions::{self, Diff},
    },
    state::AppState,
    tenancy::Tenant,
    ui::frame::{Nav, PageResult, Refusal, Visit, html, status_of, visit},
};

struct VersionView {
    number: i32,
    title: String,
    author: String,
    when: String,
    summary: String,
    length: i32,
    restored_from: Option<i32>,
}

#[derive(Template)]
#[template(path = "portal/history.html", config = "admin-ui/askama.toml")]
struct HistoryPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    workspace_id: String,
    id: String,
    title: String,
    versions: Vec<VersionView>,
    from: i32,
    to: i32,
    diff: Option<Diff>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    from: Option<i32>,
    to: Option<i32>,
}

#[get("/workspaces/{workspace_id}/documents/{document_id}/history")]
pub async fn history_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    path: Path<(Uuid, Uuid)>,
    query: ValidQuery<HistoryQuery>,
) -> PageResult {
    let (workspace, id) = path.into_inner();
    let back = format!("{}/history", address(workspace, id));
    let visit = match visit(&state, &tenant, &req, request, &back, WORKSPACES).await? {
        Ok(visit) => visit,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    let (_, doc) = documents::get(&auth.tx, user, workspace, id, false).await?;
    let rows = versions::list(&auth.tx, user, workspace, id).await?;
    // The newest against the one before, unless two were chosen.
    let to = query.to.unwrap_or(doc.current_version);
    let from = query.from.unwrap_or(to.saturating_sub(1).max(1));
    let diff = if from == to && query.from.is_none() {
        None
    } else {
        Some(versions::diff(&auth.tx, user, workspace, id, Some(from), Some(to)).await?)
    };
    auth.tx.commit().await?;
    let versions = rows
        .into_iter()
        .map(|v| VersionView {
            number: v.number,
            title: v.title,
            author: v.author_name.unwrap_or_else(|| "a former member".into()),
            when: v
                .created_at
                .to_utc()
                .format("%-d %b %Y, %H:%M UTC")
                .to_string(),
            summary: v.change_summary,
            length: v.length,
            restored_from: v.restored_from,
        })
        .collect();
    html(
        status_of(None),
        HistoryPage {
            org: &org,
            csrf: &csrf,
            nav,
            workspace_id: workspace.to_string(),
            id: id.to_string(),
            title: doc.title,
            versions,
            from,
            to,
            diff,
        },
    )
}

#[derive(Template)]
#[template(path = "portal/version.html", config = "admin-ui/askama.toml")]
struct VersionPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    error: Option<String>,
    workspace_id: String,
    id: String,
    number: i32,
    current: i32,
    title: String,
    body: String,
    author: String,
    when: String,
    can_restore: bool,
}

#[get("/workspaces/{workspace_id}/documents/{document_id}/versions/{version_number}")]
pub async fn version_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    path: Path<(Uuid, Uuid, i32)>,
) -> PageResult {
    let (workspace, id, number) = path.into_inner();
    let back = format!("{}/versions/{number}", address(workspace, id));
    match visit(&state, &tenant, &req, request, &back, WORKSPACES).await? {
        Ok(visit) => render_version(visit, (workspace, id, number), None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render_version(
    visit: Visit,
    (workspace, id, number): (Uuid, Uuid, i32),
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    let (space, doc) = documents::get(&auth.tx, user, workspace, id, false).await?;
    let version = versions::get(&auth.tx, user, workspace, id, number).await?;
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        VersionPage {
            org: &org,
            csrf: &csrf,
            nav,
            error: refusal.map(|r| r.message),
            workspace_id: workspace.to_string(),
            id: id.to_string(),
            number,
            current: doc.current_version,
            can_restore: space.role() >= Role::Editor
                && space.archived_at.is_none()
                && number != doc.current_version
                && doc.review_state != "in_review",
            title: version.title,
            body: version.body,
            author: version
                .author_name
                .unwrap_or_else(|| "a former member".into()),
            when: version
                .created_at
                .to_utc()
                .format("%-d %b %Y, %H:%M UTC")
                .to_string(),
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreForm {
    csrf_token: String,
    /// The current version when the page was drawn (the API's `If-Match`).
    based_on: String,
}

/// Restores a version as the newest — only if nobody saved since the page was drawn.
#[post("/workspaces/{workspace_id}/documents/{document_id}/versions/{version_number}/restore")]
pub async fn restore(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid, i32)>,
    form: Form<RestoreForm>,
) -> PageResult {
    let (workspace, id, number) = path.into_inner();
    let back = format!("{}/versions/{number}", address(workspace, id));
    let page =
        async |visit, refusal| render_version(visit, (workspace, id, number), Some(refusal)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let based_on = Some(form.based_on.trim().parse().unwrap_or(0));
        versions::restore(&auth.tx, &auth.ctx, user, workspace, id, number, based_on).await
    };
    let to = |_| {
        wake(&state, tenant.id, workspace);
        format!("{}?done=restored", address(workspace, id))
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
