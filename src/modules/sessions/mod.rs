//! Sign-in sessions: a member sees and ends their own; an admin sees and ends a member's. Ending a
//! session stops its access tokens on their next request and kills its refresh tokens.

pub mod device;
pub mod routes;
pub mod service;
