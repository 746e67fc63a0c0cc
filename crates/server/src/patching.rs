//! PATCH bodies: the patch types a resource accepts and applying them to
//! the current object, through the patch engines of
//! `skewless_apimachinery::patch`. Built-in resources take strategic merge
//! patches with their merge keys; other resources do not (415).

use serde_json::{Value, json};
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::limits::{MAX_NESTING_DEPTH, check_nesting};
use skewless_apimachinery::patch::{
    PatchError, PatchLimits, apply_patch_with_limits, built_in_merge_keys,
};
use skewless_apimachinery::request_info::GroupKind;
use skewless_apimachinery::status::ApiError;
use skewless_apimachinery::validation::FieldError;

pub(crate) use skewless_apimachinery::patch::PatchType as PatchKind;

/// The patch media types a resource accepts (the list a 415 names).
pub(crate) fn accepted(built_in: bool) -> Vec<String> {
    skewless_apimachinery::patch::accepted_patch_types(built_in)
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// Applies `body` to `base` (the current object, or for the scale
/// subresource the current Scale), within the patch limits with `max_body`
/// (the request body limit) as the size limit of the patched object and of
/// what a JSON patch inserts.
///
/// Patch errors map as kube-apiserver's: unreadable patch or one nested too
/// deep 400, a patch that does not apply 422 (the cause in a field error),
/// too many JSON patch operations or a patched object (or JSON patch
/// insertions) over `max_body` 413, strategic merge on a custom resource 415.
pub(crate) fn apply(
    r: &ResourceInfo,
    built_in: bool,
    name: &str,
    base: &Value,
    kind: PatchKind,
    body: &[u8],
    max_body: usize,
) -> Result<Value, ApiError> {
    let type_kind = base
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or(&r.kind)
        .to_owned();
    let type_group = base
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.rsplit_once('/').map(|(g, _)| g.to_owned()))
        .unwrap_or_default();
    // Custom resources have no merge keys: strategic merge is refused (415)
    // and apply works as a merge patch.
    let keys = built_in.then(|| built_in_merge_keys(&type_group, &type_kind));
    check_nesting(body, MAX_NESTING_DEPTH).map_err(ApiError::BadRequest)?;
    let limits = PatchLimits::with_max_bytes(max_body);
    apply_patch_with_limits(base, body, kind, keys, &limits).map_err(|e| match e {
        PatchError::BadRequest(_) | PatchError::TooDeep { .. } => {
            ApiError::BadRequest(e.to_string())
        }
        PatchError::Unprocessable { detail } => ApiError::Invalid {
            kind: GroupKind::new(r.group.clone(), r.kind.clone()),
            name: name.to_owned(),
            causes: vec![FieldError::invalid("", json!(null), detail)],
        },
        e @ PatchError::TooManyOperations { .. } => ApiError::RequestEntityTooLarge(e.to_string()),
        PatchError::TooLarge { limit } => {
            ApiError::RequestEntityTooLarge(format!("limit is {limit}"))
        }
        PatchError::StrategicMergeUnsupported => ApiError::UnsupportedMediaType {
            accepted: accepted(false),
        },
    })
}
