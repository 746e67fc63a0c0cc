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

/// Runs curl against the server and returns (HTTP code, body); `args` come
/// after the common TLS options. curl is a real, independent HTTP/2 client.
fn curl(pki: &Pki, args: &[&str]) -> (u16, String) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&pki.ca)
        .args(["-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_owned())
}

/// The smaller bad inputs of issue 13, each answered as upstream answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_parameters_get_upstreams_answers() {
    let pki = Pki::generate();
    let server = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &["--min-request-timeout=1"],
    )
    .await;
    let c = server.client(&pki, Identity::Admin);
    let cms = "/api/v1/namespaces/default/configmaps";

    // Watches end: at once for a negative timeout, within [1 s, 2 s) of
    // --min-request-timeout for 0; a non-integer is 400.
    for (timeout, at_most) in [("-5", 2), ("0", 4)] {
        let started = std::time::Instant::now();
        let (status, _, end) = c
            .watch_until_end(
                &format!("{cms}?watch=true&timeoutSeconds={timeout}"),
                std::time::Duration::from_secs(10),
                || async {},
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(end, Some(Ok(())), "timeoutSeconds={timeout} never ended");
        assert!(started.elapsed().as_secs() < at_most, "{timeout}");
    }
    let r = c
        .get(&format!("{cms}?watch=true&timeoutSeconds=soon"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Field labels per resource.
    for path in [
        format!("{cms}?fieldSelector=data.a%3D1"),
        format!("{cms}?fieldSelector=%3D"),
        format!("{cms}?watch=true&fieldSelector=foo%3Dbar"),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("is not a known field selector"),
            "{}",
            r.text()
        );
    }
    let r = c
        .get("/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn1,status.phase%3DRunning")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c
        .get("/api/v1/namespaces/default/pods?fieldSelector=foo%3Dbar")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "field label not supported: foo");

    // resourceVersion must be a number; resourceVersionMatch needs one.
    let r = c
        .get(&format!("{cms}/kube-root-ca.crt?resourceVersion=abc"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "invalid resource version: resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"
    );
    assert_eq!(
        c.get(&format!("{cms}?resourceVersion=abc")).await.status,
        400
    );
    let r = c.get(&format!("{cms}?resourceVersionMatch=Exact")).await;
    assert_eq!(r.status, 422, "{}", r.text());

    // Forged continue tokens.
    for token in ["!!!", "bm90IGpzb24", "eyJydiI6LTUsInN0YXJ0IjoieCJ9"] {
        let r = c.get(&format!("{cms}?limit=1&continue={token}")).await;
        assert_eq!(r.status, 400, "{token}: {}", r.text());
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid continue token: continue key is not valid"),
            "{}",
            r.text()
        );
    }
}

/// A `HEAD` is answered with its `GET`'s status and headers and no body,
/// on every kind of path and for errors, over HTTP/1.1 and HTTP/2 (curl's
/// HTTP/2 stack refuses a body after `HEAD` as a protocol error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_requests_are_answered_with_headers_alone() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let admin_cert = pki.admin_cert.to_str().unwrap().to_owned();
    let admin_key = pki.admin_key.to_str().unwrap().to_owned();
    let paths = [
        ("/version", 200),
        ("/healthz", 200),
        ("/apis", 200),
        ("/api/v1", 200),
        ("/openapi/v2", 200),
        ("/api/v1/namespaces/default", 200),
        ("/api/v1/namespaces/default/configmaps", 200),
        ("/api/v1/namespaces/default/configmaps/missing", 404),
        ("/no/such/path", 404),
    ];
    for (path, want) in paths {
        let url = format!("{}{path}", server.url);
        for protocol in ["--http1.1", "--http2"] {
            let (code, body) = curl(
                &pki,
                &[
                    protocol,
                    "--head",
                    "--cert",
                    &admin_cert,
                    "--key",
                    &admin_key,
                    &url,
                ],
            );
            assert_eq!(code, want, "HEAD {path} {protocol}");
            // `--head` prints the response head; a body would follow it.
            let head_end = body.find("\r\n\r\n").map_or(body.len(), |i| i + 4);
            assert_eq!(&body[head_end..], "", "HEAD {path} {protocol} had a body");
        }
    }
}

/// Oversize heads are answered with a 431 Status, not an empty response,
/// on HTTP/1.1 and HTTP/2; early answers to HTTP/2 POSTs with bodies (401
/// before authentication, 413 over the body limit) are read as answers,
/// not stream errors, every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_answers_are_statuses_clients_can_read() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    // 12 headers of 95 kB: over the 1 MiB head limit, under hyper's own.
    let value = "h".repeat(95_000);
    let names: Vec<String> = (0..12).map(|i| format!("x-big-{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), value.as_str())).collect();
    let credentials = skewless_local::Credentials::admin(&pki).unwrap();
    for protocol in [
        skewless_local::Protocol::Http1,
        skewless_local::Protocol::H2,
    ] {
        let endpoint = credentials.endpoint(&server.url, protocol).unwrap();
        let mut conn = endpoint.connect().await.unwrap();
        let r = conn
            .send(
                "GET",
                "/api/v1/namespaces",
                &headers,
                None,
                std::time::Duration::from_secs(30),
            )
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(r.status, 431, "{}: {body}", protocol.label());
        let status: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status["kind"], "Status", "{}: {body}", protocol.label());
        assert_eq!(status["code"], 431);
    }

    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::write(&small, vec![b'x'; 512 * 1024]).unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 4 * 1024 * 1024]).unwrap();
    let post = format!("{}/api/v1/namespaces/default/configmaps", server.url);
    let small_arg = format!("@{}", small.display());
    let big_arg = format!("@{}", big.display());
    let admin_cert = pki.admin_cert.to_str().unwrap().to_owned();
    let admin_key = pki.admin_key.to_str().unwrap().to_owned();
    for round in 0..20 {
        let (code, body) = curl(
            &pki,
            &[
                "--http2",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                // A token nobody issued: refused before the body is read.
                "-H",
                "Authorization: Bearer forged",
                "--data-binary",
                &small_arg,
                &post,
            ],
        );
        assert_eq!(code, 401, "round {round}: {body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], 401);
        let (code, body) = curl(
            &pki,
            &[
                "--http2",
                "--cert",
                &admin_cert,
                "--key",
                &admin_key,
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &big_arg,
                &post,
            ],
        );
        assert_eq!(code, 413, "round {round}: {body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], 413);
    }
}
