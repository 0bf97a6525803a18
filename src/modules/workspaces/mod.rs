//! Team workspaces (docs/workspaces.md): each [`workspace`] and who is in them with which [`Role`];
//! [`documents`] with every save kept as a version, optimistic concurrency on the version number (the
//! `ETag`), and [`versions`] to read, compare and restore them; [`comments`] in threads, anchored to
//! text that [`anchors`] carries through later saves, with [`notices`] for the people they
//! mention or answer; [`reviews`] by approvers in turn, with [`review_reminders`]; the [`activity`]
//! feed of it all, streamed [`live`] with who is viewing what. Only members see a workspace — whatever their organization role — and each call
//! checks the membership as well as row-level security.

pub mod activity;
pub mod anchors;
pub mod comments;
pub mod documents;
pub mod live;
pub mod notices;
pub mod review_reminders;
pub mod reviews;
pub mod routes;
pub mod templates;
pub mod versions;
pub mod workspace;

use crate::error::ApiError;

/// A member's role in a workspace, from the least to the most it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads documents and their history.
    Viewer,
    /// Also comments, and resolves and reopens threads.
    Commenter,
    /// Also writes and restores documents.
    Editor,
    /// Also manages the workspace and its members.
    Owner,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "commenter" => Some(Role::Commenter),
            "editor" => Some(Role::Editor),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Commenter => "commenter",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }

    /// 403 unless this role is at least `needed`, saying what `action` needs.
    pub fn require(self, needed: Role, action: &str) -> Result<(), ApiError> {
        if self >= needed {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "workspace_role",
                format!(
                    "{action} needs the {} role in this workspace; yours is {}",
                    needed.as_str(),
                    self.as_str()
                ),
            ))
        }
    }
}
