//! Building parameterised SQL from parts: filters that may or may not apply, and user text in LIKE
//! patterns.

use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

/// `%`, `_` and `\` match themselves in a LIKE pattern built from user text.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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
}
