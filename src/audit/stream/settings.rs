//! The organization's stream as its admins configure it: read, create or replace, delete, on the
//! request's [`TenantTx`]. The HMAC secret and the extra headers (credentials such as Splunk's
//! `Authorization`) are sealed with the tenant's binding and never returned; only header names are.
//! Both are kept on a change only while the URL keeps its origin and path: they are never sent to
//! another host, nor to another endpoint of a shared one. The audit log records the URL with its query
//! values redacted (a collector's token may sit there, though it belongs in a header).

use std::collections::BTreeMap;

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use url::Url;

use super::wire::Format;
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    crypto::Crypto,
    domain::TenantId,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
};

pub type Stream = entity::audit_streams::Model;

const MAX_HEADERS: usize = 10;
const MAX_HEADER_VALUE: usize = 4096;
/// Headers the sender sets itself, or that would change how the request is framed or routed.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "user-agent",
    "cookie",
];

/// Where delivery starts when a stream is created (or restarts when given on a change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Events sealed from now on.
    Now,
    /// Every event the organization's log still holds.
    Oldest,
}

/// A stream as the admin sends it. `secret` and `headers` may be left out when replacing a stream whose
/// URL keeps its origin (the stored ones are kept); `headers` given replaces them all.
#[derive(Debug)]
pub struct StreamInput {
    pub url: String,
    pub secret: Option<String>,
    pub format: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub enabled: bool,
    pub start_at: Option<StartAt>,
}

/// The stream, if the organization has one.
pub async fn find(tx: &TenantTx) -> Result<Option<Stream>, ApiError> {
    Ok(entity::audit_streams::Entity::find()
        .filter(entity::audit_streams::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .one(tx)
        .await?)
}

pub async fn get(tx: &TenantTx) -> Result<Stream, ApiError> {
    find(tx).await?.ok_or(ApiError::NotFound {
        code: "audit_stream_not_configured",
    })
}

/// The newest sequence number sealed in the organization's chain (0 before the first).
pub async fn head_seq(tx: &TenantTx) -> Result<i64, ApiError> {
    let head = entity::audit_chain_heads::Entity::find()
        .filter(entity::audit_chain_heads::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .one(tx)
        .await?;
    Ok(head.map_or(0, |h| h.seq))
}

/// Creates or replaces the stream; returns it and whether it was created. A change hands delivery back
/// at once: a batch in flight is sent again (at-least-once), failures are forgotten and the next
/// attempt is due now.
pub async fn put(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    allow_insecure: bool,
    input: StreamInput,
) -> Result<(Stream, bool), ApiError> {
    let existing = entity::audit_streams::Entity::find()
        .filter(entity::audit_streams::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .lock_exclusive()
        .one(tx)
        .await?;
    let valid = validate(&input, allow_insecure)?;
    let same_origin = existing
        .as_ref()
        .is_some_and(|old| endpoint(&old.url) == endpoint(valid.url.as_str()));
    let tenant = tx.tenant_id();
    let secret_sealed = match (&valid.secret, &existing) {
        (Some(secret), _) => seal(crypto, tenant, SECRET, secret.as_bytes())?,
        (None, Some(old)) if same_origin => old.secret_sealed.clone(),
        (None, Some(_)) => {
            return Err(ApiError::validation(
                "secret",
                "is required when the URL's origin or path changes",
            ));
        }
        (None, None) => {
            return Err(ApiError::validation(
                "secret",
                "is required for a new stream",
            ));
        }
    };
    let (headers_sealed, header_names) = match (&valid.headers, &existing) {
        (Some(headers), _) if headers.is_empty() => (None, Vec::new()),
        (Some(headers), _) => (
            Some(seal(
                crypto,
                tenant,
                HEADERS,
                &serde_json::to_vec(headers).map_err(ApiError::internal)?,
            )?),
            headers.keys().cloned().collect(),
        ),
        (None, Some(old)) if same_origin || old.headers_sealed.is_none() => {
            (old.headers_sealed.clone(), old.header_names.clone())
        }
        (None, _) if existing.is_none() => (None, Vec::new()),
        (None, _) => {
            return Err(ApiError::validation(
                "headers",
                "are required again when the URL's origin or path changes (send {} for none)",
            ));
        }
    };
    let delivered_seq = match (input.start_at, &existing) {
        (Some(StartAt::Oldest), _) => 0,
        (None, Some(old)) => old.delivered_seq,
        (Some(StartAt::Now), _) | (None, None) => head_seq(tx).await?,
    };
    let now = ctx.now.into();
    let row = entity::audit_streams::ActiveModel {
        tenant_id: Set(tenant.as_uuid()),
        id: Set(existing
            .as_ref()
            .map(|s| s.id)
            .unwrap_or_else(uuid::Uuid::now_v7)),
        url: Set(valid.url.to_string()),
        format: Set(valid.format.to_owned()),
        secret_sealed: Set(secret_sealed),
        headers_sealed: Set(headers_sealed),
        header_names: Set(header_names),
        enabled: Set(input.enabled),
        delivered_seq: Set(delivered_seq),
        delivered_events: Set(existing.as_ref().map_or(0, |s| s.delivered_events)),
        consecutive_failures: Set(0),
        next_attempt_at: Set(now),
        last_attempt_at: Set(existing.as_ref().and_then(|s| s.last_attempt_at)),
        last_success_at: Set(existing.as_ref().and_then(|s| s.last_success_at)),
        last_status: Set(existing.as_ref().and_then(|s| s.last_status)),
        last_error: Set(existing.as_ref().and_then(|s| s.last_error.clone())),
        // A worker's attempt in flight no longer records its outcome; its batch is sent again.
        locked_by: Set(None),
        locked_until: Set(None),
        created_at: Set(existing.as_ref().map_or(now, |s| s.created_at)),
        updated_at: Set(now),
    };
    let saved = match &existing {
        Some(_) => entity::audit_streams::Entity::update(row).exec(tx).await?,
        None => {
            entity::audit_streams::Entity::insert(row)
                .exec_with_returning(tx)
                .await?
        }
    };
    let mut after = describe(&saved);
    if let (Some(start), Value::Object(fields)) = (input.start_at, &mut after) {
        fields.insert(
            "start_at".into(),
            json!(match start {
                StartAt::Now => "now",
                StartAt::Oldest => "oldest",
            }),
        );
    }
    let (action, metadata) = match &existing {
        None => ("audit_stream.created", json!({ "after": after })),
        Some(old) => (
            "audit_stream.updated",
            json!({
                "before": describe(old),
                "after": after,
                "secret_changed": valid.secret.is_some(),
                "headers_changed": valid.headers.is_some(),
            }),
        ),
    };
    audit::record(
        tx,
        ctx,
        AuditEvent::new(action)
            .target("audit_stream", saved.id, Some(&redacted(&saved.url)))
            .metadata(metadata),
    )
    .await?;
    Ok((saved, existing.is_none()))
}

/// Removes the stream; events not delivered yet stay in the log.
pub async fn delete(tx: &TenantTx, ctx: &AuditCtx) -> Result<(), ApiError> {
    let existing = get(tx).await?;
    entity::audit_streams::Entity::delete_many()
        .filter(entity::audit_streams::Column::TenantId.eq(tx.tenant_id().as_uuid()))
        .exec(tx)
        .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("audit_stream.deleted")
            .target("audit_stream", existing.id, Some(&redacted(&existing.url)))
            .metadata(json!({ "before": describe(&existing) })),
    )
    .await?;
    Ok(())
}

/// The stream's HMAC secret, opened.
pub fn secret(crypto: &Crypto, stream: &Stream) -> Result<Vec<u8>, String> {
    open(crypto, stream, SECRET, &stream.secret_sealed)
}

/// The stream's extra headers, opened.
pub fn headers(crypto: &Crypto, stream: &Stream) -> Result<Vec<(String, String)>, String> {
    let Some(sealed) = &stream.headers_sealed else {
        return Ok(Vec::new());
    };
    let bytes = open(crypto, stream, HEADERS, sealed)?;
    let headers: BTreeMap<String, String> = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the stored headers do not parse: {e}"))?;
    Ok(headers.into_iter().collect())
}

pub fn format_of(stream: &Stream) -> Format {
    Format::parse(&stream.format).unwrap_or(Format::Json)
}

const SECRET: &str = "audit-stream-secret";
const HEADERS: &str = "audit-stream-headers";

fn seal(
    crypto: &Crypto,
    tenant: TenantId,
    purpose: &str,
    bytes: &[u8],
) -> Result<String, ApiError> {
    crypto
        .seal(bytes, &format!("{purpose}:{tenant}"))
        .map_err(ApiError::internal)
}

fn open(crypto: &Crypto, stream: &Stream, purpose: &str, sealed: &str) -> Result<Vec<u8>, String> {
    let tenant = TenantId::from_uuid(stream.tenant_id);
    crypto
        .open(sealed, &format!("{purpose}:{tenant}"))
        .map_err(|e| format!("the stored {purpose} cannot be opened ({e}); save the stream again"))
}

/// Where a URL sends to: its origin and path (not its query).
fn endpoint(url: &str) -> Option<(url::Origin, String)> {
    Url::parse(url)
        .ok()
        .map(|u| (u.origin(), u.path().to_owned()))
}

/// The URL with every query value replaced, for the audit log.
fn redacted(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return String::new();
    };
    if parsed.query().is_some() {
        let names: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
        parsed
            .query_pairs_mut()
            .clear()
            .extend_pairs(names.iter().map(|k| (k.as_str(), "redacted")));
    }
    parsed.to_string()
}

/// What the audit log records of a stream: everything but the secret, the header values and the
/// URL's query values.
fn describe(s: &Stream) -> Value {
    json!({
        "url": redacted(&s.url),
        "format": s.format,
        "header_names": s.header_names,
        "enabled": s.enabled,
    })
}

/// Checked values, ready to store.
struct Valid {
    url: Url,
    secret: Option<String>,
    format: &'static str,
    headers: Option<BTreeMap<String, String>>,
}

fn validate(input: &StreamInput, allow_insecure: bool) -> Result<Valid, ApiError> {
    let mut errors = Vec::new();
    let url = match check_url(input.url.trim(), allow_insecure) {
        Ok(url) => Some(url),
        Err(message) => {
            errors.push(FieldError::new("url", message));
            None
        }
    };
    let secret = input.secret.as_deref();
    if let Some(secret) = secret
        && (secret.chars().count() < 16
            || secret.chars().count() > 512
            || secret.chars().any(char::is_control))
    {
        errors.push(FieldError::new(
            "secret",
            "must be 16 to 512 characters, without control characters",
        ));
    }
    let format = match input.format.as_deref() {
        None => Some("json"),
        Some(name) => Format::NAMES.iter().copied().find(|n| *n == name),
    };
    if format.is_none() {
        errors.push(FieldError::new(
            "format",
            format!("must be one of {}", Format::NAMES.join(", ")),
        ));
    }
    let headers = input.headers.as_ref().map(|given| {
        let mut headers = BTreeMap::new();
        if given.len() > MAX_HEADERS {
            errors.push(FieldError::new("headers", format!("at most {MAX_HEADERS}")));
        }
        for (name, value) in given {
            let lower = name.trim().to_ascii_lowercase();
            let field = format!("headers.{name}");
            if lower.is_empty() || lower.len() > 100 || !lower.bytes().all(is_token_byte) {
                errors.push(FieldError::new(field, "is not a header name"));
            } else if RESERVED_HEADERS.contains(&lower.as_str())
                || lower.starts_with("trellis-")
                || lower.starts_with("proxy-")
            {
                errors.push(FieldError::new(
                    field,
                    "is set by Trellis and cannot be sent",
                ));
            } else if value.is_empty()
                || value.len() > MAX_HEADER_VALUE
                || value.chars().any(|c| c.is_control() || !c.is_ascii())
            {
                errors.push(FieldError::new(
                    field,
                    format!("must be 1 to {MAX_HEADER_VALUE} printable ASCII characters"),
                ));
            } else if headers.insert(lower, value.clone()).is_some() {
                errors.push(FieldError::new(field, "is given twice"));
            }
        }
        headers
    });
    match (url, format, errors.is_empty()) {
        (Some(url), Some(format), true) => Ok(Valid {
            url,
            secret: secret.map(str::to_owned),
            format,
            headers,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// RFC 9110 token characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A receiver's URL: https (http, and loopback or private addresses, only where the server allows
/// insecure stream URLs), a host, no credentials (they belong in `headers`, which are sealed) and no
/// fragment.
fn check_url(given: &str, allow_insecure: bool) -> Result<Url, String> {
    if given.len() > 2000 {
        return Err("is too long".into());
    }
    let url = Url::parse(given).map_err(|_| "is not a URL".to_owned())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err("must be an https URL".into()),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials (send them as headers)".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    crate::outbound::check_target(&url, allow_insecure)?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str) -> StreamInput {
        StreamInput {
            url: url.into(),
            secret: Some("0123456789abcdef".into()),
            format: None,
            headers: None,
            enabled: true,
            start_at: None,
        }
    }

    fn fields(error: ApiError) -> Vec<String> {
        match error {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn urls_must_be_public_https_without_credentials() {
        assert!(
            validate(
                &input("https://http-inputs.example.splunkcloud.com/services/collector"),
                false
            )
            .is_ok()
        );
        for url in [
            "http://siem.example.com/in",
            "https://user:pw@siem.example.com/in",
            "https://127.0.0.1/in",
            "https://[::1]/in",
            "https://10.0.0.5/in",
            "https://siem.example.com/in#x",
            "not a url",
        ] {
            assert_eq!(
                fields(validate(&input(url), false).err().unwrap()),
                ["url"],
                "{url}"
            );
        }
        assert!(validate(&input("http://127.0.0.1:9999/in"), true).is_ok());
    }

    #[test]
    fn the_audit_log_sees_no_query_values() {
        assert_eq!(
            redacted("https://siem.example/in?dd-api-key=abc&x=1"),
            "https://siem.example/in?dd-api-key=redacted&x=redacted"
        );
        assert_eq!(
            redacted("https://siem.example/in"),
            "https://siem.example/in"
        );
    }

    #[test]
    fn secrets_formats_and_headers_are_checked() {
        let mut short = input("https://siem.example.com/in");
        short.secret = Some("short".into());
        assert_eq!(fields(validate(&short, false).err().unwrap()), ["secret"]);

        let mut format = input("https://siem.example.com/in");
        format.format = Some("xml".into());
        assert_eq!(fields(validate(&format, false).err().unwrap()), ["format"]);

        let mut headers = input("https://siem.example.com/in");
        headers.headers = Some(BTreeMap::from([
            ("Authorization".into(), "Splunk 1234".into()),
            ("Host".into(), "evil".into()),
            ("Trellis-Signature".into(), "x".into()),
            ("bad name".into(), "x".into()),
            ("X-Line".into(), "a\r\nInjected: 1".into()),
        ]));
        let mut refused = fields(validate(&headers, false).err().unwrap());
        refused.sort();
        assert_eq!(
            refused,
            [
                "headers.Host",
                "headers.Trellis-Signature",
                "headers.X-Line",
                "headers.bad name"
            ]
        );

        let mut good = input("https://siem.example.com/in");
        good.headers = Some(BTreeMap::from([("DD-API-KEY".into(), "abc".into())]));
        let valid = validate(&good, false).unwrap();
        assert_eq!(
            valid.headers.unwrap().into_iter().collect::<Vec<_>>(),
            [("dd-api-key".to_owned(), "abc".to_owned())]
        );
    }
}
