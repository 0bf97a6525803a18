//! The one integration-test binary: real PostgreSQL and Redis, each test on its own database cloned
//! from a migrated template, HTTP to a real server on 127.0.0.1 connecting as `trellis_app`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod activity;
mod analytics;
mod api_keys;
mod audit;
mod audit_stream;
mod auth;
mod authz;
mod browser;
pub mod career;
pub mod career_growth;
mod catalog;
pub mod comments;
pub mod communities;
mod console;
mod console_flows;
mod coordination;
mod demo;
mod docs;
mod embedded;
mod faults;
mod fuzz;
mod health;
pub mod imports;
mod injection;
pub mod interview;
mod interview_calendar;
pub mod isolation;
mod keys;
mod limits;
mod mail;
mod members;
pub mod mentoring;
mod metrics;
mod mfa;
mod networking_figures;
pub mod op;
mod plans;
pub mod programmes;
mod races;
mod redis_faults;
pub mod referrals;
mod requests;
mod reviews;
mod roles;
pub mod scim;
mod security;
mod sessions;
mod shutdown;
pub mod smtp;
mod snapshots;
pub mod sso;
mod tenancy;
pub mod workspaces;
