//! Progress across mock interviews (docs/interview.md, "Progress"), pure: per dimension, the trend
//! from the earlier sessions to the later ones rather than any single score, and the strengths and
//! focus areas of the latest sessions.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::analysis::Dimension;

/// A change of at least this many points between the earlier and the later sessions is a trend.
pub const TREND_POINTS: f64 = 5.0;
/// The latest sessions strengths and focus areas are read from.
pub const RECENT_SESSIONS: usize = 3;
/// A recent average at least this is a strength; below [`FOCUS_BELOW`] a focus area.
pub const STRENGTH_FROM: f64 = 70.0;
pub const FOCUS_BELOW: f64 = 60.0;

/// One completed session: its dimensions' means over its answers, oldest session first.
pub type SessionScores = BTreeMap<Dimension, f64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Improving,
    Steady,
    Declining,
    /// Fewer than two sessions scored the dimension.
    NotEnoughData,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Trend {
    pub dimension: Dimension,
    pub sessions: usize,
    /// The mean over the earlier half of the sessions that scored it, and over the later half.
    pub earlier: Option<f64>,
    pub later: Option<f64>,
    /// `later − earlier`.
    pub change: Option<f64>,
    pub direction: Direction,
    /// The dimension's mean in each session that scored it, oldest first.
    pub series: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Progress {
    pub trends: Vec<Trend>,
    /// Dimensions whose mean over the latest sessions is at least 70, best first (at most 3).
    pub strengths: Vec<Dimension>,
    /// Dimensions whose mean over the latest sessions is below 60, weakest first (at most 3).
    pub focus_areas: Vec<Dimension>,
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| round1(values.iter().sum::<f64>() / values.len() as f64))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Summarises sessions (oldest first).
pub fn summarise(sessions: &[SessionScores]) -> Progress {
    let mut trends = Vec::new();
    let mut recent: Vec<(Dimension, f64)> = Vec::new();
    for dimension in Dimension::ALL {
        let series: Vec<f64> = sessions
            .iter()
            .filter_map(|s| s.get(&dimension).copied())
            .map(round1)
            .collect();
        if series.is_empty() {
            continue;
        }
        let half = series.len() / 2;
        let (earlier, later) = if series.len() >= 2 {
            (mean(&series[..half]), mean(&series[series.len() - half..]))
        } else {
            (None, None)
        };
        let change = earlier.zip(later).map(|(e, l)| round1(l - e));
        let direction = match change {
            None => Direction::NotEnoughData,
            Some(c) if c >= TREND_POINTS => Direction::Improving,
            Some(c) if c <= -TREND_POINTS => Direction::Declining,
            Some(_) => Direction::Steady,
        };
        if let Some(latest) = mean(&series[series.len().saturating_sub(RECENT_SESSIONS)..]) {
            recent.push((dimension, latest));
        }
        trends.push(Trend {
            dimension,
            sessions: series.len(),
            earlier,
            later,
            change,
            direction,
            series,
        });
    }
    let mut strengths: Vec<(Dimension, f64)> = recent
        .iter()
        .filter(|(_, m)| *m >= STRENGTH_FROM)
        .copied()
        .collect();
    strengths.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut focus: Vec<(Dimension, f64)> = recent
        .iter()
        .filter(|(_, m)| *m < FOCUS_BELOW)
        .copied()
        .collect();
    focus.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    Progress {
        trends,
        strengths: strengths.into_iter().take(3).map(|(d, _)| d).collect(),
        focus_areas: focus.into_iter().take(3).map(|(d, _)| d).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pairs: &[(Dimension, f64)]) -> SessionScores {
        pairs.iter().copied().collect()
    }

    #[test]
    fn trends_compare_the_earlier_half_with_the_later_half() {
        use Dimension::*;
        let progress = summarise(&[
            session(&[(Ownership, 20.0), (Clarity, 80.0), (Results, 50.0)]),
            session(&[(Ownership, 40.0), (Clarity, 82.0), (Results, 50.0)]),
            session(&[(Ownership, 60.0), (Clarity, 70.0)]),
            session(&[(Ownership, 80.0), (Clarity, 60.0), (Results, 52.0)]),
        ]);
        let trend = |d: Dimension| progress.trends.iter().find(|t| t.dimension == d).unwrap();
        // (60 + 80) / 2 − (20 + 40) / 2 = 40
        assert_eq!(trend(Ownership).change, Some(40.0));
        assert_eq!(trend(Ownership).direction, Direction::Improving);
        assert_eq!(trend(Clarity).change, Some(-16.0));
        assert_eq!(trend(Clarity).direction, Direction::Declining);
        // Three sessions scored results: the first against the last.
        assert_eq!(trend(Results).series, [50.0, 50.0, 52.0]);
        assert_eq!(trend(Results).direction, Direction::Steady);
        // The latest three sessions: ownership 60, clarity 70.7, results 51.
        assert_eq!(progress.strengths, [Clarity]);
        assert_eq!(progress.focus_areas, [Results]);
    }

    #[test]
    fn one_session_is_not_a_trend() {
        let progress = summarise(&[session(&[(Dimension::Verbs, 90.0)])]);
        assert_eq!(progress.trends[0].direction, Direction::NotEnoughData);
        assert_eq!(progress.trends[0].change, None);
        assert_eq!(progress.strengths, [Dimension::Verbs]);
        assert!(summarise(&[]).trends.is_empty());
    }
}
