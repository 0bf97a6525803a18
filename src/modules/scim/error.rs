//! Errors in the SCIM error format (RFC 7644 §3.12): `{"schemas": [...Error], "status": "400",
//! "scimType": "invalidValue", "detail": "..."}`, served as `application/scim+json`.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use sea_orm::DbErr;
use serde_json::json;

use crate::{error::ApiError, modules::members::MembersError};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const CONTENT_TYPE: &str = "application/scim+json";

#[derive(Debug, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ScimError {
    pub status: StatusCode,
    /// RFC 7644 §3.12's `scimType`, for 400s (and `uniqueness` for 409).
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Logged, never shown.
    cause: Option<String>,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            cause: None,
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidValue", detail)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("{what} {id} not found"),
        )
    }

    pub fn unauthorized() -> Self {
        ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "a valid SCIM bearer token for this organization is required",
        )
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    pub fn not_implemented(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::NOT_IMPLEMENTED, None, detail)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ScimError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            scim_type: None,
            detail: "internal error".into(),
            cause: Some(cause.to_string()),
        }
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            tracing::error!(error = %cause, "internal error");
        }
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = scim_type.into();
        }
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"scim\""));
        }
        response.content_type(CONTENT_TYPE).json(body)
    }
}

impl From<DbErr> for ScimError {
    fn from(err: DbErr) -> Self {
        ApiError::from(err).into()
    }
}

impl From<ApiError> for ScimError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Internal(cause) => ScimError::internal(format!("{cause:#}")),
            ApiError::Validation(errors) => ScimError::invalid_value(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            // Taken (also when the database caught it: two clients creating the same user at once).
            ApiError::Conflict {
                code: "member_exists" | "conflict",
                detail,
            } => ScimError::uniqueness(detail),
            other => {
                let status = other.status_code();
                // SCIM has no 422: a request it cannot apply is a 400.
                let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
                    StatusCode::BAD_REQUEST
                } else {
                    status
                };
                let scim_type = (status == StatusCode::BAD_REQUEST).then_some("invalidValue");
                ScimError::new(status, scim_type, other.to_string())
            }
        }
    }
}

impl From<MembersError> for ScimError {
    fn from(err: MembersError) -> Self {
        match err {
            MembersError::SeatLimitReached { .. } => {
                ScimError::new(StatusCode::FORBIDDEN, None, err.to_string())
            }
            MembersError::EmailTaken => ScimError::uniqueness(
                "a member with this email address already exists (userName and emails must be unique)",
            ),
            MembersError::LastOwner => ScimError::new(StatusCode::CONFLICT, None, err.to_string()),
            other => ApiError::from(other).into(),
        }
    }
}
