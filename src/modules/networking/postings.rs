//! Internal job postings: HR (`networking:manage`) opens, changes, holds and closes them; every member
//! sees the open ones and refers candidates to them ([`super::referrals`]).

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::statement,
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// A posting's states: only `open` ones take referrals and are seen by every member.
pub const STATUSES: [&str; 3] = ["open", "on_hold", "closed"];

#[derive(Debug, Clone, FromQueryResult)]
pub struct PostingRow {
    pub id: Uuid,
    pub title: String,
    pub department: String,
    pub location: String,
    pub description: String,
    pub referral_bonus: String,
    pub status: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// Referrals to it.
    pub referrals: i64,
}

const SELECT: &str = "SELECT p.id, p.title, p.department, p.location, p.description, \
     p.referral_bonus, p.status, p.created_at, p.updated_at, \
     (SELECT count(*) FROM referrals r WHERE r.tenant_id = p.tenant_id AND r.posting_id = p.id) AS referrals \
     FROM job_postings p";

/// The postings in `status` (any with `None`), newest first (at most 500).
pub async fn list(tx: &TenantTx, status: Option<&str>) -> Result<Vec<PostingRow>> {
    Ok(PostingRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE p.tenant_id = $1 AND ($2::text IS NULL OR p.status = $2) \
             ORDER BY p.created_at DESC, p.id DESC LIMIT 500"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            status.map(str::to_owned).into(),
        ],
    ))
    .all(tx)
    .await?)
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<PostingRow> {
    PostingRow::find_by_statement(statement(
        &format!("{SELECT} WHERE p.tenant_id = $1 AND p.id = $2"),
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// Everything a posting says.
#[derive(Debug, Clone, Default)]
pub struct PostingFields {
    pub title: Option<String>,
    pub department: Option<String>,
    pub location: Option<String>,
    pub description: Option<String>,
    pub referral_bonus: Option<String>,
    pub status: Option<String>,
}

struct Checked {
    title: String,
    department: String,
    location: String,
    description: String,
    referral_bonus: String,
    status: String,
}

fn check(fields: PostingFields, current: Option<&PostingRow>) -> Result<Checked> {
    let mut errors = Vec::new();
    let mut keep = |result: std::result::Result<String, FieldError>| {
        result.map_err(|e| errors.push(e)).unwrap_or_default()
    };
    let title = match (&fields.title, current) {
        (Some(title), _) => keep(validate::label("title", title, 200)),
        (None, Some(row)) => row.title.clone(),
        (None, None) => keep(Err(FieldError::new("title", "is required"))),
    };
    let short = |field: &str, value: &Option<String>, was: Option<&String>, max: usize| match value
    {
        Some(text) if text.trim().is_empty() => Ok(String::new()),
        Some(text) => validate::label(field, text, max),
        None => Ok(was.cloned().unwrap_or_default()),
    };
    let department = keep(short(
        "department",
        &fields.department,
        current.map(|r| &r.department),
        120,
    ));
    let location = keep(short(
        "location",
        &fields.location,
        current.map(|r| &r.location),
        120,
    ));
    let referral_bonus = keep(short(
        "referral_bonus",
        &fields.referral_bonus,
        current.map(|r| &r.referral_bonus),
        200,
    ));
    let description = match &fields.description {
        Some(text) => keep(validate::prose("description", text, 10_000)),
        None => current.map(|r| r.description.clone()).unwrap_or_default(),
    };
    let status = fields
        .status
        .clone()
        .or(current.map(|r| r.status.clone()))
        .unwrap_or_else(|| "open".into());
    if !STATUSES.contains(&status.as_str()) {
        errors.push(FieldError::new("status", "must be open, on_hold or closed"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Checked {
        title,
        department,
        location,
        description,
        referral_bonus,
        status,
    })
}

fn summary(c: &Checked) -> serde_json::Value {
    json!({
        "title": c.title, "department": c.department, "location": c.location,
        "referral_bonus": c.referral_bonus, "status": c.status,
        "description_chars": c.description.chars().count(),
    })
}

pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    author: Option<Uuid>,
    fields: PostingFields,
) -> Result<PostingRow> {
    let checked = check(fields, None)?;
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO job_postings (tenant_id, id, title, department, location, description, \
         referral_bonus, status, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            checked.title.clone().into(),
            checked.department.clone().into(),
            checked.location.clone().into(),
            checked.description.clone().into(),
            checked.referral_bonus.clone().into(),
            checked.status.clone().into(),
            author.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("job_posting.created")
            .target("job_posting", id, Some(&checked.title))
            .metadata(json!({ "after": summary(&checked) })),
    )
    .await?;
    get(tx, id).await
}

/// Changes a posting (locked first, so two changes do not lose one another).
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    id: Uuid,
    fields: PostingFields,
) -> Result<PostingRow> {
    tx.execute_raw(statement(
        "SELECT 1 FROM job_postings WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .await?;
    let current = get(tx, id).await?;
    let before = check(PostingFields::default(), Some(&current))?;
    let after = check(fields, Some(&current))?;
    if summary(&before) == summary(&after) && before.description == after.description {
        return Ok(current);
    }
    tx.execute_raw(statement(
        "UPDATE job_postings SET title = $3, department = $4, location = $5, description = $6, \
         referral_bonus = $7, status = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            after.title.clone().into(),
            after.department.clone().into(),
            after.location.clone().into(),
            after.description.clone().into(),
            after.referral_bonus.clone().into(),
            after.status.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("job_posting.updated")
            .target("job_posting", id, Some(&after.title))
            .metadata(json!({ "before": summary(&before), "after": summary(&after) })),
    )
    .await?;
    get(tx, id).await
}
