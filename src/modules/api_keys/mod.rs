//! API keys (service accounts) for integrations: each holds a role or an explicit permission subset of
//! its maker's own, may expire, is shown once and can be revoked. Requests made with a key are audited
//! with the actor type `api_key`.

pub mod routes;
pub mod service;
