//! The career arithmetic, pure and explained (docs/career.md, "How the numbers are computed"): a skill's
//! effective level from its ratings, and a member's readiness and gaps for a role. Nothing here reads
//! the database or the clock; each result carries the parts it was computed from.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Who gave a rating. The weight says how much the rating counts against the others of the same skill:
/// an assessment over the manager over a peer over the member's own view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    #[serde(rename = "self")]
    SelfRated,
    Peer,
    Manager,
    Assessment,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::SelfRated,
        Source::Peer,
        Source::Manager,
        Source::Assessment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::SelfRated => "self",
            Source::Peer => "peer",
            Source::Manager => "manager",
            Source::Assessment => "assessment",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn weight(self) -> f64 {
        match self {
            Source::SelfRated => 1.0,
            Source::Peer => 2.0,
            Source::Manager => 3.0,
            Source::Assessment => 4.0,
        }
    }
}

/// How old ratings lose strength: a rating counts in full for `grace_days`, then the level it gives
/// halves every `half_life_days`.
#[derive(Debug, Clone, Copy)]
pub struct Decay {
    pub grace_days: f64,
    pub half_life_days: f64,
}

impl Default for Decay {
    fn default() -> Self {
        Decay {
            grace_days: 365.0,
            half_life_days: 365.0,
        }
    }
}

impl Decay {
    /// The share of its level a rating `age_days` old still gives: 1 within the grace period, then
    /// `0.5 ^ ((age - grace) / half_life)`.
    pub fn freshness(&self, age_days: f64) -> f64 {
        let past_grace = age_days - self.grace_days;
        if past_grace <= 0.0 || self.half_life_days <= 0.0 {
            1.0
        } else {
            0.5_f64.powf(past_grace / self.half_life_days)
        }
    }
}

/// One rating of one skill.
#[derive(Debug, Clone)]
pub struct Rating {
    pub level: u8,
    pub source: Source,
    /// Who rated; `None` for a rater since removed (their ratings still count, as one rater).
    pub rater: Option<Uuid>,
    pub rated_at: DateTime<Utc>,
    /// What the rater wrote (a finished course names itself here).
    pub note: String,
}

/// How one rating entered a skill's effective level.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Contribution {
    pub source: Source,
    pub rater_id: Option<Uuid>,
    pub level: u8,
    pub rated_at: DateTime<Utc>,
    pub age_days: i64,
    /// The source's weight.
    pub weight: f64,
    /// The share of its level the rating still gives (decay), 0 to 1.
    pub freshness: f64,
    /// False when a later rating by the same rater and source replaced it.
    pub counted: bool,
    pub note: String,
}

/// A skill's effective level, 0 (no rating) to 5, with the ratings it came from.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EffectiveLevel {
    /// `sum(weight × freshness × level) / sum(weight)` over the counted ratings, to two decimals.
    pub level: f64,
    pub contributions: Vec<Contribution>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Combines a skill's ratings (oldest first: of two made at the same instant, the later in the slice is
/// the later rating): the latest rating of each rater and source counts, weighted by source, its level
/// decayed by age.
pub fn effective_level(ratings: &[Rating], now: DateTime<Utc>, decay: Decay) -> EffectiveLevel {
    let mut latest: BTreeMap<(Source, Option<Uuid>), usize> = BTreeMap::new();
    for (i, rating) in ratings.iter().enumerate() {
        let key = (rating.source, rating.rater);
        let newer = latest
            .get(&key)
            .is_none_or(|&j| rating.rated_at >= ratings[j].rated_at);
        if newer {
            latest.insert(key, i);
        }
    }
    let mut weighted = 0.0;
    let mut weights = 0.0;
    let mut contributions: Vec<Contribution> = ratings
        .iter()
        .enumerate()
        .map(|(i, rating)| {
            let counted = latest.get(&(rating.source, rating.rater)) == Some(&i);
            let age_days = (now - rating.rated_at).num_days().max(0);
            let freshness = decay.freshness(age_days as f64);
            if counted {
                weighted += rating.source.weight() * freshness * f64::from(rating.level);
                weights += rating.source.weight();
            }
            Contribution {
                source: rating.source,
                rater_id: rating.rater,
                level: rating.level,
                rated_at: rating.rated_at,
                age_days,
                weight: rating.source.weight(),
                freshness: (freshness * 1000.0).round() / 1000.0,
                counted,
                note: rating.note.clone(),
            }
        })
        .collect();
    // Newest first; of ratings made at the same instant, the later in `ratings` first.
    contributions.reverse();
    contributions.sort_by_key(|c| std::cmp::Reverse(c.rated_at));
    let level = if weights > 0.0 {
        round2(weighted / weights)
    } else {
        0.0
    };
    EffectiveLevel {
        level,
        contributions,
    }
}

/// A role's requirement of one skill.
#[derive(Debug, Clone)]
pub struct Requirement {
    pub skill_id: Uuid,
    pub skill: String,
    pub min_level: u8,
    pub weight: u16,
    pub critical: bool,
}

/// How the member stands against one requirement.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RequirementResult {
    pub skill_id: Uuid,
    pub skill: String,
    pub min_level: u8,
    pub weight: u16,
    pub critical: bool,
    /// The member's effective level of the skill (0 when unrated).
    pub level: f64,
    /// `level >= min_level`.
    pub met: bool,
}

/// A requirement not met, and how much it matters.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Gap {
    pub skill_id: Uuid,
    pub skill: String,
    pub min_level: u8,
    pub level: f64,
    /// `min_level - level`.
    pub shortfall: f64,
    pub weight: u16,
    pub critical: bool,
    /// `weight × shortfall`: gaps are listed by it, largest first.
    pub priority: f64,
    /// Courses that teach the skill, best first (filled in from the catalogue; empty here).
    pub learning: Vec<LearningItem>,
}

/// A course listed with a gap.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LearningItem {
    pub course_id: Uuid,
    pub title: String,
    pub provider: String,
    pub url: Option<String>,
    pub duration_minutes: Option<i32>,
    /// The level a finisher reaches.
    pub level: u8,
    /// The course reaches the level the requirement asks for.
    pub closes_gap: bool,
}

/// Readiness below this while a critical requirement is unmet: a member missing a critical skill never
/// reads as nearly ready, however much else they hold.
pub const CRITICAL_CAP: u8 = 40;

/// A member's readiness for a role.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Readiness {
    /// 0 to 100: `uncapped`, or at most [`CRITICAL_CAP`] when a critical requirement is unmet.
    pub score: u8,
    /// `round(100 × met_weight / total_weight)`; 100 for a role that requires nothing.
    pub uncapped: u8,
    pub met_weight: u32,
    pub total_weight: u32,
    /// The critical requirements not met (the reason for a cap).
    pub critical_missing: Vec<String>,
    /// The computation in words.
    pub explanation: String,
    pub requirements: Vec<RequirementResult>,
    /// Unmet requirements by priority, then critical first, then by skill name.
    pub gaps: Vec<Gap>,
}

/// Scores `levels` (effective level by skill) against a role's requirements.
pub fn readiness(requirements: &[Requirement], levels: &BTreeMap<Uuid, f64>) -> Readiness {
    let mut met_weight = 0u32;
    let mut total_weight = 0u32;
    let mut results = Vec::with_capacity(requirements.len());
    let mut gaps = Vec::new();
    let mut critical_missing = Vec::new();
    for req in requirements {
        let level = levels.get(&req.skill_id).copied().unwrap_or(0.0);
        let met = level >= f64::from(req.min_level);
        total_weight += u32::from(req.weight);
        if met {
            met_weight += u32::from(req.weight);
        } else {
            let shortfall = round2(f64::from(req.min_level) - level);
            if req.critical {
                critical_missing.push(req.skill.clone());
            }
            gaps.push(Gap {
                skill_id: req.skill_id,
                skill: req.skill.clone(),
                min_level: req.min_level,
                level,
                shortfall,
                weight: req.weight,
                critical: req.critical,
                priority: round2(f64::from(req.weight) * shortfall),
                learning: Vec::new(),
            });
        }
        results.push(RequirementResult {
            skill_id: req.skill_id,
            skill: req.skill.clone(),
            min_level: req.min_level,
            weight: req.weight,
            critical: req.critical,
            level,
            met,
        });
    }
    gaps.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then(b.critical.cmp(&a.critical))
            .then(a.skill.cmp(&b.skill))
    });
    critical_missing.sort();
    let uncapped = if total_weight == 0 {
        100
    } else {
        // At most 100: met_weight <= total_weight.
        ((f64::from(met_weight) * 100.0 / f64::from(total_weight)).round() as u8).min(100)
    };
    let score = if critical_missing.is_empty() {
        uncapped
    } else {
        uncapped.min(CRITICAL_CAP)
    };
    let mut explanation = if total_weight == 0 {
        "the role requires no skills".to_owned()
    } else {
        format!(
            "requirements met weigh {met_weight} of {total_weight}: {}%",
            uncapped
        )
    };
    if score < uncapped {
        explanation.push_str(&format!(
            "; capped at {CRITICAL_CAP}% because a critical skill is below its level: {}",
            critical_missing.join(", ")
        ));
    }
    Readiness {
        score,
        uncapped,
        met_weight,
        total_weight,
        critical_missing,
        explanation,
        requirements: results,
        gaps,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn rating(level: u8, source: Source, rater: u128, days_ago: i64) -> Rating {
        Rating {
            level,
            source,
            rater: Some(Uuid::from_u128(rater)),
            rated_at: now() - Duration::days(days_ago),
            note: String::new(),
        }
    }

    #[test]
    fn sources_are_weighted_assessment_over_manager_over_peer_over_self() {
        // self 5 (w 1), manager 3 (w 3): (5 + 9) / 4 = 3.5
        let level = effective_level(
            &[
                rating(5, Source::SelfRated, 1, 10),
                rating(3, Source::Manager, 2, 10),
            ],
            now(),
            Decay::default(),
        );
        assert_eq!(level.level, 3.5);
        // plus an assessment at 2 (w 4) and a peer at 4 (w 2): (5 + 9 + 8 + 8) / 10 = 3.0
        let level = effective_level(
            &[
                rating(5, Source::SelfRated, 1, 10),
                rating(3, Source::Manager, 2, 10),
                rating(2, Source::Assessment, 3, 10),
                rating(4, Source::Peer, 4, 10),
            ],
            now(),
            Decay::default(),
        );
        assert_eq!(level.level, 3.0);
    }

    #[test]
    fn only_the_latest_rating_of_a_rater_and_source_counts() {
        let level = effective_level(
            &[
                rating(2, Source::SelfRated, 1, 100),
                rating(4, Source::SelfRated, 1, 5),
                rating(1, Source::Peer, 7, 50),
                rating(3, Source::Peer, 8, 50),
            ],
            now(),
            Decay::default(),
        );
        // self 4 (w 1) + peers 1 and 3 (w 2 each): (4 + 2 + 6) / 5 = 2.4
        assert_eq!(level.level, 2.4);
        let superseded: Vec<_> = level.contributions.iter().filter(|c| !c.counted).collect();
        assert_eq!(superseded.len(), 1);
        assert_eq!(superseded[0].level, 2);
    }

    #[test]
    fn of_two_ratings_at_the_same_instant_the_later_given_counts() {
        let level = effective_level(
            &[
                rating(4, Source::SelfRated, 1, 0),
                rating(2, Source::SelfRated, 1, 0),
            ],
            now(),
            Decay::default(),
        );
        assert_eq!(level.level, 2.0);
        assert_eq!(
            (level.contributions[0].level, level.contributions[0].counted),
            (2, true)
        );
    }

    #[test]
    fn ratings_decay_after_the_grace_year_by_half_each_further_year() {
        let decay = Decay::default();
        assert_eq!(decay.freshness(0.0), 1.0);
        assert_eq!(decay.freshness(365.0), 1.0);
        assert_eq!(decay.freshness(730.0), 0.5);
        assert_eq!(decay.freshness(1095.0), 0.25);
        // A self rating of 4 two years old gives 2; beside a fresh manager rating of 3:
        // (1 × 0.5 × 4 + 3 × 1 × 3) / 4 = 2.75
        let level = effective_level(
            &[
                rating(4, Source::SelfRated, 1, 730),
                rating(3, Source::Manager, 2, 1),
            ],
            now(),
            decay,
        );
        assert_eq!(level.level, 2.75);
        assert_eq!(level.contributions[1].freshness, 0.5);
    }

    #[test]
    fn no_ratings_is_level_zero() {
        assert_eq!(effective_level(&[], now(), Decay::default()).level, 0.0);
    }

    fn req(n: u128, name: &str, min_level: u8, weight: u16, critical: bool) -> Requirement {
        Requirement {
            skill_id: Uuid::from_u128(n),
            skill: name.to_owned(),
            min_level,
            weight,
            critical,
        }
    }

    fn levels(pairs: &[(u128, f64)]) -> BTreeMap<Uuid, f64> {
        pairs
            .iter()
            .map(|(n, l)| (Uuid::from_u128(*n), *l))
            .collect()
    }

    #[test]
    fn readiness_is_the_weighted_share_of_requirements_met() {
        // Rust 4 (w 5) met, SQL 3 (w 3) met, Kubernetes 3 (w 2) not: 8 / 10 = 80%.
        let role = [
            req(1, "Rust", 4, 5, false),
            req(2, "SQL", 3, 3, false),
            req(3, "Kubernetes", 3, 2, false),
        ];
        let r = readiness(&role, &levels(&[(1, 4.0), (2, 3.5), (3, 1.5)]));
        assert_eq!(
            (r.score, r.uncapped, r.met_weight, r.total_weight),
            (80, 80, 8, 10)
        );
        assert_eq!(r.gaps.len(), 1);
        assert_eq!(r.gaps[0].skill, "Kubernetes");
        assert_eq!(r.gaps[0].shortfall, 1.5);
        assert_eq!(r.gaps[0].priority, 3.0);
        assert_eq!(r.explanation, "requirements met weigh 8 of 10: 80%");
    }

    #[test]
    fn a_missing_critical_skill_caps_readiness() {
        // Everything but the critical Security (w 1) is met: 9 / 10 = 90%, capped at 40.
        let role = [
            req(1, "Rust", 4, 5, false),
            req(2, "SQL", 3, 4, false),
            req(3, "Security", 3, 1, true),
        ];
        let r = readiness(&role, &levels(&[(1, 5.0), (2, 3.0), (3, 2.99)]));
        assert_eq!((r.uncapped, r.score), (90, CRITICAL_CAP));
        assert_eq!(r.critical_missing, vec!["Security".to_owned()]);
        assert!(
            r.explanation
                .contains("capped at 40% because a critical skill")
        );
        // Below the cap already: the cap changes nothing.
        let r = readiness(&role, &levels(&[(3, 1.0)]));
        assert_eq!((r.uncapped, r.score), (0, 0));
    }

    #[test]
    fn gaps_are_ordered_by_weight_times_shortfall() {
        let role = [
            req(1, "Accessibility", 3, 1, false),  // shortfall 3, priority 3
            req(2, "Design systems", 4, 2, false), // shortfall 2, priority 4
            req(3, "Research", 2, 3, true),        // shortfall 1, priority 3, critical
            req(4, "Prototyping", 2, 1, false),    // met
        ];
        let r = readiness(&role, &levels(&[(2, 2.0), (3, 1.0), (4, 2.0)]));
        let order: Vec<_> = r.gaps.iter().map(|g| g.skill.as_str()).collect();
        // Equal priority: the critical gap first.
        assert_eq!(order, ["Design systems", "Research", "Accessibility"]);
        assert_eq!(r.score, 14); // 1 of 7, and the critical cap does not lift it
    }

    #[test]
    fn a_role_without_requirements_is_fully_ready() {
        let r = readiness(&[], &BTreeMap::new());
        assert_eq!(r.score, 100);
        assert!(r.gaps.is_empty());
    }
}
