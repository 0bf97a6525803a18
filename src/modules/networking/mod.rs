//! Networking (docs/networking.md). So far: internal job [`postings`] and the [`referrals`] members make
//! to them; [`mentors`]' profiles, [`matching`] (pure) with what it needs gathered by [`recommend`],
//! and [`mentorships`] from request to completion with their [`mentorship_sessions`]; mentoring
//! [`programmes`], whose cohort is matched by [`cohort_matching`] with the batch [`assignment`] (pure)
//! and published and followed by [`programme_pairs`]. Communities and events come next.

pub mod assignment;
pub mod cohort_matching;
pub mod communities;
pub mod community_posts;
pub mod event_reminders;
pub mod events;
pub mod matching;
pub mod mentors;
pub mod mentorship_sessions;
pub mod mentorships;
pub mod postings;
pub mod programme_pairs;
pub mod programmes;
pub mod recommend;
pub mod referrals;
pub mod routes;

/// Who calls a networking service: the member, and whether they hold `networking:manage` (HR), which
/// lets them run every programme, moderate every community and organize any event.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub user: uuid::Uuid,
    pub manages: bool,
}

impl Caller {
    /// The signed-in member, with whether their role holds `networking:manage` (failing closed).
    pub async fn of(
        state: &crate::state::AppState,
        auth: &crate::auth::Authenticated,
    ) -> Result<Caller, crate::error::ApiError> {
        use crate::authz::{Act, Obj};
        let (user, _) = auth.principal.user()?;
        let manages = state
            .authz
            .require(auth, Obj::Networking, Act::Manage)
            .await
            .is_ok();
        Ok(Caller {
            user: user.as_uuid(),
            manages,
        })
    }
}
