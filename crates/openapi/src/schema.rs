//! Schema plumbing: walking subschemas, following `$ref`s, converting between
//! swagger 2.0 (`#/definitions/...`) and OpenAPI v3 (`#/components/schemas/...`)
//! shapes, and turning a CRD's `openAPIV3Schema` into the component schemas
//! upstream publishes for a custom resource.
//!
//! Built-in definitions are stored in v2 form (as upstream's swagger.json);
//! v3 documents get upstream's v3 shapes: a `$ref` with siblings is wrapped
//! in `allOf`, IntOrString and Quantity become `oneOf`. Custom schemas are
//! kept in v3 form and lowered for v2. This module must never invent
//! properties for built-in kinds and never follow a `$ref` outside the
//! document (everything it emits resolves inside the document).

use serde_json::{Map, Value, json};

use crate::definitions::GroupVersionKind;
use crate::error::Error;
use crate::resource::CustomResourceSchema;

pub(crate) const V2_PREFIX: &str = "#/definitions/";
pub(crate) const V3_PREFIX: &str = "#/components/schemas/";

pub(crate) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(crate) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
pub(crate) const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
pub(crate) const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESCRIPTION: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESCRIPTION: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The definition name upstream gives a custom resource's schema: the group
/// reversed, then version and kind (`stable.example.com`, `v1`, `CronTab`
/// -> `com.example.stable.v1.CronTab`).
pub(crate) fn custom_schema_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').filter(|p| !p.is_empty()).collect();
    parts.reverse();
    parts.push(version);
    parts.push(kind);
    parts.join(".")
}

/// The definition name a `$ref` points to, in either form.
pub(crate) fn ref_target(reference: &str) -> Option<&str> {
    reference
        .strip_prefix(V2_PREFIX)
        .or_else(|| reference.strip_prefix(V3_PREFIX))
}

/// Calls `f` on every schema object in `schema`, outermost first, visiting
/// only keywords whose values are schemas (so a property *named* `default`
/// or `$ref`, as in JSONSchemaProps, is still walked as a schema).
pub(crate) fn visit(schema: &Value, f: &mut impl FnMut(&Map<String, Value>)) {
    let Some(obj) = schema.as_object() else {
        return;
    };
    f(obj);
    for (key, value) in obj {
        match key.as_str() {
            "properties" | "patternProperties" | "definitions" => {
                if let Some(map) = value.as_object() {
                    for sub in map.values() {
                        visit(sub, f);
                    }
                }
            }
            "additionalProperties" | "items" | "not" | "additionalItems" => match value {
                Value::Array(list) => list.iter().for_each(|sub| visit(sub, f)),
                other => visit(other, f),
            },
            "allOf" | "anyOf" | "oneOf" => {
                if let Some(list) = value.as_array() {
                    list.iter().for_each(|sub| visit(sub, f));
                }
            }
            _ => {}
        }
    }
}

/// Mutable [`visit`]. `f` runs before the children are visited, so it may
/// restructure the object (the children it creates are visited too).
fn visit_mut(schema: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    f(obj);
    for (key, value) in obj.iter_mut() {
        match key.as_str() {
            "properties" | "patternProperties" | "definitions" => {
                if let Some(map) = value.as_object_mut() {
                    for sub in map.values_mut() {
                        visit_mut(sub, f);
                    }
                }
            }
            "additionalProperties" | "items" | "not" | "additionalItems" => match value {
                Value::Array(list) => list.iter_mut().for_each(|sub| visit_mut(sub, f)),
                other => visit_mut(other, f),
            },
            "allOf" | "anyOf" | "oneOf" => {
                if let Some(list) = value.as_array_mut() {
                    list.iter_mut().for_each(|sub| visit_mut(sub, f));
                }
            }
            _ => {}
        }
    }
}

/// Every definition name `schema` refers to, in order of appearance.
pub(crate) fn refs_of(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    visit(schema, &mut |obj| {
        if let Some(target) = obj.get("$ref").and_then(Value::as_str).and_then(ref_target) {
            out.push(target.to_string());
        }
    });
    out
}

/// A built-in definition (v2 form) in upstream's OpenAPI v3 shape.
pub(crate) fn builtin_to_v3(name: &str, schema: &Value) -> Value {
    match name {
        // Upstream's v3 generator writes these two as unions (their
        // OpenAPIV3OneOfTypes); v2 has only `type: string`.
        INT_OR_STRING => {
            let mut out = Map::new();
            copy_description(schema, &mut out);
            out.insert(
                "oneOf".into(),
                json!([{"type": "integer"}, {"type": "string"}]),
            );
            out.insert("format".into(), json!("int-or-string"));
            Value::Object(out)
        }
        QUANTITY => {
            let mut out = Map::new();
            copy_description(schema, &mut out);
            out.insert(
                "oneOf".into(),
                json!([{"type": "string"}, {"type": "number"}]),
            );
            Value::Object(out)
        }
        _ => {
            let mut out = schema.clone();
            visit_mut(&mut out, &mut |obj| {
                let Some(target) = obj
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix(V2_PREFIX))
                    .map(str::to_string)
                else {
                    return;
                };
                let reference = json!({ "$ref": format!("{V3_PREFIX}{target}") });
                obj.remove("$ref");
                if obj.is_empty() {
                    obj.extend(reference.as_object().cloned().unwrap_or_default());
                } else {
                    // OpenAPI 3.0 ignores siblings of `$ref`; upstream keeps
                    // description and default by wrapping the reference.
                    obj.insert("allOf".into(), json!([reference]));
                }
            });
            out
        }
    }
}

fn copy_description(from: &Value, to: &mut Map<String, Value>) {
    if let Some(description) = from.get("description") {
        to.insert("description".into(), description.clone());
    }
}

/// A v3-form schema (custom resources, extra schemas) lowered to swagger 2.0:
/// references renamed, single-`$ref` `allOf` unwrapped, and the keywords
/// swagger 2.0 lacks (`nullable`, `oneOf`, `anyOf`, `not`) dropped, as
/// upstream does when it publishes custom resources in v2.
pub(crate) fn v3_to_v2(schema: &Value) -> Value {
    let mut out = schema.clone();
    visit_mut(&mut out, &mut |obj| {
        for key in ["nullable", "oneOf", "anyOf", "not"] {
            obj.remove(key);
        }
        let single_ref = match obj.get("allOf").and_then(Value::as_array) {
            Some(list) if list.len() == 1 => list
                .first()
                .and_then(|only| only.get("$ref"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        };
        if let Some(reference) = single_ref {
            obj.remove("allOf");
            obj.insert("$ref".into(), json!(reference));
        }
        let renamed = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(V3_PREFIX))
            .map(|target| format!("{V2_PREFIX}{target}"));
        if let Some(reference) = renamed {
            obj.insert("$ref".into(), json!(reference));
        }
    });
    out
}

/// The component schemas upstream publishes for one custom resource version
/// (v3 form): the kind, with `apiVersion`, `kind`, `metadata` (ObjectMeta)
/// and `x-kubernetes-group-version-kind` added to the CRD's schema, and its
/// list kind.
pub(crate) fn custom_resource_schemas(
    crd: &CustomResourceSchema,
) -> Result<Vec<(String, Value)>, Error> {
    let invalid = |reason: &str| Error::InvalidCustomSchema {
        group: crd.group.clone(),
        version: crd.version.clone(),
        kind: crd.kind.clone(),
        reason: reason.to_string(),
    };
    let gvk = GroupVersionKind::new(&crd.group, &crd.version, &crd.kind);
    let mut kind_schema = match &crd.schema {
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(invalid("openAPIV3Schema is not an object")),
        None => {
            let mut map = Map::new();
            map.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
            map
        }
    };
    if !refs_of(&Value::Object(kind_schema.clone())).is_empty() {
        return Err(invalid("$ref is not allowed in a structural schema"));
    }
    kind_schema.entry("type").or_insert_with(|| json!("object"));
    let properties = kind_schema.entry("properties").or_insert_with(|| json!({}));
    let Some(properties) = properties.as_object_mut() else {
        return Err(invalid("properties is not an object"));
    };
    properties.insert(
        "apiVersion".into(),
        json!({"description": API_VERSION_DESCRIPTION, "type": "string"}),
    );
    properties.insert(
        "kind".into(),
        json!({"description": KIND_DESCRIPTION, "type": "string"}),
    );
    properties.insert(
        "metadata".into(),
        json!({"allOf": [{"$ref": format!("{V3_PREFIX}{OBJECT_META}")}], "description": METADATA_DESCRIPTION}),
    );
    kind_schema.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([gvk.to_extension()]),
    );
    let kind_name = custom_schema_name(&crd.group, &crd.version, &crd.kind);
    let list_kind = if crd.list_kind.is_empty() {
        format!("{}List", crd.kind)
    } else {
        crd.list_kind.clone()
    };
    let list_gvk = GroupVersionKind::new(&crd.group, &crd.version, &list_kind);
    let list_name = custom_schema_name(&crd.group, &crd.version, &list_kind);
    let list_schema = list_schema(&list_gvk, &crd.kind, &kind_name);
    Ok(vec![
        (kind_name, Value::Object(kind_schema)),
        (list_name, list_schema),
    ])
}

/// The list schema (v3 form) for items of the definition `item_name`.
pub(crate) fn list_schema(list_gvk: &GroupVersionKind, item_kind: &str, item_name: &str) -> Value {
    json!({
        "description": format!("{} is a list of {}", list_gvk.kind, item_kind),
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "items": {
                "description": format!("List of {item_kind} objects."),
                "items": {"$ref": format!("{V3_PREFIX}{item_name}")},
                "type": "array",
            },
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            "metadata": {
                "allOf": [{"$ref": format!("{V3_PREFIX}{LIST_META}")}],
                "description": LIST_METADATA_DESCRIPTION,
            },
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [list_gvk.to_extension()],
    })
}

/// A schema (v3 form) for a kind the embedded data does not describe: the
/// standard top-level fields, everything else accepted, so documents stay
/// complete and validation never rejects what it cannot know.
pub(crate) fn placeholder_schema(gvk: &GroupVersionKind) -> Value {
    json!({
        "description": format!("{} (no schema is published for this kind).", gvk.kind),
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            "metadata": {
                "allOf": [{"$ref": format!("{V3_PREFIX}{OBJECT_META}")}],
                "description": METADATA_DESCRIPTION,
            },
        },
        "type": "object",
        "x-kubernetes-group-version-kind": [gvk.to_extension()],
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_schema_names_reverse_the_group() {
        assert_eq!(
            custom_schema_name("stable.example.com", "v1", "CronTab"),
            "com.example.stable.v1.CronTab"
        );
        assert_eq!(custom_schema_name("", "v1", "Foo"), "v1.Foo");
    }

    #[test]
    fn builtin_refs_with_siblings_are_wrapped_in_all_of() {
        let v2 = json!({
            "properties": {
                "metadata": {"$ref": "#/definitions/X", "description": "d"},
                "items": {"type": "array", "items": {"$ref": "#/definitions/Y"}},
                "$ref": {"type": "string"},
                "default": {"$ref": "#/definitions/Z"},
            },
            "type": "object",
        });
        let v3 = builtin_to_v3("io.k8s.api.test.v1.T", &v2);
        assert_eq!(
            v3["properties"]["metadata"],
            json!({"allOf": [{"$ref": "#/components/schemas/X"}], "description": "d"})
        );
        assert_eq!(
            v3["properties"]["items"]["items"],
            json!({"$ref": "#/components/schemas/Y"})
        );
        // Properties named like keywords are schemas, not keywords.
        assert_eq!(v3["properties"]["$ref"], json!({"type": "string"}));
        assert_eq!(
            v3["properties"]["default"],
            json!({"$ref": "#/components/schemas/Z"})
        );
        let mut refs = refs_of(&v3);
        refs.sort();
        assert_eq!(refs, vec!["X", "Y", "Z"]);
    }

    #[test]
    fn int_or_string_and_quantity_take_upstreams_v3_shapes() {
        let v2 = json!({"description": "d", "format": "int-or-string", "type": "string"});
        assert_eq!(
            builtin_to_v3(INT_OR_STRING, &v2),
            json!({"description": "d", "format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]})
        );
        let q = json!({"description": "q", "type": "string"});
        assert_eq!(
            builtin_to_v3(QUANTITY, &q),
            json!({"description": "q", "oneOf": [{"type": "string"}, {"type": "number"}]})
        );
    }

    #[test]
    fn v3_schemas_lower_to_swagger_2() {
        let v3 = json!({
            "properties": {
                "metadata": {"allOf": [{"$ref": "#/components/schemas/M"}], "description": "d"},
                "n": {"type": "string", "nullable": true},
                "u": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true},
            },
            "type": "object",
        });
        assert_eq!(
            v3_to_v2(&v3),
            json!({
                "properties": {
                    "metadata": {"$ref": "#/definitions/M", "description": "d"},
                    "n": {"type": "string"},
                    "u": {"x-kubernetes-int-or-string": true},
                },
                "type": "object",
            })
        );
    }

    #[test]
    fn custom_resources_get_standard_fields_gvk_and_a_list() {
        let crd = CustomResourceSchema {
            group: "stable.example.com".into(),
            version: "v1".into(),
            kind: "CronTab".into(),
            list_kind: String::new(),
            schema: Some(json!({
                "type": "object",
                "properties": {"spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}},
            })),
        };
        let schemas = custom_resource_schemas(&crd).unwrap();
        let (name, kind) = &schemas[0];
        assert_eq!(name, "com.example.stable.v1.CronTab");
        assert_eq!(
            kind["x-kubernetes-group-version-kind"],
            json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
        );
        assert_eq!(refs_of(&kind["properties"]["metadata"]), vec![OBJECT_META]);
        assert_eq!(
            kind["properties"]["spec"]["properties"]["cronSpec"]["type"],
            "string"
        );
        let (list_name, list) = &schemas[1];
        assert_eq!(list_name, "com.example.stable.v1.CronTabList");
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/com.example.stable.v1.CronTab"
        );
    }

    #[test]
    fn invalid_custom_schemas_are_errors_not_panics() {
        let mut crd = CustomResourceSchema {
            group: "g.io".into(),
            version: "v1".into(),
            kind: "K".into(),
            list_kind: "KList".into(),
            schema: Some(json!("not a schema")),
        };
        assert!(custom_resource_schemas(&crd).is_err());
        crd.schema = Some(json!({"properties": {"a": {"$ref": "#/definitions/Elsewhere"}}}));
        assert!(custom_resource_schemas(&crd).is_err());
        crd.schema = Some(json!({"properties": []}));
        assert!(custom_resource_schemas(&crd).is_err());
        crd.schema = None;
        let schemas = custom_resource_schemas(&crd).unwrap();
        assert_eq!(
            schemas[0].1["x-kubernetes-preserve-unknown-fields"],
            json!(true)
        );
    }
}
