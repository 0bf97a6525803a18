//! Mentoring programmes: HR opens a cohort and names its owner; members opt in as mentor (giving it a
//! number of places) or mentee (with their goals, languages and time zone) while it is `open`; the owner
//! matches the cohort ([`super::cohort_matching`]), publishes the matches as mentorships, and follows the
//! pairs' health; `closed` ends it. Members see open and published programmes and the ones they are in;
//! HR sees every one.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{Caller, mentors};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    db::sql::{count, statement},
    error::{ApiError, FieldError},
    tenancy::TenantTx,
    validate,
};

type Result<T> = std::result::Result<T, ApiError>;

/// People in one programme, at most.
pub const MAX_PARTICIPANTS: i64 = 1000;
/// Places a mentor may give one programme, at most.
pub const MAX_PLACES: i64 = 10;

#[derive(Debug, Clone, FromQueryResult)]
pub struct ProgrammeRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub status: String,
    pub matched_at: Option<DateTime<FixedOffset>>,
    pub match_method: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub mentors: i64,
    pub mentees: i64,
    pub places: i64,
    /// The viewer's role in it, if they joined.
    pub my_role: Option<String>,
}

/// `$1` the tenant, `$2` the viewer.
const SELECT: &str = "SELECT p.id, p.name, p.description, p.owner_id, \
     CASE WHEN o.display_name = '' THEN o.email ELSE o.display_name END AS owner_name, p.status, \
     p.matched_at, p.match_method, p.published_at, p.closed_at, p.created_at, p.updated_at, \
     (SELECT count(*) FROM programme_participants x WHERE x.tenant_id = p.tenant_id \
      AND x.programme_id = p.id AND x.role = 'mentor') AS mentors, \
     (SELECT count(*) FROM programme_participants x WHERE x.tenant_id = p.tenant_id \
      AND x.programme_id = p.id AND x.role = 'mentee') AS mentees, \
     (SELECT coalesce(sum(x.places), 0)::bigint FROM programme_participants x WHERE x.tenant_id = p.tenant_id \
      AND x.programme_id = p.id) AS places, \
     (SELECT x.role FROM programme_participants x WHERE x.tenant_id = p.tenant_id \
      AND x.programme_id = p.id AND x.user_id = $2) AS my_role \
     FROM mentoring_programmes p LEFT JOIN users o ON o.tenant_id = p.tenant_id AND o.id = p.owner_id";

impl ProgrammeRow {
    /// Whether `viewer` runs it: its owner, or HR.
    pub fn is_run_by(&self, viewer: Caller) -> bool {
        viewer.manages || self.owner_id == Some(viewer.user)
    }
}

/// Who may see which programmes (`$2` the caller, `$3` whether HR): HR every one; a member open and
/// published ones and those they are in or own.
const VISIBLE: &str = "($3 OR p.status <> 'closed' OR p.owner_id = $2 OR EXISTS (SELECT 1 FROM \
     programme_participants x WHERE x.tenant_id = p.tenant_id AND x.programme_id = p.id AND x.user_id = $2))";

pub async fn list(tx: &TenantTx, viewer: Caller) -> Result<Vec<ProgrammeRow>> {
    Ok(ProgrammeRow::find_by_statement(statement(
        &format!(
            "{SELECT} WHERE p.tenant_id = $1 AND {VISIBLE} \
             ORDER BY (p.status = 'closed'), p.created_at DESC, p.id LIMIT 200"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            viewer.user.into(),
            viewer.manages.into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// A programme the viewer may see (404 else), locked for a change when `lock`.
pub async fn get(tx: &TenantTx, viewer: Caller, id: Uuid, lock: bool) -> Result<ProgrammeRow> {
    if lock {
        tx.execute_raw(statement(
            "SELECT 1 FROM mentoring_programmes WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            vec![tx.tenant_id().as_uuid().into(), id.into()],
        ))
        .await?;
    }
    ProgrammeRow::find_by_statement(statement(
        &format!("{SELECT} WHERE p.tenant_id = $1 AND p.id = $4 AND {VISIBLE}"),
        vec![
            tx.tenant_id().as_uuid().into(),
            viewer.user.into(),
            viewer.manages.into(),
            id.into(),
        ],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// A programme the viewer runs (403 for one they only see), locked for a change when `lock`.
pub async fn run_by(tx: &TenantTx, viewer: Caller, id: Uuid, lock: bool) -> Result<ProgrammeRow> {
    let programme = get(tx, viewer, id, lock).await?;
    if programme.is_run_by(viewer) {
        Ok(programme)
    } else {
        Err(ApiError::forbidden(
            "not_programme_owner",
            "only the programme's owner or HR runs it",
        ))
    }
}

/// An open programme, or 409.
pub fn ensure_open(programme: &ProgrammeRow) -> Result<()> {
    if programme.status == "open" {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "programme_not_open",
            format!(
                "this programme is {}: its cohort no longer changes",
                programme.status
            ),
        ))
    }
}

/// What HR gives a programme; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProgrammeInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The owner (an active member).
    pub owner_id: Option<Uuid>,
    /// Only `closed`, to end it.
    pub status: Option<String>,
}

async fn check_owner(tx: &TenantTx, owner: Uuid, errors: &mut Vec<FieldError>) -> Result<()> {
    let active = count(
        tx,
        "SELECT count(*) AS n FROM users WHERE tenant_id = $1 AND id = $2 AND status = 'active'",
        vec![tx.tenant_id().as_uuid().into(), owner.into()],
    )
    .await?;
    if active == 0 {
        errors.push(FieldError::new(
            "owner_id",
            "must be an active member of this organization",
        ));
    }
    Ok(())
}

/// A name that another of the organization's already has.
fn name_taken(err: sea_orm::DbErr) -> ApiError {
    ApiError::unique(
        "programme_exists",
        "a programme of this name exists already",
    )(err)
}

pub async fn create(
    tx: &TenantTx,
    ctx: &AuditCtx,
    viewer: Caller,
    input: ProgrammeInput,
) -> Result<ProgrammeRow> {
    let mut errors = Vec::new();
    let name = validate::label("name", input.name.as_deref().unwrap_or(""), 200)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let description = validate::prose(
        "description",
        input.description.as_deref().unwrap_or(""),
        5000,
    )
    .map_err(|e| errors.push(e))
    .unwrap_or_default();
    let owner = input.owner_id.unwrap_or(viewer.user);
    check_owner(tx, owner, &mut errors).await?;
    if input.status.as_deref().is_some_and(|s| s != "open") {
        errors.push(FieldError::new("status", "a new programme is open"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO mentoring_programmes (tenant_id, id, name, description, owner_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            name.clone().into(),
            description.into(),
            owner.into(),
            ctx.now.into(),
        ],
    ))
    .await
    .map_err(name_taken)?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("programme.created")
            .target("programme", id, Some(name.as_str()))
            .metadata(json!({ "owner_id": owner })),
    )
    .await?;
    get(tx, viewer, id, false).await
}

/// Renames, re-describes, hands over or closes a programme (the caller runs it).
pub async fn update(
    tx: &TenantTx,
    ctx: &AuditCtx,
    viewer: Caller,
    id: Uuid,
    input: ProgrammeInput,
) -> Result<ProgrammeRow> {
    let current = run_by(tx, viewer, id, true).await?;
    let mut errors = Vec::new();
    let name = match input.name.as_deref() {
        Some(raw) => validate::label("name", raw, 200)
            .map_err(|e| errors.push(e))
            .unwrap_or_default(),
        None => current.name.clone(),
    };
    let description = match input.description.as_deref() {
        Some(raw) => validate::prose("description", raw, 5000)
            .map_err(|e| errors.push(e))
            .unwrap_or_default(),
        None => current.description.clone(),
    };
    if let Some(owner) = input.owner_id {
        check_owner(tx, owner, &mut errors).await?;
    }
    let closing = match input.status.as_deref() {
        None => false,
        Some("closed") => current.status != "closed",
        Some(_) => {
            errors.push(FieldError::new(
                "status",
                "may only become closed (matching and publishing move it otherwise)",
            ));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if current.status == "closed" && (input.name.is_some() || input.description.is_some()) {
        return Err(ApiError::conflict(
            "programme_closed",
            "a closed programme is kept as it ended",
        ));
    }
    let owner = input.owner_id.or(current.owner_id);
    tx.execute_raw(statement(
        "UPDATE mentoring_programmes SET name = $3, description = $4, owner_id = $5, updated_at = $6, \
         status = CASE WHEN $7 THEN 'closed' ELSE status END, \
         closed_at = CASE WHEN $7 THEN $6 ELSE closed_at END WHERE tenant_id = $1 AND id = $2",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            name.clone().into(),
            description.into(),
            owner.into(),
            ctx.now.into(),
            closing.into(),
        ],
    ))
    .await
    .map_err(name_taken)?;
    let mut changed = Vec::new();
    if name != current.name {
        changed.push("name");
    }
    if input.description.is_some() {
        changed.push("description");
    }
    if owner != current.owner_id {
        changed.push("owner_id");
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if closing {
            "programme.closed"
        } else {
            "programme.updated"
        })
        .target("programme", id, Some(name.as_str()))
        .metadata(json!({
            "changed": changed,
            "owner": { "before": current.owner_id, "after": owner },
            "status": { "before": current.status, "after": if closing { "closed" } else { current.status.as_str() } },
        })),
    )
    .await?;
    get(tx, viewer, id, false).await
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct ParticipantRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub places: Option<i16>,
    pub goals: String,
    pub languages: Vec<String>,
    pub timezone: Option<String>,
    pub joined_at: DateTime<FixedOffset>,
    /// An active member (a deactivated one is matched with nobody).
    pub active: bool,
}

const PARTICIPANTS: &str = "SELECT x.user_id, \
     CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS display_name, u.email, \
     x.role, x.places, x.goals, x.languages, x.timezone, x.joined_at, u.status = 'active' AS active \
     FROM programme_participants x JOIN users u ON u.tenant_id = x.tenant_id AND u.id = x.user_id";

/// The cohort, mentees first, then mentors, each by name.
pub async fn participants(tx: &TenantTx, programme: Uuid) -> Result<Vec<ParticipantRow>> {
    Ok(ParticipantRow::find_by_statement(statement(
        &format!(
            "{PARTICIPANTS} WHERE x.tenant_id = $1 AND x.programme_id = $2 \
             ORDER BY x.role, lower(u.display_name), u.email"
        ),
        vec![tx.tenant_id().as_uuid().into(), programme.into()],
    ))
    .all(tx)
    .await?)
}

/// The caller's participation (404 when they have not joined).
pub async fn participation(tx: &TenantTx, programme: Uuid, user: Uuid) -> Result<ParticipantRow> {
    ParticipantRow::find_by_statement(statement(
        &format!(
            "{PARTICIPANTS} WHERE x.tenant_id = $1 AND x.programme_id = $2 AND x.user_id = $3"
        ),
        vec![
            tx.tenant_id().as_uuid().into(),
            programme.into(),
            user.into(),
        ],
    ))
    .one(tx)
    .await?
    .ok_or_else(ApiError::not_found)
}

/// How a member joins: as a mentor with places, or as a mentee with goals, languages and time zone.
#[derive(Debug, Clone)]
pub struct JoinInput {
    pub role: String,
    pub places: Option<i64>,
    pub goals: String,
    pub languages: Vec<String>,
    pub timezone: Option<String>,
}

struct Joining {
    places: Option<i16>,
    goals: String,
    languages: Vec<String>,
    timezone: Option<String>,
}

async fn check_join(tx: &TenantTx, user: Uuid, input: &JoinInput) -> Result<Joining> {
    let mut errors = Vec::new();
    let mentor = match input.role.as_str() {
        "mentor" => true,
        "mentee" => false,
        _ => {
            return Err(ApiError::validation("role", "must be mentor or mentee"));
        }
    };
    let goals = validate::prose("goals", &input.goals, 2000)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let mut languages = std::collections::BTreeSet::new();
    for (i, raw) in input.languages.iter().enumerate() {
        match mentors::language(&format!("languages[{i}]"), raw) {
            Ok(lang) => {
                languages.insert(lang);
            }
            Err(e) => errors.push(e),
        }
    }
    if languages.len() > 10 {
        errors.push(FieldError::new("languages", "must list at most 10"));
    }
    if let Some(zone) = input.timezone.as_deref()
        && let Err(e) = validate::time_zone("timezone", zone)
    {
        errors.push(e);
    }
    let mut places = None;
    if mentor {
        for (field, given) in [
            ("goals", !input.goals.trim().is_empty()),
            ("languages", !input.languages.is_empty()),
            ("timezone", input.timezone.is_some()),
        ] {
            if given {
                errors.push(FieldError::new(
                    field,
                    "is a mentee's: a mentor's come from their mentor profile",
                ));
            }
        }
        let wanted = input.places.unwrap_or(1);
        match mentors::get(tx, user).await {
            Ok(profile) if profile.row.active => {
                if !(1..=MAX_PLACES.min(i64::from(profile.row.mentee_limit))).contains(&wanted) {
                    errors.push(FieldError::new(
                        "places",
                        format!(
                            "must be between 1 and {} (your mentor profile takes {} mentees at once)",
                            MAX_PLACES.min(i64::from(profile.row.mentee_limit)),
                            profile.row.mentee_limit
                        ),
                    ));
                }
            }
            Ok(_) => {
                return Err(ApiError::conflict(
                    "mentor_profile_paused",
                    "your mentor profile is paused: make it active to mentor in a programme",
                ));
            }
            Err(ApiError::NotFound { .. }) => {
                return Err(ApiError::conflict(
                    "mentor_profile_needed",
                    "create your mentor profile first (PUT /api/v1/network/mentors/me)",
                ));
            }
            Err(other) => return Err(other),
        }
        places = Some(wanted as i16);
    } else if input.places.is_some() {
        errors.push(FieldError::new("places", "is a mentor's"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Joining {
        places,
        goals,
        languages: languages.into_iter().collect(),
        timezone: input.timezone.clone(),
    })
}

/// The caller joins an open programme, or changes how they take part (a change of role drops the
/// draft matches they were in).
pub async fn join(
    tx: &TenantTx,
    ctx: &AuditCtx,
    viewer: Caller,
    programme_id: Uuid,
    input: JoinInput,
) -> Result<ParticipantRow> {
    // Locked: joins are counted against the limit one at a time, and a run or a publication waits.
    let programme = get(tx, viewer, programme_id, true).await?;
    ensure_open(&programme)?;
    let joining = check_join(tx, viewer.user, &input).await?;
    let before = participation(tx, programme_id, viewer.user).await.ok();
    if before.is_none() && programme.mentors + programme.mentees >= MAX_PARTICIPANTS {
        return Err(ApiError::conflict(
            "programme_full",
            format!("a programme takes at most {MAX_PARTICIPANTS} people"),
        ));
    }
    if before.as_ref().is_some_and(|b| b.role != input.role) {
        tx.execute_raw(statement(
            "DELETE FROM programme_matches WHERE tenant_id = $1 AND programme_id = $2 \
             AND (mentee_id = $3 OR mentor_id = $3)",
            vec![
                tx.tenant_id().as_uuid().into(),
                programme_id.into(),
                viewer.user.into(),
            ],
        ))
        .await?;
    }
    tx.execute_raw(statement(
        "INSERT INTO programme_participants (tenant_id, programme_id, user_id, role, places, goals, \
         languages, timezone, joined_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, programme_id, user_id) DO UPDATE SET role = excluded.role, \
         places = excluded.places, goals = excluded.goals, languages = excluded.languages, \
         timezone = excluded.timezone",
        vec![
            tx.tenant_id().as_uuid().into(),
            programme_id.into(),
            viewer.user.into(),
            input.role.clone().into(),
            joining.places.into(),
            joining.goals.into(),
            joining.languages.into(),
            joining.timezone.into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if before.is_some() {
            "programme.participation_updated"
        } else {
            "programme.joined"
        })
        .target("programme", programme_id, Some(programme.name.as_str()))
        .metadata(json!({
            "user_id": viewer.user, "role": input.role, "places": joining.places,
            "role_before": before.map(|b| b.role),
        })),
    )
    .await?;
    participation(tx, programme_id, viewer.user).await
}

/// The caller leaves an open programme (their draft matches go with them).
pub async fn leave(
    tx: &TenantTx,
    ctx: &AuditCtx,
    viewer: Caller,
    programme_id: Uuid,
) -> Result<()> {
    let programme = get(tx, viewer, programme_id, true).await?;
    ensure_open(&programme)?;
    let before = participation(tx, programme_id, viewer.user).await?;
    tx.execute_raw(statement(
        "DELETE FROM programme_participants WHERE tenant_id = $1 AND programme_id = $2 AND user_id = $3",
        vec![
            tx.tenant_id().as_uuid().into(),
            programme_id.into(),
            viewer.user.into(),
        ],
    ))
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("programme.left")
            .target("programme", programme_id, Some(programme.name.as_str()))
            .metadata(json!({ "user_id": viewer.user, "role": before.role })),
    )
    .await?;
    Ok(())
}
