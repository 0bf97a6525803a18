//! SCIM Groups: the directory's groups and who is in them. A group's display name or externalId can be
//! mapped to a role (`/api/v1/sso/role-mappings`); whenever a membership, a name or a group changes,
//! the roles of the members concerned are worked out again from all their groups (owners excepted).
//! POST, PUT and PATCH all end in [`save`], as for Users.

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
    patch,
    schema::{self, GROUPS},
};
use crate::{
    audit::{self, AuditEvent},
    domain::UserId,
    modules::sso::mappings,
    tenancy::tx::TenantLock,
};

/// At most this many member ids are written into one audit event (the counts are always complete).
const AUDITED_IDS: usize = 100;

#[derive(Debug, Clone, FromQueryResult)]
struct GroupRow {
    id: Uuid,
    display_name: String,
    external_id: Option<String>,
    created_at: DateTime<FixedOffset>,
    updated_at: DateTime<FixedOffset>,
}

const COLUMNS: &str = "g.id, g.display_name, g.external_id, g.created_at, g.updated_at";

fn render(row: &GroupRow, members: Option<&[Uuid]>, base_url: &str) -> Value {
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([schema::GROUP]));
    doc.insert("id".into(), row.id.to_string().into());
    if let Some(external) = &row.external_id {
        doc.insert("externalId".into(), external.clone().into());
    }
    doc.insert("displayName".into(), row.display_name.clone().into());
    if let Some(members) = members
        && !members.is_empty()
    {
        doc.insert(
            "members".into(),
            members
                .iter()
                .map(|m| json!({ "value": m.to_string(), "$ref": format!("{base_url}/Users/{m}"), "type": "User" }))
                .collect(),
        );
    }
    let time =
        |at: &DateTime<FixedOffset>| at.to_utc().to_rfc3339_opts(SecondsFormat::Millis, true);
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": time(&row.created_at),
            "lastModified": time(&row.updated_at),
            "location": format!("{base_url}/Groups/{}", row.id),
        }),
    );
    Value::Object(doc)
}

#[derive(Debug, Clone, PartialEq)]
struct GroupInput {
    display_name: String,
    external_id: Option<String>,
    members: BTreeSet<Uuid>,
}

fn parse(doc: Value) -> ScimResult<GroupInput> {
    let doc = GROUPS.canonicalize(doc).map_err(ScimError::invalid_value)?;
    let Value::Object(doc) = doc else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a Group must be a JSON object",
        ));
    };
    let text = |key: &str| -> ScimResult<Option<String>> {
        match doc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().chars().count() > 255 => Err(
                ScimError::invalid_value(format!("{key} must be at most 255 characters")),
            ),
            Some(Value::String(s)) if s.chars().any(char::is_control) => Err(
                ScimError::invalid_value(format!("{key} must not contain control characters")),
            ),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(_) => Err(ScimError::invalid_value(format!("{key} must be a string"))),
        }
    };
    let display_name =
        text("displayName")?.ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let external_id = text("externalId")?;
    let mut members = BTreeSet::new();
    match doc.get("members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let value = item
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let id = Uuid::parse_str(value.trim()).map_err(|_| {
                    ScimError::invalid_value(format!("members[{i}].value must be the id of a User"))
                })?;
                if item
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| !t.eq_ignore_ascii_case("User"))
                {
                    return Err(ScimError::invalid_value(format!(
                        "members[{i}]: only Users can be members (groups do not nest)"
                    )));
                }
                members.insert(id);
            }
        }
        Some(_) => return Err(ScimError::invalid_value("members must be an array")),
    }
    Ok(GroupInput {
        display_name,
        external_id,
        members,
    })
}

fn column(path: &AttrPath) -> Option<Column> {
    if path
        .urn
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(schema::GROUP))
    {
        return None;
    }
    let text = |expr: &str, case_exact: bool| {
        Some(Column::Scalar {
            expr: expr.into(),
            kind: ColumnKind::Text { case_exact },
        })
    };
    match (path.attr.as_str(), path.sub.as_deref()) {
        ("id", None) => text("g.id::text", false),
        ("displayname", None) => text("g.display_name", false),
        ("externalid", None) => text("g.external_id", true),
        ("meta", Some("created")) => Some(Column::Scalar {
            expr: "g.created_at".into(),
            kind: ColumnKind::Timestamp,
        }),
        ("meta", Some("lastmodified")) => Some(Column::Scalar {
            expr: "g.updated_at".into(),
            kind: ColumnKind::Timestamp,
        }),
        ("members", _) => Some(Column::Multi {
            from: "scim_group_members gm".into(),
            correlate: "gm.tenant_id = g.tenant_id AND gm.group_id = g.id".into(),
            element: |sub| match sub {
                "value" => Some((
                    "gm.user_id::text".into(),
                    ColumnKind::Text { case_exact: false },
                )),
                _ => None,
            },
            default_sub: "value",
        }),
        _ => None,
    }
}

async fn members_of(session: &ScimSession, groups: &[Uuid]) -> ScimResult<Vec<(Uuid, Uuid)>> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let rows = session
        .tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT group_id, user_id FROM scim_group_members \
             WHERE tenant_id = $1 AND group_id = ANY($2) ORDER BY created_at, user_id",
            [
                session.tx.tenant_id().as_uuid().into(),
                groups.to_vec().into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "group_id")?, r.try_get("", "user_id")?)))
        .collect()
}

pub async fn list(session: &ScimSession, query: &Query) -> ScimResult<(u64, Vec<Value>)> {
    let source = document::ListSource {
        columns: COLUMNS,
        from: "scim_groups g",
        base: "g.tenant_id = $1",
        order: "g.created_at, g.id",
        filterable: &column,
    };
    let (total, rows) = document::page::<GroupRow>(&session.tx, source, query).await?;
    // Members only when asked for (clients list groups without them: `excludedAttributes=members`).
    let memberships = if query.wants("members") {
        Some(members_of(session, &rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?)
    } else {
        None
    };
    let resources = rows
        .iter()
        .map(|row| {
            let members: Option<Vec<Uuid>> = memberships.as_ref().map(|all| {
                all.iter()
                    .filter(|(g, _)| *g == row.id)
                    .map(|(_, u)| *u)
                    .collect()
            });
            document::project(
                &GROUPS,
                render(row, members.as_deref(), &session.base_url),
                query,
            )
        })
        .collect();
    Ok((total, resources))
}

async fn find(session: &ScimSession, id: &str, lock: bool) -> ScimResult<GroupRow> {
    let not_found = || ScimError::not_found("Group", id);
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    GroupRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM scim_groups g WHERE g.tenant_id = $1 AND g.id = $2{}",
            if lock { " FOR UPDATE" } else { "" }
        ),
        [session.tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(&session.tx)
    .await?
    .ok_or_else(not_found)
}

pub async fn get(session: &ScimSession, id: &str, query: &Query) -> ScimResult<Value> {
    let row = find(session, id, false).await?;
    let members = if query.wants("members") {
        Some(
            members_of(session, &[row.id])
                .await?
                .into_iter()
                .map(|(_, u)| u)
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    Ok(render(&row, members.as_deref(), &session.base_url))
}

pub async fn create(session: &ScimSession, doc: Value) -> ScimResult<Value> {
    let input = parse(doc)?;
    let tx = &session.tx;
    tx.lock(TenantLock::Directory).await?;
    let id = Uuid::now_v7();
    ensure_unique_name(session, None, &input.display_name).await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO scim_groups (tenant_id, id, display_name, external_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        [
            tx.tenant_id().as_uuid().into(),
            id.into(),
            input.display_name.clone().into(),
            input.external_id.clone().into(),
            session.ctx.now.into(),
        ],
    ))
    .await?;
    let added = add_members(session, id, &input.members).await?;
    audit::record(
        tx,
        &session.ctx,
        AuditEvent::new("scim.group_created")
            .target("scim_group", id, Some(&input.display_name))
            .metadata(json!({
                "display_name": input.display_name,
                "external_id": input.external_id,
                "members": added.len(),
                "member_ids": sample(&added),
            })),
    )
    .await?;
    resync_roles(session, &added).await?;
    get(session, &id.to_string(), &Query::default()).await
}

pub async fn replace(session: &ScimSession, id: &str, doc: Value) -> ScimResult<Value> {
    let row = find(session, id, true).await?;
    let input = parse(doc)?;
    save(session, row, input).await?;
    get(session, id, &Query::default()).await
}

pub async fn patch(session: &ScimSession, id: &str, body: Value) -> ScimResult<Value> {
    let operations = patch::operations(body)?;
    let row = find(session, id, true).await?;
    let members: Vec<Uuid> = members_of(session, &[row.id])
        .await?
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    let mut doc = render(&row, Some(&members), &session.base_url);
    patch::apply(&GROUPS, &mut doc, operations)?;
    let input = parse(doc)?;
    save(session, row, input).await?;
    get(session, id, &Query::default()).await
}

pub async fn delete(session: &ScimSession, id: &str) -> ScimResult<()> {
    let row = find(session, id, true).await?;
    session.tx.lock(TenantLock::Directory).await?;
    let members: Vec<Uuid> = members_of(session, &[row.id])
        .await?
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    let tx = &session.tx;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM scim_groups WHERE tenant_id = $1 AND id = $2",
        [tx.tenant_id().as_uuid().into(), row.id.into()],
    ))
    .await?;
    audit::record(
        tx,
        &session.ctx,
        AuditEvent::new("scim.group_deleted")
            .target("scim_group", row.id, Some(&row.display_name))
            .metadata(json!({
                "display_name": row.display_name,
                "external_id": row.external_id,
                "members": members.len(),
            })),
    )
    .await?;
    resync_roles(session, &members).await
}

async fn ensure_unique_name(session: &ScimSession, me: Option<Uuid>, name: &str) -> ScimResult<()> {
    let taken = session
        .tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS one FROM scim_groups WHERE tenant_id = $1 AND display_name = $2 AND id <> $3",
            [
                session.tx.tenant_id().as_uuid().into(),
                name.into(),
                me.unwrap_or_else(Uuid::nil).into(),
            ],
        ))
        .await?;
    match taken {
        Some(_) => Err(ScimError::uniqueness(format!(
            "a Group named {name:?} exists"
        ))),
        None => Ok(()),
    }
}

/// Adds `users` to the group; every one must be a User here. Returns those added.
async fn add_members(
    session: &ScimSession,
    group: Uuid,
    users: &BTreeSet<Uuid>,
) -> ScimResult<Vec<Uuid>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let tx = &session.tx;
    let wanted: Vec<Uuid> = users.iter().copied().collect();
    let known = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM users WHERE tenant_id = $1 AND id = ANY($2) AND scim_deleted_at IS NULL",
            [tx.tenant_id().as_uuid().into(), wanted.clone().into()],
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id"))
        .collect::<Result<BTreeSet<_>, _>>()?;
    if let Some(unknown) = wanted.iter().find(|u| !known.contains(u)) {
        return Err(ScimError::invalid_value(format!(
            "member {unknown} is not a User here"
        )));
    }
    let added = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO scim_group_members (tenant_id, id, group_id, user_id, created_at) \
             SELECT $1, gen_random_uuid(), $2, u.user_id, $4 FROM unnest($3::uuid[]) AS u(user_id) \
             ON CONFLICT (tenant_id, group_id, user_id) DO NOTHING RETURNING user_id",
            [
                tx.tenant_id().as_uuid().into(),
                group.into(),
                wanted.into(),
                session.ctx.now.into(),
            ],
        ))
        .await?;
    added
        .iter()
        .map(|r| Ok(r.try_get::<Uuid>("", "user_id")?))
        .collect()
}

/// Writes `input` over the group, auditing names changed and members added and removed.
async fn save(session: &ScimSession, row: GroupRow, input: GroupInput) -> ScimResult<()> {
    ensure_unique_name(session, Some(row.id), &input.display_name).await?;
    let tx = &session.tx;
    tx.lock(TenantLock::Directory).await?;
    let current: BTreeSet<Uuid> = members_of(session, &[row.id])
        .await?
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    let gone: Vec<Uuid> = current.difference(&input.members).copied().collect();
    let new: BTreeSet<Uuid> = input.members.difference(&current).copied().collect();
    let renamed = row.display_name != input.display_name || row.external_id != input.external_id;
    if !renamed && gone.is_empty() && new.is_empty() {
        return Ok(());
    }
    if !gone.is_empty() {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM scim_group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = ANY($3)",
            [tx.tenant_id().as_uuid().into(), row.id.into(), gone.clone().into()],
        ))
        .await?;
    }
    let added = add_members(session, row.id, &new).await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE scim_groups SET display_name = $3, external_id = $4, updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2",
        [
            tx.tenant_id().as_uuid().into(),
            row.id.into(),
            input.display_name.clone().into(),
            input.external_id.clone().into(),
            session.ctx.now.into(),
        ],
    ))
    .await?;
    let mut metadata = json!({
        "members_added": added.len(),
        "members_removed": gone.len(),
        "added_ids": sample(&added),
        "removed_ids": sample(&gone),
    });
    if renamed {
        metadata["before"] =
            json!({ "display_name": row.display_name, "external_id": row.external_id });
        metadata["after"] =
            json!({ "display_name": input.display_name, "external_id": input.external_id });
    }
    audit::record(
        tx,
        &session.ctx,
        AuditEvent::new("scim.group_updated")
            .target("scim_group", row.id, Some(&input.display_name))
            .metadata(metadata),
    )
    .await?;
    // A new name can match other mappings: then every member's role is worked out again.
    let concerned: Vec<Uuid> = if renamed {
        input.members.iter().chain(gone.iter()).copied().collect()
    } else {
        added.into_iter().chain(gone).collect()
    };
    resync_roles(session, &concerned).await
}

fn sample(ids: &[Uuid]) -> Vec<String> {
    ids.iter().take(AUDITED_IDS).map(Uuid::to_string).collect()
}

/// Gives each of `users` the role their SCIM groups map to (nothing when no mapping is configured).
pub(super) async fn resync_roles(session: &ScimSession, users: &[Uuid]) -> ScimResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let tx = &session.tx;
    let mappings = mappings::get(tx).await?;
    if mappings.mappings.is_empty() {
        return Ok(());
    }
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT u.id, u.email, ms.role, \
               coalesce(array_agg(g.display_name) FILTER (WHERE g.id IS NOT NULL), '{}') AS names, \
               coalesce(array_agg(g.external_id) FILTER (WHERE g.external_id IS NOT NULL), '{}') AS external_ids \
             FROM users u \
             LEFT JOIN scim_group_members m ON m.tenant_id = u.tenant_id AND m.user_id = u.id \
             LEFT JOIN scim_groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
             LEFT JOIN memberships ms ON ms.tenant_id = u.tenant_id AND ms.user_id = u.id \
             WHERE u.tenant_id = $1 AND u.id = ANY($2) GROUP BY u.id, u.email, ms.role ORDER BY u.id",
            [tx.tenant_id().as_uuid().into(), users.to_vec().into()],
        ))
        .await?;
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let email: String = row.try_get("", "email")?;
        let mut groups: BTreeSet<String> = row
            .try_get::<Vec<String>>("", "names")?
            .into_iter()
            .collect();
        groups.extend(row.try_get::<Vec<String>>("", "external_ids")?);
        let held: Option<String> = row.try_get("", "role")?;
        // Only those whose role changes cost a write (a rename of a big group touches few).
        if let Some(role) = mappings.role_for(&groups)
            && held.as_deref() != Some(role)
            && held.as_deref() != Some("owner")
        {
            mappings::apply_role(
                tx,
                &session.ctx,
                UserId::from_uuid(id),
                &email,
                role,
                "scim",
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_documents_are_validated() {
        let id = Uuid::now_v7();
        let input = parse(json!({ "DISPLAYNAME": " Sales ", "members": [{ "value": id.to_string() }, { "value": id.to_string() }] })).unwrap();
        assert_eq!(input.display_name, "Sales");
        assert_eq!(input.members, BTreeSet::from([id]));
        for (doc, says) in [
            (json!({ "members": [] }), "displayName is required"),
            (
                json!({ "displayName": "x", "members": [{ "value": "nope" }] }),
                "members[0].value",
            ),
            (
                json!({ "displayName": "x", "members": [{ "value": id.to_string(), "type": "Group" }] }),
                "only Users",
            ),
        ] {
            let err = parse(doc.clone()).unwrap_err();
            assert!(err.detail.contains(says), "{doc}: {}", err.detail);
        }
    }
}
