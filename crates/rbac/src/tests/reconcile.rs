//! Reconciliation of bootstrap objects: create, leave alone, add missing,
//! and never remove what the cluster added.

use serde_json::{Value, json};

use crate::{reconcile_cluster_role, reconcile_cluster_role_binding, role_ref_changed};

const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";

fn desired_role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "r", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                     "annotations": {AUTOUPDATE: "true"}},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    })
}

fn desired_aggregated() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "view", "annotations": {AUTOUPDATE: "true"}},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-view": "true"}}]},
        "rules": []
    })
}

#[test]
fn reconcile_cluster_role_table() {
    let mut stale = desired_role();
    stale["metadata"]["resourceVersion"] = json!("7");
    stale["metadata"]["labels"] = json!({"kubernetes.io/bootstrapping": "custom", "team": "x"});
    stale["metadata"]["annotations"] = json!({});
    stale["rules"] = json!([
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
    ]);
    let stale_want = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "r", "resourceVersion": "7",
                     "labels": {"kubernetes.io/bootstrapping": "custom", "team": "x"},
                     "annotations": {AUTOUPDATE: "true"}},
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        ]
    });

    let mut protected = stale.clone();
    protected["metadata"]["annotations"] = json!({AUTOUPDATE: "false"});

    let mut superset = desired_role();
    superset["rules"] = json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]);

    let mut aggregated_current = desired_aggregated();
    aggregated_current["rules"] =
        json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]);

    let mut aggregated_extra_selector = aggregated_current.clone();
    aggregated_extra_selector["aggregationRule"]["clusterRoleSelectors"] =
        json!([{"matchLabels": {"mine": "true"}}]);
    let mut aggregated_extra_selector_want = aggregated_extra_selector.clone();
    aggregated_extra_selector_want["aggregationRule"]["clusterRoleSelectors"] =
        json!([{"matchLabels": {"mine": "true"}}, {"matchLabels": {"to-view": "true"}}]);

    let mut no_longer_aggregated = desired_role();
    no_longer_aggregated["aggregationRule"] = json!({"clusterRoleSelectors": []});

    let cases: Vec<(&str, Option<Value>, Value, Option<Value>)> = vec![
        (
            "missing is created",
            None,
            desired_role(),
            Some(desired_role()),
        ),
        (
            "identical is left alone",
            Some(desired_role()),
            desired_role(),
            None,
        ),
        (
            "covered by broader rules is left alone",
            Some(superset),
            desired_role(),
            None,
        ),
        (
            "missing rules and metadata are added, the rest kept",
            Some(stale),
            desired_role(),
            Some(stale_want),
        ),
        (
            "autoupdate false is left alone",
            Some(protected),
            desired_role(),
            None,
        ),
        (
            "aggregated role's rules are not touched",
            Some(aggregated_current.clone()),
            desired_aggregated(),
            None,
        ),
        (
            "missing aggregation selectors are appended",
            Some(aggregated_extra_selector),
            desired_aggregated(),
            Some(aggregated_extra_selector_want),
        ),
        (
            "unexpected aggregation rule is removed",
            Some(no_longer_aggregated),
            desired_role(),
            Some(desired_role()),
        ),
        (
            "malformed stored object is left alone",
            Some(json!({"metadata": {"name": "r"}, "rules": 1})),
            desired_role(),
            None,
        ),
    ];
    for (name, existing, desired, want) in cases {
        assert_eq!(
            reconcile_cluster_role(existing.as_ref(), &desired),
            want,
            "case {name}"
        );
    }
}

fn desired_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "b", "annotations": {AUTOUPDATE: "true"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "g1"},
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "g2"},
        ]
    })
}

#[test]
fn reconcile_cluster_role_binding_table() {
    let mut partial = desired_binding();
    partial["subjects"] = json!([
        {"kind": "User", "name": "extra"},
        {"kind": "Group", "name": "g2"},
    ]);
    let mut partial_want = partial.clone();
    partial_want["subjects"] = json!([
        {"kind": "User", "name": "extra"},
        {"kind": "Group", "name": "g2"},
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "g1"},
    ]);

    let mut protected = partial.clone();
    protected["metadata"]["annotations"][AUTOUPDATE] = json!("false");

    let mut other_role = desired_binding();
    other_role["roleRef"]["name"] = json!("old");

    let mut no_annotations = desired_binding();
    no_annotations["metadata"] = json!({"name": "b"});

    let cases: Vec<(&str, Option<Value>, Option<Value>)> = vec![
        ("missing is created", None, Some(desired_binding())),
        ("identical is left alone", Some(desired_binding()), None),
        (
            "missing subjects are appended, extra kept",
            Some(partial),
            Some(partial_want),
        ),
        ("autoupdate false is left alone", Some(protected), None),
        (
            "roleRef is replaced",
            Some(other_role),
            Some(desired_binding()),
        ),
        (
            "missing annotation is added",
            Some(no_annotations),
            Some(desired_binding()),
        ),
    ];
    for (name, existing, want) in cases {
        assert_eq!(
            reconcile_cluster_role_binding(existing.as_ref(), &desired_binding()),
            want,
            "case {name}"
        );
    }
}

#[test]
fn role_ref_change_means_recreate() {
    let mut old = desired_binding();
    old["roleRef"]["name"] = json!("old");
    let updated = reconcile_cluster_role_binding(Some(&old), &desired_binding()).unwrap();
    assert!(role_ref_changed(&old, &updated));

    let mut partial = desired_binding();
    partial["subjects"] = json!([]);
    let updated = reconcile_cluster_role_binding(Some(&partial), &desired_binding()).unwrap();
    assert!(!role_ref_changed(&partial, &updated));
}
