//! The HR skill heat-map: for each department, how many active members hold each skill, how many at a
//! proficient level, and their average effective level — with k-anonymity (`usage.min_group_size`,
//! as in usage analytics): no figure describes fewer than `k` people.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{FromQueryResult, Value};
use uuid::Uuid;

use super::{
    CareerError, Result,
    readiness::{self, Decay, Rating, Source},
};
use crate::{
    anonymity::{self, publishable},
    db::sql::statement,
    tenancy::TenantTx,
};

/// An effective level at least this counts as proficient.
pub const PROFICIENT: f64 = 3.0;
/// Skills (columns) per heat-map, at most.
pub const MAX_SKILLS: u64 = 50;
/// Members without a department form this group.
pub const NO_DEPARTMENT: &str = "(no department)";

/// A column: a skill, and how many active career roles require it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct SkillColumn {
    pub id: Uuid,
    pub name: String,
    pub required_by_roles: i64,
}

/// Which skills to show: those of a group (a specialization, or every specialization of an area) by
/// name, or else the ones most required by active roles, then most held.
pub async fn columns(
    tx: &TenantTx,
    group_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<SkillColumn>> {
    if !(1..=MAX_SKILLS).contains(&limit) {
        return Err(CareerError::invalid(
            "limit",
            format!("must be between 1 and {MAX_SKILLS}"),
        ));
    }
    let required = "(SELECT count(*) FROM role_requirements rr JOIN career_roles r \
         ON r.tenant_id = rr.tenant_id AND r.id = rr.role_id AND r.status = 'active' \
         WHERE rr.tenant_id = s.tenant_id AND rr.skill_id = s.id)";
    let rows = match group_id {
        Some(group) => {
            SkillColumn::find_by_statement(statement(
                &format!(
                    "SELECT s.id, s.name, {required} AS required_by_roles FROM skills s \
                 JOIN skill_groups g ON g.tenant_id = s.tenant_id AND g.id = s.group_id \
                 WHERE s.tenant_id = $1 AND s.status = 'active' AND (g.id = $2 OR g.parent_id = $2) \
                 ORDER BY lower(s.name), s.id LIMIT {limit}"
                ),
                vec![tx.tenant_id().as_uuid().into(), group.into()],
            ))
            .all(tx)
            .await?
        }
        None => {
            SkillColumn::find_by_statement(statement(
                &format!(
                    "SELECT s.id, s.name, {required} AS required_by_roles FROM skills s \
                 WHERE s.tenant_id = $1 AND s.status = 'active' \
                 ORDER BY 3 DESC, (SELECT count(*) FROM skill_profile p WHERE p.tenant_id = s.tenant_id \
                   AND p.skill_id = s.id) DESC, lower(s.name), s.id LIMIT {limit}"
                ),
                vec![tx.tenant_id().as_uuid().into()],
            ))
            .all(tx)
            .await?
        }
    };
    Ok(rows)
}

/// One department's figures for one skill; `None` where withheld.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub skill_id: Uuid,
    /// Members with an effective level of at least 1.
    pub holders: Option<i64>,
    /// Holders at [`PROFICIENT`] or above.
    pub proficient: Option<i64>,
    /// The holders' average effective level, two decimals.
    pub average_level: Option<f64>,
    pub suppressed: bool,
}

/// A row: a department (`None`: the pool of departments too small to show alone).
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentRow {
    pub department: Option<String>,
    /// Active members; `None` when the row is withheld.
    pub members: Option<i64>,
    pub cells: Vec<Cell>,
    pub suppressed: bool,
}

/// The counts behind a row, before anonymity.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub department: Option<String>,
    pub members: i64,
    /// Per skill: holders, proficient holders, sum of the holders' levels.
    pub skills: BTreeMap<Uuid, (i64, i64, f64)>,
}

impl Tally {
    fn absorb(&mut self, other: Tally) {
        self.department = None;
        self.members += other.members;
        for (skill, (h, p, sum)) in other.skills {
            let entry = self.skills.entry(skill).or_default();
            entry.0 += h;
            entry.1 += p;
            entry.2 += sum;
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Applies k-anonymity to the tallies: departments smaller than `k` are pooled (see
/// [`anonymity::pool`]); in a shown row, a cell is shown when its holders and the other members are
/// each none or at least `k`, and its proficient count when the proficient and the other holders are.
pub fn publish(tallies: Vec<Tally>, columns: &[Uuid], k: i64) -> Vec<DepartmentRow> {
    let pooled = anonymity::pool(
        tallies,
        Tally::default(),
        |t| t.members >= k,
        |t| t.members,
        Tally::absorb,
    );
    let row = |tally: Tally, shown: bool| {
        let cells = columns
            .iter()
            .map(|skill| {
                let (holders, proficient, sum) =
                    tally.skills.get(skill).copied().unwrap_or((0, 0, 0.0));
                let ok = shown && publishable(tally.members, holders, k);
                Cell {
                    skill_id: *skill,
                    holders: ok.then_some(holders),
                    proficient: (ok && (holders == 0 || publishable(holders, proficient, k)))
                        .then_some(proficient),
                    average_level: (ok && holders > 0).then(|| round2(sum / holders as f64)),
                    suppressed: !ok,
                }
            })
            .collect();
        DepartmentRow {
            department: tally.department,
            members: shown.then_some(tally.members),
            cells,
            suppressed: !shown,
        }
    };
    let mut rows: Vec<DepartmentRow> = pooled.shown.into_iter().map(|t| row(t, true)).collect();
    if let Some((pool, ok)) = pooled.pool {
        rows.push(row(pool, ok));
    }
    rows
}

#[derive(Debug, FromQueryResult)]
struct HeadcountRow {
    department: String,
    members: i64,
}

#[derive(Debug, FromQueryResult)]
struct RatingRow {
    department: String,
    user_id: Uuid,
    skill_id: Uuid,
    level: i16,
    source: String,
    rater_id: Option<Uuid>,
    rated_at: DateTime<FixedOffset>,
}

/// The tallies per department for `skills`, from every rating of the organization's active members
/// (effective levels as on a profile, with decay, at `now`).
pub async fn tallies(tx: &TenantTx, skills: &[Uuid], now: DateTime<Utc>) -> Result<Vec<Tally>> {
    let tenant: Value = tx.tenant_id().as_uuid().into();
    let heads = HeadcountRow::find_by_statement(statement(
        &format!(
            "SELECT coalesce(department, '{NO_DEPARTMENT}') AS department, count(*) AS members \
             FROM users WHERE tenant_id = $1 AND status = 'active' GROUP BY 1 ORDER BY 1"
        ),
        vec![tenant.clone()],
    ))
    .all(tx)
    .await?;
    let ratings = RatingRow::find_by_statement(statement(
        &format!(
            "SELECT coalesce(u.department, '{NO_DEPARTMENT}') AS department, r.user_id, r.skill_id, \
             r.level, r.source, r.rater_id, r.rated_at FROM skill_ratings r \
             JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id AND u.status = 'active' \
             WHERE r.tenant_id = $1 AND r.skill_id = ANY($2) \
             ORDER BY r.user_id, r.skill_id, r.rated_at, r.id"
        ),
        vec![tenant, skills.to_vec().into()],
    ))
    .all(tx)
    .await?;
    let mut by_department: BTreeMap<String, Tally> = heads
        .into_iter()
        .map(|h| {
            (
                h.department.clone(),
                Tally {
                    department: Some(h.department),
                    members: h.members,
                    skills: BTreeMap::new(),
                },
            )
        })
        .collect();
    let mut count = |department: &str, skill: Uuid, list: &[Rating]| {
        let level = readiness::effective_level(list, now, Decay::default()).level;
        if level < 1.0 {
            return;
        }
        if let Some(tally) = by_department.get_mut(department) {
            let entry = tally.skills.entry(skill).or_default();
            entry.0 += 1;
            entry.1 += i64::from(level >= PROFICIENT);
            entry.2 += level;
        }
    };
    let mut current: Option<(Uuid, Uuid, String)> = None;
    let mut list: Vec<Rating> = Vec::new();
    for row in ratings {
        let key = (row.user_id, row.skill_id);
        if current.as_ref().map(|(u, s, _)| (*u, *s)) != Some(key) {
            if let Some((_, skill, department)) = current.take() {
                count(&department, skill, &list);
            }
            list.clear();
            current = Some((row.user_id, row.skill_id, row.department.clone()));
        }
        if let Some(source) = Source::parse(&row.source) {
            list.push(Rating {
                level: u8::try_from(row.level).unwrap_or(0),
                source,
                rater: row.rater_id,
                rated_at: row.rated_at.with_timezone(&Utc),
                note: String::new(),
            });
        }
    }
    if let Some((_, skill, department)) = current {
        count(&department, skill, &list);
    }
    Ok(by_department.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(name: &str, members: i64, skills: &[(Uuid, (i64, i64, f64))]) -> Tally {
        Tally {
            department: Some(name.into()),
            members,
            skills: skills.iter().copied().collect(),
        }
    }

    #[test]
    fn small_departments_are_pooled_and_cells_about_few_people_are_withheld() {
        let (rust, sql) = (Uuid::now_v7(), Uuid::now_v7());
        let rows = publish(
            vec![
                tally(
                    "Engineering",
                    12,
                    &[(rust, (6, 6, 21.0)), (sql, (2, 1, 5.0))],
                ),
                tally("Legal", 2, &[(rust, (1, 1, 4.0))]),
                tally("Sales", 4, &[]),
                tally("Support", 10, &[(sql, (10, 2, 25.0))]),
            ],
            &[rust, sql],
            5,
        );
        assert_eq!(rows.len(), 3);
        let engineering = &rows[0];
        assert_eq!(engineering.department.as_deref(), Some("Engineering"));
        assert_eq!(engineering.cells[0].holders, Some(6));
        assert_eq!(engineering.cells[0].proficient, Some(6));
        assert_eq!(engineering.cells[0].average_level, Some(3.5));
        // Two holders (and ten who are not): withheld.
        assert!(engineering.cells[1].suppressed);
        assert_eq!(engineering.cells[1].holders, None);
        let support = &rows[1];
        // Everyone holds it; the proficient two are too few to count.
        assert_eq!(support.cells[1].holders, Some(10));
        assert_eq!(support.cells[1].proficient, None);
        assert_eq!(support.cells[1].average_level, Some(2.5));
        // Legal (2) and Sales (4) together make six: shown as one row without a name.
        let pool = &rows[2];
        assert_eq!(pool.department, None);
        assert_eq!(pool.members, Some(6));
        assert!(pool.cells[0].suppressed, "one holder among six");
        assert_eq!(pool.cells[1].holders, Some(0));
        assert_eq!(pool.cells[1].proficient, Some(0));
        assert_eq!(pool.cells[1].average_level, None);
    }
}
