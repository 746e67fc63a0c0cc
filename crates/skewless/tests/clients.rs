//! Other real clients against a real `skewless serve`: the Python
//! `kubernetes` client (from PyPI, in `.venv`) and kube-rs.

#![allow(clippy::unwrap_used)]

mod support {
    pub mod kube_watch;
}

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use skewless_testkit::{Pki, ServerProcess, Storage, kubeconfig};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

const PYTHON_SCENARIO: &str = r#"
import sys, threading
from kubernetes import client, config, watch

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
ns = "default"

seen = []
ready = threading.Event()
def watcher():
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_config_map, ns, timeout_seconds=20):
        seen.append((event["type"], event["object"].metadata.name))
        ready.set()
        if event["type"] == "DELETED" and event["object"].metadata.name == "py-2":
            w.stop()
t = threading.Thread(target=watcher)
t.start()

for i in range(3):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"py-{i}", labels={"from": "python"}), data={"i": str(i)})
    created = v1.create_namespaced_config_map(ns, body)
    assert created.metadata.resource_version, created

listed = v1.list_namespaced_config_map(ns, label_selector="from=python")
names = sorted(cm.metadata.name for cm in listed.items)
assert names == ["py-0", "py-1", "py-2"], names

cm = v1.read_namespaced_config_map("py-1", ns)
cm.data["i"] = "changed"
v1.replace_namespaced_config_map("py-1", ns, cm)
assert v1.read_namespaced_config_map("py-1", ns).data["i"] == "changed"

for i in range(3):
    v1.delete_namespaced_config_map(f"py-{i}", ns)
t.join(30)
assert not t.is_alive(), "watch did not finish"
types = [s for s in seen if s[1].startswith("py-")]
assert ("ADDED", "py-0") in types and ("MODIFIED", "py-1") in types and ("DELETED", "py-2") in types, types
assert v1.list_namespaced_config_map(ns, label_selector="from=python").items == []

try:
    v1.read_namespaced_config_map("py-0", ns)
    raise SystemExit("expected 404")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status
print("python scenario passed")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_creates_lists_watches_and_deletes() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    skewless_testkit::run_python(&server, &pki, PYTHON_SCENARIO, &[]).await;
}

async fn kube_client(server: &ServerProcess, pki: &Pki) -> kube::Client {
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig(dir.path(), &server.url, pki);
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watcher_sees_changes_in_order_and_stale_updates_conflict() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let client = kube_client(&server, &pki).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");

    // The watcher runs from the start; its initial list must be done
    // before the changes, so every change arrives as a watch event.
    let mut events = support::kube_watch::start(cms.clone()).await;

    let mut cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "rs"}, "data": {"v": "1"}
    }))
    .unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    cm = created.clone();
    cm.data.as_mut().unwrap().insert("v".into(), "2".into());
    let updated = cms
        .replace("rs", &PostParams::default(), &cm)
        .await
        .unwrap();

    // A replace carrying the old resourceVersion is a 409 Conflict.
    let mut stale = created.clone();
    stale
        .data
        .as_mut()
        .unwrap()
        .insert("v".into(), "stale".into());
    match cms.replace("rs", &PostParams::default(), &stale).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("expected 409, got {other:?}"),
    }
    cms.delete("rs", &DeleteParams::default()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (kind, cm) = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "watcher stalled after {seen:?}; server log:\n{}",
                    server.log_text()
                )
            })
            .unwrap();
        if cm.metadata.name.as_deref() == Some("rs") {
            let v = cm
                .data
                .as_ref()
                .and_then(|d| d.get("v"))
                .cloned()
                .unwrap_or_default();
            seen.push((kind, v, cm.metadata.resource_version.unwrap()));
        }
    }
    let kinds: Vec<_> = seen.iter().map(|s| (s.0, s.1.as_str())).collect();
    assert_eq!(
        kinds,
        [("apply", "1"), ("apply", "2"), ("delete", "2")],
        "{seen:?}"
    );
    let revs: Vec<i64> = seen.iter().map(|s| s.2.parse().unwrap()).collect();
    assert!(revs.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(
        updated
            .metadata
            .resource_version
            .as_deref()
            .map(|r| r.parse::<i64>().unwrap())
            .unwrap(),
        revs[1],
        "{seen:?}"
    );
}

const PYTHON_DELETE_POD: &str = r#"
import sys
from kubernetes import client, config

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
pod = client.V1Pod(metadata=client.V1ObjectMeta(name="py-pod"),
                   spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))
v1.create_namespaced_pod("default", pod)
deleted = v1.delete_namespaced_pod("py-pod", "default")
assert deleted.kind == "Pod" and deleted.metadata.name == "py-pod", deleted
print("python delete passed")
"#;

/// Issue 15: a pod DELETE answers the Pod, as kube-apiserver does, so the
/// typed Python client's `delete_namespaced_pod` (which decodes a V1Pod)
/// succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_typed_client_deletes_a_pod() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    skewless_testkit::run_python(&server, &pki, PYTHON_DELETE_POD, &[]).await;
}

/// Issue 15: kube-rs metadata-only reads (`get_metadata`, `list_metadata`)
/// get `PartialObjectMetadata` back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_reads_metadata_only() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let client = kube_client(&server, &pki).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "meta", "labels": {"k": "v"}}, "data": {"big": "x"}
    }))
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let one = cms.get_metadata("meta").await.unwrap();
    assert_eq!(one.metadata.name.as_deref(), Some("meta"));
    assert_eq!(
        one.types.as_ref().map(|t| t.kind.as_str()),
        Some("PartialObjectMetadata")
    );
    let list = cms
        .list_metadata(&kube::api::ListParams::default())
        .await
        .unwrap();
    let names: Vec<_> = list
        .items
        .iter()
        .filter_map(|i| i.metadata.name.clone())
        .collect();
    assert!(names.contains(&"meta".to_owned()), "{names:?}");
}
