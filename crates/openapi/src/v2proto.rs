//! `/openapi/v2` in protobuf: the swagger 2.0 JSON document re-encoded as
//! gnostic's `openapi.v2.Document` message, the form kubectl up to 1.28
//! asks for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`)
//! and reads for client-side validation, `explain` and the patch strategies
//! of client-side apply.
//!
//! The message mirrors the JSON document the way gnostic reads one:
//! - an object with open-ended keys (paths, definitions, properties,
//!   responses, security requirements) is a repeated `Named*` pair
//!   (`name` = 1, `value` = 2) in the document's key order;
//! - keys starting with `x-` are `vendor_extension` pairs whose value is an
//!   `Any` holding the value as YAML text (`yaml` = 2), and so are
//!   `default`, `example` and each `enum` member: kubectl reads
//!   `x-kubernetes-group-version-kind` and the patch strategies this way;
//! - in a schema, `$ref` is `_ref`, `type` a `TypeItem` (repeated string),
//!   `items` an `ItemsItem` (repeated schema), `additionalProperties` an
//!   `AdditionalPropertiesItem` (a schema or a boolean);
//! - a parameter is a body parameter (`in: body`) or one of four non-body
//!   sub-schemas chosen by `in`; a parameter or response given as `$ref` is
//!   a `JsonReference`; a response schema of `type: file` is a `FileSchema`.
//!
//! Scalars equal to their proto3 zero are left out, as Go's encoder does,
//! but a message present in the JSON is written even when empty: kubectl
//! tells `properties: {}` from no `properties`. Keys the swagger 2.0 object
//! does not define are dropped. Fields are written in field-number order, as
//! Go's encoder writes them.
//!
//! A pure function of the document: it never panics, and recursion through
//! schemas (which custom resources supply) stops at [`MAX_DEPTH`].

use serde_json::{Map, Value};
use skewless_protobuf::Writer;

/// Far deeper than any schema a CRD may declare; a deeper schema is written
/// as an empty one.
const MAX_DEPTH: usize = 128;

/// Encodes a swagger 2.0 document (as `/openapi/v2` serves it in JSON) as
/// an `openapi.v2.Document`.
pub fn v2_protobuf(document: &Value) -> Vec<u8> {
    let mut w = Writer::new();
    if let Some(doc) = document.as_object() {
        write_document(&mut w, doc);
    }
    w.into_bytes()
}

type Obj = Map<String, Value>;

fn write_document(w: &mut Writer, doc: &Obj) {
    string(w, 1, doc, "swagger");
    object(w, 2, doc, "info", write_info);
    string(w, 3, doc, "host");
    string(w, 4, doc, "basePath");
    strings(w, 5, doc, "schemes");
    strings(w, 6, doc, "consumes");
    strings(w, 7, doc, "produces");
    object(w, 8, doc, "paths", |w, paths| {
        extensions(w, 1, paths);
        named(w, 2, paths, write_path_item);
    });
    object(w, 9, doc, "definitions", |w, defs| {
        named(w, 1, defs, |w, s| write_schema(w, s, 0));
    });
    object(w, 10, doc, "parameters", |w, params| {
        named(w, 1, params, write_parameter);
    });
    object(w, 11, doc, "responses", |w, responses| {
        named(w, 1, responses, write_response);
    });
    objects(w, 12, doc, "security", write_security_requirement);
    object(w, 13, doc, "securityDefinitions", |w, defs| {
        named(w, 1, defs, write_security_definition);
    });
    objects(w, 14, doc, "tags", |w, tag| {
        string(w, 1, tag, "name");
        string(w, 2, tag, "description");
        object(w, 3, tag, "externalDocs", write_external_docs);
        extensions(w, 4, tag);
    });
    object(w, 15, doc, "externalDocs", write_external_docs);
    extensions(w, 16, doc);
}

fn write_info(w: &mut Writer, info: &Obj) {
    string(w, 1, info, "title");
    string(w, 2, info, "version");
    string(w, 3, info, "description");
    string(w, 4, info, "termsOfService");
    object(w, 5, info, "contact", |w, c| {
        string(w, 1, c, "name");
        string(w, 2, c, "url");
        string(w, 3, c, "email");
        extensions(w, 4, c);
    });
    object(w, 6, info, "license", |w, l| {
        string(w, 1, l, "name");
        string(w, 2, l, "url");
        extensions(w, 3, l);
    });
    extensions(w, 7, info);
}

fn write_external_docs(w: &mut Writer, docs: &Obj) {
    string(w, 1, docs, "description");
    string(w, 2, docs, "url");
    extensions(w, 3, docs);
}

fn write_path_item(w: &mut Writer, item: &Obj) {
    string(w, 1, item, "$ref");
    for (number, method) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        object(w, number, item, method, write_operation);
    }
    objects(w, 9, item, "parameters", write_parameters_item);
    extensions(w, 10, item);
}

fn write_operation(w: &mut Writer, op: &Obj) {
    strings(w, 1, op, "tags");
    string(w, 2, op, "summary");
    string(w, 3, op, "description");
    object(w, 4, op, "externalDocs", write_external_docs);
    string(w, 5, op, "operationId");
    strings(w, 6, op, "produces");
    strings(w, 7, op, "consumes");
    objects(w, 8, op, "parameters", write_parameters_item);
    object(w, 9, op, "responses", |w, responses| {
        for (code, value) in responses {
            let Some(response) = value.as_object().filter(|_| !code.starts_with("x-")) else {
                continue;
            };
            w.message(1, |w| {
                w.string(1, code);
                w.message(2, |w| match response.get("$ref") {
                    Some(_) => w.message(2, |w| write_json_reference(w, response)),
                    None => w.message(1, |w| write_response(w, response)),
                });
            });
        }
        extensions(w, 2, responses);
    });
    strings(w, 10, op, "schemes");
    boolean(w, 11, op, "deprecated");
    objects(w, 12, op, "security", write_security_requirement);
    extensions(w, 13, op);
}

/// `ParametersItem`: a parameter, or a `$ref` to one.
fn write_parameters_item(w: &mut Writer, param: &Obj) {
    match param.get("$ref") {
        Some(_) => w.message(2, |w| write_json_reference(w, param)),
        None => w.message(1, |w| write_parameter(w, param)),
    }
}

fn write_json_reference(w: &mut Writer, reference: &Obj) {
    string(w, 1, reference, "$ref");
    string(w, 2, reference, "description");
}

/// `Parameter`: a `BodyParameter`, or a `NonBodyParameter` holding the
/// sub-schema of its location. A parameter in no known location is left
/// empty.
fn write_parameter(w: &mut Writer, param: &Obj) {
    let location = param.get("in").and_then(Value::as_str).unwrap_or_default();
    if location == "body" {
        w.message(1, |w| {
            string(w, 1, param, "description");
            string(w, 2, param, "name");
            string(w, 3, param, "in");
            boolean(w, 4, param, "required");
            object(w, 5, param, "schema", |w, s| write_schema(w, s, 0));
            extensions(w, 6, param);
        });
        return;
    }
    // (oneof field, whether the sub-schema has `allowEmptyValue`)
    let (number, allow_empty) = match location {
        "header" => (1, false),
        "formData" => (2, true),
        "query" => (3, true),
        "path" => (4, false),
        _ => return,
    };
    w.message(2, |w| {
        w.message(number, |w| {
            boolean(w, 1, param, "required");
            string(w, 2, param, "in");
            string(w, 3, param, "description");
            string(w, 4, param, "name");
            if allow_empty {
                boolean(w, 5, param, "allowEmptyValue");
                write_primitive(w, 6, param, 0);
            } else {
                write_primitive(w, 5, param, 0);
            }
        });
    });
}

/// The fields non-body parameters, `PrimitivesItems` and `Header` share,
/// numbered consecutively from `first` (`type`) to `first + 16`
/// (`multipleOf`); the vendor extensions follow at `first + 17`, except in
/// `Header`, which writes its own.
fn write_primitive_fields(w: &mut Writer, first: u32, p: &Obj, depth: usize) {
    string(w, first, p, "type");
    string(w, first + 1, p, "format");
    if depth < MAX_DEPTH {
        object(w, first + 2, p, "items", |w, items| {
            write_primitive(w, 1, items, depth + 1);
        });
    }
    string(w, first + 3, p, "collectionFormat");
    any(w, first + 4, p, "default");
    double(w, first + 5, p, "maximum");
    boolean(w, first + 6, p, "exclusiveMaximum");
    double(w, first + 7, p, "minimum");
    boolean(w, first + 8, p, "exclusiveMinimum");
    int64(w, first + 9, p, "maxLength");
    int64(w, first + 10, p, "minLength");
    string(w, first + 11, p, "pattern");
    int64(w, first + 12, p, "maxItems");
    int64(w, first + 13, p, "minItems");
    boolean(w, first + 14, p, "uniqueItems");
    anys(w, first + 15, p, "enum");
    double(w, first + 16, p, "multipleOf");
}

fn write_primitive(w: &mut Writer, first: u32, p: &Obj, depth: usize) {
    write_primitive_fields(w, first, p, depth);
    extensions(w, first + 17, p);
}

fn write_response(w: &mut Writer, response: &Obj) {
    string(w, 1, response, "description");
    object(w, 2, response, "schema", |w, schema| {
        if schema.get("type").and_then(Value::as_str) == Some("file") {
            w.message(2, |w| write_file_schema(w, schema));
        } else {
            w.message(1, |w| write_schema(w, schema, 0));
        }
    });
    object(w, 3, response, "headers", |w, headers| {
        named(w, 1, headers, |w, header| {
            write_primitive_fields(w, 1, header, 0);
            string(w, 18, header, "description");
            extensions(w, 19, header);
        });
    });
    object(w, 4, response, "examples", |w, examples| {
        for (name, value) in examples {
            w.message(1, |w| {
                w.string(1, name);
                write_any(w, 2, value);
            });
        }
    });
    extensions(w, 5, response);
}

fn write_file_schema(w: &mut Writer, s: &Obj) {
    string(w, 1, s, "format");
    string(w, 2, s, "title");
    string(w, 3, s, "description");
    any(w, 4, s, "default");
    strings(w, 5, s, "required");
    string(w, 6, s, "type");
    boolean(w, 7, s, "readOnly");
    object(w, 8, s, "externalDocs", write_external_docs);
    any(w, 9, s, "example");
    extensions(w, 10, s);
}

/// `Schema`, the JSON schema subset of swagger 2.0.
fn write_schema(w: &mut Writer, s: &Obj, depth: usize) {
    if depth >= MAX_DEPTH {
        return;
    }
    let sub = |w: &mut Writer, number: u32, schema: &Obj| {
        w.message(number, |w| write_schema(w, schema, depth + 1));
    };
    string(w, 1, s, "$ref");
    string(w, 2, s, "format");
    string(w, 3, s, "title");
    string(w, 4, s, "description");
    any(w, 5, s, "default");
    double(w, 6, s, "multipleOf");
    double(w, 7, s, "maximum");
    boolean(w, 8, s, "exclusiveMaximum");
    double(w, 9, s, "minimum");
    boolean(w, 10, s, "exclusiveMinimum");
    int64(w, 11, s, "maxLength");
    int64(w, 12, s, "minLength");
    string(w, 13, s, "pattern");
    int64(w, 14, s, "maxItems");
    int64(w, 15, s, "minItems");
    boolean(w, 16, s, "uniqueItems");
    int64(w, 17, s, "maxProperties");
    int64(w, 18, s, "minProperties");
    strings(w, 19, s, "required");
    anys(w, 20, s, "enum");
    match s.get("additionalProperties") {
        Some(Value::Bool(allowed)) => w.message(21, |w| w.bool(2, *allowed)),
        Some(Value::Object(schema)) => w.message(21, |w| sub(w, 1, schema)),
        _ => {}
    }
    if matches!(s.get("type"), Some(Value::String(_) | Value::Array(_))) {
        w.message(22, |w| strings(w, 1, s, "type"));
    }
    match s.get("items") {
        Some(Value::Object(schema)) => w.message(23, |w| sub(w, 1, schema)),
        Some(Value::Array(schemas)) => w.message(23, |w| {
            for schema in schemas.iter().filter_map(Value::as_object) {
                sub(w, 1, schema);
            }
        }),
        _ => {}
    }
    for schema in list(s, "allOf").filter_map(Value::as_object) {
        sub(w, 24, schema);
    }
    object(w, 25, s, "properties", |w, properties| {
        for (name, schema) in properties {
            if let Some(schema) = schema.as_object() {
                w.message(1, |w| {
                    w.string(1, name);
                    sub(w, 2, schema);
                });
            }
        }
    });
    string(w, 26, s, "discriminator");
    boolean(w, 27, s, "readOnly");
    object(w, 28, s, "xml", |w, xml| {
        string(w, 1, xml, "name");
        string(w, 2, xml, "namespace");
        string(w, 3, xml, "prefix");
        boolean(w, 4, xml, "attribute");
        boolean(w, 5, xml, "wrapped");
        extensions(w, 6, xml);
    });
    object(w, 29, s, "externalDocs", write_external_docs);
    any(w, 30, s, "example");
    extensions(w, 31, s);
}

/// `SecurityRequirement`: scheme name -> scopes.
fn write_security_requirement(w: &mut Writer, requirement: &Obj) {
    for (name, scopes) in requirement {
        w.message(1, |w| {
            w.string(1, name);
            w.message(2, |w| {
                for scope in scopes.as_array().into_iter().flatten() {
                    if let Some(scope) = scope.as_str() {
                        w.string(1, scope);
                    }
                }
            });
        });
    }
}

/// `SecurityDefinitionsItem`, chosen by `type` (and `flow` for OAuth 2).
fn write_security_definition(w: &mut Writer, def: &Obj) {
    let kind = def.get("type").and_then(Value::as_str).unwrap_or_default();
    let flow = def.get("flow").and_then(Value::as_str).unwrap_or_default();
    let scopes = |w: &mut Writer, number: u32| {
        object(w, number, def, "scopes", |w, scopes| {
            for (name, text) in scopes {
                w.message(1, |w| {
                    w.string(1, name);
                    if let Some(text) = text.as_str().filter(|t| !t.is_empty()) {
                        w.string(2, text);
                    }
                });
            }
        });
    };
    match (kind, flow) {
        ("basic", _) => w.message(1, |w| {
            string(w, 1, def, "type");
            string(w, 2, def, "description");
            extensions(w, 3, def);
        }),
        ("apiKey", _) => w.message(2, |w| {
            string(w, 1, def, "type");
            string(w, 2, def, "name");
            string(w, 3, def, "in");
            string(w, 4, def, "description");
            extensions(w, 5, def);
        }),
        ("oauth2", "implicit") => w.message(3, |w| {
            string(w, 1, def, "type");
            string(w, 2, def, "flow");
            scopes(w, 3);
            string(w, 4, def, "authorizationUrl");
            string(w, 5, def, "description");
            extensions(w, 6, def);
        }),
        ("oauth2", "password" | "application") => {
            w.message(if flow == "password" { 4 } else { 5 }, |w| {
                string(w, 1, def, "type");
                string(w, 2, def, "flow");
                scopes(w, 3);
                string(w, 4, def, "tokenUrl");
                string(w, 5, def, "description");
                extensions(w, 6, def);
            });
        }
        ("oauth2", "accessCode") => w.message(6, |w| {
            string(w, 1, def, "type");
            string(w, 2, def, "flow");
            scopes(w, 3);
            string(w, 4, def, "authorizationUrl");
            string(w, 5, def, "tokenUrl");
            string(w, 6, def, "description");
            extensions(w, 7, def);
        }),
        _ => {}
    }
}

// Field helpers: each writes the JSON value at `key` of `obj` as field
// `number`, or nothing when the key is absent, of another JSON type, or
// (for scalars) the proto3 zero.

fn string(w: &mut Writer, number: u32, obj: &Obj, key: &str) {
    if let Some(s) = obj
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        w.string(number, s);
    }
}

/// A repeated string; a lone string counts as a list of one (`type`).
fn strings(w: &mut Writer, number: u32, obj: &Obj, key: &str) {
    match obj.get(key) {
        Some(Value::String(s)) => w.string(number, s),
        Some(Value::Array(items)) => {
            for s in items.iter().filter_map(Value::as_str) {
                w.string(number, s);
            }
        }
        _ => {}
    }
}

fn boolean(w: &mut Writer, number: u32, obj: &Obj, key: &str) {
    if obj.get(key).and_then(Value::as_bool) == Some(true) {
        w.bool(number, true);
    }
}

fn double(w: &mut Writer, number: u32, obj: &Obj, key: &str) {
    if let Some(n) = obj.get(key).and_then(Value::as_f64).filter(|n| *n != 0.0) {
        w.double(number, n);
    }
}

fn int64(w: &mut Writer, number: u32, obj: &Obj, key: &str) {
    let n = match obj.get(key) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    };
    if let Some(n) = n.filter(|n| *n != 0) {
        w.int64(number, n);
    }
}

fn any(w: &mut Writer, number: u32, obj: &Obj, key: &str) {
    if let Some(value) = obj.get(key) {
        write_any(w, number, value);
    }
}

fn anys(w: &mut Writer, number: u32, obj: &Obj, key: &str) {
    for value in list(obj, key) {
        write_any(w, number, value);
    }
}

/// An `Any` message holding `value` as YAML text.
fn write_any(w: &mut Writer, number: u32, value: &Value) {
    w.message(number, |w| w.string(2, &yaml(value)));
}

/// `value` as a YAML document, as gnostic stores it (`merge\n`,
/// `- group: ''\n  kind: Pod\n  version: v1\n`). JSON text is YAML too, so it
/// stands in should the YAML writer refuse a value.
fn yaml(value: &Value) -> String {
    serde_norway::to_string(value)
        .unwrap_or_else(|_| format!("{}\n", serde_json::to_string(value).unwrap_or_default()))
}

/// The `x-` keys of `obj` as repeated `NamedAny`.
fn extensions(w: &mut Writer, number: u32, obj: &Obj) {
    for (name, value) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
        w.message(number, |w| {
            w.string(1, name);
            write_any(w, 2, value);
        });
    }
}

/// The object-valued entries of `obj` other than `x-` keys as repeated
/// `Named*` pairs whose values `fill` writes.
fn named(w: &mut Writer, number: u32, obj: &Obj, fill: impl Fn(&mut Writer, &Obj)) {
    for (name, value) in obj.iter().filter(|(k, _)| !k.starts_with("x-")) {
        if let Some(value) = value.as_object() {
            w.message(number, |w| {
                w.string(1, name);
                w.message(2, |w| fill(w, value));
            });
        }
    }
}

/// The object at `key` as an embedded message that `fill` writes.
fn object(w: &mut Writer, number: u32, obj: &Obj, key: &str, fill: impl FnOnce(&mut Writer, &Obj)) {
    if let Some(inner) = obj.get(key).and_then(Value::as_object) {
        w.message(number, |w| fill(w, inner));
    }
}

/// The objects of the array at `key` as a repeated message.
fn objects(w: &mut Writer, number: u32, obj: &Obj, key: &str, fill: impl Fn(&mut Writer, &Obj)) {
    for inner in list(obj, key).filter_map(Value::as_object) {
        w.message(number, |w| fill(w, inner));
    }
}

fn list<'a>(obj: &'a Obj, key: &str) -> impl Iterator<Item = &'a Value> {
    obj.get(key).and_then(Value::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests;
