//! The bootstrap policy: the data decodes and, once aggregated, grants what
//! upstream's defaults grant.

use serde_json::{Value, json};

use crate::tests::policy::role_binding;
use crate::{Attributes, Policy, aggregate, bootstrap};

/// The bootstrap ClusterRoles with aggregation applied, as the server's
/// controller would store them.
fn aggregated_roles() -> Vec<Value> {
    let mut roles = bootstrap::cluster_roles();
    for (name, rules) in aggregate(&roles) {
        for role in roles.iter_mut() {
            if role["metadata"]["name"] == name.as_str() {
                role["rules"] = serde_json::to_value(&rules).unwrap();
            }
        }
    }
    roles
}

fn bootstrap_policy(role_bindings: &[Value]) -> Policy {
    Policy::build(
        &[],
        &aggregated_roles(),
        role_bindings,
        &bootstrap::cluster_role_bindings(),
    )
}

fn resource<'a>(
    user: &'a str,
    groups: &'a [String],
    verb: &'a str,
    namespace: &'a str,
    (api_group, resource, subresource): (&'a str, &'a str, &'a str),
) -> Attributes<'a> {
    Attributes {
        user,
        groups,
        verb,
        resource_request: true,
        namespace,
        api_group,
        resource,
        subresource,
        ..Attributes::default()
    }
}

fn get_path<'a>(user: &'a str, groups: &'a [String], path: &'a str) -> Attributes<'a> {
    Attributes {
        user,
        groups,
        verb: "get",
        path,
        ..Attributes::default()
    }
}

#[test]
fn bootstrap_data_decodes_with_upstream_metadata() {
    let roles = bootstrap::cluster_roles();
    let bindings = bootstrap::cluster_role_bindings();
    let names: Vec<&str> = roles
        .iter()
        .filter_map(|r| r["metadata"]["name"].as_str())
        .collect();
    for want in [
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:aggregate-to-admin",
        "system:aggregate-to-edit",
        "system:aggregate-to-view",
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
        "system:monitoring",
    ] {
        assert!(names.contains(&want), "missing ClusterRole {want}");
    }
    assert_eq!(bindings.len(), 5);
    for object in roles.iter().chain(&bindings) {
        assert_eq!(object["apiVersion"], "rbac.authorization.k8s.io/v1");
        assert_eq!(
            object["metadata"]["labels"]["kubernetes.io/bootstrapping"],
            "rbac-defaults"
        );
        assert_eq!(
            object["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"],
            "true"
        );
    }
    for binding in &bindings {
        assert_eq!(binding["kind"], "ClusterRoleBinding");
        let role = binding["roleRef"]["name"].as_str().unwrap();
        assert!(names.contains(&role), "binding to missing role {role}");
    }
    for (name, key) in [("admin", "admin"), ("edit", "edit"), ("view", "view")] {
        let role = roles
            .iter()
            .find(|r| r["metadata"]["name"] == name)
            .unwrap();
        assert_eq!(
            role["aggregationRule"],
            json!({"clusterRoleSelectors": [{"matchLabels": {format!("rbac.authorization.k8s.io/aggregate-to-{key}"): "true"}}]})
        );
    }
}

#[test]
fn bootstrap_grants_table() {
    let policy = bootstrap_policy(&[
        role_binding(
            "dev",
            "viewer",
            "ClusterRole",
            "view",
            json!([{"kind": "User", "name": "vic"}]),
        ),
        role_binding(
            "dev",
            "editor",
            "ClusterRole",
            "edit",
            json!([{"kind": "User", "name": "eve"}]),
        ),
        role_binding(
            "dev",
            "boss",
            "ClusterRole",
            "admin",
            json!([{"kind": "User", "name": "ada"}]),
        ),
    ]);
    let masters = vec![
        "system:masters".to_string(),
        "system:authenticated".to_string(),
    ];
    let authed = vec!["system:authenticated".to_string()];
    let anon = vec!["system:unauthenticated".to_string()];
    let monitoring = vec!["system:monitoring".to_string()];
    let cases: Vec<(&str, Attributes<'_>, bool)> = vec![
        (
            "masters delete anything",
            resource(
                "root",
                &masters,
                "delete",
                "kube-system",
                ("apps", "deployments", ""),
            ),
            true,
        ),
        (
            "masters escalate cluster-wide",
            resource(
                "root",
                &masters,
                "escalate",
                "",
                ("rbac.authorization.k8s.io", "clusterroles", ""),
            ),
            true,
        ),
        (
            "masters any path",
            get_path("root", &masters, "/logs/anything"),
            true,
        ),
        (
            "authenticated create selfsubjectaccessreviews",
            resource(
                "u",
                &authed,
                "create",
                "",
                ("authorization.k8s.io", "selfsubjectaccessreviews", ""),
            ),
            true,
        ),
        (
            "authenticated create selfsubjectreviews",
            resource(
                "u",
                &authed,
                "create",
                "",
                ("authentication.k8s.io", "selfsubjectreviews", ""),
            ),
            true,
        ),
        (
            "authenticated GET /api",
            get_path("u", &authed, "/api"),
            true,
        ),
        (
            "authenticated GET /apis/apps/v1",
            get_path("u", &authed, "/apis/apps/v1"),
            true,
        ),
        (
            "authenticated GET /version",
            get_path("u", &authed, "/version"),
            true,
        ),
        (
            "authenticated cannot list secrets",
            resource("u", &authed, "list", "dev", ("", "secrets", "")),
            false,
        ),
        (
            "authenticated cannot GET /metrics",
            get_path("u", &authed, "/metrics"),
            false,
        ),
        (
            "unauthenticated GET /version",
            get_path("system:anonymous", &anon, "/version"),
            true,
        ),
        (
            "unauthenticated GET /readyz",
            get_path("system:anonymous", &anon, "/readyz"),
            true,
        ),
        (
            "unauthenticated not GET /api",
            get_path("system:anonymous", &anon, "/api"),
            false,
        ),
        (
            "unauthenticated not selfsubjectaccessreviews",
            resource(
                "system:anonymous",
                &anon,
                "create",
                "",
                ("authorization.k8s.io", "selfsubjectaccessreviews", ""),
            ),
            false,
        ),
        (
            "monitoring GET /metrics",
            get_path("prom", &monitoring, "/metrics"),
            true,
        ),
        (
            "monitoring GET /livez/ping",
            get_path("prom", &monitoring, "/livez/ping"),
            true,
        ),
        (
            "monitoring not /api",
            get_path("prom", &monitoring, "/api"),
            false,
        ),
        (
            "view lists pods",
            resource("vic", &authed, "list", "dev", ("", "pods", "")),
            true,
        ),
        (
            "view reads pod logs",
            resource("vic", &authed, "get", "dev", ("", "pods", "log")),
            true,
        ),
        (
            "view cannot get secrets",
            resource("vic", &authed, "get", "dev", ("", "secrets", "")),
            false,
        ),
        (
            "view cannot exec",
            resource("vic", &authed, "create", "dev", ("", "pods", "exec")),
            false,
        ),
        (
            "view only in its namespace",
            resource("vic", &authed, "list", "prod", ("", "pods", "")),
            false,
        ),
        (
            "edit creates deployments.apps",
            resource("eve", &authed, "create", "dev", ("apps", "deployments", "")),
            true,
        ),
        (
            "edit reads secrets",
            resource("eve", &authed, "get", "dev", ("", "secrets", "")),
            true,
        ),
        (
            "edit lists pods (via view)",
            resource("eve", &authed, "list", "dev", ("", "pods", "")),
            true,
        ),
        (
            "edit cannot create roles",
            resource(
                "eve",
                &authed,
                "create",
                "dev",
                ("rbac.authorization.k8s.io", "roles", ""),
            ),
            false,
        ),
        (
            "admin creates rolebindings",
            resource(
                "ada",
                &authed,
                "create",
                "dev",
                ("rbac.authorization.k8s.io", "rolebindings", ""),
            ),
            true,
        ),
        (
            "admin scales deployments (via edit)",
            resource(
                "ada",
                &authed,
                "update",
                "dev",
                ("apps", "deployments", "scale"),
            ),
            true,
        ),
        (
            "admin lists pods (via view)",
            resource("ada", &authed, "list", "dev", ("", "pods", "")),
            true,
        ),
    ];
    for (name, attributes, want) in cases {
        assert_eq!(policy.authorize(&attributes).allowed, want, "case {name}");
    }
    let reason = policy
        .authorize(&resource("root", &masters, "get", "", ("", "nodes", "")))
        .reason;
    assert_eq!(
        reason,
        r#"RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters""#
    );
}

#[test]
fn bootstrap_aggregation_settles() {
    let roles = aggregated_roles();
    assert!(
        aggregate(&roles).is_empty(),
        "a second pass changes nothing"
    );
}
