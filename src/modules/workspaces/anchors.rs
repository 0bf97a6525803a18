//! Where a comment's quoted text went when a document changed. Offsets count characters (Unicode
//! scalar values), from 0, end exclusive. A range is carried through the line diff of the two texts
//! (Myers, the `similar` crate, within [`DEADLINE`]): where the lines it sits on are unchanged its new
//! place is exact; otherwise — the quote edited round, moved, or its lines changed — the quote is looked
//! for in the new text, and the occurrence nearest to where the range would have been wins. If the
//! quoted text is nowhere in the new text, the anchor is outdated.

use similar::{DiffOp, TextDiff};

/// How long carrying anchors through a save may search for the smallest diff; past it a larger diff
/// only makes more anchors fall back to the search for their quote.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_millis(200);

/// A range of characters, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A text with its characters' byte offsets, to slice by character.
struct Indexed<'a> {
    text: &'a str,
    /// The byte offset of each character, and the text's length last.
    bytes: Vec<usize>,
}

impl<'a> Indexed<'a> {
    fn new(text: &'a str) -> Indexed<'a> {
        let mut bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        bytes.push(text.len());
        Indexed { text, bytes }
    }

    fn chars(&self) -> usize {
        self.bytes.len() - 1
    }

    fn slice(&self, span: Span) -> Option<&'a str> {
        if span.start >= span.end || span.end > self.chars() {
            return None;
        }
        self.text.get(self.bytes[span.start]..self.bytes[span.end])
    }

    /// The character offset of byte offset `byte` (a character boundary).
    fn char_at(&self, byte: usize) -> usize {
        self.bytes.partition_point(|&b| b < byte)
    }
}

/// The quoted text of `span` in `text`; `None` when the span is empty or runs past the end.
pub fn quote(text: &str, span: Span) -> Option<String> {
    Indexed::new(text).slice(span).map(str::to_owned)
}

/// The characters in `text`.
pub fn length(text: &str) -> usize {
    text.chars().count()
}

/// One change from an old text to a new one, for carrying any number of anchors through it.
pub struct Carry<'a> {
    new: Indexed<'a>,
    /// Per diff operation: its old and new character ranges, and whether the lines are unchanged.
    ops: Vec<(Span, Span, bool)>,
    old_chars: usize,
}

impl<'a> Carry<'a> {
    pub fn new(old: &str, new: &'a str) -> Carry<'a> {
        let diff = TextDiff::configure().timeout(DEADLINE).diff_lines(old, new);
        let starts = |slices: &[&str]| {
            let mut at = Vec::with_capacity(slices.len() + 1);
            let mut sum = 0;
            at.push(0);
            for slice in slices {
                sum += slice.chars().count();
                at.push(sum);
            }
            at
        };
        let old_at = starts(diff.old_slices());
        let new_at = starts(diff.new_slices());
        let ops = diff
            .ops()
            .iter()
            .map(|op| {
                let (o, n) = (op.old_range(), op.new_range());
                (
                    Span {
                        start: old_at[o.start],
                        end: old_at[o.end],
                    },
                    Span {
                        start: new_at[n.start],
                        end: new_at[n.end],
                    },
                    matches!(op, DiffOp::Equal { .. }),
                )
            })
            .collect();
        Carry {
            new: Indexed::new(new),
            ops,
            old_chars: old_at.last().copied().unwrap_or(0),
        }
    }

    /// Where old offset `at` (a character inside the text) is in the new text: exactly, when its line
    /// is unchanged, else the start of what replaced its lines.
    fn map(&self, at: usize) -> (usize, bool) {
        for (old, new, equal) in &self.ops {
            if old.start <= at && at < old.end {
                return if *equal {
                    (new.start + (at - old.start), true)
                } else {
                    (new.start, false)
                };
            }
        }
        (self.new.chars(), at >= self.old_chars)
    }

    /// Where the range `span` quoting `quote` of the old text is in the new text, or `None` when the
    /// quoted text is no longer there.
    pub fn carry(&self, span: Span, quote: &str) -> Option<Span> {
        let (start, start_exact) = self.map(span.start);
        let (last, last_exact) = self.map(span.end.saturating_sub(1).max(span.start));
        if start_exact && last_exact {
            let moved = Span {
                start,
                end: last + 1,
            };
            if self.new.slice(moved) == Some(quote) {
                return Some(moved);
            }
        }
        self.find(quote, start)
    }

    /// The occurrence of `quote` in the new text nearest to `near`.
    pub fn find(&self, quote: &str, near: usize) -> Option<Span> {
        find(&self.new, quote, near)
    }
}

/// The occurrence of `quote` in `text` nearest to character `near`, if any.
pub fn find_in(text: &str, quote: &str, near: usize) -> Option<Span> {
    find(&Indexed::new(text), quote, near)
}

fn find(text: &Indexed<'_>, quote: &str, near: usize) -> Option<Span> {
    if quote.is_empty() {
        return None;
    }
    let quote_chars = quote.chars().count();
    // Every occurrence, overlapping ones too ("aa" twice in "aaa").
    let mut starts = Vec::new();
    let mut from = 0;
    while let Some(found) = text.text.get(from..).and_then(|rest| rest.find(quote)) {
        let byte = from + found;
        starts.push(text.char_at(byte));
        from = byte + text.text[byte..].chars().next().map_or(1, char::len_utf8);
    }
    starts
        .into_iter()
        .min_by_key(|start| start.abs_diff(near))
        .map(|start| Span {
            start,
            end: start + quote_chars,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str, quote: &str) -> Span {
        find_in(text, quote, 0).unwrap()
    }

    #[test]
    fn an_untouched_line_keeps_its_anchor_shifted_by_the_lines_before_it() {
        let old = "Dear team,\nI led the data platform.\nThanks\n";
        let new = "Dear hiring team,\nHello!\nI led the data platform.\nThanks\n";
        let at = span(old, "data platform");
        let carried = Carry::new(old, new).carry(at, "data platform").unwrap();
        assert_eq!(quote(new, carried).as_deref(), Some("data platform"));
        assert_eq!(carried, span(new, "data platform"));
    }

    #[test]
    fn an_edited_line_keeps_the_anchor_where_the_quote_still_is() {
        let old = "I led the data platform team.\n";
        let new = "Since 2021 I have led the data platform team at Acme.\n";
        let at = span(old, "data platform");
        let carried = Carry::new(old, new).carry(at, "data platform").unwrap();
        assert_eq!(quote(new, carried).as_deref(), Some("data platform"));
    }

    #[test]
    fn a_repeated_quote_goes_to_the_occurrence_where_it_was() {
        let old = "the plan\nmiddle\nthe plan\n";
        let new = "intro\nthe plan\nmiddle\nthe plan\n";
        let second = Span { start: 16, end: 24 };
        assert_eq!(quote(old, second).as_deref(), Some("the plan"));
        let carried = Carry::new(old, new).carry(second, "the plan").unwrap();
        assert_eq!(carried, Span { start: 22, end: 30 });
    }

    #[test]
    fn a_quote_that_is_gone_is_outdated_and_comes_back_with_its_text() {
        let old = "Keep this.\nDrop this sentence.\n";
        let new = "Keep this.\nSomething else.\n";
        let at = span(old, "Drop this");
        assert_eq!(Carry::new(old, new).carry(at, "Drop this"), None);
        assert_eq!(
            Carry::new(new, old).find("Drop this", at.start),
            Some(at),
            "restoring the old text finds the quote again"
        );
    }

    #[test]
    fn a_quote_across_lines_and_outside_ascii_is_counted_in_characters() {
        let old = "Grüße an das Team,\nwir bauen Brücken.\n";
        let new = "Vorwort\nGrüße an das Team,\nwir bauen Brücken.\n";
        let at = span(old, "Team,\nwir bauen Brü");
        assert_eq!(at, Span { start: 13, end: 32 });
        let carried = Carry::new(old, new)
            .carry(at, "Team,\nwir bauen Brü")
            .unwrap();
        assert_eq!(carried, Span { start: 21, end: 40 });
    }

    #[test]
    fn text_inserted_inside_the_range_outdates_it() {
        let old = "one two three\n";
        let new = "one two and a half three\n";
        let at = span(old, "two three");
        assert_eq!(Carry::new(old, new).carry(at, "two three"), None);
    }

    #[test]
    fn overlapping_occurrences_are_all_candidates() {
        assert_eq!(find_in("aaa", "aa", 1), Some(Span { start: 1, end: 3 }));
        assert_eq!(find_in("xaaa", "aa", 0), Some(Span { start: 1, end: 3 }));
        assert_eq!(find_in("abc", "", 0), None);
        assert_eq!(find_in("ééé", "éé", 2), Some(Span { start: 1, end: 3 }));
    }

    #[test]
    fn a_range_past_the_end_quotes_nothing() {
        assert_eq!(quote("abc", Span { start: 1, end: 4 }), None);
        assert_eq!(quote("abc", Span { start: 2, end: 2 }), None);
        assert_eq!(
            quote("abc", Span { start: 1, end: 3 }).as_deref(),
            Some("bc")
        );
    }
}
