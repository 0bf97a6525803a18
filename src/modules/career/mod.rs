//! Career (docs/career.md): the organization's skills [`taxonomy`], members' skill [`profiles`] and
//! ratings, career roles and their requirements ([`pathways`]), [`goals`], and the arithmetic that
//! turns them into readiness and gaps ([`readiness`], pure and unit-tested); around them [`learning`]
//! (courses, enrolments, completion as evidence), [`milestones`], the [`portfolio`], next-role
//! [`suggestions`] and HR's skill heat-map ([`insights`]). Every service works on the request's
//! `TenantTx` and records its audit event there.

pub mod error;
pub mod goals;
pub mod insights;
pub mod learning;
pub mod milestones;
pub mod pathways;
pub mod portfolio;
pub mod profiles;
pub mod readiness;
pub mod routes;
pub mod suggestions;
pub mod taxonomy;

pub use error::CareerError;

use crate::{
    error::FieldError,
    validate::{label, prose, web_url},
};

type Result<T> = std::result::Result<T, CareerError>;

/// A proficiency level, 1 to 5.
fn level(field: &str, raw: i64) -> std::result::Result<i16, FieldError> {
    if (1..=5).contains(&raw) {
        Ok(raw as i16)
    } else {
        Err(FieldError::new(field, "must be between 1 and 5"))
    }
}

/// A calendar date a person would enter: years 1900 to 2200 (PostgreSQL holds more, chrono less).
fn plausible_date(field: &str, date: chrono::NaiveDate) -> std::result::Result<(), FieldError> {
    use chrono::Datelike;
    if (1900..=2200).contains(&date.year()) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be a date between the years 1900 and 2200",
        ))
    }
}

/// Collects field errors: `Ok` only when none was found.
#[derive(Default)]
struct Checks(Vec<FieldError>);

impl Checks {
    fn take<T>(&mut self, result: std::result::Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    fn done(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(CareerError::Invalid(self.0))
        }
    }
}
