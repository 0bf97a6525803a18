//! Skill profiles: the skills on a member's profile, "want to develop", and every rating given (by the
//! member, their manager, a peer, or an assessment recorded by HR). Who may see and rate whom comes from
//! the reporting line and the `career:*` permissions, never from the role name alone.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

use super::{
    CareerError, Checks, Result, level, prose,
    readiness::{self, Decay, EffectiveLevel, Rating, Source},
    taxonomy,
};
use crate::{
    audit::{self, AuditCtx, AuditEvent},
    auth::Authenticated,
    authz::{Act, Authz, Obj},
    db::sql::statement,
    tenancy::TenantTx,
};

/// A member, as the career views name them.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MemberRef {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub manager_id: Option<Uuid>,
    pub status: String,
    pub department: Option<String>,
    pub title: Option<String>,
}

pub async fn member(tx: &TenantTx, id: Uuid) -> Result<MemberRef> {
    MemberRef::find_by_statement(statement(
        "SELECT id, email, display_name, manager_id, status, department, title FROM users \
         WHERE tenant_id = $1 AND id = $2",
        vec![tx.tenant_id().as_uuid().into(), id.into()],
    ))
    .one(tx)
    .await?
    .ok_or(CareerError::NotFound)
}

/// The member's direct reports who are active, by name.
pub async fn direct_reports(tx: &TenantTx, manager: Uuid) -> Result<Vec<MemberRef>> {
    Ok(MemberRef::find_by_statement(statement(
        "SELECT id, email, display_name, manager_id, status, department, title FROM users \
         WHERE tenant_id = $1 AND manager_id = $2 AND status = 'active' \
         ORDER BY lower(display_name), email LIMIT 500",
        vec![tx.tenant_id().as_uuid().into(), manager.into()],
    ))
    .all(tx)
    .await?)
}

/// Whether any active member reports to `manager`.
pub async fn has_reports(tx: &TenantTx, manager: Uuid) -> Result<bool> {
    #[derive(FromQueryResult)]
    struct Found {
        found: bool,
    }
    Ok(Found::find_by_statement(statement(
        "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND manager_id = $2 \
         AND status = 'active') AS found",
        vec![tx.tenant_id().as_uuid().into(), manager.into()],
    ))
    .one(tx)
    .await?
    .is_some_and(|f| f.found))
}

/// Why the caller may see a member's career profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Own,
    /// The member's direct manager (`users.manager_id`).
    Manager,
    /// Holds `career:read` (HR, admins).
    Reader,
}

/// The member and the caller's relation to them: the member themself, their manager, or a holder of
/// `career:read`; anyone else is refused (403 `not_your_report`), an unknown member is 404.
pub async fn relation(
    tx: &TenantTx,
    authz: &Authz,
    auth: &Authenticated,
    subject: Uuid,
) -> Result<(MemberRef, Relation)> {
    match relation_if_any(tx, authz, auth, subject).await? {
        (member, Some(relation)) => Ok((member, relation)),
        (_, None) => Err(CareerError::not_allowed(
            "not_your_report",
            "a member's career profile is seen by the member, their manager and those with career:read",
        )),
    }
}

/// The member and the caller's relation to them, `None` for anyone else (who may still see what the
/// member shares with the organization); an unknown member is 404.
pub async fn relation_if_any(
    tx: &TenantTx,
    authz: &Authz,
    auth: &Authenticated,
    subject: Uuid,
) -> Result<(MemberRef, Option<Relation>)> {
    let member = member(tx, subject).await?;
    let caller = auth.principal.user_id().map(|u| u.as_uuid());
    let relation = if caller == Some(member.id) {
        Some(Relation::Own)
    } else if caller.is_some() && member.manager_id == caller {
        Some(Relation::Manager)
    } else if authz.require(auth, Obj::Career, Act::Read).await.is_ok() {
        Some(Relation::Reader)
    } else {
        None
    };
    Ok((member, relation))
}

#[derive(Debug, Clone, FromQueryResult)]
struct EntryRow {
    user_id: Uuid,
    skill_id: Uuid,
    name: String,
    kind: String,
    status: String,
    want_to_develop: bool,
    added_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, FromQueryResult)]
struct RatingRow {
    user_id: Uuid,
    skill_id: Uuid,
    level: i16,
    source: String,
    rater_id: Option<Uuid>,
    rated_at: DateTime<FixedOffset>,
    note: String,
}

/// One skill on a profile.
#[derive(Debug, Clone)]
pub struct ProfileSkill {
    pub skill_id: Uuid,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub want_to_develop: bool,
    pub added_at: DateTime<FixedOffset>,
    pub effective: EffectiveLevel,
}

/// A member's profile, by skill name.
pub async fn skills(tx: &TenantTx, user: Uuid, now: DateTime<Utc>) -> Result<Vec<ProfileSkill>> {
    Ok(skills_of(tx, &[user], now)
        .await?
        .remove(&user)
        .unwrap_or_default())
}

/// The profiles of `users`, each by skill name, in two statements whatever their number.
pub async fn skills_of(
    tx: &TenantTx,
    users: &[Uuid],
    now: DateTime<Utc>,
) -> Result<BTreeMap<Uuid, Vec<ProfileSkill>>> {
    let mut by_user: BTreeMap<Uuid, Vec<ProfileSkill>> = BTreeMap::new();
    if users.is_empty() {
        return Ok(by_user);
    }
    let values = || vec![tx.tenant_id().as_uuid().into(), users.to_vec().into()];
    let entries = EntryRow::find_by_statement(statement(
        "SELECT p.user_id, p.skill_id, s.name, s.kind, s.status, p.want_to_develop, p.added_at \
         FROM skill_profile p JOIN skills s ON s.tenant_id = p.tenant_id AND s.id = p.skill_id \
         WHERE p.tenant_id = $1 AND p.user_id = ANY($2) ORDER BY lower(s.name), s.id",
        values(),
    ))
    .all(tx)
    .await?;
    let rows = RatingRow::find_by_statement(statement(
        "SELECT user_id, skill_id, level, source, rater_id, rated_at, note FROM skill_ratings \
         WHERE tenant_id = $1 AND user_id = ANY($2) ORDER BY rated_at, id",
        values(),
    ))
    .all(tx)
    .await?;
    let mut ratings: BTreeMap<(Uuid, Uuid), Vec<Rating>> = BTreeMap::new();
    for row in rows {
        let Some(source) = Source::parse(&row.source) else {
            continue;
        };
        ratings
            .entry((row.user_id, row.skill_id))
            .or_default()
            .push(Rating {
                level: u8::try_from(row.level).unwrap_or(0),
                source,
                rater: row.rater_id,
                rated_at: row.rated_at.with_timezone(&Utc),
                note: row.note,
            });
    }
    for entry in entries {
        let effective = readiness::effective_level(
            ratings
                .get(&(entry.user_id, entry.skill_id))
                .map_or(&[][..], Vec::as_slice),
            now,
            Decay::default(),
        );
        by_user
            .entry(entry.user_id)
            .or_default()
            .push(ProfileSkill {
                skill_id: entry.skill_id,
                name: entry.name,
                kind: entry.kind,
                status: entry.status,
                want_to_develop: entry.want_to_develop,
                added_at: entry.added_at,
                effective,
            });
    }
    Ok(by_user)
}

/// Effective level by skill, for readiness.
pub fn levels(skills: &[ProfileSkill]) -> BTreeMap<Uuid, f64> {
    skills
        .iter()
        .map(|s| (s.skill_id, s.effective.level))
        .collect()
}

/// Puts the skill on the profile if it is not there yet; true when it was added.
async fn ensure_entry(tx: &TenantTx, user: Uuid, skill: Uuid, now: DateTime<Utc>) -> Result<bool> {
    Ok(tx
        .execute_raw(statement(
            "INSERT INTO skill_profile (tenant_id, user_id, skill_id, added_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                skill.into(),
                now.into(),
            ],
        ))
        .await?
        .rows_affected()
        == 1)
}

async fn insert_rating(
    tx: &TenantTx,
    ctx: &AuditCtx,
    subject: Uuid,
    skill: Uuid,
    rating: &NewRating,
    rater: Option<Uuid>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    tx.execute_raw(statement(
        "INSERT INTO skill_ratings (tenant_id, id, user_id, skill_id, level, source, rater_id, note, rated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            tx.tenant_id().as_uuid().into(),
            id.into(),
            subject.into(),
            skill.into(),
            rating.level.into(),
            rating.source.as_str().into(),
            rater.into(),
            rating.note.clone().into(),
            ctx.now.into(),
        ],
    ))
    .await?;
    Ok(id)
}

/// A validated rating.
pub struct NewRating {
    pub level: i16,
    pub source: Source,
    pub note: String,
}

impl NewRating {
    pub fn parse(level_raw: i64, source: Source, note: &str) -> Result<NewRating> {
        let mut checks = Checks::default();
        let level = checks.take(level("level", level_raw));
        let note = checks.take(prose("note", note, 1000));
        checks.done()?;
        match (level, note) {
            (Some(level), Some(note)) => Ok(NewRating {
                level,
                source,
                note,
            }),
            _ => Err(CareerError::invalid("level", "must be between 1 and 5")),
        }
    }
}

/// The member's own change to one skill: a self rating and/or "want to develop".
pub struct OwnChange {
    pub rating: Option<NewRating>,
    pub want_to_develop: Option<bool>,
}

pub async fn set_own_skill(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    skill_id: Uuid,
    change: OwnChange,
) -> Result<()> {
    // The skill named by the path: unknown here (or another organization's) is 404.
    let skill = taxonomy::skill(tx, skill_id).await?;
    let added = if entry_exists(tx, user, skill_id).await? {
        false
    } else {
        taxonomy::active_skill(tx, "skill_id", skill_id).await?;
        ensure_entry(tx, user, skill_id, ctx.now).await?
    };
    if change.rating.is_some() && skill.status != "active" {
        return Err(CareerError::invalid(
            "level",
            "the skill is no longer active: it can no longer be rated",
        ));
    }
    let mut after = serde_json::Map::new();
    if let Some(want) = change.want_to_develop {
        tx.execute_raw(statement(
            "UPDATE skill_profile SET want_to_develop = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND user_id = $2 AND skill_id = $3",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                skill_id.into(),
                want.into(),
                ctx.now.into(),
            ],
        ))
        .await?;
        after.insert("want_to_develop".into(), json!(want));
    }
    if let Some(rating) = &change.rating {
        insert_rating(tx, ctx, user, skill_id, rating, Some(user)).await?;
        after.insert("level".into(), json!(rating.level));
        after.insert("source".into(), json!(rating.source.as_str()));
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new(if added {
            "skill_profile.added"
        } else {
            "skill_profile.updated"
        })
        .target("user", user, None)
        .metadata(json!({ "skill": { "id": skill_id, "name": skill.name }, "after": after })),
    )
    .await?;
    Ok(())
}

/// Evidence of a skill (a finished course): a self rating at `level`, when the member's latest self
/// rating is lower or missing and the skill is active. Returns the level it supersedes (0: none) when
/// it added one.
pub(super) async fn raise_self_rating(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    skill_id: Uuid,
    level: i16,
    note: &str,
) -> Result<Option<i16>> {
    if taxonomy::skill(tx, skill_id).await?.status != "active" {
        return Ok(None);
    }
    let current = tx
        .query_one_raw(statement(
            "SELECT level FROM skill_ratings WHERE tenant_id = $1 AND user_id = $2 AND skill_id = $3 \
             AND source = 'self' ORDER BY rated_at DESC, id DESC LIMIT 1",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                skill_id.into(),
            ],
        ))
        .await?
        .map(|row| row.try_get::<i16>("", "level"))
        .transpose()?
        .unwrap_or(0);
    if current >= level {
        return Ok(None);
    }
    ensure_entry(tx, user, skill_id, ctx.now).await?;
    let rating = NewRating {
        level,
        source: Source::SelfRated,
        note: note.chars().take(1000).collect(),
    };
    insert_rating(tx, ctx, user, skill_id, &rating, Some(user)).await?;
    Ok(Some(current))
}

async fn entry_exists(tx: &TenantTx, user: Uuid, skill: Uuid) -> Result<bool> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT 1 AS found FROM skill_profile WHERE tenant_id = $1 AND user_id = $2 AND skill_id = $3",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                skill.into(),
            ],
        ))
        .await?
        .is_some())
}

/// Takes a skill off the member's own profile, with every rating of it.
pub async fn remove_own_skill(
    tx: &TenantTx,
    ctx: &AuditCtx,
    user: Uuid,
    skill_id: Uuid,
) -> Result<()> {
    let ratings = crate::db::sql::count(tx, "SELECT count(*) AS n FROM skill_ratings WHERE tenant_id = $1 AND user_id = $2 AND skill_id = $3", vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                skill_id.into(),
            ]).await?;
    let removed = tx
        .execute_raw(statement(
            "DELETE FROM skill_profile WHERE tenant_id = $1 AND user_id = $2 AND skill_id = $3",
            vec![
                tx.tenant_id().as_uuid().into(),
                user.into(),
                skill_id.into(),
            ],
        ))
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(CareerError::NotFound);
    }
    audit::record(
        tx,
        ctx,
        AuditEvent::new("skill_profile.removed")
            .target("user", user, None)
            .metadata(json!({ "skill": { "id": skill_id }, "ratings_removed": ratings })),
    )
    .await?;
    Ok(())
}

/// Someone else's rating of a member: `manager` by their direct manager, `assessment` by a holder of
/// `career:manage` (an assessment's result, recorded by HR), `peer` by any other member. A self rating
/// goes through the member's own profile.
pub async fn rate(
    authz: &Authz,
    auth: &Authenticated,
    subject: &MemberRef,
    skill_id: Uuid,
    rating: NewRating,
) -> Result<Uuid> {
    let (tx, ctx) = (&auth.tx, &auth.ctx);
    let rater = auth.principal.user_id().map(|u| u.as_uuid());
    match rating.source {
        Source::SelfRated => {
            return Err(CareerError::invalid(
                "source",
                "a self rating is made on your own profile (PUT /api/v1/career/me/skills/{skill_id})",
            ));
        }
        Source::Manager if subject.manager_id.is_none() || subject.manager_id != rater => {
            return Err(CareerError::not_allowed(
                "not_your_report",
                "only the member's manager gives manager ratings",
            ));
        }
        Source::Peer if rater.is_none() || rater == Some(subject.id) => {
            return Err(CareerError::not_allowed(
                "not_a_peer",
                "a peer rating is given by another member",
            ));
        }
        Source::Assessment => authz.require(auth, Obj::Career, Act::Manage).await?,
        Source::Manager | Source::Peer => {}
    }
    if subject.status != "active" {
        return Err(CareerError::conflict(
            "member_inactive",
            "the member is not active",
        ));
    }
    let skill = if entry_exists(tx, subject.id, skill_id).await? {
        taxonomy::skill(tx, skill_id).await?
    } else {
        taxonomy::active_skill(tx, "skill_id", skill_id).await?
    };
    if skill.status != "active" {
        return Err(CareerError::invalid(
            "skill_id",
            "the skill is no longer active: it can no longer be rated",
        ));
    }
    ensure_entry(tx, subject.id, skill_id, ctx.now).await?;
    let id = insert_rating(tx, ctx, subject.id, skill_id, &rating, rater).await?;
    audit::record(
        tx,
        ctx,
        AuditEvent::new("skill_profile.rated")
            .target("user", subject.id, Some(&subject.email))
            .metadata(json!({
                "skill": { "id": skill_id, "name": skill.name },
                "after": { "level": rating.level, "source": rating.source.as_str() },
            })),
    )
    .await?;
    Ok(id)
}
