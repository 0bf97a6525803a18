//! The dry run: what an import would do, written nowhere but on its rows. Each row was normalised on
//! its own when it was stored ([`super::normalize`], in Rust, on blocking threads); everything that compares
//! rows with each other or with the organization is one set-based statement over the import's rows
//! (duplicates, the member a row is, roles, managers, what would change). The report counts rows to
//! create, update, leave unchanged and (in `sync` mode) deactivate, checks the seat limit, lists the
//! first errors and previews the first rows as they will be stored.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    fields::Field,
    rows::{self, Stored},
};
use crate::{
    auth::Principal,
    authz::Authz,
    error::ApiError,
    modules::members::service as members,
    tenancy::{Tenant, TenantTx},
};

/// Errors listed in the report (all of them are in the error file).
const REPORTED_ERRORS: i64 = 100;
const PREVIEW_ROWS: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    CreateOnly,
    Upsert,
    Sync,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "create_only" => Some(Mode::CreateOnly),
            "upsert" => Some(Mode::Upsert),
            "sync" => Some(Mode::Sync),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::CreateOnly => "create_only",
            Mode::Upsert => "upsert",
            Mode::Sync => "sync",
        }
    }
}

/// The import's rows were written moments ago, so the planner has no statistics for them (and the app
/// role cannot ANALYZE): it would guess one row each and join them by nested loops, quadratic in the
/// file. For the rest of this transaction, joins go by hash or merge instead, and sorts and hashes over
/// the whole import get the memory to stay off disk (the default 4 MB spills at a few ten thousand rows).
pub async fn plan_for_bulk(tx: &TenantTx) -> Result<(), ApiError> {
    tx.execute_unprepared("SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'")
        .await?;
    Ok(())
}

async fn exec(tx: &TenantTx, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, ApiError> {
    Ok(tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?
        .rows_affected())
}

/// Works out, in one statement over the import's rows, what validation finds by comparing each row
/// with the file and the organization: the same address or employee id twice, the member the row is
/// (by employee id, else address; a new member gets the id it will have), refused roles, the manager
/// (a row of the file without errors, or a member), and the action. Only rows whose outcome changed are
/// written, so validating again (as a commit does) costs a read when nothing changed.
///
/// Parameters: $1 tenant, $2 import, $3 mode, $4..$7 the headers of the email, employee id, role and
/// manager columns (the file's text: always parameters), $8 refused roles, $9 why each is refused.
const PLAN: &str = "\
WITH src AS ( \
  SELECT line, value, row_errors, user_id AS planned_before, action AS action_before, \
    value->>'email' AS email, value->>'employee_id' AS employee_id, \
    value->>'manager_email' AS manager_email, value->>'role' AS role \
  FROM import_rows WHERE tenant_id = $1 AND import_id = $2), \
dup_emails AS ( \
  SELECT email, min(line) AS first FROM src WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1), \
dup_employee_ids AS ( \
  SELECT employee_id, min(line) AS first FROM src WHERE employee_id IS NOT NULL \
  GROUP BY employee_id HAVING count(*) > 1), \
checked AS ( \
  SELECT s.line, s.value, s.manager_email, s.email, coalesce(ue.id, um.id) AS member_id, \
    coalesce(ue.id, um.id, CASE WHEN s.action_before = 'create' THEN s.planned_before END, gen_random_uuid()) AS planned, \
    CASE WHEN de.first < s.line OR di.first < s.line OR ue.id <> um.id \
      OR s.role = ANY($8::text[]) THEN coalesce(s.row_errors, '[]'::jsonb) \
    || CASE WHEN de.first < s.line THEN jsonb_build_array(jsonb_build_object('column', $4::text, \
         'reason', 'the same email as line ' || de.first)) ELSE '[]'::jsonb END \
    || CASE WHEN di.first < s.line THEN jsonb_build_array(jsonb_build_object('column', $5::text, \
         'reason', 'the same employee id as line ' || di.first)) ELSE '[]'::jsonb END \
    || CASE WHEN ue.id <> um.id THEN jsonb_build_array(jsonb_build_object('column', $4::text, \
         'reason', 'the address belongs to another member than employee id ' || s.employee_id)) ELSE '[]'::jsonb END \
    || CASE WHEN s.role = ANY($8::text[]) THEN jsonb_build_array(jsonb_build_object('column', $6::text, \
         'reason', ($9::text[])[array_position($8::text[], s.role)])) ELSE '[]'::jsonb END \
    ELSE coalesce(s.row_errors, '[]'::jsonb) END AS errs \
  FROM src s LEFT JOIN dup_emails de ON de.email = s.email \
  LEFT JOIN dup_employee_ids di ON di.employee_id = s.employee_id \
  LEFT JOIN users ue ON ue.tenant_id = $1 AND ue.employee_id = s.employee_id \
  LEFT JOIN users um ON um.tenant_id = $1 AND um.email = s.email), \
resolved AS ( \
  SELECT c.line, c.value, c.member_id, c.planned, coalesce(fm.planned, mu.id) AS manager_id, \
    CASE WHEN c.manager_email IS NOT NULL AND fm.planned IS NULL AND mu.id IS NULL \
      THEN c.errs || jsonb_build_array(jsonb_build_object('column', $7::text, \
        'reason', 'the manager ' || c.manager_email || ' is neither in the file nor a member')) \
      ELSE c.errs END AS errs \
  FROM checked c \
  LEFT JOIN checked fm ON fm.email = c.manager_email AND fm.errs = '[]'::jsonb \
  LEFT JOIN users mu ON mu.tenant_id = $1 AND mu.email = c.manager_email), \
outcome AS ( \
  SELECT x.line, \
    CASE WHEN x.errs = '[]'::jsonb THEN x.planned ELSE x.member_id END AS user_id, \
    CASE WHEN x.errs = '[]'::jsonb THEN x.manager_id END AS manager_id, \
    nullif(x.errs, '[]'::jsonb) AS errors, \
    CASE \
      WHEN x.errs <> '[]'::jsonb THEN 'error' \
      WHEN x.member_id IS NULL THEN 'create' \
      WHEN $3 = 'create_only' THEN 'unchanged' \
      WHEN u.status = 'deactivated' \
        OR u.email IS DISTINCT FROM x.value->>'email' \
        OR (x.value ? 'display_name' AND u.display_name IS DISTINCT FROM coalesce(x.value->>'display_name', '')) \
        OR (x.value ? 'given_name' AND u.given_name IS DISTINCT FROM x.value->>'given_name') \
        OR (x.value ? 'family_name' AND u.family_name IS DISTINCT FROM x.value->>'family_name') \
        OR (x.value ? 'title' AND u.title IS DISTINCT FROM x.value->>'title') \
        OR (x.value ? 'department' AND u.department IS DISTINCT FROM x.value->>'department') \
        OR (x.value ? 'location' AND u.location IS DISTINCT FROM x.value->>'location') \
        OR (x.value ? 'employee_id' AND u.employee_id IS DISTINCT FROM x.value->>'employee_id') \
        OR (x.value ? 'start_date' AND u.start_date IS DISTINCT FROM (x.value->>'start_date')::date) \
        OR (x.value ? 'manager_email' AND mu.email IS DISTINCT FROM x.value->>'manager_email') \
        OR (x.value->>'role' IS NOT NULL AND ms.role IS DISTINCT FROM x.value->>'role' AND ms.role <> 'owner') \
      THEN 'update' ELSE 'unchanged' END AS action \
  FROM resolved x \
  LEFT JOIN users u ON u.tenant_id = $1 AND u.id = x.member_id \
  LEFT JOIN memberships ms ON ms.tenant_id = $1 AND ms.user_id = x.member_id \
  LEFT JOIN users mu ON mu.tenant_id = $1 AND mu.id = u.manager_id) \
UPDATE import_rows r SET user_id = o.user_id, manager_id = o.manager_id, errors = o.errors, action = o.action \
FROM outcome o \
WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.line = o.line \
  AND (r.user_id, r.manager_id, r.errors, r.action) IS DISTINCT FROM (o.user_id, o.manager_id, o.errors, o.action)";

/// Runs the dry run on an import's stored rows and returns the report (the caller stores it on the
/// import).
pub async fn run(
    tx: &TenantTx,
    authz: &Authz,
    principal: &Principal,
    tenant: &Tenant,
    stored: &Stored,
    mode: Mode,
) -> Result<Value, ApiError> {
    let (headers, mapping) = (&stored.shape.headers, &stored.shape.mapping);
    mapping.check()?;
    let import_id = stored.import_id;
    let t = tx.tenant_id().as_uuid();
    plan_for_bulk(tx).await?;
    // 1. Each row on its own, normalised when it was stored: again only if the mapping changed since.
    let current = mapping.to_json(headers);
    if stored.normalized_with.as_ref() != Some(&current) {
        rows::normalize_again(tx, import_id, &stored.shape).await?;
        exec(
            tx,
            "UPDATE imports SET normalized_mapping = $3 WHERE tenant_id = $1 AND id = $2",
            vec![t.into(), import_id.into(), current.into()],
        )
        .await?;
    }

    let header_of = |field: Field| {
        mapping
            .column(field)
            .and_then(|i| headers.get(i))
            .map(String::to_owned)
    };

    // 2. Roles: each must exist, not be owner, and be one the importer could grant.
    let mut refused: Vec<String> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    if mapping.column(Field::Role).is_some() {
        let named = tx
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT DISTINCT value->>'role' AS role FROM import_rows \
                 WHERE tenant_id = $1 AND import_id = $2 AND value->>'role' IS NOT NULL",
                [t.into(), import_id.into()],
            ))
            .await?;
        for row in named {
            let role: String = row.try_get("", "role")?;
            let why = if role == "owner" {
                "owner cannot be given by an import"
            } else if !authz.role_exists(tx, &role).await? {
                "is not a role of this organization"
            } else if !authz.covers(tx, principal, &role).await? {
                "has permissions you do not hold, so you cannot grant it"
            } else {
                continue;
            };
            reasons.push(format!("{role:?} {why}"));
            refused.push(role);
        }
    }

    // 3. Everything that compares rows with each other and with the organization, in one statement.
    exec(
        tx,
        PLAN,
        vec![
            t.into(),
            import_id.into(),
            mode.as_str().into(),
            header_of(Field::Email).into(),
            header_of(Field::EmployeeId).into(),
            header_of(Field::Role).into(),
            header_of(Field::ManagerEmail).into(),
            refused.into(),
            reasons.into(),
        ],
    )
    .await?;

    // 4. Counts, seats, errors, preview.
    let counts_row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) FILTER (WHERE action = 'create') AS creates, \
               count(*) FILTER (WHERE action = 'update') AS updates, \
               count(*) FILTER (WHERE action = 'unchanged') AS unchanged, \
               count(*) FILTER (WHERE action = 'error') AS errors, \
               count(*) AS total, \
               count(*) FILTER (WHERE action = 'update' AND EXISTS (SELECT 1 FROM users u \
                 WHERE u.tenant_id = $1 AND u.id = r.user_id AND u.status = 'deactivated')) AS reactivations \
             FROM import_rows r WHERE tenant_id = $1 AND import_id = $2",
            [t.into(), import_id.into()],
        ))
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no counts")))?;
    let count = |name: &str| -> Result<i64, ApiError> { Ok(counts_row.try_get::<i64>("", name)?) };
    let deactivate = if mode == Mode::Sync {
        let importer = principal
            .user_id()
            .map(|u| u.as_uuid())
            .unwrap_or_else(Uuid::nil);
        crate::db::sql::count(
            tx,
            "SELECT count(*) AS n FROM users u \
             LEFT JOIN memberships ms ON ms.tenant_id = u.tenant_id AND ms.user_id = u.id \
             WHERE u.tenant_id = $1 AND u.status <> 'deactivated' AND ms.role IS DISTINCT FROM 'owner' \
               AND u.id <> $3 AND NOT EXISTS (SELECT 1 FROM import_rows r \
                 WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.user_id = u.id)",
            vec![t.into(), import_id.into(), importer.into()],
        )
        .await?
    } else {
        0
    };
    let used = members::seats_used(tx).await.map_err(ApiError::from)?;
    let needed = count("creates")? + count("reactivations")?;
    let after_import = used + needed - deactivate;
    let seats_ok = after_import <= i64::from(tenant.seat_limit) || needed == 0;

    let error_rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT line, errors FROM import_rows WHERE tenant_id = $1 AND import_id = $2 AND action = 'error' \
             ORDER BY line LIMIT $3",
            [t.into(), import_id.into(), REPORTED_ERRORS.into()],
        ))
        .await?;
    let mut errors = Vec::new();
    for row in error_rows {
        let line: i32 = row.try_get("", "line")?;
        let list: Value = row.try_get("", "errors")?;
        for e in list.as_array().into_iter().flatten() {
            errors.push(json!({ "line": line, "column": e["column"], "reason": e["reason"] }));
        }
    }
    let preview_rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT line, action, value FROM import_rows WHERE tenant_id = $1 AND import_id = $2 \
               AND action IN ('create', 'update', 'unchanged') ORDER BY line LIMIT $3",
            [t.into(), import_id.into(), PREVIEW_ROWS.into()],
        ))
        .await?;
    let mut preview = Vec::new();
    for row in preview_rows {
        let line: i32 = row.try_get("", "line")?;
        let action: String = row.try_get("", "action")?;
        let value: Value = row.try_get("", "value")?;
        preview.push(json!({ "line": line, "action": action, "member": value }));
    }
    let changes = count("creates")? + count("updates")? + deactivate;
    let report = json!({
        "mode": mode.as_str(),
        "rows": count("total")?,
        "counts": {
            "create": count("creates")?,
            "update": count("updates")?,
            "unchanged": count("unchanged")?,
            "error": count("errors")?,
            "deactivate": deactivate,
        },
        "seats": {
            "limit": tenant.seat_limit,
            "used": used,
            "needed": needed,
            "after_import": after_import,
            "ok": seats_ok,
        },
        "errors": errors,
        "preview": preview,
        "nothing_to_change": changes == 0,
        "can_commit": seats_ok && count("errors")? == 0 && changes > 0,
    });
    Ok(report)
}
