//! Table tests for the discovery merge: every case of upstream's
//! `TestMergeResources` (reference §9.2) as our own, the cases the issue adds
//! (three servers, conflicting metadata, a group only a peer serves, version
//! orders that differ), the order-preserving merge, the exclusion filter, and
//! a property test that every server computes the same bytes.

use super::*;
use serde_json::Value;
use skewless_apimachinery::discovery::{
    APIGroupDiscoveryList, Freshness, GroupVersionKind, ObjectMeta, ResourceScope,
};
use std::path::PathBuf;

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn kind_of(resource: &str) -> String {
    let singular = resource.trim_end_matches('s');
    let mut chars = singular.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn res(name: &str, verbs: &[&str]) -> APIResourceDiscovery {
    APIResourceDiscovery {
        resource: name.to_owned(),
        response_kind: Some(GroupVersionKind {
            group: String::new(),
            version: String::new(),
            kind: kind_of(name),
        }),
        scope: ResourceScope::Namespaced,
        singular_resource: name.trim_end_matches('s').to_owned(),
        verbs: strings(verbs),
        short_names: vec![],
        categories: vec![],
        subresources: vec![],
    }
}

fn sub(name: &str, verbs: &[&str]) -> APISubresourceDiscovery {
    APISubresourceDiscovery {
        subresource: name.to_owned(),
        response_kind: None,
        accepted_types: vec![],
        verbs: strings(verbs),
    }
}

fn with_subs(
    mut resource: APIResourceDiscovery,
    subs: Vec<APISubresourceDiscovery>,
) -> APIResourceDiscovery {
    resource.subresources = subs;
    resource
}

fn ver(name: &str, resources: Vec<APIResourceDiscovery>) -> APIVersionDiscovery {
    APIVersionDiscovery {
        version: name.to_owned(),
        resources,
        freshness: Some(Freshness::Current),
    }
}

fn group(name: &str, versions: Vec<APIVersionDiscovery>) -> APIGroupDiscovery {
    APIGroupDiscovery {
        metadata: ObjectMeta {
            name: name.to_owned(),
            creation_timestamp: None,
        },
        versions,
        ..Default::default()
    }
}

/// A group `name` with one version `v1` holding one resource `r1`.
fn simple(name: &str) -> APIGroupDiscovery {
    group(name, vec![ver("v1", vec![res("r1", &["get", "list"])])])
}

fn group_names(groups: &[APIGroupDiscovery]) -> Vec<&str> {
    groups.iter().map(APIGroupDiscovery::name).collect()
}

fn version_names(group: &APIGroupDiscovery) -> Vec<&str> {
    group.versions.iter().map(|v| v.version.as_str()).collect()
}

fn resource_names(version: &APIVersionDiscovery) -> Vec<&str> {
    version
        .resources
        .iter()
        .map(|r| r.resource.as_str())
        .collect()
}

fn peers(entries: &[(&str, &[APIGroupDiscovery])]) -> BTreeMap<String, Vec<APIGroupDiscovery>> {
    entries
        .iter()
        .map(|(id, groups)| ((*id).to_owned(), groups.to_vec()))
        .collect()
}

/// Merges `servers` once from each server's point of view (that server
/// local, the others peers), asserts all views serialise to the same bytes,
/// and returns the common result.
fn merge_from_every_view(servers: &[(&str, Vec<APIGroupDiscovery>)]) -> Vec<APIGroupDiscovery> {
    let mut results = servers.iter().map(|(local_id, local)| {
        let others: BTreeMap<String, Vec<APIGroupDiscovery>> = servers
            .iter()
            .filter(|(id, _)| id != local_id)
            .map(|(id, groups)| ((*id).to_owned(), groups.clone()))
            .collect();
        let merged = merge_groups(local_id, local, &others);
        let bytes = serde_json::to_string(&APIGroupDiscoveryList::new(merged.clone())).unwrap();
        (local_id, merged, bytes)
    });
    let (first_id, first, first_bytes) = results.next().unwrap();
    for (id, _, bytes) in results {
        assert_eq!(
            bytes, first_bytes,
            "merge seen from {id} differs from merge seen from {first_id}"
        );
    }
    first
}

// ---------------------------------------------------------------------------
// merge_preserving_relative_order
// ---------------------------------------------------------------------------

#[test]
fn order_merge_table() {
    // (case name, input lists, expected merge)
    type Case<'a> = (&'a str, &'a [&'a [&'a str]], &'a [&'a str]);
    let cases: &[Case] = &[
        ("no lists", &[], &[]),
        ("one list", &[&["b", "a"]], &["b", "a"]),
        ("identical lists", &[&["b", "a"], &["b", "a"]], &["b", "a"]),
        (
            "shortcut: first complete list wins even against other orders",
            &[&["g2", "g1"], &["g1", "g2"]],
            &["g2", "g1"],
        ),
        (
            "shortcut: a later complete list wins over an incomplete first one",
            &[&["a", "c"], &["c", "b", "a"]],
            &["c", "b", "a"],
        ),
        (
            "shortcut skips a complete list with duplicates",
            &[&["a", "b", "a"], &["b", "a"]],
            &["b", "a"],
        ),
        (
            "topological: both orders kept",
            &[&["a", "c"], &["b", "c"], &["c", "d"]],
            &["a", "b", "c", "d"],
        ),
        (
            "lexicographic tie-break picks the smallest ready item",
            &[&["z", "m"], &["a", "m"]],
            &["a", "z", "m"],
        ),
        (
            "tie-break does not override a precedence",
            &[&["z", "a"], &["z", "b"]],
            &["z", "a", "b"],
        ),
        (
            "disjoint lists interleave lexicographically",
            &[&["v2", "v1"], &["v1beta1"]],
            &["v1beta1", "v2", "v1"],
        ),
        (
            "insertion in the middle",
            &[&["v2", "v1"], &["v2", "v1beta1", "v1", "v1alpha1"]],
            &["v2", "v1beta1", "v1", "v1alpha1"],
        ),
        (
            "cycle falls back to a lexicographic sort of everything",
            &[&["b", "a", "x"], &["a", "b", "y"]],
            &["a", "b", "x", "y"],
        ),
        (
            "three-way cycle",
            &[&["c", "a"], &["a", "b"], &["b", "c", "d"]],
            &["a", "b", "c", "d"],
        ),
        (
            "a repeat further on is a cycle",
            &[&["b", "a", "b"], &["c"]],
            &["a", "b", "c"],
        ),
        (
            "an adjacent repeat adds no edge",
            &[&["b", "b", "a"], &["c"]],
            &["b", "a", "c"],
        ),
        (
            "an edge seen in several lists counts once",
            &[&["a", "b"], &["a", "b", "c"], &["x", "b"]],
            &["a", "x", "b", "c"],
        ),
        ("empty lists are ignored", &[&[], &["a"], &[]], &["a"]),
    ];
    for (name, lists, want) in cases {
        let lists: Vec<Vec<String>> = lists.iter().map(|l| strings(l)).collect();
        assert_eq!(
            merge_preserving_relative_order(&lists),
            strings(want),
            "case {name:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Upstream's TestMergeResources, as our own cases
// ---------------------------------------------------------------------------

#[test]
fn no_peers_returns_local() {
    let local = vec![simple("g2"), simple("g1")];
    assert_eq!(merge_groups("serverA", &local, &BTreeMap::new()), local);
    // Our own entry in the peer table is not a peer.
    let only_self = peers(&[("serverA", &[simple("g3")])]);
    assert_eq!(merge_groups("serverA", &local, &only_self), local);
}

#[test]
fn peer_that_adds_nothing_returns_local() {
    // Local sorts last and its order is not lexicographic: still returned as is.
    let local = vec![simple("g2"), simple("g1")];
    let merged = merge_groups("serverB", &local, &peers(&[("serverA", &local)]));
    assert_eq!(merged, local);
    assert_eq!(
        merge_from_every_view(&[("serverA", local.clone()), ("serverB", local.clone())]),
        local
    );
}

#[test]
fn new_resource_in_existing_group_version() {
    let mut a = group("g1", vec![ver("v1", vec![res("r1", &["get"])])]);
    a.metadata.creation_timestamp = Some("2026-01-01T00:00:00Z".to_owned());
    let b = group("g1", vec![ver("v1", vec![res("r2", &["get"])])]);
    let merged = merge_from_every_view(&[("serverA", vec![a.clone()]), ("serverB", vec![b])]);
    assert_eq!(group_names(&merged), ["g1"]);
    assert_eq!(
        merged[0].metadata, a.metadata,
        "group metadata of the first server"
    );
    assert_eq!(version_names(&merged[0]), ["v1"]);
    assert_eq!(resource_names(&merged[0].versions[0]), ["r1", "r2"]);
}

#[test]
fn new_version_in_existing_group() {
    let a = group("g1", vec![ver("v1", vec![res("r1", &["get"])])]);
    let b = group("g1", vec![ver("v2", vec![res("r1", &["get"])])]);
    let merged = merge_from_every_view(&[("serverA", vec![a]), ("serverB", vec![b])]);
    assert_eq!(group_names(&merged), ["g1"]);
    assert_eq!(version_names(&merged[0]), ["v1", "v2"]);
}

#[test]
fn new_group() {
    let merged = merge_from_every_view(&[
        ("serverA", vec![simple("g1")]),
        ("serverB", vec![simple("g2")]),
    ]);
    assert_eq!(group_names(&merged), ["g1", "g2"]);
    assert_eq!(merged, vec![simple("g1"), simple("g2")]);
}

#[test]
fn same_data_in_different_order() {
    let merged = merge_from_every_view(&[
        ("serverA", vec![simple("g1"), simple("g2")]),
        ("serverB", vec![simple("g2"), simple("g1")]),
    ]);
    assert_eq!(group_names(&merged), ["g1", "g2"]);
}

#[test]
fn deterministic_from_each_servers_perspective() {
    let a = vec![simple("g1"), simple("g2")];
    let b = vec![simple("g2"), simple("g1")];
    let from_a = merge_groups("serverA", &a, &peers(&[("serverB", &b)]));
    let from_b = merge_groups("serverB", &b, &peers(&[("serverA", &a)]));
    assert_eq!(group_names(&from_a), ["g1", "g2"]);
    assert_eq!(group_names(&from_b), ["g1", "g2"]);
    assert_eq!(
        serde_json::to_vec(&from_a).unwrap(),
        serde_json::to_vec(&from_b).unwrap()
    );
}

#[test]
fn verbs_are_unioned() {
    let mut ra = res("r1", &["get", "list"]);
    ra.short_names = strings(&["ra"]);
    let mut rb = res("r1", &["get", "watch"]);
    rb.singular_resource = "something-else".to_owned();
    rb.short_names = strings(&["rb"]);
    let merged = merge_from_every_view(&[
        (
            "serverA",
            vec![group("g1", vec![ver("v1", vec![ra.clone()])])],
        ),
        ("serverB", vec![group("g1", vec![ver("v1", vec![rb])])]),
    ]);
    let r = &merged[0].versions[0].resources[0];
    assert_eq!(r.verbs, ["get", "list", "watch"]);
    assert_eq!(
        r.singular_resource, ra.singular_resource,
        "metadata from serverA"
    );
    assert_eq!(r.short_names, ["ra"], "metadata from serverA");
}

#[test]
fn subresources_are_unioned_by_name() {
    let ra = with_subs(res("r1", &["get"]), vec![sub("status", &["get"])]);
    let rb = with_subs(res("r1", &["get"]), vec![sub("log", &["get"])]);
    let merged = merge_from_every_view(&[
        ("serverA", vec![group("g1", vec![ver("v1", vec![ra])])]),
        ("serverB", vec![group("g1", vec![ver("v1", vec![rb])])]),
    ]);
    let subs: Vec<&str> = merged[0].versions[0].resources[0]
        .subresources
        .iter()
        .map(|s| s.subresource.as_str())
        .collect();
    assert_eq!(subs, ["log", "status"]);
}

#[test]
fn empty_local_with_nonempty_peer() {
    let peer = vec![simple("g1"), simple("g2")];
    let merged = merge_groups("serverA", &[], &peers(&[("serverB", &peer)]));
    assert_eq!(merged, peer);
    assert_eq!(
        merge_from_every_view(&[("serverA", vec![]), ("serverB", peer.clone())]),
        peer
    );
}

// ---------------------------------------------------------------------------
// Cases upstream does not test
// ---------------------------------------------------------------------------

#[test]
fn three_servers() {
    let a = vec![group("g1", vec![ver("v1", vec![res("r1", &["get"])])])];
    let b = vec![
        group("g1", vec![ver("v1", vec![res("r2", &["list"])])]),
        simple("g2"),
    ];
    let c = vec![
        simple("g3"),
        group("g1", vec![ver("v2", vec![res("r3", &["watch"])])]),
    ];
    let merged = merge_from_every_view(&[("serverA", a), ("serverB", b), ("serverC", c)]);
    // No server lists all three groups; g3 before g1 (C) and g1 before g2 (B).
    assert_eq!(group_names(&merged), ["g3", "g1", "g2"]);
    let g1 = &merged[1];
    assert_eq!(version_names(g1), ["v1", "v2"]);
    assert_eq!(resource_names(&g1.versions[0]), ["r1", "r2"]);
    assert_eq!(resource_names(&g1.versions[1]), ["r3"]);
}

#[test]
fn three_identical_servers_keep_the_shared_order() {
    let doc = vec![simple("zeta"), simple("alpha"), simple("mid")];
    let merged = merge_from_every_view(&[
        ("apiserver-c", doc.clone()),
        ("apiserver-a", doc.clone()),
        ("apiserver-b", doc.clone()),
    ]);
    assert_eq!(merged, doc);
}

#[test]
fn conflicting_resource_metadata_first_server_wins() {
    let mut winner = res("widgets", &["get", "list"]);
    winner.scope = ResourceScope::Namespaced;
    winner.response_kind = Some(GroupVersionKind {
        group: String::new(),
        version: String::new(),
        kind: "Widget".to_owned(),
    });
    winner.categories = strings(&["all"]);
    let mut loser = res("widgets", &["create", "get"]);
    loser.scope = ResourceScope::Cluster;
    loser.response_kind = Some(GroupVersionKind {
        group: "other".to_owned(),
        version: "v9".to_owned(),
        kind: "Gadget".to_owned(),
    });
    loser.singular_resource = "gadget".to_owned();
    loser.categories = vec![];
    let doc =
        |r: &APIResourceDiscovery| vec![group("example.com", vec![ver("v1", vec![r.clone()])])];

    // The lexicographically first ID wins, whichever server is local and in
    // whichever order the servers are given.
    for (first, second) in [("apiserver-1", "apiserver-2"), ("kube-a", "kube-b")] {
        let merged = merge_from_every_view(&[(second, doc(&loser)), (first, doc(&winner))]);
        let r = &merged[0].versions[0].resources[0];
        assert_eq!(
            APIResourceDiscovery {
                verbs: strings(&["create", "get", "list"]),
                ..winner.clone()
            },
            *r
        );
    }
}

#[test]
fn same_subresource_later_server_overrides() {
    let ra = with_subs(
        res("r1", &["get"]),
        vec![sub("status", &["get"]), sub("scale", &["get"])],
    );
    let rb = with_subs(
        res("r1", &["get", "list"]),
        vec![sub("status", &["get", "patch", "update"])],
    );
    let merged = merge_from_every_view(&[
        ("serverA", vec![group("g1", vec![ver("v1", vec![ra])])]),
        ("serverB", vec![group("g1", vec![ver("v1", vec![rb])])]),
    ]);
    let r = &merged[0].versions[0].resources[0];
    assert_eq!(
        r.subresources,
        vec![
            sub("scale", &["get"]),
            sub("status", &["get", "patch", "update"])
        ]
    );
}

#[test]
fn group_only_on_a_peer() {
    let only_b = group(
        "batch",
        vec![
            ver("v1", vec![res("jobs", &["get"]), res("cronjobs", &["get"])]),
            ver("v1beta1", vec![res("cronjobs", &["get"])]),
        ],
    );
    let local = vec![simple("apps"), simple("policy")];
    let b = vec![simple("apps"), only_b.clone(), simple("policy")];
    let c = vec![simple("apps"), simple("policy")];
    let merged = merge_groups(
        "serverA",
        &local,
        &peers(&[("serverB", &b), ("serverC", &c)]),
    );
    assert_eq!(group_names(&merged), ["apps", "batch", "policy"]);
    assert_eq!(
        merged[1], only_b,
        "a group only one server has is copied as is"
    );
    assert_eq!(
        merge_from_every_view(&[("serverA", local), ("serverB", b), ("serverC", c)]),
        merged
    );
}

#[test]
fn version_order_differing_across_servers() {
    let v = |name: &str| ver(name, vec![res("r1", &["get"])]);
    // Same versions, opposite orders: the first server's order.
    let merged = merge_from_every_view(&[
        ("serverA", vec![group("g1", vec![v("v1"), v("v1beta1")])]),
        ("serverB", vec![group("g1", vec![v("v1beta1"), v("v1")])]),
    ]);
    assert_eq!(version_names(&merged[0]), ["v1", "v1beta1"]);
    let merged = merge_from_every_view(&[
        ("serverA", vec![group("g1", vec![v("v1beta1"), v("v1")])]),
        ("serverB", vec![group("g1", vec![v("v1"), v("v1beta1")])]),
    ]);
    assert_eq!(version_names(&merged[0]), ["v1beta1", "v1"]);
    // An old server with [v2, v1] and a new one that dropped v2 and added
    // v1beta1 after v1: both orders kept.
    let merged = merge_from_every_view(&[
        ("serverA", vec![group("g1", vec![v("v2"), v("v1")])]),
        ("serverB", vec![group("g1", vec![v("v1"), v("v1beta1")])]),
    ]);
    assert_eq!(version_names(&merged[0]), ["v2", "v1", "v1beta1"]);
    // Disagreeing and incomplete orders: no server's order can win; the
    // topological merge orders what it can and breaks ties lexicographically.
    let merged = merge_from_every_view(&[
        ("serverA", vec![group("g1", vec![v("v2"), v("v1")])]),
        (
            "serverB",
            vec![group("g1", vec![v("v1"), v("v2"), v("v1alpha1")])],
        ),
        ("serverC", vec![group("g1", vec![v("v1beta1")])]),
    ]);
    // A and B merge first: B's complete order wins. C's v1beta1 then has no
    // precedence and goes before the lexicographically larger ready `v2`.
    assert_eq!(
        version_names(&merged[0]),
        ["v1", "v1beta1", "v2", "v1alpha1"]
    );
}

#[test]
fn freshness_and_version_fields_come_from_the_first_server() {
    let stale = APIVersionDiscovery {
        freshness: Some(Freshness::Stale),
        ..ver("v1", vec![res("r1", &["get"])])
    };
    let current = ver("v1", vec![res("r1", &["get"]), res("r2", &["get"])]);
    let merged = merge_from_every_view(&[
        ("serverA", vec![group("g1", vec![stale])]),
        ("serverB", vec![group("g1", vec![current])]),
    ]);
    assert_eq!(merged[0].versions[0].freshness, Some(Freshness::Stale));
    assert_eq!(resource_names(&merged[0].versions[0]), ["r1", "r2"]);
}

#[test]
fn resource_order_merges_like_group_order() {
    let merged = merge_from_every_view(&[
        (
            "serverA",
            vec![group(
                "g1",
                vec![ver("v1", vec![res("b", &[]), res("d", &[])])],
            )],
        ),
        (
            "serverB",
            vec![group(
                "g1",
                vec![ver("v1", vec![res("c", &[]), res("d", &[]), res("a", &[])])],
            )],
        ),
    ]);
    assert_eq!(resource_names(&merged[0].versions[0]), ["b", "c", "d", "a"]);
}

#[test]
fn merged_content_in_same_order_keeps_local_order() {
    // Same names in the same (non-lexicographic) order everywhere, but the
    // content differs: local order, merged content.
    let a = vec![
        simple("g2"),
        group("g1", vec![ver("v1", vec![res("r1", &["get"])])]),
    ];
    let b = vec![
        simple("g2"),
        group("g1", vec![ver("v1", vec![res("r1", &["list"])])]),
    ];
    let merged = merge_from_every_view(&[("serverA", a), ("serverB", b)]);
    assert_eq!(group_names(&merged), ["g2", "g1"]);
    assert_eq!(merged[1].versions[0].resources[0].verbs, ["get", "list"]);
}

#[test]
fn core_group_merges_like_any_other() {
    let core = |resources| vec![group("", vec![ver("v1", resources)])];
    let merged = merge_from_every_view(&[
        ("serverA", core(vec![res("pods", &["get"])])),
        ("serverB", core(vec![res("configmaps", &["get"])])),
    ]);
    assert_eq!(group_names(&merged), [""]);
    // Disjoint lists, no precedence between them: lexicographic.
    assert_eq!(
        resource_names(&merged[0].versions[0]),
        ["configmaps", "pods"]
    );
}

#[test]
fn merge_helpers_directly() {
    // merge_resource_capabilities: empty verbs stay empty, `b` fills in only
    // when `a` has no resource name.
    let mut unnamed = res("", &[]);
    unnamed.singular_resource = "from-a".to_owned();
    let named = res("r1", &[]);
    let m = merge_resource_capabilities(&unnamed, &named);
    assert_eq!(m.resource, "r1");
    assert!(m.verbs.is_empty() && m.subresources.is_empty());

    // merge_resources_across_version keeps `a`'s version name and freshness.
    let a = APIVersionDiscovery {
        freshness: None,
        ..ver("v1", vec![res("r1", &["get"])])
    };
    let b = ver("v1", vec![res("r1", &["get"])]);
    assert_eq!(merge_resources_across_version(&a, &b), a);

    // merge_versions_across_group keeps `a`'s metadata and type fields.
    let mut ga = simple("g1");
    ga.kind = "APIGroupDiscovery".to_owned();
    ga.api_version = "apidiscovery.k8s.io/v2".to_owned();
    let gb = group("g1", vec![ver("v2", vec![])]);
    let m = merge_versions_across_group(&ga, &gb);
    assert_eq!(
        (m.kind.as_str(), m.api_version.as_str()),
        ("APIGroupDiscovery", "apidiscovery.k8s.io/v2")
    );
    assert_eq!(version_names(&m), ["v1", "v2"]);
}

/// Upstream's integration scenario on real data: server A runs with
/// `apps/v1=false`, server B with `batch/v1=false`; both merged views are
/// the full document.
#[test]
fn real_snapshot_with_a_group_disabled_on_each_server() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../apimachinery/data/upstream-discovery/aggregated_v2.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read reference file {}: {e}", path.display()));
    let full: APIGroupDiscoveryList = serde_json::from_str(&text).unwrap();
    let without = |name: &str| -> Vec<APIGroupDiscovery> {
        full.items
            .iter()
            .filter(|g| g.name() != name)
            .cloned()
            .collect()
    };
    let merged = merge_from_every_view(&[
        ("apiserver-a", without("apps")),
        ("apiserver-b", without("batch")),
    ]);
    assert_eq!(merged, full.items);
    let back: Value = serde_json::to_value(APIGroupDiscoveryList::new(merged)).unwrap();
    assert_eq!(back, serde_json::from_str::<Value>(&text).unwrap());
}

// ---------------------------------------------------------------------------
// filter_excluded and gvrs
// ---------------------------------------------------------------------------

fn gv_set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(g, v)| ((*g).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn filter_excluded_table() {
    let apps = group(
        "apps",
        vec![
            ver("v1", vec![res("deployments", &["get"])]),
            ver("v1beta1", vec![res("deployments", &["get"])]),
        ],
    );
    let crd = group("example.com", vec![ver("v1", vec![res("foos", &["get"])])]);
    let core = group("", vec![ver("v1", vec![res("pods", &["get"])])]);
    let doc = vec![core.clone(), apps.clone(), crd.clone()];

    // (case name, excluded group/versions, expected document)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Vec<APIGroupDiscovery>);
    let cases: &[Case] = &[
        ("empty exclusion changes nothing", &[], doc.clone()),
        (
            "no match changes nothing",
            &[("example.com", "v2"), ("batch", "v1")],
            doc.clone(),
        ),
        (
            "all versions excluded drops the group",
            &[("example.com", "v1")],
            vec![core.clone(), apps.clone()],
        ),
        (
            "partial version exclusion keeps the group and its metadata",
            &[("apps", "v1beta1")],
            vec![
                core.clone(),
                group("apps", vec![ver("v1", vec![res("deployments", &["get"])])]),
                crd.clone(),
            ],
        ),
        (
            "core group is addressed as \"\"",
            &[("", "v1"), ("example.com", "v1")],
            vec![apps.clone()],
        ),
    ];
    for (name, excluded, want) in cases {
        assert_eq!(
            filter_excluded(&doc, &gv_set(excluded)),
            *want,
            "case {name:?}"
        );
    }
}

#[test]
fn gvrs_lists_top_level_resources_only() {
    let doc = vec![
        group(
            "",
            vec![ver(
                "v1",
                vec![with_subs(res("pods", &["get"]), vec![sub("log", &["get"])])],
            )],
        ),
        group(
            "apps",
            vec![
                ver(
                    "v1",
                    vec![res("deployments", &["get"]), res("daemonsets", &["get"])],
                ),
                ver("v1beta1", vec![]),
            ],
        ),
    ];
    let want: BTreeSet<GroupVersionResource> = [
        ("", "v1", "pods"),
        ("apps", "v1", "deployments"),
        ("apps", "v1", "daemonsets"),
    ]
    .into_iter()
    .map(|(g, v, r)| GroupVersionResource::new(g, v, r))
    .collect();
    assert_eq!(gvrs(&doc), want);
    assert!(gvrs(&[]).is_empty());
}

// ---------------------------------------------------------------------------
// Property: every server computes the same bytes
// ---------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so the property test needs
/// no dependency and every failure is reproducible from its iteration.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A random subset of `pool`, in canonical or shuffled order.
    fn subset(&mut self, pool: &[&str], shuffle: bool) -> Vec<String> {
        let mut out: Vec<String> = pool
            .iter()
            .filter(|_| self.chance(60))
            .map(|s| (*s).to_owned())
            .collect();
        if shuffle {
            for i in (1..out.len()).rev() {
                let j = self.below(i + 1);
                out.swap(i, j);
            }
        }
        out
    }
}

fn random_resource(rng: &mut Rng, name: &str) -> APIResourceDiscovery {
    let verbs = ["create", "get", "list", "watch"];
    let mut r = res(name, &[]);
    r.verbs = rng.subset(&verbs, false);
    if rng.chance(30) {
        r.scope = ResourceScope::Cluster;
    }
    if rng.chance(30) {
        r.singular_resource = format!("{name}-alt");
    }
    if rng.chance(30) {
        r.short_names = strings(&["x"]);
    }
    r.subresources = rng
        .subset(&["log", "scale", "status"], false)
        .iter()
        .map(|s| {
            sub(
                s,
                if rng.chance(50) {
                    &["get"]
                } else {
                    &["get", "patch"]
                },
            )
        })
        .collect();
    r
}

fn random_document(rng: &mut Rng, shuffle: bool) -> Vec<APIGroupDiscovery> {
    rng.subset(&["", "apps", "batch", "example.com", "zeta.io"], shuffle)
        .iter()
        .map(|g| {
            let versions = rng
                .subset(&["v2", "v1", "v1beta1", "v1alpha1"], shuffle)
                .iter()
                .map(|v| {
                    let mut version = ver(v, vec![]);
                    version.resources = rng
                        .subset(&["bars", "foos", "pods", "widgets"], shuffle)
                        .iter()
                        .map(|r| random_resource(rng, r))
                        .collect();
                    version.freshness = match rng.below(3) {
                        0 => None,
                        1 => Some(Freshness::Stale),
                        _ => Some(Freshness::Current),
                    };
                    version
                })
                .collect();
            group(g, versions)
        })
        .collect()
}

#[test]
fn every_server_computes_the_same_bytes() {
    let ids = [
        "apiserver-0b",
        "apiserver-7f",
        "apiserver-a1",
        "kube-x",
        "apiserver-c3",
    ];
    let mut rng = Rng(0x5EED_1E55_0DD5_CAFE);
    for iteration in 0..400 {
        let shuffle = rng.chance(50);
        let count = 2 + rng.below(ids.len() - 1);
        let mut servers: Vec<(&str, Vec<APIGroupDiscovery>)> = Vec::new();
        for id in &ids[..count] {
            // Sometimes a server is an exact copy of another, to exercise the
            // short cuts.
            let doc = match servers.last() {
                Some((_, previous)) if rng.chance(25) => previous.clone(),
                _ => random_document(&mut rng, shuffle),
            };
            servers.push((*id, doc));
        }

        let merged = merge_from_every_view(&servers);

        let union: BTreeSet<GroupVersionResource> =
            servers.iter().flat_map(|(_, doc)| gvrs(doc)).collect();
        assert_eq!(gvrs(&merged), union, "iteration {iteration}: GVR union");

        let distinct: BTreeSet<&str> = merged.iter().map(APIGroupDiscovery::name).collect();
        assert_eq!(
            distinct.len(),
            merged.len(),
            "iteration {iteration}: duplicate group"
        );

        for g in &merged {
            for v in &g.versions {
                for r in &v.resources {
                    let want: BTreeSet<&String> = servers
                        .iter()
                        .flat_map(|(_, doc)| doc.iter())
                        .filter(|sg| sg.name() == g.name())
                        .flat_map(|sg| sg.versions.iter())
                        .filter(|sv| sv.version == v.version)
                        .flat_map(|sv| sv.resources.iter())
                        .filter(|sr| sr.resource == r.resource)
                        .flat_map(|sr| sr.verbs.iter())
                        .collect();
                    let got: Vec<&String> = r.verbs.iter().collect();
                    assert_eq!(
                        got,
                        want.into_iter().collect::<Vec<_>>(),
                        "iteration {iteration}: verbs of {}/{}/{}",
                        g.name(),
                        v.version,
                        r.resource
                    );
                }
            }
        }

        if !shuffle {
            // Every server lists groups in one canonical order, so the merge
            // keeps every server's order.
            let position = |name: &str| merged.iter().position(|g| g.name() == name);
            for (id, doc) in &servers {
                let positions: Vec<Option<usize>> =
                    doc.iter().map(|g| position(g.name())).collect();
                assert!(
                    positions.windows(2).all(|w| w[0] < w[1]),
                    "iteration {iteration}: order of {id} not kept"
                );
            }
        }
    }
}
