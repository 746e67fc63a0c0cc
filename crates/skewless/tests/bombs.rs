//! Patch bombs (the CVE-2019-1002100 class): a small PATCH request must not
//! make the server build a huge object. A JSON patch that copies the
//! annotations into themselves 30 times (each copy doubles them: 1 kB
//! becomes 1 TB) is refused with 413 as soon as what it copied passes the
//! request body limit, with a small answer, and the server's memory barely
//! moves.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::{Value, json};
use skewless_testkit::{Identity, Pki, ServerProcess, Storage};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

const CM: &str = "/api/v1/namespaces/default/configmaps/bomb";

/// The resident set size of a process, in kB, from `/proc/<pid>/status`.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_patch_copy_bomb_is_refused_cheaply() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let c = server.client(&pki, Identity::Admin);
    let pid = server.pid().unwrap();

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "bomb", "annotations": {"keep": "me"}}, "data": {"k": "v"}});
    let r = c
        .post_json("/api/v1/namespaces/default/configmaps", &cm)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let mut ops = vec![json!({"op": "add", "path": "/metadata/annotations/a",
        "value": "x".repeat(1000)})];
    for i in 1..=30 {
        ops.push(json!({"op": "copy", "from": "/metadata/annotations",
            "path": format!("/metadata/annotations/k{i}")}));
    }
    let bomb = serde_json::to_vec(&Value::Array(ops)).unwrap();
    assert!(bomb.len() < 4096, "the bomb is {} bytes", bomb.len());

    let before = rss_kb(pid);
    let r = c
        .request(
            "PATCH",
            CM,
            &[("content-type", "application/json-patch+json")],
            Some(bomb),
        )
        .await;
    let after = rss_kb(pid);
    assert!(matches!(r.status, 413 | 422), "{}: {}", r.status, r.text());
    assert!(r.text().len() < 4096, "{} bytes of answer", r.text().len());
    let status = r.json();
    assert_eq!(status["reason"], "RequestEntityTooLarge", "{status}");
    assert_eq!(
        status["message"],
        "Request entity too large: limit is 3145728"
    );
    let grown_mb = after.saturating_sub(before) / 1024;
    assert!(grown_mb < 50, "the server's RSS grew by {grown_mb} MB");

    // The server still answers, and the ConfigMap is as it was.
    assert_eq!(c.get("/readyz").await.status, 200);
    let stored = c.get(CM).await.json();
    assert_eq!(stored["metadata"]["annotations"], json!({"keep": "me"}));
}

/// A smaller bomb fits the size limits but builds an invalid object
/// (annotation values that are objects): the error (400 from the type check,
/// as upstream's decoding; 413/422 from the limits) names the problem
/// without echoing megabytes of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_patch_result_is_not_echoed_back() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let c = server.client(&pki, Identity::Admin);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "bomb", "annotations": {"keep": "me"}}});
    let r = c
        .post_json("/api/v1/namespaces/default/configmaps", &cm)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut ops = vec![json!({"op": "add", "path": "/metadata/annotations/a",
        "value": "x".repeat(1000)})];
    for i in 1..=11 {
        ops.push(json!({"op": "copy", "from": "/metadata/annotations",
            "path": format!("/metadata/annotations/k{i}")}));
    }
    let r = c
        .request(
            "PATCH",
            CM,
            &[("content-type", "application/json-patch+json")],
            Some(serde_json::to_vec(&Value::Array(ops)).unwrap()),
        )
        .await;
    assert!(matches!(r.status, 400 | 413 | 422), "{}", r.status);
    assert!(r.text().len() < 64 * 1024, "{} bytes", r.text().len());
}
