//! Where a resource's objects live in storage, and the compare-and-swap
//! JSON write every in-process controller uses.
//!
//! Storage keys are `/<group>/<resource>/<namespace>/<name>` (`core` for the
//! core group; no namespace segment for cluster-scoped resources). They
//! depend on group and resource only, never on the version, so every
//! version of a resource shares its objects.

use skewless_apimachinery::catalog::ResourceInfo;
use skewless_apimachinery::validation::NameRule;
use skewless_store::{KeyValue, Revision, Store, StoreError, WriteOptions};

fn storage_group(group: &str) -> &str {
    if group.is_empty() { "core" } else { group }
}

/// The prefix holding a resource's objects: in one namespace, or all of
/// them (`namespace` empty, or a cluster-scoped resource).
pub(crate) fn prefix(r: &ResourceInfo, namespace: &str) -> String {
    let base = format!("{}{}/", group_prefix(&r.group), r.resource);
    if r.namespaced && !namespace.is_empty() {
        format!("{base}{namespace}/")
    } else {
        base
    }
}

/// The key of one object.
pub(crate) fn key(r: &ResourceInfo, namespace: &str, name: &str) -> String {
    key_in(
        &r.group,
        &r.resource,
        r.namespaced.then_some(namespace),
        name,
    )
}

/// The key of one object from its parts (`namespace` empty for a
/// cluster-scoped resource), for code that knows them without a
/// `ResourceInfo` at hand.
pub(crate) fn object_key(group: &str, resource: &str, namespace: &str, name: &str) -> String {
    key_in(
        group,
        resource,
        (!namespace.is_empty()).then_some(namespace),
        name,
    )
}

fn key_in(group: &str, resource: &str, namespace: Option<&str>, name: &str) -> String {
    let base = group_prefix(group);
    match namespace {
        Some(ns) => format!("{base}{resource}/{ns}/{name}"),
        None => format!("{base}{resource}/{name}"),
    }
}

/// Where every resource of `group` lives (a watch over all of them).
pub(crate) fn group_prefix(group: &str) -> String {
    format!("/{}/", storage_group(group))
}

/// The key of a namespace object.
pub(crate) fn namespace_key(name: &str) -> String {
    format!("/core/namespaces/{name}")
}

/// How names of a resource are validated, as upstream's per-type rules.
pub(crate) fn name_rule(r: &ResourceInfo) -> NameRule {
    match (r.group.as_str(), r.resource.as_str()) {
        ("", "namespaces") => NameRule::Dns1123Label,
        ("", "services") => NameRule::Dns1035Label,
        (
            "rbac.authorization.k8s.io",
            "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings",
        ) => NameRule::PathSegment,
        _ => NameRule::Dns1123Subdomain,
    }
}

/// Replaces the JSON object at `key` if it is still at `revision` (the
/// compare-and-swap every in-process controller writes with).
pub(crate) async fn update_json(
    store: &dyn Store,
    key: &str,
    value: &serde_json::Value,
    revision: Revision,
) -> Result<KeyValue, StoreError> {
    store
        .update(
            key,
            serde_json::to_vec(value).unwrap_or_default(),
            revision,
            WriteOptions::default(),
        )
        .await
}
