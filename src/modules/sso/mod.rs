//! Single sign-on and provisioning, as the organization's admins configure them: the OpenID Connect
//! connection, directory group -> role mappings, and the SCIM token. The sign-in flow itself is in
//! [`crate::auth::oidc`]; the SCIM server in [`crate::modules::scim`].

pub mod connection;
pub mod mappings;
pub mod routes;
