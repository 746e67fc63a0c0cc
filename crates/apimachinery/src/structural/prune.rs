//! Pruning: dropping the fields a schema does not specify (upstream's
//! structural pruning), and the `null`s of non-nullable fields.

use serde_json::{Map, Value};

use super::embedded::is_meta_field;
use super::path::{child, index};
use super::schema::{AdditionalProperties, Schema};

// ---------------------------------------------------------------------------
// Pruning
// ---------------------------------------------------------------------------

/// The fields of `metav1.ObjectMeta`; anything else under an object's
/// `metadata` is pruned.
const OBJECT_META_FIELDS: &[&str] = &[
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
];
const OWNER_REFERENCE_FIELDS: &[&str] = &[
    "apiVersion",
    "blockOwnerDeletion",
    "controller",
    "kind",
    "name",
    "uid",
];
const MANAGED_FIELDS_ENTRY_FIELDS: &[&str] = &[
    "apiVersion",
    "fieldsType",
    "fieldsV1",
    "manager",
    "operation",
    "subresource",
    "time",
];

/// Removes the fields the schema does not specify and returns their paths,
/// sorted (`spec.foo`, `spec.items[0].bar`, `metadata.foo`), for `Warning:
/// unknown field "spec.foo"` headers or a `fieldValidation=Strict` error.
///
/// As upstream: the object is treated as a resource root, so `apiVersion`,
/// `kind` and `metadata` are always kept and `metadata` is cut down to
/// ObjectMeta's fields (the same holds inside
/// `x-kubernetes-embedded-resource` objects); under
/// `x-kubernetes-preserve-unknown-fields` unknown fields stay while known
/// ones are still pruned inside. Afterwards `null` values of non-nullable
/// fields without a default are dropped silently
/// ([`prune_non_nullable_nulls`]).
pub fn prune(schema: &Schema, obj: &mut Value) -> Vec<String> {
    let mut out = Vec::new();
    prune_node(obj, Some(schema), "", true, &mut out);
    prune_non_nullable_nulls(schema, obj);
    out.sort();
    out
}

pub(crate) fn prune_node(
    x: &mut Value,
    s: Option<&Schema>,
    path: &str,
    resource_root: bool,
    out: &mut Vec<String>,
) {
    if let Some(s) = s
        && s.preserve_unknown_fields
    {
        skip_prune(x, s, path, resource_root, out);
        return;
    }
    match x {
        Value::Object(map) => {
            let Some(s) = s else {
                out.extend(map.keys().map(|k| child(path, k)));
                map.clear();
                return;
            };
            let embedded = resource_root || s.embedded_resource;
            for k in prune_fields(map, s, path, embedded, out) {
                out.push(child(path, &k));
                map.remove(&k);
            }
            if embedded {
                coerce_metadata(map, path, out);
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for (i, v) in items.iter_mut().enumerate() {
                prune_node(v, item_schema, &index(path, i), false, out);
            }
        }
        _ => {}
    }
}

/// Prunes inside the fields of `map` that `s` specifies (a property, else
/// `additionalProperties`) and returns the keys it specifies nothing for,
/// leaving them in place; with `embedded`, `apiVersion`, `kind` and
/// `metadata` are skipped (see [`coerce_metadata`]).
fn prune_fields(
    map: &mut Map<String, Value>,
    s: &Schema,
    path: &str,
    embedded: bool,
    out: &mut Vec<String>,
) -> Vec<String> {
    let mut unknown = Vec::new();
    for (k, v) in map.iter_mut() {
        if embedded && is_meta_field(k) {
            continue;
        }
        if let Some(p) = s.properties.get(k) {
            prune_node(v, Some(p), &child(path, k), false, out);
        } else if let Some(extra) = &s.additional_properties {
            prune_node(v, extra.schema(), &child(path, k), false, out);
        } else {
            unknown.push(k.clone());
        }
    }
    unknown
}

/// Under `x-kubernetes-preserve-unknown-fields`: keep unknown fields, still
/// prune inside the specified ones.
fn skip_prune(x: &mut Value, s: &Schema, path: &str, resource_root: bool, out: &mut Vec<String>) {
    match x {
        Value::Object(map) => {
            let embedded = resource_root || s.embedded_resource;
            // Unknown fields are preserved here.
            let _preserved = prune_fields(map, s, path, embedded, out);
            if embedded {
                coerce_metadata(map, path, out);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &s.items {
                for (i, v) in items.iter_mut().enumerate() {
                    skip_prune(v, item_schema, &index(path, i), false, out);
                }
            }
        }
        _ => {}
    }
}

/// Cuts `metadata` of a resource (root or embedded) down to ObjectMeta.
/// A `metadata` that is not an object is left for validation to reject.
fn coerce_metadata(map: &mut Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let Some(Value::Object(meta)) = map.get_mut("metadata") else {
        return;
    };
    let meta_path = child(path, "metadata");
    retain_fields(meta, OBJECT_META_FIELDS, &meta_path, out);
    for (list, allowed) in [
        ("ownerReferences", OWNER_REFERENCE_FIELDS),
        ("managedFields", MANAGED_FIELDS_ENTRY_FIELDS),
    ] {
        if let Some(Value::Array(entries)) = meta.get_mut(list) {
            let list_path = child(&meta_path, list);
            for (i, entry) in entries.iter_mut().enumerate() {
                if let Value::Object(entry) = entry {
                    retain_fields(entry, allowed, &index(&list_path, i), out);
                }
            }
        }
    }
}

fn retain_fields(
    map: &mut Map<String, Value>,
    allowed: &[&str],
    path: &str,
    out: &mut Vec<String>,
) {
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        out.push(child(path, &k));
        map.remove(&k);
    }
}

/// Drops `null` values of fields whose schema is neither `nullable` nor has
/// a `default` (upstream's `PruneNonNullableNullsWithoutDefaults`), so that
/// `replicas: null` means "unset". Nulls with a default are left for
/// [`apply_defaults`]. Called by [`prune`].
pub(crate) fn prune_non_nullable_nulls(schema: &Schema, obj: &mut Value) {
    nulls_node(obj, Some(schema));
}

fn nulls_node(x: &mut Value, s: Option<&Schema>) {
    match x {
        Value::Object(map) => {
            let mut drop = Vec::new();
            for (k, v) in map.iter_mut() {
                let sub = s.and_then(|s| {
                    s.properties.get(k).or_else(|| {
                        s.additional_properties
                            .as_ref()
                            .and_then(AdditionalProperties::schema)
                    })
                });
                if v.is_null() && sub.is_some_and(|p| !p.nullable && p.default.is_none()) {
                    drop.push(k.clone());
                } else {
                    nulls_node(v, sub);
                }
            }
            for k in drop {
                map.remove(&k);
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.items.as_deref());
            for v in items {
                nulls_node(v, item_schema);
            }
        }
        _ => {}
    }
}
