//! One error type for every HTTP failure, rendered as RFC 9457 problem details
//! (`application/problem+json`: `type`, `title`, `status`, `detail`, `code`, `request_id`, and `errors`
//! for 422). A 5xx says only "internal error" and the request id; its cause goes to the log.

use std::fmt;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use sea_orm::{DbErr, RuntimeErr};
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The id of the request being served; set by the request-context middleware around each request.
    pub static REQUEST_ID: String;
}

/// The current request's id, when called inside a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// One invalid field of a request: `field` is a JSON path (`email`, `members[2].role`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:trellis:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A stable machine-readable code, e.g. `tenant_not_found`.
    pub code: String,
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// With `version_conflict`: the version the resource is at now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("authentication required ({code})")]
    Unauthorized { code: &'static str },
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("not found ({code})")]
    NotFound { code: &'static str },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("unsupported media type: send application/json")]
    UnsupportedMediaType,
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// A limit of the organization's plan (its API rate limit), named in `detail`.
    #[error("{detail}")]
    LimitExceeded {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    #[error("service unavailable ({code})")]
    Unavailable { code: &'static str },
    /// A change based on a version that is no longer the current one (`If-Match`): 412, with the
    /// current version and its `ETag`.
    #[error("{detail}")]
    VersionConflict {
        detail: String,
        current_version: i32,
        etag: String,
    },
    /// A change that must name the version it was based on (`If-Match`) and did not: 428.
    #[error("send If-Match with the ETag of the version you changed")]
    PreconditionRequired,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn not_found() -> Self {
        ApiError::NotFound { code: "not_found" }
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// For a write that may break a unique index: that conflict as `code` (with `detail`), anything
    /// else as [`From<DbErr>`] has it.
    pub fn unique(code: &'static str, detail: &'static str) -> impl FnOnce(DbErr) -> ApiError {
        move |err| {
            if sqlstate(&err).as_deref() == Some("23505") {
                ApiError::conflict(code, detail)
            } else {
                err.into()
            }
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(error.into())
    }

    /// The error for a bare status produced outside our handlers (actix's own 404, 405, 413...).
    pub fn for_status(status: StatusCode) -> ApiError {
        match status.as_u16() {
            401 => ApiError::Unauthorized {
                code: "authentication_required",
            },
            408 => ApiError::RequestTimeout,
            404 => ApiError::NotFound {
                code: "route_not_found",
            },
            405 => ApiError::MethodNotAllowed,
            413 => ApiError::PayloadTooLarge,
            415 => ApiError::UnsupportedMediaType,
            429 => ApiError::TooManyRequests {
                retry_after_secs: 1,
            },
            503 => ApiError::Unavailable {
                code: "unavailable",
            },
            400..=499 => ApiError::bad_request("bad_request", "the request is not valid"),
            _ => ApiError::internal(anyhow::anyhow!("status {status} without a body")),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::LimitExceeded { code, .. }
            | ApiError::Unavailable { code } => code,
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::VersionConflict { .. } => "version_conflict",
            ApiError::PreconditionRequired => "if_match_required",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            ApiError::Unauthorized { code } => Some(unauthorized_detail(code).to_owned()),
            ApiError::NotFound {
                code: "tenant_not_found",
            } => Some("no organization is served at this address".into()),
            ApiError::Internal(_) | ApiError::NotFound { .. } => None,
            ApiError::Validation(_) => Some("the request has invalid fields".into()),
            other => Some(other.to_string()),
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let code = self.code().to_owned();
        Problem {
            problem_type: format!("urn:trellis:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code,
            request_id: current_request_id(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            current_version: match self {
                ApiError::VersionConflict {
                    current_version, ..
                } => Some(*current_version),
                _ => None,
            },
        }
    }
}

fn unauthorized_detail(code: &str) -> &'static str {
    match code {
        "invalid_credentials" => "the email or password is wrong",
        "token_expired" => "the access token has expired; refresh it",
        "session_revoked" => "the session has ended; sign in again",
        "invalid_refresh_token" => "the refresh token is not valid; sign in again",
        "invitation_invalid" => "the invitation is not valid or has expired",
        "invalid_mfa_challenge" => {
            "the sign-in challenge is not valid or has expired; sign in again"
        }
        "invalid_mfa_code" => "the code is wrong",
        _ => "a valid access token for this organization is required",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } | ApiError::Validation(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::TooManyRequests { .. } | ApiError::LimitExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::VersionConflict { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %DisplayChain(cause), "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::LimitExceeded {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::VersionConflict { etag, .. } => {
                response.insert_header((header::ETAG, etag.clone()));
            }
            ApiError::Unauthorized { code } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!("Bearer error=\"{}\"", bearer_error(code)),
                ));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

fn bearer_error(code: &str) -> &'static str {
    match code {
        "authentication_required" => "invalid_request",
        _ => "invalid_token",
    }
}

/// Formats an error with its whole chain of causes, for the log.
pub struct DisplayChain<'a>(pub &'a anyhow::Error);

impl fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        for cause in self.0.chain().skip(1) {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

/// The SQLSTATE of a database error, if it is one.
pub fn sqlstate(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// The database is out of reach or going away, not the request at fault: no connection could be had,
/// it broke under the statement (the socket closed, the pool timed out or closed), or the server said
/// so (SQLSTATE class 08, connection exception; 57P, shutting down, restarting or terminating this
/// backend).
fn database_gone(err: &DbErr) -> bool {
    connection_lost(err)
        || match err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                matches!(
                    e.as_ref(),
                    sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
                )
            }
            _ => false,
        }
}

/// [`crate::db::pool::connection_lost`] for sea-orm's errors (a pool timeout is not one of them).
pub(crate) fn connection_lost(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => crate::db::pool::connection_lost(e),
        _ => false,
    }
}

impl From<DbErr> for ApiError {
    /// Constraint violations become generic 409/422 answers that never echo the database's message
    /// (which could name another tenant's values); a database that is unreachable or going away is
    /// 503; everything else is internal.
    fn from(err: DbErr) -> Self {
        match sqlstate(&err).as_deref() {
            Some("23505") => {
                ApiError::conflict("conflict", "this conflicts with an existing resource")
            }
            Some("23503") => ApiError::Unprocessable {
                code: "invalid_reference",
                detail: "a referenced resource does not exist".into(),
            },
            // 22021 / 22P05: a NUL character, which text and jsonb cannot hold.
            Some("23514" | "23502" | "22P02" | "22001" | "22021" | "22P05") => {
                ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: "a value is not acceptable".into(),
                }
            }
            _ if database_gone(&err) => {
                tracing::error!(error = %err, "database unavailable");
                ApiError::Unavailable {
                    code: "database_unavailable",
                }
            }
            _ => ApiError::Internal(err.into()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// Decided like the same error reached through sea-orm.
    fn from(err: sqlx::Error) -> Self {
        DbErr::Query(RuntimeErr::SqlxError(err.into())).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_reveal_nothing() {
        let err = ApiError::internal(anyhow::anyhow!("password=hunter2 in connection string"));
        let body = serde_json::to_string(&err.problem()).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(body.contains("\"code\":\"internal\""), "{body}");
    }

    #[test]
    fn validation_problem_lists_fields() {
        let err = ApiError::validation("email", "not an email address");
        let problem = err.problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.unwrap()[0].field, "email");
    }
}
