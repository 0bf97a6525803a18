//! `ValidJson<T>`: a JSON body extractor that answers like the rest of the API. Wrong content type: 415.
//! Larger than `server.max_body_bytes`: 413. Malformed JSON, a missing or unknown field, a wrong type:
//! 422 with the JSON path of the field at fault (DTOs use `deny_unknown_fields`). Not complete within
//! `server.body_timeout_secs`: 408.

use std::{future::Future, pin::Pin, time::Duration};

use actix_web::{
    FromRequest, HttpRequest,
    dev::Payload,
    http::header,
    web::{BytesMut, Data},
};
use futures_util::StreamExt;
use serde::{Deserialize, Deserializer, de::DeserializeOwned};

use crate::{
    error::{ApiError, FieldError},
    state::AppState,
};

pub struct ValidJson<T>(pub T);

impl<T> ValidJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (limit, timeout) = req
            .app_data::<Data<AppState>>()
            .map(|state| {
                let server = &state.settings.server;
                (
                    server.max_body_bytes,
                    Duration::from_secs(server.body_timeout_secs),
                )
            })
            .unwrap_or((1024 * 1024, Duration::from_secs(30)));
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|mime| {
                mime.type_() == mime::APPLICATION
                    && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
            });
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_length.is_some_and(|length| length > limit) {
                return Err(ApiError::PayloadTooLarge);
            }
            let read = async {
                let mut body = BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|_| {
                        ApiError::bad_request(
                            "unreadable_body",
                            "the request body could not be read",
                        )
                    })?;
                    if body.len() + chunk.len() > limit {
                        return Err(ApiError::PayloadTooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = tokio::time::timeout(timeout, read)
                .await
                .map_err(|_| ApiError::RequestTimeout)??;
            parse(&body).map(ValidJson)
        })
    }
}

/// Deserialises `body`, naming the field at fault on failure.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = if inner.is_syntax() || inner.is_eof() {
            "body".to_owned()
        } else {
            named_field(&path, &inner.to_string())
        };
        ApiError::Validation(vec![FieldError::new(field, describe(&inner))])
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::Validation(vec![FieldError::new("body", describe(&e))]))?;
    Ok(value)
}

/// serde reports a missing or unknown field at its parent's path, naming it in the message: put the
/// field's own path in front instead (`members[0].email`, not `members[0]`).
fn named_field(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (named, path) {
        (Some(name), path) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (Some(name), ".") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, ".") => "body".to_owned(),
        (None, path) => path.to_owned(),
    }
}

/// serde's message without its "at line 1 column 7" suffix, which means nothing to an API client.
fn describe(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.find(" at line ") {
        Some(position) => message[..position].to_owned(),
        None => message,
    }
}

/// For `Option<Option<T>>` fields of a change (`#[serde(default, deserialize_with = "present")]`):
/// absent leaves the value, `null` clears it.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        tags: Vec<u32>,
    }

    fn field_of(body: &str) -> String {
        match parse::<Body>(body.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        assert_eq!(field_of(r#"{"name": 1, "tags": []}"#), "name");
        assert_eq!(field_of(r#"{"name": "a", "tags": [1, "x"]}"#), "tags[1]");
        assert_eq!(field_of(r#"{"name": "a"}"#), "tags");
        assert_eq!(
            field_of(r#"{"name": "a", "tags": [], "extra": 1}"#),
            "extra"
        );
        assert_eq!(field_of("[]"), "body");
        assert_eq!(field_of(r#"{"name": "#), "body");
        assert!(parse::<Body>(br#"{"name": "a", "tags": [1]}"#).is_ok());
    }
}
