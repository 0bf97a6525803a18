//! Interview preparation (docs/interview.md): the organization's question [`questions`] (its copy of
//! the [`bank`] that ships with the product, and its own), and the answer [`analysis`] —
//! deterministic, explained, no external service — that mock interview sessions score answers with.

pub mod analysis;
pub mod bank;
pub mod questions;
pub mod routes;
