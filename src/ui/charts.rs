//! Charts drawn on the server as SVG: no script, no third-party library. Every chart carries its own
//! text alternative (`role="img"` with a title and a description listing the values), and the pages put
//! the same figures in a table beside it.

use std::fmt::Write;

/// HTML/XML text escaping for values placed in SVG.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A horizontal meter: `value` of `max` (seats used of the limit).
pub fn meter(id: &str, title: &str, value: i64, max: i64) -> String {
    let width = 400.0;
    let share = if max > 0 {
        (value as f64 / max as f64).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let filled = (share * width).round();
    let colour = if share >= 0.9 { "#b42318" } else { "#2f6fed" };
    format!(
        "<svg id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {width} 24\" \
         width=\"100%\" height=\"24\" preserveAspectRatio=\"none\">\
         <title id=\"{id}-t\">{title}</title><desc id=\"{id}-d\">{value} of {max}</desc>\
         <rect width=\"{width}\" height=\"24\" rx=\"4\" fill=\"#d9e2ec\"/>\
         <rect width=\"{filled}\" height=\"24\" rx=\"4\" fill=\"{colour}\"/></svg>",
        title = escape(title),
    )
}

/// Vertical bars, one per labelled value, scaled to the largest.
pub fn bars(id: &str, title: &str, points: &[(String, i64)]) -> String {
    let (width, height, gap) = (600.0_f64, 120.0_f64, 2.0_f64);
    let top = points.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    // At most 40 units a bar, so a few bars do not fill the whole width.
    let step = if points.is_empty() {
        width
    } else {
        (width / points.len() as f64).min(40.0)
    };
    let mut description = String::new();
    let mut shapes = String::new();
    for (i, (label, value)) in points.iter().enumerate() {
        let h = (*value as f64 / top * (height - 4.0)).round();
        let x = i as f64 * step;
        let _ = write!(
            shapes,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"#2f6fed\">\
             <title>{label}: {value}</title></rect>",
            y = height - h,
            w = (step - gap).max(1.0),
            label = escape(label),
        );
        if i > 0 {
            description.push_str(", ");
        }
        let _ = write!(description, "{}: {value}", escape(label));
    }
    format!(
        "<svg id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" height=\"{height}\" preserveAspectRatio=\"none\">\
         <title id=\"{id}-t\">{title}</title><desc id=\"{id}-d\">{description}</desc>{shapes}</svg>",
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_carry_their_values_as_text_and_escape_labels() {
        let svg = bars(
            "c",
            "Logins",
            &[("<b>".to_owned(), 3), ("2026-12-06".to_owned(), 0)],
        );
        assert!(
            svg.contains("<desc id=\"c-d\">&lt;b&gt;: 3, 2026-12-06: 0</desc>"),
            "{svg}"
        );
        assert!(!svg.contains("<b>"));
        let meter = meter("m", "Seats", 12, 10);
        assert!(meter.contains("12 of 10"));
        assert!(
            meter.contains("width=\"400\" height=\"24\" rx=\"4\" fill=\"#b42318\""),
            "{meter}"
        );
    }
}
