//! Pruning and defaulting.

use super::*;

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
