//! The checks a CRD's `openAPIV3Schema` itself must pass ([`validate_schema`]):
//! keyword types, the root with a status subresource, and the defaults in the
//! schema. The structural rules are in `invariants`, the OpenAPI rules in
//! `rules`.

use serde_json::{Map, Value};

use super::embedded::validate_embedded;
use super::invariants::is_structural;
use super::keywords::{is_set, obj_of};
use super::list_type::validate_lists;
use super::path::{child, index, key};
use super::prune::prune_node;
use super::rules::{RuleContext, openapi_rules};
use super::schema::Schema;
use super::validate::Validator;
use super::values::json_eq;
use crate::validation::FieldError;

// ---------------------------------------------------------------------------
// Validation of the schema itself (part of CRD validation)
// ---------------------------------------------------------------------------

/// The `openAPIV3Schema` checks of CRD validation, reported under `path`
/// (e.g. `spec.versions[0].schema.openAPIV3Schema`), in upstream's order:
/// keyword types (upstream rejects those while decoding), the root
/// restrictions when the status subresource is enabled, `nullable` at the
/// root, the structural-schema rules ([`is_structural`]), then defaults
/// (pruned, and valid against their own schema), then the OpenAPI rules
/// (`$ref`, `uniqueItems: true`, `additionalProperties` with `properties`,
/// list and map types, defaults in metadata, ...).
pub(crate) fn validate_schema(
    schema: &Value,
    path: &str,
    status_subresource: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check_keyword_types(schema, path, &mut errs);
    if !errs.is_empty() {
        return errs;
    }
    let Some(root) = schema.as_object() else {
        return errs;
    };
    if status_subresource {
        check_status_root(root, schema, path, &mut errs);
    }
    if root.get("nullable").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::forbidden(
            child(path, "nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let structural = is_structural(schema, path);
    if structural.is_empty() {
        validate_defaults(root, path, &mut errs);
    } else {
        errs.extend(structural);
    }
    openapi_rules(root, path, RuleContext::default(), true, &mut errs);
    errs
}

/// The only root keywords upstream allows when the status subresource is
/// enabled (so that `properties.status` carries all of status' validation).
const ROOT_KEYWORDS_WITH_STATUS: &[&str] = &[
    "description",
    "type",
    "format",
    "title",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "required",
    "items",
    "properties",
    "externalDocs",
    "example",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
];

fn check_status_root(
    root: &Map<String, Value>,
    schema: &Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if let Some(ty) = root.get("type").and_then(Value::as_str)
        && !ty.is_empty()
        && ty != "object"
    {
        errs.push(FieldError::invalid(
            child(path, "type"),
            ty,
            "only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled",
        ));
        return;
    }
    if root
        .iter()
        .any(|(k, v)| is_set(v) && !ROOT_KEYWORDS_WITH_STATUS.contains(&k.as_str()))
    {
        errs.push(FieldError::invalid(
            path,
            schema.clone(),
            "only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled",
        ));
    }
}

/// Keyword value types, as decoding into upstream's `JSONSchemaProps` would
/// enforce them (upstream answers 400 with a decode error; here they are
/// field errors at the keyword).
fn check_keyword_types(v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else {
        errs.push(FieldError::type_invalid(
            path,
            v.clone(),
            "must be an object",
        ));
        return;
    };
    for (k, val) in m {
        if val.is_null() {
            continue;
        }
        let p = child(path, k);
        if let Some((what, ok)) = scalar_expectation(k) {
            if !ok(val) {
                errs.push(FieldError::type_invalid(
                    p,
                    val.clone(),
                    format!("must be {what}"),
                ));
            }
            continue;
        }
        let bad = |what: &str| {
            FieldError::type_invalid(p.clone(), val.clone(), format!("must be {what}"))
        };
        match k.as_str() {
            "allOf" | "anyOf" | "oneOf" => match val.as_array() {
                Some(branches) => {
                    for (i, b) in branches.iter().enumerate() {
                        check_keyword_types(b, &index(&p, i), errs);
                    }
                }
                None => errs.push(bad("an array of schemas")),
            },
            "not" => check_keyword_types(val, &p, errs),
            "items" => match val {
                Value::Array(schemas) => {
                    for (i, s) in schemas.iter().enumerate() {
                        check_keyword_types(s, &index(&p, i), errs);
                    }
                }
                other => check_keyword_types(other, &p, errs),
            },
            "additionalProperties" | "additionalItems" => match val {
                Value::Bool(_) => {}
                Value::Object(_) => check_keyword_types(val, &p, errs),
                _ => errs.push(bad("a boolean or an object")),
            },
            "properties" | "patternProperties" | "definitions" => match val.as_object() {
                Some(schemas) => {
                    for (name, s) in schemas {
                        check_keyword_types(s, &key(&p, name), errs);
                    }
                }
                None => errs.push(bad("an object")),
            },
            "dependencies" => match val.as_object() {
                Some(deps) => {
                    for (name, d) in deps {
                        if d.is_object() {
                            check_keyword_types(d, &key(&p, name), errs);
                        } else if !is_string_array(d) {
                            errs.push(FieldError::type_invalid(
                                key(&p, name),
                                d.clone(),
                                "must be an object or an array of strings",
                            ));
                        }
                    }
                }
                None => errs.push(bad("an object")),
            },
            _ => {}
        }
    }
}

fn is_string_array(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}

/// What a keyword's value must be: a description for the error, and the
/// check.
type Expectation = (&'static str, fn(&Value) -> bool);

/// The expected JSON type of a keyword that holds no schema.
fn scalar_expectation(keyword: &str) -> Option<Expectation> {
    let expectation: Expectation = match keyword {
        "id"
        | "$schema"
        | "$ref"
        | "description"
        | "type"
        | "format"
        | "title"
        | "pattern"
        | "x-kubernetes-list-type"
        | "x-kubernetes-map-type" => ("a string", Value::is_string),
        "maximum" | "minimum" | "multipleOf" => ("a number", Value::is_number),
        "maxLength" | "minLength" | "maxItems" | "minItems" | "maxProperties" | "minProperties" => {
            ("an integer", |v| v.as_i64().is_some())
        }
        "exclusiveMaximum"
        | "exclusiveMinimum"
        | "uniqueItems"
        | "nullable"
        | "x-kubernetes-preserve-unknown-fields"
        | "x-kubernetes-embedded-resource"
        | "x-kubernetes-int-or-string" => ("a boolean", Value::is_boolean),
        "required" | "x-kubernetes-list-map-keys" => ("an array of strings", is_string_array),
        "enum" | "x-kubernetes-validations" => ("an array", Value::is_array),
        "externalDocs" => ("an object", Value::is_object),
        _ => return None,
    };
    Some(expectation)
}

/// Defaults must survive pruning unchanged and validate against their own
/// schema (followed through `properties` and `items`, as upstream).
fn validate_defaults(m: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(default) = m.get("default").filter(|v| !v.is_null()) {
        let schema = Schema::from_map(m);
        let default_path = child(path, "default");
        let mut pruned = default.clone();
        prune_node(
            &mut pruned,
            Some(&schema),
            "",
            schema.embedded_resource,
            &mut Vec::new(),
        );
        if !json_eq(&pruned, default) {
            errs.push(FieldError::invalid(
                default_path,
                default.clone(),
                "must not have unknown fields",
            ));
        } else {
            let mut v = Validator::new(&default_path);
            v.validate(&schema, default, "");
            if v.errs.is_empty() {
                let mut more = Vec::new();
                validate_embedded(&schema, default, &default_path, &mut more);
                if more.is_empty() {
                    validate_lists(&schema, default, &default_path, &mut more);
                }
                errs.extend(more);
            } else {
                errs.extend(v.errs);
            }
        }
    }
    if let Some(props) = obj_of(m, "properties") {
        let base = child(path, "properties");
        for (k, p) in props {
            if let Some(p) = p.as_object() {
                validate_defaults(p, &key(&base, k), errs);
            }
        }
    }
    if let Some(items) = obj_of(m, "items") {
        validate_defaults(items, &child(path, "items"), errs);
    }
}
