//! Unknown-field detection against the published schemas, for the server's
//! `fieldValidation=Strict|Warn`. kubectl's default `--validate=strict`
//! relies on it: when the v3 document advertises `fieldValidation` on the
//! kind's PATCH operation, kubectl skips its own validation and expects the
//! server to reject unknown fields with `strict decoding error: unknown
//! field "spec.foo"`.
//!
//! The walk follows `$ref`/`allOf`, `properties`, `additionalProperties`
//! and `items`; it stops where the schema stops describing structure
//! (`x-kubernetes-preserve-unknown-fields`, opaque objects such as
//! RawExtension, IntOrString). Paths use upstream's spelling
//! (`spec.containers[0].imagePullPolicyy`). It must never reject what the
//! schema does not describe, and never panic on any input.

use std::borrow::Cow;

use serde_json::Value;

use crate::definitions::GroupVersionKind;
use crate::schema::ref_target;
use crate::spec::{OpenApi, resolve};

/// Deeper than any real object; guards the stack against hostile input.
pub(crate) const MAX_DEPTH: usize = 256;

impl OpenApi {
    /// The paths of fields in `object` that the schema of `gvk` does not
    /// know, in document order; `None` when no schema describes `gvk`.
    pub fn unknown_fields(&self, gvk: &GroupVersionKind, object: &Value) -> Option<Vec<String>> {
        let name = self.schema_name_for(gvk)?;
        let (schema, _) = self.schema(name)?;
        let mut out = Vec::new();
        walk(self, &schema, object, &mut String::new(), &mut out, 0);
        Some(out)
    }
}

fn walk(
    openapi: &OpenApi,
    schema: &Value,
    value: &Value,
    path: &mut String,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = match follow(openapi, schema) {
        Some(schema) => schema,
        None => return,
    };
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            if properties.is_none() && additional.is_none() {
                // An opaque object (RawExtension, FieldsV1, JSON): nothing to check.
                return;
            }
            for (key, field) in fields {
                let sub = properties.and_then(|p| p.get(key)).or(additional);
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match sub {
                    Some(sub) => walk(openapi, sub, field, path, out, depth + 1),
                    None if preserve => {}
                    None => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items").filter(|i| i.is_object()) else {
                return;
            };
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                walk(openapi, item_schema, item, path, out, depth + 1);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Follows `$ref` and single-element `allOf` wrappers to the schema that
/// describes structure.
fn follow<'a>(openapi: &'a OpenApi, schema: &'a Value) -> Option<Cow<'a, Value>> {
    follow_named(openapi, schema).map(|(schema, _)| schema)
}

/// [`follow`], also returning the name of the last schema a `$ref` led to
/// (`io.k8s.api.core.v1.PodSpec`), if any.
pub(crate) fn follow_named<'a>(
    openapi: &'a OpenApi,
    schema: &'a Value,
) -> Option<(Cow<'a, Value>, Option<String>)> {
    let mut current = Cow::Borrowed(schema);
    let mut name = None;
    for _ in 0..MAX_DEPTH {
        if let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            let target = ref_target(reference).map(str::to_owned);
            current = resolve(openapi, reference)?;
            name = target;
            continue;
        }
        let wrapped = current
            .get("allOf")
            .and_then(Value::as_array)
            .filter(|list| list.len() == 1)
            .and_then(|list| list.first())
            .cloned();
        match wrapped {
            Some(inner) if current.get("properties").is_none() => {
                current = Cow::Owned(inner);
            }
            _ => return Some((current, name)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{CustomResourceSchema, GroupVersionKind, OpenApi, Release, ResourceRef};

    fn openapi() -> OpenApi {
        OpenApi::new(Release::latest(), &[])
    }

    #[test]
    fn built_in_kinds_report_unknown_fields_with_upstream_paths() {
        let deploy = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "b"}, "bogusMeta": 1},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "x"}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%"}},
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {"containers": [
                        {"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}}},
                        {"name": "d", "image": "i", "imagePullPolicyy": "Always"},
                    ]},
                },
            },
            "extra": true,
        });
        let unknown = openapi()
            .unknown_fields(&GroupVersionKind::new("apps", "v1", "Deployment"), &deploy)
            .unwrap();
        assert_eq!(
            unknown,
            vec![
                "extra",
                "metadata.bogusMeta",
                "spec.template.spec.containers[1].imagePullPolicyy",
            ]
        );
    }

    #[test]
    fn valid_objects_have_no_unknown_fields() {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {"x": "y"}, "managedFields": [{"fieldsV1": {"f:data": {}}}]},
            "data": {"k": "v"}, "binaryData": {"b": "AA=="}, "immutable": false,
        });
        let gvk = GroupVersionKind::new("", "v1", "ConfigMap");
        assert_eq!(openapi().unknown_fields(&gvk, &cm), Some(vec![]));
        let unknown_kind = GroupVersionKind::new("", "v1", "Nope");
        assert_eq!(openapi().unknown_fields(&unknown_kind, &cm), None);
    }

    #[test]
    fn custom_resources_respect_preserve_unknown_fields() {
        let crd = CustomResourceSchema {
            group: "stable.example.com".into(),
            version: "v1".into(),
            kind: "CronTab".into(),
            list_kind: "CronTabList".into(),
            schema: Some(json!({
                "type": "object",
                "properties": {
                    "spec": {"type": "object", "properties": {
                        "cronSpec": {"type": "string"},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    }},
                },
            })),
        };
        let resource = ResourceRef::new(
            "stable.example.com",
            "v1",
            "CronTab",
            "crontabs",
            true,
            &["get", "patch"],
        );
        let openapi = OpenApi::new(Release::latest(), &[resource])
            .with_custom_resource(&crd)
            .unwrap();
        let object = json!({
            "apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "x"},
            "spec": {"cronSpec": "* * * * *", "free": {"anything": [1]}, "typo": 1},
        });
        assert_eq!(
            openapi.unknown_fields(&crd_gvk(), &object),
            Some(vec!["spec.typo".to_string()])
        );
    }

    fn crd_gvk() -> GroupVersionKind {
        GroupVersionKind::new("stable.example.com", "v1", "CronTab")
    }

    #[test]
    fn hostile_nesting_does_not_overflow() {
        // JSONSchemaProps refers to itself, so a CRD can nest without end.
        let mut props = json!({"type": "string"});
        for _ in 0..300 {
            props = json!({"type": "object", "properties": {"x": props}, "typo": 1});
        }
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "a.b.c"},
            "spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": props}}]},
        });
        let gvk = GroupVersionKind::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition");
        let unknown = openapi().unknown_fields(&gvk, &crd).unwrap();
        assert!(!unknown.is_empty());
        // Found near the top; the walk gives up past its depth limit.
        let shallow = "spec.versions[0].schema.openAPIV3Schema.properties.x.typo";
        assert!(unknown.iter().any(|path| path == shallow));
        assert!(unknown.len() < 300);
    }
}
