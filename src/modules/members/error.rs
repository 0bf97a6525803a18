use sea_orm::DbErr;

use crate::error::{ApiError, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum MembersError {
    #[error("member not found")]
    MemberNotFound,
    #[error("invitation not found")]
    InvitationNotFound,
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("a member with this email already exists")]
    EmailTaken,
    #[error(
        "every seat of this organization is taken ({limit} seats); free one or raise the limit"
    )]
    SeatLimitReached { limit: i32 },
    #[error("the organization must keep at least one active owner")]
    LastOwner,
    #[error(
        "the {role} role has permissions you do not hold, so you cannot grant it or act on its members"
    )]
    Escalation { role: String },
    #[error("you cannot {action} yourself")]
    SelfAction { action: &'static str },
    #[error("the member is {status}")]
    WrongStatus { status: String },
    #[error("the invitation is no longer pending")]
    InvitationNotPending,
    #[error("the invitation is not valid or has expired")]
    InvitationInvalid,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
}

impl MembersError {
    pub fn field(field: &str, message: &str) -> MembersError {
        MembersError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<MembersError> for ApiError {
    fn from(err: MembersError) -> ApiError {
        let detail = err.to_string();
        match err {
            MembersError::MemberNotFound | MembersError::InvitationNotFound => {
                ApiError::not_found()
            }
            MembersError::Invalid(errors) => ApiError::Validation(errors),
            MembersError::EmailTaken => ApiError::conflict("member_exists", detail),
            MembersError::SeatLimitReached { .. } => {
                ApiError::conflict("seat_limit_reached", detail)
            }
            MembersError::LastOwner => ApiError::conflict("last_owner", detail),
            MembersError::Escalation { .. } => ApiError::forbidden("role_escalation", detail),
            MembersError::SelfAction { .. } => ApiError::conflict("self_action", detail),
            MembersError::WrongStatus { .. } => ApiError::conflict("member_status", detail),
            MembersError::InvitationNotPending => {
                ApiError::conflict("invitation_not_pending", detail)
            }
            MembersError::InvitationInvalid => ApiError::Unauthorized {
                code: "invitation_invalid",
            },
            MembersError::Db(db) => db.into(),
            MembersError::Api(api) => api,
            MembersError::Mail(mail) => ApiError::internal(mail),
        }
    }
}
