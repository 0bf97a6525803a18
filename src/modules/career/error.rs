use sea_orm::DbErr;

use crate::error::{ApiError, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum CareerError {
    #[error("not found")]
    NotFound,
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// A name already used in the organization (`code`: which kind of name).
    #[error("{detail}")]
    Taken { code: &'static str, detail: String },
    /// The relation between the caller and the member does not allow it.
    #[error("{detail}")]
    NotAllowed { code: &'static str, detail: String },
    /// The request conflicts with the current state (an active goal exists, a role is in use).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl CareerError {
    pub fn invalid(field: &str, message: impl Into<String>) -> CareerError {
        CareerError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> CareerError {
        CareerError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn not_allowed(code: &'static str, detail: impl Into<String>) -> CareerError {
        CareerError::NotAllowed {
            code,
            detail: detail.into(),
        }
    }
}

impl From<CareerError> for ApiError {
    fn from(err: CareerError) -> ApiError {
        match err {
            CareerError::NotFound => ApiError::not_found(),
            CareerError::Invalid(errors) => ApiError::Validation(errors),
            CareerError::Taken { code, detail } | CareerError::Conflict { code, detail } => {
                ApiError::conflict(code, detail)
            }
            CareerError::NotAllowed { code, detail } => ApiError::forbidden(code, detail),
            CareerError::Db(db) => db.into(),
            CareerError::Api(api) => api,
        }
    }
}
