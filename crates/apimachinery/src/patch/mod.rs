//! The PATCH engines: JSON patch (RFC 6902), JSON merge patch (RFC 7386),
//! strategic merge patch as kube-apiserver applies it, and server-side
//! apply's body checks, each a pure function from (live object, patch body)
//! to the patched object (for apply: the checked configuration, which
//! `skewless-fieldmanager` merges). The strategic merge engine reads the
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
//! of the built-in types in `merge_keys`; [`apply_patch_with_limits`] picks the engine.
//!
//! Every engine is bounded by [`PatchLimits`] (see `limits`): no patch,
//! however small, can make the patched object, or the work of a JSON patch,
//! grow past `max_bytes`, nest past [`MAX_PATCH_DEPTH`]/[`MAX_OBJECT_DEPTH`],
//! or have an error message quote more than [`MAX_EXCERPT_CHARS`] characters
//! of a value.

mod apply;
mod excerpt;
mod json;
mod limits;
mod merge_keys;
mod strategic;
mod types;

use serde_json::Value;

use apply::apply_configuration;
use json::{apply_json_patch, apply_merge_patch};
use strategic::strategic_merge_patch;

pub use limits::{
    DEFAULT_MAX_BYTES, MAX_EXCERPT_CHARS, MAX_JSON_PATCH_OPERATIONS, MAX_MESSAGE_CHARS,
    MAX_OBJECT_DEPTH, MAX_PATCH_DEPTH, PatchLimits, json_size_up_to,
};
pub use merge_keys::{FieldMergeKeys, PatchStrategy, TypeMergeKeys, built_in_merge_keys};
pub use types::{PatchError, PatchType, accepted_patch_types};

/// [`apply_patch_with_limits`] with the default [`PatchLimits`] (10,000
/// JSON patch operations, 3 MiB): the tests' shorthand.
#[cfg(test)]
pub(crate) fn apply_patch(
    original: &Value,
    patch_body: &[u8],
    patch_type: PatchType,
    merge_keys: Option<&TypeMergeKeys>,
) -> Result<Value, PatchError> {
    apply_patch_with_limits(
        original,
        patch_body,
        patch_type,
        merge_keys,
        &PatchLimits::default(),
    )
}

/// Applies `patch_body` of type `patch_type` to `original` and returns the
/// patched object; `original` is left untouched.
///
/// `merge_keys` is the patch metadata of the object's type: the server
/// passes [`built_in_merge_keys`] for a built-in type and `None` for a
/// custom resource, which refuses strategic merge patch (415). An apply
/// patch returns the checked applied configuration, not merged.
///
/// For an apply patch that creates the object, pass as `original` an object
/// holding only the request's `apiVersion` and `kind`: the applied object
/// must name the same ones, as upstream requires.
///
/// Within `limits`: a JSON patch with more than
/// `max_operations` operations, or whose operations insert more than
/// `max_bytes` into the document, fails before doing that work (413); a
/// patch document nested deeper than [`MAX_PATCH_DEPTH`] fails (400); a
/// patched object larger than `max_bytes` fails (413), one nested deeper than
/// [`MAX_OBJECT_DEPTH`] too (422).
pub fn apply_patch_with_limits(
    original: &Value,
    patch_body: &[u8],
    patch_type: PatchType,
    merge_keys: Option<&TypeMergeKeys>,
    limits: &PatchLimits,
) -> Result<Value, PatchError> {
    let patched = match patch_type {
        PatchType::Json => apply_json_patch(original, patch_body, limits)?,
        PatchType::Merge => apply_merge_patch(original, patch_body)?,
        PatchType::StrategicMerge => {
            let schema = merge_keys.ok_or(PatchError::StrategicMergeUnsupported)?;
            strategic_merge_patch(original, patch_body, schema)?
        }
        PatchType::Apply => apply_configuration(original, patch_body)?,
    };
    limits.check_result(&patched)?;
    Ok(patched)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod limits_tests;
