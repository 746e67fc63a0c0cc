//! JSON patch (RFC 6902) and JSON merge patch (RFC 7386): the `json-patch`
//! crate does the work; this layer gives its failures upstream's status codes
//! and holds a JSON patch to its [`PatchLimits`].

use super::excerpt::excerpt;
use super::limits::{InsertBudget, PatchLimits, check_patch_depth, unprocessable};
use super::types::{PatchError, bad_request};
use json_patch::PatchOperation;
use serde_json::Value;

// ---------------------------------------------------------------------------
// JSON patch and JSON merge patch: the `json-patch` crate does the work; this
// layer gives its failures upstream's status codes.
// ---------------------------------------------------------------------------

/// Applies a JSON patch within `limits`: at most `max_operations`
/// operations, and the values they insert (an `add` or `replace` value, the
/// source of a `copy` or `move`) at most `max_bytes` together, each charged
/// before its operation runs. The operations run one by one on a copy of
/// `original`, which is dropped on failure (no undo log holding copies).
pub(crate) fn apply_json_patch(
    original: &Value,
    body: &[u8],
    limits: &PatchLimits,
) -> Result<Value, PatchError> {
    let document: Value =
        serde_json::from_slice(body).map_err(|e| bad_request(excerpt(&e.to_string())))?;
    check_patch_depth(&document)?;
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
    if operations.len() > limits.max_operations {
        return Err(PatchError::TooManyOperations {
            max: limits.max_operations,
            got: operations.len(),
        });
    }
    let operations = operations
        .into_iter()
        .enumerate()
        .map(|(index, op)| {
            serde_json::from_value::<PatchOperation>(op).map_err(|e| {
                unprocessable(format!("operation {index}: {}", excerpt(&e.to_string())))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut patched = original.clone();
    let mut budget = InsertBudget::new(limits.max_bytes);
    for (index, operation) in operations.iter().enumerate() {
        let inserted = match operation {
            PatchOperation::Add(op) => Some(&op.value),
            PatchOperation::Replace(op) => Some(&op.value),
            // A missing source is the operation's own error, below.
            PatchOperation::Copy(op) => patched.pointer(op.from.as_str()),
            PatchOperation::Move(op) => patched.pointer(op.from.as_str()),
            PatchOperation::Remove(_) | PatchOperation::Test(_) => None,
        };
        if let Some(value) = inserted {
            budget.charge(value)?;
        }
        json_patch::patch_unsafe(&mut patched, std::slice::from_ref(operation)).map_err(|e| {
            unprocessable(format!(
                "operation '/{index}' failed at path '{}': {}",
                excerpt(e.path.as_str()),
                e.kind
            ))
        })?;
    }
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
    check_patch_depth(&patch)?;
    let mut patched = original.clone();
    json_patch::merge(&mut patched, &patch);
    Ok(patched)
}
