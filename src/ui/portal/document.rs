//! A workspace document (`/workspaces/{w}/documents/{d}`): its current text; its comment threads, each
//! on the passage it quotes (followed through later saves, or marked outdated), with replies and
//! resolving ([`super::discussion`]); its reviews and deciding one's turn; its activity, live, and who
//! else has it open (`/static/portal.js`). Editing (`…/edit`) posts the whole text with the version it
//! was based on; when someone saved in between, the save is refused (the API's 412) and the conflict
//! page shows their version, the member's own text kept in the box, and the lines that differ — nothing
//! is lost and nothing overwritten (ADR 0018).

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    lf,
    workspaces::{EntryView, WORKSPACES, feed, review_state, wake},
};
use crate::{
    auth::Authenticated,
    error::ApiError,
    http::{RequestContext, ValidQuery},
    modules::workspaces::{
        Role,
        comments::{self, Status},
        documents::{self, DocumentRow, Draft},
        reviews::{self, Review},
        versions::{self, DiffLine},
        workspace::{self, WorkspaceRow},
    },
    state::AppState,
    tenancy::Tenant,
    ui::frame::{Nav, PageResult, Refusal, Visit, html, status_of, visit},
};

/// A document's address.
pub(super) fn address(workspace: Uuid, document: Uuid) -> String {
    format!("/workspaces/{workspace}/documents/{document}")
}

/// Whether the member may comment: their role, and the workspace's comment policy.
fn comments_open(space: &WorkspaceRow) -> bool {
    let needed = match space.comment_policy.as_str() {
        "off" => return false,
        "editors" => Role::Editor,
        _ => Role::Commenter,
    };
    space.role() >= needed && space.archived_at.is_none()
}

struct CommentView {
    id: String,
    author: String,
    when: String,
    body: String,
    deleted: bool,
    edited: bool,
}

struct ThreadView {
    id: String,
    quote: Option<String>,
    outdated: bool,
    resolved: Option<String>,
    comments: Vec<CommentView>,
    /// A refused reply's text.
    reply_typed: String,
}

struct ApproverView {
    name: String,
    state: String,
    comment: String,
}

struct ReviewView {
    id: String,
    status: String,
    mode: &'static str,
    version: i32,
    message: String,
    requested_by: String,
    approvers: Vec<ApproverView>,
    my_turn: bool,
    withdrawable: bool,
}

impl ReviewView {
    fn new(r: Review, user: Uuid, role: Role, active: bool) -> ReviewView {
        let turn: Vec<Uuid> = r.waiting_on().iter().map(|a| a.user_id).collect();
        let open = r.review.status == "open" && active;
        ReviewView {
            id: r.review.id.to_string(),
            status: r.review.status.replace('_', " "),
            mode: if r.is_chain() {
                "each in turn"
            } else {
                "any one of them"
            },
            version: r.review.version,
            message: r.review.message.clone(),
            requested_by: r.review.requested_by_name.clone().unwrap_or_default(),
            my_turn: active && turn.contains(&user),
            withdrawable: open && (r.review.requested_by == Some(user) || role >= Role::Owner),
            approvers: r
                .approvers
                .iter()
                .map(|a| ApproverView {
                    name: a.name.clone(),
                    state: match a.decision.as_deref() {
                        Some("approved") => "approved".into(),
                        Some(other) => other.replace('_', " "),
                        None if turn.contains(&a.user_id) => "their turn".into(),
                        None => "waiting".into(),
                    },
                    comment: a.comment.clone(),
                })
                .collect(),
        }
    }
}

/// What a refused form on the document's page held.
#[derive(Default)]
pub(super) struct Typed {
    pub quote: String,
    pub comment: String,
    pub reply: Option<(Uuid, String)>,
    pub review_message: String,
    /// The review form was posted (and refused): it stays open.
    pub review_asked: bool,
    pub decision_comment: String,
}

#[derive(Template)]
#[template(path = "portal/document.html", config = "admin-ui/askama.toml")]
struct DocumentPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    workspace_id: String,
    workspace: String,
    id: String,
    title: String,
    kind: String,
    version: i32,
    review: &'static str,
    updated: String,
    body: String,
    can_edit: bool,
    /// Why editing is closed, when the member's role would allow it.
    edit_closed: Option<&'static str>,
    can_comment: bool,
    threads: Vec<ThreadView>,
    reviews: Vec<ReviewView>,
    /// The member may ask for a review now.
    can_ask: bool,
    /// The workspace's review mode when none is chosen.
    default_mode: String,
    /// A refused text whose form is gone.
    unplaced: Option<String>,
    /// The workspace's other members: id, name, and whether they may approve (not viewers).
    colleagues: Vec<(String, String, bool)>,
    approvers_available: bool,
    activity: Vec<EntryView>,
    /// For the activity part: this document's entries of the workspace's stream.
    only_document: Option<String>,
    /// The member (the live part leaves them out of who is here).
    me: String,
    typed: Typed,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "created" => Some("The document is started: this is its version 1."),
        "saved" => Some("Saved as a new version."),
        "restored" => Some("The version was restored as the newest."),
        "commented" => Some("Your comment was added."),
        "replied" => Some("Your reply was added."),
        "resolved" => Some("The thread was resolved."),
        "reopened" => Some("The thread was reopened."),
        "asked" => Some("The review was asked for: the approvers hear of it by mail."),
        "decided" => Some("Your decision was recorded."),
        "withdrawn" => Some("The review was withdrawn."),
        _ => None,
    }
}

#[get("/workspaces/{workspace_id}/documents/{document_id}")]
pub async fn document_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    path: Path<(Uuid, Uuid)>,
    query: ValidQuery<DocumentQuery>,
) -> PageResult {
    let (workspace, id) = path.into_inner();
    let back = address(workspace, id);
    match visit(&state, &tenant, &req, request, &back, WORKSPACES).await? {
        Ok(visit) => {
            let notice = notice(&query.done);
            render(visit, (workspace, id), notice, None, Typed::default()).await
        }
        Err(elsewhere) => Ok(elsewhere),
    }
}

/// The document's page, as it is now (after a refusal: with the reason and what was typed).
pub(super) async fn render(
    visit: Visit,
    (workspace, id): (Uuid, Uuid),
    notice: Option<&str>,
    refusal: Option<Refusal>,
    typed: Typed,
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
    let mut threads: Vec<ThreadView> = Vec::new();
    for c in comments::list(&auth.tx, user, workspace, id, Status::All).await? {
        let view = CommentView {
            id: c.id.to_string(),
            author: c
                .author_name
                .clone()
                .unwrap_or_else(|| "A former member".into()),
            when: c
                .created_at
                .to_utc()
                .format("%-d %b %Y, %H:%M UTC")
                .to_string(),
            deleted: c.deleted_at.is_some(),
            edited: c.edited_at.is_some(),
            body: c.body.clone(),
        };
        if c.is_thread() {
            threads.push(ThreadView {
                id: c.id.to_string(),
                quote: c.quote.clone(),
                outdated: c.outdated_version.is_some(),
                resolved: c.resolved_at.map(|_| {
                    c.resolved_by_name
                        .clone()
                        .unwrap_or_else(|| "a former member".into())
                }),
                reply_typed: match &typed.reply {
                    Some((to, text)) if *to == c.id => text.clone(),
                    _ => String::new(),
                },
                comments: vec![view],
            });
        } else if let Some(thread) = threads
            .iter_mut()
            .rev()
            .find(|t| t.id == c.thread_id.to_string())
        {
            thread.comments.push(view);
        }
    }
    let role = space.role();
    let reviews: Vec<ReviewView> = reviews::list(&auth.tx, user, workspace, id)
        .await?
        .into_iter()
        .map(|r| ReviewView::new(r, user, role, space.archived_at.is_none()))
        .collect();
    let colleagues: Vec<(String, String, bool)> = workspace::members(&auth.tx, user, workspace)
        .await?
        .into_iter()
        .filter(|m| m.user_id != user && m.active)
        .map(|m| (m.user_id.to_string(), m.display_name, m.role != "viewer"))
        .collect();
    let activity = feed(&auth, user, workspace)
        .await?
        .into_iter()
        .filter(|e| e.document.as_deref() == Some(&id.to_string()))
        .collect();
    auth.tx.commit().await?;
    let active = space.archived_at.is_none();
    let in_review = doc.review_state == "in_review";
    let edit_closed = match (role >= Role::Editor, active, in_review) {
        (false, _, _) => None,
        (true, false, _) => Some("The workspace is archived: it is read-only."),
        (true, true, true) => Some(
            "The document is in review: it can be changed again once the review is decided, or \
             withdrawn by whoever asked for it or an owner.",
        ),
        (true, true, false) => None,
    };
    let can_comment = comments_open(&space);
    // Text refused whose form is no longer on the page (the thread was resolved, the turn passed,
    // comments were closed meanwhile): shown to copy from.
    let my_turn = reviews.iter().any(|r| r.my_turn);
    let thread_closed = |to: &Uuid| {
        !can_comment
            || threads
                .iter()
                .any(|t| t.id == to.to_string() && t.resolved.is_some())
    };
    let unplaced = match &typed.reply {
        Some((to, text)) if thread_closed(to) => Some(text.clone()),
        _ if !typed.decision_comment.is_empty() && !my_turn => Some(typed.decision_comment.clone()),
        _ if !typed.comment.is_empty() && !can_comment => Some(typed.comment.clone()),
        _ if typed.review_asked && !(role >= Role::Editor && active && !in_review) => {
            Some(typed.review_message.clone()).filter(|m| !m.is_empty())
        }
        _ => None,
    };
    html(
        status_of(refusal.as_ref()),
        DocumentPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            workspace_id: workspace.to_string(),
            can_edit: role >= Role::Editor && active && !in_review,
            edit_closed,
            can_comment,
            unplaced,
            default_mode: space.default_review_mode.clone(),
            can_ask: role >= Role::Editor && active && !in_review,
            workspace: space.name,
            id: doc.id.to_string(),
            kind: doc.doc_type.replace('_', " "),
            version: doc.current_version,
            review: review_state(&doc.review_state),
            updated: updated(&doc),
            title: doc.title,
            body: doc.body,
            threads,
            reviews,
            approvers_available: colleagues.iter().any(|(_, _, may)| *may),
            colleagues,
            activity,
            only_document: Some(id.to_string()),
            me: user.to_string(),
            typed,
        },
    )
}

/// "Saved by Ed, 3 Dec 2026, 14:02 UTC".
fn updated(doc: &DocumentRow) -> String {
    format!(
        "{}, {}",
        doc.updated_by_name.as_deref().unwrap_or("a former member"),
        doc.updated_at.to_utc().format("%-d %b %Y, %H:%M UTC")
    )
}

/// What the editor holds: the member's text, and what it was based on.
pub(super) struct Editing {
    pub title: String,
    pub body: String,
    pub change_summary: String,
    /// The version the text was based on.
    pub based_on: i32,
}

/// The other side of a conflict: the version saved since, and how the member's text differs from it.
struct Conflict {
    by: String,
    version: i32,
    theirs: String,
    lines: Vec<DiffLine>,
    inserted: usize,
    deleted: usize,
}

#[derive(Template)]
#[template(path = "portal/edit.html", config = "admin-ui/askama.toml")]
struct EditPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    error: Option<String>,
    workspace_id: String,
    workspace: String,
    id: String,
    /// The version the text in the box is based on (after a conflict: the current one).
    based_on: i32,
    editing: Editing,
    conflict: Option<Conflict>,
    /// The live part: who else has it open, a save by someone else.
    me: String,
}

#[get("/workspaces/{workspace_id}/documents/{document_id}/edit")]
pub async fn edit_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    path: Path<(Uuid, Uuid)>,
) -> PageResult {
    let (workspace, id) = path.into_inner();
    let back = format!("{}/edit", address(workspace, id));
    match visit(&state, &tenant, &req, request, &back, WORKSPACES).await? {
        Ok(visit) => render_edit(visit, (workspace, id), None, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

/// The editor: the current text; or, after a refusal, the member's own text with the reason — and,
/// when someone saved in between (412), their version and the differences.
async fn render_edit(
    visit: Visit,
    (workspace, id): (Uuid, Uuid),
    refusal: Option<Refusal>,
    mine: Option<Editing>,
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
    auth.tx.commit().await?;
    if refusal.is_none() {
        // Opening the editor is for those who may save; a reader gets the reason, not a form.
        space.role().require(Role::Editor, "writing documents")?;
    }
    let stale = refusal
        .as_ref()
        .is_some_and(|r| r.status == actix_web::http::StatusCode::PRECONDITION_FAILED);
    let conflict = match (&mine, stale) {
        (Some(mine), true) => {
            let (current, text) = (doc.current_version, mine.body.clone());
            let theirs = doc.body.clone();
            let diff = tokio::task::spawn_blocking(move || {
                versions::compare(current, current + 1, &theirs, &text)
            })
            .await
            .map_err(ApiError::internal)?;
            Some(Conflict {
                by: updated(&doc),
                version: doc.current_version,
                theirs: doc.body.clone(),
                inserted: diff.inserted,
                deleted: diff.deleted,
                lines: diff.lines,
            })
        }
        _ => None,
    };
    // After a conflict the text in the box is the member's answer to the current version; after any
    // other refusal it is still based on the version they started from, so a save by someone else in
    // between is caught when they try again.
    let based_on = match (&mine, stale) {
        (Some(mine), false) => mine.based_on,
        _ => doc.current_version,
    };
    let editing = mine.unwrap_or_else(|| Editing {
        title: doc.title.clone(),
        body: doc.body.clone(),
        change_summary: String::new(),
        based_on,
    });
    html(
        status_of(refusal.as_ref()),
        EditPage {
            org: &org,
            csrf: &csrf,
            nav,
            error: refusal.map(|r| r.message),
            workspace_id: workspace.to_string(),
            workspace: space.name,
            id: doc.id.to_string(),
            based_on,
            editing,
            conflict,
            me: user.to_string(),
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveForm {
    csrf_token: String,
    title: String,
    body: String,
    #[serde(default)]
    change_summary: String,
    /// The version the text was based on (the API's `If-Match`).
    based_on: String,
}

/// Saves the text as a new version — only if nobody saved since the version it was based on.
#[post("/workspaces/{workspace_id}/documents/{document_id}")]
pub async fn save(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid)>,
    form: Form<SaveForm>,
) -> PageResult {
    let (workspace, id) = path.into_inner();
    let form = form.into_inner();
    let back = format!("{}/edit", address(workspace, id));
    // Browsers send a textarea's line breaks as CRLF; the document keeps LF (as the service stores it).
    let body = lf(&form.body);
    // A number we never issued matches no version: refused as stale, as the API's If-Match.
    let based_on = form.based_on.trim().parse().unwrap_or(0);
    let mine = Editing {
        title: form.title.clone(),
        body: body.clone(),
        change_summary: form.change_summary.clone(),
        based_on,
    };
    let page =
        async |visit, refusal| render_edit(visit, (workspace, id), Some(refusal), Some(mine)).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let based_on = Some(based_on);
        let draft = Draft {
            title: Some(form.title.clone()),
            body,
            change_summary: form.change_summary.clone(),
        };
        documents::save(
            &auth.tx, &auth.ctx, user, workspace, id, based_on, draft, None,
        )
        .await
    };
    let to = |_| {
        wake(&state, tenant.id, workspace);
        format!("{}?done=saved", address(workspace, id))
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
