//! What a stream sends: a batch of events in the stream's format, signed with its secret.
//!
//! The signature header is `Trellis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>`: the receiver recomputes it over the raw body, compares in constant time, and refuses
//! timestamps far from its clock (replays). docs/audit.md shows a receiver's check.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use crate::audit::{chain, routes::EventResponse};

/// How a batch is laid out for its receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"events": [...]}`, with `test: true` on a test delivery.
    Json,
    /// `[...]`: a bare array (Datadog's HTTP log intake, most webhook collectors).
    JsonArray,
    /// Splunk's HTTP Event Collector: one `{"time", "source", "sourcetype", "event"}` object per event.
    SplunkHec,
}

impl Format {
    pub const NAMES: &[&str] = &["json", "json_array", "splunk_hec"];

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "json" => Some(Format::Json),
            "json_array" => Some(Format::JsonArray),
            "splunk_hec" => Some(Format::SplunkHec),
            _ => None,
        }
    }
}

/// The body of one POST.
pub fn encode(
    format: Format,
    events: &[EventResponse],
    test: bool,
) -> Result<Vec<u8>, serde_json::Error> {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Batch<'a> {
                #[serde(skip_serializing_if = "std::ops::Not::not")]
                test: bool,
                events: &'a [EventResponse],
            }
            serde_json::to_vec(&Batch { test, events })
        }
        Format::JsonArray => serde_json::to_vec(events),
        Format::SplunkHec => {
            let mut body = Vec::new();
            for (i, event) in events.iter().enumerate() {
                if i > 0 {
                    body.push(b'\n');
                }
                let time = event.occurred_at.timestamp_micros() as f64 / 1_000_000.0;
                serde_json::to_writer(
                    &mut body,
                    &json!({
                        "time": time,
                        "source": "trellis",
                        "sourcetype": "trellis:audit",
                        "event": event,
                    }),
                )?;
            }
            Ok(body)
        }
    }
}

/// The `Trellis-Signature` header value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        chain::hex(&mac(secret, timestamp, body))
    )
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // HMAC-SHA256 of "1700000000.{}" under "secret", computed independently with
        // `printf '1700000000.{}' | openssl dgst -sha256 -hmac secret`.
        assert_eq!(
            signature(b"secret", 1_700_000_000, b"{}"),
            "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn every_format_parses_back() {
        for name in Format::NAMES {
            assert!(Format::parse(name).is_some(), "{name}");
        }
        assert_eq!(Format::parse("xml"), None);
    }
}
