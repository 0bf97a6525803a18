//! Next-role suggestions: from the member's current role, the roles the organization lists as typical
//! next steps and the roles colleagues actually moved on to (counted from position history; a count
//! below the minimum group size is never shown, and a role only such a count suggests is left out),
//! ranked by the member's readiness.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::{
    Result,
    pathways::{self, RoleRow},
    readiness::Readiness,
};
use crate::tenancy::TenantTx;

/// Why a role is suggested.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub role_id: Uuid,
    /// The organization lists it as a typical next step from the current role.
    pub listed: bool,
    /// Colleagues who moved here from the current role; `None` when fewer than the minimum group size.
    pub moved: Option<i64>,
}

/// The candidates: every listed role, and every role at least `k` colleagues moved to. A move count
/// below `k` is hidden (and alone suggests nothing): it could single out the colleagues behind it.
pub fn candidates(listed: &BTreeSet<Uuid>, moves: &BTreeMap<Uuid, i64>, k: i64) -> Vec<Candidate> {
    let roles: BTreeSet<Uuid> = listed
        .iter()
        .copied()
        .chain(moves.iter().filter(|(_, n)| **n >= k).map(|(id, _)| *id))
        .collect();
    roles
        .into_iter()
        .map(|role_id| Candidate {
            role_id,
            listed: listed.contains(&role_id),
            moved: moves.get(&role_id).copied().filter(|n| *n >= k),
        })
        .collect()
}

/// A suggested role with the member's readiness for it.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub role: RoleRow,
    pub candidate: Candidate,
    pub readiness: Readiness,
    /// Why, in words.
    pub why: String,
}

/// Most ready first; then listed next steps, then more colleagues moved, then the lower level, then
/// by title.
pub fn rank(suggestions: &mut [Suggestion]) {
    suggestions.sort_by(|a, b| {
        b.readiness
            .score
            .cmp(&a.readiness.score)
            .then(b.candidate.listed.cmp(&a.candidate.listed))
            .then(b.candidate.moved.cmp(&a.candidate.moved))
            .then(a.role.level.cmp(&b.role.level))
            .then(
                a.role
                    .title
                    .to_lowercase()
                    .cmp(&b.role.title.to_lowercase()),
            )
    });
}

fn why(current: &str, candidate: &Candidate, readiness: &Readiness) -> String {
    let mut reasons = Vec::new();
    if candidate.listed {
        reasons.push(format!("a typical next step from {current}"));
    }
    if let Some(n) = candidate.moved {
        reasons.push(format!("{n} colleagues moved here from {current}"));
    }
    reasons.push(format!("you are {}% ready", readiness.score));
    reasons.join("; ")
}

#[derive(Debug, FromQueryResult)]
struct MoveRow {
    role_id: Uuid,
    moved: i64,
}

/// Colleagues (other than `user`) who held `from` and whose next position was another active role,
/// counted per role.
async fn moves(tx: &TenantTx, from: Uuid, user: Uuid) -> Result<BTreeMap<Uuid, i64>> {
    let rows = MoveRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH held AS (SELECT DISTINCT user_id FROM career_positions \
                       WHERE tenant_id = $1 AND role_id = $2 AND ended_on IS NOT NULL AND user_id <> $3), \
              seq AS (SELECT p.user_id, p.role_id, p.ended_on, \
                             lead(p.role_id) OVER (PARTITION BY p.user_id ORDER BY p.started_on, p.id) AS next_role \
                      FROM career_positions p JOIN held h ON h.user_id = p.user_id WHERE p.tenant_id = $1) \
         SELECT s.next_role AS role_id, count(DISTINCT s.user_id) AS moved FROM seq s \
         JOIN career_roles r ON r.tenant_id = $1 AND r.id = s.next_role AND r.status = 'active' \
         WHERE s.role_id = $2 AND s.ended_on IS NOT NULL AND s.next_role <> $2 GROUP BY s.next_role",
        vec![tx.tenant_id().as_uuid().into(), from.into(), user.into()],
    ))
    .all(tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.role_id, r.moved)).collect())
}

/// The member's suggested next roles from `current` (their role now), most ready first, each with the
/// readiness for it (gaps with the courses that teach them).
pub async fn next_roles(
    tx: &TenantTx,
    user: Uuid,
    current: &RoleRow,
    levels: &BTreeMap<Uuid, f64>,
    k: i64,
) -> Result<Vec<Suggestion>> {
    let listed: BTreeSet<Uuid> = pathways::next_roles(tx, current.id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let moves = moves(tx, current.id, user).await?;
    let mut out = Vec::new();
    for candidate in candidates(&listed, &moves, k) {
        let role = pathways::role(tx, candidate.role_id).await?;
        if role.status != "active" {
            continue;
        }
        let readiness = pathways::readiness_for(tx, role.id, levels).await?;
        out.push(Suggestion {
            why: why(&current.title, &candidate, &readiness),
            role,
            candidate,
            readiness,
        });
    }
    rank(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_below_k_are_hidden_and_alone_suggest_nothing() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let listed = BTreeSet::from([a]);
        let moves = BTreeMap::from([(a, 2), (b, 5), (c, 4)]);
        let found = candidates(&listed, &moves, 5);
        assert_eq!(
            found,
            vec![
                Candidate {
                    role_id: a,
                    listed: true,
                    moved: None
                },
                Candidate {
                    role_id: b,
                    listed: false,
                    moved: Some(5)
                },
            ]
        );
    }
}
