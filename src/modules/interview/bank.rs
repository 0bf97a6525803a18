//! The question bank that ships with the product (`migration/data/interview_questions.txt`, docs/interview.md):
//! its line format and the checks every line passes.

use super::analysis::QuestionKind;

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
    pub kind: QuestionKind,
    pub category: String,
    pub subcategory: String,
    pub difficulty: u8,
    pub industries: Vec<String>,
    pub text: String,
    pub expected_points: Vec<String>,
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
        let kind = QuestionKind::parse(kind).ok_or_else(|| at("unknown type"))?;
        let difficulty: u8 = difficulty
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
            kind,
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
    use std::collections::BTreeSet;

    use super::*;
    use crate::modules::interview::analysis::{QuestionContext, analyse};

    const BANK: &str = include_str!("../../../migration/data/interview_questions.txt");

    #[test]
    fn the_shipped_bank_parses_and_is_broad_enough() {
        let bank = parse(BANK).unwrap();
        assert!(bank.len() >= 150, "{} questions", bank.len());
        for kind in [
            QuestionKind::Behavioral,
            QuestionKind::Technical,
            QuestionKind::Case,
        ] {
            assert!(
                bank.iter().filter(|q| q.kind == kind).count() >= 30,
                "{kind:?}"
            );
        }
        for difficulty in 1..=5 {
            assert!(bank.iter().any(|q| q.difficulty == difficulty));
        }
        let texts: BTreeSet<&str> = bank.iter().map(|q| q.text.as_str()).collect();
        assert_eq!(texts.len(), bank.len(), "a question is listed twice");
        let subcategories: BTreeSet<&str> = bank.iter().map(|q| q.subcategory.as_str()).collect();
        assert!(subcategories.len() >= 30);
        assert!(
            bank.iter()
                .filter(|q| !q.industries.contains(&"any".to_owned()))
                .count()
                >= 40
        );
    }

    /// Every expected point can be recognised: an answer that states the points covers them all.
    #[test]
    fn every_expected_point_is_recognised_when_an_answer_states_it() {
        for question in parse(BANK).unwrap() {
            let answer = question.expected_points.join(". ");
            let analysis = analyse(
                &answer,
                &QuestionContext {
                    kind: question.kind,
                    expected_points: &question.expected_points,
                },
            );
            assert!(
                analysis.points_missed.is_empty(),
                "{}: {:?}",
                question.text,
                analysis.points_missed
            );
        }
    }

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
    }
}
