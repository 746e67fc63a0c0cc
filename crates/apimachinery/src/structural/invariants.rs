//! Upstream's structural-schema rules ([`is_structural`]): types everywhere,
//! no generic keywords or extra fields in value validations.

use serde_json::{Map, Value};

use super::keywords::{arr_of, flag_of, is_set, obj_of, str_of};
use super::path::{child, index, key};
use super::schema::compile_pattern;
use crate::validation::FieldError;

/// Where a structural node sits, for upstream's "must not be empty ..."
/// wording.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// Upstream's structural-schema rules (`ValidateStructural`): every
/// specified field and array item has a `type` (unless
/// `x-kubernetes-int-or-string` or `x-kubernetes-preserve-unknown-fields`),
/// arrays have `items`, the root is an object without
/// `additionalProperties`, root `metadata` restricts at most `name` and
/// `generateName`, embedded resources are objects, and value validations
/// (`allOf`/`anyOf`/`oneOf`/`not`) neither set generic keywords nor specify
/// fields the structural part does not. Errors are sorted by their text, as
/// upstream sorts them.
pub(crate) fn is_structural(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(root) = schema.as_object() {
        structural_invariants(root, Level::Root, path, &mut errs);
        value_validation_completeness(root, Some(root), path, path, &mut errs);
    }
    errs.sort_by_cached_key(|e| e.to_string());
    errs
}

fn structural_invariants(
    m: &Map<String, Value>,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let ty = str_of(m, "type");
    if ty == "array" && !m.get("items").is_some_and(is_set_or_object) {
        errs.push(FieldError::required(
            child(path, "items"),
            "must be specified",
        ));
    }
    if let Some(items) = obj_of(m, "items") {
        structural_invariants(items, Level::Item, &child(path, "items"), errs);
    }
    if let Some(props) = obj_of(m, "properties") {
        let base = child(path, "properties");
        for (k, p) in props {
            if let Some(p) = p.as_object() {
                structural_invariants(p, Level::Field, &key(&base, k), errs);
            }
        }
    }
    let additional = m.get("additionalProperties").filter(|v| !v.is_null());
    if let Some(additional) = additional {
        let p = child(path, "additionalProperties");
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(
                p.clone(),
                "must not be used at the root",
            ));
        }
        if let Some(a) = additional.as_object() {
            structural_invariants(a, Level::Field, &p, errs);
        }
    }

    let int_or_string = flag_of(m, "x-kubernetes-int-or-string");
    let preserve = flag_of(m, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag_of(m, "x-kubernetes-embedded-resource");
    if int_or_string && preserve {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if int_or_string && embedded {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-embedded-resource"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }

    let skip_any_of = is_int_or_string_any_of(m);
    let skip_first_all_of_any_of = arr_of(m, "allOf")
        .first()
        .and_then(Value::as_object)
        .is_some_and(is_int_or_string_any_of);
    value_validation(m, skip_any_of, skip_first_all_of_any_of, lvl, path, errs);

    let type_path = child(path, "type");
    if embedded && ty != "object" {
        let msg = "must be object if x-kubernetes-embedded-resource is true";
        if ty.is_empty() {
            errs.push(FieldError::required(type_path.clone(), msg));
        } else {
            errs.push(FieldError::invalid(type_path.clone(), ty, msg));
        }
    } else if ty.is_empty() && !int_or_string && !preserve {
        let msg = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(type_path.clone(), msg));
    }
    if embedded && additional.is_some() {
        errs.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        errs.push(FieldError::invalid(
            type_path,
            ty,
            "must be object at the root",
        ));
    }

    let check_metadata = lvl == Level::Root || embedded;
    let props = obj_of(m, "properties");
    let props_path = child(path, "properties");
    if check_metadata {
        for name in ["kind", "apiVersion"] {
            if let Some(p) = props.and_then(|p| obj_of(p, name)) {
                let t = str_of(p, "type");
                if t != "string" {
                    errs.push(FieldError::invalid(
                        child(&key(&props_path, name), "type"),
                        t,
                        "must be string",
                    ));
                }
            }
        }
    }
    if let Some(metadata) = props.and_then(|p| obj_of(p, "metadata")) {
        let p = key(&props_path, "metadata");
        let t = str_of(metadata, "type");
        if check_metadata && t != "object" {
            errs.push(FieldError::invalid(child(&p, "type"), t, "must be object"));
        }
        if lvl == Level::Root && metadata_specifies_more_than_names(metadata) {
            errs.push(FieldError::forbidden(
                p,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if embedded && !preserve && props.is_none_or(Map::is_empty) {
        errs.push(FieldError::required(
            props_path,
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

fn is_set_or_object(v: &Value) -> bool {
    v.is_object() || is_set(v)
}

/// Root `metadata` may only say `type` (and `default`, rejected elsewhere)
/// and restrict `name` and/or `generateName`.
fn metadata_specifies_more_than_names(metadata: &Map<String, Value>) -> bool {
    metadata.iter().any(|(k, v)| match k.as_str() {
        "type" | "default" => false,
        "properties" => v.as_object().is_some_and(|props| {
            props
                .keys()
                .any(|name| name != "name" && name != "generateName")
        }),
        _ => is_set(v),
    })
}

/// `anyOf: [{type: integer}, {type: string}]` and nothing else in either
/// branch: the one place a value validation may carry `type`.
fn is_int_or_string_any_of(m: &Map<String, Value>) -> bool {
    let any_of = arr_of(m, "anyOf");
    let only_type = |v: &Value, ty: &str| {
        v.as_object().is_some_and(|b| {
            b.iter()
                .all(|(k, v)| if k == "type" { v == ty } else { !is_set(v) })
        })
    };
    any_of.len() == 2 && only_type(&any_of[0], "integer") && only_type(&any_of[1], "string")
}

fn value_validation(
    m: &Map<String, Value>,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, b) in arr_of(m, "anyOf").iter().enumerate() {
            if let Some(b) = b.as_object() {
                nested_value_validation(
                    b,
                    false,
                    false,
                    lvl,
                    &index(&child(path, "anyOf"), i),
                    errs,
                );
            }
        }
    }
    for (i, b) in arr_of(m, "allOf").iter().enumerate() {
        if let Some(b) = b.as_object() {
            let skip = skip_first_all_of_any_of && i == 0;
            nested_value_validation(b, skip, false, lvl, &index(&child(path, "allOf"), i), errs);
        }
    }
    for (i, b) in arr_of(m, "oneOf").iter().enumerate() {
        if let Some(b) = b.as_object() {
            nested_value_validation(b, false, false, lvl, &index(&child(path, "oneOf"), i), errs);
        }
    }
    if let Some(not) = obj_of(m, "not") {
        nested_value_validation(not, false, false, lvl, &child(path, "not"), errs);
    }
    let pattern = str_of(m, "pattern");
    if !pattern.is_empty()
        && let Err(e) = compile_pattern(pattern)
    {
        errs.push(FieldError::invalid(
            child(path, "pattern"),
            pattern,
            format!("must be a valid regular expression, but isn't: {e}"),
        ));
    }
}

/// Inside `allOf`/`anyOf`/`oneOf`/`not`: only value validations, no generic
/// keywords or Kubernetes extensions, and no `metadata`.
fn nested_value_validation(
    m: &Map<String, Value>,
    skip_any_of: bool,
    skip_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    value_validation(m, skip_any_of, skip_all_of_any_of, lvl, path, errs);
    if let Some(items) = obj_of(m, "items") {
        nested_value_validation(items, false, false, lvl, &child(path, "items"), errs);
    }
    if let Some(props) = obj_of(m, "properties") {
        let base = child(path, "properties");
        for (k, p) in props {
            if let Some(p) = p.as_object() {
                nested_value_validation(p, false, false, Level::Field, &key(&base, k), errs);
            }
        }
    }
    let forbid = |errs: &mut Vec<FieldError>, k: &str, msg: &str| {
        errs.push(FieldError::forbidden(child(path, k), msg));
    };
    let set = |k: &str| m.get(k).is_some_and(is_set);
    let defined = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
    if set("type") {
        forbid(errs, "type", "must be empty to be structural");
    }
    if defined("additionalProperties") {
        forbid(
            errs,
            "additionalProperties",
            "must be undefined to be structural",
        );
    }
    if defined("default") {
        forbid(errs, "default", "must be undefined to be structural");
    }
    if set("title") {
        forbid(errs, "title", "must be empty to be structural");
    }
    if set("description") {
        forbid(errs, "description", "must be empty to be structural");
    }
    if set("nullable") {
        forbid(errs, "nullable", "must be false to be structural");
    }
    if defined("externalDocs") {
        forbid(errs, "externalDocs", "must be undefined to be structural");
    }
    for k in [
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    ] {
        if set(k) {
            forbid(errs, k, "must be false to be structural");
        }
    }
    if set("x-kubernetes-list-map-keys") {
        forbid(
            errs,
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    for k in ["x-kubernetes-list-type", "x-kubernetes-map-type"] {
        if defined(k) {
            forbid(errs, k, "must be undefined to be structural");
        }
    }
    if set("x-kubernetes-validations") {
        forbid(
            errs,
            "x-kubernetes-validations",
            "must be empty to be structural",
        );
    }
    if obj_of(m, "properties").is_some_and(|p| p.contains_key("metadata")) {
        errs.push(FieldError::forbidden(
            key(&child(path, "properties"), "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

/// The structural node `s` at `s_path`, or `None` after reporting it as
/// required because the value validation at `v_path` mentions it.
fn specified<'s>(
    s: Option<&'s Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) -> Option<&'s Map<String, Value>> {
    if s.is_none() {
        errs.push(FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        ));
    }
    s
}

/// Every field or array a value validation mentions must also be specified
/// in the structural part (checked for the root's value validations, as
/// upstream).
fn value_validation_completeness(
    v: &Map<String, Value>,
    s: Option<&Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = specified(s, s_path, v_path, errs) else {
        return;
    };
    if let Some(not) = obj_of(v, "not") {
        nested_completeness(not, Some(s), s_path, &child(v_path, "not"), errs);
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (i, b) in arr_of(v, junctor).iter().enumerate() {
            if let Some(b) = b.as_object() {
                nested_completeness(b, Some(s), s_path, &index(&child(v_path, junctor), i), errs);
            }
        }
    }
}

fn nested_completeness(
    v: &Map<String, Value>,
    s: Option<&Map<String, Value>>,
    s_path: &str,
    v_path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = specified(s, s_path, v_path, errs) else {
        return;
    };
    value_validation_completeness(v, Some(s), s_path, v_path, errs);
    if let Some(items) = obj_of(v, "items") {
        nested_completeness(
            items,
            obj_of(s, "items"),
            &child(s_path, "items"),
            &child(v_path, "items"),
            errs,
        );
    }
    if let Some(props) = obj_of(v, "properties") {
        let s_props = obj_of(s, "properties");
        for (k, p) in props {
            let Some(p) = p.as_object() else {
                continue;
            };
            let sp = key(&child(s_path, "properties"), k);
            let vp = key(&child(v_path, "properties"), k);
            let s_prop = s_props.and_then(|sp| obj_of(sp, k));
            nested_completeness(p, s_prop, &sp, &vp, errs);
        }
    }
}
