//! Answer analysis, deterministic and explained (docs/interview.md, "How an answer is scored"): the
//! answer is cut into sentences, each sentence is tagged Situation, Task, Action, Result or other from
//! cue phrases and its position, and seven dimensions are scored from what was found. Every suggestion
//! names the rule that fired. Nothing here reads the database, the clock or the network.

use std::collections::BTreeSet;

use serde::Serialize;
use utoipa::ToSchema;

/// What kind of question the answer is to: the dimensions and their weights depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Behavioral,
    Technical,
    Case,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Behavioral => "behavioral",
            QuestionKind::Technical => "technical",
            QuestionKind::Case => "case",
        }
    }

    pub fn parse(text: &str) -> Option<QuestionKind> {
        match text {
            "behavioral" => Some(QuestionKind::Behavioral),
            "technical" => Some(QuestionKind::Technical),
            "case" => Some(QuestionKind::Case),
            _ => None,
        }
    }

    /// The word count a good answer falls within.
    fn length_range(self) -> (usize, usize) {
        match self {
            QuestionKind::Behavioral => (150, 400),
            QuestionKind::Technical => (100, 400),
            QuestionKind::Case => (150, 450),
        }
    }

    /// Each dimension's weight in the overall score (0: not scored for this kind).
    pub fn dimension_weight(self, dimension: Dimension) -> u32 {
        use Dimension::*;
        match (self, dimension) {
            (QuestionKind::Behavioral, Structure) => 20,
            (QuestionKind::Behavioral, Results) => 15,
            (QuestionKind::Behavioral, Ownership) => 15,
            (QuestionKind::Behavioral, Verbs) => 10,
            (QuestionKind::Behavioral, Clarity) => 10,
            (QuestionKind::Behavioral, Length) => 10,
            (QuestionKind::Behavioral, Coverage) => 20,
            (QuestionKind::Technical, Structure) => 15,
            (QuestionKind::Technical, Results) => 10,
            (QuestionKind::Technical, Clarity) => 15,
            (QuestionKind::Technical, Length) => 15,
            (QuestionKind::Technical, Coverage) => 45,
            (QuestionKind::Case, Structure) => 20,
            (QuestionKind::Case, Results) => 20,
            (QuestionKind::Case, Clarity) => 10,
            (QuestionKind::Case, Length) => 10,
            (QuestionKind::Case, Coverage) => 40,
            _ => 0,
        }
    }
}

/// The dimensions an answer is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Behavioral: Situation, Task, Action and Result present. Technical and case: reasoning
    /// signposts (first, because, trade-off, assume...).
    Structure,
    /// Behavioral: a result, quantified. Technical: specifics (numbers, examples). Case: numbers.
    Results,
    /// "I" rather than "we" in what was done.
    Ownership,
    /// Strong action verbs rather than weak ones.
    Verbs,
    /// Few hedges and fillers.
    Clarity,
    /// Within the expected length, and (behavioral) most of it about the action.
    Length,
    /// The question's expected answer points covered.
    Coverage,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::Structure,
        Dimension::Results,
        Dimension::Ownership,
        Dimension::Verbs,
        Dimension::Clarity,
        Dimension::Length,
        Dimension::Coverage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Structure => "structure",
            Dimension::Results => "results",
            Dimension::Ownership => "ownership",
            Dimension::Verbs => "verbs",
            Dimension::Clarity => "clarity",
            Dimension::Length => "length",
            Dimension::Coverage => "coverage",
        }
    }
}

/// The STAR part a sentence plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Situation,
    Task,
    Action,
    Result,
    Other,
}

/// A sentence and the part it was tagged with, and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TaggedSentence {
    pub text: String,
    pub part: Part,
    /// The cue phrases found, or `position` when the part came from where the sentence stands.
    pub cues: Vec<String>,
    pub words: usize,
}

/// One dimension's score and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DimensionScore {
    pub dimension: Dimension,
    /// 0 to 100.
    pub score: u8,
    /// Its share of the overall score (weights of one answer add up to 100, or less when the
    /// question has no expected points).
    pub weight: u32,
    /// The computation in words.
    pub detail: String,
}

/// An improvement, tied to the rule that found the problem.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Suggestion {
    /// The rule's id (docs/interview.md lists them), e.g. `result.missing`.
    pub rule: &'static str,
    pub dimension: Dimension,
    pub message: String,
}

/// The analysis of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Analysis {
    /// 0 to 100: the weighted mean of the dimensions scored.
    pub score: u8,
    pub dimensions: Vec<DimensionScore>,
    pub suggestions: Vec<Suggestion>,
    pub sentences: Vec<TaggedSentence>,
    pub words: usize,
    /// Expected answer points the answer covers, and those it misses.
    pub points_covered: Vec<String>,
    pub points_missed: Vec<String>,
}

// ---- words ------------------------------------------------------------------------------------

const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "inc", "ltd", "co", "jr", "sr",
    "st", "approx", "dept", "est", "no",
];

/// Cuts text into sentences: at `.`, `!` or `?` followed by a space or the end (not after a known
/// abbreviation or a single-letter initial, not inside a number such as 3.5), and at line breaks.
pub fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '\n' || c == '\r' {
            push_sentence(&mut out, &mut current);
            continue;
        }
        current.push(c);
        if matches!(c, '.' | '!' | '?') {
            let next = chars.get(i + 1).copied();
            let at_end = next.is_none_or(char::is_whitespace) || next == Some('"');
            if !at_end {
                continue;
            }
            if c == '.' {
                let before: String = current
                    .trim_end_matches('.')
                    .rsplit(|ch: char| ch.is_whitespace() || ch == '(')
                    .next()
                    .unwrap_or("")
                    .to_lowercase();
                let initial = before.chars().count() == 1
                    && before.chars().all(char::is_alphabetic)
                    && before != "i";
                if ABBREVIATIONS.contains(&before.as_str()) || initial {
                    continue;
                }
            }
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let text = current.trim();
    if text.chars().any(char::is_alphanumeric) {
        out.push(text.to_owned());
    }
    current.clear();
}

/// Lower-case words (letters, digits, apostrophes, inner hyphens), with `%`, `$`, `€` and `£` kept
/// as words of their own.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '’' || (c == '-' && !word.is_empty()) {
            word.extend(c.to_lowercase().map(|l| if l == '’' { '\'' } else { l }));
        } else {
            if !word.is_empty() {
                out.push(word.trim_end_matches('-').to_owned());
                word.clear();
            }
            if matches!(c, '%' | '$' | '€' | '£') {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word.trim_end_matches('-').to_owned());
    }
    out
}

/// The sentence as ` word word ... ` for phrase matching on word boundaries.
fn padded(words: &[String]) -> String {
    format!(" {} ", words.join(" "))
}

fn found<'a>(padded: &str, phrases: &[&'a str]) -> Vec<&'a str> {
    phrases
        .iter()
        .filter(|p| padded.contains(&format!(" {p} ")))
        .copied()
        .collect()
}

/// A crude stem for matching expected points: common suffixes off words of 5 letters or more.
pub fn stem(word: &str) -> String {
    let word = word.trim_matches('\'');
    for suffix in [
        "ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ed", "es", "ly", "s",
    ] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 4
        {
            return match suffix {
                "ies" | "ied" => format!("{base}y"),
                _ => base.to_owned(),
            };
        }
    }
    word.to_owned()
}

const STOPWORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "by", "at", "from", "as",
    "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those",
    "your", "you", "their", "them", "they", "how", "what", "why", "when", "which", "who", "into",
    "about", "over", "than", "then", "not", "no", "do", "does", "did", "can", "will", "would",
    "should",
];

fn content_stems(text: &str) -> BTreeSet<String> {
    words(text)
        .iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()) && w.chars().any(char::is_alphanumeric))
        .map(|w| stem(w))
        .collect()
}

const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "half",
    "doubled",
    "tripled",
    "halved",
    "twice",
    "percent",
    "%",
    "$",
    "€",
    "£",
];

fn has_quantity(words: &[String]) -> bool {
    words
        .iter()
        .any(|w| w.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&w.as_str()))
}

// ---- cue lists ----------------------------------------------------------------------------------

const SITUATION_CUES: &[&str] = &[
    "when i was",
    "when i worked",
    "at my previous",
    "at my last",
    "in my previous",
    "in my last",
    "in my role",
    "in my first",
    "our team was",
    "we were facing",
    "the situation",
    "the context",
    "at the time",
    "back in",
    "last year",
    "years ago",
    "while working",
    "while i was",
    "i was working as",
    "i worked as",
    "the company was",
    "there was a",
    "we had a",
    "the project was",
    "a customer",
    "our client",
];
const TASK_CUES: &[&str] = &[
    "my task",
    "my job was",
    "my goal",
    "i was responsible",
    "i was asked",
    "i was tasked",
    "i needed to",
    "i had to",
    "the goal was",
    "our goal",
    "the objective",
    "my role was",
    "i was in charge",
    "the challenge was",
    "we needed to",
    "had to deliver",
    "it was up to me",
];
const ACTION_CUES: &[&str] = &[
    "i decided",
    "i started",
    "first i",
    "then i",
    "so i",
    "next i",
    "i began",
    "i set up",
    "i reached out",
    "i met with",
    "i proposed",
    "i worked with",
    "i made sure",
    "i asked",
    "i scheduled",
    "i spoke",
    "i talked",
    "i put together",
    "i took",
];
const RESULT_CUES: &[&str] = &[
    "as a result",
    "resulted in",
    "result was",
    "which led to",
    "this led to",
    "led to",
    "the outcome",
    "in the end",
    "ultimately",
    "by the end",
    "we ended up",
    "the impact",
    "which meant",
    "saved",
    "reduced",
    "increased",
    "improved",
    "grew",
    "cut",
    "went from",
    "i learned",
    "learned that",
    "since then",
    "afterwards",
    "the lesson",
];

/// Strong action verbs (past tense, as told).
const STRONG_VERBS: &[&str] = &[
    "led",
    "built",
    "designed",
    "launched",
    "negotiated",
    "reduced",
    "increased",
    "created",
    "delivered",
    "drove",
    "organized",
    "organised",
    "resolved",
    "implemented",
    "analyzed",
    "analysed",
    "automated",
    "migrated",
    "coached",
    "mentored",
    "persuaded",
    "prioritized",
    "prioritised",
    "redesigned",
    "streamlined",
    "shipped",
    "wrote",
    "presented",
    "decided",
    "proposed",
    "convinced",
    "introduced",
    "established",
    "owned",
    "fixed",
    "measured",
    "tested",
    "escalated",
    "restructured",
    "trained",
    "hired",
    "simplified",
    "rebuilt",
    "planned",
    "mapped",
    "diagnosed",
    "investigated",
    "refactored",
    "negotiated",
    "secured",
    "won",
    "cut",
    "doubled",
    "halved",
    "initiated",
    "defined",
    "facilitated",
    "aligned",
    "championed",
    "spearheaded",
    "overhauled",
    "replaced",
    "scaled",
];
/// Weak phrasings of what was done.
const WEAK_VERBS: &[&str] = &[
    "helped",
    "worked on",
    "was involved",
    "were involved",
    "participated",
    "tried to",
    "was part of",
    "assisted",
    "did some",
    "handled",
    "dealt with",
    "was responsible for",
];
const HEDGES: &[&str] = &[
    "i think",
    "i guess",
    "maybe",
    "kind of",
    "sort of",
    "probably",
    "perhaps",
    "somewhat",
    "i believe",
    "i suppose",
    "more or less",
    "possibly",
    "hopefully",
    "not sure",
];
const FILLERS: &[&str] = &[
    "um",
    "uh",
    "erm",
    "you know",
    "basically",
    "actually",
    "literally",
    "like i said",
    "so yeah",
    "i mean",
    "anyway",
    "stuff like that",
    "and so on",
    "things like that",
];
const SIGNPOSTS: &[&str] = &[
    "first",
    "second",
    "third",
    "then",
    "next",
    "finally",
    "because",
    "therefore",
    "trade-off",
    "tradeoff",
    "trade-offs",
    "assume",
    "assuming",
    "assumption",
    "for example",
    "for instance",
    "alternatively",
    "on the other hand",
    "in summary",
    "to summarize",
    "so that",
    "which means",
    "the risk",
    "compared to",
    "instead of",
];
const FIRST_SINGULAR: &[&str] = &[
    "i", "i'm", "i've", "i'd", "i'll", "me", "my", "myself", "mine",
];
const FIRST_PLURAL: &[&str] = &[
    "we",
    "we're",
    "we've",
    "we'd",
    "we'll",
    "us",
    "our",
    "ours",
    "ourselves",
];

fn count_in(words: &[String], set: &[&str]) -> usize {
    words.iter().filter(|w| set.contains(&w.as_str())).count()
}

// ---- tagging --------------------------------------------------------------------------------------

/// Tags each sentence: the part with the most cues wins, a first-person sentence with a strong verb
/// counting as an Action cue and a quantified change (in a sentence with no Task cue) as a Result cue.
/// Ties go by position: in the first half of the answer Situation, Task, Action, Result in that order,
/// in the second half the reverse. A sentence with no cue is Situation when it opens the answer,
/// Action when it speaks in the first person, else other.
pub fn tag(sentences: &[String]) -> Vec<TaggedSentence> {
    let count = sentences.len();
    sentences
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let w = words(text);
            let p = padded(&w);
            let mut result = own(found(&p, RESULT_CUES));
            let mut action = own(found(&p, ACTION_CUES));
            let task = own(found(&p, TASK_CUES));
            let situation = own(found(&p, SITUATION_CUES));
            let singular = count_in(&w, FIRST_SINGULAR) > 0;
            let strong: Vec<String> = own(found(&p, STRONG_VERBS));
            if singular && !strong.is_empty() {
                action.push(format!("i + {}", strong[0]));
            }
            if has_quantity(&w) && !result.is_empty() && task.is_empty() {
                result.push("quantity".into());
            }
            let mut cues = [
                (Part::Situation, situation),
                (Part::Task, task),
                (Part::Action, action),
                (Part::Result, result),
            ];
            if 2 * i >= count {
                cues.reverse();
            }
            let best = cues
                .iter()
                .enumerate()
                .max_by(|(ia, a), (ib, b)| a.1.len().cmp(&b.1.len()).then(ib.cmp(ia)))
                .map(|(_, c)| c.clone())
                .filter(|(_, found)| !found.is_empty());
            let (part, cues) = match best {
                Some(found) => found,
                None if i == 0 => (Part::Situation, vec!["position".into()]),
                None if singular || count_in(&w, FIRST_PLURAL) > 0 => {
                    (Part::Action, vec!["position".into()])
                }
                None => (Part::Other, Vec::new()),
            };
            TaggedSentence {
                text: text.clone(),
                part,
                cues,
                words: w.len(),
            }
        })
        .collect()
}

fn own(found: Vec<&str>) -> Vec<String> {
    found.into_iter().map(str::to_owned).collect()
}

// ---- scoring --------------------------------------------------------------------------------------

/// The question an answer is to.
#[derive(Debug, Clone)]
pub struct QuestionContext<'a> {
    pub kind: QuestionKind,
    /// Short phrases a good answer contains.
    pub expected_points: &'a [String],
}

struct Scored {
    score: f64,
    detail: String,
}

fn clamp100(x: f64) -> f64 {
    x.clamp(0.0, 100.0)
}

/// Analyses an answer to a question.
pub fn analyse(answer: &str, question: &QuestionContext<'_>) -> Analysis {
    let tagged = tag(&sentences(answer));
    let all_words = words(answer);
    let total_words = all_words.len();
    let padded_all = padded(&all_words);
    let mut suggestions = Vec::new();
    let mut suggest = |rule: &'static str, dimension: Dimension, message: String| {
        suggestions.push(Suggestion {
            rule,
            dimension,
            message,
        })
    };
    let has = |part: Part| tagged.iter().any(|s| s.part == part);
    let words_in = |part: Part| -> usize {
        tagged
            .iter()
            .filter(|s| s.part == part)
            .map(|s| s.words)
            .sum()
    };
    let kind = question.kind;
    let mut scored: Vec<(Dimension, Scored)> = Vec::new();

    // Structure.
    if kind == QuestionKind::Behavioral {
        let parts = [
            (Part::Situation, 20.0, "situation"),
            (Part::Task, 15.0, "task"),
            (Part::Action, 40.0, "action"),
            (Part::Result, 25.0, "result"),
        ];
        let present: Vec<&str> = parts.iter().filter(|p| has(p.0)).map(|p| p.2).collect();
        let score: f64 = parts.iter().filter(|p| has(p.0)).map(|p| p.1).sum();
        if !has(Part::Situation) {
            suggest(
                "structure.no_situation",
                Dimension::Structure,
                "Open with the situation in a sentence or two: where you were and what was at stake."
                    .into(),
            );
        }
        if !has(Part::Task) {
            suggest(
                "structure.no_task",
                Dimension::Structure,
                "Say what you were responsible for (\"my goal was...\", \"I had to...\").".into(),
            );
        }
        if !has(Part::Action) {
            suggest(
                "structure.no_action",
                Dimension::Structure,
                "Most of the answer should be what you did, step by step, in the first person."
                    .into(),
            );
        }
        scored.push((
            Dimension::Structure,
            Scored {
                score,
                detail: format!(
                    "parts found: {} (situation 20, task 15, action 40, result 25)",
                    if present.is_empty() {
                        "none".to_owned()
                    } else {
                        present.join(", ")
                    }
                ),
            },
        ));
    } else {
        let signposts: Vec<&str> = found(&padded_all, SIGNPOSTS);
        let score = clamp100(25.0 * signposts.len() as f64);
        if signposts.len() < 2 {
            suggest(
                "structure.no_signposts",
                Dimension::Structure,
                "Make the reasoning visible: state assumptions, go step by step (first, then), and \
                 name the trade-offs (because, instead of)."
                    .into(),
            );
        }
        scored.push((
            Dimension::Structure,
            Scored {
                score,
                detail: format!(
                    "{} distinct signposts × 25 (at most 100): {}",
                    signposts.len(),
                    signposts.join(", ")
                ),
            },
        ));
    }

    // Results.
    let results = match kind {
        QuestionKind::Behavioral => {
            let result_sentences: Vec<&TaggedSentence> =
                tagged.iter().filter(|s| s.part == Part::Result).collect();
            let quantified = result_sentences
                .iter()
                .any(|s| has_quantity(&words(&s.text)));
            if result_sentences.is_empty() {
                suggest(
                    "result.missing",
                    Dimension::Results,
                    "End with the result: what changed because of what you did, and what you learned."
                        .into(),
                );
                Scored {
                    score: 0.0,
                    detail: "no result sentence".into(),
                }
            } else if !quantified {
                suggest(
                    "result.unquantified",
                    Dimension::Results,
                    "Put a number on the result (time saved, %, money, customers, defects).".into(),
                );
                Scored {
                    score: 50.0,
                    detail: "a result, without a number: 50".into(),
                }
            } else {
                Scored {
                    score: 100.0,
                    detail: "a quantified result: 100".into(),
                }
            }
        }
        QuestionKind::Technical => {
            let numbers = has_quantity(&all_words);
            let examples = !found(
                &padded_all,
                &["for example", "for instance", "such as", "e g"],
            )
            .is_empty();
            let score = match (numbers, examples) {
                (true, true) => 100.0,
                (true, false) | (false, true) => 70.0,
                (false, false) => 30.0,
            };
            if !(numbers && examples) {
                suggest(
                    "specifics.missing",
                    Dimension::Results,
                    "Ground the answer in specifics: a concrete example and the numbers (sizes, \
                     latencies, costs) that drive the design."
                        .into(),
                );
            }
            Scored {
                score,
                detail: format!(
                    "numbers: {}, examples: {} (both 100, one 70, none 30)",
                    yes(numbers),
                    yes(examples)
                ),
            }
        }
        QuestionKind::Case => {
            let numbers = all_words
                .iter()
                .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
                .count();
            let score = match numbers {
                0 => 20.0,
                1 | 2 => 60.0,
                _ => 100.0,
            };
            if numbers < 3 {
                suggest(
                    "numbers.few",
                    Dimension::Results,
                    "Estimate out loud: write the numbers down and carry the arithmetic through to a \
                     figure."
                        .into(),
                );
            }
            Scored {
                score,
                detail: format!("{numbers} figures (0: 20, 1–2: 60, 3 or more: 100)"),
            }
        }
    };
    scored.push((Dimension::Results, results));

    // Ownership and verbs (behavioral).
    if kind == QuestionKind::Behavioral {
        let action_words: Vec<String> = tagged
            .iter()
            .filter(|s| s.part == Part::Action)
            .flat_map(|s| words(&s.text))
            .collect();
        let scope = if action_words.is_empty() {
            &all_words
        } else {
            &action_words
        };
        let singular = count_in(scope, FIRST_SINGULAR);
        let plural = count_in(scope, FIRST_PLURAL);
        let score = if singular + plural == 0 {
            50.0
        } else {
            100.0 * singular as f64 / (singular + plural) as f64
        };
        if singular == 0 && plural > 0 {
            suggest(
                "ownership.all_we",
                Dimension::Ownership,
                "Every action is \"we\": say what you yourself did (\"I\"), and credit the team \
                 separately."
                    .into(),
            );
        } else if plural > singular {
            suggest(
                "ownership.mostly_we",
                Dimension::Ownership,
                "Mostly \"we\": make your own part clear with \"I\" for the steps you took.".into(),
            );
        } else if singular + plural == 0 {
            suggest(
                "ownership.no_subject",
                Dimension::Ownership,
                "Say who did what: tell the actions in the first person.".into(),
            );
        }
        scored.push((
            Dimension::Ownership,
            Scored {
                score,
                detail: format!(
                    "in the actions, \"I\" {singular} times, \"we\" {plural}: 100 × I / (I + we)"
                ),
            },
        ));

        let strong = found(&padded_all, STRONG_VERBS);
        let weak = found(&padded_all, WEAK_VERBS);
        let score = if strong.is_empty() && weak.is_empty() {
            40.0
        } else {
            100.0 * strong.len() as f64 / (strong.len() + weak.len()) as f64
        };
        if !weak.is_empty() {
            suggest(
                "verbs.weak",
                Dimension::Verbs,
                format!(
                    "Replace weak phrasing ({}) with what you did: led, built, negotiated, reduced...",
                    quoted(&weak)
                ),
            );
        } else if strong.is_empty() {
            suggest(
                "verbs.none",
                Dimension::Verbs,
                "Use specific action verbs for your steps (designed, persuaded, automated...)."
                    .into(),
            );
        }
        scored.push((
            Dimension::Verbs,
            Scored {
                score,
                detail: format!(
                    "strong verbs {} ({}), weak {} ({}): 100 × strong / (strong + weak); none: 40",
                    strong.len(),
                    strong.join(", "),
                    weak.len(),
                    weak.join(", ")
                ),
            },
        ));
    }

    // Clarity.
    let hedges = found(&padded_all, HEDGES);
    let hedge_count: usize = hedges
        .iter()
        .map(|h| padded_all.matches(&format!(" {h} ")).count())
        .sum();
    let fillers = found(&padded_all, FILLERS);
    let filler_count: usize = fillers
        .iter()
        .map(|f| padded_all.matches(&format!(" {f} ")).count())
        .sum();
    let per_100 = if total_words == 0 {
        0.0
    } else {
        100.0 * (hedge_count + filler_count) as f64 / total_words as f64
    };
    if !hedges.is_empty() {
        suggest(
            "clarity.hedges",
            Dimension::Clarity,
            format!(
                "Say it with confidence: drop the hedges ({}).",
                quoted(&hedges)
            ),
        );
    }
    if !fillers.is_empty() {
        suggest(
            "clarity.fillers",
            Dimension::Clarity,
            format!("Cut the fillers ({}).", quoted(&fillers)),
        );
    }
    scored.push((
        Dimension::Clarity,
        Scored {
            score: clamp100(100.0 - 25.0 * per_100),
            detail: format!(
                "{hedge_count} hedges and {filler_count} fillers in {total_words} words: \
                 {per_100:.1} per 100 words; 100 − 25 per 1 per 100 words"
            ),
        },
    ));

    // Length and balance.
    let (min, max) = kind.length_range();
    let mut length = if total_words < min {
        100.0 * total_words as f64 / min as f64
    } else if total_words > max {
        clamp100(100.0 - 100.0 * (total_words - max) as f64 / max as f64)
    } else {
        100.0
    };
    let mut detail = format!("{total_words} words, expected {min}–{max}");
    if total_words < min {
        suggest(
            "length.too_short",
            Dimension::Length,
            format!("At {total_words} words the answer is thin: aim for {min}–{max}."),
        );
    } else if total_words > max {
        suggest(
            "length.too_long",
            Dimension::Length,
            format!(
                "At {total_words} words the answer rambles: aim for {min}–{max}; keep the action \
                 and the result, cut the background."
            ),
        );
    }
    if kind == QuestionKind::Behavioral && total_words > 0 {
        let context =
            (words_in(Part::Situation) + words_in(Part::Task)) as f64 / total_words as f64;
        let action = words_in(Part::Action) as f64 / total_words as f64;
        detail.push_str(&format!(
            "; context {:.0}%, action {:.0}% of the words",
            100.0 * context,
            100.0 * action
        ));
        if context > 0.5 {
            length -= 30.0;
            detail.push_str("; context over 50%: −30");
            suggest(
                "balance.context_heavy",
                Dimension::Length,
                "More than half the answer is background: shorten the situation, lengthen the action."
                    .into(),
            );
        }
        if action < 0.25 && has(Part::Action) {
            length -= 20.0;
            detail.push_str("; action under 25%: −20");
            suggest(
                "balance.little_action",
                Dimension::Length,
                "The action is the heart of the answer: give it at least a third of the words."
                    .into(),
            );
        }
    }
    scored.push((
        Dimension::Length,
        Scored {
            score: clamp100(length),
            detail,
        },
    ));

    // Coverage.
    let answer_stems: BTreeSet<String> = all_words.iter().map(|w| stem(w)).collect();
    let mut covered = Vec::new();
    let mut missed = Vec::new();
    for point in question.expected_points {
        let needed = content_stems(point);
        if needed.is_empty() {
            continue;
        }
        let hit = needed.iter().filter(|s| answer_stems.contains(*s)).count();
        if hit * 5 >= needed.len() * 3 {
            covered.push(point.clone());
        } else {
            missed.push(point.clone());
        }
    }
    if !covered.is_empty() || !missed.is_empty() {
        let total = covered.len() + missed.len();
        if !missed.is_empty() {
            suggest(
                "coverage.missing",
                Dimension::Coverage,
                format!("A strong answer also covers: {}.", missed.join("; ")),
            );
        }
        scored.push((
            Dimension::Coverage,
            Scored {
                score: 100.0 * covered.len() as f64 / total as f64,
                detail: format!(
                    "{} of {total} expected points (a point counts when at least 60% of its words \
                     appear)",
                    covered.len()
                ),
            },
        ));
    }

    let mut dimensions = Vec::new();
    let (mut weighted, mut weights) = (0.0, 0u32);
    for (dimension, s) in scored {
        let weight = kind.dimension_weight(dimension);
        if weight == 0 {
            continue;
        }
        weighted += f64::from(weight) * s.score;
        weights += weight;
        dimensions.push(DimensionScore {
            dimension,
            score: s.score.round() as u8,
            weight,
            detail: s.detail,
        });
    }
    let score = if weights == 0 {
        0
    } else {
        (weighted / f64::from(weights)).round() as u8
    };
    if total_words == 0 {
        suggestions.clear();
        suggestions.push(Suggestion {
            rule: "answer.empty",
            dimension: Dimension::Length,
            message: "The answer is empty.".into(),
        });
    }
    Analysis {
        score: if total_words == 0 { 0 } else { score },
        dimensions,
        suggestions,
        sentences: tagged,
        words: total_words,
        points_covered: covered,
        points_missed: missed,
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn quoted(phrases: &[&str]) -> String {
    phrases
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
