//! Reading the log: the filters compliance staff search by, one page newest first with a keyset cursor
//! on `(occurred_at, id)` (stable while events are written: a page never repeats or skips an event that
//! existed when the first page was read), one event with its seal, and the statement an export streams.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use entity::audit_events::Model as Event;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    error::{ApiError, FieldError},
    tenancy::TenantTx,
};

/// What to look for (every filter is optional; they combine with AND), and how to page or export it.
/// One struct for both, so an unknown parameter is refused rather than silently ignored; the OpenAPI
/// document lists the filters here and, per operation, the paging ([`crate::http::pagination::PageQuery`])
/// or the export's format ([`ExportFormat`]).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339, exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Who acted: their id (a member, an API key, a SCIM token).
    pub actor_id: Option<Uuid>,
    /// `user`, `api_key`, `scim_token` or `system`.
    pub actor_type: Option<String>,
    /// Who acted, as recorded: an email address for a member (case-insensitive, exact).
    pub actor: Option<String>,
    /// An action (`member.invited`), or every action under a prefix ending in `.` or `.*`
    /// (`member.`, `member.*`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The `x-request-id` of the request that made the change.
    pub request_id: Option<String>,
    /// Pages: 1 to 200 events; 50 when absent.
    #[param(ignore)]
    pub limit: Option<u32>,
    /// Pages: the `next_cursor` of the previous page.
    #[param(ignore)]
    pub cursor: Option<String>,
    /// Exports: `csv` or `jsonl`.
    #[param(ignore)]
    pub format: Option<String>,
}

/// The export's own parameter (documentation: [`Filters`] reads it).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFormat {
    /// `csv` (the default) or `jsonl`.
    pub format: Option<String>,
}

/// How an action filter matches.
enum ActionMatch {
    Exact(String),
    Prefix(String),
}

impl Filters {
    /// Refuses filters that cannot match what the log holds, naming each field (422).
    pub fn check(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            errors.push(FieldError::new("to", "must be after `from`"));
        }
        if let Some(kind) = &self.actor_type
            && !["user", "api_key", "scim_token", "system"].contains(&kind.as_str())
        {
            errors.push(FieldError::new(
                "actor_type",
                "must be user, api_key, scim_token or system",
            ));
        }
        if let Some(action) = &self.action
            && self.action_match(action).is_none()
        {
            errors.push(FieldError::new(
                "action",
                "must be an action such as member.invited, or a prefix such as member. or member.*",
            ));
        }
        for (field, value) in [
            ("actor", &self.actor),
            ("target_type", &self.target_type),
            ("target_id", &self.target_id),
            ("request_id", &self.request_id),
        ] {
            if value
                .as_ref()
                .is_some_and(|v| v.is_empty() || v.len() > 512)
            {
                errors.push(FieldError::new(field, "must be 1 to 512 characters"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    fn action_match(&self, action: &str) -> Option<ActionMatch> {
        let word = |w: &str| {
            w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && w.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        };
        let (body, prefix) = match action.strip_suffix(".*").or(action.strip_suffix('.')) {
            Some(body) => (body, true),
            None => (action, false),
        };
        if body.is_empty() || body.len() > 100 || !body.split('.').all(word) {
            return None;
        }
        Some(if prefix {
            ActionMatch::Prefix(format!("{body}."))
        } else if body.contains('.') {
            ActionMatch::Exact(body.to_owned())
        } else {
            // A bare resource (`member`) means all of its actions.
            ActionMatch::Prefix(format!("{body}."))
        })
    }

    /// The WHERE clause (`e` is `audit_events`) and its values, numbered from `$1`.
    pub fn to_sql(&self, tenant: Uuid) -> (String, Vec<Value>) {
        let mut sql = String::from("e.tenant_id = $1");
        let mut values: Vec<Value> = vec![tenant.into()];
        let mut push = |condition: &str, value: Value| {
            values.push(value);
            sql.push_str(" AND ");
            sql.push_str(&condition.replace('?', &format!("${}", values.len())));
        };
        if let Some(from) = self.from {
            push("e.occurred_at >= ?", from.into());
        }
        if let Some(to) = self.to {
            push("e.occurred_at < ?", to.into());
        }
        if let Some(id) = self.actor_id {
            push("e.actor_id = ?", id.into());
        }
        if let Some(kind) = &self.actor_type {
            push("e.actor_type = ?", kind.clone().into());
        }
        if let Some(actor) = &self.actor {
            push("lower(e.actor_display) = lower(?)", actor.clone().into());
        }
        match self.action.as_deref().and_then(|a| self.action_match(a)) {
            Some(ActionMatch::Exact(action)) => push("e.action = ?", action.into()),
            Some(ActionMatch::Prefix(prefix)) => push(
                "e.action LIKE ? ESCAPE '\\'",
                format!("{}%", prefix.replace('_', "\\_")).into(),
            ),
            None => {}
        }
        if let Some(kind) = &self.target_type {
            push("e.target_type = ?", kind.clone().into());
        }
        if let Some(id) = &self.target_id {
            push("e.target_id = ?", id.clone().into());
        }
        if let Some(id) = &self.request_id {
            push("e.request_id = ?", id.clone().into());
        }
        (sql, values)
    }
}

/// Where a page ended: the last event's time and id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let mut bytes = self.occurred_at.timestamp_micros().to_be_bytes().to_vec();
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Cursor, ApiError> {
        let invalid = || ApiError::validation("cursor", "is not a cursor this API returned");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        if bytes.len() != 24 {
            return Err(invalid());
        }
        let micros = i64::from_be_bytes(bytes[..8].try_into().map_err(|_| invalid())?);
        let id = Uuid::from_slice(&bytes[8..]).map_err(|_| invalid())?;
        let occurred_at = Utc.timestamp_micros(micros).single().ok_or_else(invalid)?;
        Ok(Cursor { occurred_at, id })
    }
}

/// The columns of an event, as `entity::audit_events::Model` reads them.
pub const COLUMNS: &str = "e.tenant_id, e.occurred_at, e.id, e.actor_type, e.actor_id, e.actor_display, \
     e.action, e.target_type, e.target_id, e.target_display, e.request_id, e.ip, e.user_agent, e.metadata";

/// One page, newest first, and the cursor of the next one when there is more.
pub async fn page(
    tx: &TenantTx,
    filters: &Filters,
    limit: u32,
    after: Option<Cursor>,
) -> Result<(Vec<Event>, Option<Cursor>), ApiError> {
    let (mut conditions, mut values) = filters.to_sql(tx.tenant_id().as_uuid());
    if let Some(cursor) = after {
        values.push(cursor.occurred_at.into());
        values.push(cursor.id.into());
        conditions.push_str(&format!(
            " AND (e.occurred_at, e.id) < (${}, ${})",
            values.len() - 1,
            values.len()
        ));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events e WHERE {conditions} \
         ORDER BY e.occurred_at DESC, e.id DESC LIMIT {}",
        limit + 1
    );
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let mut events = rows
        .iter()
        .map(|row| Event::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(|e| Cursor {
            occurred_at: e.occurred_at.to_utc(),
            id: e.id,
        })
    } else {
        None
    };
    Ok((events, next))
}

/// Where an event sits in the chain.
#[derive(Debug, Clone)]
pub struct SealOf {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub sealed_at: DateTime<Utc>,
}

/// One event and its seal (none yet while the sealer has not reached it).
pub async fn get(tx: &TenantTx, id: Uuid) -> Result<(Event, Option<SealOf>), ApiError> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT {COLUMNS}, s.seq, s.hash, s.sealed_at FROM audit_events e \
                 LEFT JOIN audit_seals s ON s.tenant_id = e.tenant_id AND s.event_id = e.id \
                 WHERE e.tenant_id = $1 AND e.id = $2"
            ),
            [tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let event = Event::from_query_result(&row, "")?;
    let seal = match row.try_get::<Option<i64>>("", "seq")? {
        Some(seq) => Some(SealOf {
            seq,
            hash: row.try_get("", "hash")?,
            sealed_at: row
                .try_get::<chrono::DateTime<chrono::FixedOffset>>("", "sealed_at")?
                .to_utc(),
        }),
        None => None,
    };
    Ok((event, seal))
}

/// The statement an export streams: every event the filters match, newest first.
pub fn export_statement(filters: &Filters, tenant: Uuid) -> Statement {
    let (conditions, values) = filters.to_sql(tenant);
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM audit_events e WHERE {conditions} \
             ORDER BY e.occurred_at DESC, e.id DESC"
        ),
        values,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(action: &str) -> Filters {
        Filters {
            action: Some(action.into()),
            ..Default::default()
        }
    }

    #[test]
    fn actions_match_exactly_or_by_prefix() {
        let (sql, values) = filters("member.invited").to_sql(Uuid::nil());
        assert!(sql.ends_with("e.action = $2"), "{sql}");
        assert_eq!(values[1], Value::from("member.invited"));
        for prefix in ["member.", "member.*", "member"] {
            let (sql, values) = filters(prefix).to_sql(Uuid::nil());
            assert!(sql.contains("LIKE $2"), "{sql}");
            assert_eq!(values[1], Value::from("member.%"));
        }
        let (_, values) = filters("api_key.").to_sql(Uuid::nil());
        assert_eq!(values[1], Value::from("api\\_key.%"), "_ is not a wildcard");
        for bad in ["", ".", "Member.x", "member..x", "member.%", "a.b c"] {
            assert!(filters(bad).check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = Cursor {
            occurred_at: Utc
                .timestamp_micros(1_765_000_000_000_001)
                .single()
                .unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("nope").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode([0u8; 23])).is_err());
    }
}
