//! Text bound for a spreadsheet (CSV downloads: an import's error rows, audit exports) must show as
//! text, never run: a cell a spreadsheet would read as a formula (`=HYPERLINK(...)`, `@SUM`,
//! `+cmd|...`) gets a leading `'`. Imports refuse such cells on the way in with the same test.

/// What a spreadsheet would run as a formula.
pub fn is_formula(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => chars
            .next()
            .is_some_and(|c| !c.is_ascii_digit() && c != '.' && c != ' '),
        _ => false,
    }
}

/// A cell as a spreadsheet will show it, never run.
pub fn defuse(cell: &str) -> String {
    if is_formula(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_told_from_numbers() {
        for f in [
            "=1+1",
            "@SUM(A1)",
            "+cmd|' /C calc'!A0",
            "-HYPERLINK()",
            "\tx",
        ] {
            assert!(is_formula(f), "{f}");
        }
        for ok in ["-1", "+44 20 7946 0000", "Ada", "", "- "] {
            assert!(!is_formula(ok), "{ok}");
        }
    }

    #[test]
    fn formulas_get_a_quote_and_the_rest_stays() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("-5"), "-5");
        assert_eq!(defuse("Ada"), "Ada");
    }
}
