//! The audit log stream: an organization's admins point it at their SIEM (Splunk HEC, Datadog, any
//! HTTPS collector), and the worker POSTs every sealed event there in sequence order, in batches
//! signed with HMAC-SHA256, at least once, retrying with backoff; the delivery status is visible to
//! the admins. `settings` is the configuration (secrets sealed), `wire` the formats and the signature,
//! `sender` one POST, `delivery` the worker's loop, `routes` the API. docs/audit.md describes it for
//! the people who set a receiver up.

pub mod delivery;
pub mod routes;
pub mod sender;
pub mod settings;
pub mod wire;
