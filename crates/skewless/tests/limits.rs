//! Size limits as upstream, the same on SQLite and etcd: ConfigMap and
//! Secret data at most 1 MiB (422), any stored object at most 1.5 MiB
//! (413, etcd's default request limit); Secrets' `stringData` merged into
//! `data`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::json;
use skewless_testkit::{Identity, Pki, ServerProcess, Storage, etcd_endpoints};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

async fn limits_on(storage: Storage) {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &storage, &[]).await;
    let c = server.client(&pki, Identity::Admin);

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
        "data": {"k": "x".repeat(1024 * 1024 + 1)}});
    let r = c
        .post_json("/api/v1/namespaces/default/configmaps", &cm)
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["reason"], "Invalid");
    assert!(r.text().len() < 4096, "the error echoes the value");

    let revision = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "huge"}, "revision": 1,
        "data": {"blob": "y".repeat(2 * 1024 * 1024)}});
    let r = c
        .post_json(
            "/apis/apps/v1/namespaces/default/controllerrevisions",
            &revision,
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["reason"], "RequestEntityTooLarge");
    assert_eq!(
        r.json()["message"],
        "Request entity too large: limit is 1572864"
    );

    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"a": "YQ=="}, "stringData": {"b": "hello", "a": "over"}});
    let r = c
        .post_json("/api/v1/namespaces/default/secrets", &secret)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let stored = c.get("/api/v1/namespaces/default/secrets/s").await.json();
    assert_eq!(stored["data"], json!({"a": "b3Zlcg==", "b": "aGVsbG8="}));
    assert!(stored.get("stringData").is_none(), "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_and_string_data_on_sqlite() {
    limits_on(Storage::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_and_string_data_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    limits_on(Storage::Etcd(endpoints)).await;
}
