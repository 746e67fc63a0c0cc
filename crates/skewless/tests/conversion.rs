//! One object, every served version (issue 20): a mixed control plane of a
//! 1.36 and a 1.35 server on one storage, HorizontalPodAutoscalers written
//! in one version and read, listed, watched, updated and patched in the
//! other, directly and through the Mixed Version Proxy; on SQLite and etcd.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, etcd_endpoints, eventually,
    start_peer_at,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const V1: &str = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers";
const V2: &str = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";

fn v2_hpa(name: &str) -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 120}},
        },
    })
}

fn cpu(target: i64) -> Value {
    json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
}

async fn ok(c: &Client, method: &str, path: &str, content_type: &str, body: &Value) -> Value {
    let r = c
        .request(
            method,
            path,
            &[("content-type", content_type)],
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await;
    assert!(
        r.status == 200 || r.status == 201,
        "{method} {path}: {} {}",
        r.status,
        r.text()
    );
    r.json()
}

async fn get(c: &Client, path: &str) -> Value {
    let r = c.get(path).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

/// Waits for the next watch event that is not a bookmark.
async fn next_event(events: &mut tokio::sync::mpsc::Receiver<Value>) -> Value {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("no watch event within 30 s")
            .expect("the watch ended");
        if e["type"] != "BOOKMARK" {
            return e;
        }
    }
}

async fn control_plane(
    storage: &Storage,
    old_flags: &[&str],
) -> (Pki, ServerProcess, ServerProcess) {
    let pki = Pki::generate();
    let new = start_peer_at(Path::new(BIN), &pki, storage, "server-136", "1.36", &[]).await;
    let old = start_peer_at(
        Path::new(BIN),
        &pki,
        storage,
        "server-135",
        "1.35",
        old_flags,
    )
    .await;
    (pki, new, old)
}

async fn hpa_versions_across_servers(storage: Storage) {
    let (pki, new, old) = control_plane(&storage, &[]).await;
    let c136 = new.client(&pki, Identity::Admin);
    let c135 = old.client(&pki, Identity::Admin);

    // A v1 watch on the old server, opened before any write.
    let mut events = c135.stream_lines(&format!("{V1}?watch=true")).await;

    // Written as v2 on 1.36, read as v1 on 1.35.
    ok(&c136, "POST", V2, "application/json", &v2_hpa("web")).await;
    let v1 = get(&c135, &format!("{V1}/web")).await;
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 70);
    assert!(v1["spec"].get("metrics").is_none(), "{v1:#}");
    let others: Value =
        serde_json::from_str(v1["metadata"]["annotations"][METRICS].as_str().unwrap()).unwrap();
    assert_eq!(
        others,
        json!([{"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "1k"}}])
    );
    // The watch saw the v2 write as v1.
    let added = next_event(&mut events).await;
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["apiVersion"], "autoscaling/v1");
    assert_eq!(
        added["object"]["spec"]["targetCPUUtilizationPercentage"],
        70
    );
    assert!(added["object"]["spec"].get("metrics").is_none());

    // Updated as v1 on 1.35 (the object as read, one field changed): the
    // v2-only fields come back from the annotations.
    let mut changed = v1.clone();
    changed["spec"]["targetCPUUtilizationPercentage"] = json!(55);
    ok(
        &c135,
        "PUT",
        &format!("{V1}/web"),
        "application/json",
        &changed,
    )
    .await;
    let v2 = get(&c136, &format!("{V2}/web")).await;
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
            cpu(55),
        ])
    );
    assert_eq!(
        v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        120
    );
    assert!(v2["metadata"].get("annotations").is_none(), "{v2:#}");
    let modified = next_event(&mut events).await;
    assert_eq!(modified["type"], "MODIFIED");
    assert_eq!(
        modified["object"]["spec"]["targetCPUUtilizationPercentage"],
        55
    );

    // A merge patch in v1 applies to the v1 form.
    ok(
        &c135,
        "PATCH",
        &format!("{V1}/web"),
        "application/merge-patch+json",
        &json!({"spec": {"targetCPUUtilizationPercentage": 60}}),
    )
    .await;
    let v2 = get(&c136, &format!("{V2}/web")).await;
    assert_eq!(v2["spec"]["metrics"][1], cpu(60));
    assert_eq!(v2["spec"]["metrics"].as_array().unwrap().len(), 2);
    // A JSON patch in v2 applies to the v2 form, on either server.
    ok(
        &c135,
        "PATCH",
        &format!("{V2}/web"),
        "application/json-patch+json",
        &json!([{"op": "replace", "path": "/spec/metrics/1/resource/target/averageUtilization", "value": 65}]),
    )
    .await;
    assert_eq!(
        get(&c135, &format!("{V1}/web")).await["spec"]["targetCPUUtilizationPercentage"],
        65
    );

    // Written as v1 on 1.35, read as v2 on 1.36; the default CPU target
    // when v1 sets none.
    let plain = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "plain"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "plain"}, "maxReplicas": 3}});
    let created = ok(&c135, "POST", V1, "application/json", &plain).await;
    assert_eq!(created["apiVersion"], "autoscaling/v1");
    assert_eq!(created["spec"]["targetCPUUtilizationPercentage"], 80);
    let v2 = get(&c136, &format!("{V2}/plain")).await;
    assert_eq!(v2["spec"]["metrics"], json!([cpu(80)]));

    // Lists, with a field selector, in either version on either server.
    let list = get(&c135, &format!("{V1}?fieldSelector=metadata.name%3Dweb")).await;
    assert_eq!(list["apiVersion"], "autoscaling/v1");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["spec"]["targetCPUUtilizationPercentage"], 65);
    let list = get(&c136, V2).await;
    for item in list["items"].as_array().unwrap() {
        assert!(item["spec"]["metrics"].is_array(), "{item:#}");
        assert!(item["spec"].get("targetCPUUtilizationPercentage").is_none());
    }
    // Table output names the rows either way.
    let table = c135
        .request(
            "GET",
            V1,
            &[("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            None,
        )
        .await;
    assert_eq!(table.status, 200);
    assert_eq!(table.json()["rows"].as_array().unwrap().len(), 2);

    // kubectl on the old server, asking for v1 explicitly.
    let k = Kubectl::new(&old.url, &pki);
    let target = k.ok(&[
        "get",
        "horizontalpodautoscalers.v1.autoscaling",
        "web",
        "-o",
        "jsonpath={.spec.targetCPUUtilizationPercentage}",
    ]);
    assert_eq!(target.trim(), "65");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_written_in_one_version_reads_in_the_other_across_releases() {
    let dir = tempfile::tempdir().unwrap();
    hpa_versions_across_servers(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_written_in_one_version_reads_in_the_other_across_releases_etcd() {
    let (endpoints, _cluster) = etcd_endpoints().await;
    let prefix = format!("/skewless-conversion-{}", std::process::id());
    hpa_versions_across_servers(Storage::EtcdPrefix(endpoints, prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_versions_through_the_proxy() {
    // The old server does not serve autoscaling/v2: v2 requests to it are
    // proxied to the new one, v1 requests served by it, one object.
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let (pki, _new, old) =
        control_plane(&storage, &["--runtime-config=autoscaling/v2=false"]).await;
    let c135 = old.client(&pki, Identity::Admin);
    eventually(
        Duration::from_secs(15),
        "v2 reachable via the peer",
        || async { c135.get(V2).await.status == 200 },
    )
    .await;
    let created = ok(&c135, "POST", V2, "application/json", &v2_hpa("proxied")).await;
    assert_eq!(created["spec"]["metrics"][0], cpu(70));
    let v1 = get(&c135, &format!("{V1}/proxied")).await;
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 70);
    ok(
        &c135,
        "PATCH",
        &format!("{V1}/proxied"),
        "application/merge-patch+json",
        &json!({"spec": {"targetCPUUtilizationPercentage": 40}}),
    )
    .await;
    let v2 = get(&c135, &format!("{V2}/proxied")).await;
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(v2["spec"]["metrics"][1], cpu(40));
    assert_eq!(v2["spec"]["metrics"][0]["type"], "Pods");
}
