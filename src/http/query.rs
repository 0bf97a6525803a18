//! `ValidQuery<T>`: a query-string extractor that answers like [`super::ValidJson`]: a value that does
//! not parse, or an unknown or missing parameter, is a 422 naming that parameter (`actor_id`, not a
//! fragment of serde's message).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

pub struct ValidQuery<T>(pub T);

impl<T> ValidQuery<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for ValidQuery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for ValidQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(ValidQuery))
    }
}

/// Deserialises a query string, naming the parameter at fault on failure.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        let field = match (named, path.as_str()) {
            (Some(name), _) => name.to_owned(),
            (None, ".") => "query".to_owned(),
            (None, path) => path.to_owned(),
        };
        let described = match named {
            Some(_) if message.starts_with("unknown") => "is not a parameter of this request",
            Some(_) => "is required",
            None => "is not valid",
        };
        ApiError::Validation(vec![FieldError::new(field, described)])
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Filters {
        #[allow(dead_code)]
        actor_id: Option<uuid::Uuid>,
        #[allow(dead_code)]
        limit: Option<u32>,
    }

    fn field(query: &str) -> String {
        match parse::<Filters>(query) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_parameter() {
        assert_eq!(field("actor_id=nope"), "actor_id");
        assert_eq!(field("limit=-1"), "limit");
        assert_eq!(field("limit=5&colour=red"), "colour");
        assert!(parse::<Filters>("limit=5&actor_id=0190b8b0-0000-7000-8000-000000000000").is_ok());
        assert!(parse::<Filters>("").is_ok());
    }
}
