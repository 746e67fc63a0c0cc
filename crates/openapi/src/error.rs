//! The crate's one error type. Errors here are about what the caller asked
//! for (a release we have no schemas for, a custom schema that is not a
//! schema); the embedded data itself is checked by unit tests and never
//! surfaces as an error. This module must never format HTTP responses: the
//! server decides how a failure is reported.

/// What can go wrong building OpenAPI documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The release is not among those whose schemas are embedded.
    #[error("no OpenAPI schemas for Kubernetes release {given:?}: embedded releases are {}", supported.join(", "))]
    UnsupportedRelease {
        /// What was asked for.
        given: String,
        /// The embedded releases, oldest first.
        supported: Vec<String>,
    },
    /// A custom resource's `openAPIV3Schema` cannot be published.
    #[error("invalid schema for {group}/{version}, Kind={kind}: {reason}")]
    InvalidCustomSchema {
        /// API group of the custom resource.
        group: String,
        /// API version of the custom resource.
        version: String,
        /// Kind of the custom resource.
        kind: String,
        /// What is wrong with it.
        reason: String,
    },
}
