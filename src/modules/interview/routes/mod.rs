//! `/api/v1/interview/...`: thin handlers and their DTOs, one file per part. Every route needs the
//! plan's `interview` feature.

pub mod assignments;
pub mod calendar;
pub mod questions;
pub mod sessions;

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
        .open_for(state, tenant, Feature::Interview, Obj::Interview, act)
        .await
}
