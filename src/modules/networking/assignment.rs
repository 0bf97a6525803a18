//! Batch matching for a programme's cohort, pure: each mentee to at most one mentor, each mentor to at
//! most their capacity, maximising the total score (then, among equal totals, the number matched).
//!
//! Exact by the Hungarian method (the `pathfinding` crate's Kuhn–Munkres) on a square-enough matrix:
//! a row per mentee, a column per mentor *place* (a mentor of capacity 3 is three columns) plus one
//! "unmatched" column per mentee, so a mentee no mentor may take stays unmatched rather than forced.
//! Kuhn–Munkres is O(n³); above [`OPTIMAL_LIMIT`] columns the cohort is matched greedily instead —
//! every allowed pair best first, taken while both sides are free — which is fast and at least half
//! the optimum (a greedy matching is a ½-approximation for maximum-weight matching), and says so.

use pathfinding::{kuhn_munkres::kuhn_munkres, matrix::Matrix};

/// Above this many columns (mentor places plus mentees) the greedy method is used.
pub const OPTIMAL_LIMIT: usize = 600;

/// Scores (`None`: the hard filters forbid the pair) by mentee, then mentor; and each mentor's places.
/// Scores are points, 0 or more (matching never gives less); a negative one, or one missing from a short
/// row, counts as forbidden.
#[derive(Debug, Clone)]
pub struct Problem {
    pub scores: Vec<Vec<Option<i64>>>,
    pub capacity: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Optimal,
    Greedy,
}

/// Each mentee's mentor (by index), the total score, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub mentor_of: Vec<Option<usize>>,
    pub total: i64,
    pub method: Method,
}

pub fn assign(problem: &Problem) -> Assignment {
    let places: usize = problem.capacity.iter().sum();
    if places + problem.scores.len() <= OPTIMAL_LIMIT {
        optimal(problem)
    } else {
        greedy(problem)
    }
}

/// The allowed score of a pair.
fn score(problem: &Problem, mentee: usize, mentor: usize) -> Option<i64> {
    problem
        .scores
        .get(mentee)
        .and_then(|row| row.get(mentor).copied().flatten())
        .filter(|s| *s >= 0)
}

fn total(problem: &Problem, mentor_of: &[Option<usize>]) -> i64 {
    mentor_of
        .iter()
        .enumerate()
        .filter_map(|(mentee, mentor)| mentor.and_then(|m| score(problem, mentee, m)))
        .sum()
}

/// The exact optimum (Kuhn–Munkres over mentor places and one "unmatched" place per mentee).
pub fn optimal(problem: &Problem) -> Assignment {
    let mentees = problem.scores.len();
    if mentees == 0 {
        return Assignment {
            mentor_of: Vec::new(),
            total: 0,
            method: Method::Optimal,
        };
    }
    // Column → the mentor whose place it is (None: an "unmatched" column).
    let columns: Vec<Option<usize>> = problem
        .capacity
        .iter()
        .enumerate()
        .flat_map(|(mentor, &cap)| std::iter::repeat_n(Some(mentor), cap))
        .chain(std::iter::repeat_n(None, mentees))
        .collect();
    // Score first, then one more match: a match is worth `score × k + 1` with k above the number of
    // mentees, so no count of extra matches outweighs a point of score. Forbidden: far below zero.
    let k = mentees as i64 + 1;
    let forbidden = -(k * 1_000_000_000);
    // Scores beyond a million points are capped (they never occur: a component is at most 100).
    let weights = Matrix::from_fn(mentees, columns.len(), |(row, col)| match columns[col] {
        Some(mentor) => score(problem, row, mentor).map_or(forbidden, |s| s.min(1_000_000) * k + 1),
        None => 0,
    });
    let (_, chosen) = kuhn_munkres(&weights);
    let mentor_of: Vec<Option<usize>> = chosen
        .iter()
        .enumerate()
        .map(|(row, &col)| columns[col].filter(|&mentor| score(problem, row, mentor).is_some()))
        .collect();
    Assignment {
        total: total(problem, &mentor_of),
        mentor_of,
        method: Method::Optimal,
    }
}

/// Every allowed pair, best first (ties: mentee, then mentor order), taken while both sides are free.
pub fn greedy(problem: &Problem) -> Assignment {
    let mut pairs: Vec<(i64, usize, usize)> = (0..problem.scores.len())
        .flat_map(|mentee| {
            (0..problem.capacity.len()).filter_map(move |mentor| {
                score(problem, mentee, mentor).map(|s| (s, mentee, mentor))
            })
        })
        .collect();
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut left = problem.capacity.clone();
    let mut mentor_of = vec![None; problem.scores.len()];
    for (_, mentee, mentor) in pairs {
        if mentor_of[mentee].is_none() && left[mentor] > 0 {
            mentor_of[mentee] = Some(mentor);
            left[mentor] -= 1;
        }
    }
    Assignment {
        total: total(problem, &mentor_of),
        mentor_of,
        method: Method::Greedy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The best total by trying every assignment (small cohorts only).
    fn brute_force(problem: &Problem) -> i64 {
        fn go(problem: &Problem, mentee: usize, left: &mut Vec<usize>) -> i64 {
            if mentee == problem.scores.len() {
                return 0;
            }
            let mut best = go(problem, mentee + 1, left);
            for mentor in 0..left.len() {
                if let Some(score) = problem.scores[mentee][mentor]
                    && left[mentor] > 0
                {
                    left[mentor] -= 1;
                    best = best.max(score + go(problem, mentee + 1, left));
                    left[mentor] += 1;
                }
            }
            best
        }
        go(problem, 0, &mut problem.capacity.clone())
    }

    fn valid(problem: &Problem, a: &Assignment) {
        let mut used = vec![0; problem.capacity.len()];
        for (mentee, mentor) in a.mentor_of.iter().enumerate() {
            if let Some(m) = mentor {
                assert!(problem.scores[mentee][*m].is_some(), "a forbidden pair");
                used[*m] += 1;
            }
        }
        for (m, &n) in used.iter().enumerate() {
            assert!(n <= problem.capacity[m], "mentor {m} over capacity");
        }
    }

    #[test]
    fn the_optimum_beats_the_greedy_where_greed_goes_wrong() {
        // Greedy takes A–X (10), then B has only Y (0): 10. The optimum: A–Y (9) and B–X (9): 18.
        let problem = Problem {
            scores: vec![vec![Some(10), Some(9)], vec![Some(9), Some(0)]],
            capacity: vec![1, 1],
        };
        assert_eq!(greedy(&problem).total, 10);
        let best = optimal(&problem);
        assert_eq!(best.total, 18);
        assert_eq!(best.mentor_of, [Some(1), Some(0)]);
    }

    #[test]
    fn capacity_places_and_forbidden_pairs_are_respected() {
        // Mentor 0 takes two; mentee 2 may not have mentor 0 and mentor 1 is full after mentee 1.
        let problem = Problem {
            scores: vec![
                vec![Some(50), None],
                vec![Some(40), Some(45)],
                vec![None, Some(30)],
            ],
            capacity: vec![2, 1],
        };
        let best = optimal(&problem);
        valid(&problem, &best);
        assert_eq!(best.total, 50 + 40 + 30);
        assert_eq!(best.mentor_of, [Some(0), Some(0), Some(1)]);
        // Nobody allowed: unmatched, never forced.
        let none = Problem {
            scores: vec![vec![None, None]],
            capacity: vec![1, 1],
        };
        assert_eq!(optimal(&none).mentor_of, [None]);
    }

    #[test]
    fn matches_the_brute_force_optimum_on_random_small_cohorts() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for case in 0..300 {
            let mentees = 1 + next(6) as usize;
            let mentors = 1 + next(4) as usize;
            let problem = Problem {
                scores: (0..mentees)
                    .map(|_| {
                        (0..mentors)
                            .map(|_| (next(5) > 0).then(|| next(100) as i64))
                            .collect()
                    })
                    .collect(),
                capacity: (0..mentors).map(|_| next(3) as usize).collect(),
            };
            let best = optimal(&problem);
            valid(&problem, &best);
            assert_eq!(
                best.total,
                brute_force(&problem),
                "case {case}: {problem:?}"
            );
            let quick = greedy(&problem);
            valid(&problem, &quick);
            assert!(
                2 * quick.total >= best.total,
                "case {case}: greedy below half"
            );
        }
    }

    #[test]
    fn among_equal_totals_more_mentees_are_matched() {
        // A pair worth 0 still beats leaving the mentee out.
        let problem = Problem {
            scores: vec![vec![Some(7), None], vec![None, Some(0)]],
            capacity: vec![1, 1],
        };
        assert_eq!(optimal(&problem).mentor_of, [Some(0), Some(1)]);
        // A negative score, or one missing from a short row, is forbidden.
        let odd = Problem {
            scores: vec![vec![Some(-3)], vec![]],
            capacity: vec![1],
        };
        assert_eq!(optimal(&odd).mentor_of, [None, None]);
        assert_eq!(greedy(&odd).mentor_of, [None, None]);
    }

    #[test]
    fn large_cohorts_are_matched_greedily_and_say_so() {
        let problem = Problem {
            scores: vec![vec![Some(1); 10]; OPTIMAL_LIMIT],
            capacity: vec![1; 10],
        };
        let a = assign(&problem);
        assert_eq!(a.method, Method::Greedy);
        assert_eq!(a.mentor_of.iter().filter(|m| m.is_some()).count(), 10);
        let small = Problem {
            scores: vec![vec![Some(1)]],
            capacity: vec![1],
        };
        assert_eq!(assign(&small).method, Method::Optimal);
    }
}
