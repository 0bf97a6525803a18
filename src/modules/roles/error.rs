use sea_orm::DbErr;

use crate::error::{ApiError, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum RolesError {
    #[error("role not found")]
    NotFound,
    #[error("invalid role")]
    Invalid(Vec<FieldError>),
    #[error("a role named {0} already exists")]
    NameTaken(String),
    #[error("the role grants permissions you do not hold")]
    Escalation,
    #[error(
        "{members} members and {api_keys} API keys hold this role; give the members another role and revoke the keys first"
    )]
    InUse { members: i64, api_keys: i64 },
    #[error(
        "the directory gives this role (a group mapping or the default role in /api/v1/sso/role-mappings); map those groups to another role first"
    )]
    UsedByDirectory,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<RolesError> for ApiError {
    fn from(err: RolesError) -> ApiError {
        let detail = err.to_string();
        match err {
            RolesError::NotFound => ApiError::not_found(),
            RolesError::Invalid(errors) => ApiError::Validation(errors),
            RolesError::NameTaken(_) => ApiError::conflict("role_exists", detail),
            RolesError::Escalation => ApiError::forbidden("role_escalation", detail),
            RolesError::InUse { .. } | RolesError::UsedByDirectory => {
                ApiError::conflict("role_in_use", detail)
            }
            RolesError::Db(db) => db.into(),
            RolesError::Api(api) => api,
        }
    }
}
