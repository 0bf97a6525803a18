//! Interview preparation (docs/interview.md): the answer [`analysis`] — deterministic, explained, no
//! external service — that mock interview sessions score answers with, and the question [`bank`] that
//! ships with the product.

pub mod analysis;
pub mod bank;
