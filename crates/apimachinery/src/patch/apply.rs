//! Server-side apply, approximated: the applied configuration is merged into
//! the live object as a strategic merge patch (or a merge patch for custom
//! resources).

use super::excerpt::excerpt;
use super::limits::check_patch_depth;
use super::merge_keys::TypeMergeKeys;
use super::strategic::{json_type_name, merge_map, object_or_empty};
use super::types::{PatchError, bad_request};
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------
// Server-side apply, approximated.
// ---------------------------------------------------------------------------

/// Applies an apply configuration (`application/apply-patch+yaml`) the way
/// this server approximates server-side apply: the applied object is merged
/// onto the live one as a strategic merge patch for built-in types and as a
/// JSON merge patch for custom resources.
///
/// What real server-side apply does and this does not:
/// - It records field ownership per field manager in `metadata.managedFields`
///   and updates it on every write; here `managedFields` is left as it was.
/// - It removes fields the same manager applied before and has now dropped
///   from its configuration; here omitted fields are kept (only an explicit
///   `null` removes a field, with merge patch semantics).
/// - It answers 409 Conflict when the configuration changes a field another
///   manager owns, unless `force=true`; here the applied value always wins.
/// - It merges lists by their OpenAPI `x-kubernetes-list-type`/`-map-keys`
///   (for example container ports keyed by `containerPort` *and* `protocol`,
///   custom resource lists keyed by their schema); here lists merge by the
///   strategic merge keys, and custom resource lists are replaced whole.
/// - It validates the configuration against the type's schema (unknown or
///   duplicate fields are errors); here that is left to the server's
///   validation of the result.
pub(crate) fn apply_configuration(
    original: &Value,
    body: &[u8],
    merge_keys: Option<&TypeMergeKeys>,
) -> Result<Value, PatchError> {
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
    match merge_keys {
        Some(schema) => Ok(Value::Object(merge_map(
            object_or_empty(original),
            applied,
            Some(schema),
        )?)),
        None => {
            let mut patched = original.clone();
            json_patch::merge(&mut patched, &Value::Object(applied));
            Ok(patched)
        }
    }
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
