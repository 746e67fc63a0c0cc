use serde_json::Value;

use super::check::validate_schema;
use super::defaults::apply_defaults;
use super::formats::{is_base64, is_date_time, is_hex_color, is_hostname, is_mac, is_ssn, is_uuid};
use super::invariants::is_structural;
use super::prune::prune;
use super::schema::Schema;
use super::validate::validate;
use super::values::go_float;

use serde_json::json;

/// The CRD path prefix most schema tests report under.
const P: &str = "spec.versions[0].schema.openAPIV3Schema";

fn check(schema: &Value, obj: Value) -> Vec<String> {
    validate(&Schema::from_json(schema), &obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn spec_schema(spec_props: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": spec_props}
        }
    })
}

fn with_spec(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
}

#[test]
fn keyword_table() {
    // (spec properties, spec value, expected errors)
    let cases: Vec<(Value, Value, Vec<&str>)> = vec![
        (
            json!({"replicas": {"type": "integer"}}),
            json!({"replicas": "3"}),
            vec![
                r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
            ],
        ),
        (
            json!({"replicas": {"type": "integer"}}),
            json!({"replicas": 3.0}),
            vec![],
        ),
        (
            json!({"replicas": {"type": "integer"}}),
            json!({"replicas": 3.5}),
            vec![
                r#"spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number""#,
            ],
        ),
        (
            json!({"ratio": {"type": "number"}}),
            json!({"ratio": 3}),
            vec![],
        ),
        (
            json!({"on": {"type": "boolean"}}),
            json!({"on": "yes"}),
            vec![
                r#"spec.on: Invalid value: "string": spec.on in body must be of type boolean: "string""#,
            ],
        ),
        (
            json!({"tags": {"type": "array", "items": {"type": "string"}}}),
            json!({"tags": {"a": 1}}),
            vec![
                r#"spec.tags: Invalid value: "object": spec.tags in body must be of type array: "object""#,
            ],
        ),
        (
            json!({"name": {"type": "string"}}),
            json!({"name": null}),
            vec![
                r#"spec.name: Invalid value: "null": spec.name in body must be of type string: "null""#,
            ],
        ),
        (
            json!({"name": {"type": "string", "nullable": true}}),
            json!({"name": null}),
            vec![],
        ),
        (
            json!({"mode": {"type": "string", "enum": ["a", "b"]}}),
            json!({"mode": "x"}),
            vec![r#"spec.mode: Unsupported value: "x": supported values: "a", "b""#],
        ),
        (
            json!({"level": {"type": "integer", "enum": [1, 2]}}),
            json!({"level": 3}),
            vec![r#"spec.level: Unsupported value: 3: supported values: "1", "2""#],
        ),
        (
            json!({"level": {"type": "number", "enum": [1, 2]}}),
            json!({"level": 2.0}),
            vec![],
        ),
        (
            json!({"mode": {"type": "string", "enum": ["a"], "nullable": true}}),
            json!({"mode": null}),
            vec![],
        ),
        (
            json!({"name": {"type": "string", "pattern": "^[a-z]+$"}}),
            json!({"name": "Abc"}),
            vec![r#"spec.name: Invalid value: "Abc": spec.name in body should match '^[a-z]+$'"#],
        ),
        (
            json!({"name": {"type": "string", "minLength": 3}}),
            json!({"name": "ab"}),
            vec![
                r#"spec.name: Invalid value: "ab": spec.name in body should be at least 3 chars long"#,
            ],
        ),
        (
            json!({"name": {"type": "string", "maxLength": 3}}),
            json!({"name": "abcd"}),
            vec!["spec.name: Too long: may not be more than 3 bytes"],
        ),
        // Characters, not bytes.
        (
            json!({"name": {"type": "string", "maxLength": 3}}),
            json!({"name": "äöü"}),
            vec![],
        ),
        // Only the first string failure, as upstream.
        (
            json!({"name": {"type": "string", "maxLength": 2, "pattern": "^x$"}}),
            json!({"name": "abc"}),
            vec!["spec.name: Too long: may not be more than 2 bytes"],
        ),
        (
            json!({"replicas": {"type": "integer", "minimum": 1}}),
            json!({"replicas": 0}),
            vec![
                "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
            ],
        ),
        (
            json!({"replicas": {"type": "integer", "minimum": 1, "exclusiveMinimum": true}}),
            json!({"replicas": 1}),
            vec!["spec.replicas: Invalid value: 1: spec.replicas in body should be greater than 1"],
        ),
        (
            json!({"replicas": {"type": "integer", "maximum": 10}}),
            json!({"replicas": 11}),
            vec![
                "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            ],
        ),
        (
            json!({"replicas": {"type": "integer", "maximum": 10, "exclusiveMaximum": true}}),
            json!({"replicas": 10}),
            vec!["spec.replicas: Invalid value: 10: spec.replicas in body should be less than 10"],
        ),
        (
            json!({"ratio": {"type": "number", "maximum": 1.5}}),
            json!({"ratio": 1.75}),
            vec![
                "spec.ratio: Invalid value: 1.75: spec.ratio in body should be less than or equal to 1.5",
            ],
        ),
        (
            json!({"n": {"type": "integer", "multipleOf": 5}}),
            json!({"n": 7}),
            vec!["spec.n: Invalid value: 7: spec.n in body should be a multiple of 5"],
        ),
        (
            json!({"n": {"type": "number", "multipleOf": 0.5}}),
            json!({"n": 2.5}),
            vec![],
        ),
        (
            json!({"items": {"type": "array", "minItems": 1, "items": {"type": "string"}}}),
            json!({"items": []}),
            vec!["spec.items: Invalid value: 0: spec.items in body should have at least 1 items"],
        ),
        (
            json!({"items": {"type": "array", "maxItems": 2, "items": {"type": "string"}}}),
            json!({"items": ["a", "b", "c"]}),
            vec!["spec.items: Too many: 3: must have at most 2 items"],
        ),
        (
            json!({"tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}),
            json!({"tags": ["a", "b", "a"]}),
            vec![r#"spec.tags: Invalid value: "": spec.tags in body shouldn't contain duplicates"#],
        ),
        (
            json!({"labels": {"type": "object", "minProperties": 2, "additionalProperties": {"type": "string"}}}),
            json!({"labels": {"a": 1}}),
            // Upstream stops at minProperties: the bad value inside is not reported.
            vec![
                "spec.labels: Invalid value: 1: spec.labels in body should have at least 2 properties",
            ],
        ),
        (
            json!({"labels": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}}),
            json!({"labels": {"a": "x", "b": "y"}}),
            vec!["spec.labels: Too many: 2: must have at most 1 item"],
        ),
        (
            json!({"labels": {"type": "object", "additionalProperties": {"type": "string"}}}),
            json!({"labels": {"a": "x", "b": 2}}),
            vec![
                r#"spec.labels.b: Invalid value: "integer": spec.labels.b in body must be of type string: "integer""#,
            ],
        ),
        (
            json!({"empty": {"type": "object", "additionalProperties": false}}),
            json!({"empty": {"foo": 1}}),
            vec![
                r#"spec.empty: Invalid value: "foo": spec.empty.foo in body is a forbidden property"#,
            ],
        ),
        (
            json!({"port": {"x-kubernetes-int-or-string": true}}),
            json!({"port": "http"}),
            vec![],
        ),
        (
            json!({"port": {"x-kubernetes-int-or-string": true}}),
            json!({"port": 80}),
            vec![],
        ),
        (
            json!({"port": {"x-kubernetes-int-or-string": true}}),
            json!({"port": true}),
            vec![
                r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
            ],
        ),
        (
            json!({"port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}),
            json!({"port": 1.5}),
            vec![
                r#"spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number""#,
                r#"spec.port: Invalid value: "": "spec.port" must validate at least one schema (anyOf)"#,
                r#"spec.port: Invalid value: "number": spec.port in body must be of type integer: "number""#,
            ],
        ),
        (
            json!({"raw": {"x-kubernetes-preserve-unknown-fields": true}}),
            json!({"raw": {"anything": [1, "two"]}}),
            vec![],
        ),
    ];
    for (props, spec, expected) in cases {
        let got = check(&spec_schema(props.clone()), with_spec(spec.clone()));
        assert_eq!(got, expected, "schema {props} value {spec}");
    }
}

#[test]
fn formats() {
    let cases: Vec<(Value, Value, Vec<&str>)> = vec![
        (
            json!({"type": "integer", "format": "int32"}),
            json!(2_147_483_648_i64),
            vec![],
        ),
        (
            json!({"type": "integer", "format": "int32"}),
            json!(1.5),
            vec![
                r#"spec.f: Invalid value: "float64": spec.f in body must be of type int32: "float64""#,
            ],
        ),
        (
            json!({"type": "integer", "format": "int64"}),
            json!(9_007_199_254_740_993_i64),
            vec![],
        ),
        (
            json!({"type": "integer", "format": "int64"}),
            json!(2.0),
            vec![],
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            json!("2024-01-02T03:04:05Z"),
            vec![],
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            json!("2024-01-02t03:04:05.123456+02:00"),
            vec![],
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            json!("2024-01-02T03:04:05"),
            vec![
                r#"spec.f: Invalid value: "2024-01-02T03:04:05": spec.f in body must be of type date-time: "2024-01-02T03:04:05""#,
            ],
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            json!("2023-02-29T00:00:00Z"),
            vec![
                r#"spec.f: Invalid value: "2023-02-29T00:00:00Z": spec.f in body must be of type date-time: "2023-02-29T00:00:00Z""#,
            ],
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            json!(5),
            vec![
                r#"spec.f: Invalid value: "int64": spec.f in body must be of type date-time: "int64""#,
            ],
        ),
        (
            json!({"type": "string", "format": "date"}),
            json!("2024-02-29"),
            vec![],
        ),
        (
            json!({"type": "string", "format": "date"}),
            json!("2024-13-01"),
            vec![
                r#"spec.f: Invalid value: "2024-13-01": spec.f in body must be of type date: "2024-13-01""#,
            ],
        ),
        (
            json!({"type": "string", "format": "byte"}),
            json!("aGVsbG8="),
            vec![],
        ),
        (
            json!({"type": "string", "format": "byte"}),
            json!("hello!"),
            vec![
                r#"spec.f: Invalid value: "hello!": spec.f in body must be of type byte: "hello!""#,
            ],
        ),
        (
            json!({"type": "string", "format": "uuid"}),
            json!("123E4567-e89b-12d3-a456-426614174000"),
            vec![],
        ),
        (
            json!({"type": "string", "format": "uuid"}),
            json!("123e4567e89b12d3a456426614174000"),
            vec![],
        ),
        (
            json!({"type": "string", "format": "uuid"}),
            json!("123e4567-e89b-12d3-a456"),
            vec![
                r#"spec.f: Invalid value: "123e4567-e89b-12d3-a456": spec.f in body must be of type uuid: "123e4567-e89b-12d3-a456""#,
            ],
        ),
        (
            json!({"type": "string", "format": "ipv4"}),
            json!("10.0.0.1"),
            vec![],
        ),
        (
            json!({"type": "string", "format": "cidr"}),
            json!("10.0.0.0/8"),
            vec![],
        ),
        (
            json!({"type": "string", "format": "cidr"}),
            json!("10.0.0.0/33"),
            vec![
                r#"spec.f: Invalid value: "10.0.0.0/33": spec.f in body must be of type cidr: "10.0.0.0/33""#,
            ],
        ),
        // Unknown formats are ignored, as upstream strips them.
        (
            json!({"type": "string", "format": "made-up"}),
            json!("anything"),
            vec![],
        ),
        (
            json!({"type": "integer", "format": "date"}),
            json!(3),
            vec![],
        ),
    ];
    for (schema, value, expected) in cases {
        let got = check(
            &spec_schema(json!({"f": schema})),
            with_spec(json!({"f": value})),
        );
        assert_eq!(got, expected, "schema {schema} value {value}");
    }
}

#[test]
fn nested_paths_and_required() {
    let schema = spec_schema(json!({
        "items": {"type": "array", "items": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "size": {"type": "integer", "minimum": 0}}
        }},
        "replicas": {"type": "integer"}
    }));
    let mut schema = schema;
    schema["properties"]["spec"]["required"] = json!(["replicas"]);
    let got = check(
        &schema,
        with_spec(json!({"items": [{"name": "a"}, {"name": "b", "size": -1}, {"size": 1}]})),
    );
    assert_eq!(
        got,
        [
            "spec.items[1].size: Invalid value: -1: spec.items[1].size in body should be greater than or equal to 0",
            "spec.items[2].name: Required value",
            "spec.replicas: Required value",
        ]
    );
    let root_required =
        json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}});
    assert_eq!(
        check(&root_required, json!({"apiVersion": "a/v1", "kind": "K"})),
        ["spec: Required value"]
    );
}

#[test]
fn junctors() {
    let schema = spec_schema(json!({
        "a": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}},
              "oneOf": [{"required": ["x"]}, {"required": ["y"]}]},
        "b": {"type": "integer", "not": {"minimum": 5}},
        "c": {"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}
    }));
    let got = check(
        &schema,
        with_spec(json!({"a": {"x": "1", "y": "2"}, "b": 7, "c": 9})),
    );
    assert_eq!(
        got,
        [
            r#"spec.a: Invalid value: "": "spec.a" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
            r#"spec.b: Invalid value: "": "spec.b" must not validate the schema (not)"#,
            "spec.c: Invalid value: 9: spec.c in body should be less than or equal to 3",
            r#"spec.c: Invalid value: "": "spec.c" must validate all the schemas (allOf)"#,
        ]
    );
    assert_eq!(
        check(&schema, with_spec(json!({"a": {}}))),
        [
            r#"spec.a: Invalid value: "": "spec.a" must validate one and only one schema (oneOf). Found none valid"#,
            "spec.a.x: Required value",
        ]
    );
}

#[test]
fn embedded_resources() {
    let schema = spec_schema(json!({
        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                      "x-kubernetes-preserve-unknown-fields": true},
        "objects": {"type": "array", "items": {"type": "object", "x-kubernetes-embedded-resource": true,
                      "x-kubernetes-preserve-unknown-fields": true}}
    }));
    let good = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}}});
    assert!(
        check(
            &schema,
            with_spec(json!({"template": good, "objects": [good]}))
        )
        .is_empty()
    );
    let got = check(
        &schema,
        with_spec(json!({
            "template": {"metadata": {"name": "a/b", "labels": {"bad key!": "v"}}},
            "objects": [{"apiVersion": "a/b/c", "kind": "my_kind"}]
        })),
    );
    assert_eq!(
        got,
        [
            "spec.objects[0].apiVersion: Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c",
            "spec.objects[0].kind: Invalid value: \"my_kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            "spec.template.apiVersion: Required value: must not be empty",
            "spec.template.kind: Required value: must not be empty",
            "spec.template.metadata.name: Invalid value: \"a/b\": may not contain '/'",
            "spec.template.metadata.labels: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ]
    );
}

#[test]
fn list_types() {
    let schema = spec_schema(json!({
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "required": ["name"], "properties": {
                      "name": {"type": "string"}, "port": {"type": "integer"}}}},
        "routes": {"type": "array", "x-kubernetes-list-type": "map",
                   "x-kubernetes-list-map-keys": ["host", "path"],
                   "items": {"type": "object", "properties": {
                       "host": {"type": "string"}, "path": {"type": "string"}}}},
        "nested": {"type": "object", "additionalProperties": {
            "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}}
    }));
    let got = check(
        &schema,
        with_spec(json!({
            "tags": ["a", "b", "a", "a", "b"],
            "ports": [{"name": "http", "port": 80}, {"name": "http", "port": 8080}],
            "routes": [{"host": "h", "path": "/"}, {"host": "h", "path": "/x"}, {"path": "/", "host": "h"}],
            "nested": {"k": [1, 1.0]}
        })),
    );
    assert_eq!(
        got,
        [
            "spec.nested[k][1]: Duplicate value: 1.0",
            r#"spec.ports[1]: Duplicate value: {"name":"http"}"#,
            r#"spec.routes[2]: Duplicate value: {"host":"h","path":"/"}"#,
            r#"spec.tags[2]: Duplicate value: "a""#,
            r#"spec.tags[4]: Duplicate value: "b""#,
        ]
    );
    let got = check(&schema, with_spec(json!({"ports": [{"name": "a"}, "x"]})));
    assert_eq!(
        got,
        [
            r#"spec.ports[1]: Invalid value: "string": spec.ports[1] in body must be of type object: "string""#,
            r#"spec.ports[1]: Invalid value: "x": must be an object for an array of list-type map"#,
        ]
    );
}

#[test]
fn large_sets_stay_fast() {
    let schema = spec_schema(json!({
        "ids": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}
    }));
    let mut ids: Vec<Value> = (0..200_000).map(Value::from).collect();
    ids.push(json!(7.0));
    let got = check(&schema, with_spec(json!({"ids": ids})));
    assert_eq!(got, ["spec.ids[200000]: Duplicate value: 7.0"]);
}

#[test]
fn pruning() {
    let schema = Schema::from_json(&json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer"},
                "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                        "properties": {"strict": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}}},
                "open": {"type": "object", "x-kubernetes-embedded-resource": true,
                         "x-kubernetes-preserve-unknown-fields": true},
                "plain": {"type": "object"}
            }}
        }
    }));
    let mut obj = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "foo": 1, "ownerReferences": [{"name": "o", "bogus": true}]},
        "top": 1,
        "spec": {
            "replicas": 1, "foo": "x",
            "items": [{"name": "a", "bar": 1}, {"name": "b"}],
            "labels": {"k": {"v": "1", "w": "2"}},
            "raw": {"keep": {"deep": 1}, "strict": {"a": "1", "b": "2"}},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1},
                         "spec": {"x": "1", "y": "2"}, "status": {}},
            "open": {"apiVersion": "v1", "kind": "Pod", "metadata": {"junk": 1}, "spec": {"any": 1}},
            "plain": {"gone": 1}
        }
    });
    let pruned = prune(&schema, &mut obj);
    assert_eq!(
        pruned,
        [
            "metadata.foo",
            "metadata.ownerReferences[0].bogus",
            "spec.foo",
            "spec.items[0].bar",
            "spec.labels.k.w",
            "spec.open.metadata.junk",
            "spec.plain.gone",
            "spec.raw.strict.b",
            "spec.template.metadata.junk",
            "spec.template.spec.y",
            "spec.template.status",
            "top",
        ]
    );
    assert_eq!(
        obj,
        json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "ownerReferences": [{"name": "o"}]},
            "spec": {
                "replicas": 1,
                "items": [{"name": "a"}, {"name": "b"}],
                "labels": {"k": {"v": "1"}},
                "raw": {"keep": {"deep": 1}, "strict": {"a": "1"}},
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": "1"}},
                "open": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"any": 1}},
                "plain": {}
            }
        })
    );
}

#[test]
fn pruning_nulls() {
    let schema = Schema::from_json(&spec_schema(json!({
        "a": {"type": "integer"},
        "b": {"type": "integer", "nullable": true},
        "c": {"type": "integer", "default": 3},
        "list": {"type": "array", "items": {"type": "string"}}
    })));
    let mut obj = with_spec(json!({"a": null, "b": null, "c": null, "list": [null]}));
    assert!(prune(&schema, &mut obj).is_empty());
    assert_eq!(obj["spec"], json!({"b": null, "c": null, "list": [null]}));
    apply_defaults(&schema, &mut obj);
    assert_eq!(obj["spec"], json!({"b": null, "c": 3, "list": [null]}));
}

#[test]
fn defaulting() {
    let schema = Schema::from_json(&json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "nullable": true, "default": "auto"},
                "strategy": {"type": "object", "default": {}, "properties": {
                    "type": {"type": "string", "default": "Rolling"},
                    "maxSurge": {"x-kubernetes-int-or-string": true, "default": "25%"}
                }},
                "ports": {"type": "array", "items": {"type": "object", "default": {"port": 80},
                    "properties": {"port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}},
                "env": {"type": "object", "additionalProperties": {"type": "string", "default": "unset"}},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }},
            "status": {"type": "object", "properties": {"phase": {"type": "string", "default": "New"}}}
        }
    }));
    let mut obj = json!({
        "apiVersion": "example.com/v1", "kind": "W",
        "spec": {"mode": null, "ports": [{"port": 1}, null], "env": {"A": null, "B": "b"},
                 "raw": {"replicas": null}}
    });
    apply_defaults(&schema, &mut obj);
    assert_eq!(
        obj,
        json!({
            "apiVersion": "example.com/v1", "kind": "W",
            "spec": {
                "replicas": 1,
                "mode": null,
                "strategy": {"type": "Rolling", "maxSurge": "25%"},
                "ports": [{"port": 1, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}],
                "env": {"A": "unset", "B": "b"},
                "raw": {"replicas": null}
            }
        })
    );
    // Defaults need an existing parent: no `status`, no `status.phase`.
    assert!(obj.get("status").is_none());
}

fn structural_errors(schema: Value) -> Vec<String> {
    is_structural(&schema, P)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn structural_table() {
    let cases: Vec<(Value, Vec<String>)> = vec![
        (
            json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
            vec![],
        ),
        (
            json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}),
            vec![format!(
                "{P}.properties[spec].type: Required value: must not be empty for specified object fields"
            )],
        ),
        (
            json!({"properties": {"a": {"type": "string"}}}),
            vec![format!(
                "{P}.type: Required value: must not be empty at the root"
            )],
        ),
        (
            json!({"type": "string"}),
            vec![format!(
                "{P}.type: Invalid value: \"string\": must be object at the root"
            )],
        ),
        (
            json!({"type": "object", "properties": {"l": {"type": "array"}}}),
            vec![format!(
                "{P}.properties[l].items: Required value: must be specified"
            )],
        ),
        (
            json!({"type": "object", "properties": {"l": {"type": "array", "items": {"minLength": 1}}}}),
            vec![format!(
                "{P}.properties[l].items.type: Required value: must not be empty for specified array items"
            )],
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            vec![format!(
                "{P}.additionalProperties: Forbidden: must not be used at the root"
            )],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}}),
            vec![],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}),
            vec![format!(
                "{P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
            )],
        ),
        (
            json!({"type": "object", "properties": {"metadata": {"type": "string"}, "kind": {"type": "integer"}}}),
            vec![
                format!("{P}.properties[kind].type: Invalid value: \"integer\": must be string"),
                format!("{P}.properties[metadata].type: Invalid value: \"string\": must be object"),
            ],
        ),
        (
            json!({"type": "object", "properties": {"e": {"x-kubernetes-embedded-resource": true}}}),
            vec![
                format!(
                    "{P}.properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"
                ),
                format!(
                    "{P}.properties[e].type: Required value: must be object if x-kubernetes-embedded-resource is true"
                ),
            ],
        ),
        (
            json!({"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true}}}),
            vec![format!(
                "{P}.properties[p].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true"
            )],
        ),
        (
            json!({"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}),
            vec![],
        ),
        (
            json!({"type": "object", "properties": {"p": {"x-kubernetes-int-or-string": true, "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^[0-9]+%?$"}]}}}),
            vec![],
        ),
        (
            json!({"type": "object", "properties": {"p": {"type": "string", "anyOf": [{"type": "string", "description": "d", "nullable": true}]}}}),
            vec![
                format!(
                    "{P}.properties[p].anyOf[0].description: Forbidden: must be empty to be structural"
                ),
                format!(
                    "{P}.properties[p].anyOf[0].nullable: Forbidden: must be false to be structural"
                ),
                format!(
                    "{P}.properties[p].anyOf[0].type: Forbidden: must be empty to be structural"
                ),
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"required": ["a"]}, {"properties": {"b": {"minLength": 1}, "metadata": {}}}]}),
            vec![
                format!(
                    "{P}.anyOf[1].properties[metadata]: Forbidden: must not be specified in a nested context"
                ),
                format!(
                    "{P}.properties[b]: Required value: because it is defined in {P}.anyOf[1].properties[b]"
                ),
                format!(
                    "{P}.properties[metadata]: Required value: because it is defined in {P}.anyOf[1].properties[metadata]"
                ),
            ],
        ),
        (
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}}),
            vec![format!(
                "{P}.properties[a].pattern: Invalid value: \"(\": must be a valid regular expression, but isn't: regex parse error:\n    (\n    ^\nerror: unclosed group"
            )],
        ),
    ];
    for (schema, expected) in cases {
        assert_eq!(structural_errors(schema.clone()), expected, "{schema}");
    }
}

fn schema_errors(schema: Value, status: bool) -> Vec<String> {
    validate_schema(&schema, P, status)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn schema_rules_table() {
    let obj = |props: Value| json!({"type": "object", "properties": props});
    let cases: Vec<(Value, Vec<String>)> = vec![
        (
            obj(json!({"a": {"type": "string", "$ref": "#/definitions/x"}})),
            vec![format!(
                "{P}.properties[a].$ref: Forbidden: $ref is not supported"
            )],
        ),
        (
            obj(json!({"a": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}})),
            vec![format!(
                "{P}.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"
            )],
        ),
        (
            obj(
                json!({"a": {"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": {"type": "string"}}}),
            ),
            vec![format!(
                "{P}.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
            )],
        ),
        (
            obj(json!({"a": {"type": "strin"}})),
            vec![format!(
                "{P}.properties[a].type: Unsupported value: \"strin\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\""
            )],
        ),
        (
            obj(json!({"a": {"type": "string", "x-kubernetes-preserve-unknown-fields": false}})),
            vec![format!(
                "{P}.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"
            )],
        ),
        (
            obj(json!({"metadata": {"type": "object", "default": {}}})),
            vec![format!(
                "{P}.properties[metadata].default: Forbidden: must not be set in top-level metadata"
            )],
        ),
        (
            obj(json!({"a": {"type": "object", "patternProperties": {"^x": {"type": "string"}}}})),
            vec![format!(
                "{P}.properties[a].patternProperties: Forbidden: patternProperties is not supported"
            )],
        ),
        (
            obj(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}),
            ),
            vec![format!(
                "{P}.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
            )],
        ),
        (
            obj(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n"],
                "items": {"type": "object", "properties": {"m": {"type": "string"}}}}}),
            ),
            vec![format!(
                "{P}.properties[l].x-kubernetes-list-map-keys: Invalid value: [\"n\"]: entries must all be names of item properties"
            )],
        ),
        (
            obj(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n"],
                "items": {"type": "object", "properties": {"n": {"type": "string", "nullable": true}}}}}),
            ),
            vec![
                format!(
                    "{P}.properties[l].items.properties[n].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"
                ),
                format!(
                    "{P}.properties[l].items.properties[n].nullable: Forbidden: this property is in x-kubernetes-list-map-keys, so it cannot be nullable"
                ),
            ],
        ),
        (
            obj(
                json!({"l": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}}}),
            ),
            vec![format!(
                "{P}.properties[l].x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"set\", \"map\""
            )],
        ),
        (
            obj(json!({"l": {"type": "string", "x-kubernetes-list-type": "set"}})),
            vec![format!(
                "{P}.properties[l].type: Invalid value: \"string\": must be array if x-kubernetes-list-type is specified"
            )],
        ),
        (
            obj(json!({"a": {"type": "integer", "default": "three"}})),
            vec![format!(
                "{P}.properties[a].default: Invalid value: \"string\": in body must be of type integer: \"string\""
            )],
        ),
        (
            obj(
                json!({"a": {"type": "object", "properties": {"x": {"type": "string"}}, "default": {"x": "1", "y": 2}}}),
            ),
            vec![format!(
                "{P}.properties[a].default: Invalid value: {{\"x\":\"1\",\"y\":2}}: must not have unknown fields"
            )],
        ),
        (
            obj(
                json!({"a": {"type": "object", "properties": {"x": {"type": "integer", "minimum": 5}}, "default": {"x": 1}}}),
            ),
            vec![format!(
                "{P}.properties[a].default.x: Invalid value: 1: x in body should be greater than or equal to 5"
            )],
        ),
        (
            obj(json!({"a": {"type": 5}})),
            vec![format!(
                "{P}.properties[a].type: Invalid value: 5: must be a string"
            )],
        ),
        (
            json!({"type": "object", "nullable": true}),
            vec![format!(
                "{P}.nullable: Forbidden: nullable cannot be true at the root"
            )],
        ),
        (
            obj(
                json!({"e": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"metadata": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}}}),
            ),
            vec![format!(
                "{P}.properties[e].properties[metadata].x-kubernetes-embedded-resource: Forbidden: must not be used inside of resource meta"
            )],
        ),
    ];
    for (schema, expected) in cases {
        assert_eq!(schema_errors(schema.clone(), false), expected, "{schema}");
    }
}

#[test]
fn status_subresource_root() {
    let ok =
        json!({"type": "object", "description": "d", "properties": {"status": {"type": "object"}}});
    assert!(schema_errors(ok, true).is_empty());
    let bad = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "anyOf": [{"required": ["spec"]}], "properties": {"spec": {"type": "object"}}});
    let errs = schema_errors(bad.clone(), true);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(&format!("{P}: Invalid value: {{")),
        "{errs:?}"
    );
    assert!(errs[0].ends_with(
        "fields are allowed at the root of the schema if the status subresource is enabled"
    ));
    assert!(schema_errors(bad, false).is_empty());
}

#[test]
fn go_float_formatting() {
    assert_eq!(go_float(1.0), "1");
    assert_eq!(go_float(1.5), "1.5");
    assert_eq!(go_float(1e21), "1e+21");
    assert_eq!(go_float(0.00001), "1e-05");
    assert_eq!(go_float(-2.5e-7), "-2.5e-07");
}

#[test]
fn format_helpers() {
    assert!(is_date_time("2024-01-02T03:04:05.1Z"));
    assert!(is_date_time("2024-01-02T23:59:59-07:00"));
    assert!(!is_date_time("2024-01-02T24:00:00Z"));
    assert!(!is_date_time("2024-01-02T03:04:05.Z"));
    assert!(!is_date_time("2024-01-02"));
    assert!(is_mac("00:1a:2b:3c:4d:5e"));
    assert!(is_mac("001a.2b3c.4d5e"));
    assert!(!is_mac("00:1a:2b"));
    assert!(is_hostname("example.com"));
    assert!(!is_hostname("-bad-.com"));
    assert!(is_uuid("123e4567-e89b-42d3-a456-426614174000", Some('4')));
    assert!(!is_uuid("123e4567-e89b-12d3-a456-426614174000", Some('4')));
    assert!(is_ssn("123-45-6789"));
    assert!(is_hex_color("#fff"));
    assert!(!is_base64("abc"));
    assert!(is_base64("YWI="));
}
