//! Path elements and paths into an object, ordered, printed and encoded as
//! structured-merge-diff does (`fieldpath.PathElement`).
//!
//! The order is upstream's: field names first, then list keys, then set
//! values, then indexes; values compare numbers (ints and floats together),
//! then strings, booleans, lists, maps and null last. The FieldsV1 encoding
//! and conflict messages depend on it, so it must never follow Rust's
//! derived order for `serde_json::Value` (which does not exist anyway).

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

/// A JSON value ordered and compared as upstream's `value.Compare`.
#[derive(Clone, Debug)]
pub struct OrderedValue(pub Value);

impl PartialEq for OrderedValue {
    fn eq(&self, other: &Self) -> bool {
        compare_values(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for OrderedValue {}
impl PartialOrd for OrderedValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedValue {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_values(&self.0, &other.0)
    }
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElement {
    /// A field of a struct or a key of a granular map (`f:name`).
    Field(String),
    /// The element of a map-list whose key fields have these values, sorted
    /// by name (`k:{"name":"web"}`).
    Key(Vec<(String, OrderedValue)>),
    /// The element of a set-list with this value (`v:"a"`).
    Value(OrderedValue),
    /// An element of a list by position (`i:0`).
    Index(usize),
}

/// A path from the object's root.
pub type Path = Vec<PathElement>;

impl PathElement {
    /// A field element.
    pub fn field(name: &str) -> Self {
        Self::Field(name.to_owned())
    }

    /// A key element from `(name, value)` pairs, sorted by name.
    pub fn key<'a>(fields: impl IntoIterator<Item = (&'a str, Value)>) -> Self {
        let mut out: Vec<(String, OrderedValue)> = fields
            .into_iter()
            .map(|(n, v)| (n.to_owned(), OrderedValue(v)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Self::Key(out)
    }

    /// The FieldsV1 key of this element (`f:`, `k:`, `v:`, `i:`).
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            Self::Field(name) => format!("f:{name}"),
            Self::Key(fields) => {
                let mut out = String::from("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_go_json_string(&mut out, name);
                    out.push(':');
                    write_go_json(&mut out, &value.0);
                }
                out.push('}');
                out
            }
            Self::Value(value) => {
                let mut out = String::from("v:");
                write_go_json(&mut out, &value.0);
                out
            }
            Self::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a FieldsV1 key (the inverse of [`Self::to_fields_v1_key`]);
    /// the error says what is wrong with it.
    pub fn from_fields_v1_key(key: &str) -> Result<Self, String> {
        let invalid = |why: &str| format!("{key:?}: {why}");
        let (kind, rest) = match key.split_at_checked(2) {
            Some((kind, rest)) if kind.len() == 2 => (kind, rest),
            _ => return Err(invalid("key must be 2 characters long")),
        };
        match kind {
            "f:" => Ok(Self::Field(rest.to_owned())),
            "v:" => serde_json::from_str(rest)
                .map(|v| Self::Value(OrderedValue(v)))
                .map_err(|e| invalid(&e.to_string())),
            "k:" => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(map)) => {
                    Ok(Self::key(map.iter().map(|(k, v)| (k.as_str(), v.clone()))))
                }
                Ok(_) => Err(invalid("key must be a JSON object")),
                Err(e) => Err(invalid(&e.to_string())),
            },
            "i:" => rest
                .parse::<usize>()
                .map(Self::Index)
                .map_err(|e| invalid(&e.to_string())),
            _ if !kind.ends_with(':') => Err(invalid("missing colon")),
            _ => Err(invalid("unknown path element type")),
        }
    }
}

/// Upstream's `PathElement.String()`: `.name`, `[name="web",port=80]`,
/// `[="a"]`, `[0]`.
impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(fields) => {
                f.write_str("[")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{name}={}", value_to_string(&value.0))?;
                }
                f.write_str("]")
            }
            Self::Value(value) => write!(f, "[={}]", value_to_string(&value.0)),
            Self::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Upstream's `Path.String()`: the elements' strings joined with nothing.
pub fn path_to_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// Upstream's `value.ToString`, used in conflict messages.
fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // Go's %q; JSON string quoting agrees for everything printable.
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_to_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", value_to_string(v)))
            .collect(),
    }
}

enum Num {
    Int(i128),
    Float(f64),
}

fn num(n: &serde_json::Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(n) => match num(n) {
            Num::Float(_) => 0,
            Num::Int(_) => 1,
        },
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
        Value::Null => 6,
    }
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// Upstream's total order over values (`value.Compare`): floats and ints
/// compare numerically with each other, otherwise floats < ints < strings <
/// booleans < lists < maps < null.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (num(x), num(y)) {
            (Num::Int(x), Num::Int(y)) => x.cmp(&y),
            (Num::Float(x), Num::Float(y)) => float_cmp(x, y),
            (Num::Int(x), Num::Float(y)) => float_cmp(x as f64, y),
            (Num::Float(x), Num::Int(y)) => float_cmp(x, y as f64),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (l, r) in x.iter().zip(y) {
                let c = compare_values(l, r);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            // serde_json's map iterates in key order.
            for ((lk, lv), (rk, rv)) in x.iter().zip(y) {
                let c = lk.cmp(rk).then_with(|| compare_values(lv, rv));
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Upstream's value equality (numbers compare numerically).
pub fn values_equal(a: &Value, b: &Value) -> bool {
    compare_values(a, b) == Ordering::Equal
}

/// Writes `s` as a JSON string the way Go's `encoding/json` does, HTML
/// characters and line separators escaped, so encoded keys match
/// kube-apiserver's bytes.
pub(crate) fn write_go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a value as Go's `encoding/json` would (object keys sorted).
pub(crate) fn write_go_json(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => write_go_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(out, k);
                out.push(':');
                write_go_json(out, item);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}
