//! One rule against one request: upstream's `RuleAllows` table.

use serde_json::json;

use crate::{Attributes, PolicyRule};

fn rule(value: serde_json::Value) -> PolicyRule {
    serde_json::from_value(value).unwrap()
}

fn resource(
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    subresource: &'static str,
    name: &'static str,
) -> Attributes<'static> {
    Attributes {
        verb,
        resource_request: true,
        namespace: "ns",
        api_group: group,
        resource,
        subresource,
        name,
        ..Attributes::default()
    }
}

fn path(verb: &'static str, path: &'static str) -> Attributes<'static> {
    Attributes {
        verb,
        path,
        ..Attributes::default()
    }
}

#[test]
fn rule_matching_table() {
    let pods_get = json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]});
    let cases: Vec<(&str, serde_json::Value, Attributes<'static>, bool)> = vec![
        (
            "exact verb/group/resource",
            pods_get.clone(),
            resource("get", "", "pods", "", "p"),
            true,
        ),
        (
            "other verb",
            pods_get.clone(),
            resource("list", "", "pods", "", ""),
            false,
        ),
        (
            "other group",
            pods_get.clone(),
            resource("get", "apps", "pods", "", "p"),
            false,
        ),
        (
            "other resource",
            pods_get.clone(),
            resource("get", "", "secrets", "", "p"),
            false,
        ),
        (
            "verb star",
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}),
            resource("delete", "", "pods", "", "p"),
            true,
        ),
        (
            "group star",
            json!({"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}),
            resource("get", "metrics.k8s.io", "pods", "", "p"),
            true,
        ),
        (
            "resource star matches resource",
            json!({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}),
            resource("get", "", "secrets", "", "s"),
            true,
        ),
        (
            "resource star matches subresource",
            json!({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}),
            resource("get", "", "pods", "log", "p"),
            true,
        ),
        (
            "resource does not match its subresource",
            pods_get.clone(),
            resource("get", "", "pods", "log", "p"),
            false,
        ),
        (
            "res/sub matches that subresource",
            json!({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}),
            resource("get", "", "pods", "log", "p"),
            true,
        ),
        (
            "res/sub does not match the resource",
            json!({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}),
            resource("get", "", "pods", "", "p"),
            false,
        ),
        (
            "res/sub does not match another subresource",
            json!({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}),
            resource("get", "", "pods", "exec", "p"),
            false,
        ),
        (
            "*/sub matches any resource's sub",
            json!({"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["update"]}),
            resource("update", "apps", "deployments", "scale", "d"),
            true,
        ),
        (
            "*/sub does not match the resource",
            json!({"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["update"]}),
            resource("update", "apps", "deployments", "", "d"),
            false,
        ),
        (
            "*/sub does not match another sub",
            json!({"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["update"]}),
            resource("update", "apps", "deployments", "status", "d"),
            false,
        ),
        (
            "resourceNames lists the name",
            json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get"]}),
            resource("get", "", "configmaps", "", "b"),
            true,
        ),
        (
            "resourceNames lacks the name",
            json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]}),
            resource("get", "", "configmaps", "", "c"),
            false,
        ),
        (
            "resourceNames and no name (list)",
            json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["list"]}),
            resource("list", "", "configmaps", "", ""),
            false,
        ),
        (
            "resourceNames and no name (create)",
            json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["create"]}),
            resource("create", "", "configmaps", "", ""),
            false,
        ),
        (
            "empty resourceNames allows no name",
            pods_get.clone(),
            resource("get", "", "pods", "", ""),
            true,
        ),
        (
            "resource rule does not match a path",
            json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
            path("get", "/healthz"),
            false,
        ),
        (
            "url exact",
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}),
            path("get", "/healthz"),
            true,
        ),
        (
            "url exact is not a prefix",
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}),
            path("get", "/healthz/etcd"),
            false,
        ),
        (
            "url prefix star",
            json!({"nonResourceURLs": ["/healthz/*"], "verbs": ["get"]}),
            path("get", "/healthz/etcd"),
            true,
        ),
        (
            "url prefix star does not match the bare path",
            json!({"nonResourceURLs": ["/healthz/*"], "verbs": ["get"]}),
            path("get", "/healthz"),
            false,
        ),
        (
            "url star",
            json!({"nonResourceURLs": ["*"], "verbs": ["get"]}),
            path("get", "/anything/at/all"),
            true,
        ),
        (
            "url other verb",
            json!({"nonResourceURLs": ["/version"], "verbs": ["get"]}),
            path("post", "/version"),
            false,
        ),
        (
            "url rule does not match a resource",
            json!({"nonResourceURLs": ["*"], "verbs": ["*"]}),
            resource("get", "", "pods", "", "p"),
            false,
        ),
    ];
    for (name, value, attributes, want) in cases {
        assert_eq!(rule(value).allows(&attributes), want, "case {name}");
    }
}

#[test]
fn rule_decoding_tolerates_missing_and_null_lists() {
    let decoded = rule(json!({"verbs": ["get"], "apiGroups": null, "resources": ["pods"]}));
    assert_eq!(decoded.api_groups, Vec::<String>::new());
    assert!(decoded.resource_names.is_empty() && decoded.non_resource_urls.is_empty());
    let encoded = serde_json::to_value(&decoded).unwrap();
    assert_eq!(encoded, json!({"verbs": ["get"], "resources": ["pods"]}));
    let urls = rule(json!({"nonResourceURLs": ["/x"], "verbs": ["get"]}));
    assert_eq!(urls.non_resource_urls, vec!["/x".to_string()]);
}
