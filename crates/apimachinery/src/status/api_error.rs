//! [`ApiError`]: every way an API request can fail, with kube-apiserver's
//! code, reason, details and message.

use super::types::{
    CONTINUE_EXPIRED_MSG, OPTIMISTIC_LOCK_ERROR_MSG, STATUS_FAILURE, Status, StatusCause,
    StatusDetails,
};
use crate::request_info::RequestInfo;
use crate::request_info::{GroupKind, GroupResource, RequestInfoError};
use crate::selector::SelectorError;
use crate::validation::{FieldError, aggregate_messages, go_quote};

/// Every way an API request can fail, mapped to kube-apiserver's code,
/// reason, details and message. `Display` is the Status `message`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 404 NotFound: `configmaps "foo" not found`. With an empty resource and
    /// name: `the server could not find the requested resource` (unknown path).
    #[error("{}", not_found_message(.resource, .name))]
    NotFound {
        /// The resource looked up.
        resource: GroupResource,
        /// The object name.
        name: String,
    },
    /// 409 AlreadyExists: `configmaps "foo" already exists`.
    #[error("{resource} {} already exists", go_quote(.name))]
    AlreadyExists {
        /// The resource created.
        resource: GroupResource,
        /// The object name.
        name: String,
    },
    /// 409 Conflict: `Operation cannot be fulfilled on configmaps "x": <detail>`
    /// (see [`ApiError::conflict_modified`] for the resourceVersion case).
    #[error("Operation cannot be fulfilled on {resource} {}: {message}", go_quote(.name))]
    Conflict {
        /// The resource written.
        resource: GroupResource,
        /// The object name.
        name: String,
        /// Why, e.g. [`OPTIMISTIC_LOCK_ERROR_MSG`].
        message: String,
    },
    /// 409 Conflict of a server-side apply, as upstream's `NewApplyConflict`:
    /// the conflicts' own message (`Apply failed with 1 conflict: ...`),
    /// one `FieldManagerConflict` cause per contested field, and no object
    /// in the details.
    #[error("{message}")]
    ApplyConflict {
        /// The whole message.
        message: String,
        /// `(field, message)` per conflict: `(".data.key", "conflict with \"m\"")`.
        causes: Vec<(String, String)>,
    },
    /// 422 Invalid: `ConfigMap "x" is invalid: [metadata.name: ..., ...]`,
    /// one cause per field error.
    #[error("{}", invalid_message(.kind, .name, .causes))]
    Invalid {
        /// The kind of the object.
        kind: GroupKind,
        /// The object name.
        name: String,
        /// The field errors.
        causes: Vec<FieldError>,
    },
    /// 400 BadRequest with the given message.
    #[error("{0}")]
    BadRequest(String),
    /// 401 Unauthorized; kube-apiserver's authentication failure message is
    /// `Unauthorized`.
    #[error("{}", if .0.is_empty() { "not authorized" } else { .0.as_str() })]
    Unauthorized(String),
    /// 403 Forbidden: `pods "x" is forbidden: <message>` (see
    /// [`ApiError::forbidden_request`] for authorization denials).
    #[error("{}", forbidden_message(.resource, .name, .message))]
    Forbidden {
        /// The resource (empty for non-resource paths).
        resource: GroupResource,
        /// The object name, if any.
        name: String,
        /// Why.
        message: String,
    },
    /// 405 MethodNotAllowed: `<action> is not supported on resources of kind "pods"`.
    #[error("{action} is not supported on resources of kind {}", go_quote(&.resource.to_string()))]
    MethodNotSupported {
        /// The resource.
        resource: GroupResource,
        /// The verb or action, e.g. `create`.
        action: String,
    },
    /// 406 NotAcceptable: nothing in `Accept` can be served.
    #[error("only the following media types are accepted: {}", .accepted.join(", "))]
    NotAcceptable {
        /// The media types the server can produce.
        accepted: Vec<String>,
    },
    /// 406 NotAcceptable: the negotiated conversion does not fit what was
    /// asked for (e.g. `PartialObjectMetadata` of a list), with upstream's
    /// message.
    #[error("{0}")]
    ConversionNotAcceptable(String),
    /// 415 UnsupportedMediaType: the body's `Content-Type` is not accepted.
    #[error("the body of the request was in an unknown format - accepted media types include: {}", .accepted.join(", "))]
    UnsupportedMediaType {
        /// The media types the endpoint accepts.
        accepted: Vec<String>,
    },
    /// 413 RequestEntityTooLarge: `Request entity too large: <message>`.
    #[error("Request entity too large: {0}")]
    RequestEntityTooLarge(String),
    /// 431 with reason `""` (metav1 has no reason for it, as for any code
    /// without one): the request's header fields are too large.
    #[error("Request header fields too large: {0}")]
    RequestHeaderFieldsTooLarge(String),
    /// 410 Expired: a resource version or continue token is too old (see
    /// [`ApiError::too_old_resource_version`]).
    #[error("{0}")]
    Expired(String),
    /// 410 Expired for a `continue` token whose revision is compacted:
    /// upstream's message, and `metadata.continue` of the Status carries
    /// this fresh token to go on with an inconsistent list (at the latest
    /// revision, after the same key).
    #[error("{CONTINUE_EXPIRED_MSG}")]
    ContinueExpired(String),
    /// 429 TooManyRequests.
    #[error("{message}")]
    TooManyRequests {
        /// Why.
        message: String,
        /// Suggested wait, sent as `details.retryAfterSeconds`.
        retry_after_seconds: Option<u32>,
    },
    /// 500 InternalError: `Internal error occurred: <message>`.
    #[error("Internal error occurred: {0}")]
    InternalError(String),
    /// 502 with reason `""` (metav1 has none): a backend's answer that is
    /// not passed on, such as an extension server's redirect.
    #[error("{0}")]
    BadGateway(String),
    /// 503 ServiceUnavailable (e.g. no reachable peer serves the resource).
    #[error("{message}")]
    ServiceUnavailable {
        /// Why.
        message: String,
        /// Suggested wait, sent as `details.retryAfterSeconds` and `Retry-After`.
        retry_after_seconds: Option<u32>,
    },
    /// 504 Timeout: `Timeout: <message>`.
    #[error("Timeout: {message}")]
    Timeout {
        /// What timed out.
        message: String,
        /// Suggested wait.
        retry_after_seconds: Option<u32>,
    },
}

fn not_found_message(resource: &GroupResource, name: &str) -> String {
    if resource.is_empty() && name.is_empty() {
        "the server could not find the requested resource".to_owned()
    } else {
        format!("{resource} {} not found", go_quote(name))
    }
}

fn invalid_message(kind: &GroupKind, name: &str, causes: &[FieldError]) -> String {
    let head = format!("{kind} {} is invalid", go_quote(name));
    if causes.is_empty() {
        head
    } else {
        let all = aggregate_messages(causes.iter().map(ToString::to_string));
        format!("{head}: {all}")
    }
}

fn forbidden_message(resource: &GroupResource, name: &str, message: &str) -> String {
    if resource.is_empty() {
        format!("forbidden: {message}")
    } else if name.is_empty() {
        format!("{resource} is forbidden: {message}")
    } else {
        format!("{resource} {} is forbidden: {message}", go_quote(name))
    }
}

impl ApiError {
    /// 404 for an object.
    pub fn not_found(resource: GroupResource, name: impl Into<String>) -> Self {
        ApiError::NotFound {
            resource,
            name: name.into(),
        }
    }

    /// 404 for a path that addresses nothing the server serves.
    pub fn not_found_path() -> Self {
        ApiError::NotFound {
            resource: GroupResource::default(),
            name: String::new(),
        }
    }

    /// 409 for an update whose `resourceVersion` is stale.
    pub fn conflict_modified(resource: GroupResource, name: impl Into<String>) -> Self {
        ApiError::Conflict {
            resource,
            name: name.into(),
            message: OPTIMISTIC_LOCK_ERROR_MSG.to_owned(),
        }
    }

    /// 410 for a watch or list from a compacted resource version, as the
    /// watch cache words it: `too old resource version: 5 (10)`.
    pub fn too_old_resource_version(requested: u64, oldest: u64) -> Self {
        ApiError::Expired(format!("too old resource version: {requested} ({oldest})"))
    }

    /// 403 for an authorization denial, worded as kube-apiserver does:
    /// `pods is forbidden: User "alice" cannot list resource "pods" in API
    /// group "" in the namespace "default"` (plus `: <reason>` if given).
    pub fn forbidden_request(user: &str, info: &RequestInfo, reason: &str) -> Self {
        let user = go_quote(user);
        let mut message = if !info.is_resource_request {
            format!(
                "User {user} cannot {} path {}",
                info.verb,
                go_quote(&info.path)
            )
        } else {
            let mut resource = info.resource.clone();
            if !info.subresource.is_empty() {
                resource = format!("{resource}/{}", info.subresource);
            }
            let scope = if info.namespace.is_empty() {
                "at the cluster scope".to_owned()
            } else {
                format!("in the namespace {}", go_quote(&info.namespace))
            };
            format!(
                "User {user} cannot {} resource {} in API group {} {scope}",
                info.verb,
                go_quote(&resource),
                go_quote(&info.api_group)
            )
        };
        if !reason.is_empty() {
            message = format!("{message}: {reason}");
        }
        ApiError::Forbidden {
            resource: info.group_resource(),
            name: info.name.clone(),
            message,
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } => 404,
            ApiError::AlreadyExists { .. }
            | ApiError::Conflict { .. }
            | ApiError::ApplyConflict { .. } => 409,
            ApiError::Invalid { .. } => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::MethodNotSupported { .. } => 405,
            ApiError::NotAcceptable { .. } | ApiError::ConversionNotAcceptable(_) => 406,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::RequestEntityTooLarge(_) => 413,
            ApiError::RequestHeaderFieldsTooLarge(_) => 431,
            ApiError::Expired(_) | ApiError::ContinueExpired(_) => 410,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::InternalError(_) => 500,
            ApiError::BadGateway(_) => 502,
            ApiError::ServiceUnavailable { .. } => 503,
            ApiError::Timeout { .. } => 504,
        }
    }

    /// The `metav1.StatusReason`.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized(_) => "Unauthorized",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::MethodNotSupported { .. } => "MethodNotAllowed",
            ApiError::NotAcceptable { .. } | ApiError::ConversionNotAcceptable(_) => {
                "NotAcceptable"
            }
            ApiError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            ApiError::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            ApiError::RequestHeaderFieldsTooLarge(_) | ApiError::BadGateway(_) => "",
            ApiError::Expired(_) | ApiError::ContinueExpired(_) => "Expired",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
            ApiError::InternalError(_) => "InternalError",
            ApiError::ServiceUnavailable { .. } => "ServiceUnavailable",
            ApiError::Timeout { .. } => "Timeout",
        }
    }

    /// Seconds for a `Retry-After` header, when the error suggests one.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        match self {
            ApiError::TooManyRequests {
                retry_after_seconds,
                ..
            }
            | ApiError::ServiceUnavailable {
                retry_after_seconds,
                ..
            }
            | ApiError::Timeout {
                retry_after_seconds,
                ..
            } => *retry_after_seconds,
            _ => None,
        }
    }

    /// The `details` upstream attaches for this error, if any.
    fn details(&self) -> Option<StatusDetails> {
        let object = |resource: &GroupResource, name: &str| StatusDetails {
            name: name.to_owned(),
            group: resource.group.clone(),
            kind: resource.resource.clone(),
            ..StatusDetails::default()
        };
        let retry = |seconds: Option<u32>| StatusDetails {
            retry_after_seconds: seconds.map_or(0, |s| i32::try_from(s).unwrap_or(i32::MAX)),
            ..StatusDetails::default()
        };
        match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name, .. }
            | ApiError::Forbidden { resource, name, .. } => Some(object(resource, name)),
            ApiError::MethodNotSupported { resource, .. } => Some(object(resource, "")),
            ApiError::Invalid { kind, name, causes } => Some(StatusDetails {
                name: name.clone(),
                group: kind.group.clone(),
                kind: kind.kind.clone(),
                causes: causes.iter().map(StatusCause::from).collect(),
                ..StatusDetails::default()
            }),
            ApiError::ApplyConflict { causes, .. } => Some(StatusDetails {
                causes: causes
                    .iter()
                    .map(|(field, message)| StatusCause {
                        cause_type: "FieldManagerConflict".to_owned(),
                        message: message.clone(),
                        field: field.clone(),
                    })
                    .collect(),
                ..StatusDetails::default()
            }),
            ApiError::InternalError(message) => Some(StatusDetails {
                causes: vec![StatusCause {
                    message: message.clone(),
                    ..StatusCause::default()
                }],
                ..StatusDetails::default()
            }),
            ApiError::TooManyRequests {
                retry_after_seconds,
                ..
            }
            | ApiError::ServiceUnavailable {
                retry_after_seconds,
                ..
            } => retry_after_seconds.map(|s| retry(Some(s))),
            // Upstream always attaches (possibly empty) details to timeouts.
            ApiError::Timeout {
                retry_after_seconds,
                ..
            } => Some(retry(*retry_after_seconds)),
            ApiError::BadRequest(_)
            | ApiError::Unauthorized(_)
            | ApiError::NotAcceptable { .. }
            | ApiError::ConversionNotAcceptable(_)
            | ApiError::UnsupportedMediaType { .. }
            | ApiError::RequestEntityTooLarge(_)
            | ApiError::RequestHeaderFieldsTooLarge(_)
            | ApiError::BadGateway(_)
            | ApiError::Expired(_)
            | ApiError::ContinueExpired(_) => None,
        }
    }

    /// The `metav1.Status` body for this error.
    pub fn status(&self) -> Status {
        let mut metadata = crate::discovery::ListMeta::default();
        if let ApiError::ContinueExpired(token) = self {
            metadata.continue_token.clone_from(token);
        }
        Status {
            metadata,
            status: STATUS_FAILURE.to_owned(),
            message: self.to_string(),
            reason: self.reason().to_owned(),
            details: self.details(),
            code: i32::from(self.code()),
            ..Status::default()
        }
    }
}

impl From<&ApiError> for Status {
    fn from(err: &ApiError) -> Self {
        err.status()
    }
}

impl From<SelectorError> for ApiError {
    /// A malformed label or field selector is the client's mistake.
    fn from(err: SelectorError) -> Self {
        ApiError::BadRequest(err.message().to_owned())
    }
}

impl From<RequestInfoError> for ApiError {
    fn from(err: RequestInfoError) -> Self {
        match err {
            RequestInfoError::InvalidPathEncoding { .. } => ApiError::BadRequest(err.to_string()),
            // Upstream answers 500 when it cannot classify a request.
            RequestInfoError::MissingResourceAfterVerb { .. } => {
                ApiError::InternalError(format!("failed to create RequestInfo: {err}"))
            }
        }
    }
}
