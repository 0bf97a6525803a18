//! Interview preparation (docs/interview.md): the organization's question [`questions`] (its copy of
//! the [`bank`] that ships with the product, and its own); mock interview [`sessions`] with the
//! questions [`selection`] picks; the answer [`analysis`] — deterministic, explained, no external
//! service — that scores every answer; [`progress`] across sessions; practice [`assignments`]; and
//! the [`calendar`] of real interviews, with [`reminders`] by mail and a preparation [`checklist`].

pub mod analysis;
pub mod assignments;
pub mod bank;
pub mod calendar;
pub mod checklist;
pub mod progress;
pub mod questions;
pub mod reminders;
pub mod routes;
pub mod selection;
pub mod sessions;
