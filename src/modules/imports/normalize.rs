//! A row on its own: the values it will store (only the mapped fields, normalised: the address through
//! the same `Email::parse` as everywhere, dates, lengths), or why not (formulas, control characters,
//! over-long cells, a ragged row). Pure functions, run on blocking threads as rows are stored.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::fields::{Field, Mapping};
use crate::{domain::Email, spreadsheet::is_formula};

/// A row's values as they will be stored (only the mapped fields), or why not.
pub fn normalize(
    cells: &[String],
    problem: Option<&str>,
    mapping: &Mapping,
    headers: &[String],
) -> (Value, Vec<Value>) {
    let mut errors = Vec::new();
    if let Some(problem) = problem {
        errors.push(json!({ "column": null, "reason": format!("the row {problem}") }));
    }
    let mut value = Map::new();
    let cell = |field: Field| -> Option<(String, String)> {
        let i = mapping.column(field)?;
        let header = headers.get(i).cloned().unwrap_or_default();
        let content = cells
            .get(i)
            .map(|c| c.trim().to_owned())
            .unwrap_or_default();
        Some((content, header))
    };
    let text = |field: Field, max: usize, errors: &mut Vec<Value>| -> Option<Option<String>> {
        let (content, header) = cell(field)?;
        if content.is_empty() {
            return Some(None);
        }
        if is_formula(&content) {
            errors.push(json!({ "column": header, "reason": format!("starts with {:?}: formulas are not accepted", content.chars().next().unwrap_or('=')) }));
            return Some(None);
        }
        if content.chars().count() > max {
            errors.push(
                json!({ "column": header, "reason": format!("is longer than {max} characters") }),
            );
            return Some(None);
        }
        if content.chars().any(char::is_control) {
            errors.push(json!({ "column": header, "reason": "contains control characters" }));
            return Some(None);
        }
        Some(Some(content))
    };
    let email_header = mapping
        .column(Field::Email)
        .and_then(|i| headers.get(i))
        .cloned()
        .unwrap_or_default();
    match text(Field::Email, 254, &mut errors) {
        Some(Some(raw)) => match Email::parse(&raw) {
            Ok(email) => {
                value.insert("email".into(), email.as_str().into());
            }
            Err(why) => {
                errors.push(json!({ "column": email_header, "reason": format!("{raw:?} {why}") }))
            }
        },
        _ => {
            errors.push(json!({ "column": email_header, "reason": "the email address is missing" }))
        }
    }
    let first = text(Field::FirstName, 200, &mut errors);
    let last = text(Field::LastName, 200, &mut errors);
    let full = text(Field::FullName, 200, &mut errors);
    if let Some(first) = &first {
        value.insert("given_name".into(), first.clone().into());
    }
    if let Some(last) = &last {
        value.insert("family_name".into(), last.clone().into());
    }
    if full.is_some() || first.is_some() || last.is_some() {
        let display = full.flatten().or_else(|| {
            let joined = [first.flatten(), last.flatten()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        });
        value.insert(
            "display_name".into(),
            display
                .map(|d| d.chars().take(200).collect::<String>())
                .into(),
        );
    }
    for (field, key, max) in [
        (Field::Title, "title", 200),
        (Field::Department, "department", 200),
        (Field::Location, "location", 200),
        (Field::EmployeeId, "employee_id", 100),
    ] {
        if let Some(content) = text(field, max, &mut errors) {
            value.insert(key.into(), content.into());
        }
    }
    if let Some(content) = text(Field::ManagerEmail, 254, &mut errors) {
        let header = mapping
            .column(Field::ManagerEmail)
            .and_then(|i| headers.get(i))
            .cloned();
        let manager = match content {
            None => None,
            Some(raw) => match Email::parse(&raw) {
                Ok(email) => Some(email.as_str().to_owned()),
                Err(why) => {
                    errors.push(json!({ "column": header, "reason": format!("{raw:?} {why}") }));
                    None
                }
            },
        };
        if manager.is_some() && manager.as_deref() == value.get("email").and_then(Value::as_str) {
            errors.push(
                json!({ "column": header, "reason": "a member cannot be their own manager" }),
            );
        }
        value.insert("manager_email".into(), manager.into());
    }
    if let Some(Some(role)) = text(Field::Role, 63, &mut errors) {
        value.insert("role".into(), role.to_lowercase().into());
    }
    if let Some(content) = text(Field::StartDate, 10, &mut errors) {
        let header = mapping
            .column(Field::StartDate)
            .and_then(|i| headers.get(i))
            .cloned();
        let date = match content {
            None => None,
            Some(raw) => match NaiveDate::parse_from_str(&raw, "%Y-%m-%d") {
                Ok(date) => Some(date.to_string()),
                Err(_) => {
                    errors.push(json!({ "column": header, "reason": format!("{raw:?} is not a date: write it as YYYY-MM-DD") }));
                    None
                }
            },
        };
        value.insert("start_date".into(), date.into());
    }
    (Value::Object(value), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<String> {
        ["Email", "First", "Last", "Manager", "Start"]
            .map(String::from)
            .to_vec()
    }

    fn row(cells: &[&str]) -> (Value, Vec<Value>) {
        let headers = headers();
        let mapping = Mapping::detect(&headers);
        let cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        normalize(&cells, None, &mapping, &headers)
    }

    #[test]
    fn a_good_row_becomes_what_will_be_stored() {
        let (value, errors) = row(&[
            " Ada@Acme.example ",
            "Ada",
            "Lovelace",
            "boss@acme.example",
            "2026-01-05",
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            value,
            json!({
                "email": "ada@acme.example",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "display_name": "Ada Lovelace",
                "manager_email": "boss@acme.example",
                "start_date": "2026-01-05",
            })
        );
    }

    #[test]
    fn bad_cells_say_which_column_and_why() {
        let (_, errors) = row(&[
            "not-an-address",
            "=HYPERLINK(\"http://x\")",
            "L",
            "a@acme.example",
            "05/01/2026",
        ]);
        let text = serde_json::to_string(&errors).unwrap();
        assert!(text.contains("\"column\":\"Email\""), "{text}");
        assert!(text.contains("formulas are not accepted"), "{text}");
        assert!(text.contains("YYYY-MM-DD"), "{text}");
        let (_, own) = row(&["a@acme.example", "A", "B", "A@acme.example", ""]);
        assert!(
            serde_json::to_string(&own)
                .unwrap()
                .contains("their own manager")
        );
    }
}
