//! Which questions a mock interview asks (docs/interview.md, "How questions are chosen"), pure and
//! unit-tested: the ones that exercise the member's weakest dimensions, not asked recently, for the
//! target role's skills, spread over subcategories.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::analysis::{Dimension, QuestionKind};

/// A question that may be asked.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Uuid,
    pub kind: QuestionKind,
    pub subcategory: String,
    /// Asked to this member within the recent window (30 days).
    pub asked_recently: bool,
    /// Tagged with a skill the target role requires.
    pub for_target_role: bool,
}

/// The member's average score per dimension (0–100) over their recent answers; a dimension with no
/// answers yet counts as 50.
pub type Standing = BTreeMap<Dimension, f64>;

/// How much a question of `kind` exercises the member's weak dimensions, 0 to 1: the mean of
/// `(100 − standing) / 100` over the dimensions its kind scores, weighted as the analyzer weighs them.
pub fn need(kind: QuestionKind, standing: &Standing) -> f64 {
    let (mut sum, mut weights) = (0.0, 0.0);
    for dimension in Dimension::ALL {
        let weight = f64::from(kind.dimension_weight(dimension));
        if weight > 0.0 {
            let score = standing.get(&dimension).copied().unwrap_or(50.0);
            sum += weight * (100.0 - score) / 100.0;
            weights += weight;
        }
    }
    if weights > 0.0 { sum / weights } else { 0.0 }
}

/// A number from the seed and the id that orders equal candidates differently in each session.
fn shuffle(seed: u64, id: Uuid) -> u64 {
    let mut x = seed ^ (id.as_u128() as u64) ^ ((id.as_u128() >> 64) as u64);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// Picks `count` questions: not asked recently first (recent ones only when nothing else is left),
/// then for the target role, then by `need`, then in the session's own shuffled order; a subcategory
/// is used once while other subcategories remain.
pub fn select(candidates: &[Candidate], standing: &Standing, count: usize, seed: u64) -> Vec<Uuid> {
    let mut ranked: Vec<(&Candidate, f64, u64)> = candidates
        .iter()
        .map(|c| (c, need(c.kind, standing), shuffle(seed, c.id)))
        .collect();
    ranked.sort_by(|(a, need_a, shuffle_a), (b, need_b, shuffle_b)| {
        a.asked_recently
            .cmp(&b.asked_recently)
            .then(b.for_target_role.cmp(&a.for_target_role))
            .then(need_b.total_cmp(need_a))
            .then(shuffle_a.cmp(shuffle_b))
    });
    let mut picked = Vec::new();
    let mut subcategories = BTreeSet::new();
    // The questions not asked recently, then (only to reach the count) the recent ones; within each,
    // a first pass takes one per subcategory not used yet and a second fills up in the same order.
    for recent in [false, true] {
        let group: Vec<&Candidate> = ranked
            .iter()
            .map(|(c, _, _)| *c)
            .filter(|c| c.asked_recently == recent)
            .collect();
        for candidate in &group {
            if picked.len() < count && subcategories.insert(candidate.subcategory.to_lowercase()) {
                picked.push(candidate.id);
            }
        }
        for candidate in &group {
            if picked.len() < count && !picked.contains(&candidate.id) {
                picked.push(candidate.id);
            }
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(n: u128, kind: QuestionKind, subcategory: &str) -> Candidate {
        Candidate {
            id: Uuid::from_u128(n),
            kind,
            subcategory: subcategory.into(),
            asked_recently: false,
            for_target_role: false,
        }
    }

    #[test]
    fn weak_dimensions_decide_which_kind_of_question_comes_first() {
        // Weak on ownership and verbs (behavioral only), strong on coverage.
        let standing: Standing = [
            (Dimension::Ownership, 20.0),
            (Dimension::Verbs, 30.0),
            (Dimension::Coverage, 90.0),
        ]
        .into();
        assert!(
            need(QuestionKind::Behavioral, &standing) > need(QuestionKind::Technical, &standing)
        );
        let picked = select(
            &[
                candidate(1, QuestionKind::Technical, "SQL"),
                candidate(2, QuestionKind::Behavioral, "Conflict"),
                candidate(3, QuestionKind::Case, "Pricing"),
            ],
            &standing,
            1,
            7,
        );
        assert_eq!(picked, [Uuid::from_u128(2)]);
        // Without history every dimension counts as 50: every kind is needed alike.
        let fresh = Standing::new();
        assert_eq!(need(QuestionKind::Behavioral, &fresh), 0.5);
        assert_eq!(need(QuestionKind::Case, &fresh), 0.5);
    }

    #[test]
    fn recent_questions_come_last_and_the_target_role_first() {
        let mut recent = candidate(1, QuestionKind::Behavioral, "A");
        recent.asked_recently = true;
        let mut for_role = candidate(3, QuestionKind::Behavioral, "C");
        for_role.for_target_role = true;
        let others = candidate(2, QuestionKind::Behavioral, "B");
        let list = [recent, others, for_role];
        let picked = select(&list, &Standing::new(), 3, 1);
        assert_eq!(
            picked,
            [Uuid::from_u128(3), Uuid::from_u128(2), Uuid::from_u128(1)]
        );
        assert_eq!(select(&list, &Standing::new(), 2, 1).len(), 2);
        assert!(!select(&list, &Standing::new(), 2, 1).contains(&Uuid::from_u128(1)));
    }

    #[test]
    fn a_recent_question_never_displaces_one_not_asked_even_in_a_new_subcategory() {
        let mut list: Vec<Candidate> = (0..5)
            .map(|n| candidate(n, QuestionKind::Behavioral, "Conflict"))
            .collect();
        for n in 5..9 {
            let mut recent = candidate(n, QuestionKind::Behavioral, &format!("Other {n}"));
            recent.asked_recently = true;
            list.push(recent);
        }
        let picked = select(&list, &Standing::new(), 5, 9);
        assert!(picked.iter().all(|id| id.as_u128() < 5), "{picked:?}");
        assert_eq!(select(&list, &Standing::new(), 7, 9).len(), 7);
    }

    #[test]
    fn subcategories_are_spread_before_one_repeats() {
        let list: Vec<Candidate> = (0..6)
            .map(|n| {
                candidate(
                    n,
                    QuestionKind::Case,
                    if n < 4 { "Pricing" } else { "Sizing" },
                )
            })
            .collect();
        let picked = select(&list, &Standing::new(), 3, 42);
        let subcategories: BTreeSet<&str> = picked
            .iter()
            .map(|id| {
                list.iter()
                    .find(|c| c.id == *id)
                    .unwrap()
                    .subcategory
                    .as_str()
            })
            .collect();
        assert_eq!(subcategories.len(), 2);
        assert_eq!(picked.len(), 3);
    }

    #[test]
    fn the_seed_varies_the_order_of_equal_candidates() {
        let list: Vec<Candidate> = (0..20)
            .map(|n| candidate(n, QuestionKind::Case, &format!("S{n}")))
            .collect();
        let orders: BTreeSet<Vec<Uuid>> = (0..5)
            .map(|seed| select(&list, &Standing::new(), 5, seed))
            .collect();
        assert!(orders.len() > 1);
        assert_eq!(
            select(&list, &Standing::new(), 5, 3),
            select(&list, &Standing::new(), 5, 3)
        );
    }
}
