//! What several portal pages show alike: a member's readiness for a role — the score, the computation
//! in words, each requirement against the member's level, and the gaps with the courses that teach
//! them (`portal/readiness.html`).

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::{
    error::ApiError,
    modules::career::{
        learning,
        readiness::{Gap, Readiness},
    },
    tenancy::TenantTx,
};

pub(super) struct ReadinessView {
    pub score: u8,
    pub explanation: String,
    pub critical_missing: Vec<String>,
    pub requirements: Vec<RequirementView>,
    pub gaps: Vec<GapView>,
    /// Gaps left out (the home page shows the largest few).
    pub more_gaps: usize,
}

pub(super) struct RequirementView {
    pub skill: String,
    pub min_level: u8,
    pub level: String,
    pub weight: u16,
    pub critical: bool,
    pub met: bool,
}

pub(super) struct GapView {
    pub skill: String,
    pub level: String,
    pub min_level: u8,
    pub critical: bool,
    pub courses: Vec<CourseView>,
}

pub(super) struct CourseView {
    course_id: Uuid,
    pub id: String,
    pub title: String,
    pub provider: String,
    pub url: Option<String>,
    pub minutes: Option<i32>,
    pub closes_gap: bool,
    /// The member's enrolment in it (`enrolled`, `in progress`, `completed`), if any: no "Enrol" then.
    pub mine: Option<String>,
}

/// The member's enrolments by course, but those they left (which they may take up again).
pub(super) async fn my_courses(
    tx: &TenantTx,
    user: Uuid,
) -> Result<BTreeMap<Uuid, String>, ApiError> {
    Ok(learning::enrolments(tx, user)
        .await?
        .into_iter()
        .filter(|e| e.status != "dropped")
        .map(|e| (e.course_id, e.status.replace('_', " ")))
        .collect())
}

impl ReadinessView {
    /// The readiness with its `gaps` largest gaps (in the order the readiness lists them: weight ×
    /// shortfall) and at most `courses` courses each.
    pub(super) fn of(readiness: Readiness, gaps: usize, courses: usize) -> ReadinessView {
        let more_gaps = readiness.gaps.len().saturating_sub(gaps);
        ReadinessView {
            score: readiness.score,
            explanation: readiness.explanation,
            critical_missing: readiness.critical_missing,
            requirements: readiness
                .requirements
                .into_iter()
                .map(|r| RequirementView {
                    skill: r.skill,
                    min_level: r.min_level,
                    level: format!("{:.1}", r.level),
                    weight: r.weight,
                    critical: r.critical,
                    met: r.met,
                })
                .collect(),
            gaps: readiness
                .gaps
                .into_iter()
                .take(gaps)
                .map(|gap| GapView::of(gap, courses))
                .collect(),
            more_gaps,
        }
    }

    /// Marks the courses the member is enrolled in or has completed.
    pub(super) fn with_enrolments(mut self, mine: &BTreeMap<Uuid, String>) -> ReadinessView {
        for course in self.gaps.iter_mut().flat_map(|g| g.courses.iter_mut()) {
            course.mine = mine.get(&course.course_id).cloned();
        }
        self
    }
}

impl GapView {
    fn of(gap: Gap, courses: usize) -> GapView {
        GapView {
            skill: gap.skill,
            level: format!("{:.1}", gap.level),
            min_level: gap.min_level,
            critical: gap.critical,
            courses: gap
                .learning
                .into_iter()
                .take(courses)
                .map(|c| CourseView {
                    course_id: c.course_id,
                    id: c.course_id.to_string(),
                    title: c.title,
                    provider: c.provider,
                    url: c.url,
                    minutes: c.duration_minutes,
                    closes_gap: c.closes_gap,
                    mine: None,
                })
                .collect(),
        }
    }
}
