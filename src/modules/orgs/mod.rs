//! The organization itself: its settings (an RLS table, `org_settings`, editable by admins) and what
//! the platform sets for it (plan, seat limit) with the seats in use.

pub mod routes;
pub mod service;
