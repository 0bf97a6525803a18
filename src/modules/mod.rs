//! Feature areas, one folder each (career, interview, networking and workspaces have a routes/ folder, one file per part): `routes.rs` (thin handlers and DTOs), `service.rs` (the logic, on a
//! [`crate::tenancy::TenantTx`]), `error.rs` where the area has its own failures.

pub mod analytics;
pub mod api_keys;
pub mod career;
pub mod imports;
pub mod interview;
pub mod members;
pub mod networking;
pub mod notifications;
pub mod orgs;
pub mod roles;
pub mod scim;
pub mod sessions;
pub mod sso;
pub mod workspaces;
