//! An import's rows as stored: each CSV record with the values it will store and its own problems,
//! worked out with the import's mapping. Rows reach the table the fastest way PostgreSQL takes them:
//! `COPY` into a temporary table (COPY FROM refuses tables under row-level security), then one
//! `INSERT … SELECT` or `UPDATE … FROM` into `import_rows`, where RLS applies. Rows are encoded on
//! blocking threads a batch at a time, so memory stays flat however large the file.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    fields::Mapping,
    normalize::normalize,
    upload::{Parsed, Row},
};
use crate::{error::ApiError, tenancy::TenantTx};

/// Rows read back at once when they are normalised again.
const PAGE: i64 = 5_000;

const STAGE: &str = "CREATE TEMP TABLE import_rows_in \
    (line integer, cells jsonb, problem text, value jsonb, row_errors jsonb) ON COMMIT DROP";
const COPY: &str = "COPY import_rows_in FROM STDIN";
const UNSTAGE: &str = "DROP TABLE import_rows_in";

/// How the import's rows are read: the file's headers and the mapping that picks their columns.
#[derive(Clone)]
pub struct Shape {
    pub headers: Arc<Vec<String>>,
    pub mapping: Arc<Mapping>,
}

/// An import's stored rows, as validation works on them.
pub struct Stored {
    pub import_id: Uuid,
    pub shape: Shape,
    /// The mapping (as stored on the import) the rows' values were normalised with.
    pub normalized_with: Option<Value>,
}

/// Stores the parsed file's rows as `import_id`'s, normalised with `shape`; returns how many.
pub async fn insert(
    tx: &TenantTx,
    import_id: Uuid,
    mut parsed: mpsc::Receiver<Result<Parsed, ApiError>>,
    shape: Shape,
) -> Result<i64, ApiError> {
    tx.execute_unprepared(STAGE).await?;
    let (sender, receiver) = mpsc::channel::<Vec<u8>>(2);
    let producer = tokio::spawn(async move {
        let mut total = 0i64;
        while let Some(next) = parsed.recv().await {
            let Parsed::Rows(rows) = next? else { continue };
            total += rows.len() as i64;
            let shape = shape.clone();
            let bytes = tokio::task::spawn_blocking(move || encode(&rows, &shape))
                .await
                .map_err(ApiError::internal)?;
            if sender.send(bytes).await.is_err() {
                // The COPY stopped; its error is the one reported.
                break;
            }
        }
        Ok::<i64, ApiError>(total)
    });
    let copied = tx.copy_in(COPY, receiver).await;
    // A parse error ends the stream early: it wins, and the transaction (rows included) rolls back.
    let total = producer.await.map_err(ApiError::internal)??;
    copied?;
    exec(
        tx,
        "INSERT INTO import_rows (tenant_id, import_id, line, cells, problem, value, row_errors) \
         SELECT $1, $2, line, cells, problem, value, row_errors FROM import_rows_in",
        import_id,
    )
    .await?;
    tx.execute_unprepared(UNSTAGE).await?;
    Ok(total)
}

/// Normalises `import_id`'s rows again with `shape` (its mapping changed since they were stored).
pub async fn normalize_again(
    tx: &TenantTx,
    import_id: Uuid,
    shape: &Shape,
) -> Result<(), ApiError> {
    tx.execute_unprepared(STAGE).await?;
    let t = tx.tenant_id().as_uuid();
    let mut after = 0i32;
    loop {
        let page = tx
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT line, cells, problem FROM import_rows \
                 WHERE tenant_id = $1 AND import_id = $2 AND line > $3 ORDER BY line LIMIT $4",
                [t.into(), import_id.into(), after.into(), PAGE.into()],
            ))
            .await?;
        let rows = page
            .iter()
            .map(|r| -> Result<Row, ApiError> {
                Ok(Row {
                    line: r.try_get("", "line")?,
                    cells: cells_of(&r.try_get("", "cells")?),
                    problem: r.try_get("", "problem")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Some(last) = rows.last() else { break };
        after = last.line;
        let full = rows.len() as i64 == PAGE;
        let batch_shape = shape.clone();
        let bytes = tokio::task::spawn_blocking(move || encode(&rows, &batch_shape))
            .await
            .map_err(ApiError::internal)?;
        let (sender, receiver) = mpsc::channel(1);
        sender.try_send(bytes).map_err(ApiError::internal)?;
        drop(sender);
        tx.copy_in(COPY, receiver).await?;
        if !full {
            break;
        }
    }
    exec(
        tx,
        "UPDATE import_rows r SET value = i.value, row_errors = i.row_errors \
         FROM import_rows_in i WHERE r.tenant_id = $1 AND r.import_id = $2 AND r.line = i.line",
        import_id,
    )
    .await?;
    tx.execute_unprepared(UNSTAGE).await?;
    Ok(())
}

/// A stored row's cells (`import_rows.cells`, a JSON array of strings).
pub fn cells_of(cells: &Value) -> Vec<String> {
    cells
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c.as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn exec(tx: &TenantTx, sql: &str, import_id: Uuid) -> Result<u64, ApiError> {
    Ok(tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [tx.tenant_id().as_uuid().into(), import_id.into()],
        ))
        .await?
        .rows_affected())
}

/// Rows in COPY's text format: line, cells, problem, value, row_errors.
fn encode(rows: &[Row], shape: &Shape) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 256);
    for row in rows {
        let (value, errors) = normalize(
            &row.cells,
            row.problem.as_deref(),
            &shape.mapping,
            &shape.headers,
        );
        field(&mut out, Some(&row.line.to_string()));
        out.push(b'\t');
        field(&mut out, Some(&Value::from(row.cells.clone()).to_string()));
        out.push(b'\t');
        field(&mut out, row.problem.as_deref());
        out.push(b'\t');
        field(&mut out, Some(&value.to_string()));
        out.push(b'\t');
        let errors = (!errors.is_empty()).then(|| Value::Array(errors).to_string());
        field(&mut out, errors.as_deref());
        out.push(b'\n');
    }
    out
}

/// One field of COPY's text format: `\N` for NULL, else the text with backslash, tab, newline and
/// carriage return escaped.
fn field(out: &mut Vec<u8>, text: Option<&str>) {
    let Some(text) = text else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_escape_what_copy_reads_as_structure() {
        let mut out = Vec::new();
        field(&mut out, Some("a\\b\tc\nd\re"));
        field(&mut out, None);
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re\\N");
    }

    #[test]
    fn a_row_is_encoded_as_five_fields_on_one_line() {
        let headers = vec!["Email".to_owned(), "Notes".to_owned()];
        let shape = Shape {
            mapping: Arc::new(Mapping::detect(&headers)),
            headers: Arc::new(headers),
        };
        let rows = [Row {
            line: 2,
            cells: vec!["Ada@Example.com".into(), "Line\none \"quoted\"".into()],
            problem: None,
        }];
        let text = String::from_utf8(encode(&rows, &shape)).unwrap();
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), 5, "{text}");
        assert_eq!(fields[0], "2");
        // JSON writes the newline as `\n`; COPY's text format doubles the backslash.
        assert!(fields[1].contains("Line\\\\none"), "{text}");
        assert!(!text.trim_end_matches('\n').contains('\n'), "{text}");
        assert!(
            fields[3].contains("\"email\":\"ada@example.com\""),
            "{text}"
        );
        assert_eq!(fields[4], "\\N");
    }
}
