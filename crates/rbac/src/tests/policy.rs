//! The subject-indexed policy: namespace scoping, subjects, missing roles,
//! malformed objects, allow reasons and SelfSubjectRulesReview rules.

use serde_json::{Value, json};

use crate::{Attributes, Policy, PolicyRule};

pub(crate) fn role(namespace: &str, name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
           "metadata": {"name": name, "namespace": namespace}, "rules": rules})
}

pub(crate) fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
           "metadata": {"name": name}, "rules": rules})
}

pub(crate) fn role_binding(
    namespace: &str,
    name: &str,
    role_kind: &str,
    role: &str,
    subjects: Value,
) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": {"name": name, "namespace": namespace},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
           "subjects": subjects})
}

pub(crate) fn cluster_role_binding(name: &str, role: &str, subjects: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
           "metadata": {"name": name},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
           "subjects": subjects})
}

fn user(name: &str) -> Value {
    json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
}

fn group(name: &str) -> Value {
    json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
}

fn pods_read() -> Value {
    json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}])
}

/// A request by `user` with `groups` to `verb` pods in `namespace`.
fn pods<'a>(
    user: &'a str,
    groups: &'a [String],
    verb: &'a str,
    namespace: &'a str,
) -> Attributes<'a> {
    Attributes {
        user,
        groups,
        verb,
        resource_request: true,
        namespace,
        resource: "pods",
        ..Attributes::default()
    }
}

fn sample_policy() -> Policy {
    Policy::build(
        &[
            role("team-a", "pod-reader", pods_read()),
            role("team-b", "pod-reader", pods_read()),
        ],
        &[cluster_role("pods-read", pods_read())],
        &[
            role_binding("team-a", "read", "Role", "pod-reader", user("alice")),
            role_binding(
                "team-a",
                "cluster-read",
                "ClusterRole",
                "pods-read",
                user("bob"),
            ),
            role_binding(
                "team-a",
                "sa-read",
                "Role",
                "pod-reader",
                json!([{"kind": "ServiceAccount", "name": "builder"}]),
            ),
            role_binding(
                "team-b",
                "sa-other-ns",
                "Role",
                "pod-reader",
                json!([{"kind": "ServiceAccount", "name": "deployer", "namespace": "team-a"}]),
            ),
            role_binding("team-a", "dangling", "Role", "no-such-role", user("dave")),
            role_binding(
                "team-a",
                "dangling-cluster",
                "ClusterRole",
                "no-such",
                user("dave"),
            ),
            role_binding("team-a", "bad-kind", "Secret", "pod-reader", user("dave")),
        ],
        &[
            cluster_role_binding("everywhere", "pods-read", user("carol")),
            cluster_role_binding("readers", "pods-read", group("readers")),
            cluster_role_binding(
                "sa-without-namespace",
                "pods-read",
                json!([{"kind": "ServiceAccount", "name": "lost"}]),
            ),
        ],
    )
}

#[test]
fn namespace_scoping_and_subjects() {
    let policy = sample_policy();
    let none: Vec<String> = Vec::new();
    let readers = vec!["readers".to_string()];
    let builder = "system:serviceaccount:team-a:builder";
    let deployer = "system:serviceaccount:team-a:deployer";
    let cases: Vec<(&str, Attributes<'_>, bool)> = vec![
        (
            "RoleBinding to Role: in its namespace",
            pods("alice", &none, "get", "team-a"),
            true,
        ),
        (
            "RoleBinding to Role: other namespace",
            pods("alice", &none, "get", "team-b"),
            false,
        ),
        (
            "RoleBinding to Role: cluster-wide request",
            pods("alice", &none, "list", ""),
            false,
        ),
        (
            "RoleBinding to Role: verb not granted",
            pods("alice", &none, "delete", "team-a"),
            false,
        ),
        (
            "RoleBinding to ClusterRole: in its namespace",
            pods("bob", &none, "get", "team-a"),
            true,
        ),
        (
            "RoleBinding to ClusterRole: other namespace",
            pods("bob", &none, "get", "team-b"),
            false,
        ),
        (
            "RoleBinding to ClusterRole: cluster-wide request",
            pods("bob", &none, "list", ""),
            false,
        ),
        (
            "ClusterRoleBinding: any namespace",
            pods("carol", &none, "get", "team-b"),
            true,
        ),
        (
            "ClusterRoleBinding: cluster-wide request",
            pods("carol", &none, "list", ""),
            true,
        ),
        (
            "Group subject",
            pods("erin", &readers, "get", "team-z"),
            true,
        ),
        (
            "Group subject: not a member",
            pods("erin", &none, "get", "team-z"),
            false,
        ),
        (
            "ServiceAccount defaults to binding namespace",
            pods(builder, &none, "get", "team-a"),
            true,
        ),
        (
            "ServiceAccount in another namespace",
            pods(deployer, &none, "get", "team-b"),
            true,
        ),
        (
            "ServiceAccount named in binding only",
            pods(deployer, &none, "get", "team-a"),
            false,
        ),
        (
            "ServiceAccount without namespace in ClusterRoleBinding matches nobody",
            pods("system:serviceaccount::lost", &none, "get", "x"),
            false,
        ),
        (
            "binding to missing Role grants nothing",
            pods("dave", &none, "get", "team-a"),
            false,
        ),
        (
            "unknown user",
            pods("mallory", &none, "get", "team-a"),
            false,
        ),
    ];
    for (name, attributes, want) in cases {
        let decision = policy.authorize(&attributes);
        assert_eq!(decision.allowed, want, "case {name}: {decision:?}");
        if !want {
            assert_eq!(decision.reason, "", "case {name}: deny has no reason");
        }
    }
}

#[test]
fn allow_reasons_name_binding_role_and_subject() {
    let policy = sample_policy();
    let none: Vec<String> = Vec::new();
    let readers = vec!["readers".to_string()];
    let cases: Vec<(&str, Attributes<'_>, &str)> = vec![
        (
            "ClusterRoleBinding to User",
            pods("carol", &none, "get", "x"),
            r#"RBAC: allowed by ClusterRoleBinding "everywhere" of ClusterRole "pods-read" to User "carol""#,
        ),
        (
            "ClusterRoleBinding to Group",
            pods("erin", &readers, "get", "x"),
            r#"RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "pods-read" to Group "readers""#,
        ),
        (
            "RoleBinding to Role",
            pods("alice", &none, "get", "team-a"),
            r#"RBAC: allowed by RoleBinding "read/team-a" of Role "pod-reader" to User "alice""#,
        ),
        (
            "RoleBinding to ServiceAccount",
            pods(
                "system:serviceaccount:team-a:builder",
                &none,
                "get",
                "team-a",
            ),
            r#"RBAC: allowed by RoleBinding "sa-read/team-a" of Role "pod-reader" to ServiceAccount "builder/team-a""#,
        ),
        (
            "ClusterRoleBinding wins over RoleBinding",
            pods("alice", &readers, "get", "team-a"),
            r#"RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "pods-read" to Group "readers""#,
        ),
    ];
    for (name, attributes, want) in cases {
        assert_eq!(policy.authorize(&attributes).reason, want, "case {name}");
    }
}

#[test]
fn first_matching_subject_is_named() {
    let subjects = json!([
        {"kind": "Group", "name": "g1"},
        {"kind": "User", "name": "u"},
    ]);
    let policy = Policy::build(
        &[],
        &[cluster_role("r", pods_read())],
        &[],
        &[cluster_role_binding("b", "r", subjects)],
    );
    let groups = vec!["g1".to_string()];
    let decision = policy.authorize(&pods("u", &groups, "get", "ns"));
    assert_eq!(
        decision.reason,
        r#"RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to Group "g1""#
    );
}

#[test]
fn malformed_objects_are_skipped() {
    let policy = Policy::build(
        &[
            json!("not an object"),
            json!({"metadata": {"name": "r", "namespace": "ns"}, "rules": "nope"}),
        ],
        &[
            json!({"metadata": {}, "rules": []}),
            json!({"metadata": {"name": "bad"}, "rules": [{"verbs": 7}]}),
            json!(null),
            cluster_role("good", pods_read()),
        ],
        &[
            json!({"metadata": {"name": "no-role-ref", "namespace": "ns"}}),
            json!(42),
            role_binding("ns", "to-bad", "Role", "r", user("u")),
        ],
        &[
            json!({"metadata": {"name": "x"}, "roleRef": "bad"}),
            cluster_role_binding("to-bad", "bad", user("u")),
            cluster_role_binding("to-good", "good", json!([{"kind": "User", "name": "v"}, 5])),
            cluster_role_binding("good", "good", user("w")),
            json!([]),
        ],
    );
    let none: Vec<String> = Vec::new();
    assert!(!policy.authorize(&pods("u", &none, "get", "ns")).allowed);
    assert!(!policy.authorize(&pods("v", &none, "get", "ns")).allowed);
    assert!(policy.authorize(&pods("w", &none, "get", "ns")).allowed);
}

#[test]
fn null_subjects_and_rules_grant_nothing_without_failing() {
    let policy = Policy::build(
        &[],
        &[json!({"metadata": {"name": "empty"}, "rules": null})],
        &[],
        &[
            json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "empty"}, "subjects": null}),
        ],
    );
    let none: Vec<String> = Vec::new();
    assert!(!policy.authorize(&pods("u", &none, "get", "ns")).allowed);
}

#[test]
fn rules_for_splits_resource_and_non_resource_rules() {
    let policy = Policy::build(
        &[role("ns", "local", pods_read())],
        &[cluster_role(
            "global",
            json!([
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
                {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
            ]),
        )],
        &[role_binding("ns", "local", "Role", "local", user("u"))],
        &[cluster_role_binding("global", "global", group("all"))],
    );
    let groups = vec!["all".to_string()];
    let rule = |v: Value| -> PolicyRule { serde_json::from_value(v).unwrap() };

    let (resource, non_resource) = policy.rules_for("u", &groups, "ns");
    assert_eq!(
        resource,
        vec![
            rule(json!({"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]})),
            rule(json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]})),
        ]
    );
    assert_eq!(
        non_resource,
        vec![rule(
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]})
        )]
    );

    let (resource, _) = policy.rules_for("u", &groups, "other");
    assert_eq!(resource.len(), 1, "only the cluster-wide rule outside ns");
    let (resource, non_resource) = policy.rules_for("u", &[], "other");
    assert!(resource.is_empty() && non_resource.is_empty());
}

#[test]
fn policy_is_shareable_between_request_handlers() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Policy>();
}
