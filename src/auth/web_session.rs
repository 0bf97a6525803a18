//! The browser session of the admin console: the same access token as the API, in an HttpOnly cookie
//! (`Secure` in production, `SameSite=Lax`), with the refresh token in a second cookie (`SameSite=Strict`).
//! Both are scoped to `/`: the employee portal at `/` and the console at `/admin` share one session. Because a browser sends cookies by itself, every state-changing request that authenticates
//! by cookie must also carry a CSRF token: an HMAC of the session id (the `x-csrf-token` header for the
//! API, a form field for the console's forms), which no other site can compute. The sign-in form has its
//! own token, bound to a random value in a short-lived cookie.

use actix_web::{
    HttpRequest,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
};
use rand::RngCore;

use crate::{config::Environment, crypto::Crypto, domain::SessionId, state::AppState};

pub const SESSION_COOKIE: &str = "trellis_session";
pub const REFRESH_COOKIE: &str = "trellis_refresh";
pub const LOGIN_COOKIE: &str = "trellis_login";
/// Binds an SSO sign-in to the browser that started it: the state the provider must send back.
pub const SSO_COOKIE: &str = "trellis_sso";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";

/// The CSRF token of a session.
pub fn csrf_token(crypto: &Crypto, session: SessionId) -> String {
    crypto.mac("csrf", &session.to_string())
}

pub fn verify_csrf(crypto: &Crypto, session: SessionId, token: &str) -> bool {
    crypto.verify_mac("csrf", &session.to_string(), token)
}

/// A new value for the sign-in form's cookie, and the form token bound to it.
pub fn login_csrf(crypto: &Crypto) -> (String, String) {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let nonce = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let token = crypto.mac("login-csrf", &nonce);
    (nonce, token)
}

/// Whether a sign-in form's token matches its cookie.
pub fn verify_login_csrf(crypto: &Crypto, req: &HttpRequest, token: &str) -> bool {
    req.cookie(LOGIN_COOKIE)
        .is_some_and(|nonce| crypto.verify_mac("login-csrf", nonce.value(), token))
}

fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: CookieDuration,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(state.settings.environment == Environment::Production)
        .same_site(if name == REFRESH_COOKIE {
            SameSite::Strict
        } else {
            SameSite::Lax
        })
        .max_age(max_age)
        .finish()
}

/// The cookies of a signed-in browser (and the removal of a refresh cookie at the older path).
pub fn session_cookies(state: &AppState, access: &str, refresh: &str) -> [Cookie<'static>; 3] {
    let lifetime = CookieDuration::hours(state.settings.auth.session_ttl_hours);
    [
        cookie(state, SESSION_COOKIE, access.to_owned(), "/", lifetime),
        cookie(state, REFRESH_COOKIE, refresh.to_owned(), "/", lifetime),
        legacy_refresh_cleared(state),
    ]
}

/// Removes a refresh cookie set at `/admin` before the portal shared the session.
fn legacy_refresh_cleared(state: &AppState) -> Cookie<'static> {
    cookie(
        state,
        REFRESH_COOKIE,
        String::new(),
        "/admin",
        CookieDuration::ZERO,
    )
}

/// The sign-in form's cookie (ten minutes).
pub fn login_cookie(state: &AppState, nonce: String) -> Cookie<'static> {
    cookie(state, LOGIN_COOKIE, nonce, "/", CookieDuration::minutes(10))
}

/// The SSO sign-in's cookie (as long as a sign-in may take), sent back on the provider's redirect to
/// the callback (a top-level navigation, which `SameSite=Lax` allows).
pub fn sso_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let lifetime = CookieDuration::seconds(state.settings.sso.state_ttl_secs as i64);
    cookie(state, SSO_COOKIE, value, "/auth/sso", lifetime)
}

/// Removes the SSO sign-in's cookie.
pub fn cleared_sso_cookie(state: &AppState) -> Cookie<'static> {
    cookie(
        state,
        SSO_COOKIE,
        String::new(),
        "/auth/sso",
        CookieDuration::ZERO,
    )
}

/// Cookies that remove the session's.
pub fn cleared_cookies(state: &AppState) -> [Cookie<'static>; 3] {
    let gone = |name| cookie(state, name, String::new(), "/", CookieDuration::ZERO);
    [
        gone(SESSION_COOKIE),
        gone(REFRESH_COOKIE),
        legacy_refresh_cleared(state),
    ]
}
