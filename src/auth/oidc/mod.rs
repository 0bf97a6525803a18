//! OpenID Connect single sign-on, one connection per organization (configured through
//! `/api/v1/sso/oidc`, see `modules::sso`). [`client`] is the relying party (discovery, code flow with
//! PKCE, ID token verification) over an SSRF-safe [`http`] client; [`flow`] runs a sign-in on the
//! organization's host; [`provision`] finds, links or creates the member and syncs their role; [`failure`] is what
//! a failed sign-in records and shows.
//! docs/sso.md is the admin's guide; docs/adr/0007-single-sign-on-and-provisioning.md the reasoning.

pub mod client;
pub mod failure;
pub mod flow;
pub mod http;
pub mod provision;

pub use client::OidcClient;
