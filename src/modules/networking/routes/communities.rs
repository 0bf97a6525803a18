//! `/api/v1/network/communities`: interest groups, their posts and threaded replies.

use actix_web::{
    HttpResponse, delete, get, patch, post, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{caller, open};
use crate::{
    auth::AccessToken,
    authz::Act,
    error::{ApiError, ApiResult},
    http::{ValidJson, ValidQuery},
    modules::networking::{
        Caller,
        communities::{self, CommunityChange, CommunityRow},
        community_posts::{self, PostRow},
    },
    state::AppState,
    tenancy::Tenant,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub members: i64,
    /// Threads (posts that are not replies, not removed).
    pub threads: i64,
    /// `owner`, `member`, or null when the caller has not joined.
    pub my_role: Option<String>,
    /// Whether the caller moderates it (an owner, or HR).
    pub moderates: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CommunityResponse {
    fn new(row: CommunityRow, member: Caller) -> CommunityResponse {
        CommunityResponse {
            moderates: row.moderated_by(member),
            id: row.id,
            name: row.name,
            description: row.description,
            archived: row.archived_at.is_some(),
            members: row.members,
            threads: row.threads,
            my_role: row.my_role,
            created_at: row.created_at.to_utc(),
            updated_at: row.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunitiesResponse {
    pub items: Vec<CommunityResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCommunitiesQuery {
    /// Only the communities the caller is in.
    pub mine: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Women in Engineering", "description": "Talks, mentoring circles and a monthly lunch."}))]
pub struct CreateCommunityRequest {
    /// 1 to 120 characters, unique in the organization.
    pub name: String,
    /// At most 2,000 characters.
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"archived": true}))]
pub struct UpdateCommunityRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// An archived community is read-only; false brings it back.
    pub archived: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostResponse {
    pub id: Uuid,
    pub community_id: Uuid,
    /// The post or reply this answers (null: a thread's post).
    pub parent_id: Option<Uuid>,
    /// The thread's post (null: this is it).
    pub root_id: Option<Uuid>,
    pub depth: i16,
    pub author: Option<PostAuthor>,
    /// Empty once removed.
    pub body: String,
    pub removed: bool,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// Replies in the thread (for a thread's post).
    pub replies: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostAuthor {
    pub id: Uuid,
    pub display_name: String,
}

impl From<PostRow> for PostResponse {
    fn from(row: PostRow) -> PostResponse {
        PostResponse {
            id: row.id,
            community_id: row.community_id,
            parent_id: row.parent_id,
            root_id: row.root_id,
            depth: row.depth,
            author: row
                .author_id
                .zip(row.author_name)
                .map(|(id, display_name)| PostAuthor { id, display_name }),
            body: row.body,
            removed: row.removed_at.is_some(),
            created_at: row.created_at.to_utc(),
            edited_at: row.edited_at.map(|t| t.to_utc()),
            replies: row.replies,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostsResponse {
    pub items: Vec<PostResponse>,
    /// Pass as `before` for the next page (null: no more).
    pub next_before: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadResponse {
    /// The thread's post, then its replies in the order written (each with its `parent_id`).
    pub items: Vec<PostResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPostsQuery {
    /// Threads per page: 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The last thread of the previous page.
    pub before: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Who is going to the platform talk on Thursday?"}))]
pub struct WritePostRequest {
    /// Markdown; 1 to 10,000 characters.
    pub body: String,
    /// The post or reply this answers (absent: a new thread).
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Who is going to the platform talk on Friday?"}))]
pub struct EditPostRequest {
    pub body: String,
}

/// Starts a community; the caller becomes its owner.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    request_body = CreateCommunityRequest,
    responses(
        (status = 201, description = "Started", body = CommunityResponse),
        (status = 409, description = "A community of this name exists", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/communities")]
pub async fn create_community(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<CreateCommunityRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let row = communities::create(
        &auth.tx,
        &auth.ctx,
        member.user,
        &body.0.name,
        &body.0.description,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::Created().json(CommunityResponse::new(row, member)))
}

/// The organization's communities (or, with `mine=true`, the caller's).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(ListCommunitiesQuery),
    responses((status = 200, description = "The communities", body = CommunitiesResponse))
)]
#[get("/network/communities")]
pub async fn list_communities(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    query: ValidQuery<ListCommunitiesQuery>,
) -> ApiResult<Json<CommunitiesResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let rows = communities::list(&auth.tx, member.user, query.mine.unwrap_or(false)).await?;
    auth.tx.commit().await?;
    Ok(Json(CommunitiesResponse {
        items: rows
            .into_iter()
            .map(|r| CommunityResponse::new(r, member))
            .collect(),
    }))
}

/// One community.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("community_id" = Uuid, Path, description = "The community's id")),
    responses((status = 200, description = "The community", body = CommunityResponse))
)]
#[get("/network/communities/{community_id}")]
pub async fn get_community(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<CommunityResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let row = communities::get(&auth.tx, member.user, *id, false).await?;
    auth.tx.commit().await?;
    Ok(Json(CommunityResponse::new(row, member)))
}

/// Renames, describes, archives or restores a community (its owners, or HR).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("community_id" = Uuid, Path, description = "The community's id")),
    request_body = UpdateCommunityRequest,
    responses(
        (status = 200, description = "Changed", body = CommunityResponse),
        (status = 403, description = "Not an owner", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/network/communities/{community_id}")]
pub async fn update_community(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<UpdateCommunityRequest>,
) -> ApiResult<Json<CommunityResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let body = body.into_inner();
    let row = communities::update(
        &auth.tx,
        &auth.ctx,
        member,
        *id,
        CommunityChange {
            name: body.name,
            description: body.description,
            archived: body.archived,
        },
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(CommunityResponse::new(row, member)))
}

/// Joins a community (already in: as it was).
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("community_id" = Uuid, Path, description = "The community's id")),
    responses(
        (status = 200, description = "Joined", body = CommunityResponse),
        (status = 409, description = "Archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/network/communities/{community_id}/membership")]
pub async fn join_community(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<Json<CommunityResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let row = communities::join(&auth.tx, &auth.ctx, member.user, *id).await?;
    auth.tx.commit().await?;
    Ok(Json(CommunityResponse::new(row, member)))
}

/// Leaves a community; the last owner leaving hands it to the longest-standing member.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("community_id" = Uuid, Path, description = "The community's id")),
    responses((status = 204, description = "Left"))
)]
#[delete("/network/communities/{community_id}/membership")]
pub async fn leave_community(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    communities::leave(&auth.tx, &auth.ctx, member.user, *id).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A community's threads, newest first.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("community_id" = Uuid, Path, description = "The community's id"), ListPostsQuery),
    responses((status = 200, description = "The threads", body = PostsResponse))
)]
#[get("/network/communities/{community_id}/posts")]
pub async fn list_posts(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    query: ValidQuery<ListPostsQuery>,
) -> ApiResult<Json<PostsResponse>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    communities::get(&auth.tx, member.user, *id, false).await?;
    let rows = community_posts::threads(&auth.tx, *id, limit, query.before).await?;
    auth.tx.commit().await?;
    let next_before = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(Json(PostsResponse {
        items: rows.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

/// Posts a new thread, or replies (`parent_id`) — members of the community.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(("community_id" = Uuid, Path, description = "The community's id")),
    request_body = WritePostRequest,
    responses(
        (status = 201, description = "Posted", body = PostResponse),
        (status = 403, description = "Not a member of the community", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or the post answered was removed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/network/communities/{community_id}/posts")]
pub async fn write_post(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    id: Path<Uuid>,
    body: ValidJson<WritePostRequest>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let row = community_posts::write(
        &auth.tx,
        &auth.ctx,
        member.user,
        *id,
        body.0.parent_id,
        &body.0.body,
    )
    .await?;
    auth.tx.commit().await?;
    state.usage.feature(
        tenant.id,
        auth.principal.user().ok().map(|(u, _)| u),
        crate::modules::analytics::capture::FeatureEvent::CommunityPost,
        if row.parent_id.is_some() {
            "reply"
        } else {
            "thread"
        },
    );
    Ok(HttpResponse::Created().json(PostResponse::from(row)))
}

/// The whole thread a post is in.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(
        ("community_id" = Uuid, Path, description = "The community's id"),
        ("post_id" = Uuid, Path, description = "A post or reply of the community"),
    ),
    responses((status = 200, description = "The thread", body = ThreadResponse))
)]
#[get("/network/communities/{community_id}/posts/{post_id}")]
pub async fn get_thread(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<Json<ThreadResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let (community, post) = path.into_inner();
    let rows = community_posts::thread(&auth.tx, community, post).await?;
    auth.tx.commit().await?;
    Ok(Json(ThreadResponse {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// The author edits their post.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(
        ("community_id" = Uuid, Path, description = "The community's id"),
        ("post_id" = Uuid, Path, description = "A post or reply of the community"),
    ),
    request_body = EditPostRequest,
    responses(
        (status = 200, description = "Edited", body = PostResponse),
        (status = 403, description = "Not its author", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Removed, or the community is archived", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/network/communities/{community_id}/posts/{post_id}")]
pub async fn edit_post(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
    body: ValidJson<EditPostRequest>,
) -> ApiResult<Json<PostResponse>> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let (community, post) = path.into_inner();
    let row = community_posts::edit(
        &auth.tx,
        &auth.ctx,
        member.user,
        community,
        post,
        &body.0.body,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(row.into()))
}

/// Removes a post (its author, the community's owners, or HR): its text goes, its place in the
/// thread stays.
#[utoipa::path(
    tag = "networking",
    security(("bearer" = [])),
    params(
        ("community_id" = Uuid, Path, description = "The community's id"),
        ("post_id" = Uuid, Path, description = "A post or reply of the community"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not its author nor a moderator", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/network/communities/{community_id}/posts/{post_id}")]
pub async fn remove_post(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    path: Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let auth = open(&state, &tenant, token, Act::Use).await?;
    let member = caller(&state, &auth).await?;
    let (community, post) = path.into_inner();
    community_posts::remove(&auth.tx, &auth.ctx, member, community, post).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
