//! The OpenAPI rules of upstream's CRD schema validation: `$ref`,
//! `uniqueItems`, `additionalProperties` with `properties`, list and map types,
//! defaults in metadata.

use serde_json::{Map, Value};

use super::embedded::is_meta_field;
use super::keywords::{arr_of, flag_of, obj_of, str_of};
use super::path::{child, index, key};
use crate::validation::FieldError;

/// Upstream's validation context while walking the schema: whether
/// `default` is allowed here (and why not), and whether the walk is inside
/// an object's `apiVersion`/`kind`/`metadata`.
#[derive(Clone, Default)]
pub(crate) struct RuleContext {
    pub(crate) forbid_defaults: Option<String>,
    pub(crate) inside_resource_meta: bool,
}

const OPENAPI_V3_TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];

/// `ValidateCustomResourceDefinitionOpenAPISchema` and the v3 standard
/// validator of upstream.
pub(crate) fn openapi_rules(
    m: &Map<String, Value>,
    path: &str,
    ctx: RuleContext,
    is_root: bool,
    errs: &mut Vec<FieldError>,
) {
    let p = |k: &str| child(path, k);
    let ty = str_of(m, "type");
    if !ty.is_empty() && !OPENAPI_V3_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(p("type"), ty, &OPENAPI_V3_TYPES));
    }
    if m.get("default").is_some_and(|v| !v.is_null())
        && let Some(reason) = &ctx.forbid_defaults
    {
        errs.push(FieldError::forbidden(
            p("default"),
            format!("must not be set {reason}"),
        ));
    }
    if !str_of(m, "id").is_empty() {
        errs.push(FieldError::forbidden(p("id"), "id is not supported"));
    }
    if m.get("additionalItems").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(
            p("additionalItems"),
            "additionalItems is not supported",
        ));
    }
    if obj_of(m, "patternProperties").is_some_and(|pp| !pp.is_empty()) {
        errs.push(FieldError::forbidden(
            p("patternProperties"),
            "patternProperties is not supported",
        ));
    }
    if obj_of(m, "definitions").is_some_and(|d| !d.is_empty()) {
        errs.push(FieldError::forbidden(
            p("definitions"),
            "definitions is not supported",
        ));
    }
    if m.get("dependencies").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(
            p("dependencies"),
            "dependencies is not supported",
        ));
    }
    if m.get("$ref").is_some_and(|v| !v.is_null()) {
        errs.push(FieldError::forbidden(p("$ref"), "$ref is not supported"));
    }
    if ty == "null" {
        errs.push(FieldError::forbidden(
            p("type"),
            "type cannot be set to null, use nullable as an alternative",
        ));
    }
    if m.get("items")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        errs.push(FieldError::forbidden(
            p("items"),
            "items must be a schema object and not an array",
        ));
    }
    let embedded = flag_of(m, "x-kubernetes-embedded-resource");
    if ctx.inside_resource_meta && embedded {
        errs.push(FieldError::forbidden(
            p("x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    if flag_of(m, "uniqueItems") {
        errs.push(FieldError::forbidden(
            p("uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }

    let props = obj_of(m, "properties");
    if let Some(additional) = m.get("additionalProperties").filter(|v| !v.is_null()) {
        if props.is_some_and(|pr| !pr.is_empty())
            && matches!(additional, Value::Bool(false) | Value::Object(_))
        {
            errs.push(FieldError::forbidden(
                p("additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Some(a) = additional.as_object() {
            let mut sub = ctx.clone();
            if ctx.inside_resource_meta {
                sub.forbid_defaults =
                    Some("inside additionalProperties applying to object metadata".to_owned());
            }
            openapi_rules(a, &p("additionalProperties"), sub, false, errs);
        }
    }
    if let Some(props) = props {
        let base = p("properties");
        for (name, prop) in props {
            let Some(prop) = prop.as_object() else {
                continue;
            };
            let mut sub = ctx.clone();
            if (is_root || embedded) && is_meta_field(name) {
                sub.inside_resource_meta = true;
                if is_root {
                    sub.forbid_defaults = Some(format!("in top-level {name}"));
                }
            }
            openapi_rules(prop, &key(&base, name), sub, false, errs);
        }
    }
    if let Some(not) = obj_of(m, "not") {
        openapi_rules(not, &p("not"), ctx.clone(), false, errs);
    }
    for junctor in ["allOf", "oneOf", "anyOf"] {
        for (i, b) in arr_of(m, junctor).iter().enumerate() {
            if let Some(b) = b.as_object() {
                openapi_rules(b, &index(&p(junctor), i), ctx.clone(), false, errs);
            }
        }
    }
    if let Some(defs) = obj_of(m, "definitions") {
        for (name, d) in defs {
            if let Some(d) = d.as_object() {
                openapi_rules(d, &key(&p("definitions"), name), ctx.clone(), false, errs);
            }
        }
    }
    match m.get("items") {
        Some(Value::Object(items)) => openapi_rules(items, &p("items"), ctx.clone(), false, errs),
        Some(Value::Array(schemas)) => {
            for (i, s) in schemas.iter().enumerate() {
                if let Some(s) = s.as_object() {
                    openapi_rules(s, &index(&p("items"), i), ctx.clone(), false, errs);
                }
            }
        }
        _ => {}
    }
    if let Some(deps) = obj_of(m, "dependencies") {
        for (name, d) in deps {
            if let Some(d) = d.as_object() {
                openapi_rules(d, &key(&p("dependencies"), name), ctx.clone(), false, errs);
            }
        }
    }

    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        errs.push(FieldError::invalid(
            p("x-kubernetes-preserve-unknown-fields"),
            false,
            "must be true or undefined",
        ));
    }
    list_and_map_rules(m, path, errs);
}

fn list_and_map_rules(m: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    let p = |k: &str| child(path, k);
    let ty = str_of(m, "type");
    let map_type = m.get("x-kubernetes-map-type").and_then(Value::as_str);
    let list_type = m.get("x-kubernetes-list-type").and_then(Value::as_str);
    let map_keys: Vec<&str> = arr_of(m, "x-kubernetes-list-map-keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let items = obj_of(m, "items");

    if let Some(mt) = map_type {
        let msg = "must be object if x-kubernetes-map-type is specified";
        if ty.is_empty() {
            errs.push(FieldError::required(p("type"), msg));
        } else if ty != "object" {
            errs.push(FieldError::invalid(p("type"), ty, msg));
        }
        if mt != "atomic" && mt != "granular" {
            errs.push(FieldError::not_supported(
                p("x-kubernetes-map-type"),
                mt,
                &["atomic", "granular"],
            ));
        }
    }
    if let Some(lt) = list_type {
        let msg = "must be array if x-kubernetes-list-type is specified";
        if ty.is_empty() {
            errs.push(FieldError::required(p("type"), msg));
        } else if ty != "array" {
            errs.push(FieldError::invalid(p("type"), ty, msg));
        } else if lt == "set"
            && let Some(items) = items
        {
            let msg = "must be atomic as item of a list with x-kubernetes-list-type=set";
            let inner_list = items.get("x-kubernetes-list-type").and_then(Value::as_str);
            let inner_map = items.get("x-kubernetes-map-type").and_then(Value::as_str);
            match (str_of(items, "type"), inner_list) {
                ("array", Some(inner)) if inner != "atomic" => errs.push(FieldError::invalid(
                    child(&p("items"), "x-kubernetes-list-type"),
                    inner,
                    msg,
                )),
                // Upstream reports the items' list type here (usually unset).
                ("object", _) if inner_map != Some("atomic") => errs.push(FieldError::invalid(
                    child(&p("items"), "x-kubernetes-map-type"),
                    inner_list.map_or(Value::Null, Value::from),
                    msg,
                )),
                _ => {}
            }
        }
        if !matches!(lt, "atomic" | "set" | "map") {
            errs.push(FieldError::not_supported(
                p("x-kubernetes-list-type"),
                lt,
                &["atomic", "set", "map"],
            ));
        }
    }
    if !map_keys.is_empty() {
        let msg = "must be map if x-kubernetes-list-map-keys is non-empty";
        match list_type {
            None => errs.push(FieldError::required(p("x-kubernetes-list-type"), msg)),
            Some(lt) if lt != "map" => {
                errs.push(FieldError::invalid(p("x-kubernetes-list-type"), lt, msg));
            }
            Some(_) => {}
        }
    }
    if list_type == Some("map") {
        if map_keys.is_empty() {
            errs.push(FieldError::required(
                p("x-kubernetes-list-map-keys"),
                "must not be empty if x-kubernetes-list-type is map",
            ));
        }
        match m.get("items") {
            None | Some(Value::Null) => errs.push(FieldError::required(
                p("items"),
                "must have a schema if x-kubernetes-list-type is map",
            )),
            Some(Value::Array(a)) => errs.push(FieldError::invalid(
                p("items"),
                Value::Array(a.clone()),
                "must only have a single schema if x-kubernetes-list-type is map",
            )),
            Some(_) => {}
        }
        if let Some(items) = items {
            let item_type = str_of(items, "type");
            if item_type != "object" {
                errs.push(FieldError::invalid(
                    child(&p("items"), "type"),
                    item_type,
                    "must be object if parent array's x-kubernetes-list-type is map",
                ));
            } else {
                let keys_value = Value::from(map_keys.clone());
                let item_props = obj_of(items, "properties");
                let mut seen: Vec<&str> = Vec::new();
                for k in &map_keys {
                    match item_props.and_then(|ip| obj_of(ip, k)) {
                        Some(prop) => {
                            let t = str_of(prop, "type");
                            if t == "array" || t == "object" {
                                errs.push(FieldError::invalid(
                                    child(&key(&child(&p("items"), "properties"), k), "type"),
                                    item_type,
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                ));
                            }
                        }
                        None => errs.push(FieldError::invalid(
                            p("x-kubernetes-list-map-keys"),
                            keys_value.clone(),
                            "entries must all be names of item properties",
                        )),
                    }
                    if seen.contains(k) {
                        errs.push(FieldError::invalid(
                            p("x-kubernetes-list-map-keys"),
                            keys_value.clone(),
                            "must not contain duplicate entries",
                        ));
                    }
                    seen.push(k);
                }
            }
        }
    }
    // Set and map lists: items not nullable; map keys required or defaulted.
    if let (Some(lt @ ("set" | "map")), Some(items)) = (list_type, items) {
        if flag_of(items, "nullable") {
            errs.push(FieldError::forbidden(
                child(&p("items"), "nullable"),
                format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
            ));
        }
        if lt == "map" {
            let required: Vec<&str> = arr_of(items, "required")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for k in &map_keys {
                let Some(prop) = obj_of(items, "properties").and_then(|ip| obj_of(ip, k)) else {
                    continue;
                };
                let prop_path = key(&child(&p("items"), "properties"), k);
                if !required.contains(k) && prop.get("default").is_none_or(Value::is_null) {
                    errs.push(FieldError::required(
                        child(&prop_path, "default"),
                        "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                    ));
                }
                if flag_of(prop, "nullable") {
                    errs.push(FieldError::forbidden(
                        child(&prop_path, "nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    ));
                }
            }
        }
    }
}
