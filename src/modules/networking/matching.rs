//! Mentor matching, pure: hard filters first, then a score in whole points with its breakdown. No
//! database, no clock; [`super::recommend`] gathers what it needs. Worked examples in the tests and in
//! docs/networking.md.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How much each component may give, in points (an organization sets its own; they need not sum
/// to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    pub skills: i64,
    pub stage: i64,
    pub timezone: i64,
    pub interests: i64,
    pub rating: i64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            skills: 40,
            stage: 20,
            timezone: 15,
            interests: 10,
            rating: 15,
        }
    }
}

/// Each pending request a mentor already has costs this many points, up to [`SPREAD_CAP`]: the same
/// few mentors are not everyone's first choice.
pub const SPREAD_PER_REQUEST: i64 = 5;
pub const SPREAD_CAP: i64 = 15;
/// The Bayesian prior: a mentor without ratings counts as rated [`PRIOR_MEAN`] by [`PRIOR_WEIGHT`]
/// mentees.
pub const PRIOR_MEAN: f64 = 4.0;
pub const PRIOR_WEIGHT: f64 = 3.0;
/// The working day both sides are assumed to keep, in local minutes (09:00–17:00).
const WORKDAY_MINUTES: i64 = 8 * 60;

/// A skill the mentee's goal asks for and they do not have yet.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalGap {
    pub skill_id: Uuid,
    pub have: f64,
    pub need: f64,
    pub weight: f64,
}

/// The mentee, as matching sees them.
#[derive(Debug, Clone, Default)]
pub struct Mentee {
    pub id: Uuid,
    /// Their manager, their manager's manager, and so on.
    pub managers: BTreeSet<Uuid>,
    /// Languages they can be mentored in (lower-case); empty: any.
    pub languages: BTreeSet<String>,
    /// Their UTC offset in minutes, if known.
    pub utc_offset: Option<i64>,
    /// The level of the career role they hold, if any.
    pub level: Option<i64>,
    pub gaps: Vec<GoalGap>,
    /// The skills on their profile.
    pub interests: BTreeSet<Uuid>,
}

/// A mentor, as matching sees them.
#[derive(Debug, Clone, Default)]
pub struct Mentor {
    pub id: Uuid,
    pub active: bool,
    pub mentee_limit: i64,
    /// Mentorships accepted or active.
    pub load: i64,
    /// Requests waiting for their answer.
    pub pending: i64,
    pub languages: BTreeSet<String>,
    pub utc_offset: Option<i64>,
    pub level: Option<i64>,
    /// Effective level and whether they are happy to teach it, by skill.
    pub skills: BTreeMap<Uuid, (f64, bool)>,
    pub ratings: i64,
    pub rating_sum: i64,
    /// Whether they declined this mentee before (or the mentee found them not a fit).
    pub declined: bool,
    /// Whether a request, or a mentorship, with this mentee is open.
    pub connected: bool,
}

/// Why a mentor is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Excluded {
    Yourself,
    Inactive,
    Full,
    ReportingLine,
    Declined,
    AlreadyConnected,
    NoSharedLanguage,
}

/// Points by component; `spread` is zero or negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Breakdown {
    pub skills: i64,
    pub stage: i64,
    pub timezone: i64,
    pub interests: i64,
    pub rating: i64,
    pub spread: i64,
    pub total: i64,
}

/// The hard filters, in order; the first that applies.
pub fn filter(mentee: &Mentee, mentor: &Mentor) -> Option<Excluded> {
    if mentor.id == mentee.id {
        Some(Excluded::Yourself)
    } else if !mentor.active {
        Some(Excluded::Inactive)
    } else if mentor.load >= mentor.mentee_limit {
        Some(Excluded::Full)
    } else if mentee.managers.contains(&mentor.id) {
        Some(Excluded::ReportingLine)
    } else if mentor.declined {
        Some(Excluded::Declined)
    } else if mentor.connected {
        Some(Excluded::AlreadyConnected)
    } else if !mentee.languages.is_empty()
        && !mentor.languages.is_empty()
        && mentee.languages.is_disjoint(&mentor.languages)
    {
        Some(Excluded::NoSharedLanguage)
    } else {
        None
    }
}

/// `share` of `weight`, to the nearest point, a half up (the small term keeps a product that is a half
/// in exact arithmetic, like 15 × 5/6, from landing just below it in floating point).
fn points(weight: i64, share: f64) -> i64 {
    (weight as f64 * share.clamp(0.0, 1.0) + 1e-9).round() as i64
}

/// How much of the mentee's goal gaps the mentor covers, weighted: 1 for a skill they hold at the
/// level needed and teach; ½ for one they hold at that level without teaching it, or teach above the
/// mentee's level but below the one needed; nothing else.
pub fn skill_share(mentee: &Mentee, mentor: &Mentor) -> f64 {
    let total: f64 = mentee.gaps.iter().map(|g| g.weight).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let covered: f64 = mentee
        .gaps
        .iter()
        .map(|gap| {
            let cover = match mentor.skills.get(&gap.skill_id) {
                Some(&(level, true)) if level >= gap.need => 1.0,
                Some(&(level, false)) if level >= gap.need => 0.5,
                Some(&(level, true)) if level > gap.have => 0.5,
                _ => 0.0,
            };
            cover * gap.weight
        })
        .sum();
    covered / total
}

/// A mentor one or two levels above is ideal; three, half as good; the same level, below, or further
/// above, nothing.
pub fn stage_share(mentee: &Mentee, mentor: &Mentor) -> f64 {
    match (mentee.level, mentor.level) {
        (Some(mine), Some(theirs)) => match theirs - mine {
            1 | 2 => 1.0,
            3 => 0.5,
            _ => 0.0,
        },
        _ => 0.0,
    }
}

/// The share of a working day both have in common.
pub fn timezone_share(mentee: &Mentee, mentor: &Mentor) -> f64 {
    match (mentee.utc_offset, mentor.utc_offset) {
        (Some(a), Some(b)) => {
            let apart = (a - b).abs() % (24 * 60);
            let apart = apart.min(24 * 60 - apart);
            (WORKDAY_MINUTES - apart).max(0) as f64 / WORKDAY_MINUTES as f64
        }
        _ => 0.0,
    }
}

/// Jaccard similarity of the skills on both profiles.
pub fn interest_share(mentee: &Mentee, mentor: &Mentor) -> f64 {
    let theirs: BTreeSet<Uuid> = mentor.skills.keys().copied().collect();
    let union = mentee.interests.union(&theirs).count();
    if union == 0 {
        return 0.0;
    }
    mentee.interests.intersection(&theirs).count() as f64 / union as f64
}

/// The Bayesian average rating (1–5).
pub fn bayesian_rating(ratings: i64, sum: i64) -> f64 {
    (PRIOR_WEIGHT * PRIOR_MEAN + sum as f64) / (PRIOR_WEIGHT + ratings as f64)
}

/// The mentor's score for this mentee, or why they are left out.
pub fn evaluate(
    mentee: &Mentee,
    mentor: &Mentor,
    weights: &Weights,
) -> Result<Breakdown, Excluded> {
    if let Some(reason) = filter(mentee, mentor) {
        return Err(reason);
    }
    let mut b = Breakdown {
        skills: points(weights.skills, skill_share(mentee, mentor)),
        stage: points(weights.stage, stage_share(mentee, mentor)),
        timezone: points(weights.timezone, timezone_share(mentee, mentor)),
        interests: points(weights.interests, interest_share(mentee, mentor)),
        rating: points(
            weights.rating,
            (bayesian_rating(mentor.ratings, mentor.rating_sum) - 1.0) / 4.0,
        ),
        spread: -(mentor.pending * SPREAD_PER_REQUEST).min(SPREAD_CAP),
        total: 0,
    };
    b.total = (b.skills + b.stage + b.timezone + b.interests + b.rating + b.spread).max(0);
    Ok(b)
}

/// The mentors who pass the filters, best first (ties: the less loaded, then by id), at most
/// `limit`; and how many each filter left out.
pub fn recommend<'m>(
    mentee: &Mentee,
    mentors: &'m [Mentor],
    weights: &Weights,
    limit: usize,
) -> (Vec<(&'m Mentor, Breakdown)>, BTreeMap<Excluded, usize>) {
    let mut excluded = BTreeMap::new();
    let mut matches = Vec::new();
    for mentor in mentors {
        match evaluate(mentee, mentor, weights) {
            Ok(breakdown) => matches.push((mentor, breakdown)),
            Err(reason) => *excluded.entry(reason).or_insert(0) += 1,
        }
    }
    matches.sort_by(|(a, x), (b, y)| {
        y.total
            .cmp(&x.total)
            .then(a.load.cmp(&b.load))
            .then(a.id.cmp(&b.id))
    });
    matches.truncate(limit);
    (matches, excluded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Dana: a level-3 analyst in Berlin (UTC+1) aiming at a role that needs SQL 4 (weight 3) and
    /// stakeholder management 3 (weight 1); she has SQL 2 and stakeholder management 1.
    fn dana() -> Mentee {
        Mentee {
            id: id(1),
            managers: [id(90), id(91)].into(),
            languages: ["en".to_owned(), "de".to_owned()].into(),
            utc_offset: Some(60),
            level: Some(3),
            gaps: vec![
                GoalGap {
                    skill_id: id(100),
                    have: 2.0,
                    need: 4.0,
                    weight: 3.0,
                },
                GoalGap {
                    skill_id: id(101),
                    have: 1.0,
                    need: 3.0,
                    weight: 1.0,
                },
            ],
            interests: [id(100), id(101), id(102)].into(),
        }
    }

    /// Mo: level 5 in London (UTC+0), SQL 5 and happy to teach it, stakeholder management 2 (teaches),
    /// Python (102); rated 5, 5, 5; one pending request.
    fn mo() -> Mentor {
        Mentor {
            id: id(2),
            active: true,
            mentee_limit: 3,
            load: 1,
            pending: 1,
            languages: ["en".to_owned()].into(),
            utc_offset: Some(0),
            level: Some(5),
            skills: [
                (id(100), (5.0, true)),
                (id(101), (2.0, true)),
                (id(102), (3.0, false)),
            ]
            .into(),
            ratings: 3,
            rating_sum: 15,
            ..Mentor::default()
        }
    }

    #[test]
    fn a_worked_example_scores_each_component_in_whole_points() {
        let b = evaluate(&dana(), &mo(), &Weights::default()).unwrap();
        // Skills: SQL covered fully (3), stakeholder management half (teaches 2 > her 1, below 3):
        // (3 + 0.5) / 4 = 0.875 of 40 = 35.
        assert_eq!(b.skills, 35);
        // Stage: two levels above: all 20.
        assert_eq!(b.stage, 20);
        // Time zones one hour apart: 7 of 8 working hours, of 15 = 13.125 → 13.
        assert_eq!(b.timezone, 13);
        // Interests: all three of hers on his profile, nothing else: 3/3 of 10.
        assert_eq!(b.interests, 10);
        // Rating: (3 × 4 + 15) / (3 + 3) = 4.5; (4.5 − 1) / 4 of 15 = 13.125 → 13.
        assert_eq!(b.rating, 13);
        assert_eq!(b.spread, -5);
        assert_eq!(b.total, 35 + 20 + 13 + 10 + 13 - 5);
    }

    #[test]
    fn the_hard_filters_come_first_and_say_why() {
        let dana = dana();
        let cases: Vec<(Mentor, Excluded)> = vec![
            (
                Mentor {
                    id: dana.id,
                    ..mo()
                },
                Excluded::Yourself,
            ),
            (
                Mentor {
                    active: false,
                    ..mo()
                },
                Excluded::Inactive,
            ),
            (Mentor { load: 3, ..mo() }, Excluded::Full),
            (Mentor { id: id(91), ..mo() }, Excluded::ReportingLine),
            (
                Mentor {
                    declined: true,
                    ..mo()
                },
                Excluded::Declined,
            ),
            (
                Mentor {
                    connected: true,
                    ..mo()
                },
                Excluded::AlreadyConnected,
            ),
            (
                Mentor {
                    languages: ["fr".to_owned()].into(),
                    ..mo()
                },
                Excluded::NoSharedLanguage,
            ),
        ];
        for (mentor, reason) in cases {
            assert_eq!(evaluate(&dana, &mentor, &Weights::default()), Err(reason));
        }
        // No languages on either side: no filter.
        let open = Mentor {
            languages: BTreeSet::new(),
            ..mo()
        };
        assert!(evaluate(&dana, &open, &Weights::default()).is_ok());
    }

    #[test]
    fn components_follow_their_rules() {
        let dana = dana();
        let peer = Mentor {
            level: Some(3),
            ..mo()
        };
        assert_eq!(stage_share(&dana, &peer), 0.0, "the same level");
        let far = Mentor {
            level: Some(6),
            ..mo()
        };
        assert_eq!(stage_share(&dana, &far), 0.5);
        let tokyo = Mentor {
            utc_offset: Some(9 * 60),
            ..mo()
        };
        assert_eq!(timezone_share(&dana, &tokyo), 0.0, "eight hours apart");
        let samoa = Mentor {
            utc_offset: Some(-11 * 60),
            ..mo()
        };
        // UTC+1 and UTC−11 are 12 hours apart either way round.
        assert_eq!(timezone_share(&dana, &samoa), 0.0);
        let holds_without_teaching = Mentor {
            skills: [(id(100), (4.0, false))].into(),
            ..mo()
        };
        assert_eq!(skill_share(&dana, &holds_without_teaching), 0.5 * 3.0 / 4.0);
        assert_eq!(bayesian_rating(0, 0), PRIOR_MEAN, "no ratings: the prior");
        // 5, 5 and 4: (12 + 14) / 6 = 4.333…; 15 × 3.333… / 4 = 12.5 exactly, rounded up.
        let rated = Mentor {
            ratings: 3,
            rating_sum: 14,
            ..mo()
        };
        let b = evaluate(&dana, &rated, &Weights::default()).unwrap();
        assert_eq!(b.rating, 13);
        let busy = Mentor { pending: 9, ..mo() };
        let b = evaluate(&dana, &busy, &Weights::default()).unwrap();
        assert_eq!(b.spread, -SPREAD_CAP);
    }

    #[test]
    fn recommendations_rank_by_total_then_load_and_count_the_excluded() {
        let dana = dana();
        let strong = mo();
        let weaker = Mentor {
            id: id(3),
            skills: BTreeMap::new(),
            ..mo()
        };
        let twin_less_loaded = Mentor {
            id: id(4),
            load: 0,
            ..mo()
        };
        let inactive = Mentor {
            id: id(5),
            active: false,
            ..mo()
        };
        let mentors = vec![weaker, strong, inactive, twin_less_loaded];
        let (ranked, excluded) = recommend(&dana, &mentors, &Weights::default(), 10);
        let order: Vec<Uuid> = ranked.iter().map(|(m, _)| m.id).collect();
        assert_eq!(order, [id(4), id(2), id(3)]);
        assert_eq!(excluded.get(&Excluded::Inactive), Some(&1));
        let (top, _) = recommend(&dana, &mentors, &Weights::default(), 1);
        assert_eq!(top.len(), 1);
    }

    #[test]
    fn weights_are_the_organizations() {
        let only_time = Weights {
            skills: 0,
            stage: 0,
            timezone: 100,
            interests: 0,
            rating: 0,
        };
        let b = evaluate(&dana(), &Mentor { pending: 0, ..mo() }, &only_time).unwrap();
        assert_eq!(b.total, 88, "7/8 of 100, rounded");
    }
}
