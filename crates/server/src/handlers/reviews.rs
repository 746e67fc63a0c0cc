//! The access review APIs, answered by the same authorizer chain that
//! decides requests (so `kubectl auth can-i` agrees with what requests
//! get): SubjectAccessReview (anyone's access), LocalSubjectAccessReview
//! (in one namespace), SelfSubjectAccessReview (the caller's own), and
//! SelfSubjectRulesReview (the caller's rules in a namespace).

use serde_json::{Value, json};
use skewless_apimachinery::request_info::{GroupKind, RequestInfo};
use skewless_apimachinery::status::ApiError;
use skewless_apimachinery::validation::FieldError;

use crate::authn::UserInfo;
use crate::authz::{Chain, Verdict};
use crate::object;
use crate::rbac::Rbac;

fn string(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn invalid(kind: &str, causes: Vec<FieldError>) -> ApiError {
    ApiError::Invalid {
        kind: GroupKind::new("authorization.k8s.io", kind),
        name: String::new(),
        causes,
    }
}

/// The attributes a review's spec asks about.
fn attributes(kind: &str, spec: &Value) -> Result<RequestInfo, ApiError> {
    let resource = spec.get("resourceAttributes").filter(|v| v.is_object());
    let non_resource = spec.get("nonResourceAttributes").filter(|v| v.is_object());
    match (resource, non_resource) {
        (Some(r), None) => Ok(RequestInfo {
            is_resource_request: true,
            verb: string(r, "verb"),
            api_group: string(r, "group"),
            api_version: string(r, "version"),
            resource: string(r, "resource"),
            subresource: string(r, "subresource"),
            namespace: string(r, "namespace"),
            name: string(r, "name"),
            ..RequestInfo::default()
        }),
        (None, Some(n)) => Ok(RequestInfo {
            is_resource_request: false,
            verb: string(n, "verb"),
            path: string(n, "path"),
            ..RequestInfo::default()
        }),
        (Some(_), Some(_)) => Err(invalid(
            kind,
            vec![FieldError::invalid(
                "spec.nonResourceAttributes",
                spec.get("nonResourceAttributes")
                    .cloned()
                    .unwrap_or_default(),
                "cannot be specified in combination with resourceAttributes",
            )],
        )),
        (None, None) => Err(invalid(
            kind,
            vec![FieldError::invalid(
                "spec.resourceAttributes",
                Value::Null,
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )],
        )),
    }
}

/// The status of an access review: allowed (with the authorizer's
/// reason), or not.
fn status(verdict: Verdict) -> Value {
    match verdict {
        Verdict::Allow(reason) if reason.is_empty() => json!({"allowed": true}),
        Verdict::Allow(reason) => json!({"allowed": true, "reason": reason}),
        Verdict::NoOpinion => json!({"allowed": false}),
    }
}

/// `selfsubjectaccessreviews`: may the caller do this?
pub(crate) fn self_subject(
    authz: &Chain,
    user: &UserInfo,
    body: &Value,
) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let info = attributes("SelfSubjectAccessReview", &spec)?;
    Ok(status(authz.verdict(user, &info)))
}

/// `subjectaccessreviews` and `localsubjectaccessreviews`: may the user
/// the spec names do this? `namespace` is the local review's namespace.
pub(crate) fn subject(
    authz: &Chain,
    body: &Value,
    namespace: Option<&str>,
) -> Result<Value, ApiError> {
    let kind = if namespace.is_some() {
        "LocalSubjectAccessReview"
    } else {
        "SubjectAccessReview"
    };
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let info = attributes(kind, &spec)?;
    let user = UserInfo {
        name: string(&spec, "user"),
        uid: string(&spec, "uid"),
        groups: object::string_list(spec.get("groups")),
        extra: spec
            .get("extra")
            .cloned()
            .and_then(|e| serde_json::from_value(e).ok())
            .unwrap_or_default(),
    };
    if user.name.is_empty() && user.groups.is_empty() {
        return Err(invalid(
            kind,
            vec![FieldError::invalid(
                "spec.user",
                "",
                "at least one of user or group must be specified",
            )],
        ));
    }
    if let Some(ns) = namespace {
        if !info.is_resource_request {
            return Err(invalid(
                kind,
                vec![FieldError::invalid(
                    "spec.nonResourceAttributes",
                    spec.get("nonResourceAttributes")
                        .cloned()
                        .unwrap_or_default(),
                    "disallowed on this kind of request",
                )],
            ));
        }
        if info.namespace != ns {
            return Err(ApiError::BadRequest(format!(
                "spec.resourceAttributes.namespace must match namespace: {ns}"
            )));
        }
    }
    Ok(status(authz.verdict(&user, &info)))
}

/// `selfsubjectrulesreviews`: the caller's rules in `spec.namespace`.
pub(crate) fn rules(authz: &Chain, rbac: &Rbac, user: &UserInfo, body: &Value) -> Value {
    let namespace = body
        .pointer("/spec/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if authz.allows_everything() {
        return json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        });
    }
    // `PolicyRule` serializes as upstream's ResourceRule / NonResourceRule
    // (empty lists left out), and `rules_for` splits the two kinds.
    let (resource, non_resource) = rbac.policy().rules_for(&user.name, &user.groups, namespace);
    json!({
        "resourceRules": resource,
        "nonResourceRules": non_resource,
        "incomplete": false,
    })
}
