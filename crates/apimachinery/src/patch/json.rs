//! JSON patch (RFC 6902) and JSON merge patch (RFC 7386): the `json-patch`
//! crate does the work; this layer gives its failures upstream's status codes.

use super::types::{MAX_JSON_PATCH_OPERATIONS, PatchError, bad_request};
use serde_json::Value;

// ---------------------------------------------------------------------------
// JSON patch and JSON merge patch: the `json-patch` crate does the work; this
// layer gives its failures upstream's status codes.
// ---------------------------------------------------------------------------

pub(crate) fn apply_json_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let document: Value = serde_json::from_slice(body).map_err(|e| bad_request(e.to_string()))?;
    let Value::Array(operations) = document else {
        return Err(bad_request(
            "a JSON patch must be a JSON array of operations",
        ));
    };
    // Upstream decodes the body as a list of JSON objects (400 otherwise) and
    // only interprets each operation while applying it (422 on failure).
    if operations
        .iter()
        .any(|op| !(op.is_object() || op.is_null()))
    {
        return Err(bad_request(
            "a JSON patch must be a JSON array of operation objects",
        ));
    }
    if operations.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations(operations.len()));
    }
    let operations = operations
        .into_iter()
        .enumerate()
        .map(|(index, op)| {
            serde_json::from_value::<json_patch::PatchOperation>(op).map_err(|e| {
                PatchError::Unprocessable {
                    detail: format!("operation {index}: {e}"),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut patched = original.clone();
    json_patch::patch(&mut patched, &operations).map_err(|e| PatchError::Unprocessable {
        detail: e.to_string(),
    })?;
    Ok(patched)
}

/// Upstream's message for a merge patch body that is not a JSON object.
const BAD_MERGE_PATCH_MESSAGE: &str = "Invalid JSON Patch";

pub(crate) fn apply_merge_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let patch: Value =
        serde_json::from_slice(body).map_err(|_| bad_request(BAD_MERGE_PATCH_MESSAGE))?;
    // RFC 7386 lets a non-object patch replace the whole document; an API
    // object must stay an object, and upstream refuses such bodies too.
    if !patch.is_object() {
        return Err(bad_request(BAD_MERGE_PATCH_MESSAGE));
    }
    let mut patched = original.clone();
    json_patch::merge(&mut patched, &patch);
    Ok(patched)
}
