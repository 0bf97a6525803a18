//! The hash chain's arithmetic (ADR 0009), with no I/O: the canonical encoding of an event, the link
//! `hash(n) = SHA-256(hash(n-1) ‖ canonical(event n))` starting from 32 zero bytes, and the message a
//! digest signs. The sealer and verification both use these and nothing else, so they cannot disagree.

use entity::audit_events::Model as Event;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What the first event of a chain links to.
pub const GENESIS: [u8; 32] = [0; 32];

/// Names the encoding, so a later version can change it without ambiguity.
const VERSION: &str = "trellis-audit-event/1";

/// The event as one JSON array, fields in a fixed order, objects' keys sorted, no whitespace, time as
/// microseconds since the epoch (the database's precision). Every stored column is covered.
pub fn canonical(event: &Event) -> Vec<u8> {
    let fields = [
        Value::from(VERSION),
        Value::from(event.tenant_id.to_string()),
        Value::from(event.id.to_string()),
        Value::from(event.occurred_at.timestamp_micros()),
        Value::from(event.actor_type.as_str()),
        optional(event.actor_id.map(|id| id.to_string())),
        optional(event.actor_display.clone()),
        Value::from(event.action.as_str()),
        optional(event.target_type.clone()),
        optional(event.target_id.clone()),
        optional(event.target_display.clone()),
        optional(event.request_id.clone()),
        optional(event.ip.clone()),
        optional(event.user_agent.clone()),
    ];
    let mut out = Vec::with_capacity(512);
    out.push(b'[');
    for (i, field) in fields.iter().chain([&event.metadata]).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_canonical(field, &mut out);
    }
    out.push(b']');
    out
}

fn optional(value: Option<String>) -> Value {
    value.map(Value::from).unwrap_or(Value::Null)
}

/// JSON with object keys in byte order at every depth (RFC 8785's ordering for the keys we write).
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::from(key.as_str()), out);
                out.push(b':');
                write_canonical(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Serialising a scalar into a Vec cannot fail; an empty write would still break the chain visibly.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// The hash of `event` linked after `previous`.
pub fn link(previous: &[u8; 32], event: &Event) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(canonical(event));
    hasher.finalize().into()
}

/// What a digest signs: the tenant's chain head at `seq` with `hash`, at `signed_at` (microseconds).
pub fn digest_message(tenant: Uuid, seq: i64, hash: &[u8], signed_at_micros: i64) -> Vec<u8> {
    format!(
        "trellis-audit-digest/1\n{tenant}\n{seq}\n{}\n{signed_at_micros}",
        hex(hash)
    )
    .into_bytes()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// A 32-byte hash from the database, or `None` when it is not one.
pub fn hash32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn event(metadata: Value) -> Event {
        Event {
            tenant_id: Uuid::nil(),
            occurred_at: chrono::Utc
                .timestamp_micros(1_765_000_000_123_456)
                .single()
                .unwrap()
                .fixed_offset(),
            id: Uuid::from_u128(7),
            actor_type: "user".into(),
            actor_id: None,
            actor_display: Some("ann@example.com".into()),
            action: "member.invited".into(),
            target_type: Some("user".into()),
            target_id: Some("42".into()),
            target_display: None,
            request_id: None,
            ip: Some("127.0.0.1".into()),
            user_agent: None,
            metadata,
        }
    }

    #[test]
    fn the_encoding_is_fixed_and_sorts_keys() {
        let encoded = canonical(&event(json!({"b": 1, "a": {"d": [1, "x"], "c": null}})));
        assert_eq!(
            String::from_utf8(encoded).unwrap(),
            r#"["trellis-audit-event/1","00000000-0000-0000-0000-000000000000","00000000-0000-0000-0000-000000000007",1765000000123456,"user",null,"ann@example.com","member.invited","user","42",null,null,"127.0.0.1",null,{"a":{"c":null,"d":[1,"x"]},"b":1}]"#
        );
    }

    #[test]
    fn every_field_changes_the_link() {
        let base = event(json!({"role": "member"}));
        let first = link(&GENESIS, &base);
        assert_eq!(first, link(&GENESIS, &base.clone()), "deterministic");
        let mut changed = base.clone();
        changed.metadata = json!({"role": "owner"});
        assert_ne!(first, link(&GENESIS, &changed));
        let mut changed = base.clone();
        changed.actor_display = None;
        assert_ne!(first, link(&GENESIS, &changed));
        let mut changed = base.clone();
        changed.occurred_at += chrono::Duration::microseconds(1);
        assert_ne!(first, link(&GENESIS, &changed));
        assert_ne!(
            first,
            link(&first, &base),
            "the previous hash is part of it"
        );
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
