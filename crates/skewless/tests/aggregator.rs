//! Issue 18 items 1, 4 and 5: an extension API server (testkit's sample
//! metrics server) registered by an APIService with `spec.service`, on real
//! `skewless serve` processes of a mixed 1.35/1.36 control plane sharing
//! storage (SQLite, etcd): `kubectl get --raw` and `kubectl top pod` through each
//! server, the extension server sees the original user, a user RBAC denies
//! is stopped at the API server, a stopped extension server is a 503
//! Status and a restarted one is back, a hanging one answers within the
//! request deadline, and a deleted APIService leaves discovery everywhere.
//! Bad input: an invalid `caBundle`, a closed port. A watch through the
//! aggregator; aggregated discovery with ETag re-checks, OpenAPI
//! aggregation, routing only to Available APIServices, and checks that a
//! hung extension server does not slow. Upgrades (exec-style, SPDY/3.1
//! and websocket over HTTP/1.1) through each server of the pair.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skewless_testkit::metrics_server::MetricsServer;
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, TOKEN, TOKEN_USER, etcd_endpoints,
    eventually, start_peer_at,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const PODS: &str = "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods";
const WAIT: Duration = Duration::from_secs(30);
/// The servers' `--request-timeout`: a hanging extension server is cut
/// off after it.
const REQUEST_TIMEOUT: &str = "--request-timeout=4s";
const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

fn pod(name: &str) -> String {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]}})
    .to_string()
}

/// Whether the group is in `/apis`, aggregated and legacy.
async fn in_discovery(c: &Client, group: &str) -> (bool, bool) {
    let aggregated = c
        .request("GET", "/apis", &[("accept", AGGREGATED)], None)
        .await
        .json();
    let legacy = c.get("/apis").await.json();
    let has = |list: &Value, pointer: &str| {
        list["items"]
            .as_array()
            .or_else(|| list["groups"].as_array())
            .into_iter()
            .flatten()
            .any(|g| g.pointer(pointer).and_then(Value::as_str) == Some(group))
    };
    (has(&aggregated, "/metadata/name"), has(&legacy, "/name"))
}

async fn pair(pki: &Pki, storage: &Storage) -> (ServerProcess, ServerProcess) {
    let old = start_peer_at(
        Path::new(BIN),
        pki,
        storage,
        "agg-old",
        "1.35",
        &[REQUEST_TIMEOUT],
    )
    .await;
    let new = start_peer_at(
        Path::new(BIN),
        pki,
        storage,
        "agg-new",
        "1.36",
        &[REQUEST_TIMEOUT],
    )
    .await;
    old.wait_ready(pki).await;
    new.wait_ready(pki).await;
    (old, new)
}

/// The `Available` condition's status and reason of the metrics APIService.
async fn availability(c: &Client) -> (String, String) {
    let a = c
        .get("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
        .await
        .json();
    let cond = a["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Available")
        .cloned()
        .unwrap_or(Value::Null);
    (
        cond["status"].as_str().unwrap_or("").to_owned(),
        cond["reason"].as_str().unwrap_or("").to_owned(),
    )
}

async fn available_becomes(c: &Client, status: &str, reason: &str) {
    eventually(WAIT, &format!("Available={status} ({reason})"), || async {
        availability(c).await == (status.to_owned(), reason.to_owned())
    })
    .await;
}

fn assert_unavailable(r: &skewless_testkit::Response, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.text());
    let status = r.json();
    assert_eq!(status["kind"], "Status", "{what}: {status}");
    assert_eq!(status["reason"], "ServiceUnavailable", "{what}: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_through_every_server_of_a_mixed_pair() {
    let dir = tempfile::tempdir().unwrap();
    scenario(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_through_every_server_of_a_mixed_pair_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = skewless_testkit::etcd_prefix("aggregator");
    scenario(Storage::EtcdPrefix(endpoints, prefix)).await;
}

async fn scenario(storage: Storage) {
    let pki = Pki::generate();
    let (old, new) = pair(&pki, &storage).await;
    let mut metrics = MetricsServer::start(&pki, &old.url).await;
    let kubectls = [Kubectl::new(&old.url, &pki), Kubectl::new(&new.url, &pki)];
    let clients = [
        Client::new(&old.url, &pki, Identity::Admin),
        Client::new(&new.url, &pki, Identity::Admin),
    ];
    kubectls[0].ok_with(&["apply", "-f", "-"], Some(&pod("web")));
    kubectls[0].ok_with(
        &["apply", "-f", "-"],
        Some(&metrics.registration(&metrics.ca_bundle())),
    );

    for (k, c) in kubectls.iter().zip(&clients) {
        eventually(WAIT, "the metrics API is served", || async {
            c.get(PODS).await.status == 200
        })
        .await;
        let raw: Value = serde_json::from_str(&k.ok(&["get", "--raw", PODS])).unwrap();
        assert_eq!(raw["kind"], "PodMetricsList", "{raw}");
        assert_eq!(raw["items"][0]["metadata"]["name"], "web", "{raw}");
        eventually(WAIT, "the group is in discovery", || async {
            in_discovery(c, "metrics.k8s.io").await == (true, true)
        })
        .await;
        let top = k.ok(&["top", "pod", "-n", "default"]);
        assert!(top.contains("web") && top.contains("CPU"), "{top}");
    }

    available_becomes(&clients[1], "True", "Passed").await;

    // The extension server sees the user authenticated here.
    kubectls[1].ok_with(&["get", "--raw", PODS], None);
    let out = kubectls[1].run_as("token", &["get", "--raw", PODS], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        metrics.users().iter().any(|u| u == TOKEN_USER),
        "{:?}",
        metrics.users()
    );

    // A user RBAC denies is stopped here: 403, never forwarded.
    for k in &kubectls {
        let out = k.run(&["--as=mallory", "get", "--raw", PODS], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("forbidden"), "{err}");
    }
    assert!(!metrics.users().iter().any(|u| u == "mallory"));

    // Stopped: a 503 Status from every server; restarted: back.
    metrics.stop();
    for c in &clients {
        assert_unavailable(&c.get(PODS).await, "extension server stopped");
    }
    available_becomes(&clients[0], "False", "FailedDiscoveryCheck").await;
    metrics.restart().await;
    for c in &clients {
        eventually(WAIT, "the restarted extension server answers", || async {
            c.get(PODS).await.status == 200
        })
        .await;
    }
    available_becomes(&clients[0], "True", "Passed").await;

    // Hanging: an answer within the request deadline: 504 while the
    // APIService is still Available, 503 once its discovery check failed.
    metrics.hang();
    for c in &clients {
        let started = Instant::now();
        let r = c.get(PODS).await;
        assert!([503, 504].contains(&r.status), "{}", r.text());
        assert_eq!(r.json()["kind"], "Status");
        assert!(started.elapsed() < Duration::from_secs(15));
        // A watch too: its response head must arrive within the deadline.
        let started = Instant::now();
        let r = c.get(&format!("{PODS}?watch=true")).await;
        assert!([503, 504].contains(&r.status), "{}", r.text());
        assert!(started.elapsed() < Duration::from_secs(15));
    }
    metrics.unhang();
    available_becomes(&clients[0], "True", "Passed").await;

    // A watch through the aggregator: events arrive while it stays open.
    watch_through(&clients[1], &kubectls[0]).await;

    // Deleted: the group leaves discovery on every server.
    kubectls[1].ok(&["delete", "apiservice", "v1beta1.metrics.k8s.io"]);
    for c in &clients {
        eventually(WAIT, "the group leaves discovery", || async {
            in_discovery(c, "metrics.k8s.io").await == (false, false)
        })
        .await;
        assert_eq!(c.get(PODS).await.status, 404);
    }
}

/// Opens a watch of pod metrics through `c` (proxied to the extension
/// server), creates a pod, and waits for its ADDED event on the open
/// stream.
async fn watch_through(c: &Client, kubectl: &Kubectl) {
    let mut events = c
        .stream_lines(&format!("{PODS}?watch=true&timeoutSeconds=60"))
        .await;
    kubectl.ok_with(&["apply", "-f", "-"], Some(&pod("watched")));
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, events.recv())
            .await
            .expect("an ADDED event for the new pod in time")
            .expect("the watch stays open");
        if event["object"]["metadata"]["name"] == "watched" {
            assert_eq!(event["type"], "ADDED", "{event}");
            assert_eq!(event["object"]["kind"], "PodMetrics", "{event}");
            return;
        }
    }
}

/// Issue 18's remainder: discovery comes from the extension server's
/// aggregated `/apis` and is re-checked with its ETag (304s); its OpenAPI
/// v2 and v3 documents are aggregated (kubectl explain reads them);
/// an APIService whose discovery check fails is not Available, and then
/// its requests are refused here (503 `service unavailable`) without
/// reaching the extension server, as kube-aggregator; an extension server
/// that hangs slows nobody else's checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn discovery_is_aggregated_rechecked_and_gates_routing() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = pair(&pki, &Storage::SharedSqlite(dir.path().to_path_buf())).await;
    let metrics = MetricsServer::start(&pki, &old.url).await;
    let kubectl = Kubectl::new(&old.url, &pki);
    let clients = [
        Client::new(&old.url, &pki, Identity::Admin),
        Client::new(&new.url, &pki, Identity::Admin),
    ];
    kubectl.ok_with(&["apply", "-f", "-"], Some(&pod("web")));
    kubectl.ok_with(
        &["apply", "-f", "-"],
        Some(&metrics.registration(&metrics.ca_bundle())),
    );
    available_becomes(&clients[0], "True", "Passed").await;
    for c in &clients {
        eventually(WAIT, "the metrics API is served", || async {
            c.get(PODS).await.status == 200
        })
        .await;
    }
    // The extension server itself serves only clients with a certificate
    // of the request-header (front-proxy) CA, whatever they assert.
    let ca_path = dir.path().join("metrics-ca.crt");
    {
        use base64::Engine as _;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(metrics.ca_bundle())
            .unwrap();
        std::fs::write(&ca_path, pem).unwrap();
    }
    let direct = format!("https://127.0.0.1:{}", metrics.addr.port());
    let ask = |identity: Option<(&Path, &Path)>| {
        let creds = skewless_local::Credentials::load(&ca_path, identity).unwrap();
        let client = skewless_local::Client::new(
            creds
                .endpoint(&direct, skewless_local::Protocol::Http1)
                .unwrap(),
        );
        async move {
            client
                .request(
                    "GET",
                    PODS,
                    &[("x-remote-user", "direct-user")],
                    None,
                    Duration::from_secs(10),
                )
                .await
                .map(|r| r.status)
        }
    };
    // No certificate: 401 Status; the cluster CA's admin certificate: the
    // handshake fails; the front proxy's: served, as the user asserted.
    assert_eq!(ask(None).await.unwrap(), 401);
    assert!(ask(Some((&pki.admin_cert, &pki.admin_key))).await.is_err());
    assert_eq!(
        ask(Some((&pki.proxy_cert, &pki.proxy_key))).await.unwrap(),
        200
    );
    let direct_users = metrics
        .users()
        .iter()
        .filter(|u| *u == "direct-user")
        .count();
    assert_eq!(direct_users, 1, "only the front proxy's assertion counts");

    // The servers fetched the aggregated document and then re-check it
    // with its ETag; the legacy group/version document is never needed.
    let checks = |status: u16| {
        metrics
            .seen()
            .iter()
            .filter(|s| {
                s.user == "system:kube-aggregator" && s.path == "/apis" && s.status == status
            })
            .count()
    };
    eventually(WAIT, "304 re-checks of discovery", || async {
        checks(304) >= 4
    })
    .await;
    assert!(checks(200) >= 1);
    assert!(
        !metrics.seen().iter().any(|s| s.user == "system:kube-aggregator"
            && s.path == "/apis/metrics.k8s.io/v1beta1"),
        "legacy discovery was fetched although aggregated discovery answered"
    );
    let aggregated = clients[1]
        .request("GET", "/apis", &[("accept", AGGREGATED)], None)
        .await
        .json();
    let group = aggregated["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["metadata"]["name"] == "metrics.k8s.io")
        .cloned()
        .unwrap_or(Value::Null);
    let pods = group["versions"][0]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["resource"] == "pods")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(pods["responseKind"]["kind"], "PodMetrics", "{group}");
    assert!(
        pods["verbs"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("watch"))),
        "{group}"
    );

    // OpenAPI: the extension server's v2 paths and definitions join each
    // server's /openapi/v2; its v3 document is listed and served; kubectl
    // explain reads it.
    for c in &clients {
        eventually(
            WAIT,
            "the extension server's OpenAPI v2 is aggregated",
            || async {
                let v2 = c.get("/openapi/v2").await.json();
                v2["definitions"]
                    .get("io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics")
                    .is_some()
                    && v2["paths"]
                        .get("/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}")
                        .is_some()
                    && v2["definitions"].get("io.k8s.api.core.v1.Pod").is_some()
            },
        )
        .await;
        let index = c.get("/openapi/v3").await.json();
        let url = index["paths"]["apis/metrics.k8s.io/v1beta1"]["serverRelativeURL"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(url.contains("hash="), "{index}");
        let doc = c.get(&url).await;
        assert_eq!(doc.status, 200, "{}", doc.text());
        assert!(
            doc.json()["components"]["schemas"]
                .get("io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics")
                .is_some()
        );
    }
    let explained = kubectl.ok(&["explain", "pods", "--api-version=metrics.k8s.io/v1beta1"]);
    assert!(explained.contains("PodMetrics"), "{explained}");

    // A second APIService to an extension server that hangs: the first
    // one's checks go on at their pace (each of the two servers checks
    // every second, ~20 in 10 s; serial checks waiting 5 s for the hung
    // one would make 4 at most).
    let hung = MetricsServer::start(&pki, &old.url).await;
    hung.hang();
    // (Its certificate does not name the renamed Service: not verified.)
    let hung_registration = hung
        .registration("")
        .replace(r#""caBundle":"""#, r#""insecureSkipTLSVerify":true"#)
        .replace("v1beta1.metrics.k8s.io", "v1beta2.metrics.k8s.io")
        .replace("\"version\":\"v1beta1\"", "\"version\":\"v1beta2\"")
        .replace("metrics-server", "hung-metrics-server");
    kubectl.ok_with(&["apply", "-f", "-"], Some(&hung_registration));
    eventually(
        WAIT,
        "the hung extension server is being checked",
        || async {
            let a = clients[0]
                .get("/apis/apiregistration.k8s.io/v1/apiservices/v1beta2.metrics.k8s.io")
                .await
                .json();
            a["status"]["conditions"][0]["reason"] == "FailedDiscoveryCheck"
        },
    )
    .await;
    let before = checks(304);
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let made = checks(304) - before;
    assert!(
        made >= 6,
        "{made} re-checks of the healthy extension server in {:?} beside a hung one",
        window.elapsed()
    );

    // Discovery failing: Available=False, and requests are refused here.
    metrics.fail_discovery(true);
    available_becomes(&clients[0], "False", "FailedDiscoveryCheck").await;
    for c in &clients {
        eventually(WAIT, "requests are refused as unavailable", || async {
            let r = c.get(PODS).await;
            r.status == 503 && r.json()["message"] == "service unavailable"
        })
        .await;
    }
    let forwarded = |m: &MetricsServer| m.seen().iter().filter(|s| s.path == PODS).count();
    let before = forwarded(&metrics);
    for c in &clients {
        assert_unavailable(&c.get(PODS).await, "not Available");
    }
    assert_eq!(
        forwarded(&metrics),
        before,
        "an unavailable APIService was proxied"
    );
    metrics.fail_discovery(false);
    available_becomes(&clients[0], "True", "Passed").await;
    for c in &clients {
        eventually(WAIT, "available again", || async {
            c.get(PODS).await.status == 200
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_apiservices_are_status_errors() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = pair(&pki, &Storage::SharedSqlite(dir.path().to_path_buf())).await;
    let mut metrics = MetricsServer::start(&pki, &old.url).await;
    let kubectl = Kubectl::new(&old.url, &pki);
    let clients = [
        Client::new(&old.url, &pki, Identity::Admin),
        Client::new(&new.url, &pki, Identity::Admin),
    ];
    // No Service yet: ServiceNotFound; a Service without endpoints:
    // EndpointsNotFound.
    // The APIService's caBundle is no certificate.
    let registration = metrics.registration("bm90IGEgY2VydGlmaWNhdGU=");
    let docs: Vec<&str> = registration.split("\n---\n").collect();
    kubectl.ok_with(&["apply", "-f", "-"], Some(docs[2]));
    available_becomes(&clients[0], "False", "ServiceNotFound").await;
    for c in &clients {
        eventually(WAIT, "the APIService is routed", || async {
            c.get(PODS).await.status == 503
        })
        .await;
        assert_unavailable(&c.get(PODS).await, "no service");
    }
    kubectl.ok_with(&["apply", "-f", "-"], Some(docs[0]));
    available_becomes(&clients[1], "False", "EndpointsNotFound").await;
    assert_unavailable(&clients[0].get(PODS).await, "no endpoints");
    // Endpoints, but an invalid caBundle.
    kubectl.ok_with(&["apply", "-f", "-"], Some(docs[1]));
    available_becomes(&clients[0], "False", "FailedDiscoveryCheck").await;
    for c in &clients {
        assert_unavailable(&c.get(PODS).await, "invalid caBundle");
    }
    // The right caBundle (Available), then a CA that did not sign the
    // extension server's certificate.
    kubectl.ok_with(
        &["apply", "-f", "-"],
        Some(&metrics.registration(&metrics.ca_bundle())),
    );
    available_becomes(&clients[0], "True", "Passed").await;
    let other = MetricsServer::start(&pki, &old.url).await;
    kubectl.ok_with(
        &["apply", "-f", "-"],
        Some(&metrics.registration(&other.ca_bundle())),
    );
    available_becomes(&clients[0], "False", "FailedDiscoveryCheck").await;
    eventually(WAIT, "an untrusted certificate fails the check", || async {
        let a = clients[1]
            .get("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
            .await
            .json();
        let message = a["status"]["conditions"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        message.contains("UnknownIssuer") || message.contains("invalid peer certificate")
    })
    .await;
    for c in &clients {
        eventually(WAIT, "an untrusted certificate is refused", || async {
            let r = c.get(PODS).await;
            r.status == 503 && r.json()["reason"] == "ServiceUnavailable"
        })
        .await;
    }
    // insecureSkipTLSVerify: any certificate is accepted.
    let insecure = metrics
        .registration("")
        .replace(r#""caBundle":"""#, r#""insecureSkipTLSVerify":true"#);
    assert!(insecure.contains("insecureSkipTLSVerify"), "{insecure}");
    kubectl.ok_with(&["apply", "-f", "-"], Some(&insecure));
    for c in &clients {
        eventually(WAIT, "insecureSkipTLSVerify is honoured", || async {
            c.get(PODS).await.status == 200
        })
        .await;
    }
    // The right caBundle, then the port closed.
    kubectl.ok_with(
        &["apply", "-f", "-"],
        Some(&metrics.registration(&metrics.ca_bundle())),
    );
    for c in &clients {
        eventually(WAIT, "the metrics API is served", || async {
            c.get(PODS).await.status == 200
        })
        .await;
    }
    // A redirect is neither followed nor passed on: 502 Status.
    metrics.redirect(true);
    for c in &clients {
        let r = c.get(PODS).await;
        assert_eq!(r.status, 502, "{}", r.text());
        let status = r.json();
        assert_eq!(status["kind"], "Status", "{status}");
        assert!(
            status["message"]
                .as_str()
                .is_some_and(|m| m.contains("attempted to redirect")),
            "{status}"
        );
    }
    metrics.redirect(false);
    metrics.stop();
    for c in &clients {
        assert_unavailable(&c.get(PODS).await, "closed port");
    }
    // Garbage: a port that answers bytes that are no TLS at all.
    let junk = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let junk_port = junk.local_addr().unwrap().port();
    let junk_task = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt as _;
        while let Ok((mut tcp, _)) = junk.accept().await {
            let _ = tcp
                .write_all(b"\x00garbage\r\n\r\nnot tls, not http\n")
                .await;
        }
    });
    let port = metrics.addr.port();
    let garbage = metrics
        .registration("")
        .replace(r#""caBundle":"""#, r#""insecureSkipTLSVerify":true"#)
        .replace(
            &format!("\"port\":{port}"),
            &format!("\"port\":{junk_port}"),
        )
        .replace(
            &format!("\"targetPort\":{port}"),
            &format!("\"targetPort\":{junk_port}"),
        );
    assert!(
        garbage.contains(&format!("\"port\":{junk_port}")),
        "{garbage}"
    );
    kubectl.ok_with(&["apply", "-f", "-"], Some(&garbage));
    available_becomes(&clients[1], "False", "FailedDiscoveryCheck").await;
    for c in &clients {
        eventually(WAIT, "garbage is a 503 Status", || async {
            let r = c.get(PODS).await;
            r.status == 503 && r.json()["kind"] == "Status"
        })
        .await;
    }
    junk_task.abort();
}

/// The sample server's upgrade endpoint (echo, after `user=<user>\n`).
const ECHO: &str = "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web/echo";

/// Reads exactly `n` bytes of an upgraded stream, within [`WAIT`].
async fn read_n(io: &mut (impl tokio::io::AsyncRead + Unpin), n: usize) -> String {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(WAIT, io.read_exact(&mut buf))
        .await
        .expect("bytes through the upgraded stream in time")
        .expect("the upgraded stream stays open");
    String::from_utf8_lossy(&buf).into_owned()
}

/// The Status of a non-101 answer to an upgrade request.
async fn status_of(response: http::Response<hyper::body::Incoming>) -> (u16, Value) {
    let r = skewless_local::client::read("POST", ECHO, response, WAIT)
        .await
        .unwrap();
    (r.status, r.json().unwrap_or(Value::Null))
}

/// Issue 18, upgrades through the aggregator: an exec-style upgrade
/// (`SPDY/3.1` on POST, `websocket` on GET) through each server of a mixed
/// pair reaches the extension server as the user authenticated here, and
/// bytes flow both ways until the client closes; a user RBAC denies gets
/// 403 before any upgrade; an answer other than 101 passes through as a
/// Status; a hung extension server is a Status within the request
/// deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upgrades_through_every_server_of_a_mixed_pair() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = pair(&pki, &Storage::SharedSqlite(dir.path().to_path_buf())).await;
    let metrics = MetricsServer::start(&pki, &old.url).await;
    let kubectl = Kubectl::new(&old.url, &pki);
    kubectl.ok_with(&["apply", "-f", "-"], Some(&pod("web")));
    kubectl.ok_with(
        &["apply", "-f", "-"],
        Some(&metrics.registration(&metrics.ca_bundle())),
    );
    let admin = skewless_local::Credentials::admin(&pki).unwrap();
    let anonymous = skewless_local::Credentials::load(&pki.ca, None).unwrap();
    let bearer = format!("Bearer {TOKEN}");
    for server in [&old, &new] {
        let c = Client::new(&server.url, &pki, Identity::Admin);
        eventually(WAIT, "the metrics API is served", || async {
            c.get(PODS).await.status == 200
        })
        .await;
        let token = anonymous
            .endpoint(&server.url, skewless_local::Protocol::Http1)
            .unwrap();
        for (method, protocol) in [("POST", "SPDY/3.1"), ("GET", "websocket")] {
            let (head, io) = token
                .upgrade(method, ECHO, protocol, &[("authorization", &bearer)])
                .await
                .unwrap();
            assert_eq!(head.status(), 101, "{method} {protocol} via {}", server.url);
            assert_eq!(head.headers()["upgrade"], protocol);
            let mut io = io.expect("an upgraded stream after 101");
            let greeting = format!("user={TOKEN_USER}\n");
            assert_eq!(read_n(&mut io, greeting.len()).await, greeting);
            // Both ways, more than once, larger than one read.
            for round in 0..3 {
                let message = format!("{round}:{}", "x".repeat(50_000));
                io.write_all(message.as_bytes()).await.unwrap();
                assert_eq!(read_n(&mut io, message.len()).await, message);
            }
            // The client closes: the extension server's end closes too.
            io.shutdown().await.unwrap();
            let mut rest = Vec::new();
            tokio::time::timeout(WAIT, io.read_to_end(&mut rest))
                .await
                .expect("the joined stream ends when the client closes")
                .ok();
            assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
        }
        let echoed = metrics
            .seen()
            .iter()
            .filter(|s| s.path == ECHO && s.status == 101 && s.user == TOKEN_USER)
            .count();
        assert!(echoed >= 2, "{:?}", metrics.seen());

        let endpoint = admin
            .endpoint(&server.url, skewless_local::Protocol::Http1)
            .unwrap();
        // A user RBAC denies: 403 here, nothing reaches the extension server.
        let (head, io) = endpoint
            .upgrade("POST", ECHO, "SPDY/3.1", &[("impersonate-user", "mallory")])
            .await
            .unwrap();
        assert!(io.is_none());
        let (code, status) = status_of(head).await;
        assert_eq!(code, 403, "{status}");
        assert_eq!(status["kind"], "Status", "{status}");
        assert_eq!(status["reason"], "Forbidden", "{status}");
        assert!(!metrics.users().iter().any(|u| u == "mallory"));

        // A protocol the extension server refuses: its 400 Status passes.
        let (head, io) = endpoint
            .upgrade("POST", ECHO, "bogus/1", &[])
            .await
            .unwrap();
        assert!(io.is_none());
        let (code, status) = status_of(head).await;
        assert_eq!(code, 400, "{status}");
        assert_eq!(status["kind"], "Status", "{status}");
        assert!(
            status["message"]
                .as_str()
                .is_some_and(|m| m.contains("echo needs")),
            "{status}"
        );
    }

    // The peer proxy carries no upgrades: a resource only the 1.36 peer
    // serves, asked of the 1.35 server with an upgrade, is a 400 Status.
    let maps = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
    let via_old = admin
        .endpoint(&old.url, skewless_local::Protocol::Http1)
        .unwrap();
    let (head, io) = via_old
        .upgrade("GET", maps, "websocket", &[])
        .await
        .unwrap();
    assert!(io.is_none());
    let (code, status) = status_of(head).await;
    assert_eq!(code, 400, "{status}");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot be proxied to a peer")),
        "{status}"
    );

    // Hung: a Status within the request deadline, never a 101.
    metrics.hang();
    for server in [&old, &new] {
        let endpoint = admin
            .endpoint(&server.url, skewless_local::Protocol::Http1)
            .unwrap();
        let started = Instant::now();
        let (head, io) = endpoint
            .upgrade("POST", ECHO, "SPDY/3.1", &[])
            .await
            .unwrap();
        assert!(io.is_none());
        let (code, status) = status_of(head).await;
        assert!([503, 504].contains(&code), "{status}");
        assert_eq!(status["kind"], "Status", "{status}");
        assert!(started.elapsed() < Duration::from_secs(15));
    }
    metrics.unhang();
}
