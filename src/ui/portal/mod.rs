//! The employee portal at `/` on an organization's host (ADR 0018): the pages employees use, on the
//! console's frame ([`super::frame::visit`], [`super::form`]) and session. Each area is a file that
//! calls its module's services in the request's transaction, as the console does; the sign-in pages at
//! `/login` are shared with the console ([`super::pages`]).

mod calendar;
mod career;
mod communities;
mod discussion;
mod document;
mod events;
mod history;
mod home;
mod learning;
mod mentoring;
mod pathways;
mod practice;
mod programmes;
mod record;
mod referrals;
mod team;
mod views;
mod workspaces;

use actix_web::{guard, middleware::from_fn, web};
use uuid::Uuid;

use super::{frame, pages};
use crate::{
    error::ApiError,
    modules::{analytics::capture, career::profiles},
    tenancy::{
        TenantTx,
        middleware::{on_tenant_host, resolve_tenant},
    },
};

/// The largest form body the portal reads.
const FORM_LIMIT: usize = 256 * 1024;

/// The portal's routes and the shared sign-in pages; registered last, it answers only requests to an
/// organization's host (any other host gets the server's JSON 404 as before), and what it does not
/// have is the HTML 404 page.
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("")
        .guard(guard::fn_guard(on_tenant_host))
        // A form may carry a mock interview's answer: 20,000 characters, URL-encoded.
        .app_data(web::FormConfig::default().limit(FORM_LIMIT))
        // Inner to outer: usage capture (it needs the tenant), the tenant, the error pages — outermost,
        // so an organization that does not exist is a page too.
        .wrap(from_fn(capture::track_pages))
        .wrap(from_fn(resolve_tenant))
        .wrap(from_fn(frame::html_errors))
        .service(home::home)
        .service(career::career_page)
        .service(career::save_skill)
        .service(career::remove_skill)
        .service(career::set_goal)
        .service(career::close_goal)
        .service(pathways::roles_page)
        .service(pathways::role_page)
        .service(learning::learning_page)
        .service(learning::enrol)
        .service(learning::update_enrolment)
        .service(record::record_page)
        .service(record::add_milestone)
        .service(record::remove_milestone)
        .service(record::add_project)
        .service(record::remove_project)
        .service(team::team_page)
        .service(practice::practice_page)
        .service(practice::create_session)
        .service(practice::session_page)
        .service(practice::start_session)
        .service(practice::answer)
        .service(practice::complete_session)
        .service(practice::abandon_session)
        .service(calendar::calendar_page)
        .service(calendar::record)
        .service(calendar::switch_reminders)
        .service(calendar::cancel)
        .service(mentoring::mentoring_page)
        .service(mentoring::ask)
        .service(mentoring::save_profile)
        .service(mentoring::mentorship_page)
        .service(mentoring::answer)
        .service(mentoring::withdraw)
        .service(mentoring::log_session)
        .service(mentoring::check_fit)
        .service(mentoring::complete)
        .service(mentoring::rate)
        .service(programmes::programmes_page)
        .service(programmes::join)
        .service(programmes::leave)
        .service(communities::communities_page)
        .service(communities::create)
        .service(communities::community_page)
        .service(communities::update)
        .service(communities::join)
        .service(communities::leave)
        .service(communities::write)
        .service(communities::thread_page)
        .service(communities::edit)
        .service(communities::remove)
        .service(events::events_page)
        .service(events::event_page)
        .service(events::rsvp)
        .service(events::withdraw)
        .service(referrals::referrals_page)
        .service(referrals::refer)
        .service(workspaces::workspaces_page)
        .service(workspaces::create)
        .service(workspaces::workspace_page)
        .service(workspaces::create_document)
        .service(document::document_page)
        .service(document::edit_page)
        .service(document::save)
        .service(history::history_page)
        .service(history::version_page)
        .service(history::restore)
        .service(discussion::comment)
        .service(discussion::reply)
        .service(discussion::resolve)
        .service(discussion::ask)
        .service(discussion::decide)
        .service(discussion::withdraw)
        .service(script)
        .service(pages::login_form)
        .service(pages::login)
        .service(pages::login_mfa)
        .service(pages::logout)
        .default_service(web::to(frame::not_found))
}

/// The portal's script (`admin-ui/static/portal.js`, compiled in): the mock interview's countdown.
#[actix_web::get("/static/portal.js")]
async fn script() -> actix_web::HttpResponse {
    use actix_web::http::header;
    actix_web::HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("../../../admin-ui/static/portal.js"))
}

/// Whether anyone reports to the member (the career pages then offer "My team").
async fn has_reports(tx: &TenantTx, user: Uuid) -> Result<bool, ApiError> {
    Ok(profiles::has_reports(tx, user).await?)
}

/// A text area's text with the document's line breaks: browsers send CRLF, the services keep LF (so
/// a multi-line quote matches, and a line break counts once against a length limit).
fn lf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// A page's address with the search typed on it (the way back after signing in).
fn searched(path: &str, q: &str) -> String {
    match q {
        "" => path.to_owned(),
        q => super::form::with_query(path, &[("q", q)]),
    }
}

/// A search box's text: at most 200 characters, as the API's `q` (422 otherwise); `None` when empty.
fn search_text(q: &str) -> Result<Option<String>, ApiError> {
    match frame::some(q) {
        Some(text) if text.chars().count() > 200 => {
            Err(ApiError::validation("q", "must be at most 200 characters"))
        }
        text => Ok(text),
    }
}
