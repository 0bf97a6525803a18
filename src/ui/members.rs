//! The console's members (`members:read`): search and filters, 50 a page by email with "More";
//! invitations one at a time or pasted many at once (`members:invite`, all or none); a member's page
//! with their sessions (`sessions:read`) and recent audit events (`audit_log:read`), a role change
//! (`members:update_role`) and deactivation/reactivation (`members:deactivate`). Every form runs the
//! API's service, with its checks and audit events (see [`super::form`]).

use actix_web::{
    HttpRequest, get, post,
    web::{Data, Form, Path},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    form::{Again, posted, with_query},
    frame::{Nav, PageResult, Refusal, Visit, allows, html, some, status_of, visit},
};
use crate::{
    audit::query::{self as audit_query, Filters},
    authz::{Act, Obj},
    domain::{Email, UserId},
    error::ApiError,
    http::{RequestContext, ValidQuery, pagination::PageRequest},
    modules::{
        members::service::{self, Invite, MemberFilter},
        roles::service as roles,
        sessions::service as sessions,
    },
    state::AppState,
    tenancy::Tenant,
};

const PAGE_SIZE: u64 = 50;
/// At most this many addresses in one paste.
const MAX_PASTED: usize = 200;
/// The roles the invitation form offers (an owner is made by ownership transfer, not invited).
const INVITABLE: &[&str] = &["member", "manager", "hr", "compliance", "admin"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
    /// The address just invited (after the form's redirect).
    #[serde(default)]
    invited: String,
    /// How many were just invited from a paste.
    #[serde(default)]
    invited_count: String,
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    csrf_token: String,
    email: String,
    role: String,
}

#[derive(Debug, Deserialize)]
pub struct InviteManyForm {
    csrf_token: String,
    emails: String,
    role: String,
}

struct Row {
    id: Uuid,
    email: String,
    name: String,
    role: String,
    status: String,
    department: String,
    last_sign_in: String,
}

#[derive(Template)]
#[template(path = "members.html", config = "admin-ui/askama.toml")]
struct MembersPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    query: &'a MembersQuery,
    rows: Vec<Row>,
    more: Option<String>,
    may_invite: bool,
    roles: &'static [&'static str],
    /// Every role, for the filter.
    all_roles: Vec<String>,
    statuses: &'static [&'static str],
    notice: Option<String>,
    error: Option<String>,
    /// What was in the paste box when it was refused.
    pasted: &'a str,
}

fn when(at: Option<chrono::DateTime<chrono::FixedOffset>>) -> String {
    at.map(|t| t.to_utc().format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

/// Renders the members page (after a refused invitation, with its reason).
async fn render(
    state: &AppState,
    visit: Visit,
    query: &MembersQuery,
    refusal: Option<Refusal>,
    pasted: &str,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let may_invite = allows(state, &auth, Obj::Members, Act::Invite).await?;
    let filter = MemberFilter {
        search: some(&query.q),
        role: some(&query.role),
        status: some(&query.status),
        department: None,
    };
    let page = PageRequest {
        limit: PAGE_SIZE,
        after: some(&query.after),
    };
    let mut found = service::list(&auth.tx, &filter, &page)
        .await
        .map_err(ApiError::from)?;
    let all_roles = roles::list(&auth.tx, &state.authz)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|r| r.name)
        .collect();
    auth.tx.commit().await?;
    let more = (found.len() as u64 > PAGE_SIZE).then(|| {
        found.truncate(PAGE_SIZE as usize);
        let last = found.last().map(|m| m.email.clone()).unwrap_or_default();
        with_query(
            "/admin/members",
            &[
                ("q", &query.q),
                ("role", &query.role),
                ("status", &query.status),
                ("after", &last),
            ],
        )
    });
    let rows = found
        .into_iter()
        .map(|m| Row {
            id: m.id,
            email: m.email,
            name: m.display_name,
            role: m.role.unwrap_or_default(),
            status: m.status,
            department: m.department.unwrap_or_default(),
            last_sign_in: when(m.last_login_at),
        })
        .collect();
    let notice = match (some(&query.invited), some(&query.invited_count)) {
        (Some(email), _) => Some(format!("Invitation sent to {email}.")),
        (None, Some(n)) => Some(format!("{n} invitations sent.")),
        _ => None,
    };
    html(
        status_of(refusal.as_ref()),
        MembersPage {
            org: &org,
            csrf: &csrf,
            nav,
            query,
            rows,
            more,
            may_invite,
            roles: INVITABLE,
            all_roles,
            statuses: &["active", "invited", "deactivated"],
            notice,
            error: refusal.map(|r| r.message),
            pasted,
        },
    )
}

#[get("/members")]
pub async fn members(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    query: ValidQuery<MembersQuery>,
) -> PageResult {
    let needed = Some((Obj::Members, Act::Read));
    match visit(&state, &tenant, &req, request, "/admin/members", needed).await? {
        Ok(visit) => render(&state, visit, &query, None, "").await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

fn members_again<'a>(state: &'a AppState, tenant: &'a Tenant, req: &'a HttpRequest) -> Again<'a> {
    Again {
        state,
        tenant,
        req,
        back: "/admin/members",
        needed: Some((Obj::Members, Act::Read)).into(),
    }
}

/// The role, if the form offers it.
fn invitable(role: &str) -> Result<String, Refusal> {
    INVITABLE
        .contains(&role)
        .then(|| role.to_owned())
        .ok_or_else(|| {
            Refusal::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "Choose one of the roles offered.",
            )
        })
}

/// Invites one person; back to the list with a notice, or the list with the reason it was refused.
#[post("/members/invite")]
pub async fn invite(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<InviteForm>,
) -> PageResult {
    let form = form.into_inner();
    let again = members_again(&state, &tenant, &req);
    let page = async |visit, refusal| {
        render(&state, visit, &MembersQuery::default(), Some(refusal), "").await
    };
    let posted = match posted(&state, &req, &form.csrf_token, (Obj::Members, Act::Invite)).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let checked = Email::parse(&form.email)
        .map_err(|message| {
            Refusal::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                format!("The address {message}."),
            )
        })
        .and_then(|email| Ok((email, invitable(&form.role)?)));
    let (email, role) = match checked {
        Ok(checked) => checked,
        Err(refusal) => {
            drop(posted);
            return again.show(refusal, page).await;
        }
    };
    let outcome = service::invite(
        &posted.auth.tx,
        &posted.auth.ctx,
        &state,
        &posted.auth.principal,
        &tenant,
        Invite {
            email: email.clone(),
            display_name: None,
            role,
        },
    )
    .await
    .map_err(ApiError::from);
    let to = |_| with_query("/admin/members", &[("invited", email.as_str())]);
    again.conclude(posted, outcome, to, page).await
}

/// The addresses in a paste: one per line, or separated by commas, semicolons or spaces; duplicates
/// (in any case) once. The unreadable ones are the error.
fn pasted_addresses(text: &str) -> Result<Vec<Email>, String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    let mut bad = Vec::new();
    for item in text.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let item = item.trim().trim_matches(|c| c == '<' || c == '>');
        if item.is_empty() {
            continue;
        }
        match Email::parse(item) {
            Ok(email) if seen.insert(email.as_str().to_lowercase()) => found.push(email),
            Ok(_) => {}
            Err(_) => bad.push(item.to_owned()),
        }
    }
    if !bad.is_empty() {
        return Err(format!(
            "These are not email addresses: {}. Nobody was invited.",
            bad.join(", ")
        ));
    }
    if found.is_empty() {
        return Err("Paste at least one email address.".into());
    }
    if found.len() > MAX_PASTED {
        return Err(format!(
            "{} addresses: paste at most {MAX_PASTED} at once (or use an import). Nobody was invited.",
            found.len()
        ));
    }
    Ok(found)
}

/// Invites every pasted address with one role, in one transaction: all of them, or — when one is
/// refused (already a member, no seat left) — none, with the reason naming the address.
#[post("/members/invite-many")]
pub async fn invite_many(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    form: Form<InviteManyForm>,
) -> PageResult {
    let form = form.into_inner();
    let again = members_again(&state, &tenant, &req);
    let page = async |visit, refusal| {
        render(
            &state,
            visit,
            &MembersQuery::default(),
            Some(refusal),
            &form.emails,
        )
        .await
    };
    let posted = match posted(&state, &req, &form.csrf_token, (Obj::Members, Act::Invite)).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let checked = pasted_addresses(&form.emails)
        .map_err(|m| Refusal::new(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, m))
        .and_then(|emails| Ok((emails, invitable(&form.role)?)));
    let (emails, role) = match checked {
        Ok(checked) => checked,
        Err(refusal) => {
            drop(posted);
            return again.show(refusal, page).await;
        }
    };
    let mut outcome = Ok(emails.len());
    for email in emails {
        let invited = service::invite(
            &posted.auth.tx,
            &posted.auth.ctx,
            &state,
            &posted.auth.principal,
            &tenant,
            Invite {
                email: email.clone(),
                display_name: None,
                role: role.clone(),
            },
        )
        .await;
        if let Err(error) = invited {
            outcome = Err(match ApiError::from(error) {
                ApiError::Conflict { code, detail } => ApiError::Conflict {
                    code,
                    detail: format!("{email}: {detail}. Nobody was invited."),
                },
                other => other,
            });
            break;
        }
    }
    let to = |n: usize| with_query("/admin/members", &[("invited_count", &n.to_string())]);
    again.conclude(posted, outcome, to, page).await
}

struct SessionLine {
    method: String,
    from: String,
    started: String,
    last_seen: String,
}

struct EventLine {
    id: Uuid,
    at: String,
    action: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "member.html", config = "admin-ui/askama.toml")]
struct MemberPage<'a> {
    org: &'a str,
    csrf: &'a str,
    nav: Nav,
    member: service::MemberRow,
    created: String,
    last_sign_in: String,
    may_change_role: bool,
    roles: Vec<String>,
    may_deactivate: bool,
    sessions: Option<Vec<SessionLine>>,
    about: Option<Vec<EventLine>>,
    by: Option<Vec<EventLine>>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberQuery {
    #[serde(default)]
    done: String,
}

/// Recent events matching `filters`, newest first.
async fn recent(
    auth: &crate::auth::Authenticated,
    filters: Filters,
) -> Result<Vec<EventLine>, ApiError> {
    let (events, _) = audit_query::page(&auth.tx, &filters, 10, None).await?;
    Ok(events
        .into_iter()
        .map(|e| EventLine {
            id: e.id,
            at: e
                .occurred_at
                .to_utc()
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            action: e.action,
            actor: e.actor_display.unwrap_or(e.actor_type),
        })
        .collect())
}

async fn render_member(
    state: &AppState,
    visit: Visit,
    id: Uuid,
    notice: Option<&'static str>,
    refusal: Option<Refusal>,
) -> PageResult {
    let Visit {
        auth,
        csrf,
        org,
        nav,
        ..
    } = visit;
    let member = service::get(&auth.tx, UserId::from_uuid(id))
        .await
        .map_err(ApiError::from)?;
    let may_change_role = allows(state, &auth, Obj::Members, Act::UpdateRole).await?;
    let may_deactivate = allows(state, &auth, Obj::Members, Act::Deactivate).await?;
    let roles = match may_change_role {
        true => roles::list(&auth.tx, &state.authz)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|r| r.name)
            .collect(),
        false => Vec::new(),
    };
    let sessions = match allows(state, &auth, Obj::Sessions, Act::Read).await? {
        true => Some(
            sessions::live_sessions(&auth.tx, &auth.ctx, UserId::from_uuid(id))
                .await?
                .into_iter()
                .map(|s| SessionLine {
                    method: s.auth_method,
                    from: [s.ip, s.user_agent]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                    started: when(Some(s.created_at)),
                    last_seen: when(Some(s.last_seen_at)),
                })
                .collect(),
        ),
        false => None,
    };
    let (about, by) = match nav.audit {
        true => (
            Some(
                recent(
                    &auth,
                    Filters {
                        target_id: Some(id.to_string()),
                        ..Filters::default()
                    },
                )
                .await?,
            ),
            Some(
                recent(
                    &auth,
                    Filters {
                        actor_id: Some(id),
                        ..Filters::default()
                    },
                )
                .await?,
            ),
        ),
        false => (None, None),
    };
    auth.tx.commit().await?;
    html(
        status_of(refusal.as_ref()),
        MemberPage {
            org: &org,
            csrf: &csrf,
            nav,
            created: when(Some(member.created_at)),
            last_sign_in: when(member.last_login_at),
            member,
            may_change_role,
            roles,
            may_deactivate,
            sessions,
            about,
            by,
            notice,
            error: refusal.map(|r| r.message),
        },
    )
}

/// One member: who they are, their role, their sessions and what happened to and by them lately.
#[get("/members/{member_id}")]
pub async fn member_page(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    request: RequestContext,
    member_id: Path<Uuid>,
    query: ValidQuery<MemberQuery>,
) -> PageResult {
    let back = format!("/admin/members/{member_id}");
    let needed = Some((Obj::Members, Act::Read));
    let notice = match query.done.as_str() {
        "role" => Some("The role was changed."),
        "deactivated" => Some("The member was deactivated and signed out everywhere."),
        "reactivated" => Some("The member was reactivated."),
        _ => None,
    };
    match visit(&state, &tenant, &req, request, &back, needed).await? {
        Ok(visit) => render_member(&state, visit, *member_id, notice, None).await,
        Err(elsewhere) => Ok(elsewhere),
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    csrf_token: String,
    role: String,
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    csrf_token: String,
}

/// Gives the member another role.
#[post("/members/{member_id}/role")]
pub async fn change_role(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    member_id: Path<Uuid>,
    form: Form<RoleForm>,
) -> PageResult {
    let id = *member_id;
    let back = format!("/admin/members/{id}");
    let again = Again {
        back: &back,
        ..members_again(&state, &tenant, &req)
    };
    let needed = (Obj::Members, Act::UpdateRole);
    let posted = match posted(&state, &req, &form.csrf_token, needed).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let outcome = service::change_role(
        &posted.auth.tx,
        &posted.auth.ctx,
        &state.authz,
        &posted.auth.principal,
        UserId::from_uuid(id),
        form.role.trim(),
    )
    .await
    .map_err(ApiError::from);
    let page = async |visit, refusal| render_member(&state, visit, id, None, Some(refusal)).await;
    let to = |_| format!("{back}?done=role");
    again.conclude(posted, outcome, to, page).await
}

/// Deactivates (signing them out everywhere) or reactivates the member.
#[post("/members/{member_id}/{action:deactivate|reactivate}")]
pub async fn set_status(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, String)>,
    form: Form<StatusForm>,
) -> PageResult {
    let (id, action) = path.into_inner();
    let back = format!("/admin/members/{id}");
    let again = Again {
        back: &back,
        ..members_again(&state, &tenant, &req)
    };
    let needed = (Obj::Members, Act::Deactivate);
    let posted = match posted(&state, &req, &form.csrf_token, needed).await? {
        Ok(posted) => posted,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let (auth, member) = (&posted.auth, UserId::from_uuid(id));
    let outcome = match action.as_str() {
        "deactivate" => {
            service::deactivate(&auth.tx, &auth.ctx, &state.authz, &auth.principal, member).await
        }
        _ => {
            service::reactivate(
                &auth.tx,
                &auth.ctx,
                &state.authz,
                &auth.principal,
                &tenant,
                member,
            )
            .await
        }
    }
    .map_err(ApiError::from);
    let page = async |visit, refusal| render_member(&state, visit, id, None, Some(refusal)).await;
    let to = |_| format!("{back}?done={action}d");
    again.conclude(posted, outcome, to, page).await
}

#[cfg(test)]
mod tests {
    use super::pasted_addresses;

    #[test]
    fn a_paste_is_split_deduplicated_and_checked_whole() {
        let found = pasted_addresses("a@x.com, b@x.com\nA@X.com;  <c@x.com>\n\n").unwrap();
        let found: Vec<_> = found.iter().map(|e| e.as_str().to_owned()).collect();
        assert_eq!(found, ["a@x.com", "b@x.com", "c@x.com"]);
        let refused = pasted_addresses("a@x.com\nnot-an-address\nb@").unwrap_err();
        assert!(refused.contains("not-an-address, b@"), "{refused}");
        assert!(pasted_addresses(" \n ").is_err());
        let many: String = (0..201).map(|i| format!("u{i}@x.com\n")).collect();
        assert!(pasted_addresses(&many).unwrap_err().contains("at most 200"));
    }
}
