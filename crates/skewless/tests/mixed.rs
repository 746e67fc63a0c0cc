//! A mixed-version control plane: peer-aggregated discovery across real
//! `skewless serve` processes, kubectl pointed only at the older server,
//! and namespace deletion that reaches objects only the newer server serves.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, eventually, start_peer,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
const NOPEER: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json";

async fn peer(pki: &Pki, storage: &Storage, id: &str, extra: &[&str]) -> ServerProcess {
    start_peer(Path::new(BIN), pki, storage, id, extra).await
}

async fn groups(c: &Client, accept: &str) -> Vec<String> {
    let r = c.request("GET", "/apis", &[("accept", accept)], None).await;
    assert_eq!(r.status, 200);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            let name = g["metadata"]["name"].as_str().unwrap_or("").to_owned();
            g["versions"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |v| format!("{name}/{}", v["version"].as_str().unwrap()))
        })
        .collect()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_discovery_is_the_union_and_identical_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let a = peer(
        &pki,
        &storage,
        "server-a",
        &["--runtime-config=apps/v1=false"],
    )
    .await;
    let mut b = peer(
        &pki,
        &storage,
        "server-b",
        &["--runtime-config=batch/v1=false"],
    )
    .await;
    let ca = a.client(&pki, Identity::Admin);
    let cb = b.client(&pki, Identity::Admin);

    // No-peer views: each lacks its own disabled group.
    let a_local = groups(&ca, NOPEER).await;
    assert!(!a_local.contains(&"apps/v1".into()) && a_local.contains(&"batch/v1".into()));
    let b_local = groups(&cb, NOPEER).await;
    assert!(b_local.contains(&"apps/v1".into()) && !b_local.contains(&"batch/v1".into()));

    // Merged views list both, with the same bytes on both servers.
    eventually(
        Duration::from_secs(10),
        "merged discovery on both",
        || async {
            let ga = groups(&ca, AGGREGATED).await;
            let gb = groups(&cb, AGGREGATED).await;
            ga.contains(&"apps/v1".into())
                && ga.contains(&"batch/v1".into())
                && gb.contains(&"apps/v1".into())
                && gb.contains(&"batch/v1".into())
        },
    )
    .await;
    let ra = ca
        .request("GET", "/apis", &[("accept", AGGREGATED)], None)
        .await;
    let rb = cb
        .request("GET", "/apis", &[("accept", AGGREGATED)], None)
        .await;
    assert_eq!(ra.body, rb.body, "every server merges to the same bytes");
    assert_eq!(ra.headers["etag"], rb.headers["etag"]);
    assert_eq!(ra.headers["cache-control"], "public");
    assert_eq!(ra.headers["vary"], "Accept");
    let etag = ra.headers["etag"].to_str().unwrap().to_owned();
    let r = ca
        .request(
            "GET",
            "/apis",
            &[("accept", AGGREGATED), ("if-none-match", &etag)],
            None,
        )
        .await;
    assert_eq!(r.status, 304);

    // Counters: the second and third merged requests were cache hits.
    let before = ca.get("/metrics").await.text();
    let hits = metric(
        &before,
        "aggregator_discovery_peer_aggregated_cache_hits_total",
    );
    ca.request("GET", "/apis", &[("accept", AGGREGATED)], None)
        .await;
    ca.request("GET", "/apis", &[("accept", NOPEER)], None)
        .await;
    let after = ca.get("/metrics").await.text();
    assert_eq!(
        metric(
            &after,
            "aggregator_discovery_peer_aggregated_cache_hits_total"
        ),
        hits + 1
    );
    assert!(
        metric(
            &after,
            "aggregator_discovery_peer_aggregated_cache_misses_total"
        ) >= 1
    );
    assert!(metric(&after, "aggregator_discovery_nopeer_requests_total") >= 2);

    // Legacy discovery on A tells the whole truth too.
    let legacy = ca.get("/apis").await.json();
    assert!(
        legacy["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "apps"),
        "{legacy}"
    );
    let apps = ca.get("/apis/apps/v1").await;
    assert_eq!(apps.status, 200, "{}", apps.text());
    assert!(
        apps.json()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "deployments")
    );
    assert_eq!(ca.get("/apis/apps").await.json()["name"], "apps");

    // When B stops cleanly, its groups leave A's merged view, aggregated
    // and legacy. The two follow B's departure separately (a legacy
    // request is routed by the routing snapshot, and was seen once, under
    // load, to answer 503 for a moment after the aggregated view had
    // dropped the group): wait for both.
    assert!(b.terminate().await.success());
    eventually(
        Duration::from_secs(10),
        "apps to leave A's merged view",
        || async {
            !groups(&ca, AGGREGATED).await.contains(&"apps/v1".into())
                && ca.get("/apis/apps/v1").await.status == 404
        },
    )
    .await;
    assert_eq!(ca.get("/apis/apps/v1").await.status, 404);
}

const MAP: &str = "apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: add-label
spec:
  failurePolicy: Fail
  reinvocationPolicy: IfNeeded
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [deployments]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{metadata: Object.metadata{labels: {\"mutated\": \"true\"}}}'
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_on_the_older_server_manages_resources_only_the_newer_serves() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let old = peer(&pki, &storage, "server-135", &["--emulated-version=1.35"]).await;
    let new = peer(&pki, &storage, "server-136", &["--emulated-version=1.36"]).await;
    let k = Kubectl::new(&old.url, &pki);
    let c_old = old.client(&pki, Identity::Admin);
    eventually(
        Duration::from_secs(10),
        "the 1.35 server to learn the 1.36 server",
        || async {
            groups(&c_old, AGGREGATED)
                .await
                .contains(&"admissionregistration.k8s.io/v1".into())
                && c_old
                    .get("/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies")
                    .await
                    .status
                    == 200
        },
    )
    .await;
    assert!(k.ok(&["version"]).contains("Server Version: v1.35.0"));
    let resources = k.ok(&["api-resources"]);
    assert!(
        resources.contains("mutatingadmissionpolicies"),
        "{resources}"
    );

    // Create (with kubectl's default strict validation), get, list, watch, patch, update, delete.
    assert!(
        k.ok_with(&["create", "-f", "-"], Some(MAP))
            .contains("created")
    );
    let got = k.ok(&[
        "get",
        "mutatingadmissionpolicies",
        "add-label",
        "-o",
        "json",
    ]);
    let via_old: Value = serde_json::from_str(&got).unwrap();
    assert_eq!(via_old["spec"]["failurePolicy"], "Fail");
    let table = k.ok(&["get", "mutatingadmissionpolicies"]);
    assert!(table.contains("add-label"), "{table}");

    // Byte-identical to asking the 1.36 server directly.
    let path = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies/add-label";
    let direct = new.client(&pki, Identity::Admin).get(path).await;
    let proxied = c_old.get(path).await;
    assert_eq!(proxied.status, 200);
    assert_eq!(proxied.body, direct.body);

    let lines = k.watch_until(
        &[
            "get",
            "mutatingadmissionpolicies",
            "add-label",
            "-w",
            "-o",
            "jsonpath={.spec.failurePolicy}{\"\\n\"}",
            "--request-timeout=20s",
        ],
        "Ignore",
        || {
            k.ok(&[
                "patch",
                "mutatingadmissionpolicies",
                "add-label",
                "--type=merge",
                "-p",
                r#"{"spec":{"failurePolicy":"Ignore"}}"#,
            ]);
        },
    );
    assert!(lines.iter().any(|l| l == "Ignore"), "watch saw {lines:?}");

    let edited = MAP.replace("reinvocationPolicy: IfNeeded", "reinvocationPolicy: Never");
    assert!(
        k.ok_with(&["replace", "-f", "-"], Some(&edited))
            .contains("replaced")
    );
    assert_eq!(
        k.ok(&[
            "get",
            "mutatingadmissionpolicies",
            "add-label",
            "-o",
            "jsonpath={.spec.reinvocationPolicy}"
        ]),
        "Never"
    );
    let explain = k.run(&["explain", "mutatingadmissionpolicies.spec"], None);
    let text = String::from_utf8_lossy(&explain.stdout).to_string()
        + &String::from_utf8_lossy(&explain.stderr);
    assert!(explain.status.success(), "explain: {text}");
    assert!(text.contains("matchConstraints"), "{text}");
    assert!(
        k.ok(&["delete", "mutatingadmissionpolicies", "add-label"])
            .contains("deleted")
    );
    assert_eq!(c_old.get(path).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_through_the_older_server_reaches_newer_resources() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    // The 1.35 server starts first and holds the namespace controller lease.
    let old = peer(&pki, &storage, "server-135", &["--emulated-version=1.35"]).await;
    let c = old.client(&pki, Identity::Admin);
    let holder = || async {
        let lease = c
            .get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/skewless-namespace-controller")
            .await;
        if lease.status != 200 {
            return None;
        }
        lease.json()["spec"]["holderIdentity"]
            .as_str()
            .map(str::to_owned)
    };
    eventually(
        Duration::from_secs(10),
        "the 1.35 server to hold the namespace controller lease",
        || async { holder().await.as_deref() == Some("server-135") },
    )
    .await;
    let _new = peer(
        &pki,
        &storage,
        "server-136",
        &[
            "--emulated-version=1.36",
            "--runtime-config=scheduling.k8s.io/v1alpha2=true",
        ],
    )
    .await;
    // The lease is held and renewed: the newer server does not take it.
    assert_eq!(holder().await.as_deref(), Some("server-135"));
    let podgroups = "/apis/scheduling.k8s.io/v1alpha2/namespaces/mixed/podgroups";
    eventually(
        Duration::from_secs(10),
        "podgroups via the 1.35 server",
        || async {
            c.get("/apis/scheduling.k8s.io/v1alpha2/podgroups")
                .await
                .status
                == 200
        },
    )
    .await;
    let k = Kubectl::new(&old.url, &pki);
    k.ok(&["create", "namespace", "mixed"]);
    k.ok(&[
        "create",
        "configmap",
        "cm",
        "-n",
        "mixed",
        "--from-literal=a=b",
    ]);
    let pg = serde_json::json!({
        "apiVersion": "scheduling.k8s.io/v1alpha2", "kind": "PodGroup",
        "metadata": {"name": "pg"},
        "spec": {"schedulingPolicy": {"basic": {}}},
    });
    let r = c
        .request(
            "POST",
            &format!("{podgroups}?fieldValidation=Ignore"),
            &[],
            Some(serde_json::to_vec(&pg).unwrap()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let out = k.ok(&["delete", "namespace", "mixed", "--timeout=60s"]);
    assert!(out.contains("deleted"), "{out}");
    assert_eq!(c.get("/api/v1/namespaces/mixed").await.status, 404);
    assert_eq!(c.get(&format!("{podgroups}/pg")).await.status, 404);
    assert_eq!(
        c.get("/api/v1/namespaces/mixed/configmaps/cm").await.status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_appears_in_and_leaves_merged_discovery_on_every_server() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let a = peer(&pki, &storage, "server-a", &[]).await;
    let b = peer(&pki, &storage, "server-b", &[]).await;
    let ca = a.client(&pki, Identity::Admin);
    let cb = b.client(&pki, Identity::Admin);
    let crd = serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
    });
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    assert_eq!(ca.post_json(crds, &crd).await.status, 201);
    eventually(
        Duration::from_secs(5),
        "the CRD in merged discovery on A and B",
        || async {
            groups(&ca, AGGREGATED)
                .await
                .contains(&"example.com/v1".into())
                && groups(&cb, AGGREGATED)
                    .await
                    .contains(&"example.com/v1".into())
        },
    )
    .await;
    assert_eq!(
        ca.request("DELETE", &format!("{crds}/widgets.example.com"), &[], None)
            .await
            .status,
        200
    );
    eventually(
        Duration::from_secs(10),
        "the CRD to leave merged discovery on A and B",
        || async {
            !groups(&ca, AGGREGATED)
                .await
                .contains(&"example.com/v1".into())
                && !groups(&cb, AGGREGATED)
                    .await
                    .contains(&"example.com/v1".into())
        },
    )
    .await;
}

const DYNAMIC_CLIENT: &str = r#"
import sys, yaml
from kubernetes import config, dynamic

client = dynamic.DynamicClient(config.new_client_from_config(config_file=sys.argv[1]))
api = client.resources.get(api_version="admissionregistration.k8s.io/v1", kind="MutatingAdmissionPolicy")
assert api.name == "mutatingadmissionpolicies" and not api.namespaced, (api.name, api.namespaced)
with open(sys.argv[2]) as f:
    api.create(body=yaml.safe_load(f))
names = [i.metadata.name for i in api.get().items]
assert names == ["add-label"], names
api.delete(name="add-label")
assert [i.metadata.name for i in api.get().items] == []
print("dynamic client passed")
"#;

/// Issue 15: clients that predate aggregated discovery (kubectl forced to
/// legacy discovery, the Python `DynamicClient`) find through the 1.35
/// server what only the 1.36 server serves: legacy `/apis/<g>/<v>`,
/// `/apis/<g>` and `/apis` are merged with peers, deterministically (the
/// same bytes from both servers). Metadata-only reads work through the
/// proxy too (the peer converts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_discovery_on_the_older_server_lists_what_the_newer_serves() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let old = peer(&pki, &storage, "server-135", &["--emulated-version=1.35"]).await;
    let new = peer(&pki, &storage, "server-136", &["--emulated-version=1.36"]).await;
    let c_old = old.client(&pki, Identity::Admin);
    let c_new = new.client(&pki, Identity::Admin);
    let gv = "/apis/admissionregistration.k8s.io/v1";
    eventually(
        Duration::from_secs(10),
        "the 1.35 server's legacy discovery to list mutatingadmissionpolicies",
        || async {
            c_old
                .get(gv)
                .await
                .text()
                .contains("\"mutatingadmissionpolicies\"")
        },
    )
    .await;
    let list = c_old.get(gv).await.json();
    let find = |name: &str| -> Value {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing from {list}"))
    };
    let all_verbs = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    for (name, kind) in [
        ("mutatingadmissionpolicies", "MutatingAdmissionPolicy"),
        (
            "mutatingadmissionpolicybindings",
            "MutatingAdmissionPolicyBinding",
        ),
    ] {
        let r = find(name);
        assert_eq!(r["kind"], kind, "{r}");
        assert_eq!(r["namespaced"], false, "{r}");
        assert_eq!(r["verbs"], serde_json::json!(all_verbs), "{r}");
    }
    // What the 1.35 server serves itself is still there.
    find("validatingadmissionpolicies");
    find("validatingadmissionpolicies/status");
    // Every legacy document is the same on both servers.
    for path in [gv, "/apis/admissionregistration.k8s.io", "/apis", "/api/v1"] {
        let (a, b) = (c_old.get(path).await, c_new.get(path).await);
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(a.text(), b.text(), "{path}");
    }
    let group = c_old.get("/apis/admissionregistration.k8s.io").await.json();
    assert_eq!(group["preferredVersion"]["version"], "v1", "{group}");

    // kubectl: `KUBECTL_AGGREGATED_DISCOVERY=false` forces legacy discovery
    // in the kubectl releases that had the gate (1.26-1.29, e.g. through
    // `$KUBECTL`); the pinned 1.37 ignores it and uses aggregated discovery.
    // The legacy path is proven by the Python DynamicClient below, whose
    // discovery is legacy only.
    let k = Kubectl::new(&old.url, &pki);
    let out = k
        .command("admin", &["get", "mutatingadmissionpolicies", "-v=6"])
        .env("KUBECTL_AGGREGATED_DISCOVERY", "false")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubectl: {stderr}");
    assert!(stderr.contains("No resources found"), "{stderr}");

    // The Python DynamicClient resolves it through legacy discovery.
    let map = dir.path().join("map.yaml");
    std::fs::write(&map, MAP).unwrap();
    skewless_testkit::run_python(&old, &pki, DYNAMIC_CLIENT, &[&map]).await;

    // Metadata-only reads of a resource only the peer serves.
    let maps = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
    let body = serde_json::to_vec(&serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": "add-label"},
        "spec": {
            "failurePolicy": "Fail",
            "reinvocationPolicy": "IfNeeded",
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments"]}]},
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                "expression": "Object{metadata: Object.metadata{labels: {\"mutated\": \"true\"}}}"}}],
        },
    }))
    .unwrap();
    let r = c_old
        .request(
            "POST",
            maps,
            &[("content-type", "application/json")],
            Some(body),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    let r = c_old
        .request("GET", maps, &[("accept", accept)], None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    assert_eq!(list["kind"], "PartialObjectMetadataList", "{list}");
    assert_eq!(list["items"][0]["metadata"]["name"], "add-label");
    assert!(list["items"][0].get("spec").is_none(), "{list}");
    let accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    let r = c_old
        .request(
            "GET",
            &format!("{maps}/add-label"),
            &[("accept", accept)],
            None,
        )
        .await;
    assert_eq!(r.json()["kind"], "PartialObjectMetadata");
}
