use super::api_error::ApiError;
use super::types::Status;
use crate::request_info::{GroupKind, GroupResource, RequestInfo};
use crate::validation::FieldError;

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
            ApiError::ConversionNotAcceptable(
                "you requested PartialObjectMetadata, but the requested object is a list".into(),
            ),
            406,
            "NotAcceptable",
            "you requested PartialObjectMetadata, but the requested object is a list",
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
            ApiError::RequestHeaderFieldsTooLarge(
                "1100000 bytes, at most 983040 reach a peer".into(),
            ),
            431,
            "",
            "Request header fields too large: 1100000 bytes, at most 983040 reach a peer",
        ),
        (
            ApiError::too_old_resource_version(5, 10),
            410,
            "Expired",
            "too old resource version: 5 (10)",
        ),
    ];
    for (err, code, reason, message) in cases {
        let mut want = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code
        });
        // An empty reason is left out, as metav1 leaves it out.
        if reason.is_empty()
            && let Some(map) = want.as_object_mut()
        {
            map.remove("reason");
        }
        assert_eq!(body(&err), want, "{err:?}");
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

    let info =
        RequestInfo::parse("GET", "/api/v1/namespaces/default/pods", None).expect("request info");
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
fn bad_gateway_has_no_reason() {
    let err = ApiError::BadGateway("the backend attempted to redirect".into());
    assert_eq!(err.code(), 502);
    let v = body(&err);
    assert_eq!(v["code"], 502);
    assert_eq!(v["message"], "the backend attempted to redirect");
    assert!(v.get("reason").is_none() || v["reason"] == "", "{v}");
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

#[test]
fn expired_continue_token_carries_a_fresh_token_in_the_status() {
    let status = serde_json::to_value(ApiError::ContinueExpired("fresh".into()).status())
        .unwrap_or_default();
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["metadata"], json!({"continue": "fresh"}));
    assert_eq!(status["message"], crate::status::CONTINUE_EXPIRED_MSG);
}
