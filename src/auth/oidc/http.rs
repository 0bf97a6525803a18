//! The HTTP client that talks to identity providers (discovery, keys, token exchange). Every URL it
//! fetches comes from an admin's configuration or a provider's discovery document, so it is built
//! against server-side request forgery: it follows no redirects, bounds time and body size, and (unless
//! insecure issuers are allowed, for development and tests) refuses plain http and any address that is
//! not publicly routable, checked after DNS resolution so a name cannot point inside the network.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse, http};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The largest response accepted from a provider (discovery documents and key sets are small).
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub type OidcHttpError = HttpClientError<reqwest::Error>;

#[derive(Clone, Debug)]
pub struct OidcHttp {
    client: reqwest::Client,
    allow_insecure: bool,
}

impl OidcHttp {
    pub fn new(timeout: Duration, allow_insecure: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .no_proxy()
            .user_agent("Trellis-SSO/1");
        if !allow_insecure {
            builder = builder
                .https_only(true)
                .dns_resolver(Arc::new(PublicOnlyResolver));
        }
        Ok(OidcHttp {
            client: builder.build()?,
            allow_insecure,
        })
    }

    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, OidcHttpError> {
        if !self.allow_insecure {
            // A literal address skips the resolver: check it here.
            let host = request.uri().host().unwrap_or_default();
            let literal = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = literal.parse::<IpAddr>()
                && !is_public(ip)
            {
                return Err(HttpClientError::Other(format!(
                    "{ip} is not a public address"
                )));
            }
        }
        let request = reqwest::Request::try_from(request).map_err(Box::new)?;
        let mut response = self.client.execute(request).await.map_err(Box::new)?;
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(HttpClientError::Other(format!(
                    "the response is larger than {MAX_BODY_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(HttpClientError::Http)
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = OidcHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}

/// Resolves with the system resolver and keeps only publicly routable addresses.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = resolved.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `ip` is reachable on the public internet (not loopback, private, link-local, shared,
/// documentation, multicast or unspecified; IPv4-mapped IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 192 && b == 88 && v4.octets()[2] == 99)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // Only global unicast (2000::/3), less the ranges that carry or stand for other
            // addresses: IETF protocol assignments incl. Teredo (2001::/23), documentation
            // (2001:db8::/32) and 6to4 (2002::/16). NAT64 (64:ff9b::/96), IPv4-compatible (::/96),
            // unique-local and link-local addresses are outside 2000::/3.
            let [first, second, ..] = v6.segments();
            (first & 0xe000) == 0x2000
                && !(first == 0x2001 && second < 0x0200)
                && !(first == 0x2001 && second == 0x0db8)
                && first != 0x2002
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:5",
            "64:ff9b:1::a00:5",
            "2002:a00:5::1",
            "::10.0.0.5",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "fec0::1",
            "192.0.0.8",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
