//! Host parsing. Only the raw `Host` header (or the HTTP/2 authority) names the tenant: never
//! `X-Forwarded-Host`, never a header or body field of the client's choosing.

use crate::domain::TenantSlug;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    /// The bare base domain: tenant-less routes only.
    Base,
    /// Exactly one label under the base domain.
    Tenant(TenantSlug),
    /// A deeper name, or one outside the base domain.
    Foreign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedHost;

/// Classifies `raw` (a Host header value) against `base_domain`: case-insensitive, port and one
/// trailing dot ignored.
pub fn classify(raw: &str, base_domain: &str) -> Result<HostTarget, MalformedHost> {
    let raw = raw.trim();
    if raw.is_empty()
        || !raw.is_ascii()
        || raw
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'/' || b == b'@')
    {
        return Err(MalformedHost);
    }
    if raw.starts_with('[') {
        // An IPv6 literal never names a tenant.
        return Ok(HostTarget::Foreign);
    }
    let name = match raw.rsplit_once(':') {
        Some((name, port)) => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
                return Err(MalformedHost);
            }
            name
        }
        None => raw,
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let base = base_domain.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Err(MalformedHost);
    }
    if name == base {
        return Ok(HostTarget::Base);
    }
    let Some(label) = name
        .strip_suffix(base.as_str())
        .and_then(|rest| rest.strip_suffix('.'))
    else {
        return Ok(HostTarget::Foreign);
    };
    if label.contains('.') {
        return Ok(HostTarget::Foreign);
    }
    match TenantSlug::parse(label) {
        Ok(slug) => Ok(HostTarget::Tenant(slug)),
        Err(_) => Ok(HostTarget::Foreign),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(slug: &str) -> HostTarget {
        HostTarget::Tenant(TenantSlug::parse(slug).unwrap())
    }

    #[test]
    fn one_label_under_the_base_domain_is_a_tenant() {
        assert_eq!(
            classify("acme.localhost:8080", "localhost"),
            Ok(tenant("acme"))
        );
        assert_eq!(
            classify("ACME.Trellis.Example.", "trellis.example"),
            Ok(tenant("acme"))
        );
        assert_eq!(
            classify("acme.trellis.example", "trellis.example"),
            Ok(tenant("acme"))
        );
    }

    #[test]
    fn the_base_domain_itself_is_tenant_less() {
        assert_eq!(
            classify("localhost:8080", "localhost"),
            Ok(HostTarget::Base)
        );
        assert_eq!(
            classify("Trellis.Example.", "trellis.example"),
            Ok(HostTarget::Base)
        );
    }

    #[test]
    fn deeper_and_foreign_hosts_are_not_tenants() {
        for host in [
            "a.acme.localhost",
            "acme.example.com",
            "evil-localhost",
            "127.0.0.1:8080",
            "[::1]:8080",
            "acmelocalhost",
            "acme_x.localhost",
        ] {
            assert_eq!(
                classify(host, "localhost"),
                Ok(HostTarget::Foreign),
                "{host}"
            );
        }
    }

    #[test]
    fn malformed_hosts_are_rejected() {
        for host in [
            "",
            "acme..localhost",
            "acme.localhost:",
            "acme.localhost:80a",
            "a b.localhost",
            "äcme.localhost",
            "u@acme.localhost",
        ] {
            assert_eq!(classify(host, "localhost"), Err(MalformedHost), "{host:?}");
        }
    }
}
