//! PATCH bodies: the patch types a resource accepts and applying them to
//! the current object, through the patch engines of
//! `skewless_apimachinery::patch`. Built-in resources take strategic merge
//! patches with their merge keys; other resources do not (415).

use serde_json::{Value, json};
use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::patch::{PatchError, apply_patch, built_in_merge_keys};
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
/// subresource the current Scale).
pub(crate) fn apply(
    r: &ResourceInfo,
    built_in: bool,
    name: &str,
    base: &Value,
    kind: PatchKind,
    body: &[u8],
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
    apply_patch(base, body, kind, keys).map_err(|e| match e {
        PatchError::BadRequest(m) => ApiError::BadRequest(m),
        PatchError::Unprocessable { detail } => ApiError::Invalid {
            kind: GroupKind::new(r.group.clone(), r.kind.clone()),
            name: name.to_owned(),
            causes: vec![FieldError::invalid("", json!(null), detail)],
        },
        e @ PatchError::TooManyOperations(_) => ApiError::RequestEntityTooLarge(e.to_string()),
        PatchError::StrategicMergeUnsupported => ApiError::UnsupportedMediaType {
            accepted: accepted(false),
        },
    })
}
