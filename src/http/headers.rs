//! The security headers every answer carries, whatever produced it (a handler, an error, the default
//! 404, a middleware's refusal): set here unless the answer chose its own. Console pages set a stricter
//! Cache-Control and a CSP that allows their script and styles; everything else gets a CSP that allows
//! nothing (JSON and CSV are never meant to be rendered as a document).

use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// For answers that did not set their own: nothing may load, nothing may frame it.
const LOCKED_DOWN_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds what `headers` lacks. `hsts`: also Strict-Transport-Security (`server.hsts`, on in production,
/// where a TLS-terminating balancer is in front; a browser ignores it over plain HTTP anyway).
pub fn secure(headers: &mut HeaderMap, hsts: bool) {
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, LOCKED_DOWN_CSP),
        // Answers are per member (tokens, members, audit events): no shared cache keeps them.
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_gaps_and_keep_what_an_answer_set() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        secure(&mut headers, false);
        assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-cache");
        assert_eq!(
            headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
            "nosniff"
        );
        assert_eq!(headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert_eq!(
            headers.get(header::CONTENT_SECURITY_POLICY).unwrap(),
            LOCKED_DOWN_CSP
        );
        assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
        secure(&mut headers, true);
        assert_eq!(
            headers.get(header::STRICT_TRANSPORT_SECURITY).unwrap(),
            HSTS
        );
    }
}
