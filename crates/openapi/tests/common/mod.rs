//! Shared test helpers: the built-in catalog (read as data, so these tests do
//! not depend on the catalog module's Rust types) turned into ResourceRefs,
//! and a checker that every `$ref` of a document resolves inside it.

#![allow(dead_code)]

use serde_json::Value;
use skewless_openapi::{Release, ResourceRef, SubresourceRef};

const CATALOG: &str = include_str!("../../../apimachinery/data/catalog.json");

fn minor(release: &str) -> u32 {
    release
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap()
}

/// Every catalog resource served by `release` (all group/versions enabled).
pub fn catalog_resources(release: Release) -> Vec<ResourceRef> {
    let catalog: Value = serde_json::from_str(CATALOG).unwrap();
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for r in catalog["resources"].as_array().unwrap() {
        let since = r.get("since").and_then(Value::as_str).map(minor);
        let until = r.get("until").and_then(Value::as_str).map(minor);
        if since.is_some_and(|s| release.minor() < s) || until.is_some_and(|u| release.minor() > u)
        {
            continue;
        }
        let subresources = r
            .get("subresources")
            .and_then(Value::as_array)
            .map(|subs| {
                subs.iter()
                    .map(|s| SubresourceRef {
                        name: s["name"].as_str().unwrap().into(),
                        group: s["group"].as_str().unwrap().into(),
                        version: s["version"].as_str().unwrap().into(),
                        kind: s["kind"].as_str().unwrap().into(),
                        verbs: strs(&s["verbs"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(ResourceRef {
            group: r["group"].as_str().unwrap().into(),
            version: r["version"].as_str().unwrap().into(),
            kind: r["kind"].as_str().unwrap().into(),
            plural: r["resource"].as_str().unwrap().into(),
            namespaced: r["namespaced"].as_bool().unwrap(),
            verbs: strs(&r["verbs"]),
            subresources,
        });
    }
    assert!(out.len() > 80, "catalog has only {} resources", out.len());
    out
}

/// A few core and apps resources, enough for most tests.
pub fn basic_resources() -> Vec<ResourceRef> {
    let all = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    vec![
        ResourceRef::new("", "v1", "ConfigMap", "configmaps", true, &all),
        ResourceRef::new(
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
        )
        .with_subresource(SubresourceRef::new(
            "status",
            "",
            "v1",
            "Namespace",
            &["get", "patch", "update"],
        )),
        ResourceRef::new("", "v1", "Service", "services", true, &all).with_subresource(
            SubresourceRef::new("status", "", "v1", "Service", &["get", "patch", "update"]),
        ),
        ResourceRef::new("apps", "v1", "Deployment", "deployments", true, &all)
            .with_subresource(SubresourceRef::new(
                "scale",
                "autoscaling",
                "v1",
                "Scale",
                &["get", "patch", "update"],
            ))
            .with_subresource(SubresourceRef::new(
                "status",
                "apps",
                "v1",
                "Deployment",
                &["get", "patch", "update"],
            )),
    ]
}

/// Every `$ref` string in `doc`, wherever it is.
pub fn all_refs(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref"
                        && let Some(s) = v.as_str()
                    {
                        out.push(s.to_string());
                    }
                    walk(v, out);
                }
            }
            Value::Array(list) => list.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(doc, &mut out);
    out
}

/// Panics unless every `$ref` in `doc` points at a schema in `doc`.
pub fn assert_refs_resolve(doc: &Value, prefix: &str, schemas: &Value, what: &str) {
    let refs = all_refs(doc);
    assert!(!refs.is_empty(), "{what}: no $ref at all");
    for r in refs {
        let name = r
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{what}: $ref {r} does not start with {prefix}"));
        assert!(schemas.get(name).is_some(), "{what}: dangling $ref {r}");
    }
}

/// The component schema claiming `group/version/kind`, if any.
pub fn schema_for<'a>(
    schemas: &'a Value,
    group: &str,
    version: &str,
    kind: &str,
) -> Option<(&'a str, &'a Value)> {
    schemas
        .as_object()
        .unwrap()
        .iter()
        .find_map(|(name, schema)| {
            let claims = schema.get("x-kubernetes-group-version-kind")?.as_array()?;
            claims
                .iter()
                .any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
                .then_some((name.as_str(), schema))
        })
}
