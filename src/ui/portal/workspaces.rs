//! Workspaces (`/workspaces`): the member's team workspaces and starting one; a workspace's page with
//! its documents, starting a document, its members, and its activity — live, with who is viewing
//! what, through the API's event stream (`/static/portal.js`). Only a workspace's members see it,
//! whatever their organization role (docs/workspaces.md); each page calls the services the API calls.

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::Authenticated,
    authz::{Act, Obj},
    coordination::Invalidation,
    domain::TenantId,
    http::{RequestContext, ValidQuery},
    modules::workspaces::{
        Role,
        activity::{self, ActivityRow, Page},
        documents::{self, DocumentRow, Draft, TYPES},
        workspace::{self, WorkspaceRow},
    },
    state::AppState,
    tenancy::Tenant,
    ui::frame::{Nav, Need, PageResult, Refusal, Visit, html, status_of, visit},
};

/// Every workspace page: `workspaces:use` (no plan feature, as in the API).
pub(super) const WORKSPACES: Need = Need {
    feature: None,
    permission: Some((Obj::Workspaces, Act::Use)),
};
const BACK: &str = "/workspaces";
/// Activity entries a page shows (newer ones arrive live).
const FEED: u64 = 20;

/// Wakes whoever streams `workspace`'s activity, here and on the other instances, as the API does
/// after a change commits (without it their streams find the change at their next poll).
pub(super) fn wake(state: &Data<AppState>, tenant: TenantId, workspace: Uuid) {
    let state = state.clone();
    actix_web::rt::spawn(async move {
        let news = Invalidation::WorkspaceActivity {
            tenant_id: tenant,
            workspace_id: workspace,
        };
        state.bus.publish(news).await;
    });
}

/// A document's review state in words.
pub(super) fn review_state(state: &str) -> &'static str {
    match state {
        "in_review" => "in review",
        "changes_requested" => "changes requested",
        "approved" => "approved",
        _ => "draft",
    }
}

/// An activity entry as a page lists it (the script adds live ones in the same shape).
pub(super) struct EntryView {
    pub summary: String,
    pub when: String,
    pub document: Option<String>,
}

impl From<ActivityRow> for EntryView {
    fn from(row: ActivityRow) -> EntryView {
        EntryView {
            summary: row.summary,
            when: row
                .created_at
                .to_utc()
                .format("%-d %b %Y, %H:%M UTC")
                .to_string(),
            document: row.document_id.map(|d| d.to_string()),
        }
    }
}

/// A workspace's feed, newest first.
pub(super) async fn feed(
    auth: &Authenticated,
    user: Uuid,
    workspace: Uuid,
) -> Result<Vec<EntryView>, crate::error::ApiError> {
    let page = Page {
        before: None,
        after: None,
        limit: FEED,
    };
    Ok(activity::of_workspace(&auth.tx, user, workspace, page)
        .await?
        .into_iter()
        .map(EntryView::from)
        .collect())
}

struct WorkspaceView {
    id: String,
    name: String,
    description: String,
    role: String,
    members: i64,
    documents: i64,
    archived: bool,
}

impl From<WorkspaceRow> for WorkspaceView {
    fn from(w: WorkspaceRow) -> WorkspaceView {
        WorkspaceView {
            id: w.id.to_string(),
            archived: w.archived_at.is_some(),
            name: w.name,
            description: w.description,
            role: w.my_role,
            members: w.members,
            documents: w.documents,
        }
    }
}

#[derive(Default)]
struct Typed {
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "portal/workspaces.html", config = "admin-ui/askama.toml")]
struct WorkspacesPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    error: Option<String>,
    workspaces: Vec<WorkspaceView>,
    typed: Typed,
}

#[get("/workspaces")]
pub async fn workspaces_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
) -> PageResult {
    match visit(&state, &tenant, &req, request, BACK, WORKSPACES).await? {
        Ok(visit) => render_list(visit, None, Typed::default()).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render_list(visit: Visit, refusal: Option<Refusal>, typed: Typed) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let (user, _) = auth.principal.user()?;
    let workspaces = workspace::list(&auth.tx, user.as_uuid())
        .await?
        .into_iter()
        .map(WorkspaceView::from)
        .collect();
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        WorkspacesPage {
            org: &org,
            csrf: &csrf,
            nav,
            error: refusal.map(|r| r.message),
            workspaces,
            typed,
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceForm {
    csrf_token: String,
    name: String,
    #[serde(default)]
    description: String,
}

/// Starts a workspace; the member is its first owner.
#[post("/workspaces")]
pub async fn create(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<WorkspaceForm>,
) -> PageResult {
    let form = form.into_inner();
    let typed = Typed {
        name: form.name.clone(),
        description: form.description.clone(),
    };
    let page = async |visit, refusal| render_list(visit, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        workspace::create(&auth.tx, &auth.ctx, user, &form.name, &form.description).await
    };
    let to = |w: WorkspaceRow| format!("/workspaces/{}?done=created", w.id);
    WORKSPACES
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

struct DocumentView {
    id: String,
    title: String,
    kind: String,
    version: i32,
    review: &'static str,
    updated: String,
}

impl From<DocumentRow> for DocumentView {
    fn from(d: DocumentRow) -> DocumentView {
        DocumentView {
            id: d.id.to_string(),
            kind: d.doc_type.replace('_', " "),
            version: d.current_version,
            review: review_state(&d.review_state),
            updated: format!(
                "{}, {}",
                d.updated_by_name.as_deref().unwrap_or("a former member"),
                d.updated_at.to_utc().format("%-d %b %Y, %H:%M UTC")
            ),
            title: d.title,
        }
    }
}

/// A new document's fields, kept when it is refused.
#[derive(Default)]
struct NewDocument {
    kind: String,
    title: String,
    body: String,
}

#[derive(Template)]
#[template(path = "portal/workspace.html", config = "admin-ui/askama.toml")]
struct WorkspacePage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    w: WorkspaceView,
    writes: bool,
    documents: Vec<DocumentView>,
    members: Vec<(String, String)>,
    activity: Vec<EntryView>,
    /// For the activity part: the workspace streamed, all of its documents.
    workspace_id: String,
    only_document: Option<String>,
    /// The member (the live part leaves them out of who is here).
    me: String,
    kinds: Vec<(&'static str, String)>,
    typed: NewDocument,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceQuery {
    #[serde(default)]
    done: String,
}

#[get("/workspaces/{workspace_id}")]
pub async fn workspace_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    id: Path<Uuid>,
    query: ValidQuery<WorkspaceQuery>,
) -> PageResult {
    let back = format!("/workspaces/{}", *id);
    let notice = (query.done == "created").then_some("Your workspace is ready: you own it.");
    match visit(&state, &tenant, &req, request, &back, WORKSPACES).await? {
        Ok(visit) => render(visit, *id, notice, None, NewDocument::default()).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render(
    visit: Visit,
    id: Uuid,
    notice: Option<&str>,
    refusal: Option<Refusal>,
    typed: NewDocument,
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
    let space = workspace::get(&auth.tx, user, id, false).await?;
    let documents = documents::list(&auth.tx, user, id, None)
        .await?
        .into_iter()
        .map(DocumentView::from)
        .collect();
    let members = workspace::members(&auth.tx, user, id)
        .await?
        .into_iter()
        .map(|m| (m.display_name, m.role))
        .collect();
    let activity = feed(&auth, user, id).await?;
    auth.tx.commit().await?;
    let writes = space.role() >= Role::Editor && space.archived_at.is_none();
    html(
        status_of(refusal.as_ref()),
        WorkspacePage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            workspace_id: space.id.to_string(),
            only_document: None,
            me: user.to_string(),
            w: space.into(),
            writes,
            documents,
            members,
            activity,
            kinds: TYPES.iter().map(|t| (*t, t.replace('_', " "))).collect(),
            typed,
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentForm {
    csrf_token: String,
    doc_type: String,
    title: String,
    #[serde(default)]
    body: String,
}

/// Starts a document (editors and owners): its first version.
#[post("/workspaces/{workspace_id}/documents")]
pub async fn create_document(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<DocumentForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let back = format!("/workspaces/{id}");
    let typed = NewDocument {
        kind: form.doc_type.clone(),
        title: form.title.clone(),
        body: form.body.clone(),
    };
    let page = async |visit, refusal| render(visit, id, None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let draft = Draft {
            title: Some(form.title.clone()),
            body: form.body.clone(),
            change_summary: String::new(),
        };
        documents::create(&auth.tx, &auth.ctx, user, id, &form.doc_type, draft, None).await
    };
    let to = |d: DocumentRow| {
        wake(&state, tenant.id, id);
        format!("/workspaces/{id}/documents/{}?done=created", d.id)
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
