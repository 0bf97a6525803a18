//! Tenant slugs (the subdomain label) and display names.

use std::fmt;

use serde::Serialize;

/// One DNS label: 1–63 of `a-z 0-9 -`, not starting or ending with `-`. Lower-cased on parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

/// Labels that name the platform itself and can never be a tenant.
const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "app", "assets", "auth", "cdn", "docs", "help", "login", "mail", "static",
    "status", "support", "www",
];

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<TenantSlug, &'static str> {
        let slug = raw.to_ascii_lowercase();
        let valid = !slug.is_empty()
            && slug.len() <= 63
            && !slug.starts_with('-')
            && !slug.ends_with('-')
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(TenantSlug(slug))
        } else {
            Err("must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen")
        }
    }

    /// A slug for a new tenant: valid, at least 2 characters, and not reserved.
    pub fn parse_new(raw: &str) -> Result<TenantSlug, &'static str> {
        let slug = Self::parse(raw)?;
        if slug.0.len() < 2 {
            return Err("must be at least 2 characters");
        }
        if RESERVED_SLUGS.contains(&slug.0.as_str()) {
            return Err("is reserved");
        }
        Ok(slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's or organization's display name: trimmed, 1–200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty");
        }
        if name.chars().count() > 200 {
            return Err("must be at most 200 characters");
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_dns_label_rules() {
        assert_eq!(TenantSlug::parse("Acme").unwrap().as_str(), "acme");
        assert!(TenantSlug::parse("acme-corp-2").is_ok());
        for bad in [
            "",
            "-acme",
            "acme-",
            "ac.me",
            "ac_me",
            "äcme",
            &"a".repeat(64),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn new_slugs_refuse_reserved_and_single_letters() {
        assert!(TenantSlug::parse_new("www").is_err());
        assert!(TenantSlug::parse_new("a").is_err());
        assert!(TenantSlug::parse_new("globex").is_ok());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
    }
}
