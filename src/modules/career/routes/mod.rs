//! `/api/v1/career/...`: thin handlers and their DTOs, one file per part of the module.

pub mod goals;
pub mod insights;
pub mod learning;
pub mod milestones;
pub mod pathways;
pub mod portfolio;
pub mod profiles;
pub mod taxonomy;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::Authenticated,
    authz::{Act, Obj},
    error::ApiResult,
    modules::career::profiles::{MemberRef, Relation, relation},
    state::AppState,
};

/// `career:use` or `career:read`: an API key with career:read alone may still read profiles.
async fn career_access(state: &AppState, auth: &Authenticated) -> ApiResult<()> {
    state
        .authz
        .require(auth, Obj::Career, Act::Use)
        .await
        .or(state.authz.require(auth, Obj::Career, Act::Read).await)
}

/// The member a `/career/people/{member_id}/...` route names, and why the caller may see them (403
/// `not_your_report` otherwise).
async fn open_member(
    state: &AppState,
    auth: &Authenticated,
    member_id: Uuid,
) -> ApiResult<(MemberRef, Relation)> {
    career_access(state, auth).await?;
    Ok(relation(&auth.tx, &state.authz, auth, member_id).await?)
}

/// A reference to a named thing: its id and what it is called.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: Uuid,
    pub name: String,
}
