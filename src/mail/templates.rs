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
    /// 24 hours or one hour before an interview the member recorded.
    InterviewReminder(InterviewNotice),
    /// An interview the member had been reminded of is cancelled.
    InterviewCancelled(InterviewNotice),
    /// A short notice: a programme's match, an event's reminder, a place freed on a waitlist.
    Notice(Notice),
}

/// What a short notice says: a headline, a few lines of detail, and what to do next.
#[derive(Debug, Clone)]
pub struct Notice {
    pub org_name: String,
    /// The member's name.
    pub name: String,
    pub subject: String,
    pub headline: String,
    pub lines: Vec<String>,
    pub next: String,
    /// The page it concerns, on the organization's host (none when it was sent from no request).
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "notice.txt", config = "admin-ui/askama.toml", escape = "none")]
struct NoticeText<'a> {
    org_name: &'a str,
    name: &'a str,
    headline: &'a str,
    lines: &'a [String],
    next: &'a str,
    link: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "notice.html", config = "admin-ui/askama.toml")]
struct NoticeHtml<'a> {
    org_name: &'a str,
    name: &'a str,
    headline: &'a str,
    lines: &'a [String],
    next: &'a str,
    link: Option<&'a str>,
}

/// What an interview reminder or cancellation says.
#[derive(Debug, Clone)]
pub struct InterviewNotice {
    pub org_name: String,
    /// The member's name.
    pub name: String,
    /// "Senior Engineer at Globex", "Team Lead (internal)".
    pub title: String,
    /// The time in the interview's zone, with its duration.
    pub when: String,
    /// "in 24 hours", "in one hour".
    pub lead: String,
    pub location: String,
    pub meeting_url: Option<String>,
    pub interviewers: Vec<String>,
    /// Preparation checklist items not done yet.
    pub open_items: Vec<String>,
}

#[derive(Template)]
#[template(
    path = "interview_notice.txt",
    config = "admin-ui/askama.toml",
    escape = "none"
)]
struct InterviewNoticeText<'a> {
    org_name: &'a str,
    name: &'a str,
    headline: &'a str,
    title: &'a str,
    when: &'a str,
    location: &'a str,
    meeting_url: &'a Option<String>,
    interviewers: &'a [String],
    open_items: &'a [String],
    file_note: &'a str,
}

#[derive(Template)]
#[template(path = "interview_notice.html", config = "admin-ui/askama.toml")]
struct InterviewNoticeHtml<'a> {
    org_name: &'a str,
    name: &'a str,
    headline: &'a str,
    title: &'a str,
    when: &'a str,
    location: &'a str,
    meeting_url: &'a Option<String>,
    interviewers: &'a [String],
    open_items: &'a [String],
    file_note: &'a str,
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
            MailTemplate::InterviewReminder(_) => "interview_reminder",
            MailTemplate::InterviewCancelled(_) => "interview_cancelled",
            MailTemplate::Notice(_) => "notice",
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
            MailTemplate::InterviewReminder(notice) => {
                let headline = format!("Your interview is {}.", notice.lead);
                let file_note = "The attached calendar file adds the interview to your calendar, or updates it.";
                Ok((
                    format!("Reminder: {} {}", notice.title, notice.lead),
                    notice.text(&headline, file_note).render().map_err(failed)?,
                    notice.html(&headline, file_note).render().map_err(failed)?,
                ))
            }
            MailTemplate::InterviewCancelled(notice) => {
                let headline = "This interview is cancelled.";
                let file_note = "The attached calendar file removes it from your calendar.";
                Ok((
                    format!("Cancelled: {}", notice.title),
                    notice.text(headline, file_note).render().map_err(failed)?,
                    notice.html(headline, file_note).render().map_err(failed)?,
                ))
            }
            MailTemplate::Notice(notice) => Ok((
                format!("{}: {}", notice.org_name, notice.subject),
                NoticeText {
                    org_name: &notice.org_name,
                    name: &notice.name,
                    headline: &notice.headline,
                    lines: &notice.lines,
                    next: &notice.next,
                    link: notice.link.as_deref(),
                }
                .render()
                .map_err(failed)?,
                NoticeHtml {
                    org_name: &notice.org_name,
                    name: &notice.name,
                    headline: &notice.headline,
                    lines: &notice.lines,
                    next: &notice.next,
                    link: notice.link.as_deref(),
                }
                .render()
                .map_err(failed)?,
            )),
        }
    }
}

impl InterviewNotice {
    fn text<'a>(&'a self, headline: &'a str, file_note: &'a str) -> InterviewNoticeText<'a> {
        InterviewNoticeText {
            org_name: &self.org_name,
            name: &self.name,
            headline,
            title: &self.title,
            when: &self.when,
            location: &self.location,
            meeting_url: &self.meeting_url,
            interviewers: &self.interviewers,
            open_items: &self.open_items,
            file_note,
        }
    }

    fn html<'a>(&'a self, headline: &'a str, file_note: &'a str) -> InterviewNoticeHtml<'a> {
        InterviewNoticeHtml {
            org_name: &self.org_name,
            name: &self.name,
            headline,
            title: &self.title,
            when: &self.when,
            location: &self.location,
            meeting_url: &self.meeting_url,
            interviewers: &self.interviewers,
            open_items: &self.open_items,
            file_note,
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

    fn notice() -> InterviewNotice {
        InterviewNotice {
            org_name: "Acme".into(),
            name: "Grace".into(),
            title: "Staff Engineer at <Globex>".into(),
            when: "Thursday 10 December 2026, 14:00 CET (Europe/Berlin), 90 minutes".into(),
            lead: "in 24 hours".into(),
            location: String::new(),
            meeting_url: Some("https://meet.example/abc".into()),
            interviewers: vec!["Ada Lovelace (CTO)".into(), "Alan Turing".into()],
            open_items: vec!["Prepare questions to ask".into()],
        }
    }

    #[test]
    fn a_notice_lists_its_lines_and_escapes_them_in_html() {
        let (subject, text, html) = MailTemplate::Notice(Notice {
            org_name: "Acme".into(),
            name: "Grace".into(),
            subject: "you have a mentor".into(),
            headline: "Ada <CTO> is your mentor in Leaders 2027.".into(),
            lines: vec!["Score 86 of 100".into(), "Languages: en".into()],
            next: "Say hello and agree on your first session.".into(),
            link: Some("http://acme.localhost:8080/mentoring?a=1&b=2".into()),
        })
        .render()
        .unwrap();
        assert_eq!(subject, "Acme: you have a mentor");
        assert!(text.contains("Hello Grace,"), "{text}");
        assert!(text.contains("Ada <CTO> is your mentor"), "{text}");
        assert!(
            text.contains("  Score 86 of 100\n  Languages: en\n"),
            "{text}"
        );
        assert!(html.contains("<li>Score 86 of 100</li>"), "{html}");
        assert!(
            html.contains("Ada &#60;CTO&#62;") || html.contains("Ada &lt;CTO&gt;"),
            "{html}"
        );
        assert!(
            text.contains("\nhttp://acme.localhost:8080/mentoring?a=1&b=2\n"),
            "{text}"
        );
        assert!(
            html.contains("<a href=\"http://acme.localhost:8080/mentoring?a=1&#38;b=2\">")
                || html.contains("<a href=\"http://acme.localhost:8080/mentoring?a=1&amp;b=2\">"),
            "{html}"
        );
    }

    #[test]
    fn an_interview_reminder_names_the_time_the_people_and_what_is_left() {
        let (subject, text, html) = MailTemplate::InterviewReminder(notice()).render().unwrap();
        assert_eq!(subject, "Reminder: Staff Engineer at <Globex> in 24 hours");
        assert!(text.contains("Your interview is in 24 hours."), "{text}");
        assert!(text.contains("Thursday 10 December 2026, 14:00 CET"));
        assert!(text.contains("Join: https://meet.example/abc"));
        assert!(text.contains("With: Ada Lovelace (CTO), Alan Turing"));
        assert!(text.contains("  - Prepare questions to ask"));
        assert!(!text.contains("Where:"), "no location, no line: {text}");
        assert!(
            html.contains("Globex&#62;") || html.contains("Globex&gt;"),
            "{html}"
        );
        let (subject, text, _) = MailTemplate::InterviewCancelled(notice()).render().unwrap();
        assert_eq!(subject, "Cancelled: Staff Engineer at <Globex>");
        assert!(text.contains("This interview is cancelled."));
    }
}
