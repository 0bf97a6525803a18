//! Two-step verification with TOTP: [`totp`] is the algorithm, [`service`] the enrolment and sign-in
//! logic, [`routes`] the API.

pub mod routes;
pub mod service;
pub mod totp;
