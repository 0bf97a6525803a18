//! Checks of text a person types, shared by the feature areas: names and titles, free text, links.
//! Each returns the value to store, or the field's error.

use crate::error::FieldError;

/// A name or title: trimmed, 1 to `max` characters, no control characters.
pub fn label(field: &str, raw: &str, max: usize) -> std::result::Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// Free text (a description, a note): at most `max` characters, no NUL; line breaks allowed.
pub fn prose(field: &str, raw: &str, max: usize) -> std::result::Result<String, FieldError> {
    if raw.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if raw.contains('\0') {
        return Err(FieldError::new(field, "must not contain NUL characters"));
    }
    Ok(raw.trim().to_owned())
}

/// A link a person gives: an absolute `http` or `https` URL with a host, at most 2000 characters.
pub fn web_url(field: &str, raw: &str) -> std::result::Result<String, FieldError> {
    let text = raw.trim();
    if text.chars().count() > 2000 {
        return Err(FieldError::new(field, "must be at most 2000 characters"));
    }
    // Stored as parsed: tabs and line breaks inside are dropped, anything unsafe percent-encoded.
    match url::Url::parse(text) {
        Ok(url)
            if ["http", "https"].contains(&url.scheme())
                && url.host().is_some()
                && url.as_str().len() <= 2000 =>
        {
            Ok(url.into())
        }
        _ => Err(FieldError::new(field, "must be an http or https URL")),
    }
}

/// An IANA time zone name (`Europe/Berlin`), from the time zone database compiled in.
pub fn time_zone(field: &str, raw: &str) -> std::result::Result<chrono_tz::Tz, FieldError> {
    raw.parse()
        .map_err(|_| FieldError::new(field, "is not an IANA time zone name"))
}
