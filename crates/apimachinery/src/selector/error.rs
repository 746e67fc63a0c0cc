//! What a selector that does not parse or validate fails with.

/// A selector that could not be parsed or is invalid. The message is
/// upstream's wording and is meant for a `400 BadRequest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    pub(crate) message: String,
}

impl SelectorError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The human-readable reason.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}
