//! `/api/v1/network/...`: thin handlers and their DTOs, one file per part. Every route needs the plan's
//! `networking` feature.

pub mod communities;
pub mod events;
pub mod mentors;
pub mod mentorships;
pub mod postings;
pub mod programmes;
pub mod referrals;

use crate::{
    auth::{AccessToken, Authenticated},
    authz::{Act, Obj},
    error::ApiResult,
    state::AppState,
    tenancy::{Tenant, plan::Feature},
};

/// The plan's feature, the caller, and the permission.
async fn open(
    state: &AppState,
    tenant: &Tenant,
    token: AccessToken,
    act: Act,
) -> ApiResult<Authenticated> {
    token
        .open_for(state, tenant, Feature::Networking, Obj::Networking, act)
        .await
}

/// Whether the caller also holds `networking:manage` (HR's view).
async fn manages(state: &AppState, auth: &Authenticated) -> bool {
    state
        .authz
        .require(auth, Obj::Networking, Act::Manage)
        .await
        .is_ok()
}

/// The caller, with whether they hold `networking:manage`.
async fn caller(
    state: &AppState,
    auth: &Authenticated,
) -> ApiResult<crate::modules::networking::Caller> {
    crate::modules::networking::Caller::of(state, auth).await
}
