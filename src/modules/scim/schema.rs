//! What Trellis publishes about its SCIM resources (RFC 7643), in one table that also drives the rest:
//! the `/Schemas`, `/ResourceTypes` and `/ServiceProviderConfig` documents, the case-insensitive
//! attribute names of incoming documents and PATCH paths, and which values are booleans (Entra sends
//! `"False"`). Only attributes Trellis stores are published, so a client never sends one that is lost.

use serde_json::{Map, Value, json};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Most resources a list returns at once.
pub const MAX_RESULTS: u64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::DateTime => "dateTime",
            Kind::Reference => "reference",
            Kind::Complex => "complex",
        }
    }
}

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: &'static str,
    pub returned: &'static str,
    pub uniqueness: &'static str,
    pub description: &'static str,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attr],
}

const fn attr(name: &'static str, kind: Kind, description: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        returned: "default",
        uniqueness: "none",
        description,
        canonical: &[],
        reference_types: &[],
        sub: &[],
    }
}

impl Attr {
    pub fn named(attrs: &'static [Attr], name: &str) -> Option<&'static Attr> {
        attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn document(&self) -> Value {
        let mut doc = json!({
            "name": self.name,
            "type": self.kind.as_str(),
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        });
        if !self.canonical.is_empty() {
            doc["canonicalValues"] = json!(self.canonical);
        }
        if self.kind == Kind::Reference {
            doc["referenceTypes"] = json!(self.reference_types);
        }
        if !self.sub.is_empty() {
            doc["subAttributes"] = Value::Array(self.sub.iter().map(Attr::document).collect());
        }
        doc
    }
}

pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attrs: &'static [Attr],
}

pub static USER_SCHEMA: Schema = Schema {
    id: USER,
    name: "User",
    description: "A member of the organization",
    attrs: &[
        Attr {
            required: true,
            uniqueness: "server",
            ..attr(
                "userName",
                Kind::String,
                "Unique identifier for the user, typically their work email address",
            )
        },
        Attr {
            sub: &[
                attr("givenName", Kind::String, "Given name"),
                attr("familyName", Kind::String, "Family name"),
            ],
            ..attr("name", Kind::Complex, "The user's name")
        },
        attr("displayName", Kind::String, "The name shown for the user"),
        attr("title", Kind::String, "Job title"),
        // Trellis always knows whether a member is active, so it is never absent (a POST without it
        // makes an active user).
        Attr {
            required: true,
            ..attr(
                "active",
                Kind::Boolean,
                "Whether the user may sign in and takes a seat",
            )
        },
        Attr {
            multi: true,
            required: true,
            sub: &[
                Attr {
                    required: true,
                    ..attr("value", Kind::String, "Email address")
                },
                Attr {
                    canonical: &["work", "home", "other"],
                    ..attr("type", Kind::String, "work, home or other")
                },
                attr(
                    "primary",
                    Kind::Boolean,
                    "The address Trellis signs the user in and writes to",
                ),
            ],
            ..attr(
                "emails",
                Kind::Complex,
                "Email addresses; the primary (else the work, else the first) is the member's",
            )
        },
    ],
};

pub static ENTERPRISE_SCHEMA: Schema = Schema {
    id: ENTERPRISE_USER,
    name: "EnterpriseUser",
    description: "Enterprise user",
    attrs: &[
        attr(
            "employeeNumber",
            Kind::String,
            "Employee number, unique in the organization",
        ),
        attr("department", Kind::String, "Department"),
        Attr {
            sub: &[
                Attr {
                    required: true,
                    ..attr("value", Kind::String, "The id of the manager's User")
                },
                Attr {
                    reference_types: &["User"],
                    ..attr(
                        "$ref",
                        Kind::Reference,
                        "The URI of the manager's User (value decides)",
                    )
                },
            ],
            ..attr("manager", Kind::Complex, "The user's manager")
        },
    ],
};

pub static GROUP_SCHEMA: Schema = Schema {
    id: GROUP,
    name: "Group",
    description: "A directory group; its name or external id can be mapped to a role",
    attrs: &[
        Attr {
            required: true,
            uniqueness: "server",
            ..attr("displayName", Kind::String, "The group's name")
        },
        Attr {
            multi: true,
            sub: &[
                Attr {
                    mutability: "immutable",
                    ..attr("value", Kind::String, "The id of a member User")
                },
                Attr {
                    reference_types: &["User"],
                    mutability: "immutable",
                    ..attr(
                        "$ref",
                        Kind::Reference,
                        "The URI of the member (value decides)",
                    )
                },
                Attr {
                    canonical: &["User"],
                    mutability: "immutable",
                    ..attr("type", Kind::String, "User")
                },
            ],
            ..attr("members", Kind::Complex, "The group's members")
        },
    ],
};

/// A resource type: its endpoint, schema and extensions.
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub schema: &'static Schema,
    pub extensions: &'static [&'static Schema],
}

pub static USERS: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    schema: &USER_SCHEMA,
    extensions: &[&ENTERPRISE_SCHEMA],
};

pub static GROUPS: ResourceType = ResourceType {
    name: "Group",
    endpoint: "/Groups",
    schema: &GROUP_SCHEMA,
    extensions: &[],
};

pub static RESOURCE_TYPES: [&ResourceType; 2] = [&USERS, &GROUPS];

impl ResourceType {
    pub fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
            .copied()
    }

    pub fn document(&self, base_url: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.schema.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter()
                .map(|s| json!({ "schema": s.id, "required": false }))
                .collect::<Vec<_>>(),
            "meta": { "resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{}", self.name) },
        })
    }

    /// `doc` with every key the schema knows spelled as the schema spells it (`USERNAME` ->
    /// `userName`), extension attributes given with their full URN (`urn:...:User:department`) moved
    /// into the extension's object, and string booleans (`"False"`) made booleans. Unknown keys stay
    /// as they are (and are ignored).
    pub fn canonicalize(&self, doc: Value) -> Result<Value, String> {
        let Value::Object(map) = doc else {
            return Err("the resource must be a JSON object".into());
        };
        let mut out = Map::new();
        for (key, value) in map {
            if let Some(ext) = self.extension(&key) {
                let value = canonical_object(ext.attrs, value)?;
                merge(&mut out, ext.id, value);
            } else if let Some((ext, name)) = key
                .rfind(':')
                .and_then(|i| Some((self.extension(&key[..i])?, &key[i + 1..])))
            {
                let mut single = Map::new();
                single.insert(name.to_owned(), value);
                let value = canonical_object(ext.attrs, Value::Object(single))?;
                merge(&mut out, ext.id, value);
            } else if let Some(a) = Attr::named(self.schema.attrs, &key) {
                out.insert(a.name.to_owned(), canonical_value(a, value)?);
            } else {
                out.insert(key, value);
            }
        }
        Ok(Value::Object(out))
    }
}

fn merge(out: &mut Map<String, Value>, urn: &str, value: Value) {
    match (out.get_mut(urn), value) {
        (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
        (_, value) => {
            out.insert(urn.to_owned(), value);
        }
    }
}

fn canonical_object(attrs: &'static [Attr], value: Value) -> Result<Value, String> {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match Attr::named(attrs, &key) {
                    Some(a) => {
                        out.insert(a.name.to_owned(), canonical_value(a, value)?);
                    }
                    None => {
                        out.insert(key, value);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Null => Ok(Value::Null),
        _ => Err("expected an object".into()),
    }
}

/// A value of `attr`, canonicalized (sub-attribute names, string booleans).
pub fn canonical_value(attr: &'static Attr, value: Value) -> Result<Value, String> {
    if attr.multi {
        return match value {
            Value::Array(items) => items
                .into_iter()
                .map(|item| canonical_single(attr, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Null => Ok(Value::Null),
            single => Ok(Value::Array(vec![canonical_single(attr, single)?])),
        };
    }
    canonical_single(attr, value)
}

fn canonical_single(attr: &'static Attr, value: Value) -> Result<Value, String> {
    match attr.kind {
        // A bare string for a complex attribute is its `value` (Entra sends the manager's id so).
        Kind::Complex if value.is_string() && Attr::named(attr.sub, "value").is_some() => {
            let mut m = Map::new();
            m.insert("value".into(), value);
            Ok(Value::Object(m))
        }
        Kind::Complex => {
            canonical_object(attr.sub, value).map_err(|e| format!("{}: {e}", attr.name))
        }
        Kind::Boolean => match value {
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            Value::Bool(_) | Value::Null => Ok(value),
            _ => Err(format!("{} must be true or false", attr.name)),
        },
        _ => Ok(value),
    }
}

pub fn schema_document(schema: &Schema, base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attrs.iter().map(Attr::document).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", schema.id) },
    })
}

pub static SCHEMAS: [&Schema; 3] = [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &GROUP_SCHEMA];

pub fn service_provider_config(base_url: &str, docs_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": docs_url,
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "The organization's SCIM token, created by an admin (POST /api/v1/sso/scim/token)",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_canonicalized_whatever_the_case_and_form() {
        let doc = USERS
            .canonicalize(json!({
                "USERNAME": "a@b.c",
                "Active": "False",
                "emails": [{ "VALUE": "a@b.c", "Primary": "true" }],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "EmployeeNumber": "7" },
                "unknown": 1,
            }))
            .unwrap();
        assert_eq!(
            doc,
            json!({
                "userName": "a@b.c",
                "active": false,
                "emails": [{ "value": "a@b.c", "primary": true }],
                ENTERPRISE_USER: { "department": "Sales", "employeeNumber": "7" },
                "unknown": 1,
            })
        );
        assert!(USERS.canonicalize(json!({ "active": "maybe" })).is_err());
    }
}
