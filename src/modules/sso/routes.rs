//! `/api/v1/sso/...`: the OpenID Connect connection, its test, and the directory's role mappings.

use actix_web::{
    HttpResponse, delete, get, post, put,
    web::{Data, Json},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    connection::{self, Connection, ConnectionInput},
    mappings::{self, Mapping, Mappings},
};
use crate::{
    auth::{AccessToken, oidc::flow::CALLBACK_PATH},
    authz::{Act, Obj},
    error::{ApiError, ApiResult},
    http::{RequestContext, ValidJson},
    state::AppState,
    tenancy::Tenant,
    tenancy::plan::Feature,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct OidcConnectionResponse {
    pub id: Uuid,
    pub issuer_url: String,
    pub client_id: String,
    /// The secret itself is never returned.
    pub client_secret_set: bool,
    pub scopes: Vec<String>,
    pub allowed_email_domains: Vec<String>,
    pub jit_provisioning: bool,
    pub groups_claim: String,
    pub sso_required: bool,
    pub enabled: bool,
    /// Register this as the redirect URI at the identity provider.
    pub redirect_uri: String,
    /// Where members start signing in.
    pub sign_in_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OidcConnectionResponse {
    pub(crate) fn new(
        c: Connection,
        state: &AppState,
        tenant: &Tenant,
        request: &RequestContext,
    ) -> Self {
        OidcConnectionResponse {
            id: c.id,
            redirect_uri: state.tenant_url(request.scheme, &tenant.slug, CALLBACK_PATH),
            sign_in_url: state.tenant_url(request.scheme, &tenant.slug, "/auth/sso/start"),
            issuer_url: c.issuer_url,
            client_id: c.client_id,
            client_secret_set: !c.client_secret_sealed.is_empty(),
            scopes: c.scopes,
            allowed_email_domains: c.allowed_email_domains,
            jit_provisioning: c.jit_provisioning,
            groups_claim: c.groups_claim,
            sso_required: c.sso_required,
            enabled: c.enabled,
            created_at: c.created_at.to_utc(),
            updated_at: c.updated_at.to_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "issuer_url": "https://login.microsoftonline.com/3f0c9a4e-0000-4000-8000-000000000000/v2.0",
    "client_id": "0c4b1b6e-1111-4000-8000-000000000000",
    "client_secret": "the secret from the provider",
    "scopes": ["openid", "email", "profile"],
    "allowed_email_domains": ["acme.example"],
    "jit_provisioning": true,
    "groups_claim": "groups",
    "sso_required": false
}))]
pub struct PutOidcConnectionRequest {
    /// The provider's issuer, exactly as its discovery document states it (a trailing slash matters).
    pub issuer_url: String,
    pub client_id: String,
    /// Required for a new connection; leave it out to keep the stored one.
    pub client_secret: Option<String>,
    /// Default `openid email profile`; must include `openid`.
    pub scopes: Option<Vec<String>>,
    /// Only addresses in these domains may sign in (empty: any).
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    /// Create a member at their first sign-in (default off: members must be invited or provisioned).
    #[serde(default)]
    pub jit_provisioning: bool,
    /// The ID token claim that lists the member's groups (default `groups`).
    pub groups_claim: Option<String>,
    /// Refuse password sign-in to everyone but owners (who keep it as a way in if the provider fails).
    #[serde(default)]
    pub sso_required: bool,
    /// Default true.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct TestOidcRequest {
    /// Test this issuer instead of the saved one (before saving it).
    pub issuer_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OidcTestResponse {
    /// Whether sign-ins can work with what was found.
    pub ok: bool,
    pub issuer_url: String,
    /// `discovery` when the provider's document could not be read or did not match.
    pub failed_step: Option<String>,
    pub error: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub signing_keys: Option<usize>,
    pub pkce_s256: Option<bool>,
    pub scopes_supported: Option<Vec<String>>,
    /// Things that will not stop sign-ins but deserve a look (scopes the provider does not list...).
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoleMappingBody {
    /// A group as the directory names it: a value of the groups claim, or a SCIM group's display name
    /// or external id.
    pub group: String,
    pub role: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"default_role": "member", "mappings": [{"group": "hr-team", "role": "hr"}, {"group": "it-admins", "role": "admin"}]}))]
pub struct RoleMappingsBody {
    /// The role of a member in none of the mapped groups (and of new members when nothing is mapped).
    pub default_role: String,
    /// In order: the first that names one of a member's groups gives their role. Empty: roles are
    /// managed in Trellis and the directory does not change them.
    pub mappings: Vec<RoleMappingBody>,
}

impl From<Mappings> for RoleMappingsBody {
    fn from(m: Mappings) -> Self {
        RoleMappingsBody {
            default_role: m.default_role,
            mappings: m
                .mappings
                .into_iter()
                .map(|m| RoleMappingBody {
                    group: m.group,
                    role: m.role,
                })
                .collect(),
        }
    }
}

/// The organization's OpenID Connect connection (never its secret).
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The connection", body = OidcConnectionResponse),
        (status = 404, description = "`sso_not_configured`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sso/oidc")]
pub async fn get_oidc_connection(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    request: RequestContext,
) -> ApiResult<Json<OidcConnectionResponse>> {
    tenant.require(&state.settings.plans, Feature::Sso)?;
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    let found = connection::get(&auth.tx).await?;
    auth.tx.commit().await?;
    Ok(Json(OidcConnectionResponse::new(
        found, &state, &tenant, &request,
    )))
}

/// Creates or replaces the OpenID Connect connection. The client secret is stored encrypted.
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    request_body = PutOidcConnectionRequest,
    responses(
        (status = 200, description = "Replaced", body = OidcConnectionResponse),
        (status = 201, description = "Created", body = OidcConnectionResponse),
        (status = 422, description = "Invalid settings", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/sso/oidc")]
pub async fn put_oidc_connection(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<PutOidcConnectionRequest>,
) -> ApiResult<HttpResponse> {
    tenant.require(&state.settings.plans, Feature::Sso)?;
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    let body = body.into_inner();
    let input = ConnectionInput {
        issuer_url: body.issuer_url,
        client_id: body.client_id,
        client_secret: body.client_secret,
        scopes: body.scopes,
        allowed_email_domains: body.allowed_email_domains,
        jit_provisioning: body.jit_provisioning,
        groups_claim: body.groups_claim,
        sso_required: body.sso_required,
        enabled: body.enabled.unwrap_or(true),
    };
    let (saved, created) = connection::put(
        &auth.tx,
        &auth.ctx,
        &state.crypto,
        state.settings.sso.allow_insecure_issuers,
        input,
    )
    .await?;
    auth.tx.commit().await?;
    state.oidc.forget(&saved.issuer_url);
    let body = OidcConnectionResponse::new(saved, &state, &tenant, &request);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// Removes the OpenID Connect connection (and "SSO required" with it).
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`sso_not_configured`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/sso/oidc")]
pub async fn delete_oidc_connection(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<HttpResponse> {
    tenant.require(&state.settings.plans, Feature::Sso)?;
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    connection::delete(&auth.tx, &auth.ctx).await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Runs discovery against the provider (the saved issuer, or the one given; send `{}` for the saved
/// one) and reports what it found, or exactly what failed. Changes nothing.
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    request_body = TestOidcRequest,
    responses((status = 200, description = "The report (`ok` false says what failed)", body = OidcTestResponse))
)]
#[post("/sso/oidc/test")]
pub async fn test_oidc_connection(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<TestOidcRequest>,
) -> ApiResult<Json<OidcTestResponse>> {
    tenant.require(&state.settings.plans, Feature::Sso)?;
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    let requested = body.into_inner().issuer_url;
    let (issuer, scopes) = match requested {
        Some(issuer) => (issuer.trim().to_owned(), Vec::new()),
        None => {
            let saved = connection::get(&auth.tx).await?;
            (saved.issuer_url, saved.scopes)
        }
    };
    // The provider is talked to with no transaction open.
    auth.tx.commit().await?;
    connection::check_issuer(&issuer, state.settings.sso.allow_insecure_issuers)
        .map_err(|message| ApiError::validation("issuer_url", message))?;
    Ok(Json(run_test(&state, issuer, &scopes).await))
}

pub(crate) async fn run_test(
    state: &AppState,
    issuer: String,
    scopes: &[String],
) -> OidcTestResponse {
    let discovered = match state.oidc.discover_uncached(&issuer).await {
        Ok(found) => found,
        Err(error) => {
            return OidcTestResponse {
                ok: false,
                issuer_url: issuer,
                failed_step: Some("discovery".into()),
                error: Some(error.to_string()),
                authorization_endpoint: None,
                token_endpoint: None,
                jwks_uri: None,
                signing_keys: None,
                pkce_s256: None,
                scopes_supported: None,
                warnings: Vec::new(),
            };
        }
    };
    let metadata = &discovered.metadata;
    let supported: Option<Vec<String>> = metadata
        .scopes_supported()
        .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect());
    let pkce_s256 = metadata
        .additional_metadata()
        .code_challenge_methods_supported
        .as_ref()
        .map(|methods| methods.iter().any(|m| m == "S256"));
    let mut warnings = Vec::new();
    if let Some(supported) = &supported {
        for scope in scopes.iter().filter(|s| !supported.contains(s)) {
            warnings.push(format!("the provider does not list the scope {scope}"));
        }
    }
    if pkce_s256 == Some(false) {
        warnings.push("the provider does not list PKCE with S256".into());
    }
    let token_endpoint = metadata.token_endpoint().map(|u| u.as_str().to_owned());
    let keys = discovered.key_count();
    let error = if token_endpoint.is_none() {
        Some("the provider's document has no token endpoint".to_owned())
    } else if keys == 0 {
        Some("the provider publishes no signing keys".to_owned())
    } else {
        None
    };
    OidcTestResponse {
        ok: error.is_none(),
        failed_step: error.as_ref().map(|_| "discovery".to_owned()),
        error,
        issuer_url: issuer,
        authorization_endpoint: Some(metadata.authorization_endpoint().as_str().to_owned()),
        token_endpoint,
        jwks_uri: Some(metadata.jwks_uri().as_str().to_owned()),
        signing_keys: Some(keys),
        pkce_s256,
        scopes_supported: supported,
        warnings,
    }
}

/// How directory groups map to roles.
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    responses((status = 200, description = "The mappings", body = RoleMappingsBody))
)]
#[get("/sso/role-mappings")]
pub async fn get_role_mappings(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
) -> ApiResult<Json<RoleMappingsBody>> {
    // Directory groups come from the identity provider or from SCIM: either feature will do.
    if !tenant.has(&state.settings.plans, Feature::Sso) {
        tenant.require(&state.settings.plans, Feature::Scim)?;
    }
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    let found = mappings::get(&auth.tx).await?;
    auth.tx.commit().await?;
    Ok(Json(found.into()))
}

/// Replaces the default role and the group mappings. Members' roles follow at their next SSO
/// sign-in or SCIM group change; owners are never changed by the directory.
#[utoipa::path(
    tag = "sso",
    security(("bearer" = [])),
    request_body = RoleMappingsBody,
    responses(
        (status = 200, description = "The mappings now", body = RoleMappingsBody),
        (status = 403, description = "`role_escalation`: a role with permissions you do not hold", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown roles, owner, duplicates", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/sso/role-mappings")]
pub async fn put_role_mappings(
    state: Data<AppState>,
    tenant: Tenant,
    token: AccessToken,
    body: ValidJson<RoleMappingsBody>,
) -> ApiResult<Json<RoleMappingsBody>> {
    // Directory groups come from the identity provider or from SCIM: either feature will do.
    if !tenant.has(&state.settings.plans, Feature::Sso) {
        tenant.require(&state.settings.plans, Feature::Scim)?;
    }
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Sso, Act::Manage).await?;
    let body = body.into_inner();
    let new = Mappings {
        default_role: body.default_role,
        mappings: body
            .mappings
            .into_iter()
            .map(|m| Mapping {
                group: m.group,
                role: m.role,
            })
            .collect(),
    };
    let saved = mappings::put(&auth.tx, &auth.ctx, &state.authz, &auth.principal, new).await?;
    auth.tx.commit().await?;
    Ok(Json(saved.into()))
}
