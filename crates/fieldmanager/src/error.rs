//! The crate's errors, and the conflicts of a failed apply (the 409).

use std::fmt;

use serde_json::Value;

use crate::operation::Operation;
use crate::path::{Path, path_to_string};

/// What can go wrong managing fields.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A FieldsV1 document that does not parse.
    #[error("invalid FieldsV1: {0}")]
    InvalidFieldsV1(String),
    /// `metadata.managedFields` entries that fail validation; each string
    /// is one field error of the 422.
    #[error("{}", .0.join(", "))]
    InvalidManagedFields(Vec<String>),
    /// An object or configuration that does not fit its type (a map-list
    /// element without its keys).
    #[error("{0}")]
    InvalidObject(String),
    /// A schema that cannot be used.
    #[error("schema: {0}")]
    Schema(String),
    /// An apply that conflicts with other managers (409).
    #[error("{0}")]
    Conflicts(Conflicts),
}

/// One field an apply would take from another manager.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The other manager.
    pub manager: String,
    /// Its operation.
    pub operation: Operation,
    /// Its API version.
    pub api_version: String,
    /// Its subresource.
    pub subresource: String,
    /// The contested field.
    pub path: Path,
    pub(crate) identifier: String,
}

impl Conflict {
    /// Upstream's `printManager`: `"kubectl"` for an applier,
    /// `"kubectl-edit" using v1` for an updater, with
    /// ` with subresource "status"` after the name when there is one.
    pub fn manager_description(&self) -> String {
        let mut out = Value::String(self.manager.clone()).to_string();
        if !self.subresource.is_empty() {
            out.push_str(&format!(
                " with subresource {}",
                Value::String(self.subresource.clone())
            ));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    /// The `details.causes[].message` of the 409: `conflict with ...`.
    pub fn message(&self) -> String {
        format!("conflict with {}", self.manager_description())
    }

    /// The `details.causes[].field` of the 409: `.spec.replicas`.
    pub fn field(&self) -> String {
        path_to_string(&self.path)
    }
}

/// The conflicts of a failed apply; `Display` is the 409's message.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflicts(pub(crate) Vec<Conflict>);

impl Conflicts {
    pub(crate) fn new(mut conflicts: Vec<Conflict>) -> Self {
        // Upstream groups by manager identifier in sorted order; within a
        // manager, paths come in set order. `sort_by` is stable.
        conflicts.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        Self(conflicts)
    }

    /// Each conflict, grouped by manager.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.0
    }
}

impl fmt::Display for Conflicts {
    /// `Apply failed with 1 conflict: conflict with "m" using v1: .data.key`,
    /// or for several: `Apply failed with 2 conflicts: conflicts with
    /// "a":\n- .x\nconflicts with "b" using v1:\n- .y`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.0.as_slice() {
            return write!(
                f,
                "Apply failed with 1 conflict: {}: {}",
                only.message(),
                only.field()
            );
        }
        let mut lines: Vec<String> = Vec::new();
        let mut current: Option<&str> = None;
        for c in &self.0 {
            if current != Some(c.identifier.as_str()) {
                lines.push(format!("conflicts with {}:", c.manager_description()));
                current = Some(c.identifier.as_str());
            }
            lines.push(format!("- {}", c.field()));
        }
        write!(
            f,
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }
}
