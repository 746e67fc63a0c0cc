//! Object metadata: `metadata.name`/`generateName`, labels and annotations,
//! and the generated name suffix.

use std::collections::BTreeMap;

use super::field_error::FieldError;
use super::names::{
    GENERATED_SUFFIX_ALPHABET, GENERATED_SUFFIX_LENGTH, MAX_GENERATE_NAME_PREFIX_LENGTH, NameRule,
    TOTAL_ANNOTATION_SIZE_LIMIT_BYTES, is_qualified_name, is_valid_label_value,
};

/// Validates `metadata.name` and `metadata.generateName` as upstream's
/// `ValidateObjectMeta` does. Call it after the server has expanded
/// `generateName` into `name`; an empty name is then "Required".
pub fn validate_object_meta_name(
    name: &str,
    generate_name: &str,
    rule: NameRule,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !generate_name.is_empty() {
        errs.extend(
            rule.validate(generate_name, true)
                .into_iter()
                .map(|msg| FieldError::invalid("metadata.generateName", generate_name, msg)),
        );
    }
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        errs.extend(
            rule.validate(name, false)
                .into_iter()
                .map(|msg| FieldError::invalid("metadata.name", name, msg)),
        );
    }
    errs
}

/// Validates label keys (qualified names) and values, reporting each problem
/// at `path` (normally `metadata.labels`), as upstream's `ValidateLabels`.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, value) in labels {
        errs.extend(
            is_qualified_name(key)
                .into_iter()
                .map(|msg| FieldError::invalid(path, key.as_str(), msg)),
        );
        errs.extend(
            is_valid_label_value(value)
                .into_iter()
                .map(|msg| FieldError::invalid(path, value.as_str(), msg)),
        );
    }
    errs
}

/// Validates annotation keys (qualified names, case-insensitive) and the
/// 256 KiB total size of keys plus values, as upstream's
/// `ValidateAnnotations`.
pub fn validate_annotations(annotations: &BTreeMap<String, String>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in annotations.keys() {
        errs.extend(
            is_qualified_name(&key.to_lowercase())
                .into_iter()
                .map(|msg| FieldError::invalid(path, key.as_str(), msg)),
        );
    }
    if annotations_size(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES {
        errs.push(FieldError::too_long(
            path,
            TOTAL_ANNOTATION_SIZE_LIMIT_BYTES,
        ));
    }
    errs
}

/// Total size in bytes of all annotation keys and values.
pub(crate) fn annotations_size(annotations: &BTreeMap<String, String>) -> usize {
    annotations.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// Builds a name from a `generateName` prefix and a random suffix the caller
/// drew (see [`random_suffix`]).
///
/// As upstream's `SimpleNameGenerator`, the prefix is cut to
/// [`MAX_GENERATE_NAME_PREFIX_LENGTH`] (58) bytes so that prefix plus a
/// 5-character suffix never exceeds 63, which satisfies every naming rule.
/// The cut backs off to a character boundary so a multi-byte character (which
/// validation rejects anyway) cannot be split.
pub fn generate_name(prefix: &str, random_suffix: &str) -> String {
    let mut end = prefix.len().min(MAX_GENERATE_NAME_PREFIX_LENGTH);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &prefix[..end], random_suffix)
}

/// Turns caller-supplied entropy into a 5-character suffix over
/// [`GENERATED_SUFFIX_ALPHABET`]. Deterministic: the randomness is the
/// caller's (this module never reads a random source).
pub fn random_suffix(entropy: u64) -> String {
    let alphabet = GENERATED_SUFFIX_ALPHABET.as_bytes();
    let base = alphabet.len() as u64;
    let mut rest = entropy;
    (0..GENERATED_SUFFIX_LENGTH)
        .map(|_| {
            // `rest % base` is below the alphabet length, so the index is in
            // range and the cast cannot truncate.
            let c = alphabet[(rest % base) as usize];
            rest /= base;
            char::from(c)
        })
        .collect()
}
