//! The scale subresource of custom objects: reading and writing the replica
//! paths a CRD names, and checking them against an object.

use serde_json::{Map, Value, json};

use super::types::CustomResourceSubresourceScale;
use crate::structural::go_float;
#[cfg(test)]
use crate::validation::FieldError;

// ---------------------------------------------------------------------------
// Scale
// ---------------------------------------------------------------------------

/// The segments of a scale path (`.spec.replicas` → `["spec", "replicas"]`).
fn scale_fields(path: &str) -> Vec<&str> {
    path.strip_prefix('.').unwrap_or(path).split('.').collect()
}

/// Go's `%v` and `%T` for an unstructured value, for accessor errors.
fn go_value_and_type(v: &Value) -> (String, &'static str) {
    match v {
        Value::Null => ("<nil>".to_owned(), "<nil>"),
        Value::Bool(b) => (b.to_string(), "bool"),
        Value::Number(n) => match n.as_i64() {
            Some(i) => (i.to_string(), "int64"),
            None => (go_float(n.as_f64().unwrap_or(f64::NAN)), "float64"),
        },
        Value::String(s) => (s.clone(), "string"),
        Value::Array(_) => (v.to_string(), "[]interface {}"),
        Value::Object(_) => (v.to_string(), "map[string]interface {}"),
    }
}

/// Upstream's `NestedFieldNoCopy`: the value at `fields`, `Ok(None)` when
/// missing, an accessor error when an intermediate is not an object.
fn nested<'a>(obj: &'a Value, fields: &[&str]) -> Result<Option<&'a Value>, String> {
    let mut current = obj;
    for (i, f) in fields.iter().enumerate() {
        match current {
            Value::Object(m) => match m.get(*f) {
                Some(v) => current = v,
                None => return Ok(None),
            },
            other => {
                let (shown, ty) = go_value_and_type(other);
                return Err(format!(
                    ".{} accessor error: {shown} is of the type {ty}, expected map[string]interface{{}}",
                    fields[..i].join(".")
                ));
            }
        }
    }
    Ok(Some(current))
}

/// Upstream's `NestedInt64`: missing is 0.
fn nested_int64(obj: &Value, path: &str) -> Result<i64, String> {
    let fields = scale_fields(path);
    match nested(obj, &fields)? {
        None => Ok(0),
        Some(v) => v.as_i64().filter(|_| v.is_i64()).ok_or_else(|| {
            let (shown, ty) = go_value_and_type(v);
            format!(
                ".{} accessor error: {shown} is of the type {ty}, expected int64",
                fields.join(".")
            )
        }),
    }
}

/// Upstream's `NestedString`: missing is empty.
fn nested_string(obj: &Value, path: &str) -> Result<String, String> {
    let fields = scale_fields(path);
    match nested(obj, &fields)? {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => {
            let (shown, ty) = go_value_and_type(v);
            Err(format!(
                ".{} accessor error: {shown} is of the type {ty}, expected string",
                fields.join(".")
            ))
        }
    }
}

/// The `autoscaling/v1` `Scale` of a custom object (GET `/scale`): name,
/// namespace, uid, resourceVersion and creationTimestamp of the object,
/// `spec.replicas` and `status.replicas`/`status.selector` read at the
/// scale paths (missing counts as 0). An error (a value of the wrong type)
/// is upstream's accessor message, a 500 upstream.
pub fn scale_from_object(
    scale: &CustomResourceSubresourceScale,
    obj: &Value,
) -> Result<Value, String> {
    let spec_replicas = nested_int64(obj, &scale.spec_replicas_path)?;
    let status_replicas = nested_int64(obj, &scale.status_replicas_path)?;
    let selector = match scale.label_selector_path.as_deref() {
        Some(p) if !p.is_empty() => nested_string(obj, p)?,
        _ => String::new(),
    };
    let mut metadata = Map::new();
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = obj.get("metadata").and_then(|m| m.get(k)) {
            metadata.insert(k.to_owned(), v.clone());
        }
    }
    let mut spec = Map::new();
    if spec_replicas != 0 {
        spec.insert("replicas".to_owned(), Value::from(spec_replicas));
    }
    let mut status = json!({"replicas": status_replicas});
    if !selector.is_empty() {
        status["selector"] = Value::String(selector);
    }
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }))
}

/// Writes `replicas` at the spec replicas path (PUT/PATCH `/scale`),
/// creating missing objects on the way; fails when something on the way is
/// not an object.
pub fn set_spec_replicas(
    scale: &CustomResourceSubresourceScale,
    obj: &mut Value,
    replicas: i64,
) -> Result<(), String> {
    let fields = scale_fields(&scale.spec_replicas_path);
    let Some((last, parents)) = fields.split_last() else {
        return Err("empty specReplicasPath".to_owned());
    };
    let mut current = obj;
    for (i, f) in parents.iter().enumerate() {
        let Value::Object(m) = current else {
            return Err(format!(
                "value cannot be set because .{} is not a map[string]interface{{}}",
                fields[..i].join(".")
            ));
        };
        current = m
            .entry((*f).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    let Value::Object(m) = current else {
        return Err(format!(
            "value cannot be set because .{} is not a map[string]interface{{}}",
            parents.join(".")
        ));
    };
    m.insert((*last).to_owned(), Value::from(replicas));
    Ok(())
}

/// Upstream's scale checks on every write of an object with the scale
/// subresource: replicas at the spec and status paths are integers in
/// `0..=2147483647` and the selector a string. Field paths are the
/// configured JSON paths (`.spec.replicas`), as upstream.
#[cfg(test)]
pub(crate) fn validate_scale(
    scale: &CustomResourceSubresourceScale,
    obj: &Value,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for path in [&scale.spec_replicas_path, &scale.status_replicas_path] {
        match nested_int64(obj, path) {
            Err(e) => errs.push(FieldError::invalid(path.as_str(), 0, e)),
            Ok(n) if n < 0 => {
                errs.push(FieldError::invalid(
                    path.as_str(),
                    n,
                    "should be a non-negative integer",
                ));
            }
            Ok(n) if n > i64::from(i32::MAX) => errs.push(FieldError::invalid(
                path.as_str(),
                n,
                format!("should be less than or equal to {}", i32::MAX),
            )),
            Ok(_) => {}
        }
    }
    if let Some(path) = scale.label_selector_path.as_deref()
        && !path.is_empty()
        && let Err(e) = nested_string(obj, path)
    {
        errs.push(FieldError::invalid(path, "", e));
    }
    errs
}
