use serde_json::{Map, Value, json};
use skewless_protobuf::{Reader, Wire};

use super::v2_protobuf;
use crate::{OpenApi, Release, ResourceRef};

/// The fields of one message; panics on malformed bytes (test input is
/// ours).
fn fields(buf: &[u8]) -> Vec<(u32, Wire<'_>)> {
    let mut reader = Reader::new(buf);
    let mut out = Vec::new();
    while let Some(field) = reader.next_field().expect("well-formed protobuf") {
        out.push(field);
    }
    out
}

fn messages(buf: &[u8], number: u32) -> Vec<&[u8]> {
    fields(buf)
        .into_iter()
        .filter_map(|(n, w)| match w {
            Wire::Len(b) if n == number => Some(b),
            _ => None,
        })
        .collect()
}

fn message(buf: &[u8], number: u32) -> Option<&[u8]> {
    messages(buf, number).into_iter().last()
}

fn strings(buf: &[u8], number: u32) -> Vec<String> {
    messages(buf, number)
        .into_iter()
        .map(|b| String::from_utf8(b.to_vec()).expect("utf-8"))
        .collect()
}

fn string(buf: &[u8], number: u32) -> Option<String> {
    strings(buf, number).pop()
}

/// `Named*` pairs of a repeated field: (name, encoded value).
fn named(buf: &[u8], number: u32) -> Vec<(String, &[u8])> {
    messages(buf, number)
        .into_iter()
        .map(|pair| {
            (
                string(pair, 1).unwrap_or_default(),
                message(pair, 2).unwrap_or_default(),
            )
        })
        .collect()
}

/// The JSON value of an `Any` (its YAML text).
fn any(buf: &[u8]) -> Value {
    serde_norway::from_str(&string(buf, 2).unwrap_or_default()).expect("yaml")
}

/// Reads a `Schema` message back into swagger 2.0 JSON: the inverse of the
/// encoder, written from the message definition.
fn schema_json(buf: &[u8]) -> Value {
    let mut out = Map::new();
    for (number, wire) in fields(buf) {
        let (key, value) = match (number, wire) {
            (1, Wire::Len(b)) => ("$ref", text(b)),
            (2, Wire::Len(b)) => ("format", text(b)),
            (3, Wire::Len(b)) => ("title", text(b)),
            (4, Wire::Len(b)) => ("description", text(b)),
            (5, Wire::Len(b)) => ("default", any(b)),
            (6, Wire::Fixed64(n)) => ("multipleOf", json!(f64::from_bits(n))),
            (7, Wire::Fixed64(n)) => ("maximum", json!(f64::from_bits(n))),
            (8, Wire::Varint(n)) => ("exclusiveMaximum", json!(n != 0)),
            (9, Wire::Fixed64(n)) => ("minimum", json!(f64::from_bits(n))),
            (10, Wire::Varint(n)) => ("exclusiveMinimum", json!(n != 0)),
            (11, Wire::Varint(n)) => ("maxLength", json!(n)),
            (12, Wire::Varint(n)) => ("minLength", json!(n)),
            (13, Wire::Len(b)) => ("pattern", text(b)),
            (14, Wire::Varint(n)) => ("maxItems", json!(n)),
            (15, Wire::Varint(n)) => ("minItems", json!(n)),
            (16, Wire::Varint(n)) => ("uniqueItems", json!(n != 0)),
            (17, Wire::Varint(n)) => ("maxProperties", json!(n)),
            (18, Wire::Varint(n)) => ("minProperties", json!(n)),
            (19, Wire::Len(b)) => {
                push(&mut out, "required", text(b));
                continue;
            }
            (20, Wire::Len(b)) => {
                push(&mut out, "enum", any(b));
                continue;
            }
            (21, Wire::Len(b)) => match fields(b).as_slice() {
                [(1, Wire::Len(s))] => ("additionalProperties", schema_json(s)),
                [(2, Wire::Varint(n))] => ("additionalProperties", json!(*n != 0)),
                other => panic!("AdditionalPropertiesItem {other:?}"),
            },
            (22, Wire::Len(b)) => match strings(b, 1).as_slice() {
                [one] => ("type", json!(one)),
                many => ("type", json!(many)),
            },
            (23, Wire::Len(b)) => match messages(b, 1).as_slice() {
                [one] => ("items", schema_json(one)),
                many => ("items", many.iter().map(|s| schema_json(s)).collect()),
            },
            (24, Wire::Len(b)) => {
                push(&mut out, "allOf", schema_json(b));
                continue;
            }
            (25, Wire::Len(b)) => (
                "properties",
                named(b, 1)
                    .into_iter()
                    .map(|(name, s)| (name, schema_json(s)))
                    .collect::<Map<_, _>>()
                    .into(),
            ),
            (27, Wire::Varint(n)) => ("readOnly", json!(n != 0)),
            (30, Wire::Len(b)) => ("example", any(b)),
            (31, Wire::Len(b)) => {
                let name = string(b, 1).unwrap_or_default();
                out.insert(name, any(message(b, 2).unwrap_or_default()));
                continue;
            }
            other => panic!("unexpected Schema field {other:?}"),
        };
        assert!(out.insert(key.to_owned(), value).is_none(), "{key} twice");
    }
    Value::Object(out)
}

fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8(b.to_vec()).expect("utf-8"))
}

fn push(out: &mut Map<String, Value>, key: &str, value: Value) {
    if let Value::Array(items) = out.entry(key).or_insert_with(|| json!([])) {
        items.push(value);
    }
}

/// Numbers as `f64`, so that `10` and `10.0` compare equal.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => a.iter().map(normalize).collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect(),
        other => other.clone(),
    }
}

#[test]
fn encodes_the_document_protoc_encodes_from_its_text_form() {
    // testdata/small.txtpb is small.json written by hand as the gnostic
    // message; small.pb is protoc's encoding of it. Byte equality pins every
    // field number and the oneof each parameter, response and security
    // definition lands in.
    let document: Value =
        serde_json::from_str(include_str!("testdata/small.json")).expect("valid JSON");
    let expected: &[u8] = include_bytes!("testdata/small.pb");
    let actual = v2_protobuf(&document);
    assert_eq!(
        actual, expected,
        "decode both with `protoc --decode=openapi.v2.Document` to compare"
    );
}

#[test]
fn definitions_read_back_as_their_json() {
    let resources = [
        ResourceRef::new("", "v1", "Pod", "pods", true, &["get", "list", "patch"]),
        ResourceRef::new(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            &["get", "create", "update"],
        ),
        ResourceRef::new(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingAdmissionPolicy",
            "mutatingadmissionpolicies",
            false,
            &["get", "create"],
        ),
    ];
    let document = OpenApi::new(Release::latest(), &resources).v2();
    let encoded = v2_protobuf(&document);

    assert_eq!(string(&encoded, 1).as_deref(), Some("2.0"));
    let paths: Vec<String> = named(message(&encoded, 8).expect("paths"), 2)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let json_paths: Vec<&String> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .collect();
    assert_eq!(paths.iter().collect::<Vec<_>>(), json_paths);
    assert!(
        paths.contains(&"/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies".into())
    );

    let definitions = named(message(&encoded, 9).expect("definitions"), 1);
    let json_definitions = document["definitions"].as_object().expect("definitions");
    assert_eq!(definitions.len(), json_definitions.len());
    for (name, schema) in definitions {
        assert_eq!(
            normalize(&schema_json(schema)),
            normalize(&json_definitions[&name]),
            "{name}"
        );
    }
}

#[test]
fn kubectl_reads_the_group_version_kind_and_refs_of_a_definition() {
    let resources = [ResourceRef::new("", "v1", "Pod", "pods", true, &["get"])];
    let encoded = v2_protobuf(&OpenApi::new(Release::latest(), &resources).v2());
    let definitions = named(message(&encoded, 9).expect("definitions"), 1);
    let (_, pod) = definitions
        .iter()
        .find(|(name, _)| name == "io.k8s.api.core.v1.Pod")
        .expect("the Pod definition");
    let gvk = named(pod, 31)
        .into_iter()
        .find(|(name, _)| name == "x-kubernetes-group-version-kind")
        .map(|(_, value)| any(value));
    assert_eq!(
        gvk,
        Some(json!([{"group": "", "kind": "Pod", "version": "v1"}]))
    );
    let properties = named(message(pod, 25).expect("properties"), 1);
    let spec = properties
        .iter()
        .find(|(name, _)| name == "spec")
        .map(|(_, s)| string(s, 1));
    assert_eq!(
        spec,
        Some(Some("#/definitions/io.k8s.api.core.v1.PodSpec".into()))
    );
}

#[test]
fn deep_schemas_stop_without_panicking() {
    let mut schema = json!({"type": "string"});
    for _ in 0..1000 {
        schema = json!({"type": "object", "properties": {"a": schema}});
    }
    let document = json!({"swagger": "2.0", "definitions": {"deep": schema}});
    let encoded = v2_protobuf(&document);
    let definitions = named(message(&encoded, 9).expect("definitions"), 1);
    assert_eq!(definitions.len(), 1);
    // Not a document at all: nothing to write.
    assert!(v2_protobuf(&json!([1, 2])).is_empty());
}
