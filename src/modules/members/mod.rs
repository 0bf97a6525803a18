//! Members of an organization and their invitations: list and search, invite, accept, change role,
//! deactivate, reactivate, remove; list and revoke invitations. Seats are counted under a per-tenant
//! advisory lock; nobody grants (or acts on a member holding) a role with permissions they lack; the
//! last active owner can be neither removed, demoted nor deactivated.

pub mod directory;
pub mod error;
pub mod routes;
pub mod service;

pub use error::MembersError;
