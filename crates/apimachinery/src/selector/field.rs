//! Field selectors ([`FieldSelector`]): parsing as upstream's
//! `fields.ParseSelector`, escaping, printing and matching against objects.

use std::fmt;

use serde_json::Value;

use super::display::write_requirements;
use super::error::SelectorError;

// ---------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------

/// How a field requirement compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `field=value` or `field==value`.
    Equals,
    /// `field!=value`.
    NotEquals,
}

/// One clause of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// Dotted JSON path, e.g. `metadata.name` or `status.phase`.
    pub field: String,
    /// The comparison.
    pub operator: FieldOperator,
    /// The unescaped value.
    pub value: String,
    /// Where the field's value is read, once the resource's field labels
    /// resolved it ([`FieldSelector::resolve`]): the JSON path and the value
    /// a missing field reads as (`"0"` for counts, `"false"` for flags, as
    /// upstream's selectable fields print Go zero values). Unresolved: the
    /// label itself as the path, missing reads as `""`.
    pub(crate) source: Option<(String, String)>,
}

impl FieldRequirement {
    /// Whether an object satisfies this clause. A missing field (or `null`)
    /// reads as the empty string, other scalars by their string form;
    /// objects and arrays equal no value.
    pub(crate) fn matches(&self, object: &Value) -> bool {
        let (path, missing) = match &self.source {
            Some((path, missing)) => (path.as_str(), missing.as_str()),
            None => (self.field.as_str(), ""),
        };
        let equal = lookup_field(object, path, missing).is_some_and(|actual| actual == self.value);
        match self.operator {
            FieldOperator::Equals => equal,
            FieldOperator::NotEquals => !equal,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_field_value(&self.value))
    }
}

/// The string a field path reads as in `object`, or `None` when it holds an
/// object or array (which no selector value can equal).
fn lookup_field(object: &Value, field: &str, missing: &str) -> Option<String> {
    let mut current = object;
    for segment in field.split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return Some(missing.to_owned()),
        }
    }
    match current {
        Value::Null => Some(missing.to_owned()),
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// A parsed field selector: requirements sorted as upstream sorts the raw
/// terms, all of which must hold. The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    pub(crate) requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses upstream's field selector syntax: comma-separated
    /// `field=value`, `field==value` or `field!=value` terms; in values, `\`,
    /// `,` and `=` must be escaped with a backslash. Field names are taken
    /// verbatim (no whitespace trimming, as upstream), so a stray space makes
    /// an unsupported field rather than a silently different selector.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut terms = split_terms(selector);
        terms.sort_unstable();
        let mut requirements = Vec::with_capacity(terms.len());
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let Some((field, operator, raw_value)) = split_term(term) else {
                return Err(SelectorError::new(format!(
                    "invalid selector: '{selector}'; can't understand '{term}'"
                )));
            };
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                operator,
                value: unescape_field_value(raw_value)?,
                source: None,
            });
        }
        Ok(Self { requirements })
    }

    /// The requirements; the server checks their fields against the
    /// resource's supported field labels.
    #[cfg(test)]
    pub(crate) fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Checks every field label against what the resource supports, as
    /// upstream's field label conversion: `source` answers where a label's
    /// value is read (JSON path, value when missing) or why the label is
    /// not supported (400).
    pub fn resolve(
        mut self,
        source: impl Fn(&str) -> Result<(String, String), SelectorError>,
    ) -> Result<Self, SelectorError> {
        for r in &mut self.requirements {
            r.source = Some(source(&r.field)?);
        }
        Ok(self)
    }

    /// True if this selector does not restrict anything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object (as JSON) satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|r| r.matches(object))
    }

    /// The value the selector pins `field` to with `=`/`==`, as upstream's
    /// `RequiresExactMatch` (the first such term in sorted order).
    pub(crate) fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_requirements(f, &self.requirements)
    }
}

impl std::str::FromStr for FieldSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Splits on commas not preceded by a backslash escape; the escapes stay in
/// the terms for [`unescape_field_value`].
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in selector.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits a term at the first operator; field names cannot hold escapes.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, operator) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], operator, value));
            }
        }
    }
    None
}

/// Escapes `\`, `,` and `=` in a field selector value.
pub(crate) fn escape_field_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Undoes [`escape_field_value`], rejecting unknown escapes and unescaped
/// `,` or `=` with upstream's messages.
fn unescape_field_value(raw: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::new(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                )));
            }
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => {
                return Err(SelectorError::new(format!(
                    "invalid field selector: unescaped character in value: {c}"
                )));
            }
            c => out.push(c),
        }
    }
    if escaped {
        return Err(SelectorError::new(
            "invalid field selector: invalid escape sequence: \\",
        ));
    }
    Ok(out)
}
