//! Usage analytics (docs/analytics.md, ADR 0011): [`capture`] records API requests and feature events
//! off the request's critical path into `usage_events` (partitioned by day); the worker's [`rollup`]
//! turns each day into `usage_daily` and `usage_active_users`, idempotently; [`service`] and [`routes`]
//! answer `/api/v1/analytics` from the roll-ups, departments under k-anonymity; [`networking`] reads
//! the networking figures (match acceptance, time to match, referral-to-hire) from their own tables.

pub mod capture;
pub mod networking;
pub mod rollup;
pub mod routes;
pub mod service;
