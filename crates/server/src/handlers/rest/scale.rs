//! The `scale` subresource: reading and writing replicas through
//! `autoscaling/v1` Scale, for built-ins and custom resources.

use serde_json::{Map, Value, json};
use skewless_apimachinery::request_info::GroupKind;
use skewless_apimachinery::status::ApiError;
use skewless_apimachinery::validation::FieldError;

use super::request::{Request, subresource_not_found};

/// JSON pointers of (spec replicas, status replicas) of built-in scale
/// subresources (custom resources use their CRD's paths).
pub(super) const SCALE_PATHS: (&str, &str) = ("/spec/replicas", "/status/replicas");

pub(super) fn scale_of(req: &Request<'_>, obj: &Value) -> Result<Value, ApiError> {
    let sub = req
        .resource
        .subresource("scale")
        .ok_or_else(|| subresource_not_found(req, "scale"))?;
    if let Some(scale) = req.crd.and_then(|c| c.scale.as_ref()) {
        return skewless_apimachinery::crd::scale_from_object(scale, obj)
            .map_err(ApiError::InternalError);
    }
    let (spec, status) = SCALE_PATHS;
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .or_else(|| {
            obj.pointer("/spec/selector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| v.is_string())
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
        })
        .unwrap_or_default();
    let meta = obj.get("metadata").cloned().unwrap_or(json!({}));
    let mut scale_meta = Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(f) {
            scale_meta.insert(f.into(), v.clone());
        }
    }
    let mut status_obj =
        json!({"replicas": obj.pointer(status).and_then(Value::as_i64).unwrap_or(0)});
    if !selector.is_empty() {
        status_obj["selector"] = json!(selector);
    }
    Ok(json!({
        "kind": sub.kind,
        "apiVersion": if sub.group.is_empty() { sub.version.clone() } else { format!("{}/{}", sub.group, sub.version) },
        "metadata": scale_meta,
        "spec": {"replicas": obj.pointer(spec).and_then(Value::as_i64).unwrap_or(0)},
        "status": status_obj,
    }))
}

/// The parent's replicas field as path segments (`spec`, `replicas`; a
/// CRD's `specReplicasPath`).
pub(super) fn replicas_field(req: &Request<'_>) -> Vec<String> {
    match req.crd.and_then(|c| c.scale.as_ref()) {
        Some(scale) => scale
            .spec_replicas_path
            .split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => SCALE_PATHS
            .0
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

pub(super) fn apply_scale(
    req: &Request<'_>,
    current: &Value,
    scale: &Value,
) -> Result<Value, ApiError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::Invalid {
            kind: GroupKind::new("autoscaling", "Scale"),
            name: req.info.name.clone(),
            causes: vec![FieldError::required("spec.replicas", "")],
        })?;
    if replicas < 0 {
        return Err(ApiError::Invalid {
            kind: GroupKind::new("autoscaling", "Scale"),
            name: req.info.name.clone(),
            causes: vec![FieldError::invalid(
                "spec.replicas",
                json!(replicas),
                "must be greater than or equal to 0",
            )],
        });
    }
    let mut next = current.clone();
    match req.crd.and_then(|c| c.scale.as_ref()) {
        Some(scale) => skewless_apimachinery::crd::set_spec_replicas(scale, &mut next, replicas)
            .map_err(ApiError::InternalError)?,
        None => set_pointer(&mut next, SCALE_PATHS.0, json!(replicas)),
    }
    Ok(next)
}

/// Sets the value at a JSON pointer, creating objects on the way.
pub(super) fn set_pointer(obj: &mut Value, pointer: &str, value: Value) {
    let mut cur = obj;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    for p in parents {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Value::Object(map) = cur else {
            return;
        };
        cur = map.entry((*p).to_owned()).or_insert_with(|| json!({}));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    if let Value::Object(map) = cur {
        map.insert((*last).to_owned(), value);
    }
}

// ---------------------------------------------------------------------------
// delete
