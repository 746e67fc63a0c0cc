//! Embedded resources (`x-kubernetes-embedded-resource`): their
//! `apiVersion`, `kind` and `metadata` are validated like a top-level object's
//! (upstream's schema/objectmeta validation).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::path::{child, index};
use super::schema::Schema;
use crate::validation::{
    FieldError, NameRule, is_dns1035_label, is_dns1123_label, validate_annotations,
    validate_labels, validate_object_meta_name,
};

// ---------------------------------------------------------------------------
// Embedded resources (upstream's schema/objectmeta validation)
// ---------------------------------------------------------------------------

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

pub(crate) fn is_meta_field(k: &str) -> bool {
    META_FIELDS.contains(&k)
}

pub(crate) fn validate_embedded(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Object(m) => {
            if s.embedded_resource {
                validate_embedded_resource(path, m, errs);
            }
            for (k, val) in m {
                if let Some((p, field)) = s.field_schema(path, k) {
                    validate_embedded(p, val, &field, errs);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &s.items {
                for (i, item) in items.iter().enumerate() {
                    validate_embedded(item_schema, item, &index(path, i), errs);
                }
            }
        }
        _ => {}
    }
}

/// `apiVersion` and `kind` are required (upstream does not require
/// `metadata`); all three are checked when present.
fn validate_embedded_resource(path: &str, m: &Map<String, Value>, errs: &mut Vec<FieldError>) {
    for required in ["apiVersion", "kind"] {
        if !m.contains_key(required) {
            errs.push(FieldError::required(
                child(path, required),
                "must not be empty",
            ));
        }
    }
    if let Some(v) = m.get("apiVersion") {
        let p = child(path, "apiVersion");
        match v {
            Value::String(gv) if gv.is_empty() => {
                errs.push(FieldError::invalid(p, gv.as_str(), "must not be empty"));
            }
            Value::String(gv) if gv.matches('/').count() > 1 => {
                errs.push(FieldError::invalid(
                    p,
                    gv.as_str(),
                    format!("unexpected GroupVersion string: {gv}"),
                ));
            }
            Value::String(_) => {}
            other => errs.push(FieldError::invalid(p, other.clone(), "must be a string")),
        }
    }
    if let Some(v) = m.get("kind") {
        let p = child(path, "kind");
        match v {
            Value::String(kind) if kind.is_empty() => {
                errs.push(FieldError::invalid(p, kind.as_str(), "must not be empty"));
            }
            Value::String(kind) => {
                let msgs = is_dns1035_label(&kind.to_lowercase());
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        p,
                        kind.as_str(),
                        format!(
                            "may have mixed case, but should otherwise match: {}",
                            msgs.join(",")
                        ),
                    ));
                }
            }
            other => errs.push(FieldError::invalid(p, other.clone(), "must be a string")),
        }
    }
    if let Some(meta) = m.get("metadata") {
        validate_embedded_meta(&child(path, "metadata"), meta, errs);
    }
}

/// ObjectMeta of an embedded resource: name (path-segment rule; upstream
/// substitutes a fake name when empty), generateName, namespace, labels and
/// annotations.
fn validate_embedded_meta(path: &str, v: &Value, errs: &mut Vec<FieldError>) {
    let Some(meta) = v.as_object() else {
        errs.push(FieldError::invalid(path, v.clone(), "must be an object"));
        return;
    };
    let text = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or("");
    let name = match text("name") {
        "" => "fakename",
        n => n,
    };
    for mut e in validate_object_meta_name(name, text("generateName"), NameRule::PathSegment) {
        if let Some(rest) = e.field.strip_prefix("metadata") {
            e.field = format!("{path}{rest}");
        }
        errs.push(e);
    }
    let namespace = text("namespace");
    if !namespace.is_empty() {
        for msg in is_dns1123_label(namespace) {
            errs.push(FieldError::invalid(
                child(path, "namespace"),
                namespace,
                msg,
            ));
        }
    }
    for (field, check) in [
        (
            "labels",
            validate_labels as fn(&BTreeMap<String, String>, &str) -> Vec<FieldError>,
        ),
        ("annotations", validate_annotations),
    ] {
        let p = child(path, field);
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                let strings: Option<BTreeMap<String, String>> = map
                    .iter()
                    .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect();
                match strings {
                    Some(strings) => errs.extend(check(&strings, &p)),
                    None => errs.push(FieldError::invalid(
                        p,
                        Value::Object(map.clone()),
                        "must be a map of strings",
                    )),
                }
            }
            Some(other) => errs.push(FieldError::invalid(
                p,
                other.clone(),
                "must be a map of strings",
            )),
        }
    }
}
