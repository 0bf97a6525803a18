//! The forms of a document's page: comments — a thread on a passage (quoted by selecting it; the
//! script fills the quote and where it starts, or the member pastes it), replies, resolving and
//! reopening — and reviews — asking approvers in turn or any of them, deciding one's turn, withdrawing.
//! Each calls the service the API calls, whose checks, audit event, activity entry and mails stay its
//! own; a refusal shows the document's page again with the reason and the text typed.

use actix_web::{
    HttpRequest, post,
    web::{Data, Form, Path},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    document::{Typed, address, render},
    lf,
    workspaces::{WORKSPACES, wake},
};
use crate::{
    auth::Authenticated,
    error::ApiError,
    modules::workspaces::{
        comments::{self, AnchorAt, CommentRow, Text},
        documents,
        reviews::{self, Ask, Decision},
    },
    state::AppState,
    tenancy::Tenant,
    ui::{form::CsrfOnly, frame::PageResult},
};

/// Where `quote` is in `body`, in characters: at `hint` (a character offset) if it is there, else its
/// first place. One pass over the body at most.
fn locate(body: &str, quote: &str, hint: Option<usize>) -> Option<(usize, usize)> {
    let length = quote.chars().count();
    let at_hint = hint.and_then(|chars| {
        let (byte, _) = body.char_indices().nth(chars)?;
        body[byte..].starts_with(quote).then_some(chars)
    });
    let start = match at_hint {
        Some(start) => start,
        None => {
            let byte = body.find(quote)?;
            body[..byte].chars().count()
        }
    };
    Some((start, start + length))
}

/// The optional person mentioned.
fn mentions(mention: &str) -> Result<Vec<Uuid>, ApiError> {
    match mention.trim() {
        "" => Ok(Vec::new()),
        id => id
            .parse()
            .map(|id| vec![id])
            .map_err(|_| ApiError::validation("mention", "is not a member of this workspace")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentForm {
    csrf_token: String,
    body: String,
    /// The passage commented on (empty: the whole document).
    #[serde(default)]
    quote: String,
    /// Where the script saw it start (characters), when it occurs more than once.
    #[serde(default)]
    quote_start: String,
    #[serde(default)]
    mention: String,
}

/// Starts a thread, on a passage of the current version or on the whole document.
#[post("/workspaces/{workspace_id}/documents/{document_id}/comments")]
pub async fn comment(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid)>,
    form: Form<CommentForm>,
) -> PageResult {
    let (workspace, id) = path.into_inner();
    let form = form.into_inner();
    let back = address(workspace, id);
    let typed = Typed {
        quote: form.quote.clone(),
        comment: form.body.clone(),
        ..Typed::default()
    };
    let page =
        async |visit, refusal| render(visit, (workspace, id), None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let text = Text {
            body: lf(&form.body),
            mentions: mentions(&form.mention)?,
        };
        let quote = lf(&form.quote);
        let anchor = match quote.as_str() {
            "" => None,
            quote if quote.chars().count() > comments::MAX_QUOTE => {
                return Err(ApiError::validation(
                    "quote",
                    format!("must be at most {} characters", comments::MAX_QUOTE),
                ));
            }
            quote => {
                let (_, doc) = documents::get(&auth.tx, user, workspace, id, false).await?;
                let hint = form.quote_start.trim().parse().ok();
                let (start, end) = locate(&doc.body, quote, hint).ok_or_else(|| {
                    ApiError::validation(
                        "quote",
                        "is not in the document's current text: select the passage again",
                    )
                })?;
                Some(AnchorAt {
                    version: doc.current_version,
                    start: start as i32,
                    end: end as i32,
                    quote: Some(quote.to_owned()),
                })
            }
        };
        let (ctx, crypto) = (&auth.ctx, &state.crypto);
        comments::start(&auth.tx, ctx, crypto, user, workspace, id, text, anchor).await
    };
    let to = |thread: Vec<CommentRow>| {
        wake(&state, tenant.id, workspace);
        let at = thread
            .first()
            .map(|c| c.thread_id.to_string())
            .unwrap_or_default();
        format!("{back}?done=commented#thread-{at}")
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyForm {
    csrf_token: String,
    body: String,
    #[serde(default)]
    mention: String,
}

/// Replies in a thread.
#[post("/workspaces/{workspace_id}/documents/{document_id}/comments/{comment_id}/replies")]
pub async fn reply(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid, Uuid)>,
    form: Form<ReplyForm>,
) -> PageResult {
    let (workspace, id, thread) = path.into_inner();
    let form = form.into_inner();
    let back = address(workspace, id);
    let typed = Typed {
        reply: Some((thread, form.body.clone())),
        ..Typed::default()
    };
    let page =
        async |visit, refusal| render(visit, (workspace, id), None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let text = Text {
            body: lf(&form.body),
            mentions: mentions(&form.mention)?,
        };
        let (ctx, crypto) = (&auth.ctx, &state.crypto);
        comments::reply(&auth.tx, ctx, crypto, user, workspace, id, thread, text).await
    };
    let to = |_| {
        wake(&state, tenant.id, workspace);
        format!("{back}?done=replied#thread-{thread}")
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveForm {
    csrf_token: String,
    /// `resolve` or `reopen`.
    action: String,
}

/// Resolves a thread, or reopens it.
#[post("/workspaces/{workspace_id}/documents/{document_id}/comments/{comment_id}/state")]
pub async fn resolve(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid, Uuid)>,
    form: Form<ResolveForm>,
) -> PageResult {
    let (workspace, id, thread) = path.into_inner();
    let form = form.into_inner();
    let back = address(workspace, id);
    let page = async |visit, refusal| {
        render(
            visit,
            (workspace, id),
            None,
            Some(refusal),
            Typed::default(),
        )
        .await
    };
    let resolved = match form.action.as_str() {
        "resolve" => Some(true),
        "reopen" => Some(false),
        _ => None,
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        let resolved =
            resolved.ok_or_else(|| ApiError::validation("action", "must be resolve or reopen"))?;
        comments::set_resolved(&auth.tx, &auth.ctx, user, workspace, id, thread, resolved).await
    };
    let to = |_| {
        wake(&state, tenant.id, workspace);
        let done = if resolved == Some(true) {
            "resolved"
        } else {
            "reopened"
        };
        format!("{back}?done={done}#thread-{thread}")
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Asking for a review: up to three approvers in order, the mode, a message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    csrf_token: String,
    #[serde(default)]
    approver_1: String,
    #[serde(default)]
    approver_2: String,
    #[serde(default)]
    approver_3: String,
    mode: String,
    #[serde(default)]
    message: String,
}

#[post("/workspaces/{workspace_id}/documents/{document_id}/reviews")]
pub async fn ask(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid)>,
    form: Form<ReviewForm>,
) -> PageResult {
    let (workspace, id) = path.into_inner();
    let form = form.into_inner();
    let back = address(workspace, id);
    let typed = Typed {
        review_message: form.message.clone(),
        review_asked: true,
        ..Typed::default()
    };
    let page =
        async |visit, refusal| render(visit, (workspace, id), None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let mut approvers = Vec::new();
        for chosen in [&form.approver_1, &form.approver_2, &form.approver_3] {
            if let Some(text) = crate::ui::frame::some(chosen) {
                let id = text.parse().map_err(|_| {
                    ApiError::validation("approvers", "must be members of this workspace")
                })?;
                approvers.push(id);
            }
        }
        let ask = Ask {
            mode: Some(form.mode.clone()),
            approvers,
            message: lf(&form.message),
        };
        reviews::request(&auth.tx, &auth.ctx, &state.crypto, user, workspace, id, ask).await
    };
    let to = |_| {
        wake(&state, tenant.id, workspace);
        format!("{back}?done=asked#reviews-h")
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionForm {
    csrf_token: String,
    /// `approve` or `request_changes`.
    decision: String,
    #[serde(default)]
    comment: String,
}

/// An approver's decision, on their turn.
#[post("/workspaces/{workspace_id}/documents/{document_id}/reviews/{review_id}/decision")]
pub async fn decide(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid, Uuid)>,
    form: Form<DecisionForm>,
) -> PageResult {
    let (workspace, id, review) = path.into_inner();
    let form = form.into_inner();
    let back = address(workspace, id);
    let typed = Typed {
        decision_comment: form.comment.clone(),
        ..Typed::default()
    };
    let page =
        async |visit, refusal| render(visit, (workspace, id), None, Some(refusal), typed).await;
    let act = async |auth: &Authenticated, user: Uuid| {
        let approve = match form.decision.as_str() {
            "approve" => true,
            "request_changes" => false,
            _ => {
                return Err(ApiError::validation(
                    "decision",
                    "must be approve or request_changes",
                ));
            }
        };
        let decision = Decision {
            approve,
            comment: lf(&form.comment),
        };
        let crypto = &state.crypto;
        reviews::decide(
            &auth.tx, &auth.ctx, crypto, user, workspace, id, review, decision,
        )
        .await
    };
    let to = |_| {
        wake(&state, tenant.id, workspace);
        format!("{back}?done=decided#reviews-h")
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

/// Withdraws a review (whoever asked for it, or an owner): the document can be changed again.
#[post("/workspaces/{workspace_id}/documents/{document_id}/reviews/{review_id}/withdraw")]
pub async fn withdraw(
    state: Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
    path: Path<(Uuid, Uuid, Uuid)>,
    form: Form<CsrfOnly>,
) -> PageResult {
    let (workspace, id, review) = path.into_inner();
    let back = address(workspace, id);
    let page = async |visit, refusal| {
        render(
            visit,
            (workspace, id),
            None,
            Some(refusal),
            Typed::default(),
        )
        .await
    };
    let act = async |auth: &Authenticated, user: Uuid| {
        reviews::withdraw(&auth.tx, &auth.ctx, user, workspace, id, review).await
    };
    let to = |_| {
        wake(&state, tenant.id, workspace);
        format!("{back}?done=withdrawn#reviews-h")
    };
    WORKSPACES
        .again(&state, &tenant, &req, &back)
        .post_as_member(&form.csrf_token, act, to, page)
        .await
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn a_quote_is_found_in_characters_at_its_hint_or_first() {
        let body = "Dear Ms Müller,\nI apply. I apply again.";
        assert_eq!(locate(body, "I apply", None), Some((16, 23)));
        assert_eq!(locate(body, "I apply", Some(25)), Some((25, 32)));
        assert_eq!(
            locate(body, "I apply", Some(3)),
            Some((16, 23)),
            "a wrong hint"
        );
        assert_eq!(locate(body, "Mr", None), None);
        assert_eq!(
            locate("aaa", "aa", Some(1)),
            Some((1, 3)),
            "overlapping places"
        );
        assert_eq!(
            locate("ab", "b", Some(9)),
            Some((1, 2)),
            "a hint past the end"
        );
    }
}
