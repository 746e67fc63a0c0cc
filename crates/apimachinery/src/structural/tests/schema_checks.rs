//! The checks of a schema itself: structural rules, OpenAPI rules and the
//! root with a status subresource.

use super::*;

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
