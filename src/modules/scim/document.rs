//! What every SCIM resource answer shares: the query (`filter`, `startIndex`, `count`, `attributes`,
//! `excludedAttributes`, from the URL or a `/.search` body), the projection of a resource onto the
//! attributes asked for, the ListResponse, and reading a request body.

use serde_json::{Map, Value, json};

use crate::{db::sql::SqlBuilder, tenancy::TenantTx};

use sea_orm::{DbBackend, FromQueryResult, Statement};

use super::{
    error::{ScimError, ScimResult},
    filter::{self, AttrPath, Column, Filter},
    schema::{self, ResourceType},
};

/// Largest SCIM request body (a group's full member list on PUT).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct Query {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

fn attr_list(text: Option<&str>) -> ScimResult<Vec<AttrPath>> {
    text.map(|t| {
        t.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(AttrPath::parse)
            .collect()
    })
    .unwrap_or(Ok(Vec::new()))
}

/// A number parameter; out-of-range values are clamped as RFC 7644 §3.4.2.4 says.
fn number(name: &str, text: Option<&str>) -> ScimResult<Option<i64>> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer")))
    })
    .transpose()
}

impl Query {
    /// From URL parameters (names compared without case).
    pub fn from_params(params: &[(String, String)]) -> ScimResult<Query> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        Query::build(
            get("filter"),
            number("startIndex", get("startIndex"))?,
            number("count", get("count"))?,
            get("attributes"),
            get("excludedAttributes"),
        )
    }

    /// From a SearchRequest body (`POST /Users/.search`).
    pub fn from_search(body: &Value) -> ScimResult<Query> {
        let Some(body) = body.as_object() else {
            return Err(ScimError::bad(
                "invalidSyntax",
                "a SearchRequest object is expected",
            ));
        };
        let get = |name: &str| {
            body.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |name: &str| -> ScimResult<Option<String>> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
            }
        };
        let int = |name: &str| -> ScimResult<Option<i64>> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer"))),
            }
        };
        Query::build(
            text("filter")?.as_deref(),
            int("startIndex")?,
            int("count")?,
            text("attributes")?.as_deref(),
            text("excludedAttributes")?.as_deref(),
        )
    }

    fn build(
        filter: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> ScimResult<Query> {
        Ok(Query {
            filter: filter
                .filter(|f| !f.trim().is_empty())
                .map(Filter::parse)
                .transpose()?,
            start_index: start_index.unwrap_or(1).max(1) as u64,
            count: count.unwrap_or(100).clamp(0, schema::MAX_RESULTS as i64) as u64,
            attributes: attr_list(attributes)?,
            excluded: attr_list(excluded)?,
        })
    }

    /// Whether the answer includes `attr` of the core schema (to skip loading what is not asked for).
    pub fn wants(&self, attr: &str) -> bool {
        let named = |paths: &[AttrPath]| {
            paths.iter().any(|p| {
                p.attr.eq_ignore_ascii_case(attr)
                    && p.urn
                        .as_deref()
                        .is_none_or(|u| u.starts_with("urn:ietf:params:scim:schemas:core"))
            })
        };
        if !self.attributes.is_empty() {
            return named(&self.attributes);
        }
        !named(&self.excluded)
    }
}

/// `doc` with only what `query` asks for (`id` and `schemas` always stay).
pub fn project(rt: &ResourceType, doc: Value, query: &Query) -> Value {
    let Value::Object(mut doc) = doc else {
        return doc;
    };
    if !query.attributes.is_empty() {
        let mut out = Map::new();
        for key in ["schemas", "id"] {
            if let Some(v) = doc.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
        for path in &query.attributes {
            copy_path(rt, &doc, &mut out, path);
        }
        out.retain(|_, v| !v.as_object().is_some_and(Map::is_empty));
        return Value::Object(out);
    }
    for path in &query.excluded {
        remove_path(rt, &mut doc, path);
    }
    Value::Object(doc)
}

/// The object a path's attribute lives in (the document, or an extension's object) and its key.
fn container_key(rt: &ResourceType, path: &AttrPath) -> Option<Option<&'static str>> {
    match &path.urn {
        None => Some(None),
        Some(urn) if urn.eq_ignore_ascii_case(rt.schema.id) => Some(None),
        Some(urn) => rt.extension(urn).map(|ext| Some(ext.id)),
    }
}

fn find_key<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name))
}

fn copy_path(
    rt: &ResourceType,
    doc: &Map<String, Value>,
    out: &mut Map<String, Value>,
    path: &AttrPath,
) {
    let Some(ext) = container_key(rt, path) else {
        return;
    };
    let (source, target) = match ext {
        None => (Some(doc), out),
        Some(urn) => {
            let source = doc.get(urn).and_then(Value::as_object);
            let target = out
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match target.as_object_mut() {
                Some(t) => (source, t),
                None => return,
            }
        }
    };
    let Some(source) = source else {
        return;
    };
    let Some(key) = find_key(source, &path.attr) else {
        return;
    };
    match (&path.sub, &source[key]) {
        (Some(sub), Value::Object(inner)) => {
            if let Some(sub_key) = find_key(inner, sub) {
                let entry = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(obj) = entry.as_object_mut() {
                    obj.insert(sub_key.clone(), inner[sub_key].clone());
                }
            }
        }
        (Some(sub), Value::Array(items)) => {
            let picked: Vec<Value> = items
                .iter()
                .filter_map(|item| {
                    let obj = item.as_object()?;
                    let sub_key = find_key(obj, sub)?;
                    Some(json!({ sub_key.clone(): obj[sub_key].clone() }))
                })
                .collect();
            target.insert(key.clone(), Value::Array(picked));
        }
        (_, value) => {
            target.insert(key.clone(), value.clone());
        }
    }
}

fn remove_path(rt: &ResourceType, doc: &mut Map<String, Value>, path: &AttrPath) {
    if path.urn.is_none()
        && ["id", "schemas"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&path.attr))
    {
        return;
    }
    let Some(ext) = container_key(rt, path) else {
        return;
    };
    let container = match ext {
        None => Some(&mut *doc),
        Some(urn) => doc.get_mut(urn).and_then(Value::as_object_mut),
    };
    let Some(container) = container else {
        return;
    };
    let Some(key) = find_key(container, &path.attr).cloned() else {
        return;
    };
    match &path.sub {
        None => {
            container.remove(&key);
        }
        Some(sub) => match container.get_mut(&key) {
            Some(Value::Object(inner)) => {
                if let Some(sub_key) = find_key(inner, sub).cloned() {
                    inner.remove(&sub_key);
                }
            }
            Some(Value::Array(items)) => {
                for item in items {
                    if let Some(obj) = item.as_object_mut()
                        && let Some(sub_key) = find_key(obj, sub).cloned()
                    {
                        obj.remove(&sub_key);
                    }
                }
            }
            _ => {}
        },
    }
}

/// Where a list reads from: `SELECT <columns> FROM <from> WHERE <base> [AND <filter>] ORDER BY <order>`,
/// `$1` being the organization.
pub struct ListSource<'a> {
    pub columns: &'a str,
    pub from: &'a str,
    pub base: &'a str,
    pub order: &'a str,
    pub filterable: &'a dyn Fn(&AttrPath) -> Option<Column>,
}

/// One page of `source` for `query`, and how many rows match in all.
pub async fn page<R: FromQueryResult>(
    tx: &TenantTx,
    source: ListSource<'_>,
    query: &Query,
) -> ScimResult<(u64, Vec<R>)> {
    let mut condition =
        SqlBuilder::new(format!(" WHERE {}", source.base), tx.tenant_id().as_uuid());
    if let Some(f) = &query.filter {
        condition.push(" AND ");
        filter::to_sql(f, source.filterable, &mut condition)?;
    }
    let (where_sql, values) = condition.into_parts();
    let from = source.from;
    let total = crate::db::sql::count(
        tx,
        &format!("SELECT count(*) AS n FROM {from}{where_sql}"),
        values.clone(),
    )
    .await?
    .max(0) as u64;
    if query.count == 0 {
        return Ok((total, Vec::new()));
    }
    let rows = R::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {} FROM {from}{where_sql} ORDER BY {} LIMIT {} OFFSET {}",
            source.columns,
            source.order,
            query.count,
            query.start_index - 1
        ),
        values,
    ))
    .all(tx)
    .await?;
    Ok((total, rows))
}

pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A request body as JSON (any content type is read; SCIM clients send `application/scim+json` or
/// `application/json`).
pub fn body_json(body: &[u8]) -> ScimResult<Value> {
    if body.len() > MAX_BODY {
        return Err(ScimError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            None,
            "the request body is larger than 4 MB",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::scim::schema::{ENTERPRISE_USER, USERS};

    fn query(attributes: &str, excluded: &str) -> Query {
        Query::build(None, None, None, Some(attributes), Some(excluded)).unwrap()
    }

    #[test]
    fn projection_keeps_what_is_asked_and_always_the_id() {
        let doc = json!({
            "schemas": [schema::USER], "id": "1", "userName": "a", "title": "t",
            "name": { "givenName": "A", "familyName": "B" },
            ENTERPRISE_USER: { "department": "D", "employeeNumber": "7" },
        });
        assert_eq!(
            project(
                &USERS,
                doc.clone(),
                &query(
                    "USERNAME,name.familyName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                    ""
                )
            ),
            json!({ "schemas": [schema::USER], "id": "1", "userName": "a", "name": { "familyName": "B" }, ENTERPRISE_USER: { "department": "D" } })
        );
        assert_eq!(
            project(
                &USERS,
                doc,
                &query(
                    "",
                    "title,id,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
                )
            ),
            json!({ "schemas": [schema::USER], "id": "1", "userName": "a", "name": { "familyName": "B" }, ENTERPRISE_USER: { "department": "D" } })
        );
    }

    #[test]
    fn paging_is_clamped_as_the_rfc_says() {
        let q = Query::build(None, Some(-5), Some(100_000), None, None).unwrap();
        assert_eq!((q.start_index, q.count), (1, schema::MAX_RESULTS));
        let q = Query::build(None, Some(3), Some(-1), None, None).unwrap();
        assert_eq!((q.start_index, q.count), (3, 0));
    }
}
