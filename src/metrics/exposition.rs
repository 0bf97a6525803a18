//! The Prometheus text exposition format (version 0.0.4): `# HELP`/`# TYPE` lines, then samples with
//! escaped label values.

use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// Announces a metric family.
    pub fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape(help, false));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// A family of one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.header(name, kind, help);
        self.sample(name, &Labels::new(), value);
    }

    /// A family whose samples differ by one label: `(label value, sample)` pairs.
    pub fn by_label(
        &mut self,
        (name, kind, help): (&str, &str, &str),
        label: &'static str,
        samples: &[(&str, f64)],
    ) {
        self.header(name, kind, help);
        for (value, sample) in samples {
            self.sample(name, &Labels::new().with(label, value), *sample);
        }
    }

    pub fn sample(&mut self, name: &str, labels: &Labels, value: f64) {
        self.text.push_str(name);
        labels.write(&mut self.text);
        let _ = writeln!(self.text, " {}", number(value));
    }

    pub fn finish(self) -> String {
        self.text
    }
}

/// Label pairs in the order given.
#[derive(Clone, Default)]
pub struct Labels {
    pairs: Vec<(&'static str, String)>,
}

impl Labels {
    pub fn new() -> Self {
        Labels::default()
    }

    pub fn with(mut self, name: &'static str, value: &str) -> Self {
        self.pairs.push((name, value.to_owned()));
        self
    }

    fn write(&self, out: &mut String) {
        if self.pairs.is_empty() {
            return;
        }
        out.push('{');
        for (i, (name, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{name}=\"{}\"", escape(value, true));
        }
        out.push('}');
    }
}

/// Backslash and newline escaped (and the double quote in a label value).
fn escape(text: &str, quote: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Exposition::default();
        out.header("x", "gauge", "a \\ b\nc \"d\"");
        out.sample("x", &Labels::new().with("v", "q\"\\\n"), 1.5);
        out.sample("x", &Labels::new(), f64::INFINITY);
        assert_eq!(
            out.finish(),
            "# HELP x a \\\\ b\\nc \"d\"\n# TYPE x gauge\nx{v=\"q\\\"\\\\\\n\"} 1.5\nx +Inf\n"
        );
    }
}
