//! The `metav1.Status` wire type ([`Status`], its details and causes).

use serde::{Deserialize, Serialize};

use crate::discovery::ListMeta;
use crate::request_info::GroupResource;
use crate::validation::FieldError;

/// `status` of a failed request.
pub(crate) const STATUS_FAILURE: &str = "Failure";
/// `status` of a successful request.
pub(crate) const STATUS_SUCCESS: &str = "Success";

/// The conflict detail upstream uses when `resourceVersion` does not match.
pub(crate) const OPTIMISTIC_LOCK_ERROR_MSG: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// Upstream's message when a `continue` token refers to a compacted revision.
pub const CONTINUE_EXPIRED_MSG: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// One cause of a failure, usually one invalid field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCause {
    /// Machine-readable cause type (`FieldValueInvalid`, ...), sent as
    /// `reason` on the wire.
    #[serde(default, rename = "reason", skip_serializing_if = "String::is_empty")]
    pub cause_type: String,
    /// Human-readable description without the field path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// JSON path of the offending field, e.g. `metadata.name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

impl From<&FieldError> for StatusCause {
    fn from(err: &FieldError) -> Self {
        Self {
            cause_type: err.error_type.cause_type().to_owned(),
            message: err.body(),
            field: err.field.clone(),
        }
    }
}

/// Extra, reason-specific data about a Status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// Name of the object concerned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Group of the object concerned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The resource (for NotFound, Conflict, ...) or kind (for Invalid).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// UID of the object concerned (successful deletes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Individual causes, e.g. one per invalid field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying; 0 means unset.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_after_seconds: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

fn status_kind() -> String {
    "Status".to_owned()
}

pub(crate) fn v1() -> String {
    "v1".to_owned()
}

/// `metav1.Status`, the body of every error response (and of some
/// successful deletes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Always `Status`.
    #[serde(default = "status_kind")]
    pub kind: String,
    /// Always `v1`.
    #[serde(default = "v1")]
    pub api_version: String,
    /// Always present, normally `{}` (a `metav1.ListMeta`).
    #[serde(default)]
    pub metadata: ListMeta,
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Machine-readable reason, e.g. `NotFound`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Reason-specific details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code; 0 means unset.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: i32,
}

impl Default for Status {
    fn default() -> Self {
        Self {
            kind: status_kind(),
            api_version: v1(),
            metadata: ListMeta::default(),
            status: String::new(),
            message: String::new(),
            reason: String::new(),
            details: None,
            code: 0,
        }
    }
}

impl Status {
    /// A bare success: `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}`.
    pub(crate) fn success() -> Self {
        Self {
            status: STATUS_SUCCESS.to_owned(),
            ..Self::default()
        }
    }

    /// The success body a delete returns for resources that do not return
    /// the deleted object: details carry name, group, resource and UID.
    pub fn deleted(resource: &GroupResource, name: &str, uid: &str) -> Self {
        Self {
            details: Some(StatusDetails {
                name: name.to_owned(),
                group: resource.group.clone(),
                kind: resource.resource.clone(),
                uid: uid.to_owned(),
                ..StatusDetails::default()
            }),
            ..Self::success()
        }
    }

    /// Whether this Status reports success.
    #[cfg(test)]
    pub(crate) fn is_success(&self) -> bool {
        self.status == STATUS_SUCCESS
    }
}
