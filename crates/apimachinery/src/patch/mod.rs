//! The PATCH engines: JSON patch (RFC 6902), JSON merge patch (RFC 7386),
//! strategic merge patch as kube-apiserver applies it, and an approximation
//! of server-side apply, each a pure function from (live object, patch body)
//! to the patched object. The strategic merge engine reads the
//! `patchStrategy`/`patchMergeKey` knowledge of the built-in types from a
//! static table ([`merge_keys_for`]) rather than from Go struct tags.
//!
//! This module must never do I/O, look at storage, validate the patched
//! object (name, kind, schema) or build HTTP responses: it returns the patched
//! JSON or a [`PatchError`] that knows kube-apiserver's status code, and the
//! server decides what happens next. It must never guess merge keys for a
//! type it does not know: strategic merge patch on such a type (a custom
//! resource) is refused with 415, as upstream does.
//!
//! The content types and errors are in `types`, the engines in `json` (JSON
//! patch and JSON merge patch), `strategic` and `apply`, and the merge keys
//! of the built-in types in `merge_keys`; [`apply_patch`] picks the engine.

mod apply;
mod json;
mod merge_keys;
mod strategic;
mod types;

use serde_json::Value;

use apply::apply_configuration;
use json::{apply_json_patch, apply_merge_patch};
use strategic::strategic_merge_patch;

pub use merge_keys::{FieldMergeKeys, PatchStrategy, TypeMergeKeys, built_in_merge_keys};
pub use types::{PatchError, PatchType, accepted_patch_types};

/// Applies `patch_body` of type `patch_type` to `original` and returns the
/// patched object; `original` is left untouched.
///
/// `merge_keys` is the patch metadata of the object's type: the server
/// passes [`built_in_merge_keys`] for a built-in type and `None` for a
/// custom resource, which refuses strategic merge patch (415) and applies
/// apply patches as merge patches.
///
/// For an apply patch that creates the object, pass as `original` an object
/// holding only the request's `apiVersion` and `kind`: the applied object
/// must name the same ones, as upstream requires.
pub fn apply_patch(
    original: &Value,
    patch_body: &[u8],
    patch_type: PatchType,
    merge_keys: Option<&TypeMergeKeys>,
) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => apply_json_patch(original, patch_body),
        PatchType::Merge => apply_merge_patch(original, patch_body),
        PatchType::StrategicMerge => {
            let schema = merge_keys.ok_or(PatchError::StrategicMergeUnsupported)?;
            strategic_merge_patch(original, patch_body, schema)
        }
        PatchType::Apply => apply_configuration(original, patch_body, merge_keys),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
