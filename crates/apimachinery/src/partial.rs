//! Metadata-only forms of objects and lists: `meta.k8s.io`
//! `PartialObjectMetadata` and `PartialObjectMetadataList`, what metadata
//! informers, controller-runtime's `OnlyMetadata` and garbage-collector-style
//! clients ask for with `Accept: application/json;as=PartialObjectMetadata…`.
//!
//! As upstream's `asPartialObjectMetadata[List]`: the whole `metadata` of
//! each object is kept, everything else dropped; the list keeps its list
//! metadata (`resourceVersion`, `continue`, `remainingItemCount`) and every
//! item is a `PartialObjectMetadata` with its own `kind` and `apiVersion`.
//! A `Status` is never converted. Pure functions of their inputs; they never
//! panic on any JSON.

use serde_json::{Map, Value};

const GROUP: &str = "meta.k8s.io";

fn typed(kind: &str, version: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(kind.to_owned()));
    out.insert(
        "apiVersion".into(),
        Value::String(format!("{GROUP}/{version}")),
    );
    out
}

/// Whether `value` is a `metav1.Status` (left as it is by every conversion,
/// as upstream's transform passes Status through).
pub fn is_status(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str) == Some("Status")
        && value.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// `object` as a `PartialObjectMetadata` of `meta.k8s.io/<version>`: its
/// `metadata` (empty when it has none) and nothing else.
pub fn object_metadata(object: &Value, version: &str) -> Value {
    if is_status(object) {
        return object.clone();
    }
    let mut out = typed("PartialObjectMetadata", version);
    out.insert(
        "metadata".into(),
        object
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    Value::Object(out)
}

/// `list` (a `…List` with `metadata` and `items`) as a
/// `PartialObjectMetadataList` of `meta.k8s.io/<version>`.
pub fn list_metadata(list: &Value, version: &str) -> Value {
    let mut out = typed("PartialObjectMetadataList", version);
    out.insert(
        "metadata".into(),
        list.get("metadata")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    let items = list
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| object_metadata(item, version))
                .collect()
        })
        .unwrap_or_default();
    out.insert("items".into(), Value::Array(items));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_keeps_only_its_metadata() {
        let pod = json!({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"}, "resourceVersion": "7",
                         "finalizers": ["x"], "ownerReferences": [{"name": "o"}]},
            "spec": {"containers": []}, "status": {"phase": "Pending"},
        });
        let partial = object_metadata(&pod, "v1");
        assert_eq!(
            partial,
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]})
        );
        assert_eq!(
            object_metadata(&json!({"kind": "X"}), "v1beta1"),
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1beta1", "metadata": {}})
        );
    }

    #[test]
    fn a_list_keeps_its_list_metadata_and_item_metadata() {
        let list = json!({
            "kind": "ConfigMapList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "9", "continue": "abc", "remainingItemCount": 3},
            "items": [
                {"metadata": {"name": "a"}, "data": {"k": "v"}},
                {"metadata": {"name": "b"}, "data": {}},
            ],
        });
        assert_eq!(
            list_metadata(&list, "v1"),
            json!({
                "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": "9", "continue": "abc", "remainingItemCount": 3},
                "items": [
                    {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "a"}},
                    {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "b"}},
                ],
            })
        );
        // An empty list has `items: []`, never null.
        assert_eq!(
            list_metadata(&json!({"metadata": {}}), "v1")["items"],
            json!([])
        );
    }

    #[test]
    fn a_status_is_never_converted() {
        let status =
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410});
        assert_eq!(object_metadata(&status, "v1"), status);
    }
}
