//! Built-in objects are type-checked as upstream's typed decoding checks
//! them, whatever `fieldValidation` says: a value of the wrong type is a 400
//! in Go's words and nothing is stored, so typed clients can always decode
//! what they list.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{Value, json};
use skewless_testkit::{Client, Identity, Pki, ServerProcess, Storage};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

async fn assert_refused(c: &Client, collection: &str, object: &Value, message: &str) {
    let name = object["metadata"]["name"].as_str().unwrap();
    let r = c.post_json(collection, object).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let status = r.json();
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["reason"], "BadRequest", "{status}");
    assert_eq!(status["code"], 400, "{status}");
    assert_eq!(status["message"], message, "{status}");
    let r = c
        .get(&format!("{}/{name}", collection.split('?').next().unwrap()))
        .await;
    assert_eq!(r.status, 404, "{name} was stored: {}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_built_ins_are_refused_and_valid_ones_stored() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let c = server.client(&pki, Identity::Admin);
    let ns = "/api/v1/namespaces/default";

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad-cm"},
        "data": {"a": 1, "b": {}, "c": null}});
    let message = "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: \
                   cannot unmarshal number into Go struct field ConfigMap.data of type string";
    for query in ["", "?fieldValidation=Strict", "?fieldValidation=Ignore"] {
        assert_refused(&c, &format!("{ns}/configmaps{query}"), &cm, message).await;
    }

    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad-pod"},
        "spec": {"containers": "notalist"}});
    assert_refused(
        &c,
        &format!("{ns}/pods"),
        &pod,
        "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string \
         into Go struct field PodSpec.spec.containers of type []v1.Container",
    )
    .await;

    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad-secret"},
        "data": {"k": "not-base64!!"}});
    assert_refused(
        &c,
        &format!("{ns}/secrets"),
        &secret,
        "Secret in version \"v1\" cannot be handled as a Secret: \
         illegal base64 data at input byte 3",
    )
    .await;

    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "good-pod"},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "ports": [{"containerPort": 8080, "name": "http"}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                "requests": {"cpu": 1}}}]}});
    let r = c.post_json(&format!("{ns}/pods"), &pod).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "good-svc"},
        "spec": {"selector": {"app": "x"}, "ports": [
            {"name": "a", "port": 80, "targetPort": 8080},
            {"name": "b", "port": 81, "targetPort": "http"}]}});
    let r = c.post_json(&format!("{ns}/services"), &service).await;
    assert_eq!(r.status, 201, "{}", r.text());

    // A patch that makes an object malformed is refused the same way.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "good-cm"},
        "data": {"a": "1"}});
    let r = c.post_json(&format!("{ns}/configmaps"), &cm).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c
        .request(
            "PATCH",
            &format!("{ns}/configmaps/good-cm"),
            &[("content-type", "application/merge-patch+json")],
            Some(br#"{"data": {"a": 2}}"#.to_vec()),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["reason"], "BadRequest");
    let stored = c.get(&format!("{ns}/configmaps/good-cm")).await.json();
    assert_eq!(stored["data"], json!({"a": "1"}));
}
