//! What parsing `--emulated-version` and `--runtime-config` fails with.

/// Errors from parsing `--emulated-version` and `--runtime-config`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// `--emulated-version` names a release the catalog does not describe.
    #[error("unsupported emulated version {given:?}: supported versions are {}", supported.join(", "))]
    UnsupportedEmulatedVersion {
        /// What was asked for.
        given: String,
        /// The releases the catalog describes, oldest first.
        supported: Vec<String>,
    },
    /// A `--runtime-config` entry is malformed.
    #[error("invalid --runtime-config entry {entry:?}: {reason}")]
    InvalidRuntimeConfig {
        /// The offending `key=value` entry.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--runtime-config` entry names a group/version that no supported
    /// release serves.
    #[error("--runtime-config names unknown group/version {group_version:?}")]
    UnknownGroupVersion {
        /// The group/version as written (`v1` for core).
        group_version: String,
    },
}
