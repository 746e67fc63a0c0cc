//! The bootstrap policy: the default ClusterRoles and ClusterRoleBindings,
//! kept as data in `data/bootstrap.json` (provenance in `data/README.md`).
//!
//! The data is compiled in; a test guards that it decodes, so the
//! functions here cannot fail at run time.

use serde_json::Value;

const BOOTSTRAP: &str = include_str!("../data/bootstrap.json");

fn section(key: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(BOOTSTRAP)
        .ok()
        .and_then(|mut data| data.get_mut(key).map(Value::take))
        .and_then(|list| match list {
            Value::Array(items) => Some(items),
            _ => None,
        })
        .unwrap_or_default()
}

/// The default ClusterRoles as full objects (apiVersion, kind, metadata with
/// the `kubernetes.io/bootstrapping: rbac-defaults` label and the
/// `rbac.authorization.kubernetes.io/autoupdate: "true"` annotation).
/// `admin`, `edit` and `view` are aggregated and carry no rules of their own.
pub fn cluster_roles() -> Vec<Value> {
    section("clusterRoles")
}

/// The default ClusterRoleBindings as full objects.
pub fn cluster_role_bindings() -> Vec<Value> {
    section("clusterRoleBindings")
}
