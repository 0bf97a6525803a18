//! Committing an import: a job that works through the import's rows in line order, one chunk per
//! transaction. Each chunk writes its members, their audit events and the import's checkpoint together,
//! so a worker killed at any moment resumes after the last committed chunk: no row twice, none lost.
//! The chunk's writes are set-based statements from the import's rows (nothing passes through the
//! server). When every row is in, one last transaction links the managers further down the file than
//! their reports (all members exist by then), deactivates the members a `sync` leaves out, and
//! completes the import.

use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    auth::service::{self as auth_service, SessionScope},
    clock::SharedClock,
    coordination::{
        RedisStore,
        bus::{self, Invalidation},
    },
    crypto::Crypto,
    domain::{TenantId, UserId},
    error::ApiError,
    http::context::RequestContext,
    jobs::worker::JobError,
    mail::{self, MailTemplate},
    tenancy::TenantTx,
};

/// Where a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Rows remain (the extent ran out: the chunks asked for, or the worker is stopping).
    Paused,
    /// The import is completed, failed or cancelled.
    Finished,
}

/// The profile fields an import writes, as (JSON key, column).
const PROFILE: [(&str, &str); 9] = [
    ("email", "email"),
    ("display_name", "display_name"),
    ("given_name", "given_name"),
    ("family_name", "family_name"),
    ("title", "title"),
    ("department", "department"),
    ("location", "location"),
    ("employee_id", "employee_id"),
    ("start_date", "start_date"),
];

/// New members are invited: an invitation each, mailed by a job once the chunk commits.
struct Invitations<'a> {
    crypto: &'a Crypto,
    url: &'a str,
}

enum Step {
    More,
    Done,
}

enum Failure {
    /// Worth another attempt (the database went away).
    Retry(String),
    /// The import cannot go on: it is marked failed, with this reason.
    Fatal(String),
}

impl From<sea_orm::DbErr> for Failure {
    fn from(error: sea_orm::DbErr) -> Self {
        match ApiError::from(error) {
            ApiError::Internal(e) => Failure::Retry(format!("{e:#}")),
            ApiError::Unavailable { code } => Failure::Retry(code.to_owned()),
            other => Failure::Fatal(other.to_string()),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Internal(e) => Failure::Retry(format!("{e:#}")),
            ApiError::Unavailable { code } => Failure::Retry(code.to_owned()),
            other => Failure::Fatal(other.to_string()),
        }
    }
}

/// How far one run of an import goes before it pauses at a checkpoint (whoever runs it next goes on from
/// there).
#[derive(Debug, Clone, Copy)]
pub enum Extent<'a> {
    /// At most this many chunks (the CLI shows progress between chunks so).
    Chunks(usize),
    /// Every remaining chunk, unless the flag is set first (the worker is stopping and hands the job
    /// back).
    UnlessStopped(&'a AtomicBool),
}

impl Extent<'_> {
    fn allows(&self, chunks_done: usize) -> bool {
        match self {
            Extent::Chunks(budget) => chunks_done < *budget,
            Extent::UnlessStopped(stop) => !stop.load(Ordering::Acquire),
        }
    }
}

/// The job `{"import_id", "chunk_rows", "confirm_deactivations"}` for `tenant`, as far as `extent` allows.
pub async fn run(
    pool: &PgPool,
    clock: &SharedClock,
    crypto: &Crypto,
    notify: Option<&RedisStore>,
    tenant: TenantId,
    payload: &Value,
    extent: Extent<'_>,
) -> Result<Progress, JobError> {
    let import_id = payload["import_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("the job names no import".into()))?;
    let chunk_rows = payload["chunk_rows"]
        .as_i64()
        .unwrap_or(2_000)
        .clamp(1, 50_000);
    let confirm = payload["confirm_deactivations"].as_i64();
    // Where invitations lead (`<accept page>#token=`), when the import sends them.
    let invite = payload["invitation_url"]
        .as_str()
        .map(|url| Invitations { crypto, url });
    let mut chunks = 0usize;
    loop {
        if !extent.allows(chunks) {
            return Ok(Progress::Paused);
        }
        let tx = TenantTx::begin(pool, tenant, None)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        match step(&tx, clock, import_id, chunk_rows, confirm, invite.as_ref()).await {
            Ok(Step::More) => {
                tx.commit()
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                announce(notify, tenant, import_id).await;
                chunks += 1;
            }
            Ok(Step::Done) => {
                tx.commit()
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                announce(notify, tenant, import_id).await;
                return Ok(Progress::Finished);
            }
            Err(Failure::Retry(error)) => return Err(JobError::Retry(error)),
            Err(Failure::Fatal(reason)) => {
                tx.rollback().await;
                fail(pool, clock, tenant, import_id, &reason).await?;
                announce(notify, tenant, import_id).await;
                return Ok(Progress::Finished);
            }
        }
    }
}

async fn announce(notify: Option<&RedisStore>, tenant_id: TenantId, import_id: Uuid) {
    if let Some(store) = notify {
        bus::announce(
            store,
            &Invalidation::ImportProgress {
                tenant_id,
                import_id,
            },
        )
        .await;
    }
}

struct ImportState {
    state: String,
    mode: String,
    checkpoint: i32,
    cancel_requested: bool,
    file_name: String,
    sha256: String,
    created_by: Option<Uuid>,
    counts: Value,
}

async fn load(tx: &TenantTx, import_id: Uuid) -> Result<Option<ImportState>, Failure> {
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT state, mode, checkpoint_line, cancel_requested, file_name, \
               encode(file_sha256, 'hex') AS sha, created_by, counts \
             FROM imports WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            [tx.tenant_id().as_uuid().into(), import_id.into()],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ImportState {
        state: row.try_get("", "state")?,
        mode: row
            .try_get::<Option<String>>("", "mode")?
            .unwrap_or_else(|| "upsert".into()),
        checkpoint: row.try_get("", "checkpoint_line")?,
        cancel_requested: row.try_get("", "cancel_requested")?,
        file_name: row.try_get("", "file_name")?,
        sha256: row.try_get("", "sha")?,
        created_by: row.try_get("", "created_by")?,
        counts: row.try_get("", "counts")?,
    }))
}

/// The person who committed the import acts (the audit names them), through the job.
async fn actor_ctx(
    tx: &TenantTx,
    clock: &SharedClock,
    import: &ImportState,
) -> Result<AuditCtx, Failure> {
    let actor = match import.created_by {
        Some(id) => {
            let email = tx
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT email FROM users WHERE tenant_id = $1 AND id = $2",
                    [tx.tenant_id().as_uuid().into(), id.into()],
                ))
                .await?
                .map(|r| r.try_get::<String>("", "email"))
                .transpose()?;
            match email {
                Some(email) => Actor::user(UserId::from_uuid(id), &email),
                None => Actor::system("import"),
            }
        }
        None => Actor::system("import"),
    };
    Ok(AuditCtx {
        actor,
        request: RequestContext::default(),
        now: clock.now(),
    })
}

fn count_of(counts: &Value, key: &str) -> i64 {
    counts[key].as_i64().unwrap_or(0)
}

async fn step(
    tx: &TenantTx,
    clock: &SharedClock,
    import_id: Uuid,
    chunk_rows: i64,
    confirm: Option<i64>,
    invite: Option<&Invitations<'_>>,
) -> Result<Step, Failure> {
    let Some(import) = load(tx, import_id).await? else {
        return Ok(Step::Done);
    };
    if matches!(import.state.as_str(), "completed" | "failed" | "cancelled") {
        return Ok(Step::Done);
    }
    let ctx = actor_ctx(tx, clock, &import).await?;
    let t = tx.tenant_id().as_uuid();
    if import.cancel_requested {
        exec(
            tx,
            "UPDATE imports SET state = 'cancelled', finished_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
            vec![t.into(), import_id.into(), ctx.now.into()],
        )
        .await?;
        audit::record(
            tx,
            &ctx,
            AuditEvent::new("import.cancelled")
                .target("import", import_id, Some(&import.file_name))
                .metadata(json!({ "counts": import.counts, "after_line": import.checkpoint })),
        )
        .await?;
        return Ok(Step::Done);
    }
    if import.state == "queued" {
        exec(
            tx,
            "UPDATE imports SET state = 'processing', started_at = coalesce(started_at, $3), updated_at = $3 \
             WHERE tenant_id = $1 AND id = $2",
            vec![t.into(), import_id.into(), ctx.now.into()],
        )
        .await?;
    }
    // The chunk: the next `chunk_rows` lines after the checkpoint, and what they hold.
    let chunk = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n, max(c.line) AS last, \
               count(*) FILTER (WHERE c.action = 'create') AS creates, \
               count(*) FILTER (WHERE c.action = 'update') AS updates, \
               count(*) FILTER (WHERE c.action = 'update' AND u.status = 'deactivated') AS reactivations, \
               count(*) FILTER (WHERE c.action = 'error' OR c.action IS NULL) AS skipped \
             FROM (SELECT line, action, user_id FROM import_rows \
                   WHERE tenant_id = $1 AND import_id = $2 AND line > $3 ORDER BY line LIMIT $4) c \
             LEFT JOIN users u ON u.tenant_id = $1 AND u.id = c.user_id AND c.action = 'update'",
            [
                t.into(),
                import_id.into(),
                import.checkpoint.into(),
                chunk_rows.into(),
            ],
        ))
        .await?
        .ok_or_else(|| Failure::Retry("no chunk".into()))?;
    let rows: i64 = chunk.try_get("", "n")?;
    let Some(last_line) = chunk.try_get::<Option<i32>>("", "last")? else {
        finish(tx, &ctx, import_id, &import, confirm).await?;
        return Ok(Step::Done);
    };
    let lines = Lines {
        import_id,
        after: import.checkpoint,
        last: last_line,
    };
    let created = if chunk.try_get::<i64>("", "creates")? > 0 {
        create_members(tx, &ctx, &lines, invite).await?
    } else {
        0
    };
    let updated = if chunk.try_get::<i64>("", "updates")? > 0 && import.mode != "create_only" {
        update_members(tx, &ctx, &lines).await?
    } else {
        0
    };
    let skipped: i64 = chunk.try_get("", "skipped")?;
    // The seats the commit reserved for these members are theirs now.
    let seated = created + chunk.try_get::<i64>("", "reactivations")?;
    let mut counts = import.counts.clone();
    counts["created"] = (count_of(&counts, "created") + created).into();
    counts["updated"] = (count_of(&counts, "updated") + updated).into();
    counts["skipped"] = (count_of(&counts, "skipped") + skipped).into();
    counts["unchanged"] =
        (count_of(&counts, "unchanged") + rows - created - updated - skipped).into();
    exec(
        tx,
        "UPDATE imports SET checkpoint_line = $3, processed_rows = processed_rows + $4, counts = $5, \
           seats_reserved = greatest(seats_reserved - $7, 0), updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            t.into(),
            import_id.into(),
            last_line.into(),
            (rows as i32).into(),
            counts.into(),
            ctx.now.into(),
            seated.into(),
        ],
    )
    .await?;
    Ok(Step::More)
}

/// The lines of one chunk: after the checkpoint, up to and including `last`.
struct Lines {
    import_id: Uuid,
    after: i32,
    last: i32,
}

impl Lines {
    /// `$1` tenant, `$2` import, `$3` after, `$4` last, for a statement over the chunk's rows.
    fn values(&self, tx: &TenantTx) -> Vec<sea_orm::Value> {
        vec![
            tx.tenant_id().as_uuid().into(),
            self.import_id.into(),
            self.after.into(),
            self.last.into(),
        ]
    }
}

async fn exec(tx: &TenantTx, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, Failure> {
    Ok(tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?
        .rows_affected())
}

/// The chunk's new members, with the ids validation gave them, their role (`member` when the file
/// names none), and their manager when the manager exists by the end of the statement (a member already,
/// or a row of this chunk); later rows' managers are linked when the import finishes. Users, memberships
/// and one `member.provisioned` event each are one statement, with no row passing through the server.
async fn create_members(
    tx: &TenantTx,
    ctx: &AuditCtx,
    lines: &Lines,
    invite: Option<&Invitations<'_>>,
) -> Result<i64, Failure> {
    let importer = match ctx.actor.kind {
        audit::ActorKind::User => ctx.actor.id,
        _ => None,
    };
    let status = if invite.is_some() {
        "invited"
    } else {
        "active"
    };
    let mut values = lines.values(tx);
    values.extend([ctx.now.into(), status.into(), importer.into()]);
    let created = audit::record_each(
        tx,
        ctx,
        "member.provisioned",
        "user",
        "src AS ( \
           SELECT r.user_id AS id, r.value AS v, r.manager_id FROM import_rows r \
           WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.line > $3 AND r.line <= $4 \
             AND r.action = 'create'), \
         ins AS ( \
           INSERT INTO users (tenant_id, id, email, display_name, status, given_name, family_name, title, \
             department, location, employee_id, start_date, manager_id, created_at, updated_at) \
           SELECT $1, s.id, s.v->>'email', coalesce(s.v->>'display_name', ''), $6, s.v->>'given_name', \
             s.v->>'family_name', s.v->>'title', s.v->>'department', s.v->>'location', s.v->>'employee_id', \
             (s.v->>'start_date')::date, \
             CASE WHEN s.manager_id IN (SELECT id FROM src) OR EXISTS (SELECT 1 FROM users m \
               WHERE m.tenant_id = $1 AND m.id = s.manager_id) THEN s.manager_id END, $5, $5 \
           FROM src s), \
         mem AS ( \
           INSERT INTO memberships (tenant_id, id, user_id, role, granted_by, created_at, updated_at) \
           SELECT $1, gen_random_uuid(), s.id, coalesce(s.v->>'role', 'member'), $7, $5, $5 FROM src s), \
         events AS ( \
           SELECT s.id::text AS target_id, s.v->>'email' AS target_display, \
             jsonb_build_object('source', 'import', 'role', coalesce(s.v->>'role', 'member'), \
               'status', $6::text, 'profile', s.v) AS metadata \
           FROM src s)",
        values,
    )
    .await? as i64;
    if let Some(invite) = invite {
        send_invitations(tx, ctx, invite, lines).await?;
    }
    Ok(created)
}

/// An invitation for each of the chunk's new members, mailed after the chunk commits (the mail is a
/// job of its own).
async fn send_invitations(
    tx: &TenantTx,
    ctx: &AuditCtx,
    invite: &Invitations<'_>,
    lines: &Lines,
) -> Result<(), Failure> {
    let t = tx.tenant_id().as_uuid();
    let created = tx
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT user_id AS id, value->>'email' AS email FROM import_rows \
             WHERE tenant_id = $1 AND import_id = $2 AND line > $3 AND line <= $4 AND action = 'create' \
             ORDER BY line",
            lines.values(tx),
        ))
        .await?;
    let settings = tx
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT invitation_ttl_hours, display_name FROM org_settings WHERE tenant_id = $1",
            [t.into()],
        ))
        .await?;
    let (ttl_hours, org_name): (i32, String) = match settings {
        Some(s) => (
            s.try_get("", "invitation_ttl_hours")?,
            s.try_get("", "display_name")?,
        ),
        None => (168, "your organization".into()),
    };
    let expires_at = ctx.now + chrono::Duration::hours(i64::from(ttl_hours));
    let inviter = ctx
        .actor
        .display
        .clone()
        .unwrap_or_else(|| "An administrator".into());
    for row in &created {
        let user_id: Uuid = row.try_get("", "id")?;
        let email: String = row.try_get("", "email")?;
        let token = auth_service::random_token();
        let invitation_id = Uuid::now_v7();
        exec(
            tx,
            "INSERT INTO invitations (tenant_id, id, user_id, email, token_hash, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                t.into(),
                invitation_id.into(),
                user_id.into(),
                email.clone().into(),
                auth_service::token_hash(&token).into(),
                ctx.actor.id.filter(|_| ctx.actor.kind == audit::ActorKind::User).into(),
                ctx.now.into(),
                expires_at.into(),
            ],
        )
        .await?;
        mail::enqueue(
            tx,
            invite.crypto,
            ctx.now,
            &email,
            MailTemplate::Invitation {
                org_name: org_name.clone(),
                inviter: inviter.clone(),
                accept_url: format!("{}{token}", invite.url),
                expires_at: expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            },
        )
        .await
        .map_err(|e| Failure::Retry(e.to_string()))?;
    }
    Ok(())
}

/// The chunk's existing members given the file's values (only the columns the file maps), their role
/// (never an owner's), reactivated if they were deactivated, each with a `member.profile_updated` event
/// of exactly what changed (before and after) — one statement. Returns how many changed.
async fn update_members(tx: &TenantTx, ctx: &AuditCtx, lines: &Lines) -> Result<i64, Failure> {
    let mut set = Vec::new();
    for (key, column) in PROFILE {
        let expr = match key {
            "start_date" => format!("(d.want->>'{key}')::date"),
            _ => format!("d.want->>'{key}'"),
        };
        set.push(format!(
            "{column} = CASE WHEN d.want ? '{key}' THEN {expr} ELSE u.{column} END"
        ));
    }
    // What the member is now, under the keys of the row's values.
    let mut was: Vec<String> = PROFILE
        .iter()
        .map(|(key, column)| format!("'{key}', u.{column}"))
        .collect();
    was.extend(
        [
            "'manager_email', mu.email",
            "'role', ms.role",
            "'status', u.status",
        ]
        .map(String::from),
    );
    let with = format!(
        "src AS ( \
           SELECT r.user_id AS id, r.value AS v FROM import_rows r \
           WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.line > $3 AND r.line <= $4 \
             AND r.action = 'update'), \
         cur AS ( \
           SELECT s.id, u.email, \
             jsonb_build_object({was}) AS was, \
             s.v \
               || CASE WHEN s.v ? 'display_name' \
                    THEN jsonb_build_object('display_name', coalesce(s.v->>'display_name', '')) \
                    ELSE '{{}}'::jsonb END \
               || CASE WHEN u.status = 'deactivated' THEN '{{\"status\": \"active\"}}'::jsonb \
                    ELSE '{{}}'::jsonb END \
               - CASE WHEN ms.role = 'owner' THEN 'role' ELSE '' END AS want \
           FROM src s JOIN users u ON u.tenant_id = $1 AND u.id = s.id \
           LEFT JOIN memberships ms ON ms.tenant_id = $1 AND ms.user_id = s.id \
           LEFT JOIN users mu ON mu.tenant_id = $1 AND mu.id = u.manager_id \
           FOR UPDATE OF u), \
         changed AS ( \
           SELECT c.id, c.email, c.want, d.before, d.after FROM cur c \
           CROSS JOIN LATERAL (SELECT jsonb_object_agg(k, c.was->k) AS before, \
               jsonb_object_agg(k, c.want->k) AS after \
             FROM jsonb_object_keys(c.want) k WHERE c.was->k IS DISTINCT FROM c.want->k) d \
           WHERE d.after IS NOT NULL), \
         upd AS ( \
           UPDATE users u SET {set}, \
             status = CASE WHEN u.status = 'deactivated' THEN 'active' ELSE u.status END, \
             deactivated_at = CASE WHEN u.status = 'deactivated' THEN NULL ELSE u.deactivated_at END, \
             updated_at = $5 \
           FROM changed d WHERE u.tenant_id = $1 AND u.id = d.id), \
         roles AS ( \
           UPDATE memberships m SET role = d.want->>'role', updated_at = $5 \
           FROM changed d WHERE m.tenant_id = $1 AND m.user_id = d.id AND d.want ? 'role' \
             AND m.role <> 'owner' AND m.role <> d.want->>'role'), \
         events AS ( \
           SELECT d.id::text AS target_id, d.email AS target_display, \
             jsonb_build_object('before', d.before, 'after', d.after, 'source', 'import') AS metadata \
           FROM changed d)",
        set = set.join(", "),
        was = was.join(", ")
    );
    let mut values = lines.values(tx);
    values.push(ctx.now.into());
    let updated =
        audit::record_each(tx, ctx, "member.profile_updated", "user", &with, values).await?;
    Ok(updated as i64)
}

/// Managers, the `sync` deactivations, and completion.
async fn finish(
    tx: &TenantTx,
    ctx: &AuditCtx,
    import_id: Uuid,
    import: &ImportState,
    confirm: Option<i64>,
) -> Result<(), Failure> {
    let t = tx.tenant_id().as_uuid();
    // Statements over the whole import: joined by hash, whatever the planner guesses of new rows.
    super::validate::plan_for_bulk(tx).await?;
    // Managers named by a later row than their report's (validation resolved every one to an id).
    exec(
        tx,
        "UPDATE users u SET manager_id = r.manager_id, updated_at = $3 FROM import_rows r \
         WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.action IN ('create', 'update') \
           AND r.value ? 'manager_email' AND u.tenant_id = $1 AND u.id = r.user_id \
           AND u.manager_id IS DISTINCT FROM r.manager_id AND r.manager_id IS DISTINCT FROM u.id \
           AND (r.manager_id IS NULL OR EXISTS (SELECT 1 FROM users m \
             WHERE m.tenant_id = $1 AND m.id = r.manager_id))",
        vec![t.into(), import_id.into(), ctx.now.into()],
    )
    .await?;
    let mut counts = import.counts.clone();
    if import.mode == "sync" {
        let importer = import.created_by.unwrap_or_else(Uuid::nil);
        let missing = tx
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT u.id, u.email, u.status FROM users u \
                 LEFT JOIN memberships ms ON ms.tenant_id = u.tenant_id AND ms.user_id = u.id \
                 WHERE u.tenant_id = $1 AND u.status <> 'deactivated' AND ms.role IS DISTINCT FROM 'owner' \
                   AND u.id <> $3 AND NOT EXISTS (SELECT 1 FROM import_rows r \
                     WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.user_id = u.id) \
                   AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.tenant_id = $1 AND r.import_id = $2 \
                     AND r.action = 'create' AND r.value->>'email' = u.email) \
                 FOR UPDATE OF u",
                [t.into(), import_id.into(), importer.into()],
            ))
            .await?;
        if Some(missing.len() as i64) != confirm {
            return Err(Failure::Fatal(format!(
                "sync would deactivate {} members but {} were confirmed: the organization changed since \
                 validation; the rows are imported, nobody was deactivated",
                missing.len(),
                confirm.unwrap_or(0)
            )));
        }
        let mut events = Vec::new();
        for row in &missing {
            let id: Uuid = row.try_get("", "id")?;
            let email: String = row.try_get("", "email")?;
            let status: String = row.try_get("", "status")?;
            exec(
                tx,
                "UPDATE users SET status = 'deactivated', deactivated_at = $3, updated_at = $3 \
                 WHERE tenant_id = $1 AND id = $2",
                vec![t.into(), id.into(), ctx.now.into()],
            )
            .await?;
            let sessions = auth_service::revoke_sessions(
                tx,
                SessionScope::AllOfUser(UserId::from_uuid(id)),
                ctx,
                "user_deactivated",
            )
            .await?;
            events.push(
                AuditEvent::new("member.deactivated")
                    .target("user", id, Some(&email))
                    .metadata(json!({
                        "before": { "status": status },
                        "after": { "status": "deactivated" },
                        "sessions_revoked": sessions,
                        "source": "import",
                    })),
            );
        }
        counts["deactivated"] = (events.len() as i64).into();
        audit::record_many(tx, ctx, events).await?;
    }
    exec(
        tx,
        "UPDATE imports SET state = 'completed', counts = $3, finished_at = $4, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2",
        vec![
            t.into(),
            import_id.into(),
            counts.clone().into(),
            ctx.now.into(),
        ],
    )
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("import.completed")
            .target("import", import_id, Some(&import.file_name))
            .metadata(json!({
                "file_name": import.file_name,
                "sha256": import.sha256,
                "mode": import.mode,
                "counts": counts,
            })),
    )
    .await?;
    Ok(())
}

/// Marks the import failed (its committed chunks stay) in a transaction of its own.
async fn fail(
    pool: &PgPool,
    clock: &SharedClock,
    tenant: TenantId,
    import_id: Uuid,
    reason: &str,
) -> Result<(), JobError> {
    let retry = |e: sea_orm::DbErr| JobError::Retry(e.to_string());
    let tx = TenantTx::begin(pool, tenant, None).await.map_err(retry)?;
    let Some(import) = load(&tx, import_id)
        .await
        .map_err(|_| JobError::Retry("could not read the import".into()))?
    else {
        return Ok(());
    };
    let ctx = actor_ctx(&tx, clock, &import)
        .await
        .map_err(|_| JobError::Retry("could not read the importer".into()))?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE imports SET state = 'failed', error = $3, finished_at = $4, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2",
        [
            tenant.as_uuid().into(),
            import_id.into(),
            reason.into(),
            ctx.now.into(),
        ],
    ))
    .await
    .map_err(retry)?;
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("import.failed")
            .target("import", import_id, Some(&import.file_name))
            .metadata(json!({ "reason": reason, "counts": import.counts })),
    )
    .await
    .map_err(retry)?;
    tx.commit().await.map_err(retry)
}
