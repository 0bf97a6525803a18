//! SCIM filters (RFC 7644 §3.4.2.2): `userName eq "a@b.c"`, `emails[type eq "work" and value co "@b"]`,
//! `not (active eq false) or meta.lastModified gt "2026-01-01T00:00:00Z"`. Parsed once into a
//! [`Filter`]; lists turn it into SQL over the resource's columns ([`to_sql`]), PATCH paths evaluate
//! it against the elements of a multi-valued attribute ([`Filter::matches`]).

use serde_json::Value;

use super::error::ScimError;
use crate::db::sql::{SqlBuilder, escape_like};

/// An attribute path: `[urn:...:]attr[.sub]`, names lower-cased (SCIM names are case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, `name.givenName`,
    /// `userName`.
    pub fn parse(text: &str) -> Result<AttrPath, ScimError> {
        let text = text.trim();
        let (urn, rest) = if text.to_ascii_lowercase().starts_with("urn:") {
            match text.rfind(':') {
                Some(i) if i + 1 < text.len() => {
                    (Some(text[..i].to_ascii_lowercase()), &text[i + 1..])
                }
                _ => {
                    return Err(ScimError::bad(
                        "invalidPath",
                        format!("no attribute in {text:?}"),
                    ));
                }
            }
        } else {
            (None, text)
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((attr, sub)) => (attr, Some(sub)),
            None => (rest, None),
        };
        let valid = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !valid(attr) || sub.is_some_and(|s| !valid(s)) {
            return Err(ScimError::bad(
                "invalidPath",
                format!("{text:?} is not an attribute path"),
            ));
        }
        Ok(AttrPath {
            urn,
            attr: attr.to_ascii_lowercase(),
            sub: sub.map(str::to_ascii_lowercase),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Bool(bool),
    Num(f64),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, Op, Literal),
    /// `emails[type eq "work"]`: some element of the multi-valued attribute matches the inner filter
    /// (whose paths name the element's sub-attributes).
    ValuePath(AttrPath, Box<Filter>),
}

const MAX_FILTER_LEN: usize = 2000;
const MAX_DEPTH: usize = 20;

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(invalid("the filter is longer than 2000 characters"));
        }
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let filter = parser.or(0)?;
        if parser.at != parser.tokens.len() {
            return Err(invalid(format!(
                "unexpected {} in the filter",
                parser.tokens[parser.at].describe()
            )));
        }
        Ok(filter)
    }

    /// Whether an element of a multi-valued attribute (an object such as `{"type": "work", "value":
    /// "a@b.c"}`) matches; paths name its sub-attributes (`type`, or `emails.type`). String comparisons
    /// ignore case, as for the caseExact=false attributes that carry such filters.
    pub fn matches(&self, element: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(element) && b.matches(element),
            Filter::Or(a, b) => a.matches(element) || b.matches(element),
            Filter::Not(inner) => !inner.matches(element),
            Filter::ValuePath(_, inner) => inner.matches(element),
            Filter::Present(path) => match field(element, path) {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) => !s.is_empty(),
                Some(Value::Array(a)) => !a.is_empty(),
                Some(_) => true,
            },
            Filter::Compare(path, op, literal) => {
                let value = field(element, path);
                match (value, literal) {
                    (Some(Value::String(s)), Literal::Str(want)) => {
                        compare_text(&s.to_lowercase(), *op, &want.to_lowercase())
                    }
                    (Some(Value::Bool(b)), Literal::Bool(want)) => match op {
                        Op::Eq => b == want,
                        Op::Ne => b != want,
                        _ => false,
                    },
                    (None | Some(Value::Null), Literal::Null) => *op == Op::Eq,
                    (Some(v), Literal::Null) => *op == Op::Ne && !v.is_null(),
                    (None | Some(Value::Null), _) => *op == Op::Ne,
                    _ => false,
                }
            }
        }
    }
}

/// The element's field a path names: the sub-attribute if there is one, else the attribute itself
/// (inside brackets, `type` names the element's `type`).
fn field<'a>(element: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let name = path.sub.as_deref().unwrap_or(&path.attr);
    element
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn compare_text(have: &str, op: Op, want: &str) -> bool {
    match op {
        Op::Eq => have == want,
        Op::Ne => have != want,
        Op::Co => have.contains(want),
        Op::Sw => have.starts_with(want),
        Op::Ew => have.ends_with(want),
        Op::Gt => have > want,
        Op::Ge => have >= want,
        Op::Lt => have < want,
        Op::Le => have <= want,
    }
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidFilter", detail)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("{w:?}"),
            Token::Str(s) => format!("string {s:?}"),
            Token::Open => "\"(\"".into(),
            Token::Close => "\")\"".into(),
            Token::OpenBracket => "\"[\"".into(),
            Token::CloseBracket => "\"]\"".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // A JSON string: find its closing quote (not escaped), then let serde unescape it.
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid("a string in the filter is not closed"))?;
                let value: String = serde_json::from_str(&text[start..=end])
                    .map_err(|_| invalid("a string in the filter is not valid JSON"))?;
                tokens.push(Token::Str(value));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text[start..end].to_owned()));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, want: Token) -> Result<(), ScimError> {
        match self.next() {
            Some(token) if token == want => Ok(()),
            Some(token) => Err(invalid(format!(
                "expected {} but found {}",
                want.describe(),
                token.describe()
            ))),
            None => Err(invalid(format!(
                "the filter ends before {}",
                want.describe()
            ))),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and(depth)?;
        while self.peek_word("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.unary(depth)?;
        while self.peek_word("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary(depth)?));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth > MAX_DEPTH {
            return Err(invalid("the filter nests too deeply"));
        }
        if self.peek_word("not") {
            self.at += 1;
            self.expect(Token::Open)?;
            let inner = self.or(depth + 1)?;
            self.expect(Token::Close)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or(depth + 1)?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                let path = AttrPath::parse(&word).map_err(|e| invalid(e.detail))?;
                if self.tokens.get(self.at) == Some(&Token::OpenBracket) {
                    self.at += 1;
                    let inner = self.or(depth + 1)?;
                    self.expect(Token::CloseBracket)?;
                    return Ok(Filter::ValuePath(path, Box::new(inner)));
                }
                let op = match self.next() {
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("pr") => {
                        return Ok(Filter::Present(path));
                    }
                    Some(Token::Word(op)) => Op::parse(&op)
                        .ok_or_else(|| invalid(format!("{op:?} is not a filter operator")))?,
                    Some(other) => {
                        return Err(invalid(format!(
                            "expected an operator after {word} but found {}",
                            other.describe()
                        )));
                    }
                    None => return Err(invalid(format!("no operator after {word}"))),
                };
                let literal = match self.next() {
                    Some(Token::Str(s)) => Literal::Str(s),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
                    Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
                    Some(Token::Word(w)) => Literal::Num(
                        w.parse()
                            .map_err(|_| invalid(format!("{w:?} is not a filter value")))?,
                    ),
                    Some(other) => {
                        return Err(invalid(format!(
                            "{} is not a filter value",
                            other.describe()
                        )));
                    }
                    None => return Err(invalid(format!("no value after {word}"))),
                };
                Ok(Filter::Compare(path, op, literal))
            }
            Some(other) => Err(invalid(format!(
                "unexpected {} in the filter",
                other.describe()
            ))),
            None => Err(invalid("the filter is empty or ends too soon")),
        }
    }
}

/// What a column holds, for comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text; `case_exact` false compares lower-cased.
    Text {
        case_exact: bool,
    },
    Bool,
    Timestamp,
}

/// Where an attribute lives in SQL.
#[derive(Debug, Clone)]
pub enum Column {
    Scalar {
        expr: String,
        kind: ColumnKind,
    },
    /// A multi-valued attribute: `EXISTS (SELECT 1 FROM <from> WHERE <condition on an element>)`, the
    /// element's sub-attributes given by `element`.
    Multi {
        /// `FROM` and the condition tying an element to the row (`... WHERE <correlate> AND ...`).
        from: String,
        correlate: String,
        element: fn(&str) -> Option<(String, ColumnKind)>,
        /// The sub-attribute a bare name means (`emails eq "x"` is `emails.value eq "x"`).
        default_sub: &'static str,
    },
}

/// Appends `filter` as SQL to `query`; `columns` maps a path to its column (None: not filterable).
pub fn to_sql(
    filter: &Filter,
    columns: &dyn Fn(&AttrPath) -> Option<Column>,
    query: &mut SqlBuilder,
) -> Result<(), ScimError> {
    let unknown = |path: &AttrPath| {
        invalid(format!(
            "cannot filter on {}{}",
            path.attr,
            path.sub
                .as_deref()
                .map(|s| format!(".{s}"))
                .unwrap_or_default()
        ))
    };
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            query.push("(");
            to_sql(a, columns, query)?;
            query.push(if matches!(filter, Filter::And(..)) {
                " AND "
            } else {
                " OR "
            });
            to_sql(b, columns, query)?;
            query.push(")");
        }
        Filter::Not(inner) => {
            query.push("NOT (");
            to_sql(inner, columns, query)?;
            query.push(")");
        }
        Filter::ValuePath(path, inner) => {
            let Some(Column::Multi {
                from,
                correlate,
                element,
                ..
            }) = columns(path)
            else {
                return Err(unknown(path));
            };
            query.push(&format!(
                "EXISTS (SELECT 1 FROM {from} WHERE {correlate} AND "
            ));
            element_sql(inner, element, query)?;
            query.push(")");
        }
        Filter::Present(path) | Filter::Compare(path, ..) => match columns(path) {
            Some(Column::Scalar { expr, kind }) => condition(filter, &expr, kind, query)?,
            Some(Column::Multi {
                from,
                correlate,
                element,
                default_sub,
            }) => {
                let sub = path.sub.as_deref().unwrap_or(default_sub);
                let (expr, kind) = element(sub).ok_or_else(|| unknown(path))?;
                query.push(&format!(
                    "EXISTS (SELECT 1 FROM {from} WHERE {correlate} AND "
                ));
                condition(filter, &expr, kind, query)?;
                query.push(")");
            }
            None => return Err(unknown(path)),
        },
    }
    Ok(())
}

/// The inner filter of a value path, over one element.
fn element_sql(
    filter: &Filter,
    element: fn(&str) -> Option<(String, ColumnKind)>,
    query: &mut SqlBuilder,
) -> Result<(), ScimError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            query.push("(");
            element_sql(a, element, query)?;
            query.push(if matches!(filter, Filter::And(..)) {
                " AND "
            } else {
                " OR "
            });
            element_sql(b, element, query)?;
            query.push(")");
        }
        Filter::Not(inner) => {
            query.push("NOT (");
            element_sql(inner, element, query)?;
            query.push(")");
        }
        Filter::ValuePath(..) => return Err(invalid("value paths do not nest")),
        Filter::Present(path) | Filter::Compare(path, ..) => {
            let name = path.sub.as_deref().unwrap_or(&path.attr);
            let (expr, kind) =
                element(name).ok_or_else(|| invalid(format!("cannot filter on {name}")))?;
            condition(filter, &expr, kind, query)?;
        }
    }
    Ok(())
}

fn condition(
    filter: &Filter,
    expr: &str,
    kind: ColumnKind,
    query: &mut SqlBuilder,
) -> Result<(), ScimError> {
    let (op, literal) = match filter {
        Filter::Present(_) => {
            query.push(&match kind {
                ColumnKind::Text { .. } => format!("({expr} IS NOT NULL AND {expr} <> '')"),
                _ => format!("{expr} IS NOT NULL"),
            });
            return Ok(());
        }
        Filter::Compare(_, op, literal) => (*op, literal),
        _ => return Err(invalid("unexpected filter")),
    };
    if *literal == Literal::Null {
        query.push(&match op {
            Op::Eq => format!("{expr} IS NULL"),
            Op::Ne => format!("{expr} IS NOT NULL"),
            _ => return Err(invalid("null can only be compared with eq or ne")),
        });
        return Ok(());
    }
    let comparison = |op: Op| match op {
        Op::Eq => "=",
        Op::Ne => "IS DISTINCT FROM",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Co | Op::Sw | Op::Ew => "LIKE",
    };
    match (kind, literal) {
        (ColumnKind::Text { case_exact }, Literal::Str(text)) => {
            let (expr, text) = if case_exact {
                (expr.to_owned(), text.clone())
            } else {
                (format!("lower({expr})"), text.to_lowercase())
            };
            let value = match op {
                Op::Co => format!("%{}%", escape_like(&text)),
                Op::Sw => format!("{}%", escape_like(&text)),
                Op::Ew => format!("%{}", escape_like(&text)),
                _ => text,
            };
            let n = query.bind(value);
            query.push(&format!("{expr} {} ${n}", comparison(op)));
        }
        (ColumnKind::Bool, Literal::Bool(b)) => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(invalid("booleans can only be compared with eq or ne"));
            }
            let n = query.bind(*b);
            query.push(&format!("{expr} {} ${n}", comparison(op)));
        }
        (ColumnKind::Timestamp, Literal::Str(text)) => {
            let at = chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| invalid(format!("{text:?} is not a date-time (RFC 3339)")))?;
            if matches!(op, Op::Co | Op::Sw | Op::Ew) {
                return Err(invalid(
                    "date-times are compared with eq, ne, gt, ge, lt or le",
                ));
            }
            let n = query.bind(at);
            query.push(&format!("{expr} {} ${n}", comparison(op)));
        }
        _ => return Err(invalid("the value's type does not match the attribute's")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: None,
            attr: attr.into(),
            sub: sub.map(Into::into),
        }
    }

    #[test]
    fn filters_parse_with_precedence_case_insensitive_keywords_and_escapes() {
        let filter =
            Filter::parse(r#"userName Eq "a\"b" or active eq TRUE and not (title pr)"#).unwrap();
        assert_eq!(
            filter,
            Filter::Or(
                Box::new(Filter::Compare(
                    path("username", None),
                    Op::Eq,
                    Literal::Str("a\"b".into())
                )),
                Box::new(Filter::And(
                    Box::new(Filter::Compare(
                        path("active", None),
                        Op::Eq,
                        Literal::Bool(true)
                    )),
                    Box::new(Filter::Not(Box::new(Filter::Present(path("title", None))))),
                )),
            )
        );
        let urn = Filter::parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
        )
        .unwrap();
        let Filter::Compare(p, ..) = urn else {
            panic!()
        };
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user")
        );
        assert_eq!(
            (p.attr.as_str(), p.sub.as_deref()),
            ("manager", Some("value"))
        );
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName zz \"x\"",
            "(userName eq \"x\"",
            "userName eq \"x",
            "a eq b c",
        ] {
            let err = Filter::parse(bad).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidFilter"), "{bad}");
        }
    }

    #[test]
    fn value_path_filters_match_elements_ignoring_case() {
        let filter =
            Filter::parse(r#"emails[type eq "Work" and value ew "@ACME.example"]"#).unwrap();
        let Filter::ValuePath(_, inner) = filter else {
            panic!()
        };
        assert!(inner.matches(&json!({"type": "work", "value": "a@acme.example"})));
        assert!(!inner.matches(&json!({"type": "home", "value": "a@acme.example"})));
        assert!(!inner.matches(&json!({"value": "a@acme.example"})));
    }
}
