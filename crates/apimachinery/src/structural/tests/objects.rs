//! Validation of objects against a schema: keywords, formats, paths,
//! junctors, embedded resources and list types.

use super::*;

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
