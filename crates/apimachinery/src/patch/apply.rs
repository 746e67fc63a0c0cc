//! Server-side apply bodies: the applied configuration decoded (YAML or
//! JSON) and checked against the object it applies to (apiVersion, kind,
//! no managedFields). Merging it is field management's job
//! (`skewless-fieldmanager`), which needs the type and the other managers.

use super::excerpt::excerpt;
use super::limits::check_patch_depth;
use super::strategic::json_type_name;
use super::types::{PatchError, bad_request};
use serde_json::{Map, Value};

/// Decodes and checks an apply configuration
/// (`application/apply-patch+yaml`) for `original` (the live object, or a
/// stub holding the request's `apiVersion` and `kind` when the apply
/// creates it) and returns it, unmerged.
///
/// As upstream: the configuration must be an object naming the same
/// `apiVersion` and `kind` (400 otherwise) and must not set
/// `metadata.managedFields`.
pub(crate) fn apply_configuration(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let applied = decode_yaml_or_json(body)?;
    check_patch_depth(&applied)?;
    let applied = match applied {
        Value::Object(applied) => applied,
        Value::Null => Map::new(),
        other => {
            return Err(bad_request(format!(
                "error decoding YAML: the apply configuration must be an object, not {}",
                json_type_name(&other)
            )));
        }
    };
    // Upstream checks the version against the request's group/version; the
    // live object (or the create stub, see `apply_patch`) carries it.
    if let Some(expected) = original.get("apiVersion").and_then(Value::as_str) {
        let specified = applied
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if specified != expected {
            return Err(bad_request(format!(
                "Incorrect version specified in apply patch. Specified patch version: {}, expected: {}",
                excerpt(specified),
                excerpt(expected)
            )));
        }
    }
    if let Some(expected) = original.get("kind").and_then(Value::as_str) {
        let specified = applied.get("kind").and_then(Value::as_str).unwrap_or("");
        if specified != expected {
            return Err(bad_request(format!(
                "Incorrect kind specified in apply patch. Specified patch kind: {}, expected: {}",
                excerpt(specified),
                excerpt(expected)
            )));
        }
    }
    let managed_fields = applied
        .get("metadata")
        .and_then(|metadata| metadata.get("managedFields"));
    if managed_fields.is_some_and(|value| !value.is_null()) {
        return Err(bad_request("metadata.managedFields must be nil"));
    }
    Ok(Value::Object(applied))
}

/// Reads an apply body: JSON as it is, anything else as a single YAML
/// document.
fn decode_yaml_or_json(body: &[u8]) -> Result<Value, PatchError> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Ok(value);
    }
    serde_norway::from_slice::<Value>(body)
        .map_err(|e| bad_request(format!("error decoding YAML: {}", excerpt(&e.to_string()))))
}
