//! The `review.reminder` job: while it stays an approver's turn, they are reminded every
//! [`reviews::remind_after`] (the workspace's setting; in the app and by mail), at most
//! [`MAX_REMINDERS`] times. The job carries the
//! review's `turn` when it was queued; a decision that moves the chain on raises the turn and queues
//! a new job, so a job for an earlier turn, or a review no longer open, does nothing. Each approver's
//! last reminder is kept (`reminded_at`), so a job run twice reminds nobody twice. The job takes the
//! locks a decision takes, in the same order.

use sea_orm::{ConnectionTrait, DbErr};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    documents, notices,
    reviews::{self, MAX_REMINDERS},
    workspace,
};
use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    clock::SharedClock,
    crypto::Crypto,
    db::sql::statement,
    domain::TenantId,
    error::ApiError,
    http::context::RequestContext,
    jobs::worker::JobError,
    tenancy::TenantTx,
};

pub async fn run(
    pool: &PgPool,
    clock: &SharedClock,
    crypto: &Crypto,
    tenant: TenantId,
    payload: &Value,
) -> Result<(), JobError> {
    let review_id: Uuid = payload["review_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| JobError::Permanent("review reminder without a review_id".into()))?;
    let turn = payload["turn"]
        .as_i64()
        .ok_or_else(|| JobError::Permanent("review reminder without a turn".into()))?;
    let retry = |e: DbErr| JobError::Retry(format!("database: {e}"));
    let failed = |e: ApiError| JobError::Retry(e.to_string());
    let tx = TenantTx::begin(pool, tenant, None).await.map_err(retry)?;
    let ctx = AuditCtx {
        actor: Actor::system("review reminders"),
        request: RequestContext::default(),
        now: clock.now(),
    };
    let place = tx
        .query_one_raw(statement(
            "SELECT r.document_id, d.workspace_id FROM document_reviews r \
             JOIN documents d ON d.tenant_id = r.tenant_id AND d.id = r.document_id \
             WHERE r.tenant_id = $1 AND r.id = $2",
            vec![tx.tenant_id().as_uuid().into(), review_id.into()],
        ))
        .await
        .map_err(retry)?;
    // Deleted with its document: nothing to say.
    let Some(place) = place else {
        return tx.commit().await.map_err(retry);
    };
    let document: Uuid = place.try_get("", "document_id").map_err(retry)?;
    let workspace_id: Uuid = place.try_get("", "workspace_id").map_err(retry)?;
    // The locks a decision takes, in its order (the workspace, then the document): a reminder and a
    // decision never pass each other, nor wait on each other the wrong way round.
    tx.execute_raw(statement(
        "SELECT 1 FROM workspaces WHERE tenant_id = $1 AND id = $2 FOR SHARE",
        vec![tx.tenant_id().as_uuid().into(), workspace_id.into()],
    ))
    .await
    .map_err(retry)?;
    tx.execute_raw(statement(
        "SELECT 1 FROM documents WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        vec![tx.tenant_id().as_uuid().into(), document.into()],
    ))
    .await
    .map_err(retry)?;
    let review = reviews::load(&tx, document, review_id)
        .await
        .map_err(failed)?;
    if review.review.status != "open" || i64::from(review.review.turn) != turn {
        return tx.commit().await.map_err(retry);
    }
    let space = workspace::for_system(&tx, workspace_id)
        .await
        .map_err(failed)?;
    if space.archived_at.is_some() {
        return tx.commit().await.map_err(retry);
    }
    let doc = documents::for_system(&tx, workspace_id, document)
        .await
        .map_err(failed)?;
    let due: Vec<Uuid> = tx
        .query_all_raw(statement(
            "SELECT user_id FROM review_approvers WHERE tenant_id = $1 AND review_id = $2 AND user_id = ANY($3) \
             AND reminded < $4 AND (reminded_at IS NULL OR reminded_at <= $5)",
            vec![
                tx.tenant_id().as_uuid().into(),
                review_id.into(),
                review
                    .waiting_on()
                    .iter()
                    .map(|a| a.user_id)
                    .collect::<Vec<_>>()
                    .into(),
                MAX_REMINDERS.into(),
                (ctx.now - reviews::remind_after(&space) + chrono::Duration::minutes(30)).into(),
            ],
        ))
        .await
        .map_err(retry)?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "user_id"))
        .collect::<Result<_, _>>()
        .map_err(retry)?;
    let people = notices::members(&tx, workspace_id, &due, Uuid::nil())
        .await
        .map_err(failed)?;
    if people.is_empty() {
        // Nobody due yet (the workspace's delay grew since this job was queued): come back when the
        // earliest waiting approver is.
        let waiting: Vec<Uuid> = review.waiting_on().iter().map(|a| a.user_id).collect();
        let earliest = tx
            .query_one_raw(statement(
                "SELECT min(reminded_at) AS at FROM review_approvers WHERE tenant_id = $1 AND review_id = $2 \
                 AND user_id = ANY($3) AND reminded < $4",
                vec![
                    tx.tenant_id().as_uuid().into(),
                    review_id.into(),
                    waiting.into(),
                    MAX_REMINDERS.into(),
                ],
            ))
            .await
            .map_err(retry)?
            .and_then(|row| row.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "at").ok())
            .flatten();
        if let Some(at) = earliest.map(|at| at + reviews::remind_after(&space))
            && at > ctx.now
        {
            reviews::schedule_reminder_at(&tx, review_id, review.review.turn, at, ctx.now)
                .await
                .map_err(failed)?;
        }
        return tx.commit().await.map_err(retry);
    }
    notices::review_reminder(&tx, &ctx, crypto, &space, &doc, &review, &people)
        .await
        .map_err(failed)?;
    let reminded: Vec<Uuid> = people.iter().map(|p| p.id).collect();
    let again = tx
        .query_all_raw(statement(
            "UPDATE review_approvers SET reminded = reminded + 1, reminded_at = $4 \
             WHERE tenant_id = $1 AND review_id = $2 AND user_id = ANY($3) RETURNING reminded",
            vec![
                tx.tenant_id().as_uuid().into(),
                review_id.into(),
                reminded.clone().into(),
                ctx.now.into(),
            ],
        ))
        .await
        .map_err(retry)?
        .iter()
        .filter_map(|row| row.try_get::<i32>("", "reminded").ok())
        .any(|n| n < MAX_REMINDERS);
    if again {
        reviews::schedule_reminder(&tx, &space, review_id, review.review.turn, ctx.now)
            .await
            .map_err(failed)?;
    }
    audit::record(
        &tx,
        &ctx,
        AuditEvent::new("review.reminders_sent")
            .target("review", review_id, None)
            .metadata(json!({ "document_id": document, "turn": turn, "approvers": reminded })),
    )
    .await
    .map_err(retry)?;
    tx.commit().await.map_err(retry)
}
