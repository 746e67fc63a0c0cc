//! Label selectors: [`LabelSelector`] from a string or a structured
//! `metav1.LabelSelector`, printed canonically and matched against labels.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
#[cfg(test)]
use serde_json::Value;

use super::display::write_requirements;
use super::error::SelectorError;
use super::parse::Parser;
use super::requirement::{Operator, Requirement};
use crate::validation::go_quote;

/// A parsed label selector: requirements sorted by key, all of which must
/// hold. The empty selector matches everything; [`LabelSelector::nothing`]
/// (a missing structured selector) matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    pub(crate) requirements: Vec<Requirement>,
    pub(crate) match_nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every object.
    #[cfg(test)]
    pub(crate) fn everything() -> Self {
        Self::default()
    }

    /// The selector that matches no object (upstream's `labels.Nothing()`,
    /// the meaning of an absent structured selector).
    #[cfg(test)]
    pub(crate) fn nothing() -> Self {
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
    pub(crate) fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self {
            requirements,
            match_nothing: false,
        }
    }

    /// Converts a structured `metav1.LabelSelector`, as upstream's
    /// `LabelSelectorAsSelector`: `None` matches nothing, an empty selector
    /// matches everything.
    #[cfg(test)]
    pub(crate) fn from_meta(selector: Option<&MetaLabelSelector>) -> Result<Self, SelectorError> {
        match selector {
            None => Ok(Self::nothing()),
            Some(selector) => Self::try_from(selector),
        }
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
    #[cfg(test)]
    pub(crate) fn matches_object(&self, object: &Value) -> bool {
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
    #[cfg(test)]
    pub(crate) fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_requirements(f, &self.requirements)
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
