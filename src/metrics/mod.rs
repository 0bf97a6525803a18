//! Operational metrics in the Prometheus text format at `GET /metrics`: request counts and latency by
//! route and status ([`requests`], recorded by the request-context middleware), and, read at scrape
//! time, the database pool, the job queue, the audit log's sealing lag, Redis, cross-instance
//! invalidation, usage capture and the process's memory ([`scrape`]).
//!
//! The endpoint is for operators, not organizations: on a tenant's host it answers 404 like a missing
//! route unless `metrics.tenant_hosts` says otherwise, and `metrics.token` can require a bearer token.

pub mod exposition;
pub mod requests;
pub mod routes;
mod scrape;

pub use requests::RequestMetrics;
