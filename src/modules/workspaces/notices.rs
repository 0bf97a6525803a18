//! Who hears of what happens in a workspace, and how: [`tell`] writes each person's in-app
//! notification and, when there is one, queues their mail, in the transaction of the change. Only
//! active members of the workspace hear anything, and never the person who acted.
//!
//! Comments: everyone a comment mentions is told in the app and by mail at once; on a reply, everyone
//! else who wrote in the thread is told in the app (mails for those come with the digest). Reviews:
//! whoever's turn it is, when it becomes their turn and in each reminder, and the requester when it
//! is decided — in the app and by mail.

use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::{
    documents::DocumentRow,
    reviews::{ApproverRow, Review},
    workspace::WorkspaceRow,
};
use crate::{
    audit::AuditCtx,
    auth::service::org_name,
    crypto::Crypto,
    db::sql::statement,
    error::ApiError,
    mail::{self, MailTemplate, Notice},
    modules::notifications::{self, Notify, clip},
    tenancy::TenantTx,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Clone, FromQueryResult)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// Of `users`, the active members of `workspace` other than `except`.
pub async fn members(
    tx: &TenantTx,
    workspace: Uuid,
    users: &[Uuid],
    except: Uuid,
) -> Result<Vec<Person>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Person::find_by_statement(statement(
        "SELECT u.id, CASE WHEN u.display_name = '' THEN u.email ELSE u.display_name END AS name, u.email \
         FROM users u JOIN workspace_members m ON m.tenant_id = u.tenant_id AND m.user_id = u.id AND m.workspace_id = $2 \
         WHERE u.tenant_id = $1 AND u.status = 'active' AND u.id = ANY($3) AND u.id <> $4 ORDER BY u.id",
        vec![
            tx.tenant_id().as_uuid().into(),
            workspace.into(),
            users.to_vec().into(),
            except.into(),
        ],
    ))
    .all(tx)
    .await?)
}

/// A member's name as others see it.
pub async fn name_of(tx: &TenantTx, user: Uuid) -> Result<String> {
    Ok(tx
        .query_one_raw(statement(
            "SELECT CASE WHEN display_name = '' THEN email ELSE display_name END AS name FROM users \
             WHERE tenant_id = $1 AND id = $2",
            vec![tx.tenant_id().as_uuid().into(), user.into()],
        ))
        .await?
        .map(|r| r.try_get::<String>("", "name"))
        .transpose()?
        .unwrap_or_else(|| "A member".into()))
}

/// What happened, about which document.
pub struct About<'a> {
    pub kind: &'static str,
    /// Who acted (none: Trellis itself).
    pub actor: Option<Uuid>,
    pub workspace: &'a WorkspaceRow,
    pub document: &'a DocumentRow,
    pub comment: Option<Uuid>,
    /// One line: who did what where.
    pub title: String,
    pub excerpt: String,
}

/// What a mail says besides the greeting: its subject, headline, details and what to do next.
pub struct MailText {
    pub subject: String,
    pub headline: String,
    pub lines: Vec<String>,
    pub next: String,
}

/// Tells each of `people` about `about` in the app and, with `mail`, by mail.
pub async fn tell(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    people: &[Person],
    about: About<'_>,
    mail: Option<MailText>,
) -> Result<()> {
    let org = match (&mail, people.is_empty()) {
        (Some(_), false) => Some(org_name(tx).await?),
        _ => None,
    };
    // The document's page at the organization's address (none for a background job's mail).
    let at = match (about.comment, about.kind.starts_with("review")) {
        (Some(comment), _) => format!("#comment-{comment}"),
        (None, true) => "#reviews-h".to_owned(),
        (None, false) => String::new(),
    };
    let link = ctx.request.link(&format!(
        "/workspaces/{}/documents/{}{at}",
        about.workspace.id, about.document.id
    ));
    for person in people {
        notifications::notify(
            tx,
            ctx.now,
            Notify {
                user: person.id,
                kind: about.kind,
                actor: about.actor,
                workspace: Some(about.workspace.id),
                document: Some(about.document.id),
                comment: about.comment,
                title: about.title.clone(),
                excerpt: about.excerpt.clone(),
                mailed: mail.is_some(),
            },
        )
        .await?;
        if let (Some(text), Some(org)) = (&mail, &org) {
            let notice = Notice {
                link: link.clone(),
                org_name: org.clone(),
                name: person.name.clone(),
                subject: text.subject.clone(),
                headline: text.headline.clone(),
                lines: text.lines.clone(),
                next: text.next.clone(),
            };
            mail::enqueue(
                tx,
                crypto,
                ctx.now,
                &person.email,
                MailTemplate::Notice(notice),
            )
            .await
            .map_err(ApiError::internal)?;
        }
    }
    Ok(())
}

/// A comment just written.
pub struct Written<'a> {
    pub author: Uuid,
    pub workspace: &'a WorkspaceRow,
    pub document: &'a DocumentRow,
    pub comment: Uuid,
    pub thread: Uuid,
    pub body: &'a str,
    /// Whom it mentions (newly, for an edit).
    pub mentioned: &'a [Uuid],
    /// The text its thread is anchored to.
    pub quote: Option<&'a str>,
}

/// Tells everyone `written` mentions, and on a reply the thread's other writers.
pub async fn comment_written(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    written: Written<'_>,
) -> Result<()> {
    comment_mentions(tx, ctx, crypto, &written).await?;
    if written.comment == written.thread {
        return Ok(());
    }
    let writers: Vec<Uuid> = tx
        .query_all_raw(statement(
            "SELECT DISTINCT author_id FROM document_comments WHERE tenant_id = $1 AND document_id = $2 \
             AND thread_id = $3 AND author_id IS NOT NULL AND deleted_at IS NULL AND NOT (author_id = ANY($4))",
            vec![
                tx.tenant_id().as_uuid().into(),
                written.document.id.into(),
                written.thread.into(),
                written.mentioned.to_vec().into(),
            ],
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "author_id"))
        .collect::<std::result::Result<_, _>>()?;
    let people = members(tx, written.workspace.id, &writers, written.author).await?;
    if people.is_empty() {
        return Ok(());
    }
    let author = name_of(tx, written.author).await?;
    let about = About {
        kind: "comment.replied",
        actor: Some(written.author),
        workspace: written.workspace,
        document: written.document,
        comment: Some(written.comment),
        title: format!("{author} replied on “{}”", written.document.title),
        excerpt: written.body.to_owned(),
    };
    tell(tx, ctx, crypto, &people, about, None).await
}

/// Tells everyone `written` mentions: in the app and by mail.
pub async fn comment_mentions(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    written: &Written<'_>,
) -> Result<()> {
    let people = members(tx, written.workspace.id, written.mentioned, written.author).await?;
    if people.is_empty() {
        return Ok(());
    }
    let author = name_of(tx, written.author).await?;
    let title = &written.document.title;
    let mut lines = vec![format!("“{}”", clip(written.body, 500))];
    if let Some(quote) = written.quote {
        lines.push(format!("On the text: “{}”", clip(quote, 200)));
    }
    let about = About {
        kind: "comment.mentioned",
        actor: Some(written.author),
        workspace: written.workspace,
        document: written.document,
        comment: Some(written.comment),
        title: format!("{author} mentioned you on “{title}”"),
        excerpt: written.body.to_owned(),
    };
    let mail = MailText {
        subject: format!("{author} mentioned you on {title}"),
        headline: format!(
            "{author} mentioned you in a comment on “{title}” in the workspace {}.",
            written.workspace.name
        ),
        lines,
        next: "Open the document in Trellis to reply, or resolve the thread when it is done."
            .into(),
    };
    tell(tx, ctx, crypto, &people, about, Some(mail)).await
}

/// Tells whoever's turn it is now that their review is asked for.
pub async fn review_turn(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    actor: Uuid,
    space: &WorkspaceRow,
    doc: &DocumentRow,
    review: &Review,
) -> Result<()> {
    let users: Vec<Uuid> = review.waiting_on().iter().map(|a| a.user_id).collect();
    let people = members(tx, space.id, &users, actor).await?;
    let who = name_of(tx, review.review.requested_by.unwrap_or(actor)).await?;
    let title = &doc.title;
    let mut lines = vec![format!("Version {} of “{title}”.", review.review.version)];
    if !review.review.message.is_empty() {
        lines.push(format!("“{}”", clip(&review.review.message, 500)));
    }
    if review.is_chain() {
        lines.push(format!(
            "You are approver {} of {}, in order.",
            review.waiting_on().first().map(|a| a.position).unwrap_or(1),
            review.approvers.len()
        ));
    }
    let about = About {
        kind: "review.requested",
        actor: Some(actor),
        workspace: space,
        document: doc,
        comment: None,
        title: format!("{who} asks for your review of “{title}”"),
        excerpt: review.review.message.clone(),
    };
    let mail = MailText {
        subject: format!("Review requested: {title}"),
        headline: format!(
            "{who} asks you to review “{title}” in the workspace {}.",
            space.name
        ),
        lines,
        next: "Open the document in Trellis to approve it or request changes.".into(),
    };
    tell(tx, ctx, crypto, &people, about, Some(mail)).await
}

/// The requester hears how their review ended.
#[allow(clippy::too_many_arguments)]
pub async fn review_outcome(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    actor: &ApproverRow,
    space: &WorkspaceRow,
    doc: &DocumentRow,
    review: &Review,
    approved: bool,
) -> Result<()> {
    let Some(requester) = review.review.requested_by else {
        return Ok(());
    };
    let people = members(tx, space.id, &[requester], actor.user_id).await?;
    let title = &doc.title;
    let (kind, verb) = if approved {
        ("review.approved", "approved")
    } else {
        ("review.changes_requested", "asks for changes to")
    };
    let headline = if approved {
        format!("“{title}” is approved (version {}).", review.review.version)
    } else {
        format!("{} asks for changes to “{title}”.", actor.name)
    };
    let mut lines = Vec::new();
    if !actor.comment.is_empty() {
        lines.push(format!("{}: “{}”", actor.name, clip(&actor.comment, 500)));
    }
    let about = About {
        kind,
        actor: Some(actor.user_id),
        workspace: space,
        document: doc,
        comment: None,
        title: format!("{} {verb} “{title}”", actor.name),
        excerpt: actor.comment.clone(),
    };
    let mail = MailText {
        subject: format!("{} {verb} {title}", actor.name),
        headline,
        lines,
        next: if approved {
            "Nothing more is needed for this version.".into()
        } else {
            "Make the changes, save the document and ask for a review again.".into()
        },
    };
    tell(tx, ctx, crypto, &people, about, Some(mail)).await
}

/// A reminder's mail and notification to the approvers waited on.
pub async fn review_reminder(
    tx: &TenantTx,
    ctx: &AuditCtx,
    crypto: &Crypto,
    space: &WorkspaceRow,
    doc: &DocumentRow,
    review: &Review,
    people: &[Person],
) -> Result<()> {
    let title = &doc.title;
    let waited = (ctx.now - review.review.created_at.to_utc()).num_days();
    let about = About {
        kind: "review.reminder",
        actor: None,
        workspace: space,
        document: doc,
        comment: None,
        title: format!("Your review of “{title}” is waiting"),
        excerpt: review.review.message.clone(),
    };
    let mail = MailText {
        subject: format!("reminder: review {title}"),
        headline: format!(
            "“{title}” in the workspace {} is waiting for your review.",
            space.name
        ),
        lines: vec![format!(
            "Asked for {} ago, version {}.",
            if waited == 1 {
                "a day".to_owned()
            } else {
                format!("{waited} days")
            },
            review.review.version
        )],
        next: "Open the document in Trellis to approve it or request changes.".into(),
    };
    tell(tx, ctx, crypto, people, about, Some(mail)).await
}
