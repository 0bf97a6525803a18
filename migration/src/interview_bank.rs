//! The interview question bank that ships with the product (`migration/data/interview_questions.txt`,
//! docs/interview.md): its line format, parsed and checked here for the migration that loads it and
//! for the server's tests.

/// The bank's text, as shipped.
pub const BANK: &str = include_str!("../data/interview_questions.txt");

/// The question types.
pub const KINDS: &[&str] = &["behavioral", "technical", "case"];

/// The industries a question may be tagged with (`any`: every industry).
pub const INDUSTRIES: &[&str] = &[
    "any",
    "software",
    "finance",
    "healthcare",
    "retail",
    "manufacturing",
    "consulting",
    "public-sector",
    "telecom",
    "energy",
    "education",
    "logistics",
];

/// One question of the bank.
#[derive(Debug, Clone, PartialEq)]
pub struct BankQuestion {
    /// Stable across releases while the question's text stays the same.
    pub key: String,
    pub kind: String,
    pub category: String,
    pub subcategory: String,
    pub difficulty: i16,
    pub industries: Vec<String>,
    pub text: String,
    pub expected_points: Vec<String>,
}

/// FNV-1a, 64 bits: a key from the question's text that needs no dependency.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Parses the bank: `type | category | subcategory | difficulty | industries | question | points`
/// per line (`#` comments and blank lines skipped). The first bad line is the error, with its number.
pub fn parse(text: &str) -> Result<Vec<BankQuestion>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: &str| format!("line {}: {what}", n + 1);
        let fields: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let [
            kind,
            category,
            subcategory,
            difficulty,
            industries,
            question,
            points,
        ] = fields.as_slice()
        else {
            return Err(at("expected 7 fields separated by \" | \""));
        };
        if !KINDS.contains(kind) {
            return Err(at("unknown type"));
        }
        let difficulty: i16 = difficulty
            .parse()
            .ok()
            .filter(|d| (1..=5).contains(d))
            .ok_or_else(|| at("difficulty must be 1 to 5"))?;
        let industries: Vec<String> = industries.split(',').map(str::to_owned).collect();
        if industries.iter().any(|i| !INDUSTRIES.contains(&i.as_str())) {
            return Err(at("unknown industry"));
        }
        if category.is_empty() || subcategory.is_empty() || question.is_empty() {
            return Err(at("empty category, subcategory or question"));
        }
        let expected_points: Vec<String> = points
            .split("; ")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if !(3..=6).contains(&expected_points.len()) {
            return Err(at("3 to 6 expected points"));
        }
        out.push(BankQuestion {
            key: format!("{kind}-{:016x}", fnv(question)),
            kind: (*kind).to_owned(),
            category: (*category).to_owned(),
            subcategory: (*subcategory).to_owned(),
            difficulty,
            industries,
            text: (*question).to_owned(),
            expected_points,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_is_refused_with_its_number() {
        assert_eq!(
            parse("# c\nbehavioral | A | B | 6 | any | Q? | a b; c d; e f"),
            Err("line 2: difficulty must be 1 to 5".into())
        );
        assert_eq!(
            parse("case | A | B | 2 | mars | Q? | a b; c d; e f"),
            Err("line 1: unknown industry".into())
        );
        assert_eq!(
            parse("case | A | B | 2 | any | Q?"),
            Err("line 1: expected 7 fields separated by \" | \"".into())
        );
        assert_eq!(
            parse("quiz | A | B | 2 | any | Q? | a b; c d; e f"),
            Err("line 1: unknown type".into())
        );
    }

    #[test]
    fn keys_are_stable_and_unique() {
        let bank = parse(BANK).unwrap();
        let keys: std::collections::BTreeSet<&str> = bank.iter().map(|q| q.key.as_str()).collect();
        assert_eq!(keys.len(), bank.len());
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
