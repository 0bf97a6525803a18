//! The mails Trellis sends, each a plain-text and an HTML template (askama, compiled in).

use askama::Template;

use super::MailError;

/// A mail to render, with what it says.
pub enum MailTemplate {
    Invitation {
        org_name: String,
        inviter: String,
        accept_url: String,
        expires_at: String,
    },
    PasswordReset {
        org_name: String,
        reset_url: String,
        valid_minutes: i64,
    },
    PasswordChanged {
        org_name: String,
        when: String,
        ip: String,
    },
    MfaEnabled {
        org_name: String,
        when: String,
    },
}

#[derive(Template)]
#[template(
    path = "invitation.txt",
    config = "admin-ui/askama.toml",
    escape = "none"
)]
struct InvitationText<'a> {
    org_name: &'a str,
    inviter: &'a str,
    accept_url: &'a str,
    expires_at: &'a str,
}

#[derive(Template)]
#[template(path = "invitation.html", config = "admin-ui/askama.toml")]
struct InvitationHtml<'a> {
    org_name: &'a str,
    inviter: &'a str,
    accept_url: &'a str,
    expires_at: &'a str,
}

#[derive(Template)]
#[template(
    path = "password_reset.txt",
    config = "admin-ui/askama.toml",
    escape = "none"
)]
struct PasswordResetText<'a> {
    org_name: &'a str,
    reset_url: &'a str,
    valid_minutes: i64,
}

#[derive(Template)]
#[template(path = "password_reset.html", config = "admin-ui/askama.toml")]
struct PasswordResetHtml<'a> {
    org_name: &'a str,
    reset_url: &'a str,
    valid_minutes: i64,
}

#[derive(Template)]
#[template(
    path = "security_notice.txt",
    config = "admin-ui/askama.toml",
    escape = "none"
)]
struct SecurityNoticeText<'a> {
    org_name: &'a str,
    what: &'a str,
    when: &'a str,
    detail: &'a str,
}

#[derive(Template)]
#[template(path = "security_notice.html", config = "admin-ui/askama.toml")]
struct SecurityNoticeHtml<'a> {
    org_name: &'a str,
    what: &'a str,
    when: &'a str,
    detail: &'a str,
}

impl MailTemplate {
    pub fn name(&self) -> &'static str {
        match self {
            MailTemplate::Invitation { .. } => "invitation",
            MailTemplate::PasswordReset { .. } => "password_reset",
            MailTemplate::PasswordChanged { .. } => "password_changed",
            MailTemplate::MfaEnabled { .. } => "mfa_enabled",
        }
    }

    /// Subject, plain text and HTML.
    pub fn render(&self) -> Result<(String, String, String), MailError> {
        let failed = |e: askama::Error| MailError::Render(self.name(), e.to_string());
        match self {
            MailTemplate::Invitation {
                org_name,
                inviter,
                accept_url,
                expires_at,
            } => Ok((
                format!("You are invited to {org_name} on Trellis"),
                InvitationText {
                    org_name,
                    inviter,
                    accept_url,
                    expires_at,
                }
                .render()
                .map_err(failed)?,
                InvitationHtml {
                    org_name,
                    inviter,
                    accept_url,
                    expires_at,
                }
                .render()
                .map_err(failed)?,
            )),
            MailTemplate::PasswordReset {
                org_name,
                reset_url,
                valid_minutes,
            } => Ok((
                format!("Reset your {org_name} password"),
                PasswordResetText {
                    org_name,
                    reset_url,
                    valid_minutes: *valid_minutes,
                }
                .render()
                .map_err(failed)?,
                PasswordResetHtml {
                    org_name,
                    reset_url,
                    valid_minutes: *valid_minutes,
                }
                .render()
                .map_err(failed)?,
            )),
            MailTemplate::PasswordChanged { org_name, when, ip } => {
                let detail = format!("The change came from {ip}.");
                let what = "Your password was changed";
                Ok((
                    format!("{org_name}: your password was changed"),
                    SecurityNoticeText {
                        org_name,
                        what,
                        when,
                        detail: &detail,
                    }
                    .render()
                    .map_err(failed)?,
                    SecurityNoticeHtml {
                        org_name,
                        what,
                        when,
                        detail: &detail,
                    }
                    .render()
                    .map_err(failed)?,
                ))
            }
            MailTemplate::MfaEnabled { org_name, when } => {
                let detail = "From now on, signing in asks for a code from your authenticator app.";
                let what = "Two-step verification was turned on";
                Ok((
                    format!("{org_name}: two-step verification turned on"),
                    SecurityNoticeText {
                        org_name,
                        what,
                        when,
                        detail,
                    }
                    .render()
                    .map_err(failed)?,
                    SecurityNoticeHtml {
                        org_name,
                        what,
                        when,
                        detail,
                    }
                    .render()
                    .map_err(failed)?,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_what_the_text_part_keeps() {
        let (subject, text, html) = MailTemplate::Invitation {
            org_name: "Acme <R&D>".into(),
            inviter: "ada@acme.example".into(),
            accept_url: "https://acme.example/a#token=x".into(),
            expires_at: "2026-12-01 10:00 UTC".into(),
        }
        .render()
        .unwrap();
        assert!(subject.contains("Acme <R&D>"));
        assert!(text.contains("Acme <R&D>") && text.contains("https://acme.example/a#token=x"));
        assert!(
            html.contains("Acme &#60;R&#38;D&#62;") || html.contains("Acme &lt;R&amp;D&gt;"),
            "{html}"
        );
    }
}
