//! Networking (docs/networking.md). So far: internal job [`postings`] and the [`referrals`] members make
//! to them. Mentoring, programmes, communities and events come next.

pub mod postings;
pub mod referrals;
pub mod routes;
