//! PATCH (RFC 7644 §3.5.2) as a change to the resource's document: the current resource is rendered,
//! each operation is applied to the JSON, and the result is saved as a PUT would save it (so PATCH and
//! PUT share one validation). The quirks of real clients are accepted: operation names in any case
//! (`"Replace"`), string booleans, no path with dotted or URN-prefixed keys (`"name.givenName"`,
//! `"urn:...:User:department"`), `remove` of members with a `value` list, and `replace` through a filter
//! that matches nothing (`emails[type eq "work"].value` on a user without a work address) adding the
//! element. Operations on attributes Trellis does not publish are ignored, as those attributes are in a
//! POST or PUT.

use serde_json::{Map, Value};

use super::{
    error::ScimError,
    filter::{AttrPath, Filter, Literal, Op},
    schema::{self, Attr, Kind, ResourceType},
};

const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// The operations of a PatchOp request body.
pub fn operations(body: Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "the request must be a PatchOp object",
        ));
    };
    let schemas_ok = body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(schema::PATCH_OP))
            })
        });
    if !schemas_ok {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("schemas must contain {}", schema::PATCH_OP),
        ));
    }
    let ops = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::bad("invalidSyntax", "Operations must be a non-empty array"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::bad(
            "tooMany",
            "at most 1000 operations per request",
        ));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let field = |name: &str| {
                op.as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map(|(_, v)| v.clone())
            };
            let kind = match field("op")
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("add") => OpKind::Add,
                Some("replace") => OpKind::Replace,
                Some("remove") => OpKind::Remove,
                _ => {
                    return Err(ScimError::bad(
                        "invalidSyntax",
                        format!("Operations[{i}].op must be add, replace or remove"),
                    ));
                }
            };
            let path = match field("path") {
                Some(Value::String(p)) if !p.trim().is_empty() => Some(p),
                None | Some(Value::Null) => None,
                Some(Value::String(_)) => None,
                Some(_) => {
                    return Err(ScimError::bad(
                        "invalidPath",
                        format!("Operations[{i}].path must be a string"),
                    ));
                }
            };
            let value = field("value").filter(|v| !v.is_null());
            if kind == OpKind::Remove && path.is_none() {
                return Err(ScimError::bad(
                    "noTarget",
                    format!("Operations[{i}]: remove needs a path"),
                ));
            }
            if kind != OpKind::Remove && value.is_none() {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("Operations[{i}]: {kind:?} needs a value"),
                ));
            }
            Ok(Operation {
                op: kind,
                path,
                value,
            })
        })
        .collect()
}

/// A parsed PATCH path: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, each optionally behind
/// a schema URN.
struct Target {
    /// The extension's URN when the attribute is an extension's.
    extension: Option<&'static str>,
    attr: &'static Attr,
    filter: Option<Filter>,
    sub: Option<&'static Attr>,
}

/// `externalId` is common to every resource (RFC 7643 §3.1), not in a schema.
static EXTERNAL_ID: Attr = Attr {
    name: "externalId",
    kind: Kind::String,
    multi: false,
    required: false,
    case_exact: true,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
    description: "",
    canonical: &[],
    reference_types: &[],
    sub: &[],
};

/// `None` for a path to an attribute Trellis does not publish (the operation is ignored).
fn target(rt: &ResourceType, path: &str) -> Result<Option<Target>, ScimError> {
    let (head, filter, tail) = match path.find('[') {
        Some(open) => {
            let close = path.rfind(']').filter(|c| *c > open).ok_or_else(|| {
                ScimError::bad("invalidPath", format!("{path:?}: \"[\" is not closed"))
            })?;
            let filter = Filter::parse(&path[open + 1..close])
                .map_err(|e| ScimError::bad("invalidPath", e.detail))?;
            let tail = path[close + 1..].trim();
            let tail = match tail.strip_prefix('.') {
                Some(sub) => Some(sub),
                None if tail.is_empty() => None,
                None => {
                    return Err(ScimError::bad(
                        "invalidPath",
                        format!("{path:?} is not a path"),
                    ));
                }
            };
            (&path[..open], Some(filter), tail)
        }
        None => (path, None, None),
    };
    let parsed = AttrPath::parse(head)?;
    let (extension, attrs) = match &parsed.urn {
        None => (None, rt.schema.attrs),
        Some(urn) if urn.eq_ignore_ascii_case(rt.schema.id) => (None, rt.schema.attrs),
        Some(urn) => match rt.extension(urn) {
            Some(ext) => (Some(ext.id), ext.attrs),
            None => return Ok(None),
        },
    };
    if extension.is_none() && ["id", "meta", "schemas"].contains(&parsed.attr.as_str()) {
        return Err(ScimError::bad(
            "mutability",
            format!("{} cannot be changed", parsed.attr),
        ));
    }
    let attr = if extension.is_none() && parsed.attr == "externalid" {
        &EXTERNAL_ID
    } else {
        match Attr::named(attrs, &parsed.attr) {
            Some(attr) => attr,
            None => return Ok(None),
        }
    };
    let sub_name = match (parsed.sub.as_deref(), tail) {
        (Some(_), Some(_)) => {
            return Err(ScimError::bad(
                "invalidPath",
                format!("{path:?} is not a path"),
            ));
        }
        (sub, tail) => sub.or(tail),
    };
    let sub = match sub_name {
        Some(name) => match Attr::named(attr.sub, name) {
            Some(sub) => Some(sub),
            None => return Ok(None),
        },
        None => None,
    };
    if filter.is_some() && !attr.multi {
        return Err(ScimError::bad(
            "invalidPath",
            format!("{} is not multi-valued", attr.name),
        ));
    }
    if attr.mutability == "readOnly" || sub.is_some_and(|s| s.mutability == "readOnly") {
        return Ok(None);
    }
    Ok(Some(Target {
        extension,
        attr,
        filter,
        sub,
    }))
}

/// Applies `ops` to `doc` (a canonical resource document).
pub fn apply(rt: &ResourceType, doc: &mut Value, ops: Vec<Operation>) -> Result<(), ScimError> {
    for op in ops {
        match op.path {
            Some(path) => apply_at(rt, doc, op.op, &path, op.value)?,
            None => {
                // No path: the value's keys are the paths (RFC 7644 §3.5.2.1 and .3).
                let Some(Value::Object(map)) = op.value else {
                    return Err(ScimError::invalid_value(
                        "without a path, the value must be an object",
                    ));
                };
                for (key, value) in map {
                    if let Some(ext) = rt.extension(&key) {
                        let Value::Object(inner) = value else {
                            return Err(ScimError::invalid_value(format!(
                                "{key} must be an object"
                            )));
                        };
                        for (name, value) in inner {
                            apply_at(rt, doc, op.op, &format!("{}:{name}", ext.id), Some(value))?;
                        }
                    } else if !["schemas", "id", "meta"]
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(&key))
                    {
                        // Read-only attributes echoed back (Okta renames a group with its `id` in the
                        // value) are ignored, as in a PUT.
                        apply_at(rt, doc, op.op, &key, Some(value))?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn apply_at(
    rt: &ResourceType,
    doc: &mut Value,
    op: OpKind,
    path: &str,
    value: Option<Value>,
) -> Result<(), ScimError> {
    if let Some(ext) = rt.extension(path.trim()) {
        // The whole extension: remove it, or apply each of its attributes.
        return match (op, value) {
            (OpKind::Remove, _) => {
                if let Some(root) = doc.as_object_mut() {
                    root.remove(ext.id);
                }
                Ok(())
            }
            (_, Some(Value::Object(inner))) => {
                for (name, value) in inner {
                    apply_at(rt, doc, op, &format!("{}:{name}", ext.id), Some(value))?;
                }
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "{} must be an object",
                ext.id
            ))),
        };
    }
    let Some(target) = target(rt, path)? else {
        return Ok(());
    };
    let bad = |e: String| ScimError::invalid_value(e);
    let value = match (&target.sub, value) {
        (_, None) => None,
        (Some(sub), Some(v)) => Some(schema::canonical_value(sub, v).map_err(bad)?),
        (None, Some(v)) if target.filter.is_some() => {
            // The value of a filtered path is one element (or its sub-attributes).
            Some(match v {
                Value::Array(mut items) if items.len() == 1 => items.remove(0),
                v => v,
            })
            .map(|v| canonical_element(target.attr, v))
            .transpose()
            .map_err(bad)?
        }
        (None, Some(v)) => Some(schema::canonical_value(target.attr, v).map_err(bad)?),
    };
    let Some(root) = doc.as_object_mut() else {
        return Err(ScimError::internal("resource document is not an object"));
    };
    let container = match target.extension {
        None => root,
        Some(urn) => {
            let entry = root
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            match entry.as_object_mut() {
                Some(map) => map,
                None => return Err(ScimError::internal("extension is not an object")),
            }
        }
    };
    let name = target.attr.name;
    if target.attr.multi {
        return apply_multi(container, &target, op, value);
    }
    match (op, target.sub, value) {
        (OpKind::Remove, None, _) => {
            container.remove(name);
        }
        (OpKind::Remove, Some(sub), _) => {
            if let Some(Value::Object(obj)) = container.get_mut(name) {
                obj.remove(sub.name);
            }
        }
        (_, Some(sub), Some(value)) => {
            let entry = container
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(obj) = entry.as_object_mut() {
                obj.insert(sub.name.to_owned(), value);
            }
        }
        (_, None, Some(Value::Object(more))) if target.attr.kind == Kind::Complex => {
            // A complex attribute: the given sub-attributes replace theirs, the others stay.
            let entry = container
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match entry.as_object_mut() {
                Some(obj) => obj.extend(more),
                None => *entry = Value::Object(more),
            }
        }
        (_, None, Some(value)) => {
            container.insert(name.to_owned(), value);
        }
        (_, _, None) => {
            return Err(ScimError::invalid_value(format!(
                "{path}: a value is needed"
            )));
        }
    }
    Ok(())
}

fn canonical_element(attr: &'static Attr, value: Value) -> Result<Value, String> {
    match schema::canonical_value(attr, value)? {
        Value::Array(mut items) if items.len() == 1 => Ok(items.remove(0)),
        other => Ok(other),
    }
}

/// What tells elements apart: their `value` (without case, for addresses and ids).
fn element_key(element: &Value) -> Option<String> {
    match element.get("value")? {
        Value::String(s) => Some(s.to_lowercase()),
        other => Some(other.to_string()),
    }
}

fn same_element(a: &Value, b: &Value) -> bool {
    match (element_key(a), element_key(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn apply_multi(
    container: &mut Map<String, Value>,
    target: &Target,
    op: OpKind,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let name = target.attr.name;
    let mut items: Vec<Value> = match container.remove(name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    match (&target.filter, target.sub, op) {
        // The whole attribute.
        (None, None, OpKind::Add) => {
            let new = match value {
                Some(Value::Array(new)) => new,
                Some(single) => vec![single],
                None => Vec::new(),
            };
            // Indexed by value: adding thousands of members stays linear.
            let mut by_value: std::collections::HashMap<String, usize> = items
                .iter()
                .enumerate()
                .filter_map(|(i, e)| element_key(e).map(|k| (k, i)))
                .collect();
            for element in new {
                if element.get("primary") == Some(&Value::Bool(true)) {
                    clear_primary(&mut items);
                }
                match element_key(&element).and_then(|k| by_value.get(&k).copied()) {
                    Some(i) => merge_element(&mut items[i], element),
                    None => {
                        if let Some(k) = element_key(&element) {
                            by_value.insert(k, items.len());
                        }
                        items.push(element);
                    }
                }
            }
        }
        (None, None, OpKind::Replace) => {
            items = match value {
                Some(Value::Array(new)) => new,
                Some(single) => vec![single],
                None => Vec::new(),
            };
        }
        (None, None, OpKind::Remove) => match value {
            // Entra's form: remove these elements (by value).
            Some(Value::Array(gone)) => {
                let gone: std::collections::HashSet<String> =
                    gone.iter().filter_map(element_key).collect();
                items.retain(|e| !element_key(e).is_some_and(|k| gone.contains(&k)));
            }
            Some(single) => items.retain(|e| !same_element(e, &single)),
            None => items.clear(),
        },
        // A sub-attribute of every element.
        (None, Some(sub), OpKind::Remove) => {
            for item in &mut items {
                if let Some(obj) = item.as_object_mut() {
                    obj.remove(sub.name);
                }
            }
        }
        (None, Some(sub), _) => {
            let value = value.unwrap_or(Value::Null);
            if items.is_empty() {
                items.push(Value::Object(Map::new()));
            }
            for item in &mut items {
                if let Some(obj) = item.as_object_mut() {
                    obj.insert(sub.name.to_owned(), value.clone());
                }
            }
        }
        // Elements a filter selects.
        (Some(filter), sub, op) => {
            let inner = match filter {
                Filter::ValuePath(_, inner) => inner.as_ref(),
                other => other,
            };
            let matched: Vec<usize> = (0..items.len())
                .filter(|i| inner.matches(&items[*i]))
                .collect();
            match (op, sub) {
                (OpKind::Remove, None) => items.retain(|e| !inner.matches(e)),
                (OpKind::Remove, Some(sub)) => {
                    for i in matched {
                        if let Some(obj) = items[i].as_object_mut() {
                            obj.remove(sub.name);
                        }
                    }
                }
                (_, sub) => {
                    let value = value.unwrap_or(Value::Null);
                    let change = match sub {
                        Some(sub) => {
                            let mut m = Map::new();
                            m.insert(sub.name.to_owned(), value);
                            Value::Object(m)
                        }
                        None => value,
                    };
                    if change.get("primary") == Some(&Value::Bool(true)) {
                        clear_primary(&mut items);
                    }
                    if matched.is_empty() {
                        // Nothing to replace: the element the filter describes is added.
                        let mut element = seed_from(inner).ok_or_else(|| {
                            ScimError::bad("noTarget", format!("no {name} matches the filter"))
                        })?;
                        merge_element(&mut element, change);
                        items.push(element);
                    } else {
                        for i in matched {
                            merge_element(&mut items[i], change.clone());
                        }
                    }
                }
            }
        }
    }
    if !items.is_empty() {
        container.insert(name.to_owned(), Value::Array(items));
    }
    Ok(())
}

fn clear_primary(items: &mut [Value]) {
    for item in items {
        if let Some(obj) = item.as_object_mut() {
            obj.remove("primary");
        }
    }
}

fn merge_element(existing: &mut Value, change: Value) {
    match (existing.as_object_mut(), change) {
        (Some(obj), Value::Object(more)) => obj.extend(more),
        (_, change) => *existing = change,
    }
}

/// The element an equality filter describes (`type eq "work"` -> `{"type": "work"}`), if it is one.
fn seed_from(filter: &Filter) -> Option<Value> {
    match filter {
        Filter::Compare(path, Op::Eq, Literal::Str(v)) => {
            let mut m = Map::new();
            m.insert(
                path.sub.clone().unwrap_or_else(|| path.attr.clone()),
                Value::String(v.clone()),
            );
            Some(Value::Object(m))
        }
        Filter::And(a, b) => {
            let (Some(Value::Object(mut a)), Some(Value::Object(b))) = (seed_from(a), seed_from(b))
            else {
                return None;
            };
            a.extend(b);
            Some(Value::Object(a))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::modules::scim::schema::{ENTERPRISE_USER, GROUPS, USERS};

    fn patch(rt: &ResourceType, doc: Value, body: Value) -> Result<Value, ScimError> {
        let mut doc = doc;
        apply(rt, &mut doc, operations(body)?)?;
        Ok(doc)
    }

    fn ops(list: Value) -> Value {
        json!({ "schemas": [schema::PATCH_OP], "Operations": list })
    }

    #[test]
    fn entra_style_operations_apply() {
        let doc = json!({ "userName": "a@b.c", "active": true, "emails": [{ "value": "a@b.c", "type": "work", "primary": true }] });
        let out = patch(&USERS, doc, ops(json!([
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "x@b.c" },
            { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales" },
            { "op": "Replace", "value": { "name.givenName": "Ada", "displayName": "Ada L" } },
            { "op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "123" },
        ]))).unwrap();
        assert_eq!(
            out,
            json!({
                "userName": "a@b.c",
                "active": false,
                "emails": [{ "value": "x@b.c", "type": "work", "primary": true }],
                "displayName": "Ada L",
                "name": { "givenName": "Ada" },
                ENTERPRISE_USER: { "department": "Sales" },
            })
        );
    }

    #[test]
    fn replace_through_a_filter_that_matches_nothing_adds_the_element() {
        let out = patch(
            &USERS,
            json!({ "userName": "a" }),
            ops(json!([
                { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@b.c" },
            ])),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{ "type": "work", "value": "a@b.c" }]));
    }

    #[test]
    fn members_are_added_once_and_removed_by_filter_or_by_value_list() {
        let doc = json!({ "displayName": "g", "members": [{ "value": "1" }] });
        let out = patch(&GROUPS, doc, ops(json!([
            { "op": "add", "path": "members", "value": [{ "value": "1" }, { "value": "2" }, { "value": "3" }] },
            { "op": "remove", "path": "members[value eq \"2\"]" },
            { "op": "Remove", "path": "members", "value": [{ "value": "3" }] },
        ]))).unwrap();
        assert_eq!(out["members"], json!([{ "value": "1" }]));
        let cleared = patch(
            &GROUPS,
            out,
            ops(json!([{ "op": "remove", "path": "members" }])),
        )
        .unwrap();
        assert_eq!(cleared, json!({ "displayName": "g" }));
    }

    #[test]
    fn bad_requests_are_refused_with_their_scim_type() {
        let doc = json!({ "userName": "a" });
        let cases = [
            (
                json!({ "Operations": [{ "op": "add", "path": "title", "value": "x" }] }),
                "invalidSyntax",
            ),
            (ops(json!([])), "invalidSyntax"),
            (
                ops(json!([{ "op": "move", "path": "title", "value": "x" }])),
                "invalidSyntax",
            ),
            (ops(json!([{ "op": "remove" }])), "noTarget"),
            (
                ops(json!([{ "op": "replace", "path": "id", "value": "x" }])),
                "mutability",
            ),
            (
                ops(json!([{ "op": "replace", "path": "emails[type eq", "value": "x" }])),
                "invalidPath",
            ),
            (
                ops(json!([{ "op": "replace", "path": "active", "value": "perhaps" }])),
                "invalidValue",
            ),
            (
                ops(
                    json!([{ "op": "replace", "path": "emails[type ne \"work\"].value", "value": "x" }]),
                ),
                "noTarget",
            ),
        ];
        for (body, scim_type) in cases {
            let err = patch(&USERS, doc.clone(), body.clone()).unwrap_err();
            assert_eq!(err.scim_type, Some(scim_type), "{body}");
        }
    }
}
