//! Building parameterised SQL from parts: filters that may or may not apply, and user text in LIKE
//! patterns.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use uuid::Uuid;

/// `%`, `_` and `\` match themselves in a LIKE pattern built from user text.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A PostgreSQL statement with its values (`$1`, `$2`... in `sql`).
pub fn statement(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The `n` a counting statement (`SELECT count(*) AS n ...`) returns; 0 when it returns no row.
pub async fn count(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<i64, DbErr> {
    conn.query_one_raw(statement(sql, values))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()
        .map(|n| n.unwrap_or(0))
}

/// A parameterised statement with optional filters: `$1` is the tenant, each bind returns its number.
pub struct SqlBuilder {
    sql: String,
    values: Vec<Value>,
}

impl SqlBuilder {
    pub fn new(sql: String, tenant: Uuid) -> Self {
        SqlBuilder {
            sql,
            values: vec![tenant.into()],
        }
    }

    pub fn bind(&mut self, value: impl Into<Value>) -> usize {
        self.values.push(value.into());
        self.values.len()
    }

    pub fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// ` AND (<expr> LIKE $n OR ...)` with `$n` the search text, trimmed and lower-cased, as a
    /// substring pattern (its own `%` and `_` match themselves); nothing when there is no text. The
    /// expressions are the code's own (lower-cased columns), never client text.
    pub fn and_contains(&mut self, expressions: &[&'static str], search: Option<&str>) {
        let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) else {
            return;
        };
        let n = self.bind(format!("%{}%", escape_like(&search.to_lowercase())));
        let any: Vec<String> = expressions
            .iter()
            .map(|e| format!("{e} LIKE ${n}"))
            .collect();
        self.sql.push_str(&format!(" AND ({})", any.join(" OR ")));
    }

    /// ` LIMIT n`, written into the statement rather than bound. PostgreSQL prices a bound LIMIT at a
    /// tenth of the rows, so the statement's generic plan looks far dearer than its custom ones and it is
    /// planned again on every execution (docs/PERFORMANCE.md, "Planning every execution"). A number is
    /// all this writes.
    pub fn limit(&mut self, n: u64) {
        self.sql.push_str(&format!(" LIMIT {n}"));
    }

    /// ` AND <column> = '<value>'` for a value of a closed set that the code itself names (hence
    /// `&'static str`: never client text), written into the statement for the same reason as
    /// [`SqlBuilder::limit`]: bound, the planner guesses its share of the rows, and the generic plan
    /// it prices from that guess loses to custom plans for ever.
    pub fn and_equals_known(&mut self, column: &'static str, value: &'static str) {
        debug_assert!(!value.contains('\''));
        self.sql.push_str(&format!(" AND {column} = '{value}'"));
    }

    /// The SQL and its values, to use in more than one statement (a page and its count).
    pub fn into_parts(self) -> (String, Vec<Value>) {
        (self.sql, self.values)
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, self.sql, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_search_text_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn a_search_binds_one_lowercased_pattern_for_every_expression_and_blank_is_no_filter() {
        let mut query = SqlBuilder::new("SELECT 1 WHERE t = $1".into(), Uuid::nil());
        query.and_contains(&["lower(a)", "b"], Some("  "));
        query.and_contains(&["lower(a)", "b"], None);
        query.and_contains(&["lower(a)", "b"], Some(" Ab_% "));
        let (sql, values) = query.into_parts();
        assert_eq!(
            sql,
            "SELECT 1 WHERE t = $1 AND (lower(a) LIKE $2 OR b LIKE $2)"
        );
        assert_eq!(values.len(), 2);
        assert_eq!(values[1], Value::from(r"%ab\_\%%".to_owned()));
    }
}
