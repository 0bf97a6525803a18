//! Review workflows. An editor asks named approvers (1 to 10) to review the document's current
//! version, either as a **chain** — each in the order given, the next one's turn only once the one
//! before approved — or **any** of them, where the first decision settles it. Approving at the end of
//! the chain (or any approval, for `any`) approves the document; a request for changes by anyone whose
//! turn it is closes the review at once. The document's `review_state` follows (`in_review`,
//! `changes_requested`, `approved`); it cannot be saved while in review (withdraw the review first),
//! and a save after a decision makes it a `draft` again. Whoever's turn it is hears of it in the app
//! and by mail, and is reminded ([`super::review_reminders`]) while it stays their turn.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    Role,
    activity::{self, Verb},
    documents, notices,
    workspace::WorkspaceRow,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    crypto::Crypto,
    db::sql::statement,
    error::{ApiError, FieldError},
    jobs::{self, JobKind},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Approvers of one review, at most.
pub const MAX_APPROVERS: usize = 10;
/// Reminders per approver and turn, at most.
pub const MAX_REMINDERS: i32 = 3;
/// Reviews a document's history lists, at most.
const LIST_LIMIT: i64 = 100;

#[derive(Debug, Clone, FromQueryResult)]
pub struct ReviewRow {
    pub id: Uuid,
    pub document_id: Uuid,
    pub version: i32,
    pub mode: String,
    pub status: String,
    pub message: String,
    pub requested_by: Option<Uuid>,
    pub requested_by_name: Option<String>,
    pub turn: i32,
    pub created_at: DateTime<FixedOffset>,
    pub closed_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ApproverRow {
    pub review_id: Uuid,
    pub position: i32,
    pub user_id: Uuid,
    pub name: String,
    pub decision: Option<String>,
    pub comment: String,
    pub decided_at: Option<DateTime<FixedOffset>>,
    pub reminded: i32,
}

/// A review with its approvers in order.
#[derive(Debug, Clone)]
pub struct Review {
    pub review: ReviewRow,
    pub approvers: Vec<ApproverRow>,
}

impl Review {
    pub fn is_chain(&self) -> bool {
        self.review.mode == "chain"
    }

    /// Whose turn it is while the review is open: the first undecided approver of a chain, every
    /// undecided one otherwise.
    pub fn waiting_on(&self) -> Vec<&ApproverRow> {
        if self.review.status != "open" {
            return Vec::new();
        }
        let pending = self.approvers.iter().filter(|a| a.decision.is_none());
        if self.is_chain() {
            pending.take(1).collect()
        } else {
            pending.collect()
        }
    }
}

const SELECT: &str = "SELECT r.id, r.document_id, r.version, r.mode, r.status, r.message, r.requested_by, \
     CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS requested_by_name, r.turn, \
     r.created_at, r.closed_at FROM document_reviews r LEFT JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.requested_by";

async fn approvers(tx: &TenantTx, reviews: &[Uuid]) -> Result<Vec<ApproverRow>> {
    Ok(ApproverRow::find_by_statement(statement(
        "SELECT a.review_id, a.position, a.user_id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END \
         AS name, a.decision, a.comment, a.decided_at, a.reminded FROM review_approvers a \
         JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id \
         WHERE a.tenant_id = $1 AND a.review_id = ANY($2) ORDER BY a.review_id, a.position",
        vec![tx.tenant_id().as_uuid().into(), reviews.to_vec().into()],
    ))
    .all(tx)
    .await?)
}

async fn with_approvers(tx: &TenantTx, rows: Vec<ReviewRow>) -> Result<Vec<Review>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let all = approvers(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|review| Review {
            approvers: all
                .iter()
                .filter(|a| a.review_id == review.id)
                .cloned()
                .collect(),
            review,
        })
        .collect())
}

/// One review of a document (404 for another document's).
pub async fn load(tx: &TenantTx, document: Uuid, id: Uuid) -> Result<Review> {
    let row = ReviewRow::find_by_statement(statement(
        &format!("{SELECT} WHERE r.tenant_id = $1 AND r.document_id = $2 AND r.id = $3"),
        vec![tx.tenant_id().as_uuid().into(), document.into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)?;
    with_approvers(tx, vec![row])
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)
}

/// A document's reviews, the newest first (at most 100).
pub async fn list(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
) -> Result<Vec<Review>> {
    documents::get(tx, user, workspace, document, false).await?;
    let rows = ReviewRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE r.tenant_id = $1 AND r.document_id = $2 ORDER BY r.created_at DESC, r.id DESC LIMIT {LIST_LIMIT}"
        ),
        vec![tx.tenant_id().as_uuid().into(), document.into()],
    ))
    .all(tx)
    .await?;
    with_approvers(tx, rows).await
}

/// One review, to a member of its workspace.
pub async fn get(
    tx: &TenantTx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    id: Uuid,
) -> Result<Review> {
    documents::get(tx, user, workspace, document, false).await?;
    load(tx, document, id).await
}

/// What a request for review says.
#[derive(Debug, Clone)]
pub struct Ask {
    /// `chain` or `any` (none: the workspace's `default_review_mode`).
    pub mode: Option<String>,
    pub approvers: Vec<Uuid>,
    pub message: String,
}

async fn set_state(tx: &TenantTx, document: Uuid, state: &str) -> Result<()> {
    tx.execute_raw(statement(
        "UPDATE documents SET review_state = $3 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            document.into(),
            state.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// How long an approver's turn waits before they are reminded, and between reminders: the
/// workspace's `review_reminder_hours`.
pub fn remind_after(space: &WorkspaceRow) -> Duration {
    Duration::hours(i64::from(space.review_reminder_hours.max(1)))
}

/// Queues the reminder of the review's current turn, due after [`remind_after`].
pub async fn schedule_reminder(
    tx: &TenantTx,
    space: &WorkspaceRow,
    review: Uuid,
    turn: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    schedule_reminder_at(tx, review, turn, now + remind_after(space), now).await
}

/// Queues the reminder of the review's turn `turn`, due at `at`.
pub async fn schedule_reminder_at(
    tx: &TenantTx,
    review: Uuid,
    turn: i32,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    jobs::enqueue_at(
        tx,
        JobKind::ReviewReminder,
        json!({ "review_id": review, "turn": turn }),
        at,
        now,
    )
    .await?;
    Ok(())
}

/// An editor asks for a review of the document's current version.
#[allow(clippy::too_many_arguments)]
pub async fn request(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    ask: Ask,
) -> Result<Review> {
    let (space, doc) = documents::get(tx, user, workspace, document, true).await?;
    space.role().require(Role::Editor, "asking for a review")?;
    space.ensure_active()?;
    let mut errors: Vec<FieldError> = Vec::new();
    let mode = ask
        .mode
        .clone()
        .unwrap_or_else(|| space.default_review_mode.clone());
    if mode != "chain" && mode != "any" {
        errors.push(FieldError::new("mode", "must be chain or any"));
    }
    let message = validate::prose("message", &ask.message, 2000)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    if ask.approvers.is_empty() || ask.approvers.len() > MAX_APPROVERS {
        errors.push(FieldError::new(
            "approvers",
            format!("name 1 to {MAX_APPROVERS} approvers"),
        ));
    } else if !ask.approvers.iter().all(|a| seen.insert(*a)) {
        errors.push(FieldError::new("approvers", "name each approver once"));
    } else if ask.approvers.contains(&user) {
        errors.push(FieldError::new(
            "approvers",
            "you cannot approve your own request",
        ));
    } else {
        let able: Vec<Uuid> = tx
            .query_all_raw(statement(
                "SELECT m.user_id FROM workspace_members m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
                 WHERE m.tenant_id = $1 AND m.workspace_id = $2 AND m.user_id = ANY($3) AND u.status = 'active' \
                 AND m.role <> 'viewer'",
                vec![
                    tx.tenant_id().as_uuid().into(),
                    workspace.into(),
                    ask.approvers.clone().into(),
                ],
            ))
            .await?
            .iter()
            .map(|row| row.try_get::<Uuid>("", "user_id"))
            .collect::<std::result::Result<_, _>>()?;
        if able.len() != ask.approvers.len() {
            errors.push(FieldError::new(
                "approvers",
                "every approver must be an active member of this workspace who may comment (not a viewer)",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if doc.review_state == "in_review" {
        return Err(ApiError::conflict(
            "review_open",
            "this document is already in review: withdraw that review first",
        ));
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO document_reviews (tenant_id, id, document_id, version, mode, status, message, requested_by, turn, \
         created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, 1, $8)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            document.into(),
            doc.current_version.into(),
            mode.clone().into(),
            message.into(),
            user.into(),
            ctx.now.into(),
        ],
    ))
    .await
    .map_err(ApiError::unique(
        "review_open",
        "this document is already in review: withdraw that review first",
    ))?;
    tx.execute_raw(statement(
        "INSERT INTO review_approvers (tenant_id, review_id, position, user_id) \
         SELECT $1, $2, a.position::integer, a.user_id FROM unnest($3::uuid[]) WITH ORDINALITY AS a(user_id, position)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            ask.approvers.clone().into(),
        ],
    ))
    .await?;
    set_state(tx, document, "in_review").await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("review.requested")
            .target("review", id, None)
            .metadata(json!({
                "workspace_id": workspace, "document_id": document, "version": doc.current_version,
                "mode": mode, "approvers": ask.approvers,
            })),
    )
    .await?;
    let review = load(tx, document, id).await?;
    let names: Vec<&str> = review.approvers.iter().map(|a| a.name.as_str()).collect();
    let joiner = if review.is_chain() { " then " } else { " or " };
    let what = format!("asked {} to review", names.join(joiner));
    activity::on_document(tx, ctx, user, &doc, "Review", id, Verb::Offer, &what).await?;
    notices::review_turn(tx, ctx, crypto, user, &space, &doc, &review).await?;
    schedule_reminder(tx, &space, id, 1, ctx.now).await?;
    Ok(review)
}

/// An approver's decision.
#[derive(Debug, Clone)]
pub struct Decision {
    pub approve: bool,
    pub comment: String,
}

/// An approver approves or requests changes, when it is their turn.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    id: Uuid,
    decision: Decision,
) -> Result<Review> {
    let (space, doc) = documents::get(tx, user, workspace, document, true).await?;
    let review = load(tx, document, id).await?;
    let comment = validate::prose("comment", &decision.comment, 5000)
        .map_err(|e| ApiError::Validation(vec![e]))?;
    if !decision.approve && comment.is_empty() {
        return Err(ApiError::validation(
            "comment",
            "say what should change when requesting changes",
        ));
    }
    let Some(mine) = review.approvers.iter().find(|a| a.user_id == user) else {
        return Err(ApiError::forbidden(
            "not_an_approver",
            "you are not an approver of this review",
        ));
    };
    space.role().require(Role::Commenter, "reviewing")?;
    space.ensure_active()?;
    if review.review.status != "open" {
        return Err(ApiError::conflict(
            "review_closed",
            format!("this review is {}", review.review.status.replace('_', " ")),
        ));
    }
    if mine.decision.is_some() {
        return Err(ApiError::conflict(
            "already_decided",
            "you have decided on this review already",
        ));
    }
    if !review.waiting_on().iter().any(|a| a.user_id == user) {
        return Err(ApiError::conflict(
            "not_your_turn",
            "this review is a chain: it is not your turn yet",
        ));
    }
    let position = mine.position;
    tx.execute_raw(statement(
        "UPDATE review_approvers SET decision = $4, comment = $5, decided_at = $6 \
         WHERE tenant_id = $1 AND review_id = $2 AND position = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            position.into(),
            (if decision.approve {
                "approved"
            } else {
                "changes_requested"
            })
            .into(),
            comment.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    let decided = load(tx, document, id).await?;
    let more = !decided.waiting_on().is_empty();
    let outcome = match (decision.approve, decided.is_chain() && more) {
        (false, _) => "changes_requested",
        (true, true) => "next_turn",
        (true, false) => "approved",
    };
    if outcome == "next_turn" {
        tx.execute_raw(statement(
            "UPDATE document_reviews SET turn = turn + 1 WHERE tenant_id = $1 AND id = $2",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?;
    } else {
        tx.execute_raw(statement(
            "UPDATE document_reviews SET status = $3, closed_at = $4 WHERE tenant_id = $1 AND id = $2",
            vec![
                tx.tenant_id().as_uuid().into(),
                id.into(),
                outcome.into(),
                ctx.now.into(),
            ],
        ))
        .await?;
        set_state(tx, document, outcome).await?;
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("review.decided")
            .target("review", id, None)
            .metadata(json!({
                "workspace_id": workspace, "document_id": document, "position": position,
                "decision": if decision.approve { "approved" } else { "changes_requested" },
                "outcome": outcome,
            })),
    )
    .await?;
    let after = load(tx, document, id).await?;
    let (verb, what) = match outcome {
        "changes_requested" => (Verb::Reject, "asked for changes to".to_owned()),
        "approved" if after.is_chain() => (
            Verb::Accept,
            format!(
                "approved ({position} of {}, the last)",
                after.approvers.len()
            ),
        ),
        "approved" => (Verb::Accept, "approved".to_owned()),
        _ => (
            Verb::Accept,
            format!("approved ({position} of {})", after.approvers.len()),
        ),
    };
    activity::on_document(tx, ctx, user, &doc, "Review", id, verb, &what).await?;
    let actor = after
        .approvers
        .iter()
        .find(|a| a.user_id == user)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    if outcome == "next_turn" {
        notices::review_turn(tx, ctx, crypto, user, &space, &doc, &after).await?;
        schedule_reminder(tx, &space, id, after.review.turn, ctx.now).await?;
    } else {
        notices::review_outcome(
            tx,
            ctx,
            crypto,
            &actor,
            &space,
            &doc,
            &after,
            outcome == "approved",
        )
        .await?;
    }
    Ok(after)
}

/// The requester or a workspace owner withdraws an open review; the document is a draft again.
pub async fn withdraw(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    workspace: Uuid,
    document: Uuid,
    id: Uuid,
) -> Result<Review> {
    let (space, doc) = documents::get(tx, user, workspace, document, true).await?;
    let review = load(tx, document, id).await?;
    if review.review.requested_by != Some(user) {
        space
            .role()
            .require(Role::Owner, "withdrawing someone else's review")?;
    }
    space.ensure_active()?;
    if review.review.status != "open" {
        return Err(ApiError::conflict(
            "review_closed",
            format!("this review is {}", review.review.status.replace('_', " ")),
        ));
    }
    tx.execute_raw(statement(
        "UPDATE document_reviews SET status = 'withdrawn', closed_at = $3 WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into(), ctx.now.into()],
    ))
    .await?;
    set_state(tx, document, "draft").await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("review.withdrawn")
            .target("review", id, None)
            .metadata(json!({ "workspace_id": workspace, "document_id": document })),
    )
    .await?;
    activity::on_document(
        tx,
        ctx,
        user,
        &doc,
        "Review",
        id,
        Verb::Undo,
        "withdrew the review of",
    )
    .await?;
    load(tx, document, id).await
}
