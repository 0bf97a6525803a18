//! Networking (docs/networking.md). So far: internal job [`postings`] and the [`referrals`] members make
//! to them; [`mentors`]' profiles, [`matching`] (pure) with what it needs gathered by [`recommend`],
//! and [`mentorships`] from request to completion with their [`mentorship_sessions`]. Programmes,
//! communities and events come next.

pub mod matching;
pub mod mentors;
pub mod mentorship_sessions;
pub mod mentorships;
pub mod postings;
pub mod recommend;
pub mod referrals;
pub mod routes;
