//! Communities (`/communities`): the organization's interest groups — the member's own first — starting
//! one, joining and leaving; a community's page with its threads (newest first, older ones a page at a
//! time), its upcoming events and, for its owners and HR, its settings; and a thread's page with its
//! replies, where members reply, authors edit, and authors or moderators remove. The same services and
//! checks as the API (docs/networking.md); a refused post is shown again with the text typed.

use std::collections::HashMap;

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::mentoring::NETWORKING;
use crate::{
    auth::Authenticated,
    domain::UserId,
    http::{RequestContext, ValidQuery},
    modules::{
        analytics::capture::FeatureEvent,
        networking::{
            Caller,
            communities::{self, CommunityChange, CommunityRow},
            community_posts::{self, MAX_DEPTH, PostRow},
            events,
        },
    },
    state::AppState,
    tenancy::Tenant,
    ui::{
        form::CsrfOnly,
        frame::{Nav, PageResult, Refusal, Visit, html, status_of, visit},
    },
};

const BACK: &str = "/communities";
/// Threads on a community's page at once.
const THREADS: u64 = 20;
/// Upcoming events on a community's page.
const EVENTS: u64 = 5;

struct CommunityView {
    id: String,
    name: String,
    description: String,
    members: i64,
    threads: i64,
    /// `owner`, `member`, or empty.
    role: String,
    archived: bool,
}

impl From<CommunityRow> for CommunityView {
    fn from(c: CommunityRow) -> CommunityView {
        CommunityView {
            id: c.id.to_string(),
            archived: c.archived_at.is_some(),
            name: c.name,
            description: c.description,
            members: c.members,
            threads: c.threads,
            role: c.my_role.unwrap_or_default(),
        }
    }
}

/// What the member typed in a form that was refused, shown again.
#[derive(Default)]
struct Typed {
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "portal/communities.html", config = "admin-ui/askama.toml")]
struct CommunitiesPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    mine: Vec<CommunityView>,
    others: Vec<CommunityView>,
    typed: Typed,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunitiesQuery {
    #[serde(default)]
    done: String,
    before: Option<Uuid>,
}

fn notice(done: &str) -> Option<&'static str> {
    match done {
        "created" => Some("Your community is open: you are its owner."),
        "joined" => Some("You joined the community."),
        "left" => Some("You left the community."),
        "updated" => Some("The community's settings were saved."),
        "posted" => Some("Posted."),
        "edited" => Some("Your post was changed."),
        "removed" => Some("The post was removed."),
        _ => None,
    }
}

#[get("/communities")]
pub async fn communities_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<CommunitiesQuery>,
) -> PageResult {
    match visit(&state, &tenant, &req, request, BACK, NETWORKING).await? {
        Ok(visit) => render_list(visit, notice(&query.done), None, Typed::default()).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render_list(
    visit: Visit,
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
    let (mine, others) = communities::list(&auth.tx, user.as_uuid(), false)
        .await?
        .into_iter()
        .map(CommunityView::from)
        .partition(|c| !c.role.is_empty());
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        CommunitiesPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            mine,
            others,
            typed,
        },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityForm {
    csrf_token: String,
    name: String,
    #[serde(default)]
    description: String,
    /// The settings form's checkbox (absent: not archived).
    archived: Option<String>,
}

/// Starts a community; the member becomes its owner.
#[post("/communities")]
pub async fn create(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<CommunityForm>,
) -> PageResult {
    let form = form.into_inner();
    let typed = Typed {
        name: form.name.clone(),
        description: form.description.clone(),
    };
    let page = async |visit, refusal| render_list(visit, None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        communities::create(&auth.tx, &auth.ctx, user, &form.name, &form.description).await
    };
    let to = |c: CommunityRow| format!("/communities/{}?done=created", c.id);
    NETWORKING
        .again(&state, &tenant, &req, BACK)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

struct PostView {
    id: String,
    author: String,
    when: String,
    edited: bool,
    removed: bool,
    body: String,
    replies: i64,
    /// Indentation in rem (a reply's depth).
    indent: i16,
    own: bool,
    can_reply: bool,
    can_remove: bool,
    /// Text refused in this post's reply or edit form, shown again in it (open).
    reply_typed: Option<String>,
    edit_typed: Option<String>,
}

/// What a refused post form held: a reply to `post`, or its new text.
enum Draft {
    Thread(String),
    Settings(Typed, bool),
    Reply { post: Uuid, body: String },
    Edit { post: Uuid, body: String },
}

/// Where the member stands in a community: joined, whether it is active, whether they moderate it.
#[derive(Clone, Copy)]
struct Standing {
    joined: bool,
    active: bool,
    moderates: bool,
}

impl Standing {
    fn of(community: &CommunityRow, member: Caller) -> Standing {
        Standing {
            joined: community.my_role.is_some(),
            active: community.archived_at.is_none(),
            moderates: community.moderated_by(member),
        }
    }

    /// May write new posts and replies: joined, and not archived.
    fn writes(self) -> bool {
        self.joined && self.active
    }
}

/// A thread's posts in reading order: each reply right under the post it answers, replies to the
/// same post in the order written (the service gives them all in the order written).
fn in_thread_order(rows: Vec<PostRow>) -> Vec<PostRow> {
    let mut answers: HashMap<Option<Uuid>, Vec<PostRow>> = HashMap::new();
    for row in rows {
        answers.entry(row.parent_id).or_default().push(row);
    }
    let mut ordered = Vec::new();
    let mut next: Vec<PostRow> = answers.remove(&None).unwrap_or_default();
    next.reverse();
    while let Some(post) = next.pop() {
        if let Some(mut below) = answers.remove(&Some(post.id)) {
            below.reverse();
            next.extend(below);
        }
        ordered.push(post);
    }
    // Replies whose post is beyond the thread's limit: last, in the order written.
    let mut rest: Vec<PostRow> = answers.into_values().flatten().collect();
    rest.sort_by_key(|p| (p.created_at, p.id));
    ordered.extend(rest);
    ordered
}

/// The views of `rows` for the member: what they may do with each.
fn post_views(
    rows: Vec<PostRow>,
    user: Uuid,
    standing: Standing,
    draft: Option<&Draft>,
) -> Vec<PostView> {
    let writes = standing.writes();
    rows.into_iter()
        .map(|p| {
            let removed = p.removed_at.is_some();
            let own = p.author_id == Some(user);
            let typed = |wanted: fn(&Draft) -> Option<(Uuid, &String)>| {
                draft
                    .and_then(wanted)
                    .filter(|(post, _)| *post == p.id)
                    .map(|(_, body)| body.clone())
            };
            PostView {
                id: p.id.to_string(),
                author: p.author_name.unwrap_or_else(|| "A former member".into()),
                when: p
                    .created_at
                    .to_utc()
                    .format("%-d %b %Y, %H:%M UTC")
                    .to_string(),
                edited: p.edited_at.is_some(),
                removed,
                replies: p.replies,
                indent: p.depth.min(MAX_DEPTH) * 2,
                // The author edits while the community is active, joined or not (as the API).
                own: own && !removed && standing.active,
                can_reply: writes && !removed && p.depth < MAX_DEPTH,
                can_remove: !removed && (own || standing.moderates),
                reply_typed: typed(|d| match d {
                    Draft::Reply { post, body } => Some((*post, body)),
                    _ => None,
                }),
                edit_typed: typed(|d| match d {
                    Draft::Edit { post, body } => Some((*post, body)),
                    _ => None,
                }),
                body: p.body,
            }
        })
        .collect()
}

struct EventLink {
    id: String,
    title: String,
    when: String,
    my_status: String,
}

#[derive(Template)]
#[template(path = "portal/community.html", config = "admin-ui/askama.toml")]
struct CommunityPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    c: CommunityView,
    /// The member may write in it: joined, and it is not archived.
    writes: bool,
    moderates: bool,
    threads: Vec<PostView>,
    older: Option<String>,
    events: Vec<EventLink>,
    /// A new thread's text, refused.
    typed: String,
    /// A new thread's text, refused, when its form is not shown (the member has not joined).
    unplaced: Option<String>,
    /// The settings form: as saved, or as typed when refused.
    settings: Typed,
    archived: bool,
    /// Showing older threads (`before`): the way back to the newest.
    paged: bool,
}

#[get("/communities/{community_id}")]
pub async fn community_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    id: Path<Uuid>,
    query: ValidQuery<CommunitiesQuery>,
) -> PageResult {
    let back = match query.before {
        Some(before) => format!("/communities/{}?before={before}", *id),
        None => format!("/communities/{}", *id),
    };
    match visit(&state, &tenant, &req, request, &back, NETWORKING).await? {
        Ok(visit) => {
            let shown = Shown {
                before: query.before,
                notice: notice(&query.done),
            };
            render_community(&state, visit, *id, shown, None, None).await
        }
        Err(elsewhere) => Ok(elsewhere),
    }
}

/// Which page of threads, and the notice of what was done.
#[derive(Default)]
struct Shown<'a> {
    before: Option<Uuid>,
    notice: Option<&'a str>,
}

async fn render_community(
    state: &AppState,
    visit: Visit,
    id: Uuid,
    shown: Shown<'_>,
    refusal: Option<Refusal>,
    draft: Option<Draft>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let member = Caller::of(state, &auth).await?;
    let community = communities::get(&auth.tx, member.user, id, false).await?;
    let standing = Standing::of(&community, member);
    let (writes, moderates) = (standing.writes(), standing.moderates);
    // One more than shown: whether there are older threads.
    let mut rows = community_posts::threads(&auth.tx, id, THREADS + 1, shown.before).await?;
    let more = rows.len() as u64 > THREADS;
    rows.truncate(THREADS as usize);
    let older = more
        .then(|| {
            rows.last()
                .map(|r| format!("/communities/{id}?before={}", r.id))
        })
        .flatten();
    let threads = post_views(rows, member.user, standing, None);
    let now = auth.ctx.now;
    let events = events::list(&auth.tx, member.user, now, Some(id), EVENTS)
        .await?
        .into_iter()
        .map(|e| EventLink {
            id: e.id.to_string(),
            when: e.when(),
            my_status: match (e.status.as_str(), e.my_status.as_deref()) {
                ("cancelled", _) => "cancelled".into(),
                (_, Some(status)) => format!("you are {status}"),
                _ => String::new(),
            },
            title: e.title,
        })
        .collect();
    auth.tx.commit().await?;
    let (mut settings, mut archived) = (
        Typed {
            name: community.name.clone(),
            description: community.description.clone(),
        },
        community.archived_at.is_some(),
    );
    let (typed, unplaced) = match draft {
        Some(Draft::Thread(body)) if writes => (body, None),
        Some(Draft::Thread(body)) => (String::new(), Some(body)),
        Some(Draft::Settings(typed, typed_archived)) => {
            (settings, archived) = (typed, typed_archived);
            (String::new(), None)
        }
        _ => (String::new(), None),
    };
    html(
        status_of(refusal.as_ref()),
        CommunityPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice: shown.notice,
            error: refusal.map(|r| r.message),
            c: community.into(),
            writes,
            moderates,
            threads,
            older,
            events,
            typed,
            unplaced,
            settings,
            archived,
            paged: shown.before.is_some(),
        },
    )
}

/// Its owners and HR rename it, describe it, archive it (read-only) or open it again.
#[post("/communities/{community_id}/settings")]
pub async fn update(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CommunityForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let back = format!("/communities/{id}");
    let draft = Draft::Settings(
        Typed {
            name: form.name.clone(),
            description: form.description.clone(),
        },
        form.archived.is_some(),
    );
    let page = async |visit, refusal| {
        let shown = Shown::default();
        render_community(&state, visit, id, shown, Some(refusal), Some(draft)).await
    };
    let act = async |auth: &Authenticated, _: Uuid| {
        let member = Caller::of(&state, auth).await?;
        let change = CommunityChange {
            name: Some(form.name.clone()),
            description: Some(form.description.clone()),
            archived: Some(form.archived.is_some()),
        };
        communities::update(&auth.tx, &auth.ctx, member, id, change).await
    };
    let to = |_| format!("/communities/{id}?done=updated");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[post("/communities/{community_id}/join")]
pub async fn join(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let id = *id;
    let back = format!("/communities/{id}");
    let page = async |visit, refusal| {
        render_community(&state, visit, id, Shown::default(), Some(refusal), None).await
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        communities::join(&auth.tx, &auth.ctx, user, id).await
    };
    let to = |_| format!("/communities/{id}?done=joined");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[post("/communities/{community_id}/leave")]
pub async fn leave(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let id = *id;
    let back = format!("/communities/{id}");
    let page = async |visit, refusal| {
        render_community(&state, visit, id, Shown::default(), Some(refusal), None).await
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        // Left already (a second tab, a second click): done, as asked.
        if communities::get(&auth.tx, user, id, true)
            .await?
            .my_role
            .is_none()
        {
            return Ok(());
        }
        communities::leave(&auth.tx, &auth.ctx, user, id).await
    };
    let to = |_| "/communities?done=left".to_owned();
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostForm {
    csrf_token: String,
    body: String,
    /// The post answered (absent: a new thread).
    parent_id: Option<Uuid>,
}

/// A new thread (shown again on the community's page when refused) or a reply (on the thread's).
#[post("/communities/{community_id}/posts")]
pub async fn write(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    id: Path<Uuid>,
    form: Form<PostForm>,
) -> PageResult {
    let id = *id;
    let form = form.into_inner();
    let back = match form.parent_id {
        Some(parent) => format!("/communities/{id}/posts/{parent}"),
        None => format!("/communities/{id}"),
    };
    let page = async |visit, refusal| match form.parent_id {
        Some(post) => {
            let draft = Draft::Reply {
                post,
                body: form.body.clone(),
            };
            render_thread(&state, visit, (id, post), None, Some(refusal), Some(draft)).await
        }
        None => {
            let draft = Draft::Thread(form.body.clone());
            render_community(
                &state,
                visit,
                id,
                Shown::default(),
                Some(refusal),
                Some(draft),
            )
            .await
        }
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        community_posts::write(&auth.tx, &auth.ctx, user, id, form.parent_id, &form.body).await
    };
    // After the commit, as the API does: the post counts in the organization's usage figures.
    let to = |p: PostRow| {
        let author = p.author_id.map(UserId::from_uuid);
        let kind = if p.parent_id.is_some() {
            "reply"
        } else {
            "thread"
        };
        state
            .usage
            .feature(tenant.id, author, FeatureEvent::CommunityPost, kind);
        thread_address(&p, "posted")
    };
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// The page of the thread `p` is in, at `p`.
fn thread_address(p: &PostRow, done: &str) -> String {
    let root = p.root_id.unwrap_or(p.id);
    format!(
        "/communities/{}/posts/{root}?done={done}#post-{}",
        p.community_id, p.id
    )
}

#[derive(Template)]
#[template(path = "portal/thread.html", config = "admin-ui/askama.toml")]
struct ThreadPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    notice: Option<&'a str>,
    error: Option<String>,
    community_id: String,
    community: String,
    archived: bool,
    joined: bool,
    title: String,
    posts: Vec<PostView>,
    /// Text refused whose form is no longer shown (the post it answered was removed meanwhile).
    unplaced: Option<String>,
}

#[get("/communities/{community_id}/posts/{post_id}")]
pub async fn thread_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    path: Path<(Uuid, Uuid)>,
    query: ValidQuery<CommunitiesQuery>,
) -> PageResult {
    let (community, post) = path.into_inner();
    let back = format!("/communities/{community}/posts/{post}");
    match visit(&state, &tenant, &req, request, &back, NETWORKING).await? {
        Ok(visit) => {
            let notice = notice(&query.done);
            render_thread(&state, visit, (community, post), notice, None, None).await
        }
        Err(elsewhere) => Ok(elsewhere),
    }
}

async fn render_thread(
    state: &AppState,
    visit: Visit,
    (community_id, post): (Uuid, Uuid),
    notice: Option<&str>,
    refusal: Option<Refusal>,
    draft: Option<Draft>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let member = Caller::of(state, &auth).await?;
    let community = communities::get(&auth.tx, member.user, community_id, false).await?;
    let rows = community_posts::thread(&auth.tx, community_id, post).await?;
    auth.tx.commit().await?;
    let standing = Standing::of(&community, member);
    let title = rows
        .first()
        .map(|p| match p.removed_at {
            Some(_) => "A removed post".to_owned(),
            None => summary(&p.body),
        })
        .unwrap_or_default();
    let posts = post_views(in_thread_order(rows), member.user, standing, draft.as_ref());
    let placed = posts
        .iter()
        .any(|p| p.reply_typed.is_some() && p.can_reply || p.edit_typed.is_some() && p.own);
    let unplaced = match draft {
        Some(Draft::Reply { body, .. } | Draft::Edit { body, .. }) if !placed => Some(body),
        _ => None,
    };
    html(
        status_of(refusal.as_ref()),
        ThreadPage {
            org: &org,
            csrf: &csrf,
            nav,
            notice,
            error: refusal.map(|r| r.message),
            community_id: community.id.to_string(),
            joined: community.my_role.is_some(),
            archived: community.archived_at.is_some(),
            community: community.name,
            title,
            posts,
            unplaced,
        },
    )
}

/// A thread's title: its post's first line, at most 80 characters.
fn summary(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditForm {
    csrf_token: String,
    body: String,
}

/// The author changes their post.
#[post("/communities/{community_id}/posts/{post_id}/edit")]
pub async fn edit(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid)>,
    form: Form<EditForm>,
) -> PageResult {
    let (id, post) = path.into_inner();
    let form = form.into_inner();
    let back = format!("/communities/{id}/posts/{post}");
    let page = async |visit, refusal| {
        let draft = Draft::Edit {
            post,
            body: form.body.clone(),
        };
        render_thread(&state, visit, (id, post), None, Some(refusal), Some(draft)).await
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        community_posts::edit(&auth.tx, &auth.ctx, user, id, post, &form.body).await
    };
    let to = |p: PostRow| thread_address(&p, "edited");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Its author, the community's owners or HR remove a post: its place in the thread stays.
#[post("/communities/{community_id}/posts/{post_id}/remove")]
pub async fn remove(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid)>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let (id, post) = path.into_inner();
    let back = format!("/communities/{id}/posts/{post}");
    let page = async |visit, refusal| {
        render_thread(&state, visit, (id, post), None, Some(refusal), None).await
    };
    let act = async |auth: &Authenticated, _: Uuid| {
        let member = Caller::of(&state, auth).await?;
        community_posts::remove(&auth.tx, &auth.ctx, member, id, post).await?;
        community_posts::get(&auth.tx, id, post).await
    };
    let to = |p: PostRow| thread_address(&p, "removed");
    NETWORKING
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}
