//! Covers (upstream's `validation.Covers`) and the escalation message text.

use serde_json::{Value, json};

use crate::{PolicyRule, covers, escalation_message};

fn rules(value: Value) -> Vec<PolicyRule> {
    serde_json::from_value(value).unwrap()
}

#[test]
fn covers_table() {
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        (
            "exactly held",
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]),
            json!([]),
        ),
        (
            "stars hold everything",
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            json!([{"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["d"], "verbs": ["update"]}, {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
            json!([]),
        ),
        (
            "broken down per verb and resource",
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "list"]}]),
            json!([
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
            ]),
        ),
        (
            "broken down per group",
            json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]),
            json!([{"apiGroups": ["apps", "extensions"], "resources": ["deployments"], "verbs": ["get"]}]),
            json!([{"apiGroups": ["extensions"], "resources": ["deployments"], "verbs": ["get"]}]),
        ),
        (
            "*/sub covers any resource's sub",
            json!([{"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["update"]}]),
            json!([{"apiGroups": ["apps"], "resources": ["deployments/scale", "deployments"], "verbs": ["update"]}]),
            json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["update"]}]),
        ),
        (
            "resource does not cover its subresource",
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]),
        ),
        (
            "unrestricted names cover named",
            json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get"]}]),
            json!([]),
        ),
        (
            "named does not cover unrestricted",
            json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
        ),
        (
            "names broken down one each",
            json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["b", "c"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["c"], "verbs": ["get"]}]),
        ),
        (
            "url prefix covers below, not the bare path",
            json!([{"nonResourceURLs": ["/healthz/*"], "verbs": ["get"]}]),
            json!([{"nonResourceURLs": ["/healthz/etcd", "/healthz"], "verbs": ["get"]}]),
            json!([{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]),
        ),
        (
            "resource rules do not cover urls",
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
            json!([{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
            json!([{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
        ),
        (
            "nothing held",
            json!([]),
            json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
            json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
        ),
    ];
    for (name, owner, requested, want) in cases {
        assert_eq!(
            covers(&rules(owner), &rules(requested)),
            rules(want),
            "case {name}"
        );
    }
}

#[test]
fn escalation_message_table() {
    let groups = vec!["team-a".to_string(), "system:authenticated".to_string()];
    let cases: Vec<(&str, &str, Vec<String>, Value, &str)> = vec![
        (
            "one rule",
            "alice",
            groups.clone(),
            json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
            "user \"alice\" (groups=[\"team-a\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\"]}",
        ),
        (
            "verbs compacted, names kept apart, lines sorted",
            "alice",
            groups.clone(),
            json!([
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["x"], "verbs": ["get"]},
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            ]),
            "user \"alice\" (groups=[\"team-a\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n\
             {APIGroups:[\"\"], Resources:[\"configmaps\"], ResourceNames:[\"x\"], Verbs:[\"get\"]}\n\
             {APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\"]}\n\
             {NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}",
        ),
        (
            "no groups, quoting",
            "a\"b",
            vec![],
            json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create"]}]),
            "user \"a\\\"b\" (groups=[]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"apps\"], Resources:[\"deployments\"], Verbs:[\"create\"]}",
        ),
    ];
    for (name, user, groups, uncovered, want) in cases {
        assert_eq!(
            escalation_message(user, &groups, &rules(uncovered)),
            want,
            "case {name}"
        );
    }
}

#[test]
fn escalation_check_end_to_end() {
    let owner =
        rules(json!([{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["*"]}]));
    let requested = rules(
        json!([{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "watch"]}]),
    );
    let uncovered = covers(&owner, &requested);
    let groups = vec!["system:authenticated".to_string()];
    assert_eq!(
        escalation_message("bob", &groups, &uncovered),
        "user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"watch\"]}"
    );
}
