//! Networking (docs/networking.md). So far: internal job [`postings`] and the [`referrals`] members make
//! to them; [`mentors`]' profiles, [`matching`] (pure) with what it needs gathered by [`recommend`],
//! and [`mentorships`] from request to completion with their [`mentorship_sessions`]; the batch
//! [`assignment`] (pure) that programmes will use. Programmes, communities and events come next.

pub mod assignment;
pub mod matching;
pub mod mentors;
pub mod mentorship_sessions;
pub mod mentorships;
pub mod postings;
pub mod recommend;
pub mod referrals;
pub mod routes;
