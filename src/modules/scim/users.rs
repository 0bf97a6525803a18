//! SCIM Users: the organization's members as its directory sees them. A member's SCIM document is
//! rendered from their row; POST, PUT and PATCH (through [`super::patch`]) all end in [`save`], which
//! validates the document and writes the row, auditing what changed with `source: scim`.
//!
//! - `active: false` deactivates the member (sessions revoked at once); they stay visible to SCIM.
//! - DELETE deactivates them too and marks them deleted (freeing their userName): SCIM then answers
//!   404 for them, while Trellis keeps the member (deactivated) and their history.
//! - POST for the address of a member SCIM does not manage yet (added in Trellis, or deleted by SCIM
//!   before) takes that member over instead of failing: a directory connected to an organization that
//!   already has members, or re-hiring someone, just works.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    auth::ScimSession,
    document::{self, Query},
    error::{ScimError, ScimResult},
    filter::{AttrPath, Column, ColumnKind},
    groups, patch,
    schema::{self, ENTERPRISE_USER, USERS},
};
use crate::{
    audit::{self, AuditEvent},
    domain::{Email, UserId},
    modules::{
        members::{
            directory::{self, NewMember, Profile},
            service as members,
        },
        sso::mappings,
    },
    tenancy::tx::TenantLock,
};

const SOURCE: &str = "scim";

#[derive(Debug, Clone, FromQueryResult)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub status: String,
    pub title: Option<String>,
    pub department: Option<String>,
    pub employee_id: Option<String>,
    pub manager_id: Option<Uuid>,
    pub scim_user_name: Option<String>,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub scim_emails: Option<Value>,
    pub scim_deleted_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

const COLUMNS: &str = "u.id, u.email, u.display_name, u.status, u.title, u.department, u.employee_id, \
     u.manager_id, u.scim_user_name, u.external_id, u.given_name, u.family_name, u.scim_emails, \
     u.scim_deleted_at, u.created_at, u.updated_at";

fn time(at: &DateTime<FixedOffset>) -> String {
    at.to_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The member as a SCIM User.
pub fn render(row: &UserRow, base_url: &str) -> Value {
    let mut doc = Map::new();
    let mut schemas = vec![json!(schema::USER)];
    doc.insert("id".into(), row.id.to_string().into());
    if let Some(external) = &row.external_id {
        doc.insert("externalId".into(), external.clone().into());
    }
    doc.insert(
        "userName".into(),
        row.scim_user_name
            .clone()
            .unwrap_or_else(|| row.email.clone())
            .into(),
    );
    let mut name = Map::new();
    if let Some(given) = &row.given_name {
        name.insert("givenName".into(), given.clone().into());
    }
    if let Some(family) = &row.family_name {
        name.insert("familyName".into(), family.clone().into());
    }
    if !name.is_empty() {
        doc.insert("name".into(), Value::Object(name));
    }
    if !row.display_name.is_empty() {
        doc.insert("displayName".into(), row.display_name.clone().into());
    }
    if let Some(title) = &row.title {
        doc.insert("title".into(), title.clone().into());
    }
    doc.insert("active".into(), (row.status != "deactivated").into());
    let emails = match &row.scim_emails {
        Some(Value::Array(emails)) if !emails.is_empty() => Value::Array(emails.clone()),
        _ => json!([{ "value": row.email, "type": "work", "primary": true }]),
    };
    doc.insert("emails".into(), emails);
    let mut enterprise = Map::new();
    if let Some(number) = &row.employee_id {
        enterprise.insert("employeeNumber".into(), number.clone().into());
    }
    if let Some(department) = &row.department {
        enterprise.insert("department".into(), department.clone().into());
    }
    if let Some(manager) = row.manager_id {
        enterprise.insert(
            "manager".into(),
            json!({ "value": manager.to_string(), "$ref": format!("{base_url}/Users/{manager}") }),
        );
    }
    if !enterprise.is_empty() {
        schemas.push(json!(ENTERPRISE_USER));
        doc.insert(ENTERPRISE_USER.into(), Value::Object(enterprise));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": time(&row.created_at),
            "lastModified": time(&row.updated_at),
            "location": format!("{base_url}/Users/{}", row.id),
        }),
    );
    Value::Object(doc)
}

/// A User document, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub email: Email,
    /// As the client sent them (at most one `primary`, no duplicates).
    pub emails: Value,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: String,
    pub title: Option<String>,
    /// `None`: not given (a PUT without `active` leaves it as it is).
    pub active: Option<bool>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub manager_id: Option<Uuid>,
}

fn text(
    doc: &Map<String, Value>,
    key: &str,
    max: usize,
    errors: &mut Vec<String>,
) -> Option<String> {
    match doc.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > max {
                errors.push(format!("{key} must be at most {max} characters"));
                None
            } else if s.chars().any(char::is_control) {
                errors.push(format!("{key} must not contain control characters"));
                None
            } else {
                (!s.is_empty()).then(|| s.to_owned())
            }
        }
        Some(_) => {
            errors.push(format!("{key} must be a string"));
            None
        }
    }
}

const MAX_EMAILS: usize = 20;

/// Validates a canonical User document (see [`schema::ResourceType::canonicalize`]).
pub fn parse(doc: Value) -> ScimResult<UserInput> {
    let doc = USERS.canonicalize(doc).map_err(ScimError::invalid_value)?;
    let Value::Object(doc) = doc else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a User must be a JSON object",
        ));
    };
    let mut errors = Vec::new();
    let user_name = text(&doc, "userName", 255, &mut errors);
    if user_name.is_none() && !errors.iter().any(|e| e.starts_with("userName")) {
        errors.push("userName is required".into());
    }
    let external_id = text(&doc, "externalId", 255, &mut errors);
    let empty = Map::new();
    let name = match doc.get("name") {
        Some(Value::Object(name)) => name,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            errors.push("name must be an object".into());
            &empty
        }
    };
    let given_name = text(name, "givenName", 200, &mut errors);
    let family_name = text(name, "familyName", 200, &mut errors);
    let display_name = text(&doc, "displayName", 200, &mut errors);
    let title = text(&doc, "title", 200, &mut errors);
    let active = match doc.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push("active must be true or false".into());
            None
        }
    };

    // Addresses: each valid; the primary one (else the work one, else the first) is the member's.
    let mut emails = Vec::new();
    match doc.get("emails") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() <= MAX_EMAILS => {
            for (i, item) in items.iter().enumerate() {
                let Some(obj) = item.as_object() else {
                    errors.push(format!("emails[{i}] must be an object"));
                    continue;
                };
                let value = obj.get("value").and_then(Value::as_str).unwrap_or_default();
                match Email::parse(value) {
                    Ok(email) => {
                        let kind = obj.get("type").and_then(Value::as_str).map(str::to_owned);
                        if kind.as_deref().is_some_and(|k| {
                            k.chars().count() > 50 || k.chars().any(char::is_control)
                        }) {
                            errors.push(format!(
                                "emails[{i}].type must be a short word (work, home, other)"
                            ));
                            continue;
                        }
                        let primary = obj.get("primary").and_then(Value::as_bool);
                        emails.push((email, value.trim().to_owned(), kind, primary));
                    }
                    Err(why) => errors.push(format!("emails[{i}].value {why}")),
                }
            }
        }
        Some(Value::Array(_)) => errors.push(format!("at most {MAX_EMAILS} emails")),
        Some(_) => errors.push("emails must be an array".into()),
    }
    if emails.is_empty()
        && let Some(email) = user_name.as_deref().and_then(|u| Email::parse(u).ok())
    {
        let sent = email.as_str().to_owned();
        emails.push((email, sent, Some("work".into()), Some(true)));
    }
    let chosen = emails
        .iter()
        .position(|(_, _, _, primary)| *primary == Some(true))
        .or_else(|| {
            emails.iter().position(|(_, _, kind, _)| {
                kind.as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("work"))
            })
        })
        .or(if emails.is_empty() { None } else { Some(0) });
    let Some(chosen) = chosen else {
        errors.push("emails: an address is required (or a userName that is one)".into());
        return Err(ScimError::invalid_value(errors.join("; ")));
    };
    let email = emails[chosen].0.clone();
    // Kept as sent (a client reads back what it wrote); one primary at most, duplicates dropped.
    let first_primary = emails.iter().position(|(_, _, _, p)| *p == Some(true));
    let mut seen = BTreeSet::new();
    let emails = Value::Array(
        emails
            .iter()
            .enumerate()
            .filter(|(_, (e, _, kind, _))| {
                seen.insert((
                    e.as_str().to_owned(),
                    kind.as_deref().map(str::to_ascii_lowercase),
                ))
            })
            .map(|(i, (_, sent, kind, primary))| {
                let mut m = Map::new();
                m.insert("value".into(), sent.clone().into());
                if let Some(kind) = kind {
                    m.insert("type".into(), kind.clone().into());
                }
                match primary {
                    Some(true) if Some(i) != first_primary => {
                        m.insert("primary".into(), false.into());
                    }
                    Some(p) => {
                        m.insert("primary".into(), (*p).into());
                    }
                    None => {}
                }
                Value::Object(m)
            })
            .collect(),
    );

    let enterprise = match doc.get(ENTERPRISE_USER) {
        Some(Value::Object(e)) => e,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            errors.push(format!("{ENTERPRISE_USER} must be an object"));
            &empty
        }
    };
    let employee_number = text(enterprise, "employeeNumber", 100, &mut errors);
    let department = text(enterprise, "department", 200, &mut errors);
    let manager_id = match enterprise.get("manager") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => match m.get("value") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) if v.trim().is_empty() => None,
            Some(Value::String(v)) => match Uuid::parse_str(v.trim()) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push("manager.value must be the id of a User".into());
                    None
                }
            },
            Some(_) => {
                errors.push("manager.value must be a string".into());
                None
            }
        },
        // Some clients send the manager's id as a plain string.
        Some(Value::String(v)) if v.trim().is_empty() => None,
        Some(Value::String(v)) => match Uuid::parse_str(v.trim()) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push("manager must be the id of a User".into());
                None
            }
        },
        Some(_) => {
            errors.push("manager must be an object".into());
            None
        }
    };
    if !errors.is_empty() {
        return Err(ScimError::invalid_value(errors.join("; ")));
    }
    let user_name = user_name.unwrap_or_default();
    let display_name = display_name.unwrap_or_default();
    Ok(UserInput {
        user_name,
        email,
        emails,
        external_id,
        given_name,
        family_name,
        display_name,
        title,
        active,
        employee_number,
        department,
        manager_id,
    })
}

/// Where a filter's attributes live.
fn column(path: &AttrPath) -> Option<Column> {
    let text = |expr: &str, case_exact: bool| {
        Some(Column::Scalar {
            expr: expr.into(),
            kind: ColumnKind::Text { case_exact },
        })
    };
    let enterprise = match path.urn.as_deref() {
        None => false,
        Some(urn) if urn.eq_ignore_ascii_case(schema::USER) => false,
        Some(urn) if urn.eq_ignore_ascii_case(ENTERPRISE_USER) => true,
        Some(_) => return None,
    };
    if enterprise {
        return match (path.attr.as_str(), path.sub.as_deref()) {
            ("employeenumber", None) => text("u.employee_id", true),
            ("department", None) => text("u.department", false),
            ("manager", Some("value") | None) => text("u.manager_id::text", false),
            _ => None,
        };
    }
    match (path.attr.as_str(), path.sub.as_deref()) {
        ("id", None) => text("u.id::text", false),
        ("username", None) => text("coalesce(u.scim_user_name, u.email)", false),
        ("externalid", None) => text("u.external_id", true),
        ("displayname", None) => text("u.display_name", false),
        ("title", None) => text("u.title", false),
        ("name", Some("givenname")) => text("u.given_name", false),
        ("name", Some("familyname")) => text("u.family_name", false),
        ("active", None) => Some(Column::Scalar {
            expr: "(u.status <> 'deactivated')".into(),
            kind: ColumnKind::Bool,
        }),
        ("meta", Some("created")) => Some(Column::Scalar {
            expr: "u.created_at".into(),
            kind: ColumnKind::Timestamp,
        }),
        ("meta", Some("lastmodified")) => Some(Column::Scalar {
            expr: "u.updated_at".into(),
            kind: ColumnKind::Timestamp,
        }),
        ("emails", _) => Some(Column::Multi {
            from: "jsonb_array_elements(coalesce(u.scim_emails, \
                   jsonb_build_array(jsonb_build_object('value', u.email, 'type', 'work', 'primary', true)))) AS e(el)"
                .into(),
            correlate: "true".into(),
            element: |sub| match sub {
                "value" => Some(("(e.el->>'value')".into(), ColumnKind::Text { case_exact: false })),
                "type" => Some(("(e.el->>'type')".into(), ColumnKind::Text { case_exact: false })),
                "primary" => Some(("(e.el->>'primary')::boolean".into(), ColumnKind::Bool)),
                _ => None,
            },
            default_sub: "value",
        }),
        _ => None,
    }
}

/// A page of users matching the query, and how many match in all.
pub async fn list(session: &ScimSession, query: &Query) -> ScimResult<(u64, Vec<Value>)> {
    let source = document::ListSource {
        columns: COLUMNS,
        from: "users u",
        base: "u.tenant_id = $1 AND u.scim_deleted_at IS NULL",
        order: "u.created_at, u.id",
        filterable: &column,
    };
    let (total, rows) = document::page::<UserRow>(&session.tx, source, query).await?;
    Ok((
        total,
        rows.iter()
            .map(|row| document::project(&USERS, render(row, &session.base_url), query))
            .collect(),
    ))
}

/// The user SCIM may see (not deleted through SCIM); `lock` for a change.
pub async fn find(session: &ScimSession, id: &str, lock: bool) -> ScimResult<UserRow> {
    let not_found = || ScimError::not_found("User", id);
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    UserRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.id = $2 AND u.scim_deleted_at IS NULL{}",
            if lock { " FOR UPDATE" } else { "" }
        ),
        [session.tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(&session.tx)
    .await?
    .ok_or_else(not_found)
}

pub async fn get(session: &ScimSession, id: &str) -> ScimResult<Value> {
    Ok(render(&find(session, id, false).await?, &session.base_url))
}

/// POST: a new member, or one SCIM does not manage yet taken over. Returns the document.
pub async fn create(session: &ScimSession, doc: Value) -> ScimResult<Value> {
    let input = parse(doc)?;
    let tx = &session.tx;
    let tenant = tx.tenant_id().as_uuid();
    // Who already has this userName (a member SCIM does not manage is known by their address) or
    // this address?
    let existing = UserRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM users u WHERE u.tenant_id = $1 \
             AND (lower(coalesce(u.scim_user_name, u.email)) = lower($2) OR u.email = $3) FOR UPDATE"
        ),
        [
            tenant.into(),
            input.user_name.clone().into(),
            input.email.as_str().into(),
        ],
    ))
    .all(tx)
    .await?;
    let managed = |row: &UserRow| row.scim_user_name.is_some() && row.scim_deleted_at.is_none();
    if existing.iter().any(managed) || existing.len() > 1 {
        return Err(ScimError::uniqueness(format!(
            "a User with userName {} or address {} exists",
            input.user_name,
            input.email.as_str()
        )));
    }
    // A member SCIM does not manage (added in Trellis, or deleted through SCIM before) is taken over.
    if let Some(row) = existing.into_iter().next() {
        let id = row.id;
        save(session, row, input, true).await?;
        return get(session, &id.to_string()).await;
    }
    check_references(session, None, &input).await?;
    let mappings = mappings::get(tx).await?;
    let role = mappings
        .role_for(&BTreeSet::new())
        .unwrap_or(&mappings.default_role)
        .to_owned();
    let new = NewMember {
        email: input.email.clone(),
        profile: Profile {
            display_name: input.display_name.clone(),
            given_name: input.given_name.clone(),
            family_name: input.family_name.clone(),
            external_id: input.external_id.clone(),
            title: input.title.clone(),
            department: input.department.clone(),
            employee_id: input.employee_number.clone(),
        },
        active: input.active.unwrap_or(true),
        role,
    };
    let user_id = directory::create(tx, &session.ctx, &session.tenant, new, SOURCE).await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE users SET scim_user_name = $3, scim_emails = $4, manager_id = $5 \
         WHERE tenant_id = $1 AND id = $2",
        [
            tenant.into(),
            user_id.as_uuid().into(),
            input.user_name.clone().into(),
            input.emails.clone().into(),
            input.manager_id.into(),
        ],
    ))
    .await?;
    get(session, &user_id.to_string()).await
}

/// PUT: the member's document replaced.
pub async fn replace(session: &ScimSession, id: &str, doc: Value) -> ScimResult<Value> {
    let row = find(session, id, true).await?;
    let input = parse(doc)?;
    save(session, row, input, false).await?;
    get(session, id).await
}

/// PATCH: the operations applied to the member's document, then saved as a PUT.
pub async fn patch(session: &ScimSession, id: &str, body: Value) -> ScimResult<Value> {
    let operations = patch::operations(body)?;
    let row = find(session, id, true).await?;
    let mut doc = render(&row, &session.base_url);
    patch::apply(&USERS, &mut doc, operations)?;
    let input = parse(doc)?;
    save(session, row, input, false).await?;
    get(session, id).await
}

/// The manager exists here (and is not the member); the userName, address and employee number are
/// nobody else's.
async fn check_references(
    session: &ScimSession,
    me: Option<Uuid>,
    input: &UserInput,
) -> ScimResult<()> {
    let tenant = session.tx.tenant_id().as_uuid();
    let me = me.unwrap_or_else(Uuid::nil);
    if let Some(manager) = input.manager_id {
        if manager == me {
            return Err(ScimError::invalid_value(
                "a User cannot be their own manager",
            ));
        }
        let exists = session
            .tx
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT 1 AS one FROM users WHERE tenant_id = $1 AND id = $2 AND scim_deleted_at IS NULL",
                [tenant.into(), manager.into()],
            ))
            .await?;
        if exists.is_none() {
            return Err(ScimError::invalid_value(format!(
                "manager {manager} is not a User here"
            )));
        }
    }
    // Each an indexed lookup (not a scan of the organization's members).
    let taken = session
        .tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT \
               EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id <> $2 \
                 AND lower(coalesce(scim_user_name, email)) = lower($3)) AS user_name, \
               (SELECT scim_deleted_at IS NOT NULL FROM users WHERE tenant_id = $1 AND id <> $2 \
                 AND email = $4) AS email_deleted, \
               EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id <> $2 AND employee_id = $5) AS employee",
            [
                tenant.into(),
                me.into(),
                input.user_name.clone().into(),
                input.email.as_str().into(),
                input.employee_number.clone().into(),
            ],
        ))
        .await?;
    if let Some(row) = taken {
        if row.try_get::<bool>("", "user_name")? {
            return Err(ScimError::uniqueness("another User has this userName"));
        }
        match row.try_get::<Option<bool>>("", "email_deleted")? {
            Some(true) => {
                return Err(ScimError::uniqueness(
                    "this address belongs to a member deleted through SCIM: POST a User with it to bring them back",
                ));
            }
            Some(false) => return Err(ScimError::uniqueness("another User has this address")),
            None => {}
        }
        if row.try_get::<bool>("", "employee")? {
            return Err(ScimError::uniqueness(
                "another User has this employeeNumber",
            ));
        }
    }
    Ok(())
}

/// Writes `input` over `row` and audits what changed; `adopted` when SCIM takes over a member it did
/// not manage (or had deleted).
async fn save(
    session: &ScimSession,
    row: UserRow,
    input: UserInput,
    adopted: bool,
) -> ScimResult<()> {
    check_references(session, Some(row.id), &input).await?;
    let tx = &session.tx;
    let member = members::get(tx, UserId::from_uuid(row.id)).await?;
    let active = input.active.unwrap_or(if adopted {
        true
    } else {
        row.status != "deactivated"
    });
    if member.role.as_deref() == Some("owner")
        && (member.email != input.email.as_str() || (member.status != "deactivated") != active)
    {
        return Err(owner_refused());
    }
    let before = json!({
        "email": row.email,
        "user_name": row.scim_user_name,
        "external_id": row.external_id,
        "display_name": row.display_name,
        "given_name": row.given_name,
        "family_name": row.family_name,
        "title": row.title,
        "department": row.department,
        "employee_id": row.employee_id,
        "manager_id": row.manager_id,
    });
    let after = json!({
        "email": input.email.as_str(),
        "user_name": input.user_name,
        "external_id": input.external_id,
        "display_name": input.display_name,
        "given_name": input.given_name,
        "family_name": input.family_name,
        "title": input.title,
        "department": input.department,
        "employee_id": input.employee_number,
        "manager_id": input.manager_id,
    });
    let (mut was, mut now) = (Map::new(), Map::new());
    if let (Value::Object(b), Value::Object(a)) = (&before, &after) {
        for (key, value) in a {
            if b.get(key) != Some(value) {
                was.insert(key.clone(), b.get(key).cloned().unwrap_or(Value::Null));
                now.insert(key.clone(), value.clone());
            }
        }
    }
    let emails_changed = row.scim_emails.as_ref() != Some(&input.emails);
    let changed = !now.is_empty() || emails_changed || adopted;
    if changed {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET email = $3, scim_user_name = $4, external_id = $5, display_name = $6, \
               given_name = $7, family_name = $8, title = $9, department = $10, employee_id = $11, \
               manager_id = $12, scim_emails = $13, scim_deleted_at = NULL, updated_at = $14 \
             WHERE tenant_id = $1 AND id = $2",
            [
                tx.tenant_id().as_uuid().into(),
                row.id.into(),
                input.email.as_str().into(),
                input.user_name.clone().into(),
                input.external_id.clone().into(),
                input.display_name.clone().into(),
                input.given_name.clone().into(),
                input.family_name.clone().into(),
                input.title.clone().into(),
                input.department.clone().into(),
                input.employee_number.clone().into(),
                input.manager_id.into(),
                input.emails.clone().into(),
                session.ctx.now.into(),
            ],
        ))
        .await?;
        let mut metadata = json!({ "before": was, "after": now, "source": SOURCE });
        if emails_changed {
            metadata["emails_changed"] = true.into();
        }
        if adopted {
            metadata["linked_to_directory"] = true.into();
        }
        audit::record(
            tx,
            &session.ctx,
            AuditEvent::new("member.profile_updated")
                .target("user", row.id, Some(input.email.as_str()))
                .metadata(metadata),
        )
        .await?;
    }
    // Activation last: a member taken over after a SCIM delete comes back as the document says.
    directory::set_active(tx, &session.ctx, &session.tenant, &member, active, SOURCE).await?;
    Ok(())
}

/// Owners are managed in Trellis: a directory (whose token an admin may hold) cannot change an owner's
/// address or status, nor delete them.
fn owner_refused() -> ScimError {
    ScimError::new(
        actix_web::http::StatusCode::FORBIDDEN,
        None,
        "this User is an owner of the organization: their address and status are managed in Trellis, not through SCIM",
    )
}

/// DELETE: the member is deactivated (signed out everywhere), leaves their groups (their role follows),
/// and is gone for SCIM.
pub async fn delete(session: &ScimSession, id: &str) -> ScimResult<()> {
    let row = find(session, id, true).await?;
    let tx = &session.tx;
    tx.lock(TenantLock::Directory).await?;
    let member = members::get(tx, UserId::from_uuid(row.id)).await?;
    if member.role.as_deref() == Some("owner") {
        return Err(owner_refused());
    }
    directory::set_active(tx, &session.ctx, &session.tenant, &member, false, SOURCE).await?;
    let left = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM scim_group_members WHERE tenant_id = $1 AND user_id = $2",
            [tx.tenant_id().as_uuid().into(), row.id.into()],
        ))
        .await?
        .rows_affected();
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE users SET scim_deleted_at = $3, scim_user_name = NULL, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2",
        [
            tx.tenant_id().as_uuid().into(),
            row.id.into(),
            session.ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        &session.ctx,
        AuditEvent::new("member.deprovisioned")
            .target("user", row.id, Some(&row.email))
            .metadata(json!({ "source": SOURCE, "groups_left": left })),
    )
    .await?;
    groups::resync_roles(session, &[row.id]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_document_is_validated_and_its_address_chosen() {
        let input = parse(json!({
            "schemas": [schema::USER],
            "userName": "Ada@Acme.example",
            "name": { "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [
                { "value": "ada@home.example", "type": "home" },
                { "value": "ADA@acme.example", "type": "work" },
            ],
            "active": "True",
        }))
        .unwrap();
        assert_eq!(input.email.as_str(), "ada@acme.example");
        assert_eq!(input.display_name, "", "not given, not invented");
        assert_eq!(input.active, Some(true));
        assert_eq!(
            input.emails,
            json!([
                { "value": "ada@home.example", "type": "home" },
                { "value": "ADA@acme.example", "type": "work" },
            ])
        );
        let without_emails = parse(json!({ "userName": "bob@acme.example" })).unwrap();
        assert_eq!(without_emails.email.as_str(), "bob@acme.example");
    }

    #[test]
    fn bad_user_documents_say_what_is_wrong() {
        for (doc, says) in [
            (
                json!({ "emails": [{ "value": "a@b.example" }] }),
                "userName is required",
            ),
            (
                json!({ "userName": "not-an-address" }),
                "emails: an address is required",
            ),
            (
                json!({ "userName": "a", "emails": [{ "value": "nope" }] }),
                "emails[0].value",
            ),
            (
                json!({ "userName": "a@b.example", "active": "maybe" }),
                "active",
            ),
            (
                json!({ "userName": "a@b.example", "title": 5 }),
                "title must be a string",
            ),
            (
                json!({ "userName": "a@b.example", ENTERPRISE_USER: { "manager": { "value": "x" } } }),
                "manager.value",
            ),
        ] {
            let err = parse(doc.clone()).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidValue"), "{doc}");
            assert!(err.detail.contains(says), "{doc}: {}", err.detail);
        }
    }
}
