//! One object, every served version (issue 20): a mixed control plane of a
//! 1.36 and a 1.35 server on one storage, HorizontalPodAutoscalers written
//! in one version and read, listed, watched, updated and patched in the
//! other, directly and through the Mixed Version Proxy; on SQLite and etcd.
//! Custom resources stored in their `storage: true` version, and converted
//! by a real conversion webhook (the test kit's) reached by Service or URL.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_store::Store;
use skewless_testkit::conversion_webhook::{ConversionWebhook, widget_crd};
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

/// The `apiVersion` an object is stored in, read from the shared SQLite file.
async fn stored_version(dir: &Path, key: &str) -> String {
    let store = skewless_store::sqlite::SqliteStore::open(
        skewless_store::sqlite::SqliteOptions::new(dir.join("state.db")),
    )
    .await
    .unwrap();
    let kv = store.get(key).await.unwrap().expect("stored");
    let obj: Value = serde_json::from_slice(&kv.value).unwrap();
    obj["apiVersion"].as_str().unwrap().to_owned()
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

    // Both releases store HPAs as autoscaling/v2, whoever wrote them in
    // which version.
    if let Storage::SharedSqlite(dir) = &storage {
        for name in ["web", "plain"] {
            let key = format!("/autoscaling/horizontalpodautoscalers/default/{name}");
            assert_eq!(stored_version(dir, &key).await, "autoscaling/v2", "{name}");
        }
    }
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

const CRD: &str = r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.example.com"},
  "spec": {"group": "example.com", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
    "versions": [
      {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object",
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}},
      {"name": "v2", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object",
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_are_stored_in_the_storage_version_and_stored_versions_is_set_on_create() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let (pki, new, old) = control_plane(&storage, &[]).await;
    let c136 = new.client(&pki, Identity::Admin);
    let c135 = old.client(&pki, Identity::Admin);
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let crd: Value = serde_json::from_str(CRD).unwrap();
    ok(&c136, "POST", crds, "application/json", &crd).await;
    let v1 = "/apis/example.com/v1/namespaces/default/widgets";
    let v2 = "/apis/example.com/v2/namespaces/default/widgets";
    eventually(
        Duration::from_secs(15),
        "both servers serve widgets",
        || async { c135.get(v2).await.status == 200 && c136.get(v1).await.status == 200 },
    )
    .await;

    // Written as v2, stored as v1 (storage: true), read as either.
    let w = json!({"apiVersion": "example.com/v2", "kind": "Widget", "metadata": {"name": "a"}, "spec": {"size": 3}});
    ok(&c135, "POST", v2, "application/json", &w).await;
    let key = "/example.com/widgets/default/a";
    assert_eq!(stored_version(dir.path(), key).await, "example.com/v1");
    let read = get(&c136, &format!("{v1}/a")).await;
    assert_eq!(
        (read["apiVersion"].as_str(), read["spec"]["size"].as_i64()),
        (Some("example.com/v1"), Some(3))
    );
    let read = get(&c135, &format!("{v2}/a")).await;
    assert_eq!(read["apiVersion"], "example.com/v2");

    // Moving storage to v2: storedVersions keeps v1 (objects may still be
    // stored in it), and writes from then on are stored as v2.
    let mut current = get(&c136, &format!("{crds}/widgets.example.com")).await;
    assert_eq!(current["status"]["storedVersions"], json!(["v1"]));
    current["spec"]["versions"][0]["storage"] = json!(false);
    current["spec"]["versions"][1]["storage"] = json!(true);
    let updated = ok(
        &c136,
        "PUT",
        &format!("{crds}/widgets.example.com"),
        "application/json",
        &current,
    )
    .await;
    assert_eq!(updated["status"]["storedVersions"], json!(["v1", "v2"]));
    // Each try changes the object (an unchanged one is not written).
    let size = std::sync::atomic::AtomicI64::new(4);
    eventually(Duration::from_secs(15), "writes stored as v2", || async {
        let n = size.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let patch = json!({"spec": {"size": n}});
        ok(
            &c135,
            "PATCH",
            &format!("{v1}/a"),
            "application/merge-patch+json",
            &patch,
        )
        .await;
        stored_version(dir.path(), key).await == "example.com/v2"
    })
    .await;
    let last = size.load(std::sync::atomic::Ordering::SeqCst) - 1;
    assert_eq!(get(&c136, &format!("{v1}/a")).await["spec"]["size"], last);
}

/// The Service `default/widget-conversion` (port 443, named `https`) and an
/// EndpointSlice sending it to the sample webhook.
async fn webhook_service(c: &Client, hook: &ConversionWebhook) {
    let service = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "widget-conversion"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": hook.addr.port()}]}});
    ok(
        c,
        "POST",
        "/api/v1/namespaces/default/services",
        "application/json",
        &service,
    )
    .await;
    let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "widget-conversion-1", "labels": {"kubernetes.io/service-name": "widget-conversion"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": hook.addr.port(), "protocol": "TCP"}]});
    ok(
        c,
        "POST",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        "application/json",
        &slice,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_webhook_serves_both_versions_through_every_server() {
    let dir = tempfile::tempdir().unwrap();
    webhook_conversion(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_webhook_serves_both_versions_through_every_server_etcd() {
    let (endpoints, _cluster) = etcd_endpoints().await;
    let prefix = format!("/skewless-conversion-webhook-{}", std::process::id());
    webhook_conversion(Storage::EtcdPrefix(endpoints, prefix)).await;
}

async fn webhook_conversion(storage: Storage) {
    let (pki, new, old) = control_plane(&storage, &[]).await;
    let c136 = new.client(&pki, Identity::Admin);
    let c135 = old.client(&pki, Identity::Admin);
    let mut hook = ConversionWebhook::start().await;

    // The webhook reached through its Service's EndpointSlice.
    webhook_service(&c136, &hook).await;
    let service_config = json!({"service": {"namespace": "default", "name": "widget-conversion",
        "path": "/convert", "port": 443}, "caBundle": hook.ca_bundle()});
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    ok(
        &c136,
        "POST",
        crds,
        "application/json",
        &widget_crd(service_config),
    )
    .await;
    let v1 = "/apis/example.com/v1/namespaces/default/widgets";
    let v2 = "/apis/example.com/v2/namespaces/default/widgets";
    eventually(
        Duration::from_secs(15),
        "both servers serve widgets",
        || async { c135.get(v2).await.status == 200 && c136.get(v1).await.status == 200 },
    )
    .await;
    let mut events = c135.stream_lines(&format!("{v2}?watch=true")).await;

    // Written as v2 on 1.35: stored as v1 by the webhook, read back either way.
    let w = json!({"apiVersion": "example.com/v2", "kind": "Widget", "metadata": {"name": "a", "labels": {"l": "x"}},
        "spec": {"dimensions": {"size": 3}}});
    let created = ok(&c135, "POST", v2, "application/json", &w).await;
    assert_eq!(created["apiVersion"], "example.com/v2");
    assert_eq!(created["spec"], json!({"dimensions": {"size": 3}}));
    if let Storage::SharedSqlite(dir) = &storage {
        let stored = stored_version(dir, "/example.com/widgets/default/a").await;
        assert_eq!(stored, "example.com/v1");
    }
    let read = get(&c136, &format!("{v1}/a")).await;
    assert_eq!(read["spec"], json!({"size": 3}));
    assert_eq!(read["metadata"]["labels"], json!({"l": "x"}));
    let read = get(&c136, &format!("{v2}/a")).await;
    assert_eq!(read["spec"], json!({"dimensions": {"size": 3}}));

    // A v1 write on 1.36 reaches the v2 watch on 1.35 converted.
    let b = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "b"}, "spec": {"size": 5}});
    ok(&c136, "POST", v1, "application/json", &b).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.push(next_event(&mut events).await);
    }
    let b_event = seen
        .iter()
        .find(|e| e["object"]["metadata"]["name"] == "b")
        .unwrap();
    assert_eq!(b_event["type"], "ADDED");
    assert_eq!(b_event["object"]["apiVersion"], "example.com/v2");
    assert_eq!(
        b_event["object"]["spec"],
        json!({"dimensions": {"size": 5}})
    );

    // A list is converted in one review, on either server; now by url.
    let mut crd = get(&c136, &format!("{crds}/widgets.example.com")).await;
    crd["spec"]["conversion"]["webhook"]["clientConfig"] = hook.url_client_config();
    ok(
        &c136,
        "PUT",
        &format!("{crds}/widgets.example.com"),
        "application/json",
        &crd,
    )
    .await;
    let c = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "c"}, "spec": {"size": 7}});
    ok(&c135, "POST", v1, "application/json", &c).await;
    eventually(
        Duration::from_secs(15),
        "a list of three in one review",
        || async {
            let before = hook.reviews();
            let list = c135.get(v2).await;
            list.status == 200
                && list.json()["items"].as_array().map_or(0, Vec::len) == 3
                && hook.reviews() == before + 1
                && hook.last_batch() == 3
        },
    )
    .await;
    let list = get(&c136, v2).await;
    let sizes: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["spec"]["dimensions"]["size"].as_i64().unwrap())
        .collect();
    assert_eq!(sizes, [3, 5, 7]);

    // The webhook down: a 500 Status naming it, on reads and writes in
    // v2; nothing stored; the storage version still reads.
    hook.stop();
    for c in [&c135, &c136] {
        let r = c.get(&format!("{v2}/a")).await;
        assert_eq!(r.status, 500, "{}", r.text());
        let status = r.json();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "InternalError");
        let message = status["message"].as_str().unwrap();
        assert!(
            message.contains("conversion webhook for example.com/v1, Kind=Widget failed"),
            "{message}"
        );
        let d = json!({"apiVersion": "example.com/v2", "kind": "Widget", "metadata": {"name": "d"},
            "spec": {"dimensions": {"size": 9}}});
        let r = c
            .request(
                "POST",
                v2,
                &[("content-type", "application/json")],
                Some(serde_json::to_vec(&d).unwrap()),
            )
            .await;
        assert_eq!(r.status, 500, "{}", r.text());
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("conversion webhook for example.com/v2, Kind=Widget failed")
        );
        assert_eq!(c.get(&format!("{v1}/d")).await.status, 404);
        assert_eq!(get(c, &format!("{v1}/a")).await["spec"], json!({"size": 3}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_claims_written_as_v1_read_as_v1beta1_on_the_older_server() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let (pki, new, old) =
        control_plane(&storage, &["--runtime-config=resource.k8s.io/v1beta1=true"]).await;
    let c136 = new.client(&pki, Identity::Admin);
    let c135 = old.client(&pki, Identity::Admin);
    let v1 = "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims";
    let beta1 = "/apis/resource.k8s.io/v1beta1/namespaces/default/resourceclaims";
    let claim = json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
        "metadata": {"name": "gpu"},
        "spec": {"devices": {"requests": [{"name": "one", "exactly": {"deviceClassName": "gpu.example.com",
            "allocationMode": "ExactCount", "count": 2}}]}}});
    ok(&c136, "POST", v1, "application/json", &claim).await;
    let read = get(&c135, &format!("{beta1}/gpu")).await;
    assert_eq!(read["apiVersion"], "resource.k8s.io/v1beta1");
    assert_eq!(
        read["spec"]["devices"]["requests"][0],
        json!({"name": "one", "deviceClassName": "gpu.example.com", "allocationMode": "ExactCount", "count": 2})
    );
    // A JSON patch in v1beta1's shape, read back as v1 on the newer server.
    ok(
        &c135,
        "PATCH",
        &format!("{beta1}/gpu"),
        "application/json-patch+json",
        &json!([{"op": "replace", "path": "/spec/devices/requests/0/count", "value": 3}]),
    )
    .await;
    let read = get(&c136, &format!("{v1}/gpu")).await;
    assert_eq!(
        read["spec"]["devices"]["requests"][0]["exactly"]["count"],
        3
    );
    assert_eq!(
        stored_version(dir.path(), "/resource.k8s.io/resourceclaims/default/gpu").await,
        "resource.k8s.io/v1"
    );
}
