//! Label selectors and field selectors: parsing (upstream's full string
//! syntax and the structured `metav1.LabelSelector`), validation, canonical
//! printing and matching against objects.
//!
//! List, watch and deletecollection all filter through here, and clients
//! depend on which selectors are rejected and with what message, so the
//! grammar follows upstream's `labels.Parse` and `fields.ParseSelector`
//! token for token. This module must never decide which fields a resource
//! supports in a field selector (the catalog knows that; see
//! [`FieldSelector::requirements`]) and never panics on user input.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::{
    FieldError, aggregate_messages, go_quote, is_qualified_name, is_valid_label_value,
};

/// A selector that could not be parsed or is invalid. The message is
/// upstream's wording and is meant for a `400 BadRequest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    message: String,
}

impl SelectorError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The human-readable reason.
    pub fn message(&self) -> &str {
        &self.message
    }
}

// ---------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------

/// How a label requirement relates its key to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key=value`.
    Equals,
    /// `key==value` (same meaning as `=`).
    DoubleEquals,
    /// `key!=value`: absent or different.
    NotEquals,
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)`: absent or not any of the values.
    NotIn,
    /// `key>n`: present and numerically greater.
    GreaterThan,
    /// `key<n`: present and numerically smaller.
    LessThan,
}

impl Operator {
    /// Upstream's `selection.Operator` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// Read access to a set of labels, so matching works on typed maps and on
/// the `metadata.labels` object of stored JSON alike.
trait Labels {
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Labels for serde_json::Map<String, Value> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

/// One clause of a label selector; all clauses must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    /// Sorted and free of duplicates.
    values: Vec<String>,
}

impl Requirement {
    /// Builds and validates a requirement as upstream's `NewRequirement`:
    /// the key must be a qualified name, every value a valid label value,
    /// `in`/`notin` need at least one value, `=`/`==`/`!=` exactly one,
    /// `exists`/`!` none, and `gt`/`lt` exactly one integer.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        let mut errs: Vec<FieldError> = Vec::new();
        let key_errs = is_qualified_name(key);
        if !key_errs.is_empty() {
            errs.push(FieldError::invalid("key", key, key_errs.join("; ")));
        }
        let values_json = || {
            if values.is_empty() {
                Value::Null
            } else {
                Value::from(values.clone())
            }
        };
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                errs.push(FieldError::invalid(
                    "values",
                    values_json(),
                    "for 'in', 'notin' operators, values set can't be empty",
                ));
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                errs.push(FieldError::invalid(
                    "values",
                    values_json(),
                    "exact-match compatibility requires one single value",
                ));
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                errs.push(FieldError::invalid(
                    "values",
                    values_json(),
                    "values set must be empty for exists and does not exist",
                ));
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(FieldError::invalid(
                        "values",
                        values_json(),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, value) in values.iter().enumerate() {
                    if value.parse::<i64>().is_err() {
                        errs.push(FieldError::invalid(
                            format!("values[{i}]"),
                            value.as_str(),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, value) in values.iter().enumerate() {
            let value_errs = is_valid_label_value(value);
            if !value_errs.is_empty() {
                errs.push(FieldError::invalid(
                    format!("values[{i}][{key}]"),
                    value.as_str(),
                    value_errs.join("; "),
                ));
            }
        }
        if !errs.is_empty() {
            return Err(SelectorError::new(aggregate_messages(
                errs.iter().map(ToString::to_string),
            )));
        }
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Self {
            key: key.to_owned(),
            operator,
            values,
        })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted and without duplicates.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a set of labels satisfies this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_labels(labels)
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }

    fn matches_labels(&self, labels: &impl Labels) -> bool {
        let actual = labels.label(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                actual.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => actual.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => actual.is_some(),
            Operator::DoesNotExist => actual.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(actual) = actual.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [wanted] = self.values.as_slice() else {
                    return false;
                };
                let Ok(wanted) = wanted.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    actual > wanted
                } else {
                    actual < wanted
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// Upstream's canonical form: `!k`, `k`, `k=v`, `k==v`, `k!=v`,
    /// `k in (a,b)`, `k notin (a,b)`, `k>1`, `k<1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values.join(",");
        match self.operator {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Equals => write!(f, "{}={values}", self.key),
            Operator::DoubleEquals => write!(f, "{}=={values}", self.key),
            Operator::NotEquals => write!(f, "{}!={values}", self.key),
            Operator::In => write!(f, "{} in ({values})", self.key),
            Operator::NotIn => write!(f, "{} notin ({values})", self.key),
            Operator::GreaterThan => write!(f, "{}>{values}", self.key),
            Operator::LessThan => write!(f, "{}<{values}", self.key),
        }
    }
}

/// A parsed label selector: requirements sorted by key, all of which must
/// hold. The empty selector matches everything; [`LabelSelector::nothing`]
/// (a missing structured selector) matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    match_nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The selector that matches no object (upstream's `labels.Nothing()`,
    /// the meaning of an absent structured selector).
    pub fn nothing() -> Self {
        Self {
            requirements: Vec::new(),
            match_nothing: true,
        }
    }

    /// Parses upstream's string syntax: comma-separated requirements of the
    /// forms `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (v1,v2)`,
    /// `k notin (v1,v2)`, `k>n`, `k<n`, with spaces, tabs and newlines
    /// allowed between tokens. An empty or blank string selects everything.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut requirements = Parser::new(selector).parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            requirements,
            match_nothing: false,
        })
    }

    /// Builds a selector from requirements (sorted by key here).
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self {
            requirements,
            match_nothing: false,
        }
    }

    /// Converts a structured `metav1.LabelSelector`, as upstream's
    /// `LabelSelectorAsSelector`: `None` matches nothing, an empty selector
    /// matches everything.
    pub fn from_meta(selector: Option<&MetaLabelSelector>) -> Result<Self, SelectorError> {
        match selector {
            None => Ok(Self::nothing()),
            Some(selector) => Self::try_from(selector),
        }
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True if this selector does not restrict anything (matches all).
    pub fn is_empty(&self) -> bool {
        !self.match_nothing && self.requirements.is_empty()
    }

    /// Whether a set of labels satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.match_nothing && self.requirements.iter().all(|r| r.matches_labels(labels))
    }

    /// Whether an object (its JSON, with labels at `metadata.labels`)
    /// satisfies every requirement. Non-string label values count as absent.
    pub fn matches_object(&self, object: &Value) -> bool {
        if self.match_nothing {
            return false;
        }
        let empty = serde_json::Map::new();
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        self.requirements.iter().all(|r| r.matches_labels(labels))
    }

    /// The single value the selector pins `key` to (via `=`, `==` or a
    /// one-value `in`), as upstream's `RequiresExactMatch`.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The structured `metav1.LabelSelector` wire type (as found in
/// `spec.selector` of Deployments and friends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaLabelSelector {
    /// Labels that must be present with exactly these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Further requirements, all of which must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<MetaLabelSelectorRequirement>>,
}

/// One `matchExpressions` entry of a [`MetaLabelSelector`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaLabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`; kept as a string so an
    /// unknown operator is reported on conversion, not lost in decoding.
    pub operator: String,
    /// Values for `In`/`NotIn`; must be empty for `Exists`/`DoesNotExist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl TryFrom<&MetaLabelSelector> for LabelSelector {
    type Error = SelectorError;

    fn try_from(selector: &MetaLabelSelector) -> Result<Self, Self::Error> {
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::new(
                key,
                Operator::Equals,
                vec![value.clone()],
            )?);
        }
        for expr in selector.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::new(format!(
                        "{} is not a valid label selector operator",
                        go_quote(other)
                    )));
                }
            };
            requirements.push(Requirement::new(
                &expr.key,
                operator,
                expr.values.clone().unwrap_or_default(),
            )?);
        }
        Ok(Self::from_requirements(requirements))
    }
}

/// Lexer tokens of the label selector grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// Where the parser is: `in`/`notin` are operators after a key but plain
/// identifiers where a value is expected (`x in (in)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits a selector into tokens. Every delimiter is ASCII, so slicing at
/// token boundaries always lands on character boundaries.
fn lex(input: &str) -> Vec<(Tok, &str)> {
    let bytes = input.as_bytes();
    let mut items = Vec::new();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        let Some(&b) = bytes.get(pos) else {
            items.push((Tok::End, ""));
            return items;
        };
        let start = pos;
        if is_special(b) {
            // Longest match; the only two-character operators are `==` and `!=`.
            let two = input.get(pos..pos + 2);
            let tok = match (b, two) {
                (_, Some("==")) => Tok::DoubleEquals,
                (_, Some("!=")) => Tok::NotEquals,
                (b'=', _) => Tok::Equals,
                (b'!', _) => Tok::DoesNotExist,
                (b'(', _) => Tok::OpenPar,
                (b')', _) => Tok::ClosedPar,
                (b',', _) => Tok::Comma,
                (b'>', _) => Tok::GreaterThan,
                _ => Tok::LessThan,
            };
            pos += if matches!(tok, Tok::DoubleEquals | Tok::NotEquals) {
                2
            } else {
                1
            };
            items.push((tok, &input[start..pos]));
        } else {
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let word = &input[start..pos];
            let tok = match word {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Identifier,
            };
            items.push((tok, word));
        }
    }
}

/// Recursive-descent parser mirroring upstream's, including its messages.
struct Parser<'a> {
    items: Vec<(Tok, &'a str)>,
    position: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Self {
            items: lex(input),
            position: 0,
        }
    }

    fn token_at(&self, index: usize, context: Context) -> (Tok, &'a str) {
        // The lexer always ends with `End`; past the end we keep returning it.
        let (tok, lit) = self
            .items
            .get(index)
            .or_else(|| self.items.last())
            .copied()
            .unwrap_or((Tok::End, ""));
        match (context, tok) {
            (Context::Values, Tok::In | Tok::NotIn) => (Tok::Identifier, lit),
            _ => (tok, lit),
        }
    }

    fn lookahead(&self, context: Context) -> (Tok, &'a str) {
        self.token_at(self.position, context)
    }

    fn consume(&mut self, context: Context) -> (Tok, &'a str) {
        let item = self.token_at(self.position, context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let requirement = self.parse_requirement().map_err(|e| {
                        SelectorError::new(format!("unable to parse requirement: {e}"))
                    })?;
                    requirements.push(requirement);
                    let (tok, lit) = self.consume(Context::Values);
                    match tok {
                        Tok::End => return Ok(requirements),
                        Tok::Comma => {
                            let (next, next_lit) = self.lookahead(Context::Values);
                            if next != Tok::Identifier && next != Tok::DoesNotExist {
                                return Err(SelectorError::new(format!(
                                    "found '{next_lit}', expected: identifier after ','"
                                )));
                            }
                        }
                        _ => {
                            return Err(SelectorError::new(format!(
                                "found '{lit}', expected: ',' or 'end of string'"
                            )));
                        }
                    }
                }
                Tok::End => return Ok(requirements),
                _ => {
                    return Err(SelectorError::new(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(operator) = inferred {
            return Requirement::new(key, operator, Vec::new());
        }
        let operator = self.parse_operator()?;
        let mut values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        // Upstream collects the values into a set and validates them in
        // sorted order, which fixes the indexes in its messages.
        values.sort();
        values.dedup();
        Requirement::new(key, operator, values)
    }

    /// Reads `[!]key` and infers `exists`/`!` when no operator follows.
    fn parse_key_and_infer_operator(
        &mut self,
    ) -> Result<(&'a str, Option<Operator>), SelectorError> {
        let (mut tok, mut lit) = self.consume(Context::Values);
        let negated = tok == Tok::DoesNotExist;
        if negated {
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Tok::Identifier {
            return Err(SelectorError::new(format!(
                "found '{lit}', expected: identifier"
            )));
        }
        let key_errs = is_qualified_name(lit);
        if !key_errs.is_empty() {
            // Upstream reports the key against a nil field path here.
            return Err(SelectorError::new(
                FieldError::invalid("<nil>", lit, key_errs.join("; ")).to_string(),
            ));
        }
        if negated {
            return Ok((lit, Some(Operator::DoesNotExist)));
        }
        let (next, _) = self.lookahead(Context::Values);
        let inferred = matches!(next, Tok::End | Tok::Comma).then_some(Operator::Exists);
        Ok((lit, inferred))
    }

    fn parse_operator(&mut self) -> Result<Operator, SelectorError> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => {
                return Err(SelectorError::new(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                )));
            }
        })
    }

    /// Reads `(v1,v2,...)`; empty entries stand for the empty value.
    fn parse_values(&mut self) -> Result<Vec<String>, SelectorError> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Tok::OpenPar {
            return Err(SelectorError::new(format!("found '{lit}' expected: '('")));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let values = self.parse_identifiers_list()?;
                let (tok, _) = self.consume(Context::Values);
                if tok != Tok::ClosedPar {
                    return Err(SelectorError::new(format!("found '{lit}', expected: ')'")));
                }
                Ok(values)
            }
            Tok::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(SelectorError::new(format!(
                "found '{lit}', expected: ',', ')' or identifier"
            ))),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut values: Vec<String> = Vec::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Tok::Identifier => {
                    values.push(lit.to_owned());
                    let (next, next_lit) = self.lookahead(Context::Values);
                    match next {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(values),
                        _ => {
                            return Err(SelectorError::new(format!(
                                "found '{next_lit}', expected: ',' or ')'"
                            )));
                        }
                    }
                }
                Tok::Comma => {
                    // `(,a`, `a,)` and `a,,b` all contribute the empty value.
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Tok::ClosedPar {
                        values.push(String::new());
                        return Ok(values);
                    }
                    if next == Tok::Comma {
                        self.consume(Context::Values);
                        values.push(String::new());
                    }
                }
                _ => {
                    return Err(SelectorError::new(format!(
                        "found '{lit}', expected: ',', or identifier"
                    )));
                }
            }
        }
    }

    /// Reads the single value after `=`, `==`, `!=`, `>` or `<`; nothing
    /// before `,` or the end means the empty value.
    fn parse_exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        let (tok, _) = self.lookahead(Context::Values);
        if matches!(tok, Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Tok::Identifier {
            Ok(vec![lit.to_owned()])
        } else {
            Err(SelectorError::new(format!(
                "found '{lit}', expected: identifier"
            )))
        }
    }
}

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
}

impl FieldRequirement {
    /// Whether an object satisfies this clause. A missing field (or `null`)
    /// reads as the empty string, other scalars by their string form;
    /// objects and arrays equal no value.
    pub fn matches(&self, object: &Value) -> bool {
        let equal = lookup_field(object, &self.field).is_some_and(|actual| actual == self.value);
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
fn lookup_field(object: &Value, field: &str) -> Option<String> {
    let mut current = object;
    for segment in field.split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return Some(String::new()),
        }
    }
    match current {
        Value::Null => Some(String::new()),
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
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

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
            });
        }
        Ok(Self { requirements })
    }

    /// The requirements; the server checks their fields against the
    /// resource's supported field labels.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
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
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
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
pub fn escape_field_value(value: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Valid selectors and their canonical form (upstream's
    /// `TestSelectorParse` and `TestLexerParser` cases).
    #[test]
    fn parse_and_print() {
        let cases = [
            ("", ""),
            ("   ", ""),
            ("x=a", "x=a"),
            ("x=a,y=b,z=c", "x=a,y=b,z=c"),
            ("x = a", "x=a"),
            ("x=a\t,\n y=b", "x=a,y=b"),
            ("x!=a,y!=b", "x!=a,y!=b"),
            ("x=", "x="),
            ("x= ", "x="),
            ("x=,z= ", "x=,z="),
            ("x!=", "x!="),
            ("x==", "x=="),
            ("x in (a)", "x in (a)"),
            ("x in (b,a)", "x in (a,b)"),
            ("x in(a,b)", "x in (a,b)"),
            ("x in (a,a)", "x in (a)"),
            ("x in ()", "x in ()"),
            ("x in (,)", "x in ()"),
            ("x in (a,)", "x in (,a)"),
            ("x in (,a)", "x in (,a)"),
            ("x in (a,,b)", "x in (,a,b)"),
            ("x notin (a)", "x notin (a)"),
            ("x notin ( a , b )", "x notin (a,b)"),
            ("x in (in,notin)", "x in (in,notin)"),
            ("x", "x"),
            ("!x", "!x"),
            ("! x", "!x"),
            ("x,!y", "x,!y"),
            ("x>1", "x>1"),
            ("x<1", "x<1"),
            ("z=b,y in (a),x", "x,y in (a),z=b"),
            ("example.com/app=web", "example.com/app=web"),
            (
                "app.kubernetes.io/name in (a, b),!kubernetes.io/legacy",
                "app.kubernetes.io/name in (a,b),!kubernetes.io/legacy",
            ),
        ];
        for (input, canonical) in cases {
            let selector = LabelSelector::parse(input)
                .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            assert_eq!(selector.to_string(), canonical, "{input:?}");
            // The canonical form parses back to the same selector.
            assert_eq!(
                LabelSelector::parse(canonical).ok(),
                Some(selector),
                "{canonical:?}"
            );
        }
    }

    /// Invalid selectors and upstream's exact messages.
    #[test]
    fn parse_errors() {
        let name_part = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        let label_value = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        let long_value = format!("x={}", "a".repeat(64));
        let cases: Vec<(&str, String)> = vec![
            ("x=a,", "found '', expected: identifier after ','".into()),
            ("x=a,,y=b", "found ',', expected: identifier after ','".into()),
            (",x=a", "found ',', expected: !, identifier, or 'end of string'".into()),
            ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
            ("x=a y=b", "found 'y', expected: ',' or 'end of string'".into()),
            ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
            ("x in a", "unable to parse requirement: found 'a' expected: '('".into()),
            ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'".into()),
            ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier".into()),
            ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier".into()),
            ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt".into()),
            ("x!y", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt".into()),
            ("x=(", "unable to parse requirement: found '(', expected: identifier".into()),
            ("!", "unable to parse requirement: found '', expected: identifier".into()),
            ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
            ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
            ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
            ("x=a==b", "found '==', expected: ',' or 'end of string'".into()),
            ("x=a||y", format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {label_value}")),
            ("app:=x", format!("unable to parse requirement: <nil>: Invalid value: \"app:\": {name_part}")),
            ("a/b/c=d", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".into()),
            // Negative numbers are not valid label values, so `gt`/`lt` cannot use them.
            ("x>-1", format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {label_value}")),
            ("x=-a", format!("unable to parse requirement: values[0][x]: Invalid value: \"-a\": {label_value}")),
            ("x in (a,-b)", format!("unable to parse requirement: values[0][x]: Invalid value: \"-b\": {label_value}")),
            (&long_value, format!("unable to parse requirement: values[0][x]: Invalid value: \"{}\": must be no more than 63 characters", "a".repeat(64))),
        ];
        for (input, message) in cases {
            let err = LabelSelector::parse(input).expect_err(input);
            assert_eq!(err.message(), message, "{input:?}");
        }
    }

    #[test]
    fn matching_table() {
        let set = labels(&[("x", "a"), ("y", "b"), ("n", "5")]);
        let cases = [
            ("", true),
            ("x=a", true),
            ("x==a", true),
            ("x=b", false),
            ("x=a,y=b", true),
            ("x=a,y=c", false),
            ("x!=b", true),
            ("x!=a", false),
            ("z!=a", true),
            ("x in (a,b)", true),
            ("x in (b,c)", false),
            ("z in (a)", false),
            ("x notin (b)", true),
            ("x notin (a)", false),
            ("z notin (a)", true),
            ("x", true),
            ("z", false),
            ("!z", true),
            ("!x", false),
            ("x=", false),
            ("z=", false),
            ("z!=", true),
            ("n>4", true),
            ("n>5", false),
            ("n<6", true),
            ("n<5", false),
            ("x>1", false),
            ("z>1", false),
            ("n in (5)", true),
        ];
        for (selector, expected) in cases {
            let parsed = LabelSelector::parse(selector).expect(selector);
            assert_eq!(parsed.matches(&set), expected, "{selector:?}");
        }
        let with_empty = labels(&[("x", "")]);
        assert!(
            LabelSelector::parse("x=")
                .expect("parse")
                .matches(&with_empty)
        );
        assert!(
            LabelSelector::parse("x in ()")
                .expect("parse")
                .matches(&with_empty)
        );
        assert!(
            LabelSelector::parse("x")
                .expect("parse")
                .matches(&with_empty)
        );
    }

    #[test]
    fn matching_object_json() {
        let object = json!({"metadata": {"name": "a", "labels": {"app": "web", "n": 3}}});
        let selector = LabelSelector::parse("app=web").expect("parse");
        assert!(selector.matches_object(&object));
        // Non-string label values count as absent.
        assert!(
            LabelSelector::parse("!n")
                .expect("parse")
                .matches_object(&object)
        );
        // Objects without labels.
        let bare = json!({"metadata": {"name": "a"}});
        assert!(
            LabelSelector::parse("!app")
                .expect("parse")
                .matches_object(&bare)
        );
        assert!(!selector.matches_object(&bare));
        assert!(LabelSelector::everything().matches_object(&bare));
        assert!(!LabelSelector::nothing().matches_object(&bare));
    }

    #[test]
    fn exact_match_introspection() {
        let s = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5,e==6").expect("parse");
        assert_eq!(s.requires_exact_match("a"), Some("1"));
        assert_eq!(s.requires_exact_match("b"), Some("2"));
        assert_eq!(s.requires_exact_match("c"), None);
        assert_eq!(s.requires_exact_match("d"), None);
        assert_eq!(s.requires_exact_match("e"), Some("6"));
        assert_eq!(s.requires_exact_match("f"), None);
    }

    #[test]
    fn structured_selectors() {
        let meta: MetaLabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists", "values": []}
            ]
        }))
        .expect("decode");
        let selector = LabelSelector::try_from(&meta).expect("convert");
        assert_eq!(
            selector.to_string(),
            "app=web,env notin (dev),!legacy,team,tier in (edge,front)"
        );
        assert!(selector.matches(&labels(&[("app", "web"), ("tier", "edge"), ("team", "x")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "edge")])));

        assert!(
            !LabelSelector::from_meta(None)
                .expect("nothing")
                .matches(&labels(&[]))
        );
        let empty = LabelSelector::from_meta(Some(&MetaLabelSelector::default())).expect("empty");
        assert!(empty.is_empty());
        assert!(empty.matches(&labels(&[("any", "thing")])));

        let round_trip = serde_json::to_value(&meta).expect("encode");
        assert_eq!(
            round_trip["matchExpressions"][1],
            json!({"key": "legacy", "operator": "DoesNotExist"})
        );
        assert_eq!(
            serde_json::to_value(MetaLabelSelector::default()).expect("encode"),
            json!({})
        );
    }

    #[test]
    fn structured_selector_errors() {
        let cases = [
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
                "\"Gt\" is not a valid label selector operator",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
                "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
                "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist",
            ),
            (
                json!({"matchLabels": {"a": "-bad"}}),
                "values[0][a]: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ),
        ];
        for (input, message) in cases {
            let meta: MetaLabelSelector = serde_json::from_value(input.clone()).expect("decode");
            let err = LabelSelector::try_from(&meta).expect_err("invalid");
            assert_eq!(err.message(), message, "{input}");
        }
        // Several problems aggregate as a bracketed list.
        let meta: MetaLabelSelector =
            serde_json::from_value(json!({"matchExpressions": [{"key": "-k", "operator": "In"}]}))
                .expect("decode");
        let err = LabelSelector::try_from(&meta).expect_err("invalid");
        assert!(
            err.message()
                .starts_with("[key: Invalid value: \"-k\": name part"),
            "{err}"
        );
        assert!(err.message().ends_with(", values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty]"), "{err}");
    }

    #[test]
    fn field_selector_parse_and_print() {
        let cases = [
            ("", ""),
            ("metadata.name=foo", "metadata.name=foo"),
            ("metadata.name==foo", "metadata.name=foo"),
            ("status.phase!=Running", "status.phase!=Running"),
            ("b=2,a=1", "a=1,b=2"),
            ("a=1,,b=2", "a=1,b=2"),
            ("spec.nodeName=", "spec.nodeName="),
            ("x=a\\,b", "x=a\\,b"),
            ("x=a\\=b", "x=a\\=b"),
            ("x=a\\\\b", "x=a\\\\b"),
        ];
        for (input, canonical) in cases {
            let parsed = FieldSelector::parse(input).expect(input);
            assert_eq!(parsed.to_string(), canonical, "{input:?}");
        }
        let s = FieldSelector::parse("x=a\\,b").expect("parse");
        assert_eq!(s.requirements()[0].value, "a,b");
    }

    #[test]
    fn field_selector_errors() {
        let cases = [
            ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
            (
                "metadata.name=name1,foo",
                "invalid selector: 'metadata.name=name1,foo'; can't understand 'foo'",
            ),
            (
                "x=a=b",
                "invalid field selector: unescaped character in value: =",
            ),
            (
                "x!==a",
                "invalid field selector: unescaped character in value: =",
            ),
            (
                "x=a\\b",
                "invalid field selector: invalid escape sequence: \\b",
            ),
            (
                "x=a\\",
                "invalid field selector: invalid escape sequence: \\",
            ),
        ];
        for (input, message) in cases {
            let err = FieldSelector::parse(input).expect_err(input);
            assert_eq!(err.message(), message, "{input:?}");
        }
    }

    #[test]
    fn field_selector_matching() {
        let pod = json!({
            "metadata": {"name": "web-0", "namespace": "default"},
            "spec": {"nodeName": "node-1", "replicas": 3, "paused": false, "ports": [1]},
            "status": {"phase": "Running", "message": null}
        });
        let cases = [
            ("", true),
            ("metadata.name=web-0", true),
            ("metadata.name==web-0", true),
            ("metadata.name=web-1", false),
            ("metadata.name!=web-1", true),
            ("metadata.namespace=default,status.phase=Running", true),
            ("metadata.namespace=default,status.phase=Pending", false),
            ("spec.nodeName=node-1", true),
            ("spec.nodeName!=", true),
            ("spec.schedulerName=", true),
            ("spec.schedulerName!=", false),
            ("status.message=", true),
            ("spec.replicas=3", true),
            ("spec.paused=false", true),
            ("spec.ports=", false),
            // Arrays and objects equal no value.
            ("spec.ports!=[1]", true),
            ("spec.ports!=x", true),
            ("nope.deeper=", true),
        ];
        for (selector, expected) in cases {
            let parsed = FieldSelector::parse(selector).expect(selector);
            assert_eq!(parsed.matches(&pod), expected, "{selector:?}");
        }
    }

    #[test]
    fn field_selector_exact_match() {
        let s =
            FieldSelector::parse("metadata.name=b,metadata.name=a,status.phase!=x").expect("parse");
        assert_eq!(s.requires_exact_match("metadata.name"), Some("a"));
        assert_eq!(s.requires_exact_match("status.phase"), None);
        assert_eq!(escape_field_value("a,b=c\\d"), "a\\,b\\=c\\\\d");
    }
}
