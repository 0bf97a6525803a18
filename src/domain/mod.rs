//! Value types parsed once at the edge, so the rest of the code never re-validates them
//! ("parse, don't validate"): ids, email addresses, tenant slugs, display names.

mod email;
mod ids;
mod names;

pub use email::Email;
pub use ids::{InvitationId, SessionId, TenantId, UserId};
pub use names::{DisplayName, TenantSlug};
