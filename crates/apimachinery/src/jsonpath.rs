//! A JSONPath engine in kubectl's dialect (the subset CRD printer columns
//! use): parse a path and evaluate it against a JSON value
//! ([`json_path_eval`]).

use serde_json::Value;

use crate::structural::{self};

// ---------------------------------------------------------------------------
// JSONPath for printer columns
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<Segment>,
    test: Option<(Op, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Evaluates a printer-column JSONPath (kubectl's dialect, the subset CRDs
/// use) and returns the first match: `.spec.replicas`,
/// `.metadata.labels['app.kubernetes.io/name']`, `.status.items[0].name`,
/// `.status.items[-1]`, `.spec.list[*].name`,
/// `.status.conditions[?(@.type=="Ready")].status`; an optional `{...}`
/// wrapper and `$` root are accepted. `None` when nothing matches or the
/// path does not parse.
pub(crate) fn json_path_eval(obj: &Value, path: &str) -> Option<Value> {
    let segments = parse_json_path(path)?;
    let mut current: Vec<&Value> = vec![obj];
    for seg in &segments {
        current = apply_segment(&current, seg);
        if current.is_empty() {
            return None;
        }
    }
    current.first().map(|v| (*v).clone())
}

fn apply_segment<'a>(values: &[&'a Value], seg: &Segment) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in values {
        match seg {
            Segment::Field(name) => out.extend(v.get(name.as_str())),
            Segment::Index(i) => {
                if let Some(items) = v.as_array() {
                    let idx = if *i < 0 {
                        i64::try_from(items.len()).ok().map(|len| len + i)
                    } else {
                        Some(*i)
                    };
                    if let Some(item) = idx
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| items.get(i))
                    {
                        out.push(item);
                    }
                }
            }
            Segment::Wildcard => match v {
                Value::Array(items) => out.extend(items.iter()),
                Value::Object(m) => out.extend(m.values()),
                _ => {}
            },
            Segment::Filter(f) => {
                if let Some(items) = v.as_array() {
                    out.extend(items.iter().filter(|item| filter_matches(f, item)));
                }
            }
        }
    }
    out
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    let mut current = vec![item];
    for seg in &f.path {
        current = apply_segment(&current, seg);
    }
    let Some(subject) = current.first() else {
        return false;
    };
    let Some((op, literal)) = &f.test else {
        return true;
    };
    let ordering = match (subject, literal) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        Op::Eq => structural::json_eq(subject, literal),
        Op::Ne => !structural::json_eq(subject, literal),
        Op::Lt => ordering.is_some_and(|o| o.is_lt()),
        Op::Le => ordering.is_some_and(|o| o.is_le()),
        Op::Gt => ordering.is_some_and(|o| o.is_gt()),
        Op::Ge => ordering.is_some_and(|o| o.is_ge()),
    }
}

fn parse_json_path(path: &str) -> Option<Vec<Segment>> {
    let mut p = path.trim();
    if let Some(inner) = p.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        p = inner.trim();
    }
    p = p.strip_prefix('$').unwrap_or(p);
    let mut parser = PathParser {
        chars: p.chars().collect(),
        pos: 0,
    };
    let segments = parser.segments(false)?;
    (parser.pos == parser.chars.len()).then_some(segments)
}

struct PathParser {
    chars: Vec<char>,
    pos: usize,
}

impl PathParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Segments until the end, or (inside a filter) until an operator or `)`.
    fn segments(&mut self, in_filter: bool) -> Option<Vec<Segment>> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Some(out),
                Some('.') => {
                    self.pos += 1;
                    if self.eat('*') {
                        out.push(Segment::Wildcard);
                        continue;
                    }
                    let name = self.name(in_filter);
                    if name.is_empty() {
                        // A lone `.` selects the current value.
                        if self.peek().is_none() || in_filter {
                            continue;
                        }
                        return None;
                    }
                    out.push(Segment::Field(name));
                }
                Some('[') => {
                    self.pos += 1;
                    out.push(self.bracket()?);
                }
                Some(_) if in_filter => return Some(out),
                Some(_) => return None,
            }
        }
    }

    fn name(&mut self, in_filter: bool) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '\\'
                && let Some(next) = self.chars.get(self.pos + 1)
            {
                name.push(*next);
                self.pos += 2;
                continue;
            }
            let stop =
                c == '.' || c == '[' || (in_filter && (c.is_whitespace() || "=!<>)".contains(c)));
            if stop {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn bracket(&mut self) -> Option<Segment> {
        self.skip_ws();
        let seg = match self.peek()? {
            '\'' | '"' => Segment::Field(self.quoted()?),
            '*' => {
                self.pos += 1;
                Segment::Wildcard
            }
            '?' => {
                self.pos += 1;
                self.skip_ws();
                if !self.eat('(') {
                    return None;
                }
                let f = self.filter()?;
                self.skip_ws();
                if !self.eat(')') {
                    return None;
                }
                Segment::Filter(f)
            }
            _ => {
                let start = self.pos;
                self.eat('-');
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Segment::Index(text.parse().ok()?)
            }
        };
        self.skip_ws();
        self.eat(']').then_some(seg)
    }

    fn quoted(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.pos += 1;
        let mut s = String::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            if c == quote {
                return Some(s);
            }
            if c == '\\'
                && let Some(next) = self.peek()
            {
                self.pos += 1;
                s.push(next);
                continue;
            }
            s.push(c);
        }
    }

    fn filter(&mut self) -> Option<Filter> {
        self.skip_ws();
        if !self.eat('@') {
            return None;
        }
        let path = self.segments(true)?;
        self.skip_ws();
        let op = if self.eat('=') {
            self.eat('=');
            Some(Op::Eq)
        } else if self.eat('!') {
            if !self.eat('=') {
                return None;
            }
            Some(Op::Ne)
        } else if self.eat('<') {
            Some(if self.eat('=') { Op::Le } else { Op::Lt })
        } else if self.eat('>') {
            Some(if self.eat('=') { Op::Ge } else { Op::Gt })
        } else {
            None
        };
        let test = match op {
            None => None,
            Some(op) => {
                self.skip_ws();
                Some((op, self.literal()?))
            }
        };
        Some(Filter { path, test })
    }

    fn literal(&mut self) -> Option<Value> {
        match self.peek()? {
            '\'' | '"' => self.quoted().map(Value::String),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| !c.is_whitespace() && c != ')') {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match text.as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    "null" => Some(Value::Null),
                    t => serde_json::from_str::<serde_json::Number>(t)
                        .ok()
                        .map(Value::Number),
                }
            }
        }
    }
}
