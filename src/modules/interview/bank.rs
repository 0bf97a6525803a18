//! The question bank that ships with the product (`migration/data/interview_questions.txt`,
//! docs/interview.md): parsed by the migration crate, which loads it; checked here against the
//! analyzer.

pub use migration::interview_bank::{BANK, BankQuestion, INDUSTRIES, parse};

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::modules::interview::analysis::{QuestionContext, QuestionKind, analyse};

    fn kind(question: &BankQuestion) -> QuestionKind {
        QuestionKind::parse(&question.kind).unwrap()
    }

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
                bank.iter().filter(|q| self::kind(q) == kind).count() >= 30,
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
                    kind: kind(&question),
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
}
