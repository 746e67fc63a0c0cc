//! The `metav1.Status` wire type and [`ApiError`], the one error type that
//! every failed API request is expressed in. Each variant knows its HTTP
//! code, its `reason`, its `details` and upstream's exact message shape, so
//! `kubectl` prints the same `Error from server (NotFound): ...` line against
//! skewless as against kube-apiserver.
//!
//! This is the single place where errors become HTTP status bodies: handlers
//! return `Result<_, ApiError>` and never hand-build error JSON. The module
//! must never write responses or pick headers itself (apart from exposing
//! `retry_after_seconds` for the server's `Retry-After`), and never leaks
//! internal error chains into `message` beyond what upstream would show.

use serde::{Deserialize, Serialize};

use crate::discovery::ListMeta;
use crate::request_info::{GroupKind, GroupResource, RequestInfo, RequestInfoError};
use crate::selector::SelectorError;
use crate::validation::{FieldError, aggregate_messages, go_quote};

/// `status` of a failed request.
pub const STATUS_FAILURE: &str = "Failure";
/// `status` of a successful request.
pub const STATUS_SUCCESS: &str = "Success";

/// The conflict detail upstream uses when `resourceVersion` does not match.
pub const OPTIMISTIC_LOCK_ERROR_MSG: &str =
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

fn v1() -> String {
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
    pub fn success() -> Self {
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
    pub fn is_success(&self) -> bool {
        self.status == STATUS_SUCCESS
    }
}

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
    /// 415 UnsupportedMediaType: the body's `Content-Type` is not accepted.
    #[error("the body of the request was in an unknown format - accepted media types include: {}", .accepted.join(", "))]
    UnsupportedMediaType {
        /// The media types the endpoint accepts.
        accepted: Vec<String>,
    },
    /// 413 RequestEntityTooLarge: `Request entity too large: <message>`.
    #[error("Request entity too large: {0}")]
    RequestEntityTooLarge(String),
    /// 410 Expired: a resource version or continue token is too old (see
    /// [`ApiError::too_old_resource_version`]).
    #[error("{0}")]
    Expired(String),
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
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Invalid { .. } => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::MethodNotSupported { .. } => 405,
            ApiError::NotAcceptable { .. } => 406,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::RequestEntityTooLarge(_) => 413,
            ApiError::Expired(_) => 410,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::InternalError(_) => 500,
            ApiError::ServiceUnavailable { .. } => 503,
            ApiError::Timeout { .. } => 504,
        }
    }

    /// The `metav1.StatusReason`.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized(_) => "Unauthorized",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::MethodNotSupported { .. } => "MethodNotAllowed",
            ApiError::NotAcceptable { .. } => "NotAcceptable",
            ApiError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            ApiError::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            ApiError::Expired(_) => "Expired",
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
            | ApiError::UnsupportedMediaType { .. }
            | ApiError::RequestEntityTooLarge(_)
            | ApiError::Expired(_) => None,
        }
    }

    /// The `metav1.Status` body for this error.
    pub fn status(&self) -> Status {
        Status {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn configmaps() -> GroupResource {
        GroupResource::new("", "configmaps")
    }

    fn body(err: &ApiError) -> Value {
        serde_json::to_value(err.status()).expect("serialize")
    }

    #[test]
    fn not_found_json() {
        let err = ApiError::not_found(configmaps(), "foo");
        assert_eq!(err.code(), 404);
        assert_eq!(
            body(&err),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "message": "configmaps \"foo\" not found",
                "reason": "NotFound", "details": {"name": "foo", "kind": "configmaps"},
                "code": 404
            })
        );
        let err = ApiError::not_found(GroupResource::new("apps", "deployments"), "web");
        assert_eq!(err.to_string(), "deployments.apps \"web\" not found");
        assert_eq!(
            body(&err)["details"],
            json!({"name": "web", "group": "apps", "kind": "deployments"})
        );
    }

    #[test]
    fn not_found_path_json() {
        assert_eq!(
            body(&ApiError::not_found_path()),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "message": "the server could not find the requested resource",
                "reason": "NotFound", "details": {}, "code": 404
            })
        );
    }

    #[test]
    fn field_order_matches_upstream() {
        let text = serde_json::to_string(&ApiError::not_found(configmaps(), "foo").status())
            .expect("serialize");
        assert_eq!(
            text,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"foo\" not found","reason":"NotFound","details":{"name":"foo","kind":"configmaps"},"code":404}"#
        );
    }

    #[test]
    fn already_exists_and_conflict() {
        let err = ApiError::AlreadyExists {
            resource: configmaps(),
            name: "foo".into(),
        };
        assert_eq!((err.code(), err.reason()), (409, "AlreadyExists"));
        assert_eq!(err.to_string(), "configmaps \"foo\" already exists");

        let err = ApiError::conflict_modified(configmaps(), "x");
        assert_eq!(
            body(&err),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again",
                "reason": "Conflict", "details": {"name": "x", "kind": "configmaps"}, "code": 409
            })
        );
    }

    #[test]
    fn invalid_json() {
        let err = ApiError::Invalid {
            kind: GroupKind::new("", "ConfigMap"),
            name: "X".into(),
            causes: vec![
                FieldError::invalid("metadata.name", "X", "must be lowercase"),
                FieldError::required("data.key", ""),
            ],
        };
        assert_eq!(
            body(&err),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "ConfigMap \"X\" is invalid: [metadata.name: Invalid value: \"X\": must be lowercase, data.key: Required value]",
                "reason": "Invalid",
                "details": {
                    "name": "X", "kind": "ConfigMap",
                    "causes": [
                        {"reason": "FieldValueInvalid", "message": "Invalid value: \"X\": must be lowercase", "field": "metadata.name"},
                        {"reason": "FieldValueRequired", "message": "Required value", "field": "data.key"}
                    ]
                },
                "code": 422
            })
        );
        let single = ApiError::Invalid {
            kind: GroupKind::new("apps", "Deployment"),
            name: "web".into(),
            causes: vec![FieldError::required("spec.selector", "")],
        };
        assert_eq!(
            single.to_string(),
            "Deployment.apps \"web\" is invalid: spec.selector: Required value"
        );
        assert_eq!(body(&single)["details"]["group"], "apps");
        let none = ApiError::Invalid {
            kind: GroupKind::new("", "Pod"),
            name: "p".into(),
            causes: vec![],
        };
        assert_eq!(none.to_string(), "Pod \"p\" is invalid");
    }

    #[test]
    fn simple_reasons_json() {
        let cases = [
            (ApiError::BadRequest("bad".into()), 400, "BadRequest", "bad"),
            (
                ApiError::Unauthorized("Unauthorized".into()),
                401,
                "Unauthorized",
                "Unauthorized",
            ),
            (
                ApiError::Unauthorized(String::new()),
                401,
                "Unauthorized",
                "not authorized",
            ),
            (
                ApiError::NotAcceptable {
                    accepted: vec!["application/json".into()],
                },
                406,
                "NotAcceptable",
                "only the following media types are accepted: application/json",
            ),
            (
                ApiError::UnsupportedMediaType {
                    accepted: vec!["application/json".into(), "application/yaml".into()],
                },
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
            ),
            (
                ApiError::RequestEntityTooLarge("limit is 3145728".into()),
                413,
                "RequestEntityTooLarge",
                "Request entity too large: limit is 3145728",
            ),
            (
                ApiError::too_old_resource_version(5, 10),
                410,
                "Expired",
                "too old resource version: 5 (10)",
            ),
        ];
        for (err, code, reason, message) in cases {
            assert_eq!(
                body(&err),
                json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": message, "reason": reason, "code": code
                }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn forbidden_json() {
        let err = ApiError::Forbidden {
            resource: configmaps(),
            name: "x".into(),
            message: "nope".into(),
        };
        assert_eq!(err.to_string(), "configmaps \"x\" is forbidden: nope");
        assert_eq!(
            body(&err)["details"],
            json!({"name": "x", "kind": "configmaps"})
        );
        assert_eq!(err.code(), 403);

        let info = RequestInfo::parse("GET", "/api/v1/namespaces/default/pods", None)
            .expect("request info");
        let err = ApiError::forbidden_request("alice", &info, "");
        assert_eq!(
            err.to_string(),
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        let info = RequestInfo::parse("PUT", "/apis/apps/v1/deployments/web/scale", None)
            .expect("request info");
        let err = ApiError::forbidden_request("bob", &info, "RBAC: denied");
        assert_eq!(
            err.to_string(),
            "deployments.apps \"web\" is forbidden: User \"bob\" cannot update resource \"deployments/scale\" in API group \"apps\" at the cluster scope: RBAC: denied"
        );
        let info = RequestInfo::parse("GET", "/metrics", None).expect("request info");
        let err = ApiError::forbidden_request("system:anonymous", &info, "");
        assert_eq!(
            err.to_string(),
            "forbidden: User \"system:anonymous\" cannot get path \"/metrics\""
        );
        assert_eq!(body(&err)["details"], json!({}));
    }

    #[test]
    fn method_not_supported_json() {
        let err = ApiError::MethodNotSupported {
            resource: GroupResource::new("", "bindings"),
            action: "list".into(),
        };
        assert_eq!(
            body(&err),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "list is not supported on resources of kind \"bindings\"",
                "reason": "MethodNotAllowed", "details": {"kind": "bindings"}, "code": 405
            })
        );
    }

    #[test]
    fn internal_error_json() {
        let err = ApiError::InternalError("disk on fire".into());
        assert_eq!(
            body(&err),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Internal error occurred: disk on fire", "reason": "InternalError",
                "details": {"causes": [{"message": "disk on fire"}]}, "code": 500
            })
        );
    }

    #[test]
    fn retryable_errors_json() {
        let err = ApiError::ServiceUnavailable {
            message: "Error getting ip and port info of the remote server while proxying".into(),
            retry_after_seconds: Some(1),
        };
        assert_eq!(err.retry_after_seconds(), Some(1));
        assert_eq!(
            body(&err),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Error getting ip and port info of the remote server while proxying",
                "reason": "ServiceUnavailable", "details": {"retryAfterSeconds": 1}, "code": 503
            })
        );
        let plain = ApiError::ServiceUnavailable {
            message: "down".into(),
            retry_after_seconds: None,
        };
        assert_eq!(body(&plain).get("details"), None);

        let err = ApiError::TooManyRequests {
            message: "slow down".into(),
            retry_after_seconds: Some(2),
        };
        assert_eq!((err.code(), err.reason()), (429, "TooManyRequests"));
        assert_eq!(body(&err)["details"], json!({"retryAfterSeconds": 2}));

        let err = ApiError::Timeout {
            message: "request did not complete within requested timeout".into(),
            retry_after_seconds: None,
        };
        assert_eq!(
            body(&err),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Timeout: request did not complete within requested timeout",
                "reason": "Timeout", "details": {}, "code": 504
            })
        );
        assert_eq!(ApiError::BadRequest("x".into()).retry_after_seconds(), None);
    }

    #[test]
    fn success_json() {
        assert_eq!(
            serde_json::to_value(Status::success()).expect("serialize"),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        );
        let deleted = Status::deleted(&configmaps(), "foo", "1234");
        assert!(deleted.is_success());
        assert_eq!(
            serde_json::to_value(deleted).expect("serialize"),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": "foo", "kind": "configmaps", "uid": "1234"}
            })
        );
    }

    #[test]
    fn status_round_trips_and_tolerates_peers() {
        let status = ApiError::conflict_modified(configmaps(), "x").status();
        let text = serde_json::to_string(&status).expect("serialize");
        let back: Status = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, status);

        // A sparse Status from a peer, with fields we do not model.
        let peer: Status = serde_json::from_value(json!({
            "status": "Failure", "code": 404, "reason": "NotFound",
            "metadata": {"resourceVersion": "7", "selfLink": "x"}
        }))
        .expect("deserialize");
        assert_eq!(peer.kind, "Status");
        assert_eq!(peer.api_version, "v1");
        assert_eq!(peer.metadata.resource_version, "7");
        assert!(!peer.is_success());
    }

    #[test]
    fn conversions_from_module_errors() {
        let err: ApiError = crate::selector::LabelSelector::parse("x in (a")
            .expect_err("invalid")
            .into();
        assert_eq!(err.code(), 400);
        assert_eq!(
            err.to_string(),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );

        let err: ApiError = RequestInfo::parse("GET", "/api/v1/watch", None)
            .expect_err("invalid")
            .into();
        assert_eq!(err.code(), 500);
        assert_eq!(
            err.to_string(),
            "Internal error occurred: failed to create RequestInfo: unable to determine kind and namespace from url, /api/v1/watch"
        );

        let err: ApiError = RequestInfo::parse("GET", "/api/v1/pods/%zz", None)
            .expect_err("invalid")
            .into();
        assert_eq!(err.code(), 400);
    }

    #[test]
    fn names_are_go_quoted() {
        let err = ApiError::not_found(configmaps(), "we\"ird");
        assert_eq!(err.to_string(), "configmaps \"we\\\"ird\" not found");
    }
}
