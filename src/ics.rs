//! Calendar files (RFC 5545): one event, in UTC, that a calendar application adds — or, with the same
//! `UID` and a higher `SEQUENCE`, updates or (status `CANCELLED`) removes. Text is escaped, lines end
//! in CRLF and are folded at 75 octets without splitting a character.

use chrono::{DateTime, Utc};

/// One event of a calendar file.
#[derive(Debug, Clone)]
pub struct CalendarEvent<'a> {
    /// Stable across versions of the same event.
    pub uid: &'a str,
    /// Raised by every change, so the newest file wins.
    pub sequence: i32,
    /// When this version was made.
    pub stamp: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: &'a str,
    pub description: &'a str,
    pub location: Option<&'a str>,
    pub url: Option<&'a str>,
    pub cancelled: bool,
}

/// The MIME type of what [`render`] returns.
pub const CONTENT_TYPE: &str = "text/calendar; charset=utf-8; method=PUBLISH";

/// A `VCALENDAR` with the one event.
pub fn render(event: &CalendarEvent<'_>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Trellis//Interview calendar//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", escape(event.uid)),
        format!("SEQUENCE:{}", event.sequence.max(0)),
        format!("DTSTAMP:{}", utc(event.stamp)),
        format!("DTSTART:{}", utc(event.start)),
        format!("DTEND:{}", utc(event.end)),
        format!(
            "STATUS:{}",
            if event.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ),
        format!("SUMMARY:{}", escape(event.summary)),
    ];
    if !event.description.is_empty() {
        lines.push(format!("DESCRIPTION:{}", escape(event.description)));
    }
    if let Some(location) = event.location.filter(|l| !l.is_empty()) {
        lines.push(format!("LOCATION:{}", escape(location)));
    }
    if let Some(url) = event.url {
        // A URI value: not escaped, but it may not break the line it is on.
        lines.push(format!("URL:{}", url.replace(['\r', '\n'], "")));
    }
    lines.push("END:VEVENT".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    let mut out = String::new();
    for line in lines {
        fold_into(&mut out, &line);
    }
    out
}

fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT escaping: backslash, semicolon, comma and line breaks.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` with CRLF, folded so no physical line exceeds 75 octets (continuations start with a
/// space, which counts).
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    fn event<'a>(summary: &'a str, description: &'a str) -> CalendarEvent<'a> {
        CalendarEvent {
            uid: "0190-abc@acme.example.com",
            sequence: 2,
            stamp: at("2026-12-01T08:00:00Z"),
            start: at("2026-12-10T13:00:00Z"),
            end: at("2026-12-10T14:30:00Z"),
            summary,
            description,
            location: Some("Room 4, Main St. 1"),
            url: Some("https://meet.example/abc"),
            cancelled: false,
        }
    }

    #[test]
    fn times_are_utc_and_lines_end_in_crlf() {
        let text = render(&event("Interview", ""));
        assert!(text.contains("\r\nDTSTART:20261210T130000Z\r\n"), "{text}");
        assert!(text.contains("\r\nDTEND:20261210T143000Z\r\n"));
        assert!(text.contains("\r\nSEQUENCE:2\r\n"));
        assert!(text.contains("\r\nSTATUS:CONFIRMED\r\n"));
        assert!(!text.contains("DESCRIPTION"), "empty text is left out");
        assert!(text.replace("\r\n", "").find('\n').is_none(), "no bare LF");
        assert!(text.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn text_is_escaped() {
        let text = render(&event(
            "Panel; Acme, Inc.",
            "Bring: CV\\portfolio\r\nand notes",
        ));
        assert!(text.contains("SUMMARY:Panel\\; Acme\\, Inc.\r\n"), "{text}");
        assert!(text.contains("DESCRIPTION:Bring: CV\\\\portfolio\\nand notes\r\n"));
        assert!(text.contains("LOCATION:Room 4\\, Main St. 1\r\n"));
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let summary = "Entretien très détaillé — ".repeat(12);
        let text = render(&event(&summary, ""));
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{summary}")));
    }

    #[test]
    fn a_cancelled_event_says_so() {
        let mut cancelled = event("Interview", "");
        cancelled.cancelled = true;
        assert!(render(&cancelled).contains("\r\nSTATUS:CANCELLED\r\n"));
    }
}
