//! `/api/v1/workspaces/...`: thin handlers and their DTOs, one file per part. Every route needs
//! `workspaces:use`; what a member may do inside a workspace is their workspace role's business.

pub mod activity;
pub mod comments;
pub mod documents;
pub mod reviews;
pub mod workspaces;

use actix_web::HttpRequest;

use crate::{
    auth::{AccessToken, Authenticated},
    authz::{Act, Obj},
    coordination::Invalidation,
    error::ApiResult,
    state::AppState,
};

async fn open(state: &AppState, token: AccessToken) -> ApiResult<(Authenticated, uuid::Uuid)> {
    let auth = token.open(state).await?;
    state
        .authz
        .require(&auth, Obj::Workspaces, Act::Use)
        .await?;
    let (user, _) = auth.principal.user()?;
    let user = user.as_uuid();
    Ok((auth, user))
}

/// The version a change is based on, from its `If-Match` header: `None` without one (the service
/// answers 428 once it knows the document is the caller's to change, so a stranger's id stays a 404);
/// a tag we never issued matches no version (0), so the change is refused as stale.
fn based_on(req: &HttpRequest) -> Option<i32> {
    let header = req.headers().get(actix_web::http::header::IF_MATCH)?;
    Some(
        header
            .to_str()
            .ok()
            .and_then(crate::modules::workspaces::documents::if_match)
            .unwrap_or(0),
    )
}

/// Commits a change to `workspace`, then wakes whoever streams its activity, on this instance and,
/// through Redis, the others (without Redis their streams find it at their next read).
async fn commit(state: &AppState, auth: Authenticated, workspace: uuid::Uuid) -> ApiResult<()> {
    let tenant_id = auth.principal.tenant_id;
    auth.tx.commit().await?;
    state
        .bus
        .publish(Invalidation::WorkspaceActivity {
            tenant_id,
            workspace_id: workspace,
        })
        .await;
    Ok(())
}
