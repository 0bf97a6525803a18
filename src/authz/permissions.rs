//! The permission list: logical objects and actions, never URL paths. `policies/policy.csv` may only
//! grant pairs listed in [`Permission::all`]; docs/permissions.md shows who holds what.

use std::fmt;

use serde::Serialize;

/// The baseline roles every tenant has; `owner` holds every permission.
pub const BASELINE_ROLES: &[&str] = &["owner", "admin", "hr", "compliance", "manager", "member"];

macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

names!(
    /// What a permission is about.
    Obj {
        OrgSettings => "org_settings",
        Members => "members",
        Invitations => "invitations",
        AuditLog => "audit_log",
        Roles => "roles",
        Sessions => "sessions",
        ApiKeys => "api_keys",
        Mfa => "mfa",
        Sso => "sso",
        Billing => "billing",
        Analytics => "analytics",
        Career => "career",
        Interview => "interview",
        Networking => "networking",
        Workspaces => "workspaces",
    }
);

names!(
    /// What a permission allows on its object.
    Act {
        Read => "read",
        Update => "update",
        Invite => "invite",
        UpdateRole => "update_role",
        Deactivate => "deactivate",
        Remove => "remove",
        Revoke => "revoke",
        Export => "export",
        Manage => "manage",
        Reset => "reset",
        Import => "import",
        Configure => "configure",
        Use => "use",
    }
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    pub obj: Obj,
    pub act: Act,
}

/// Every permission that exists, in the order docs/permissions.md lists them.
const ALL: &[(Obj, Act)] = &[
    (Obj::OrgSettings, Act::Read),
    (Obj::OrgSettings, Act::Update),
    (Obj::Members, Act::Read),
    (Obj::Members, Act::Invite),
    (Obj::Members, Act::UpdateRole),
    (Obj::Members, Act::Deactivate),
    (Obj::Members, Act::Remove),
    (Obj::Members, Act::Import),
    (Obj::Invitations, Act::Read),
    (Obj::Invitations, Act::Revoke),
    (Obj::AuditLog, Act::Read),
    (Obj::AuditLog, Act::Export),
    (Obj::AuditLog, Act::Configure),
    (Obj::Roles, Act::Read),
    (Obj::Roles, Act::Manage),
    (Obj::Sessions, Act::Read),
    (Obj::Sessions, Act::Revoke),
    (Obj::ApiKeys, Act::Manage),
    (Obj::Mfa, Act::Reset),
    (Obj::Sso, Act::Manage),
    (Obj::Billing, Act::Manage),
    (Obj::Analytics, Act::Read),
    (Obj::Career, Act::Use),
    (Obj::Career, Act::Read),
    (Obj::Career, Act::Manage),
    (Obj::Interview, Act::Use),
    (Obj::Interview, Act::Manage),
    (Obj::Networking, Act::Use),
    (Obj::Networking, Act::Manage),
    (Obj::Workspaces, Act::Use),
];

impl Permission {
    pub const fn new(obj: Obj, act: Act) -> Self {
        Permission { obj, act }
    }

    pub fn all() -> impl Iterator<Item = Permission> {
        ALL.iter().map(|&(obj, act)| Permission::new(obj, act))
    }

    /// A listed permission named by its policy fields.
    pub fn parse(obj: &str, act: &str) -> Option<Permission> {
        let permission = Permission::new(Obj::parse(obj)?, Act::parse(act)?);
        Self::all().any(|p| p == permission).then_some(permission)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.obj.as_str(), self.act.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_pairs_parse() {
        assert_eq!(
            Permission::parse("members", "read"),
            Some(Permission::new(Obj::Members, Act::Read))
        );
        assert_eq!(Permission::parse("billing", "read"), None);
        assert_eq!(Permission::parse("nope", "read"), None);
        assert_eq!(
            Permission::new(Obj::AuditLog, Act::Export).to_string(),
            "audit_log:export"
        );
    }
}
