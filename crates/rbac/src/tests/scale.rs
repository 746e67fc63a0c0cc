//! A policy of 1,000 roles and 1,000 bindings answers correctly. Speed is
//! measured by the project's benchmarks, never asserted in tests.

use serde_json::json;

use crate::tests::policy::{cluster_role, cluster_role_binding, role, role_binding};
use crate::{Attributes, Policy};

#[test]
fn thousand_roles_and_bindings_decide_correctly() {
    let mut roles = Vec::new();
    let mut role_bindings = Vec::new();
    for i in 0..1000 {
        let namespace = format!("ns-{}", i % 50);
        roles.push(role(
            &namespace,
            &format!("role-{i}"),
            json!([{"apiGroups": [""], "resources": [format!("res-{i}")], "verbs": ["get"]}]),
        ));
        role_bindings.push(role_binding(
            &namespace,
            &format!("binding-{i}"),
            "Role",
            &format!("role-{i}"),
            json!([{"kind": "User", "name": format!("user-{i}")}, {"kind": "Group", "name": format!("group-{}", i % 10)}]),
        ));
    }
    let cluster_roles = vec![cluster_role(
        "nodes-read",
        json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]),
    )];
    let cluster_bindings = vec![cluster_role_binding(
        "nodes-read",
        "nodes-read",
        json!([{"kind": "Group", "name": "group-3"}]),
    )];
    let policy = Policy::build(&roles, &cluster_roles, &role_bindings, &cluster_bindings);

    let no_groups: Vec<String> = Vec::new();
    for i in (0..1000).step_by(37) {
        let user = format!("user-{i}");
        let resource = format!("res-{i}");
        let namespace = format!("ns-{}", i % 50);
        let other_namespace = format!("ns-{}", (i + 1) % 50);
        let ask = |verb, namespace, resource| Attributes {
            user: &user,
            groups: &no_groups,
            verb,
            resource_request: true,
            namespace,
            resource,
            ..Attributes::default()
        };
        assert!(
            policy.authorize(&ask("get", &namespace, &resource)).allowed,
            "{user} own"
        );
        assert!(
            !policy
                .authorize(&ask("list", &namespace, &resource))
                .allowed,
            "{user} verb"
        );
        assert!(
            !policy
                .authorize(&ask("get", &other_namespace, &resource))
                .allowed,
            "{user} ns"
        );
        assert!(
            !policy.authorize(&ask("get", &namespace, "res-x")).allowed,
            "{user} resource"
        );
    }

    // A group member gets every rule bound to the group in that namespace:
    // bindings i with i % 10 == 3 and i % 50 == 13 (i = 13, 63, ..., 963).
    let groups = vec!["group-3".to_string()];
    let member = |resource, namespace| Attributes {
        user: "someone",
        groups: &groups,
        verb: "get",
        resource_request: true,
        namespace,
        resource,
        ..Attributes::default()
    };
    assert!(policy.authorize(&member("res-963", "ns-13")).allowed);
    assert!(!policy.authorize(&member("res-964", "ns-14")).allowed);
    let nodes = Attributes {
        verb: "list",
        resource: "nodes",
        ..member("", "")
    };
    assert!(policy.authorize(&nodes).allowed);
}
