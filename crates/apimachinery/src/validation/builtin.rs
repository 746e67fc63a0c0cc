//! Limits upstream's validation puts on built-in objects beyond metadata:
//! ConfigMap and Secret data at most 1 MiB in all.

use serde_json::Value;

use super::field_error::FieldError;

/// The most data a ConfigMap or Secret may hold (upstream's
/// `MaxSecretSize`, also used for ConfigMaps).
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

/// The size limits of `kind` (of the core group) on `obj`, as upstream
/// validates them: a ConfigMap's keys and values of `data` and
/// `binaryData` (decoded) together, a Secret's decoded `data` values plus
/// `stringData` keys and values.
pub fn validate_core_limits(kind: &str, obj: &Value) -> Vec<FieldError> {
    let entries = |field: &str| -> Vec<(String, usize)> {
        obj.get(field)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map_or(0, str::len)))
                    .collect()
            })
            .unwrap_or_default()
    };
    match kind {
        "ConfigMap" => {
            let total: usize = entries("data")
                .iter()
                .map(|(k, len)| k.len() + len)
                .chain(
                    entries("binaryData")
                        .iter()
                        .map(|(k, len)| k.len() + decoded_len(*len)),
                )
                .sum();
            if total > MAX_DATA_BYTES {
                return vec![FieldError::too_long("", MAX_DATA_BYTES)];
            }
            Vec::new()
        }
        "Secret" => {
            let total: usize = entries("data")
                .iter()
                .map(|(_, len)| decoded_len(*len))
                .chain(entries("stringData").iter().map(|(k, len)| k.len() + len))
                .sum();
            if total > MAX_DATA_BYTES {
                return vec![FieldError::too_long("data", MAX_DATA_BYTES)];
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// The decoded length of `len` characters of padded base64.
fn decoded_len(len: usize) -> usize {
    len / 4 * 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configmaps_and_secrets_hold_at_most_one_mebibyte() {
        let big = "x".repeat(MAX_DATA_BYTES);
        let errors = validate_core_limits("ConfigMap", &json!({"data": {"k": big}}));
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].body(),
            "Too long: may not be more than 1048576 bytes"
        );
        let fits = "x".repeat(MAX_DATA_BYTES - 1);
        assert!(validate_core_limits("ConfigMap", &json!({"data": {"k": fits}})).is_empty());
        let encoded = "A".repeat((MAX_DATA_BYTES / 3 + 1) * 4);
        assert_eq!(
            validate_core_limits("Secret", &json!({"data": {"k": encoded}})).len(),
            1
        );
        assert!(
            validate_core_limits(
                "Pod",
                &json!({"data": {"k": "x".repeat(MAX_DATA_BYTES * 2)}})
            )
            .is_empty()
        );
    }
}
