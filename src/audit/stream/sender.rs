//! One POST to a stream's receiver, with the [`crate::outbound`] client (no redirects; public https
//! targets only unless insecure stream URLs are allowed). Used by the worker's deliveries and by the
//! admin's test delivery.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use url::Url;
use uuid::Uuid;

use super::wire;

/// How much of a refusing receiver's answer is read, and kept for the delivery status.
const ERROR_BODY_BYTES: usize = 4096;
const ERROR_BODY_CHARS: usize = 300;

pub struct Sender {
    http: reqwest::Client,
    allow_insecure: bool,
}

/// What one POST came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it is not a success: a transport error, or the status with the start of the answer.
    pub error: Option<String>,
    pub duration: Duration,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// A signed request, ready to send.
pub struct Delivery<'a> {
    pub url: &'a str,
    pub secret: &'a [u8],
    pub headers: &'a [(String, String)],
    pub body: Vec<u8>,
    /// Unix seconds, signed into the signature.
    pub timestamp: i64,
    /// `first-last` sequence numbers of the events in the body (absent for a test).
    pub sequence: Option<(i64, i64)>,
}

impl Sender {
    pub fn new(timeout: Duration, allow_insecure: bool) -> Result<Sender, reqwest::Error> {
        Ok(Sender {
            http: crate::outbound::client(timeout, allow_insecure, "Trellis-AuditStream/1")?,
            allow_insecure,
        })
    }

    pub fn allows_insecure(&self) -> bool {
        self.allow_insecure
    }

    /// POSTs `delivery`; a 2xx answer is a success, anything else (redirects included) a failure.
    pub async fn post(&self, delivery: Delivery<'_>) -> Attempt {
        let started = Instant::now();
        let outcome = self.try_post(delivery).await;
        let duration = started.elapsed();
        match outcome {
            Ok((status, _)) if (200..300).contains(&status) => Attempt {
                status: Some(status),
                error: None,
                duration,
            },
            Ok((status, answer)) => Attempt {
                status: Some(status),
                error: Some(format!("the receiver answered {status}: {answer}")),
                duration,
            },
            Err(error) => Attempt {
                status: None,
                error: Some(error),
                duration,
            },
        }
    }

    async fn try_post(&self, delivery: Delivery<'_>) -> Result<(u16, String), String> {
        let url = Url::parse(delivery.url).map_err(|e| format!("the URL is invalid: {e}"))?;
        crate::outbound::check_target(&url, self.allow_insecure)?;
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                "trellis-signature",
                wire::signature(delivery.secret, delivery.timestamp, &delivery.body),
            )
            .header("trellis-delivery", Uuid::now_v7().to_string());
        if let Some((first, last)) = delivery.sequence {
            request = request.header("trellis-sequence", format!("{first}-{last}"));
        }
        for (name, value) in delivery.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("the header name {name} is invalid"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("the value of the header {name} is invalid"))?;
            request = request.header(name, value);
        }
        let response = request
            .body(delivery.body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok((status, String::new()));
        }
        // Only the start of a refusal is read (a receiver could answer with gigabytes).
        let mut response = response;
        let mut start = Vec::new();
        while start.len() < ERROR_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                _ => break,
            }
        }
        start.truncate(ERROR_BODY_BYTES);
        let answer = String::from_utf8_lossy(&start)
            .chars()
            .filter(|c| !c.is_control())
            .take(ERROR_BODY_CHARS)
            .collect();
        Ok((status, answer))
    }
}

/// A transport error in words, without the URL (which the status shows already).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "the receiver did not answer in time"
    } else if error.is_connect() {
        "could not connect to the receiver"
    } else {
        "the request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
