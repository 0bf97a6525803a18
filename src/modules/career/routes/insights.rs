//! `/api/v1/career/me/next-roles` (where the caller could go next) and `/api/v1/career/insights/skills`
//! (HR's skill heat-map per department).

use actix_web::{
    get,
    web::{Data, Json},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::NamedRef;
use crate::{
    auth::AccessToken,
    authz::{Act, Obj},
    error::ApiResult,
    http::ValidQuery,
    modules::career::{
        insights::{self, Cell, DepartmentRow, PROFICIENT, SkillColumn},
        pathways, profiles,
        readiness::{Gap, Readiness},
        suggestions,
    },
    state::AppState,
};

/// Gaps listed per suggested role, at most.
const SUGGESTION_GAPS: usize = 3;

#[derive(Debug, Serialize, ToSchema)]
pub struct NextRoleResponse {
    pub role: NamedRef,
    pub track: String,
    pub level: i16,
    /// The organization lists it as a typical next step from the current role.
    pub listed_next_step: bool,
    /// Colleagues who moved here from the current role; null when none or fewer than
    /// `min_group_size` (never shown below it).
    pub colleagues_moved: Option<i64>,
    /// Readiness for the role, 0–100.
    pub readiness: u8,
    pub explanation: String,
    /// Why it is suggested, in words.
    pub why: String,
    /// The largest gaps (at most 3), each with the courses that teach it.
    pub top_gaps: Vec<Gap>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextRolesResponse {
    /// The role the caller holds now (suggestions start from it); null when no position is recorded.
    pub current_role: Option<NamedRef>,
    pub min_group_size: i64,
    /// Most ready first.
    pub items: Vec<NextRoleResponse>,
}

fn next_role(s: suggestions::Suggestion) -> NextRoleResponse {
    let Readiness {
        score,
        explanation,
        mut gaps,
        ..
    } = s.readiness;
    gaps.truncate(SUGGESTION_GAPS);
    NextRoleResponse {
        role: NamedRef {
            id: s.role.id,
            name: s.role.title,
        },
        track: s.role.track,
        level: s.role.level,
        listed_next_step: s.candidate.listed,
        colleagues_moved: s.candidate.moved,
        readiness: score,
        explanation,
        why: s.why,
        top_gaps: gaps,
    }
}

/// Suggested next roles: the typical next steps from the caller's current role and where colleagues
/// in it moved on to (only counts of at least `min_group_size`), ranked by the caller's readiness.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    responses((status = 200, description = "Suggested next roles", body = NextRolesResponse))
)]
#[get("/career/me/next-roles")]
pub async fn my_next_roles(
    state: Data<AppState>,
    token: AccessToken,
) -> ApiResult<Json<NextRolesResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Use).await?;
    let (user, _) = auth.principal.user()?;
    let k = state.settings.usage.min_group_size.max(1);
    let current = match pathways::positions(&auth.tx, user.as_uuid())
        .await?
        .into_iter()
        .find(|p| p.ended_on.is_none())
    {
        Some(position) => Some(pathways::role(&auth.tx, position.role_id).await?),
        None => None,
    };
    let mut items = Vec::new();
    if let Some(current) = &current {
        let skills = profiles::skills(&auth.tx, user.as_uuid(), auth.ctx.now).await?;
        let levels = profiles::levels(&skills);
        items = suggestions::next_roles(&auth.tx, user.as_uuid(), current, &levels, k)
            .await?
            .into_iter()
            .map(next_role)
            .collect();
    }
    auth.tx.commit().await?;
    Ok(Json(NextRolesResponse {
        current_role: current.map(|r| NamedRef {
            id: r.id,
            name: r.title,
        }),
        min_group_size: k,
        items,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HeatMapQuery {
    /// The skills of this specialization, or of every specialization of this function area; without
    /// it, the skills most required by active career roles, then most held.
    pub group_id: Option<Uuid>,
    /// Skills (columns), 1 to 50; 20 by default.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeatMapSkill {
    pub skill: NamedRef,
    /// Active career roles that require it.
    pub required_by_roles: i64,
}

impl From<SkillColumn> for HeatMapSkill {
    fn from(c: SkillColumn) -> Self {
        HeatMapSkill {
            skill: NamedRef {
                id: c.id,
                name: c.name,
            },
            required_by_roles: c.required_by_roles,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeatMapCell {
    pub skill_id: Uuid,
    /// Members with an effective level of at least 1.
    pub holders: Option<i64>,
    /// Holders at the proficient level or above.
    pub proficient: Option<i64>,
    /// The holders' average effective level.
    pub average_level: Option<f64>,
    /// True when the figures are withheld: they would describe fewer than `min_group_size` people.
    pub suppressed: bool,
}

impl From<Cell> for HeatMapCell {
    fn from(c: Cell) -> Self {
        HeatMapCell {
            skill_id: c.skill_id,
            holders: c.holders,
            proficient: c.proficient,
            average_level: c.average_level,
            suppressed: c.suppressed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeatMapRow {
    /// The department; null for the row gathering the departments too small to show alone.
    pub department: Option<String>,
    /// Active members, when shown.
    pub members: Option<i64>,
    /// One per skill, in the order of `skills`.
    pub cells: Vec<HeatMapCell>,
    pub suppressed: bool,
}

impl From<DepartmentRow> for HeatMapRow {
    fn from(r: DepartmentRow) -> Self {
        HeatMapRow {
            department: r.department,
            members: r.members,
            cells: r.cells.into_iter().map(Into::into).collect(),
            suppressed: r.suppressed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeatMapResponse {
    /// No figure describes fewer people than this.
    pub min_group_size: i64,
    /// The effective level counted as proficient.
    pub proficient_level: f64,
    pub skills: Vec<HeatMapSkill>,
    pub departments: Vec<HeatMapRow>,
}

/// The skill heat-map: per department, holders, proficient holders and average level of each skill
/// (career:read), with k-anonymity.
#[utoipa::path(
    tag = "career",
    security(("bearer" = [])),
    params(HeatMapQuery),
    responses((status = 200, description = "The heat-map", body = HeatMapResponse))
)]
#[get("/career/insights/skills")]
pub async fn skill_heat_map(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<HeatMapQuery>,
) -> ApiResult<Json<HeatMapResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Career, Act::Read).await?;
    let k = state.settings.usage.min_group_size.max(1);
    let columns = insights::columns(&auth.tx, query.group_id, query.limit.unwrap_or(20)).await?;
    let ids: Vec<Uuid> = columns.iter().map(|c| c.id).collect();
    let tallies = insights::tallies(&auth.tx, &ids, auth.ctx.now).await?;
    auth.tx.commit().await?;
    Ok(Json(HeatMapResponse {
        min_group_size: k,
        proficient_level: PROFICIENT,
        departments: insights::publish(tallies, &ids, k)
            .into_iter()
            .map(Into::into)
            .collect(),
        skills: columns.into_iter().map(Into::into).collect(),
    }))
}
