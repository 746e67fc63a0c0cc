//! Resources whose behaviour is not plain storage: the review APIs that
//! answer without storing (`selfsubjectreviews`, token reviews, and the
//! access reviews of `reviews`) and namespaces (finalizer `kubernetes`, phase).
//!
//! Everything else goes through the generic handlers unchanged.

use http::{Response, StatusCode};
use serde_json::{Value, json};
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::status::ApiError;

use crate::handlers::rest::request::{Request, api_version};
use crate::handlers::reviews;
use crate::http_util::{self, Body};
use crate::object;

/// The finalizer the namespace controller owns in `spec.finalizers`.
pub(crate) const NAMESPACE_FINALIZER: &str = "kubernetes";

fn is_namespaces(r: &ResourceInfo) -> bool {
    r.group.is_empty() && r.resource == "namespaces"
}

/// Answers create requests for resources that are computed, not stored.
pub(crate) fn create(req: &Request<'_>, body: &Value) -> Result<Option<Response<Body>>, ApiError> {
    let r = req.resource;
    let user = req.user;
    let answer = |status: Value| {
        let mut obj = body.clone();
        if let Value::Object(map) = &mut obj {
            map.insert("apiVersion".into(), json!(api_version(r)));
            map.insert("kind".into(), json!(r.kind));
            map.entry("metadata").or_insert_with(|| json!({}));
            map.insert("status".into(), status);
        }
        Some(http_util::json(StatusCode::CREATED, &obj))
    };
    Ok(match (r.group.as_str(), r.resource.as_str()) {
        ("authentication.k8s.io", "selfsubjectreviews") => answer(json!({
            "userInfo": user_info_json(user),
        })),
        ("authentication.k8s.io", "tokenreviews") => {
            let token = body
                .pointer("/spec/token")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut headers = http::HeaderMap::new();
            if let Ok(v) = format!("Bearer {token}").parse() {
                headers.insert(http::header::AUTHORIZATION, v);
            }
            match req
                .api
                .authn
                .authenticate(&crate::tls::PeerCertificate::default(), &headers)
                .user()
            {
                Some(u) => answer(json!({"authenticated": true, "user": user_info_json(&u)})),
                None => answer(json!({"authenticated": false})),
            }
        }
        ("authorization.k8s.io", "selfsubjectaccessreviews") => {
            answer(reviews::self_subject(&req.api.authz, user, body)?)
        }
        ("authorization.k8s.io", "subjectaccessreviews") => {
            answer(reviews::subject(&req.api.authz, body, None)?)
        }
        ("authorization.k8s.io", "localsubjectaccessreviews") => answer(reviews::subject(
            &req.api.authz,
            body,
            Some(&req.info.namespace),
        )?),
        ("authorization.k8s.io", "selfsubjectrulesreviews") => {
            answer(reviews::rules(&req.api.authz, &req.api.rbac, user, body))
        }
        _ => None,
    })
}

fn user_info_json(u: &crate::authn::UserInfo) -> Value {
    let mut info = json!({"username": u.name, "groups": u.groups});
    if !u.uid.is_empty() {
        info["uid"] = json!(u.uid);
    }
    if !u.extra.is_empty() {
        info["extra"] = json!(u.extra);
    }
    info
}

/// Defaults a new object gets beyond the generic metadata.
pub(crate) fn prepare_create(r: &ResourceInfo, obj: &mut Value) {
    if is_namespaces(r)
        && let Value::Object(map) = obj
    {
        map.insert("spec".into(), json!({"finalizers": [NAMESPACE_FINALIZER]}));
        map.insert("status".into(), json!({"phase": "Active"}));
    }
}

/// What a delete request changes on an object that finalizers hold back.
pub(crate) fn prepare_delete(r: &ResourceInfo, obj: &mut Value) {
    if is_namespaces(r)
        && let Value::Object(map) = obj
    {
        map.insert("status".into(), json!({"phase": "Terminating"}));
    }
}

/// What a write does to a core object before it is validated and stored:
/// a Secret's `stringData` is merged into `data` (base64) and dropped, as
/// upstream does.
pub(crate) fn prepare_write(r: &ResourceInfo, obj: &mut Value) {
    use base64::Engine as _;
    if r.kind != "Secret" {
        return;
    }
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !data.is_object() {
        *data = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(data) = data {
        for (k, v) in string_data {
            let text = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            data.insert(
                k,
                Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

/// Whether finalizers still hold the object (for namespaces also
/// `spec.finalizers`).
pub(crate) fn has_finalizers(r: &ResourceInfo, obj: &Value) -> bool {
    if !object::finalizers(obj).is_empty() {
        return true;
    }
    is_namespaces(r)
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}
