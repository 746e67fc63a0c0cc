//! JSON values as upstream's Go code sees them: numbers as `int64` or
//! `float64`, Go's float formatting, type names for messages, and equality and
//! repetition with numbers compared by value.

use std::collections::HashMap;

use serde_json::{Number, Value};

/// A JSON number as the Go decoder produces it: `int64` when it fits, else
/// `float64`.
#[derive(Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn of(n: &Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            // Precision loss above 2^53 matches upstream's float64 bounds.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Whether a float is a whole number within JSON's exact integer range.
pub(crate) fn is_json_integer(f: f64) -> bool {
    f.is_finite() && f.abs() <= 9_007_199_254_740_992.0 && f.fract() == 0.0
}

/// The JSON type name of a value and the Go type name upstream's format
/// check prints for it.
pub(crate) fn kind_of(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::Number(n) => match Num::of(n) {
            Num::Int(_) => ("integer", "int64"),
            Num::Float(_) => ("number", "float64"),
        },
        Value::String(_) => ("string", ""),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

/// `<name> in body <rest>`, as go-openapi words its errors (without the
/// leading space when the value is the root of what is validated).
pub(crate) fn in_body(name: &str, rest: &str) -> String {
    if name.is_empty() {
        format!("in body {rest}")
    } else {
        format!("{name} in body {rest}")
    }
}

/// Formats a float the way Go's `%v` does (exponent below 1e-4 and from
/// 1e21 on).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{f:e}");
        if let Some((mantissa, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{f}")
}

pub(crate) fn num_value(n: Num) -> Value {
    match n {
        Num::Int(i) => Value::from(i),
        Num::Float(f) => Value::from(f),
    }
}

/// Indices of the second occurrence of each repeated value (a third
/// occurrence is not reported again, as upstream's list-set check). Values
/// are compared by a canonical encoding, so this stays linear-ish on large
/// lists (upstream uses maps too).
pub(crate) fn first_repeats(items: &[Value]) -> impl Iterator<Item = usize> + '_ {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
    items.iter().enumerate().filter_map(move |(i, item)| {
        let mut key = String::new();
        canonical(item, &mut key);
        let count = seen.entry(key).or_insert(0);
        *count += 1;
        (*count == 2).then_some(i)
    })
}

/// A canonical JSON encoding: object keys sorted (serde_json's map is
/// ordered) and numbers by value, so `1` and `1.0` encode alike.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => {
            let text = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (None, Some(u), _) => u.to_string(),
                (None, None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
                    (f as i64).to_string()
                }
                (None, None, Some(f)) => format!("{f:?}"),
                (None, None, None) => n.to_string(),
            };
            out.push_str(&text);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i == j
            } else if let (Some(i), Some(j)) = (x.as_u64(), y.as_u64()) {
                i == j
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
