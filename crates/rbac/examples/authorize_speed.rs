//! Prints how long one `Policy::authorize` takes with 1,000 Roles and 1,000
//! RoleBindings (plus the bootstrap policy), for a quick local check:
//! `cargo run --release -p skewless-rbac --example authorize_speed`.
//! The target is well under 10 µs per decision; tests never assert timing.

use std::time::Instant;

use serde_json::json;
use skewless_rbac::{Attributes, Policy, bootstrap};

fn main() {
    let mut roles = Vec::new();
    let mut bindings = Vec::new();
    for i in 0..1000 {
        let namespace = format!("ns-{}", i % 50);
        roles.push(json!({"metadata": {"name": format!("role-{i}"), "namespace": namespace},
            "rules": [{"apiGroups": [""], "resources": [format!("res-{i}"), "pods"], "verbs": ["get", "list"]}]}));
        bindings.push(
            json!({"metadata": {"name": format!("binding-{i}"), "namespace": namespace},
            "roleRef": {"kind": "Role", "name": format!("role-{i}")},
            "subjects": [{"kind": "User", "name": format!("user-{i}")},
                         {"kind": "Group", "name": format!("group-{}", i % 10)}]}),
        );
    }
    let built = Instant::now();
    let policy = Policy::build(
        &roles,
        &bootstrap::cluster_roles(),
        &bindings,
        &bootstrap::cluster_role_bindings(),
    );
    println!("build: {:?}", built.elapsed());

    let groups = vec!["group-3".to_string(), "system:authenticated".to_string()];
    let rounds = 100_000u32;
    let mut allowed = 0u32;
    let started = Instant::now();
    for round in 0..rounds {
        let user = if round % 2 == 0 { "user-13" } else { "user-14" };
        let decision = policy.authorize(&Attributes {
            user,
            groups: &groups,
            verb: "delete",
            resource_request: true,
            namespace: "ns-13",
            resource: "secrets",
            ..Attributes::default()
        });
        allowed += u32::from(decision.allowed);
    }
    let per = started.elapsed() / rounds;
    println!(
        "authorize (deny, full scan of the caller's bindings): {per:?} per decision ({allowed} allowed)"
    );
}
