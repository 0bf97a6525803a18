//! Text bound for a spreadsheet (CSV downloads: an import's error rows, audit exports) must show as
//! text, never run: a cell a spreadsheet would read as a formula (`=HYPERLINK(...)`, `@SUM`,
//! `+cmd|...`) gets a leading `'`. Imports refuse such cells on the way in with the same test.

/// What a spreadsheet would run as a formula.
pub fn is_formula(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        // A sign before anything but a number or a phone number (digits, spaces, `.`, `,`, `%`, `-`,
        // `(`, `)`, `/`) starts a formula: `-1+1` is one, and so is `+1+cmd|' /C calc'!A0`. What is
        // let through can name no function and reach no other program (no letters, no `|`, `!`, `+`,
        // `*`).
        Some('+' | '-') => !chars.all(|c| {
            c.is_ascii_digit() || matches!(c, ' ' | '.' | ',' | '%' | '-' | '(' | ')' | '/')
        }),
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
            "\rx",
            "-1+1",
            "+1+cmd|' /C calc'!A0",
            "-2*3",
            "+1e3",
            "- Manager",
            "+1-800-FLOWERS",
        ] {
            assert!(is_formula(f), "{f}");
        }
        for ok in [
            "-1",
            "-1.5",
            "+44 20 7946 0000",
            "+1 (555) 123-4567",
            "-1,000",
            "-5%",
            "Ada",
            "",
            "- ",
            "-",
            "a=b",
        ] {
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
