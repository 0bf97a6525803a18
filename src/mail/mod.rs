//! Mail: rendered from templates (plain text and HTML) when the change that needs it happens, sealed
//! (the body may hold a single-use link) and queued as a job in the same transaction; delivered by the
//! job worker through lettre's SMTP transport, never inside a request. Without `mail.smtp_url` (local
//! development) mail is written to the log instead.

mod templates;

use std::str::FromStr;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, header::ContentType},
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use templates::{InterviewNotice, MailTemplate, Notice};

use crate::{
    config::MailSettings,
    crypto::Crypto,
    domain::TenantId,
    jobs::{self, JobKind, worker::JobError},
    tenancy::TenantTx,
};

/// One rendered message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Files sent along (a calendar file); none for most mail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("rendering the {0} mail failed: {1}")]
    Render(&'static str, String),
    #[error("sealing the mail failed: {0}")]
    Seal(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Renders `template` for `to` and queues it in the request's transaction.
pub async fn enqueue(
    tx: &TenantTx,
    crypto: &Crypto,
    now: chrono::DateTime<chrono::Utc>,
    to: &str,
    template: MailTemplate,
) -> Result<(), MailError> {
    enqueue_with(tx, crypto, now, to, template, Vec::new()).await
}

/// [`enqueue`], with files attached.
pub async fn enqueue_with(
    tx: &TenantTx,
    crypto: &Crypto,
    now: chrono::DateTime<chrono::Utc>,
    to: &str,
    template: MailTemplate,
    attachments: Vec<MailAttachment>,
) -> Result<(), MailError> {
    let (subject, text, html) = template.render()?;
    let mail = OutgoingMail {
        to: to.to_owned(),
        subject,
        text,
        html,
        attachments,
    };
    let plain = serde_json::to_vec(&mail).map_err(|e| MailError::Seal(e.to_string()))?;
    let sealed = crypto
        .seal(&plain, &context(tx.tenant_id()))
        .map_err(|e| MailError::Seal(e.to_string()))?;
    jobs::enqueue(
        tx,
        JobKind::SendMail,
        json!({ "template": template.name(), "sealed": sealed }),
        now,
    )
    .await?;
    Ok(())
}

/// The job: opens the sealed message and hands it to the SMTP server.
pub async fn deliver(
    mailer: &Mailer,
    crypto: &Crypto,
    tenant: TenantId,
    payload: &Value,
) -> Result<(), JobError> {
    let sealed = payload["sealed"]
        .as_str()
        .ok_or_else(|| JobError::Permanent("mail job without a sealed message".into()))?;
    let plain = crypto
        .open(sealed, &context(tenant))
        .map_err(|e| JobError::Permanent(format!("the queued mail does not open: {e}")))?;
    let mail: OutgoingMail = serde_json::from_slice(&plain)
        .map_err(|e| JobError::Permanent(format!("the queued mail is malformed: {e}")))?;
    mailer.send(&mail).await
}

fn context(tenant: TenantId) -> String {
    format!("mail:{tenant}")
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Log,
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Mailer> {
        let from = Mailbox::from_str(&settings.from)
            .map_err(|e| anyhow::anyhow!("mail.from {:?}: {e}", settings.from))?;
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("mail.smtp_url: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build(),
            ),
            None => Transport::Log,
        };
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), JobError> {
        let to = Mailbox::from_str(&mail.to)
            .map_err(|e| JobError::Permanent(format!("bad recipient: {e}")))?;
        let body = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
        let body = if mail.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for file in &mail.attachments {
                let content_type = ContentType::parse(&file.content_type).map_err(|e| {
                    JobError::Permanent(format!("attachment type {:?}: {e}", file.content_type))
                })?;
                mixed = mixed.singlepart(
                    Attachment::new(file.filename.clone()).body(file.content.clone(), content_type),
                );
            }
            mixed
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(body)
            .map_err(|e| JobError::Permanent(format!("building the message: {e}")))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| JobError::Retry(format!("SMTP: {e}"))),
            Transport::Log => {
                tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.text, "mail (no smtp_url set: logged, not sent)");
                Ok(())
            }
        }
    }
}
