//! ClusterRole aggregation: label matching, deduplication, stable order,
//! chains, and unchanged roles left out.

use serde_json::{Value, json};

use crate::{PolicyRule, aggregate};

fn labelled(name: &str, labels: Value, rules: Value) -> Value {
    json!({"metadata": {"name": name, "labels": labels}, "rules": rules})
}

fn aggregated(name: &str, selectors: Value, rules: Value) -> Value {
    json!({"metadata": {"name": name}, "aggregationRule": {"clusterRoleSelectors": selectors}, "rules": rules})
}

fn rule(verb: &str, resource: &str) -> Value {
    json!({"apiGroups": [""], "resources": [resource], "verbs": [verb]})
}

fn rules(value: Value) -> Vec<PolicyRule> {
    serde_json::from_value(value).unwrap()
}

/// A case: its name, the stored ClusterRoles, and the expected updates.
type Case = (&'static str, Vec<Value>, Vec<(&'static str, Value)>);

#[test]
fn aggregation_table() {
    let sel = |key: &str| json!([{"matchLabels": {key: "true"}}]);
    let cases: Vec<Case> = vec![
        (
            "matching labels are unioned in name order",
            vec![
                aggregated("agg", sel("a"), json!(null)),
                labelled("z-part", json!({"a": "true"}), json!([rule("get", "pods")])),
                labelled(
                    "b-part",
                    json!({"a": "true"}),
                    json!([rule("list", "pods")]),
                ),
                labelled(
                    "other",
                    json!({"a": "false"}),
                    json!([rule("get", "secrets")]),
                ),
            ],
            vec![("agg", json!([rule("list", "pods"), rule("get", "pods")]))],
        ),
        (
            "duplicates appear once",
            vec![
                aggregated("agg", sel("a"), json!([])),
                labelled(
                    "p1",
                    json!({"a": "true"}),
                    json!([rule("get", "pods"), rule("list", "pods")]),
                ),
                labelled("p2", json!({"a": "true"}), json!([rule("get", "pods")])),
            ],
            vec![("agg", json!([rule("get", "pods"), rule("list", "pods")]))],
        ),
        (
            "unchanged is not returned",
            vec![
                aggregated("agg", sel("a"), json!([rule("get", "pods")])),
                labelled("p1", json!({"a": "true"}), json!([rule("get", "pods")])),
            ],
            vec![],
        ),
        (
            "nothing matches and nothing stored is unchanged",
            vec![aggregated("agg", sel("a"), json!(null))],
            vec![],
        ),
        (
            "stale rules are replaced",
            vec![
                aggregated("agg", sel("a"), json!([rule("delete", "pods")])),
                labelled("p1", json!({"a": "true"}), json!([rule("get", "pods")])),
            ],
            vec![("agg", json!([rule("get", "pods")]))],
        ),
        (
            "any selector matches; selectors visited in order",
            vec![
                aggregated(
                    "agg",
                    json!([{"matchLabels": {"b": "true"}}, {"matchLabels": {"a": "true"}}]),
                    json!([]),
                ),
                labelled("pa", json!({"a": "true"}), json!([rule("get", "pods")])),
                labelled("pb", json!({"b": "true"}), json!([rule("get", "secrets")])),
            ],
            vec![("agg", json!([rule("get", "secrets"), rule("get", "pods")]))],
        ),
        (
            "matchExpressions",
            vec![
                aggregated(
                    "agg",
                    json!([{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]}]}]),
                    json!([]),
                ),
                labelled("py", json!({"tier": "y"}), json!([rule("get", "pods")])),
                labelled("pz", json!({"tier": "z"}), json!([rule("get", "secrets")])),
            ],
            vec![("agg", json!([rule("get", "pods")]))],
        ),
        (
            "a role does not aggregate itself",
            vec![
                json!({"metadata": {"name": "self", "labels": {"a": "true"}},
                        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "true"}}]},
                        "rules": []}),
            ],
            vec![],
        ),
        (
            "chains settle in one call",
            vec![
                aggregated("admin", sel("to-admin"), json!([])),
                json!({"metadata": {"name": "edit", "labels": {"to-admin": "true"}},
                       "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-edit": "true"}}]}, "rules": []}),
                labelled(
                    "edit-part",
                    json!({"to-edit": "true"}),
                    json!([rule("update", "pods")]),
                ),
            ],
            vec![
                ("admin", json!([rule("update", "pods")])),
                ("edit", json!([rule("update", "pods")])),
            ],
        ),
        (
            "invalid selector and malformed roles are left alone",
            vec![
                aggregated(
                    "agg",
                    json!([{"matchExpressions": [{"key": "a", "operator": "Sideways"}]}]),
                    json!([]),
                ),
                json!({"metadata": {"name": "broken"}, "rules": 3}),
                labelled("p", json!({"a": "true"}), json!([rule("get", "pods")])),
            ],
            vec![],
        ),
    ];
    for (name, roles, want) in cases {
        let got = aggregate(&roles);
        let want: Vec<(String, Vec<PolicyRule>)> = want
            .into_iter()
            .map(|(n, r)| (n.to_string(), rules(r)))
            .collect();
        assert_eq!(got, want, "case {name}");
    }
}
