//! Reading an uploaded CSV without holding it in memory: the multipart body is spooled to a temporary
//! file (hashing and counting as it goes, refused the moment it passes the limit), then parsed on a
//! blocking thread that hands rows over in batches. The file's shape is checked as it is read: a binary
//! or non-UTF-8 file, duplicate or empty headers, too many columns, no rows — each a precise 422.
//! Problems of one record (a ragged row, a huge cell) are kept with the row and reported by validation.

use std::{
    io::{Read, Seek, SeekFrom},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use actix_multipart::{Multipart, MultipartError};
use actix_web::{HttpRequest, error::PayloadError, web};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::{io::AsyncWriteExt, sync::mpsc};

use crate::{config::ImportSettings, error::ApiError};

/// A cell longer than this is cut and its row reported.
pub const MAX_CELL_CHARS: usize = 10_000;
pub const MAX_COLUMNS: usize = 100;
/// Rows handed over at once.
const BATCH_ROWS: usize = 2_000;

/// The uploaded file, on disk.
pub struct Spooled {
    pub file: std::fs::File,
    pub name: String,
    pub bytes: u64,
    pub sha256: [u8; 32],
    /// The caller's mapping (a `mapping` form field), if any.
    pub mapping: Option<serde_json::Value>,
    /// The console form's `csrf_token` field (read only for [`Parts::ConsoleForm`]).
    pub csrf_token: Option<String>,
    /// The most rows the file may hold (`imports.max_rows`).
    pub max_rows: usize,
}

/// Which parts a multipart upload may carry besides `file` and `mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    Api,
    /// The console's upload form, which also carries its `csrf_token`.
    ConsoleForm,
}

fn unprocessable(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        code,
        detail: detail.into(),
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::Unprocessable {
        code: "file_too_large",
        detail: format!(
            "the file is larger than the limit of {} MB",
            limit / (1024 * 1024)
        ),
    }
}

/// What a form may carry besides its file: boundaries, part headers, the mapping and the CSRF token.
pub const FORM_OVERHEAD: u64 = 64 * 1024;

/// The multipart form in `payload`, read no further than the file limit and the form's overhead: a body
/// that goes on (a gigabyte streamed, a "form" that never shows its boundary) fails at that point
/// instead of being read to its end. The flag says that this is why it failed.
fn limited_form(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &ImportSettings,
) -> (Multipart, Arc<AtomicBool>) {
    let budget = settings.max_upload_bytes.saturating_add(FORM_OVERHEAD);
    let over = Arc::new(AtomicBool::new(false));
    let flag = over.clone();
    let mut seen: u64 = 0;
    let limited = payload.map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > budget {
            flag.store(true, Ordering::Release);
            return Err(PayloadError::Overflow);
        }
        Ok(chunk)
    });
    (Multipart::new(req.headers(), limited), over)
}

/// Reads the multipart body: the `file` part to a temporary file, an optional `mapping` part (JSON)
/// and, from the console's form, its `csrf_token`.
pub async fn spool(
    req: &HttpRequest,
    payload: web::Payload,
    settings: &ImportSettings,
    parts: Parts,
) -> Result<Spooled, ApiError> {
    let (mut payload, over) = limited_form(req, payload, settings);
    let unreadable = |error: MultipartError| {
        if over.load(Ordering::Acquire) {
            too_large(settings.max_upload_bytes)
        } else {
            ApiError::bad_request("malformed_upload", error.to_string())
        }
    };
    let mut spooled: Option<Spooled> = None;
    let mut mapping = None;
    let mut csrf_token = None;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(unreadable)?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                if spooled.is_some() {
                    return Err(ApiError::bad_request("malformed_upload", "send one file"));
                }
                let file_name = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(|n| {
                        n.chars()
                            .filter(|c| !c.is_control())
                            .take(255)
                            .collect::<String>()
                    })
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| "upload.csv".into());
                let std_file = if settings.spool_dir.is_empty() {
                    tempfile::tempfile()
                } else {
                    tempfile::tempfile_in(&settings.spool_dir)
                }
                .map_err(ApiError::internal)?;
                let mut file = tokio::fs::File::from_std(std_file);
                let mut hasher = Sha256::new();
                let mut bytes: u64 = 0;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(unreadable)?;
                    bytes += chunk.len() as u64;
                    if bytes > settings.max_upload_bytes {
                        return Err(too_large(settings.max_upload_bytes));
                    }
                    hasher.update(&chunk);
                    file.write_all(&chunk).await.map_err(ApiError::internal)?;
                }
                file.flush().await.map_err(ApiError::internal)?;
                let file = file.into_std().await;
                spooled = Some(Spooled {
                    file,
                    name: file_name,
                    bytes,
                    sha256: hasher.finalize().into(),
                    mapping: None,
                    csrf_token: None,
                    max_rows: settings.max_rows,
                });
            }
            "mapping" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(unreadable)?;
                    if text.len() + chunk.len() > 64 * 1024 {
                        return Err(ApiError::validation("mapping", "is larger than 64 KB"));
                    }
                    text.extend_from_slice(&chunk);
                }
                mapping =
                    Some(serde_json::from_slice(&text).map_err(|e| {
                        ApiError::validation("mapping", format!("is not JSON: {e}"))
                    })?);
            }
            "csrf_token" if parts == Parts::ConsoleForm => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(unreadable)?;
                    if text.len() + chunk.len() > 1024 {
                        return Err(ApiError::bad_request(
                            "malformed_upload",
                            "csrf_token too long",
                        ));
                    }
                    text.extend_from_slice(&chunk);
                }
                csrf_token = Some(String::from_utf8_lossy(&text).into_owned());
            }
            other => {
                return Err(ApiError::validation(
                    other.to_owned(),
                    "unknown part: send `file` (and optionally `mapping`)",
                ));
            }
        }
    }
    let mut spooled = spooled
        .ok_or_else(|| ApiError::validation("file", "a CSV file is required (the `file` part)"))?;
    spooled.mapping = mapping;
    spooled.csrf_token = csrf_token;
    Ok(spooled)
}

/// One CSV record: its row number (the header is row 1, as a spreadsheet shows it), its cells, and what is wrong with it as a
/// record, if anything.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: i32,
    pub cells: Vec<String>,
    pub problem: Option<String>,
}

/// What the parser hands over.
pub enum Parsed {
    Header { headers: Vec<String>, delimiter: u8 },
    Rows(Vec<Row>),
}

/// Parses the spooled file on a blocking thread; the receiver gets the header first, then batches.
pub fn parse(file: std::fs::File, max_rows: usize) -> mpsc::Receiver<Result<Parsed, ApiError>> {
    let (sender, receiver) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        if let Err(error) = parse_into(file, max_rows, &sender) {
            let _ = sender.blocking_send(Err(error));
        }
    });
    receiver
}

fn parse_into(
    mut file: std::fs::File,
    max_rows: usize,
    sender: &mpsc::Sender<Result<Parsed, ApiError>>,
) -> Result<(), ApiError> {
    file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
    let mut head = Vec::with_capacity(64 * 1024);
    (&mut file)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(ApiError::internal)?;
    let delimiter = sniff(&head)?;
    file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::BufReader::with_capacity(256 * 1024, file));
    let mut record = csv::ByteRecord::new();
    let mut headers: Option<Vec<String>> = None;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut rows = 0usize;
    // Records are numbered as a spreadsheet numbers its rows (the header is 1), whatever line breaks
    // quoted cells hold.
    let mut line: u64 = 0;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            unprocessable("malformed_csv", format!("the file is not valid CSV: {e}"))
        })?;
        if !more {
            break;
        }
        line += 1;
        if record
            .iter()
            .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        let mut cells = Vec::with_capacity(record.len());
        for cell in record.iter() {
            let text = std::str::from_utf8(cell).map_err(|_| {
                unprocessable(
                    "not_utf8",
                    format!("line {line} is not UTF-8 text: save the file as \"CSV UTF-8\" and upload it again"),
                )
            })?;
            cells.push(text.trim_start_matches('\u{feff}').to_owned());
        }
        let Some(headers) = &headers else {
            let found = check_headers(cells)?;
            sender
                .blocking_send(Ok(Parsed::Header {
                    headers: found.clone(),
                    delimiter,
                }))
                .map_err(|_| ApiError::internal(anyhow::anyhow!("the upload was abandoned")))?;
            headers = Some(found);
            continue;
        };
        if rows == max_rows {
            return Err(unprocessable(
                "too_many_rows",
                format!(
                    "the file has more than {max_rows} rows: split it into files of at most that many"
                ),
            ));
        }
        let line =
            i32::try_from(line).map_err(|_| unprocessable("file_too_large", "too many lines"))?;
        batch.push(check_row(line, cells, headers));
        rows += 1;
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            sender
                .blocking_send(Ok(Parsed::Rows(full)))
                .map_err(|_| ApiError::internal(anyhow::anyhow!("the upload was abandoned")))?;
        }
    }
    if headers.is_none() {
        return Err(unprocessable("empty_file", "the file is empty"));
    }
    if rows == 0 {
        return Err(unprocessable(
            "no_rows",
            "the file has a header but no rows",
        ));
    }
    if !batch.is_empty() {
        let _ = sender.blocking_send(Ok(Parsed::Rows(batch)));
    }
    Ok(())
}

/// The delimiter of the header line: the most frequent of `,` `;` and tab outside quotes (`,` when
/// there is none: a one-column file). A file with NUL bytes is binary.
fn sniff(head: &[u8]) -> Result<u8, ApiError> {
    if head.contains(&0) {
        return Err(unprocessable(
            "binary_file",
            "the file is binary (it contains NUL bytes), not CSV text: export it as \"CSV UTF-8\"",
        ));
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(unprocessable("empty_file", "the file is empty"));
    }
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in text {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                for (d, n) in &mut counts {
                    if *d == b {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    let (delimiter, n) = counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .unwrap_or((b',', 0));
    Ok(if n == 0 { b',' } else { delimiter })
}

fn check_headers(cells: Vec<String>) -> Result<Vec<String>, ApiError> {
    if cells.len() > MAX_COLUMNS {
        return Err(unprocessable(
            "too_many_columns",
            format!(
                "the header has {} columns; at most {MAX_COLUMNS}",
                cells.len()
            ),
        ));
    }
    let headers: Vec<String> = cells.into_iter().map(|h| h.trim().to_owned()).collect();
    for (i, header) in headers.iter().enumerate() {
        if header.is_empty() {
            return Err(unprocessable(
                "empty_header",
                format!("column {} of the header has no name", i + 1),
            ));
        }
        if header.chars().count() > 200 {
            return Err(unprocessable(
                "header_too_long",
                format!(
                    "column {} of the header is longer than 200 characters",
                    i + 1
                ),
            ));
        }
        if let Some(j) = headers[..i]
            .iter()
            .position(|h| h.to_lowercase() == header.to_lowercase())
        {
            return Err(unprocessable(
                "duplicate_header",
                format!(
                    "the header names {header:?} twice (columns {} and {}): give every column its own name",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(headers)
}

fn check_row(line: i32, mut cells: Vec<String>, headers: &[String]) -> Row {
    let mut problem = None;
    if cells.len() != headers.len() {
        problem = Some(format!(
            "has {} fields; the header has {} (a missing or extra delimiter?)",
            cells.len(),
            headers.len()
        ));
        cells.truncate(headers.len().max(1) + 5);
    }
    for (i, cell) in cells.iter_mut().enumerate() {
        if cell.contains('\0') {
            let column = headers.get(i).map(String::as_str).unwrap_or("(extra)");
            problem.get_or_insert(format!(
                "the cell in column {column:?} holds a NUL character (is the file binary?)"
            ));
            cell.retain(|c| c != '\0');
        }
        let chars = cell.chars().count();
        if chars > MAX_CELL_CHARS {
            let column = headers.get(i).map(String::as_str).unwrap_or("(extra)");
            problem.get_or_insert(format!(
                "the cell in column {column:?} has {chars} characters; at most {MAX_CELL_CHARS}"
            ));
            *cell = cell.chars().take(200).collect::<String>() + "…";
        }
    }
    Row {
        line,
        cells,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_the_header_lines_and_quotes_do_not_count() {
        assert_eq!(sniff(b"email;name;\"a,b,c,d\"\nx,y").unwrap(), b';');
        assert_eq!(sniff(b"\xEF\xBB\xBFemail,name\n").unwrap(), b',');
        assert_eq!(sniff(b"email\tname\n").unwrap(), b'\t');
        assert_eq!(sniff(b"email\n").unwrap(), b',');
        assert!(sniff(b"PK\x03\x04\x00\x00").is_err());
        assert!(sniff(b"\xEF\xBB\xBF \n\n").is_err());
    }

    #[test]
    fn headers_must_be_named_once() {
        let cells = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_headers(cells(&["Email", "email"])).is_err());
        assert!(check_headers(cells(&["Email", " "])).is_err());
        assert_eq!(
            check_headers(cells(&[" Email ", "Name"])).unwrap(),
            ["Email", "Name"]
        );
    }

    #[test]
    fn ragged_rows_and_huge_cells_are_kept_with_their_problem() {
        let headers = vec!["a".to_owned(), "b".to_owned()];
        assert!(check_row(2, vec!["1".into()], &headers).problem.is_some());
        let huge = check_row(3, vec!["x".repeat(20_000), "y".into()], &headers);
        assert!(huge.problem.unwrap().contains("20000 characters"));
        assert!(huge.cells[0].chars().count() < 300);
        let nul = check_row(5, vec!["a\0b".into(), "y".into()], &headers);
        assert!(nul.problem.unwrap().contains("NUL"));
        assert_eq!(nul.cells[0], "ab");
        assert!(
            check_row(4, vec!["1".into(), "2".into()], &headers)
                .problem
                .is_none()
        );
    }
}
