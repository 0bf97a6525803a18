//! Signed-in requests. [`AccessToken`] (an extractor) checks the bearer token without touching the
//! database; [`AccessToken::open`] then opens the request's [`TenantTx`] with the session check in the
//! same message: the session must exist and be live and the user active, and the member's role is read
//! from `memberships` there and then. Anything else is 401.

use std::future::{Ready, ready};

use chrono::{DateTime, Utc};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web::Data};
use tracing_actix_web::RootSpan;

use super::{
    session_check,
    tokens::{self, AccessClaims, TokenError},
};
use crate::{
    audit::{Actor, AuditCtx},
    domain::{SessionId, TenantId, UserId},
    error::ApiError,
    http::RequestContext,
    state::AppState,
    tenancy::{Tenant, TenantTx},
};

/// Who is making the request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub email: String,
    pub display_name: String,
    /// The member's org role now, from `memberships`; `None` for a user without one.
    pub role: Option<String>,
}

impl Principal {
    /// How mails and pages name this person: their display name, or their email.
    pub fn display_label(&self) -> String {
        if self.display_name.is_empty() {
            self.email.clone()
        } else {
            format!("{} ({})", self.display_name, self.email)
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::user(self.user_id, &self.email)
    }
}

/// A signed-in request: the principal, its open tenant transaction and its audit context.
pub struct Authenticated {
    pub principal: Principal,
    pub tx: TenantTx,
    pub ctx: AuditCtx,
}

/// The extractor every signed-in route starts with: a bearer token whose signature, `kid`, expiry and
/// `tid` (the tenant of this Host) are checked, without touching the database. The handler then calls
/// [`AccessToken::open`] — after its body has been read, so a slow client never holds a connection.
pub struct AccessToken {
    tenant: Tenant,
    claims: AccessClaims,
    request: RequestContext,
    now: DateTime<Utc>,
}

impl FromRequest for AccessToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verify_token(req))
    }
}

fn verify_token(req: &HttpRequest) -> Result<AccessToken, ApiError> {
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
    let tenant = req
        .extensions()
        .get::<Tenant>()
        .cloned()
        .ok_or(ApiError::NotFound {
            code: "tenant_not_found",
        })?;
    let token = bearer_token(req).ok_or(ApiError::Unauthorized {
        code: "authentication_required",
    })?;
    let now = state.clock.now();
    let claims =
        tokens::verify(&state.jwt_keys, token, &state.settings.auth.issuer, now).map_err(|e| {
            match e {
                TokenError::Expired => ApiError::Unauthorized {
                    code: "token_expired",
                },
                TokenError::Invalid => ApiError::Unauthorized {
                    code: "invalid_token",
                },
            }
        })?;
    if claims.tid != tenant.id {
        return Err(ApiError::Unauthorized {
            code: "invalid_token",
        });
    }
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("user_id", tracing::field::display(claims.sub));
    }
    let request = req
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    Ok(AccessToken {
        tenant,
        claims,
        request,
        now,
    })
}

impl AccessToken {
    /// Opens the request's transaction and, in the same round trip, checks the session (it exists, is
    /// not revoked or past its lifetime) and the user (active), and reads the member's role. 401 otherwise.
    pub async fn open(self, state: &AppState) -> Result<Authenticated, ApiError> {
        let AccessToken {
            tenant,
            claims,
            request,
            now,
        } = self;
        let (tx, session) =
            session_check::begin(&state.pool, tenant.id, claims.sub, claims.sid, now).await?;
        let session = session.ok_or(ApiError::Unauthorized {
            code: "session_revoked",
        })?;
        if !session.session_active || session.user_status != "active" {
            return Err(ApiError::Unauthorized {
                code: "session_revoked",
            });
        }
        let principal = Principal {
            tenant_id: tenant.id,
            user_id: claims.sub,
            session_id: claims.sid,
            email: session.email,
            display_name: session.display_name,
            role: session.role,
        };
        let ctx = AuditCtx {
            actor: principal.actor(),
            request,
            now,
        };
        Ok(Authenticated { principal, tx, ctx })
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
