//! The crate's errors: reading or validating the policy, and opening the
//! log. Messages name the flag and the field so an operator can fix the
//! configuration without reading code.

use std::fmt;
use std::io;

/// Why the audit policy or the audit log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file could not be read.
    #[error("--audit-policy-file {path}: {source}")]
    PolicyRead {
        /// The configured path.
        path: String,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The policy file was read but is not a valid policy.
    #[error("--audit-policy-file {path}: {source}")]
    PolicyInvalid {
        /// The configured path.
        path: String,
        /// What is wrong with it.
        #[source]
        source: PolicyError,
    },
    /// The log file (or its directory) could not be created or opened.
    #[error("--audit-log-path {path}: {source}")]
    LogOpen {
        /// The configured path.
        path: String,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The writer thread could not be started.
    #[error("audit log writer thread could not be started: {0}")]
    Spawn(#[source] io::Error),
}

/// What is wrong with a policy document.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not YAML/JSON, or a field of the wrong type.
    #[error("failed decoding: {0}")]
    Decode(#[source] serde_norway::Error),
    /// `apiVersion` is missing or not `audit.k8s.io/v1`.
    #[error("apiVersion: unsupported value {0:?}: supported values: \"audit.k8s.io/v1\"")]
    ApiVersion(String),
    /// `kind` is missing or not `Policy`.
    #[error("kind: unsupported value {0:?}: supported values: \"Policy\"")]
    Kind(String),
    /// One or more fields failed validation.
    #[error("{}", FieldErrors(.0))]
    Invalid(Vec<FieldError>),
    /// A policy must have at least one rule.
    #[error("rules: loaded illegal policy with 0 rules")]
    NoRules,
}

/// One invalid field of a policy, with its path (`rules[2].level`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, in upstream's `field.Path` spelling.
    pub field: String,
    /// What is wrong with the value.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

struct FieldErrors<'a>(&'a [FieldError]);

impl fmt::Display for FieldErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
