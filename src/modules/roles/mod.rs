//! Roles: the baseline roles (read-only, from `policies/policy.csv`) and a tenant's custom roles, each a
//! set of permissions from the permission list. Nobody creates or edits a role with permissions they do
//! not hold. A change reaches every instance through the invalidation bus: each rebuilds that tenant's
//! enforcer, so members holding the role gain or lose the permissions on their next request.

pub mod error;
pub mod routes;
pub mod service;

pub use error::RolesError;
