//! Signed-in requests. [`AccessToken`] (an extractor) reads the bearer credential without touching the
//! database: an access token (signature, `kid`, expiry, `tid` = the tenant of this Host) or an API key
//! (`trk_<prefix>_<secret>`, checked for shape). [`AccessToken::open`] then opens the request's
//! [`TenantTx`] and, in the same message, checks what only the database knows: the session is live and
//! the user active (role from `memberships`), or the API key is known, unrevoked and unexpired (its role
//! or permissions). Anything else is 401.

use std::{
    collections::BTreeSet,
    future::{Ready, ready},
};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web::Data};
use chrono::{DateTime, Utc};
use tracing_actix_web::RootSpan;
use uuid::Uuid;

use super::{
    api_keys::{self, PresentedKey},
    session_check,
    tokens::{self, AccessClaims, TokenError},
    web_session,
};
use crate::{
    audit::{Actor, AuditCtx},
    authz::Permission,
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
    pub subject: Subject,
    /// The org role now: the member's (from `memberships`) or the API key's.
    pub role: Option<String>,
    /// An API key limited to these permissions instead of a role.
    pub scope: Option<BTreeSet<Permission>>,
}

#[derive(Debug, Clone)]
pub enum Subject {
    User {
        user_id: UserId,
        session_id: SessionId,
        email: String,
        display_name: String,
    },
    ApiKey {
        key_id: Uuid,
        name: String,
    },
    /// An operator's command (`trellis import`) acting for the organization: no person, no key.
    System {
        name: String,
    },
}

impl Principal {
    /// The signed-in user, if it is one (not an API key).
    pub fn user_id(&self) -> Option<UserId> {
        match &self.subject {
            Subject::User { user_id, .. } => Some(*user_id),
            Subject::ApiKey { .. } | Subject::System { .. } => None,
        }
    }

    /// The user and session, for routes about the caller themselves or that only a person may use
    /// (creating API keys); 403 `user_only` for an API key.
    pub fn user(&self) -> Result<(UserId, SessionId), ApiError> {
        match &self.subject {
            Subject::User {
                user_id,
                session_id,
                ..
            } => Ok((*user_id, *session_id)),
            Subject::ApiKey { .. } | Subject::System { .. } => Err(ApiError::forbidden(
                "user_only",
                "only a signed-in person can do this, not an API key",
            )),
        }
    }

    /// How mails and pages name the caller.
    pub fn display_label(&self) -> String {
        match &self.subject {
            Subject::User {
                email,
                display_name,
                ..
            } if display_name.is_empty() => email.clone(),
            Subject::User {
                email,
                display_name,
                ..
            } => format!("{display_name} ({email})"),
            Subject::ApiKey { name, .. } => format!("the API key {name}"),
            Subject::System { name } => name.clone(),
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.subject {
            Subject::User { user_id, email, .. } => Actor::user(*user_id, email),
            Subject::ApiKey { key_id, name } => Actor::api_key(*key_id, name),
            Subject::System { name } => Actor::system(name),
        }
    }
}

/// A signed-in request: the principal, its open tenant transaction and its audit context.
pub struct Authenticated {
    pub principal: Principal,
    pub tx: TenantTx,
    pub ctx: AuditCtx,
}

enum Credential {
    Session(AccessClaims),
    ApiKey(PresentedKey),
}

/// The extractor every signed-in route starts with. The handler calls [`AccessToken::open`] after its
/// body has been read, so a slow client never holds a database connection.
pub struct AccessToken {
    tenant: Tenant,
    credential: Credential,
    request: RequestContext,
    now: DateTime<Utc>,
}

impl FromRequest for AccessToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let csrf = req
            .headers()
            .get(web_session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        ready(AccessToken::read(req, csrf.as_deref()))
    }
}

impl AccessToken {
    /// How a feature area's handler begins: the plan's `feature` (403 without it), then the credential,
    /// then `obj:act`.
    pub async fn open_for(
        self,
        state: &AppState,
        tenant: &crate::tenancy::Tenant,
        feature: crate::tenancy::plan::Feature,
        obj: crate::authz::Obj,
        act: crate::authz::Act,
    ) -> Result<Authenticated, ApiError> {
        tenant.require(&state.settings.plans, feature)?;
        let auth = self.open(state).await?;
        state.authz.require(&auth, obj, act).await?;
        Ok(auth)
    }

    /// Reads the credential: the `Authorization: Bearer` header, or else the console's session cookie.
    /// A cookie-authenticated request that changes state must carry the session's CSRF token
    /// (`csrf`: the `x-csrf-token` header, or the console form's field).
    pub fn read(req: &HttpRequest, csrf: Option<&str>) -> Result<AccessToken, ApiError> {
        read_credential(req, Csrf::Given(csrf))
    }

    /// Reads the credential of a cookie-authenticated post whose CSRF token travels inside its body
    /// (the console's multipart upload). The caller checks the token
    /// ([`web_session::verify_csrf`]) before anything changes; until then the transaction this opens
    /// may only read.
    pub fn read_csrf_in_body(req: &HttpRequest) -> Result<AccessToken, ApiError> {
        read_credential(req, Csrf::InBody)
    }

    /// Which API rate-limit bucket of its organization the request counts in: all members' tokens share
    /// one; each API key has its own (its public prefix: a made-up key exhausts only itself).
    pub fn rate_bucket(&self) -> String {
        match &self.credential {
            Credential::Session(_) => "members".to_owned(),
            Credential::ApiKey(key) => format!("key:{}", key.prefix()),
        }
    }

    /// The session an access token names (`None` for an API key).
    pub fn session_id(&self) -> Option<SessionId> {
        match &self.credential {
            Credential::Session(claims) => Some(claims.sid),
            Credential::ApiKey(_) => None,
        }
    }
}

/// The claims of this request's access token, once its signature and lifetime were checked (the
/// request's headers do not change between middleware and handler).
#[derive(Clone)]
struct VerifiedClaims(AccessClaims);

/// Where a state-changing request's CSRF token is.
enum Csrf<'a> {
    Given(Option<&'a str>),
    /// In the body, checked by the caller once read.
    InBody,
}

fn read_credential(req: &HttpRequest, csrf: Csrf<'_>) -> Result<AccessToken, ApiError> {
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
    let cookie = req.cookie(web_session::SESSION_COOKIE);
    let (token, by_cookie) = match (bearer_token(req), &cookie) {
        (Some(token), _) => (token, false),
        (None, Some(cookie)) if !cookie.value().is_empty() => (cookie.value(), true),
        _ => {
            return Err(ApiError::Unauthorized {
                code: "authentication_required",
            });
        }
    };
    let now = state.clock.now();
    let credential = if let Some(key) = api_keys::PresentedKey::parse(token).filter(|_| !by_cookie)
    {
        Credential::ApiKey(key)
    } else {
        // The rate-limit middleware reads the credential before the handler does: the signature is
        // checked once per request (an Ed25519 verification is most of a read's CPU in our own code).
        let verified = req.extensions().get::<VerifiedClaims>().cloned();
        let claims = match verified {
            Some(VerifiedClaims(claims)) => claims,
            None => {
                let claims =
                    tokens::verify(&state.jwt_keys, token, &state.settings.auth.issuer, now)
                        .map_err(|e| match e {
                            TokenError::Expired => ApiError::Unauthorized {
                                code: "token_expired",
                            },
                            TokenError::Invalid => ApiError::Unauthorized {
                                code: "invalid_token",
                            },
                        })?;
                req.extensions_mut().insert(VerifiedClaims(claims.clone()));
                claims
            }
        };
        if claims.tid != tenant.id {
            return Err(ApiError::Unauthorized {
                code: "invalid_token",
            });
        }
        if let Some(span) = req.extensions().get::<RootSpan>() {
            span.record("user_id", tracing::field::display(claims.sub));
        }
        // Usage analytics count the member as active (when the request succeeds).
        req.extensions_mut()
            .insert(crate::modules::analytics::capture::ActiveUser(claims.sub));
        let changes_state = !req.method().is_safe();
        let csrf_ok = match csrf {
            Csrf::Given(token) => {
                token.is_some_and(|t| web_session::verify_csrf(&state.crypto, claims.sid, t))
            }
            Csrf::InBody => true,
        };
        if by_cookie && changes_state && !csrf_ok {
            return Err(ApiError::forbidden(
                "csrf_failed",
                "a request authenticated by cookie must carry the session's CSRF token",
            ));
        }
        Credential::Session(claims)
    };
    let request = req
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    Ok(AccessToken {
        tenant,
        credential,
        request,
        now,
    })
}

impl AccessToken {
    /// Opens the request's transaction with the credential's check in the same round trip. 401 when
    /// the session or key is not (or no longer) good.
    pub async fn open(self, state: &AppState) -> Result<Authenticated, ApiError> {
        let AccessToken {
            tenant,
            credential,
            request,
            now,
        } = self;
        let revoked = ApiError::Unauthorized {
            code: "session_revoked",
        };
        let (tx, principal) = match credential {
            Credential::Session(claims) => {
                let (tx, session) =
                    session_check::begin(&state.pool, tenant.id, claims.sub, claims.sid, now)
                        .await?;
                let session = session.ok_or(revoked)?;
                if !session.session_active || session.user_status != "active" {
                    return Err(ApiError::Unauthorized {
                        code: "session_revoked",
                    });
                }
                let principal = Principal {
                    tenant_id: tenant.id,
                    subject: Subject::User {
                        user_id: claims.sub,
                        session_id: claims.sid,
                        email: session.email,
                        display_name: session.display_name,
                    },
                    role: session.role,
                    scope: None,
                };
                (tx, principal)
            }
            Credential::ApiKey(key) => {
                let (tx, found) = api_keys::begin(&state.pool, tenant.id, &key, now).await?;
                let invalid = ApiError::Unauthorized {
                    code: "invalid_api_key",
                };
                let found = found.filter(|k| k.usable).ok_or(invalid)?;
                let principal = Principal {
                    tenant_id: tenant.id,
                    subject: Subject::ApiKey {
                        key_id: found.id,
                        name: found.name,
                    },
                    role: found.role,
                    scope: found.scope,
                };
                (tx, principal)
            }
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
