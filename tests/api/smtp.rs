//! A real SMTP server for the tests: Python's aiosmtpd on a free loopback port, storing what it
//! receives in a maildir that the tests read.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct TestSmtp {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

/// One received message: who it went to, its subject, its text and HTML parts, and its attachments.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<ReceivedAttachment>,
}

#[derive(Debug, Clone)]
pub struct ReceivedAttachment {
    pub filename: String,
    /// The MIME type without parameters.
    pub mimetype: String,
    pub body: String,
}

impl TestSmtp {
    pub async fn start() -> TestSmtp {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let dir =
            std::env::temp_dir().join(format!("trellis-smtp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd) is installed");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        TestSmtp { port, dir, child }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.join("maildir").join(sub)) {
                for entry in entries.flatten() {
                    let modified = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    files.push((modified, entry.path()));
                }
            }
        }
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| parse(&std::fs::read(path).unwrap()))
            .collect()
    }

    /// The messages sent to `to`.
    pub fn messages_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.contains(to))
            .collect()
    }
}

fn parse(raw: &[u8]) -> ReceivedMail {
    let mail = mailparse::parse_mail(raw).unwrap();
    let header = |name: &str| {
        mail.headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
            .unwrap_or_default()
    };
    let mut parts = Vec::new();
    leaves(&mail, &mut parts);
    let body_part = |mime: &str| {
        parts
            .iter()
            .find(|p| p.ctype.mimetype == mime && !is_attachment(p))
            .map(|p| p.get_body().unwrap())
            .unwrap_or_default()
    };
    ReceivedMail {
        to: header("To"),
        subject: header("Subject"),
        text: body_part("text/plain"),
        html: body_part("text/html"),
        attachments: parts
            .iter()
            .filter(|p| is_attachment(p))
            .map(|p| ReceivedAttachment {
                filename: p
                    .get_content_disposition()
                    .params
                    .get("filename")
                    .cloned()
                    .unwrap_or_default(),
                mimetype: p.ctype.mimetype.clone(),
                body: p.get_body().unwrap(),
            })
            .collect(),
    }
}

/// The message's parts that are not themselves multipart, depth first.
fn leaves<'a>(part: &'a mailparse::ParsedMail<'a>, into: &mut Vec<&'a mailparse::ParsedMail<'a>>) {
    if part.subparts.is_empty() {
        into.push(part);
    }
    for sub in &part.subparts {
        leaves(sub, into);
    }
}

fn is_attachment(part: &mailparse::ParsedMail<'_>) -> bool {
    part.get_content_disposition().disposition == mailparse::DispositionType::Attachment
}

impl ReceivedMail {
    /// The token of the first link in the text part that contains `path`.
    pub fn link_token(&self, path: &str) -> String {
        let link = self
            .text
            .split_whitespace()
            .find(|word| word.contains(path))
            .unwrap_or_else(|| panic!("no {path} link in {:?}", self.text));
        link.split("#token=").nth(1).unwrap().to_owned()
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
