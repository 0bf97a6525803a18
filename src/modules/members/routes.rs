//! `/api/v1/members` and `/api/v1/invitations`.

use actix_web::{
    HttpResponse, delete, get, post, put,
    web::{Data, Json, Path},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::service::{self, InvitationRow, Invite, MemberFilter, MemberRow};
use crate::{
    audit::AuditCtx,
    auth::{AccessToken, routes::LoginResponse},
    authz::{Act, Obj},
    domain::{DisplayName, Email, InvitationId, UserId},
    error::{ApiError, ApiResult, FieldError},
    http::{Page, PageQuery, RequestContext, ValidJson, ValidQuery},
    state::AppState,
    tenancy::Tenant,
};

const STATUSES: &[&str] = service::MEMBER_STATUSES;
const INVITATION_STATUSES: &[&str] = &["pending", "accepted", "revoked", "expired"];

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// `active`, `invited` or `deactivated`.
    pub status: String,
    pub role: Option<String>,
    /// Who the member reports to.
    pub manager_id: Option<Uuid>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub location: Option<String>,
    /// The HR system's id.
    pub employee_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl From<MemberRow> for MemberResponse {
    fn from(row: MemberRow) -> Self {
        MemberResponse {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            status: row.status,
            role: row.role,
            manager_id: row.manager_id,
            title: row.title,
            department: row.department,
            location: row.location,
            employee_id: row.employee_id,
            created_at: row.created_at.to_utc(),
            last_login_at: row.last_login_at.map(|t| t.to_utc()),
            deactivated_at: row.deactivated_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResponse {
    pub id: Uuid,
    pub email: String,
    /// The invited member while the invitation is pending or accepted.
    pub member_id: Option<Uuid>,
    pub role: Option<String>,
    pub invited_by: Option<Uuid>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<InvitationRow> for InvitationResponse {
    fn from(row: InvitationRow) -> Self {
        InvitationResponse {
            id: row.id,
            email: row.email,
            member_id: row.user_id,
            role: row.role,
            invited_by: row.invited_by,
            status: row.status,
            created_at: row.created_at.to_utc(),
            expires_at: row.expires_at.to_utc(),
            accepted_at: row.accepted_at.map(|t| t.to_utc()),
            revoked_at: row.revoked_at.map(|t| t.to_utc()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMembersQuery {
    /// Part of an email address or display name (case-insensitive).
    pub q: Option<String>,
    pub role: Option<String>,
    /// `active`, `invited` or `deactivated`.
    pub status: Option<String>,
    pub department: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "grace@acme.example", "display_name": "Grace Hopper", "role": "member"}))]
pub struct CreateInvitationRequest {
    pub email: String,
    pub display_name: Option<String>,
    /// The org role the member will hold; `member` when left out.
    pub role: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateInvitationResponse {
    pub member: MemberResponse,
    pub invitation: InvitationResponse,
    /// The link to send to the invitee (single use; the token is in the fragment, so it reaches no log).
    pub accept_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "password": "a long enough passphrase", "display_name": "Grace Hopper"}))]
pub struct AcceptInvitationRequest {
    pub token: String,
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "hr"}))]
pub struct ChangeRoleRequest {
    pub role: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListInvitationsQuery {
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: Option<String>,
}

fn one_of(
    field: &str,
    value: Option<String>,
    allowed: &[&str],
) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(ApiError::validation(
            field,
            format!("must be one of {}", allowed.join(", ")),
        )),
        other => Ok(other),
    }
}

/// Lists members, ordered by email; search by name or email, filter by role and status.
#[utoipa::path(
    tag = "members",
    security(("bearer" = [])),
    params(ListMembersQuery, PageQuery),
    responses((status = 200, description = "A page of members", body = Page<MemberResponse>))
)]
#[get("/members")]
pub async fn list_members(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ListMembersQuery>,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<MemberResponse>>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Members, Act::Read).await?;
    let query = query.into_inner();
    let page = page.parse::<String>()?;
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::validation("q", "must be at most 200 characters"));
    }
    let filter = MemberFilter {
        search: query.q,
        role: query.role,
        status: one_of("status", query.status, STATUSES)?,
        department: query.department,
    };
    let rows = service::list(&auth.tx, &filter, &page).await?;
    auth.tx.commit().await?;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |r| r.email.clone(),
        MemberResponse::from,
    )))
}

/// One member.
#[utoipa::path(
    tag = "members",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 200, description = "The member", body = MemberResponse))
)]
#[get("/members/{member_id}")]
pub async fn get_member(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<Json<MemberResponse>> {
    let auth = token.open(&state).await?;
    state.authz.require(&auth, Obj::Members, Act::Read).await?;
    let member = service::get(&auth.tx, UserId::from_uuid(*member_id)).await?;
    auth.tx.commit().await?;
    Ok(Json(member.into()))
}

/// Gives a member another org role. You can grant only roles whose permissions you hold.
#[utoipa::path(
    tag = "members",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "The member with the new role", body = MemberResponse),
        (status = 409, description = "The last active owner cannot be demoted", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/members/{member_id}/role")]
pub async fn change_member_role(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
    body: ValidJson<ChangeRoleRequest>,
) -> ApiResult<Json<MemberResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::UpdateRole)
        .await?;
    let role = body.into_inner().role;
    let member = service::change_role(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        UserId::from_uuid(*member_id),
        &role,
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(member.into()))
}

/// Deactivates a member: signed out everywhere at once, unable to sign in, seat freed.
#[utoipa::path(
    tag = "members",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses(
        (status = 200, description = "The deactivated member", body = MemberResponse),
        (status = 409, description = "Not active, yourself, or the last active owner", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/members/{member_id}/deactivate")]
pub async fn deactivate_member(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<Json<MemberResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Deactivate)
        .await?;
    let member = service::deactivate(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        UserId::from_uuid(*member_id),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(member.into()))
}

/// Reactivates a deactivated member, if a seat is free.
#[utoipa::path(
    tag = "members",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses(
        (status = 200, description = "The reactivated member", body = MemberResponse),
        (status = 409, description = "Not deactivated, or no free seat", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/members/{member_id}/reactivate")]
pub async fn reactivate_member(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    member_id: Path<Uuid>,
) -> ApiResult<Json<MemberResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Deactivate)
        .await?;
    let member = service::reactivate(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        &tenant,
        UserId::from_uuid(*member_id),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(member.into()))
}

/// Removes a member for good. Their audit history stays.
#[utoipa::path(
    tag = "members",
    security(("bearer" = [])),
    params(("member_id" = Uuid, Path, description = "The member's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "Yourself, or the last active owner", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/members/{member_id}")]
pub async fn remove_member(
    state: Data<AppState>,
    token: AccessToken,
    member_id: Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Remove)
        .await?;
    service::remove(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        UserId::from_uuid(*member_id),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Invites someone: creates an invited member holding `role` and returns the acceptance link.
#[utoipa::path(
    tag = "invitations",
    security(("bearer" = [])),
    request_body = CreateInvitationRequest,
    responses(
        (status = 201, description = "Invited", body = CreateInvitationResponse),
        (status = 409, description = "A member with this email exists, or no seat is free", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invitations")]
pub async fn create_invitation(
    state: Data<AppState>,
    token: AccessToken,
    tenant: Tenant,
    body: ValidJson<CreateInvitationRequest>,
) -> ApiResult<HttpResponse> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Members, Act::Invite)
        .await?;
    let body = body.into_inner();
    let mut errors = Vec::new();
    let email = Email::parse(&body.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let display_name = match body
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => DisplayName::parse(name)
            .map_err(|m| errors.push(FieldError::new("display_name", m)))
            .ok(),
        None => None,
    };
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let invite = Invite {
        email,
        display_name,
        role: body.role.unwrap_or_else(|| "member".into()),
    };
    let invited = service::invite(
        &auth.tx,
        &auth.ctx,
        &state,
        &auth.principal,
        &tenant,
        invite,
    )
    .await?;
    auth.tx.commit().await?;
    let accept_url = invited.accept_url;
    Ok(HttpResponse::Created().json(CreateInvitationResponse {
        member: invited.member.into(),
        invitation: invited.invitation.into(),
        accept_url,
    }))
}

/// Lists invitations, newest first.
#[utoipa::path(
    tag = "invitations",
    security(("bearer" = [])),
    params(ListInvitationsQuery, PageQuery),
    responses((status = 200, description = "A page of invitations", body = Page<InvitationResponse>))
)]
#[get("/invitations")]
pub async fn list_invitations(
    state: Data<AppState>,
    token: AccessToken,
    query: ValidQuery<ListInvitationsQuery>,
    page: ValidQuery<PageQuery>,
) -> ApiResult<Json<Page<InvitationResponse>>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Invitations, Act::Read)
        .await?;
    let query = query.into_inner();
    let page = page.parse::<Uuid>()?;
    let status = one_of("status", query.status, INVITATION_STATUSES)?;
    let rows = service::list_invitations(&auth.tx, &auth.ctx, status.as_deref(), &page).await?;
    auth.tx.commit().await?;
    Ok(Json(Page::from_rows(
        rows,
        page.limit,
        |r| r.id,
        InvitationResponse::from,
    )))
}

/// Revokes a pending invitation; the invited member is removed and the seat freed.
#[utoipa::path(
    tag = "invitations",
    security(("bearer" = [])),
    params(("invitation_id" = Uuid, Path, description = "The invitation's id")),
    responses(
        (status = 200, description = "The revoked invitation", body = InvitationResponse),
        (status = 409, description = "Already accepted, revoked or expired", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invitations/{invitation_id}/revoke")]
pub async fn revoke_invitation(
    state: Data<AppState>,
    token: AccessToken,
    invitation_id: Path<Uuid>,
) -> ApiResult<Json<InvitationResponse>> {
    let auth = token.open(&state).await?;
    state
        .authz
        .require(&auth, Obj::Invitations, Act::Revoke)
        .await?;
    let invitation = service::revoke_invitation(
        &auth.tx,
        &auth.ctx,
        &state.authz,
        &auth.principal,
        InvitationId::from_uuid(*invitation_id),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(Json(invitation.into()))
}

/// Accepts an invitation with the token from its link: sets a password and signs in.
#[utoipa::path(
    tag = "invitations",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Accepted and signed in, or (when the organization requires two-step verification) the enrolment challenge that completes the sign-in", body = LoginResponse),
        (status = 401, description = "Unknown, used, revoked or expired invitation", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invitations/accept")]
pub async fn accept_invitation(
    state: Data<AppState>,
    tenant: Tenant,
    request: RequestContext,
    body: ValidJson<AcceptInvitationRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let body = body.into_inner();
    let display_name = match body
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => {
            Some(DisplayName::parse(name).map_err(|m| ApiError::validation("display_name", m))?)
        }
        None => None,
    };
    let ctx = AuditCtx::anonymous(request, state.clock.now());
    let outcome = service::accept_invitation(
        &state,
        &tenant,
        &ctx,
        &body.token,
        &body.password,
        display_name,
    )
    .await?;
    state.usage.feature(
        tenant.id,
        None,
        crate::modules::analytics::capture::FeatureEvent::InvitationAccepted,
        "",
    );
    Ok(Json(outcome.into()))
}
