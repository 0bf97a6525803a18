//! The analyzer on example answers (docs/interview.md, "Example answers"): each asserts the dimension
//! outcomes and the rules that must, and must not, fire.

use super::*;

fn points(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

fn behavioral<'a>(expected: &'a [String]) -> QuestionContext<'a> {
    QuestionContext {
        kind: QuestionKind::Behavioral,
        expected_points: expected,
    }
}

fn dimension(analysis: &Analysis, dimension: Dimension) -> u8 {
    analysis
        .dimensions
        .iter()
        .find(|d| d.dimension == dimension)
        .unwrap_or_else(|| panic!("no {dimension:?} in {analysis:#?}"))
        .score
}

fn rules(analysis: &Analysis) -> Vec<&'static str> {
    analysis.suggestions.iter().map(|s| s.rule).collect()
}

const STRONG: &str = "Last year I was the lead engineer on our payments team, and the checkout \
service was failing for one customer in twenty during peak sales. My goal was to cut the checkout \
error rate before the holiday season, with only six weeks left. First I analyzed two weeks of logs \
with the on-call engineers and found the root cause: a retry loop that hammered the card processor \
whenever it slowed down. I proposed a circuit breaker and explained the trade-offs to the product \
manager, who worried about declining good orders. Then I wrote the change behind a feature flag, \
tested it under three times the peak load, and coached two junior engineers so they could own the \
rollout. I also set up an alert on the processor's latency so the team would see the next \
slowdown before customers did. As a result, the error rate fell from 4% to 0.3% and we processed 40% more \
orders on Black Friday than the year before. The lesson I learned was to measure before changing \
anything.";

#[test]
fn a_strong_answer_scores_high_on_every_dimension() {
    let expected = points(&[
        "root cause found",
        "trade-offs explained",
        "checkout error rate",
        "lesson learned",
    ]);
    let analysis = analyse(STRONG, &behavioral(&expected));
    let parts: Vec<Part> = analysis.sentences.iter().map(|s| s.part).collect();
    assert_eq!(
        parts,
        [
            Part::Situation,
            Part::Task,
            Part::Action,
            Part::Action,
            Part::Action,
            Part::Action,
            Part::Result,
            Part::Result
        ],
        "{:#?}",
        analysis.sentences
    );
    assert_eq!(dimension(&analysis, Dimension::Structure), 100);
    assert_eq!(dimension(&analysis, Dimension::Results), 100);
    assert!(dimension(&analysis, Dimension::Ownership) >= 80);
    assert_eq!(dimension(&analysis, Dimension::Verbs), 100);
    assert_eq!(dimension(&analysis, Dimension::Clarity), 100);
    assert_eq!(dimension(&analysis, Dimension::Length), 100);
    assert_eq!(dimension(&analysis, Dimension::Coverage), 100);
    assert!(analysis.score >= 95, "{}", analysis.score);
    assert_eq!(rules(&analysis), Vec::<&str>::new());
}

const WEAK: &str = "Um, I think I basically helped the team with the migration. It was kind of hard, \
you know. I worked on some of the scripts and maybe it went fine.";

#[test]
fn a_weak_answer_is_told_what_to_fix() {
    let expected = points(&["root cause found", "measurable outcome"]);
    let analysis = analyse(WEAK, &behavioral(&expected));
    let fired = rules(&analysis);
    for rule in [
        "clarity.hedges",
        "clarity.fillers",
        "verbs.weak",
        "length.too_short",
        "result.missing",
        "coverage.missing",
    ] {
        assert!(fired.contains(&rule), "{rule} not in {fired:?}");
    }
    assert_eq!(dimension(&analysis, Dimension::Results), 0);
    assert_eq!(dimension(&analysis, Dimension::Verbs), 0);
    assert_eq!(dimension(&analysis, Dimension::Clarity), 0);
    assert!(analysis.score < 40, "{}", analysis.score);
    let weak = analysis
        .suggestions
        .iter()
        .find(|s| s.rule == "verbs.weak")
        .unwrap();
    assert!(weak.message.contains("\"helped\"") && weak.message.contains("\"worked on\""));
}

#[test]
fn an_answer_without_a_result_loses_the_results_dimension() {
    let without = STRONG
        .split("As a result")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let analysis = analyse(&without, &behavioral(&[]));
    assert_eq!(dimension(&analysis, Dimension::Results), 0);
    assert_eq!(dimension(&analysis, Dimension::Structure), 75);
    assert!(rules(&analysis).contains(&"result.missing"));
    assert!(
        analysis
            .dimensions
            .iter()
            .all(|d| d.dimension != Dimension::Coverage),
        "no expected points, no coverage"
    );
    // A result without a number is half the dimension.
    let unquantified = format!("{without} In the end the checkout stopped failing.");
    let analysis = analyse(&unquantified, &behavioral(&[]));
    assert_eq!(dimension(&analysis, Dimension::Results), 50);
    assert!(rules(&analysis).contains(&"result.unquantified"));
}

const ALL_WE: &str = "Our team was facing weekly outages in the billing system at the time. We needed \
to stabilise it before the audit. We decided to rebuild the deployment pipeline. We wrote runbooks \
and we trained the support staff. We also moved our database to a managed service. As a result we \
cut outages by 80% in a quarter.";

#[test]
fn an_answer_told_all_in_we_has_no_ownership() {
    let analysis = analyse(ALL_WE, &behavioral(&[]));
    assert_eq!(dimension(&analysis, Dimension::Ownership), 0);
    assert!(rules(&analysis).contains(&"ownership.all_we"));
    assert_eq!(dimension(&analysis, Dimension::Results), 100);
    // The same answer in the first person owns it.
    let mine = ALL_WE
        .replace("We decided", "I decided")
        .replace(
            "We wrote runbooks and we trained",
            "I wrote runbooks and I trained",
        )
        .replace("We also moved", "I also moved");
    let analysis = analyse(&mine, &behavioral(&[]));
    assert!(dimension(&analysis, Dimension::Ownership) >= 75);
    assert!(!rules(&analysis).iter().any(|r| r.starts_with("ownership")));
}

#[test]
fn a_rambling_answer_is_too_long_and_all_background() {
    let background = "At the time the company was going through a reorganisation and there was a \
        new director in the department who had come from a competitor with different habits. ";
    let mut rambling = background.repeat(20);
    rambling.push_str("So I set up a weekly meeting with the director. ");
    rambling.push_str("As a result the team shipped on time.");
    let analysis = analyse(&rambling, &behavioral(&[]));
    let fired = rules(&analysis);
    assert!(fired.contains(&"length.too_long"), "{fired:?}");
    assert!(fired.contains(&"balance.context_heavy"), "{fired:?}");
    assert!(fired.contains(&"balance.little_action"), "{fired:?}");
    // 578 words: 100 − 100 × (578 − 400) / 400 = 55.5, −30 for the background, −20 for the action.
    assert_eq!(analysis.words, 578);
    assert_eq!(dimension(&analysis, Dimension::Length), 6);
}

#[test]
fn technical_and_case_answers_are_scored_on_reasoning_and_numbers() {
    let technical = "First I would assume about 2,000 requests per second at peak, because the \
        product page is read far more than written. For example, a cache in front of the catalogue \
        service with a 60 second expiry takes most reads off the database. The trade-off is \
        staleness: prices change rarely, so that is acceptable, but stock levels need invalidation \
        on write instead of expiry. Then I would shard the orders table by customer.";
    let expected = points(&["cache in front", "invalidation on write", "read replicas"]);
    let analysis = analyse(
        technical,
        &QuestionContext {
            kind: QuestionKind::Technical,
            expected_points: &expected,
        },
    );
    assert!(dimension(&analysis, Dimension::Structure) >= 75);
    assert_eq!(dimension(&analysis, Dimension::Results), 100);
    assert_eq!(analysis.points_missed, vec!["read replicas".to_owned()]);
    assert!(
        analysis
            .dimensions
            .iter()
            .all(|d| d.dimension != Dimension::Ownership && d.dimension != Dimension::Verbs)
    );
    let case = analyse(
        "The market is big and growing.",
        &QuestionContext {
            kind: QuestionKind::Case,
            expected_points: &[],
        },
    );
    assert_eq!(dimension(&case, Dimension::Results), 20);
    assert!(rules(&case).contains(&"numbers.few"));
    assert!(rules(&case).contains(&"structure.no_signposts"));
}

#[test]
fn sentences_end_at_stops_but_not_at_abbreviations_decimals_or_initials() {
    assert_eq!(
        sentences("We grew 3.5 times, e.g. in Europe. J. Smith agreed!\nThen I left? Yes... done"),
        [
            "We grew 3.5 times, e.g. in Europe.",
            "J. Smith agreed!",
            "Then I left?",
            "Yes...",
            "done"
        ]
    );
    assert!(sentences("  \n ... \n").is_empty());
}

#[test]
fn an_empty_answer_scores_zero_with_one_suggestion() {
    let analysis = analyse("   ", &behavioral(&[]));
    assert_eq!(analysis.score, 0);
    assert_eq!(rules(&analysis), ["answer.empty"]);
}

#[test]
fn stems_match_inflections() {
    assert_eq!(stem("stakeholders"), "stakeholder");
    assert_eq!(stem("aligned"), "align");
    assert_eq!(stem("alignment"), "align");
    assert_eq!(stem("priorities"), "priority");
    assert_eq!(stem("led"), "led");
}
