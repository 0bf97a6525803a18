//! Email digests. A notification that was not mailed at once (a reply in a thread, say) makes the
//! member's digest due — an hour or a day later, as they prefer (`hourly`, `daily`, or `off`) — unless
//! one is due already: one row per member in `notification_digests`, with one `notification.digest`
//! job. The job mails, in one message, what is still unread and unmailed and the member may still see,
//! and marks it mailed. The row is taken in the job's transaction, so a job that runs twice mails once;
//! a row long past its time (its job gave up) is queued again by the next notification. Changing the
//! preference moves what is due to the new delay.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::clip;
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    auth::service::org_name,
    clock::SharedClock,
    crypto::Crypto,
    db::sql::statement,
    domain::TenantId,
    error::ApiError,
    http::context::RequestContext,
    jobs::{self, JobKind, worker::JobError},
    mail::{self, MailTemplate, Notice},
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Notifications one digest lists, at most (the rest wait for the next).
pub const MAX_ITEMS: i64 = 50;

/// How often a member's digest may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Hourly,
    Daily,
    Off,
}

impl Frequency {
    pub fn parse(text: &str) -> Option<Frequency> {
        match text {
            "hourly" => Some(Frequency::Hourly),
            "daily" => Some(Frequency::Daily),
            "off" => Some(Frequency::Off),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Hourly => "hourly",
            Frequency::Daily => "daily",
            Frequency::Off => "off",
        }
    }

    fn delay(self) -> Option<Duration> {
        match self {
            Frequency::Hourly => Some(Duration::hours(1)),
            Frequency::Daily => Some(Duration::hours(24)),
            Frequency::Off => None,
        }
    }
}

/// The member's digest frequency (`daily` until they choose).
pub async fn frequency(tx: &TenantTx, user: Uuid) -> Result<Frequency> {
    let chosen = tx
        .query_one_raw(statement(
            "SELECT digest FROM notification_preferences WHERE tenant_id = $1 AND user_id = $2",
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await?
        .map(|row| row.try_get::<String>("", "digest"))
        .transpose()?;
    Ok(chosen
        .as_deref()
        .and_then(Frequency::parse)
        .unwrap_or(Frequency::Daily))
}

/// The member chooses how often their digest goes out.
pub async fn set_frequency(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    text: &str,
) -> Result<Frequency> {
    let Some(chosen) = Frequency::parse(text) else {
        return Err(ApiError::validation(
            "digest",
            "must be hourly, daily or off",
        ));
    };
    let before = frequency(tx, user).await?;
    tx.execute_raw(statement(
        "INSERT INTO notification_preferences (tenant_id, user_id, digest, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at",
        vec![
            tx.tenant_id().as_uuid().into(),
            user.into(),
            chosen.as_str().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    if before != chosen {
        // The digest due follows the new choice: none with `off`, else after the new delay from now
        // for what is waiting.
        tx.execute_raw(statement(
            "DELETE FROM notification_digests WHERE tenant_id = $1 AND user_id = $2",
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await?;
        if chosen != Frequency::Off && waiting(tx, user).await? {
            schedule(tx, user, ctx.now).await?;
        }
        audit::record(
            tx,
            ctx,
            AuditEvent::new("notifications.preferences_updated").metadata(
                json!({ "digest": { "before": before.as_str(), "after": chosen.as_str() } }),
            ),
        )
        .await?;
    }
    Ok(chosen)
}

/// How long past its time a due digest may wait before it is queued again (its job died).
const STALLED: Duration = Duration::hours(1);

/// Makes the member's digest due after their delay, unless it is already or they want none.
pub async fn schedule(tx: &TenantTx, user: Uuid, now: DateTime<Utc>) -> Result<()> {
    let Some(delay) = frequency(tx, user).await?.delay() else {
        return Ok(());
    };
    schedule_at(tx, user, now + delay, now).await
}

/// Makes the member's digest due at `due` unless one is due already. The row is locked (a digest
/// being sent waits for this transaction, and then mails what it adds), and a digest long past its
/// time — its job gave up — is queued again.
async fn schedule_at(
    tx: &TenantTx,
    user: Uuid,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = tx
        .query_one_raw(statement(
            "INSERT INTO notification_digests (tenant_id, user_id, due_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET due_at = CASE \
               WHEN notification_digests.due_at < $4 THEN $5 ELSE notification_digests.due_at END \
             RETURNING due_at, (xmax = 0) AS inserted, (due_at = $5 AND xmax <> 0) AS requeued",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                due.into(),
                (now - STALLED).into(),
                now.into(),
            ],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let inserted: bool = row.try_get("", "inserted")?;
    let requeued: bool = row.try_get("", "requeued")?;
    if inserted || requeued {
        let at: DateTime<Utc> = row.try_get("", "due_at")?;
        jobs::enqueue_at(
            tx,
            JobKind::NotificationDigest,
            json!({ "user_id": user }),
            at,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Whether the member has notifications a digest would mail now.
async fn waiting(tx: &TenantTx, user: Uuid) -> Result<bool> {
    Ok(crate::db::sql::count(
        tx,
        &format!(
            "SELECT count(*) AS n FROM notifications n WHERE {} AND n.read_at IS NULL AND n.emailed_at IS NULL",
            super::VISIBLE
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    )
    .await?
        > 0)
}

#[derive(Debug, FromQueryResult)]
struct Item {
    id: Uuid,
    title: String,
    excerpt: String,
}

/// The `notification.digest` job.
pub async fn run(
    pool: &PgPool,
    clock: &SharedClock,
    crypto: &Crypto,
    tenant: TenantId,
    payload: &Value,
) -> std::result::Result<(), JobError> {
    let user: Uuid = payload["user_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| JobError::Permanent("digest without a user_id".into()))?;
    let retry = |e: DbErr| JobError::Retry(format!("database: {e}"));
    let failed = |e: ApiError| JobError::Retry(e.to_string());
    let tx = TenantTx::begin(pool, tenant, None).await.map_err(retry)?;
    let ctx = AuditCtx {
        actor: Actor::system("notification digests"),
        request: RequestContext::default(),
        now: clock.now(),
    };
    // Taking the row is what makes this run the one that mails.
    let taken = tx
        .execute_raw(statement(
            "DELETE FROM notification_digests WHERE tenant_id = $1 AND user_id = $2 AND due_at <= $3",
            vec![tx.tenant_id().as_uuid().into(), user.into(), ctx.now.into()],
        ))
        .await
        .map_err(retry)?
        .rows_affected();
    if taken == 0 || frequency(&tx, user).await.map_err(failed)? == Frequency::Off {
        return tx.commit().await.map_err(retry);
    }
    let person = tx
        .query_one_raw(statement(
            "SELECT email, CASE WHEN display_name = '' THEN email ELSE display_name END AS name FROM users \
             WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await
        .map_err(retry)?;
    let Some(person) = person else {
        return tx.commit().await.map_err(retry);
    };
    let email: String = person.try_get("", "email").map_err(retry)?;
    let name: String = person.try_get("", "name").map_err(retry)?;
    let items = Item::find_by_statement(statement(
        &format!(
            "SELECT n.id, n.title, n.excerpt FROM notifications n WHERE {} AND n.read_at IS NULL \
             AND n.emailed_at IS NULL ORDER BY n.created_at, n.id LIMIT {MAX_ITEMS}",
            super::VISIBLE
        ),
        vec![tx.tenant_id().as_uuid().into(), user.into()],
    ))
    .all(&tx)
    .await
    .map_err(retry)?;
    if items.is_empty() {
        return tx.commit().await.map_err(retry);
    }
    let lines = items
        .iter()
        .map(|item| {
            if item.excerpt.is_empty() {
                item.title.clone()
            } else {
                format!("{}: “{}”", item.title, clip(&item.excerpt, 140))
            }
        })
        .collect();
    let count = items.len();
    let notice = Notice {
        link: None,
        org_name: org_name(&tx).await.map_err(failed)?,
        name,
        subject: if count == 1 {
            "1 update in your workspaces".into()
        } else {
            format!("{count} updates in your workspaces")
        },
        headline: "Here is what happened since your last digest.".into(),
        lines,
        next: "Open Trellis to read and answer them; you choose how often this digest comes in \
               your notification settings."
            .into(),
    };
    mail::enqueue(&tx, crypto, ctx.now, &email, MailTemplate::Notice(notice))
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    tx.execute_raw(statement(
        "UPDATE notifications SET emailed_at = $3 WHERE tenant_id = $1 AND id = ANY($2)",
        vec![tx.tenant_id().as_uuid().into(), ids.into(), ctx.now.into()],
    ))
    .await
    .map_err(retry)?;
    // More than one digest holds: the rest go out at once, in the next.
    if count as i64 == MAX_ITEMS {
        schedule_at(&tx, user, ctx.now, ctx.now)
            .await
            .map_err(failed)?;
    }
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("notifications.digest_sent")
            .metadata(json!({ "user_id": user, "count": count })),
    )
    .await
    .map_err(retry)?;
    tx.commit().await.map_err(retry)
}
