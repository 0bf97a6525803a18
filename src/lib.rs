//! Trellis: a multi-tenant enterprise career platform.
//!
//! Start at [`startup::Application`] for the server and the route table, [`tenancy`] for how a request
//! finds its tenant and its database transaction, [`auth`] and [`authz`] for who may do what, and
//! `docs/` for the design decisions.

pub mod anonymity;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod coordination;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod health;
pub mod http;
pub mod ics;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod modules;
pub mod outbound;
pub mod spreadsheet;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenancy;
pub mod ui;
pub mod validate;
