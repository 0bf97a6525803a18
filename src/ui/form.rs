//! A console form's post, one way for every form: [`posted`] checks the session's CSRF token (a field
//! of the form), opens the member's transaction and checks the permission the form needs; the handler
//! runs the same service the API runs (its checks, its audit event); [`Again::conclude`] then commits and sends
//! the browser on (303), or — refused — rolls everything back and shows the page again with the reason
//! and the refusal's status (4xx). Nothing is ever half-written.

use actix_web::{HttpMessage, HttpRequest, HttpResponse};

use super::frame::{Need, PageResult, Refusal, Visit, forbidden, redirect, visit};
use crate::{
    auth::{AccessToken, Authenticated},
    authz::{Act, Obj, Permission},
    error::ApiError,
    http::RequestContext,
    state::AppState,
    tenancy::Tenant,
};
use uuid::Uuid;

/// A form with nothing but its CSRF token (a button).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrfOnly {
    pub csrf_token: String,
}

/// A form post that passed its checks: the member's transaction.
pub(super) struct Posted {
    pub auth: Authenticated,
}

/// The CSRF token of a form whose post passed [`posted`], kept with the request so the page shown in
/// answer (after a refusal, or a token shown once) opens the session as a post must: with the token,
/// checked again.
#[derive(Clone)]
pub(super) struct FormCsrf(pub String);

/// Checks a form's post: the CSRF token, the session, and `needed`.
pub(super) async fn posted(
    state: &AppState,
    req: &HttpRequest,
    csrf_token: &str,
    needed: (Obj, Act),
) -> Result<Result<Posted, HttpResponse>, ApiError> {
    let token = match AccessToken::read(req, Some(csrf_token)) {
        Ok(token) => token,
        Err(ApiError::Forbidden { .. }) => return forbidden("the session's CSRF token").map(Err),
        Err(_) => return Ok(Err(redirect("/login"))),
    };
    if token.session_id().is_none() {
        return Ok(Err(redirect("/login")));
    }
    req.extensions_mut().insert(FormCsrf(csrf_token.to_owned()));
    let auth = match token.open(state).await {
        Ok(auth) => auth,
        Err(ApiError::Unauthorized { .. }) => return Ok(Err(redirect("/login"))),
        Err(error) => return Err(error),
    };
    let (obj, act) = needed;
    if !super::frame::allows(state, &auth, obj, act).await? {
        return forbidden(&Permission::new(obj, act).to_string()).map(Err);
    }
    Ok(Ok(Posted { auth }))
}

impl Need {
    /// Where a form of a page that needs this is shown again after a refusal: the page at `back`.
    pub(super) fn again<'a>(
        self,
        state: &'a AppState,
        tenant: &'a Tenant,
        req: &'a HttpRequest,
        back: &'a str,
    ) -> Again<'a> {
        Again {
            state,
            tenant,
            req,
            back,
            needed: self,
        }
    }
}

/// Where a page is shown again after a refusal: its address and what it needs.
pub(super) struct Again<'a> {
    pub state: &'a AppState,
    pub tenant: &'a Tenant,
    pub req: &'a HttpRequest,
    pub back: &'a str,
    pub needed: Need,
}

impl Again<'_> {
    /// Shows the page again with `refusal`.
    pub(super) async fn show(
        &self,
        refusal: Refusal,
        page: impl AsyncFnOnce(Visit, Refusal) -> PageResult,
    ) -> PageResult {
        self.open(async |visit| page(visit, refusal).await).await
    }

    /// Shows the page (in a fresh transaction): after a refusal, or as the answer to a post that shows
    /// something once (a new token).
    pub(super) async fn open(&self, page: impl AsyncFnOnce(Visit) -> PageResult) -> PageResult {
        let request = self
            .req
            .extensions()
            .get::<RequestContext>()
            .cloned()
            .unwrap_or_default();
        match visit(
            self.state,
            self.tenant,
            self.req,
            request,
            self.back,
            self.needed,
        )
        .await?
        {
            Ok(visit) => page(visit).await,
            Err(elsewhere) => Ok(elsewhere),
        }
    }

    /// The end of a form's post: `outcome` committed and the browser sent to `to(value)`; or, refused,
    /// nothing kept and the page shown again with the reason. Failures of ours stay errors (5xx).
    pub(super) async fn conclude<T>(
        &self,
        posted: Posted,
        outcome: Result<T, ApiError>,
        to: impl FnOnce(T) -> String,
        page: impl AsyncFnOnce(Visit, Refusal) -> PageResult,
    ) -> PageResult {
        match outcome {
            Ok(value) => {
                posted.auth.tx.commit().await?;
                Ok(redirect(&to(value)))
            }
            Err(error) => {
                let Some(refusal) = Refusal::of(&error) else {
                    return Err(error);
                };
                // Dropping the transaction rolls back whatever the service wrote before it refused.
                drop(posted);
                self.show(refusal, page).await
            }
        }
    }
}

impl Again<'_> {
    /// A member's own form, whole: the page's plan feature, [`posted`] with the page's permission,
    /// `act` in the member's transaction with their user id, then [`Again::conclude`].
    pub(super) async fn post_as_member<T>(
        &self,
        csrf_token: &str,
        act: impl AsyncFnOnce(&Authenticated, Uuid) -> Result<T, ApiError>,
        to: impl FnOnce(T) -> String,
        page: impl AsyncFnOnce(Visit, Refusal) -> PageResult,
    ) -> PageResult {
        if let Some(feature) = self.needed.feature {
            self.tenant.require(&self.state.settings.plans, feature)?;
        }
        let Some(needed) = self.needed.permission else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a member's form names the permission it needs"
            )));
        };
        let posted = match posted(self.state, self.req, csrf_token, needed).await? {
            Ok(posted) => posted,
            Err(elsewhere) => return Ok(elsewhere),
        };
        let outcome = match posted.auth.principal.user() {
            Ok((user, _)) => act(&posted.auth, user.as_uuid()).await,
            Err(error) => Err(error),
        };
        self.conclude(posted, outcome, to, page).await
    }
}

/// `path?name=value…`, encoded.
pub(super) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        q.append_pair(name, value);
    }
    format!("{path}?{}", q.finish())
}
