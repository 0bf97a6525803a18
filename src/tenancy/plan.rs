//! Plans: what an organization pays for. Each tenant has a plan (`free`, `pro`, `enterprise`; the
//! platform operator sets it with `trellis tenant update`), and each plan — configuration, `plans.*` —
//! has a default seat limit, an API rate limit per minute and its features. The seat limit itself is
//! the tenant's (`tenants.seat_limit`, set from the plan and changeable per contract), as is an optional
//! rate-limit override. A feature the plan lacks hides its routes: they answer 404 as if they did not
//! exist.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Tenant;
use crate::{config::PlansSettings, error::ApiError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Plan::Free, Plan::Pro, Plan::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn parse(name: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// What a plan may include.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Single sign-on with the organization's OpenID Connect provider.
    Sso,
    /// Provisioning by the organization's directory (SCIM 2.0).
    Scim,
    /// The audit log streamed to the organization's SIEM.
    AuditStream,
    Interview,
    Networking,
}

/// One plan's limits and features, as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// The seat limit an organization gets when it is put on the plan.
    pub seat_limit: i32,
    pub api_requests_per_minute: u32,
    pub features: Vec<Feature>,
}

impl PlansSettings {
    pub fn of(&self, plan: Plan) -> &PlanSettings {
        match plan {
            Plan::Free => &self.free,
            Plan::Pro => &self.pro,
            Plan::Enterprise => &self.enterprise,
        }
    }

    /// The plans that include `feature`.
    pub fn with(&self, feature: Feature) -> Vec<Plan> {
        Plan::ALL
            .into_iter()
            .filter(|p| self.of(*p).features.contains(&feature))
            .collect()
    }
}

impl Tenant {
    pub fn has(&self, plans: &PlansSettings, feature: Feature) -> bool {
        plans.of(self.plan).features.contains(&feature)
    }

    /// 404 (like a route that does not exist) when the organization's plan lacks `feature`.
    pub fn require(&self, plans: &PlansSettings, feature: Feature) -> Result<(), ApiError> {
        if self.has(plans, feature) {
            Ok(())
        } else {
            Err(ApiError::NotFound {
                code: "route_not_found",
            })
        }
    }

    /// API requests per minute: the tenant's own limit, else its plan's.
    pub fn api_rate_limit(&self, plans: &PlansSettings) -> u32 {
        self.api_rate_limit
            .and_then(|l| u32::try_from(l).ok())
            .unwrap_or(plans.of(self.plan).api_requests_per_minute)
    }
}
