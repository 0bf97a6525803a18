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
