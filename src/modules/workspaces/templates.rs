//! A workspace's templates library: its documents of type `template`, whose `{{placeholders}}`
//! (letters, digits and `_`; spaces inside the braces allowed) a new document fills in when it is made
//! from one. A placeholder without a value stays as written, for the author to fill in later; a value
//! for a placeholder the template does not have is refused, as a typo would be.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use sea_orm::FromQueryResult;
use uuid::Uuid;

use super::workspace;
use crate::{
    db::sql::statement,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Values one document fills in, at most, and the characters of each.
pub const MAX_FIELDS: usize = 30;
pub const MAX_VALUE: usize = 500;

/// The placeholders of `text` and where each is: `(start, end, name)` in bytes, in order.
fn find(text: &str) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| from + i) {
        let Some(close) = text[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        let name = text[open + 2..close].trim();
        let valid = !name.is_empty()
            && name.len() <= 40
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            found.push((open, close + 2, name.to_ascii_lowercase()));
            from = close + 2;
        } else {
            from = open + 2;
        }
    }
    found
}

/// The distinct placeholders of `text`, in the order they first appear.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    find(text)
        .into_iter()
        .filter_map(|(_, _, name)| seen.insert(name.clone()).then_some(name))
        .collect()
}

/// `text` with the placeholders `fields` gives values for filled in (names compare without case);
/// 422 for a value the template has no placeholder for, or one too long.
pub fn fill(text: &str, fields: &BTreeMap<String, String>) -> Result<String> {
    let names: BTreeSet<String> = placeholders(text).into_iter().collect();
    let mut errors = Vec::new();
    if fields.len() > MAX_FIELDS {
        errors.push(FieldError::new(
            "template.fields",
            format!("at most {MAX_FIELDS} values"),
        ));
    }
    let named: BTreeMap<String, &String> = fields
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v))
        .collect();
    if named.len() < fields.len() {
        errors.push(FieldError::new(
            "template.fields",
            "names a placeholder twice (names compare without case)",
        ));
    }
    let fields = named;
    for (name, value) in &fields {
        if !names.contains(name) {
            errors.push(FieldError::new(
                format!("template.fields.{name}"),
                "the template has no such placeholder",
            ));
        } else if value.chars().count() > MAX_VALUE || value.contains('\0') {
            errors.push(FieldError::new(
                format!("template.fields.{name}"),
                format!("must be at most {MAX_VALUE} characters, without NUL"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, name) in find(text) {
        out.push_str(&text[at..start]);
        match fields.get(&name) {
            Some(value) => out.push_str(value),
            None => out.push_str(&text[start..end]),
        }
        at = end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct TemplateRow {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub current_version: i32,
    /// Documents made from it.
    pub used: i64,
    pub updated_at: DateTime<FixedOffset>,
}

/// The workspace's templates, by title (at most 500).
pub async fn list(tx: &TenantTx, user: Uuid, workspace: Uuid) -> Result<Vec<TemplateRow>> {
    workspace::get(tx, user, workspace, false).await?;
    Ok(TemplateRow::find_by_statement(statement(
        "SELECT d.id, d.title, d.body, d.current_version, \
         (SELECT count(*) FROM documents x WHERE x.tenant_id = d.tenant_id AND x.template_id = d.id) AS used, \
         d.updated_at FROM documents d WHERE d.tenant_id = $1 AND d.workspace_id = $2 AND d.doc_type = 'template' \
         ORDER BY lower(d.title), d.id LIMIT 500",
        vec![tx.tenant_id().as_uuid().into(), workspace.into()],
    ))
    .all(tx)
    .await?)
}

/// Template `id` of `workspace` (a 422 naming `template.id` when it is not one).
pub async fn get(tx: &TenantTx, workspace: Uuid, id: Uuid) -> Result<TemplateRow> {
    TemplateRow::find_by_statement(statement(
        "SELECT d.id, d.title, d.body, d.current_version, 0::bigint AS used, d.updated_at FROM documents d \
         WHERE d.tenant_id = $1 AND d.workspace_id = $2 AND d.id = $3 AND d.doc_type = 'template'",
        vec![tx.tenant_id().as_uuid().into(), workspace.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(|| ApiError::validation("template.id", "is not a template of this workspace"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_are_found_once_each_and_filled_where_given() {
        let text = "Dear {{Company}} team,\nI want the {{ role }} role at {{company}}. {{not valid!}} {{}}";
        assert_eq!(placeholders(text), ["company", "role"]);
        let filled = fill(text, &fields(&[("company", "Acme")])).unwrap();
        assert_eq!(
            filled,
            "Dear Acme team,\nI want the {{ role }} role at Acme. {{not valid!}} {{}}"
        );
    }

    #[test]
    fn a_value_for_no_placeholder_or_too_long_is_refused() {
        let text = "Hello {{name}}";
        assert!(fill(text, &fields(&[("nmae", "x")])).is_err());
        assert!(fill(text, &fields(&[("name", &"x".repeat(501))])).is_err());
        assert!(fill(text, &fields(&[("name", "a"), ("Name", "b")])).is_err());
        assert_eq!(
            fill(text, &fields(&[("NAME", "Ana")])).unwrap(),
            "Hello Ana"
        );
    }

    #[test]
    fn unclosed_braces_and_text_outside_ascii_survive() {
        let text = "Grüße {{name}} {{ and more";
        assert_eq!(
            fill(text, &fields(&[("name", "Zoë")])).unwrap(),
            "Grüße Zoë {{ and more"
        );
    }
}
