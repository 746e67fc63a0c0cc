//! The Mixed Version Proxy across real `skewless serve` processes sharing
//! one storage: requests for a resource only a peer serves reach that peer,
//! as the original user, and every failure mode answers quickly and clearly.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skewless_store::Store;
use skewless_store::sqlite::{SqliteOptions, SqliteStore};
use skewless_testkit::fake_peer::{Behaviour, FakePeer};
use skewless_testkit::{
    Client, Identity, Pki, ServerProcess, Storage, etcd_endpoints, eventually, start_peer,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";

fn job(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
    })
}

async fn peer(pki: &Pki, storage: &Storage, id: &str, extra: &[&str]) -> ServerProcess {
    start_peer(Path::new(BIN), pki, storage, id, extra).await
}

async fn shared_sqlite() -> (Storage, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Storage::SharedSqlite(dir.path().to_path_buf()), dir)
}

/// A serving batch/v1 and B not serving it, on one SQLite file, with B
/// already proxying jobs to A.
struct Pair {
    storage: Storage,
    pki: Pki,
    a: ServerProcess,
    b: ServerProcess,
    ca: Client,
    cb: Client,
    _dir: Option<tempfile::TempDir>,
}

async fn pair() -> Pair {
    let (storage, dir) = shared_sqlite().await;
    pair_on(storage, Some(dir)).await
}

/// [`pair`] on the given storage (`dir` keeps a SQLite directory alive).
async fn pair_on(storage: Storage, dir: Option<tempfile::TempDir>) -> Pair {
    let pki = Pki::generate();
    let a = peer(&pki, &storage, "server-a", &[]).await;
    let b = peer(
        &pki,
        &storage,
        "server-b",
        &["--runtime-config=batch/v1=false"],
    )
    .await;
    let ca = a.client(&pki, Identity::Admin);
    let cb = b.client(&pki, Identity::Admin);
    eventually(Duration::from_secs(10), "B to proxy jobs", || async {
        cb.get(JOBS).await.status == 200
    })
    .await;
    Pair {
        storage,
        pki,
        a,
        b,
        ca,
        cb,
        _dir: dir,
    }
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

fn metric(text: &str, prefix: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn jobs_are_proxied(storage: Storage) {
    // Every field is bound so the servers live to the end of the test.
    let Pair {
        a: _a,
        b: _b,
        ca,
        cb,
        pki: _pki,
        storage: _storage,
        _dir,
    } = pair_on(storage, None).await;
    assert_eq!(ca.post_json(JOBS, &job("pi")).await.status, 201);

    // B does not serve batch/v1 itself: its answer comes from A.
    let direct = ca.get(&format!("{JOBS}/pi")).await;
    let r = cb.get(JOBS).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(names(&r.json()), ["pi"]);
    let via_b = cb.get(&format!("{JOBS}/pi")).await;
    assert_eq!(via_b.status, 200);
    assert_eq!(
        via_b.body, direct.body,
        "the proxied answer is byte-identical"
    );

    // Writes, watches and deletes go through too.
    let r = cb.post_json(JOBS, &job("via-b")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let rv = cb.get(JOBS).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut events = cb
        .stream_lines(&format!("{JOBS}?watch=1&resourceVersion={rv}"))
        .await;
    for i in 0..5 {
        assert_eq!(ca.post_json(JOBS, &job(&format!("w{i}"))).await.status, 201);
    }
    let mut last = 0i64;
    for i in 0..5 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e["type"], "ADDED");
        assert_eq!(e["object"]["metadata"]["name"], format!("w{i}"));
        let rv: i64 = e["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv > last);
        last = rv;
    }
    assert_eq!(
        cb.request("DELETE", &format!("{JOBS}/via-b"), &[], None)
            .await
            .status,
        200
    );
    assert_eq!(ca.get(&format!("{JOBS}/via-b")).await.status, 404);

    let metrics = cb.get("/metrics").await.text();
    assert!(
        metric(
            &metrics,
            "apiserver_rerouted_request_total{code=\"200\",group=\"batch\",version=\"v1\",resource=\"jobs\"}"
        ) >= 3,
        "{metrics}"
    );
    assert!(
        metrics.contains("skewless_peer_proxy_response_seconds_count{group=\"batch\""),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_proxied_on_shared_sqlite() {
    let (storage, _dir) = shared_sqlite().await;
    jobs_are_proxied(storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_proxied_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let storage = Storage::Etcd(endpoints);
    // Both servers must share the etcd prefix.
    jobs_are_proxied(shared_prefix(storage)).await;
}

/// ServerProcess gives every etcd server a fresh prefix; servers of one
/// control plane must share it, so pin one.
fn shared_prefix(storage: Storage) -> Storage {
    match storage {
        Storage::Etcd(endpoints) => {
            Storage::EtcdPrefix(endpoints, format!("/skewless-mvp-{}", std::process::id()))
        }
        other => other,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_a_third_server_when_the_first_dies() {
    // Every field is bound so the servers live to the end of the test.
    let Pair {
        storage,
        pki,
        mut a,
        b: _b,
        ca,
        cb,
        _dir,
    } = pair().await;
    // C also serves an alpha group no other server does, so B shows when
    // it has learnt C's discovery: it proxies that group to C.
    let c = peer(
        &pki,
        &storage,
        "server-c",
        &["--runtime-config=scheduling.k8s.io/v1alpha2=true"],
    )
    .await;
    assert_eq!(ca.post_json(JOBS, &job("survivor")).await.status, 201);
    // Let B learn C too: C started after B, so B needs a discovery round
    // (every 500 ms here) after C's endpoint appeared.
    eventually(Duration::from_secs(10), "B to learn C", || async {
        cb.get("/apis/scheduling.k8s.io/v1alpha2/podgroups")
            .await
            .status
            == 200
    })
    .await;
    a.kill().await;
    // Every request after A's death succeeds: A is marked down at the first
    // refused connection and C takes over.
    let started = Instant::now();
    for _ in 0..10 {
        let r = cb.get(JOBS).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(names(&r.json()), ["survivor"]);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_only_capable_peer_dying_gives_a_fast_503_with_retry_after() {
    // Every field is bound so the servers live to the end of the test.
    let Pair {
        mut a,
        b: _b,
        cb,
        ca: _ca,
        pki: _pki,
        storage: _storage,
        _dir,
    } = pair().await;
    a.kill().await;
    let started = Instant::now();
    let r = cb.get(JOBS).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.headers["retry-after"], "1");
    let s = r.json();
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["reason"], "ServiceUnavailable");
    assert!(s["message"].as_str().unwrap().contains("jobs"), "{s}");
    let metrics = cb.get("/metrics").await.text();
    assert!(
        metric(
            &metrics,
            "apiserver_peer_proxy_errors_total{type=\"proxy_transport\",group=\"batch\""
        ) >= 1,
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_destination_sees_the_original_user_and_forged_headers_gain_nothing() {
    let (storage, _dir) = shared_sqlite().await;
    let pki = Pki::generate();
    let _a = peer(&pki, &storage, "server-a", &[]).await;
    let b = peer(
        &pki,
        &storage,
        "server-b",
        &["--runtime-config=authentication.k8s.io/v1=false"],
    )
    .await;
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let path = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    let forged = [
        ("X-Remote-User", "admin"),
        ("X-Remote-Group", "system:masters"),
    ];
    for (identity, user, groups) in [
        (
            Identity::Token,
            "token-user",
            json!(["team-a", "team-b", "system:authenticated"]),
        ),
        (
            Identity::Admin,
            "admin",
            json!(["system:masters", "system:authenticated"]),
        ),
    ] {
        let c = b.client(&pki, identity);
        let r = c
            .request(
                "POST",
                path,
                &forged,
                Some(serde_json::to_vec(&review).unwrap()),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let info = &r.json()["status"]["userInfo"];
        assert_eq!(info["username"], user);
        assert_eq!(info["groups"], groups);
    }
}

/// The loop guard: a request a peer proxied is never proxied again. What
/// this server serves it serves; for what it does not serve it answers a
/// 503 telling the proxying server that its discovery of this one is stale,
/// never a 404 (another server may serve it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_already_proxied_is_served_here_or_refused_as_stale() {
    let Pair {
        a: _a,
        b: _b,
        ca,
        cb,
        pki: _pki,
        storage: _storage,
        _dir,
    } = pair().await;
    let proxied = [("x-kubernetes-peer-proxied", "true")];
    let r = cb.request("GET", JOBS, &proxied, None).await;
    assert_eq!(r.status, 503, "no second hop, and no 404: {}", r.text());
    assert_eq!(r.json()["reason"], "ServiceUnavailable");
    assert_eq!(r.headers["x-skewless-not-served-here"], "true");
    let r = ca.request("GET", JOBS, &proxied, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.headers.get("x-skewless-not-served-here").is_none());
}

/// A peer that restarted at a release that no longer serves a resource,
/// while this server still routes on its old discovery: the peer says so
/// (503 "not served here"), this server tries the next capable peer and
/// refetches the stale one's discovery. Reads never see a 404 or a 503
/// while another capable peer is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stopped_serving_is_skipped_and_rediscovered() {
    let (pki, b, cb, _fake, dir) = fake_peer_setup(Behaviour::NotServedHere, &[]).await;
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let a = peer(&pki, &storage, "server-a", &[]).await;
    assert_eq!(
        a.client(&pki, Identity::Admin)
            .post_json(JOBS, &job("seen"))
            .await
            .status,
        201
    );
    eventually(Duration::from_secs(10), "B to learn A", || async {
        cb.get(&format!("{JOBS}/seen")).await.status == 200
    })
    .await;
    for i in 0..30 {
        let r = cb.get(&format!("{JOBS}/seen")).await;
        assert_eq!(r.status, 200, "GET {i}: {}", r.text());
    }
    let log = b.log_text();
    assert!(
        log.contains("no longer serves what its discovery said"),
        "the stale peer was tried and recognised: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_server_is_ready_only_after_learning_its_peers() {
    let (storage, _dir) = shared_sqlite().await;
    let pki = Pki::generate();
    let a = peer(&pki, &storage, "server-a", &[]).await;
    assert_eq!(
        a.client(&pki, Identity::Admin)
            .post_json(JOBS, &job("early"))
            .await
            .status,
        201
    );
    let b = peer(
        &pki,
        &storage,
        "server-b",
        &["--runtime-config=batch/v1=false"],
    )
    .await;
    // start() returned once /readyz passed: the very first request works.
    let r = b.client(&pki, Identity::Admin).get(JOBS).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ready = b
        .client(&pki, Identity::Anonymous)
        .get("/readyz?verbose")
        .await
        .text();
    assert!(ready.contains("[+]mixed-version-proxy ok"), "{ready}");
}

async fn fake_peer_setup(
    behaviour: Behaviour,
    extra: &[&str],
) -> (Pki, ServerProcess, Client, FakePeer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let mut args = vec!["--runtime-config=batch/v1=false"];
    args.extend_from_slice(extra);
    let b = peer(&pki, &storage, "server-b", &args).await;
    let fake = FakePeer::start(&pki, behaviour).await;
    let store = SqliteStore::open(SqliteOptions::new(
        PathBuf::from(dir.path()).join("state.db"),
    ))
    .await
    .unwrap();
    fake.register(&store, "fake-peer").await;
    let cb = b.client(&pki, Identity::Admin);
    // B has learned the fake once its merged discovery lists batch/v1,
    // which B itself does not serve.
    let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    eventually(
        Duration::from_secs(10),
        "B to learn the fake peer",
        || async {
            cb.request("GET", "/apis", &[("accept", accept)], None)
                .await
                .text()
                .contains("\"batch\"")
        },
    )
    .await;
    (pki, b, cb, fake, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_answers_is_bounded_by_the_request_deadline() {
    let (_pki, _b, cb, _fake, _dir) =
        fake_peer_setup(Behaviour::Hang, &["--request-timeout=2s"]).await;
    let started = Instant::now();
    let r = cb.get(JOBS).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "took {took:?}"
    );
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["reason"], "Timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_pass_through_and_identity_is_stamped() {
    let (_pki, _b, cb, _fake, _dir) = fake_peer_setup(Behaviour::Redirect, &[]).await;
    let r = cb.get(JOBS).await;
    assert_eq!(
        r.status, 302,
        "the redirect is passed through, not followed"
    );
    assert_eq!(r.headers["location"], "https://example.invalid/elsewhere");

    let (_pki, _b, cb, _fake, _dir) = fake_peer_setup(Behaviour::EchoHeaders, &[]).await;
    let r = cb
        .request(
            "GET",
            JOBS,
            &[
                ("X-Remote-User", "mallory"),
                ("Authorization", "Bearer stolen"),
            ],
            None,
        )
        .await;
    let seen = r.json();
    assert_eq!(seen["x-remote-user"], "admin");
    assert_eq!(seen["x-kubernetes-peer-proxied"], "true");
    assert!(
        seen.get("authorization").is_none(),
        "credentials are not forwarded: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_an_unverifiable_certificate_is_never_used() {
    let (_pki, _b, cb, fake, _dir) = fake_peer_setup(Behaviour::EchoHeaders, &[]).await;
    fake.use_untrusted_certificate();
    // Pooled connections from before are dropped by the fake; the next
    // handshake meets a certificate no trusted CA signed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = cb.get(JOBS).await;
        if r.status == 503 {
            assert_eq!(r.json()["reason"], "ServiceUnavailable");
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            Instant::now() < deadline,
            "the untrusted peer kept being used"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = cb.get("/metrics").await.text();
    assert!(
        metric(
            &metrics,
            "apiserver_peer_proxy_errors_total{type=\"proxy_transport\""
        ) >= 1,
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misconfigured_peer_flags_are_refused_at_start() {
    let pki = Pki::generate();
    let p = |p: &Path| p.display().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--peer-ca-file".into(), p(&pki.ca)],
            "error building peer proxy handler, proxy-cert-file not specified",
        ),
        (
            vec![
                "--peer-ca-file".into(),
                p(&pki.ca),
                "--proxy-client-cert-file".into(),
                p(&pki.proxy_cert),
            ],
            "error building peer proxy handler, proxy-key-file not specified",
        ),
        (
            vec![
                "--feature-gates=UnknownVersionInteroperabilityProxy=false".into(),
                "--peer-ca-file".into(),
                p(&pki.ca),
            ],
            "--peer-ca-file requires UnknownVersionInteroperabilityProxy feature to be turned on",
        ),
        (
            vec![
                "--feature-gates=UnknownVersionInteroperabilityProxy=false".into(),
                "--peer-advertise-ip=127.0.0.1".into(),
            ],
            "--peer-advertise-ip requires UnknownVersionInteroperabilityProxy feature to be turned on",
        ),
    ];
    for (flags, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = tokio::process::Command::new(BIN)
            .args(["serve", "--secure-port", "0", "--data-dir"])
            .arg(dir.path())
            .args(&flags)
            .output()
            .await
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "flags {flags:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_leases_come_and_go_with_their_servers() {
    let (storage, _dir) = shared_sqlite().await;
    let pki = Pki::generate();
    let mut a = peer(
        &pki,
        &storage,
        "server-a",
        &[
            "--identity-lease-duration=3s",
            "--identity-lease-renew-interval=1s",
        ],
    )
    .await;
    let b = peer(
        &pki,
        &storage,
        "server-b",
        &["--identity-lease-gc-period=1s"],
    )
    .await;
    let cb = b.client(&pki, Identity::Admin);
    let leases = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?labelSelector=apiserver.kubernetes.io%2Fidentity%3Dkube-apiserver";
    eventually(Duration::from_secs(10), "both identity leases", || async {
        names(&cb.get(leases).await.json()).len() == 2
    })
    .await;
    let lease = cb
        .get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/server-a")
        .await
        .json();
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap()
            .starts_with("server-a_")
    );
    assert!(lease["metadata"]["annotations"]["kubernetes.io/peer-advertise-address"].is_string());
    assert!(lease["metadata"]["labels"]["kubernetes.io/hostname"].is_string());

    // A clean shutdown deletes the lease at once.
    assert!(a.terminate().await.success());
    eventually(Duration::from_secs(5), "A's lease to go", || async {
        names(&cb.get(leases).await.json()) == ["server-b"]
    })
    .await;

    // A crashed server's lease is garbage-collected once it expires.
    let mut c = peer(
        &pki,
        &storage,
        "server-c",
        &[
            "--identity-lease-duration=2s",
            "--identity-lease-renew-interval=1s",
        ],
    )
    .await;
    eventually(Duration::from_secs(5), "C's lease", || async {
        names(&cb.get(leases).await.json()).len() == 2
    })
    .await;
    c.kill().await;
    eventually(
        Duration::from_secs(15),
        "C's expired lease to be collected",
        || async { names(&cb.get(leases).await.json()) == ["server-b"] },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_is_off_without_peer_ca_file_and_when_the_gate_is_off() {
    let (storage, _dir) = shared_sqlite().await;
    let pki = Pki::generate();
    let _a = peer(&pki, &storage, "server-a", &[]).await;
    let b = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &storage,
        &[
            "--apiserver-id",
            "server-b",
            "--runtime-config=batch/v1=false",
            "--feature-gates=UnknownVersionInteroperabilityProxy=false",
        ],
    )
    .await;
    let r = b.client(&pki, Identity::Admin).get(JOBS).await;
    assert_eq!(r.status, 404, "without the proxy the local 404 stands");
}

/// Reads the store directly, as a test may (the endpoint key is not
/// reachable over REST).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_endpoints_are_not_reachable_over_rest_and_vanish_on_shutdown() {
    let (storage, dir) = shared_sqlite().await;
    let pki = Pki::generate();
    let mut a = peer(&pki, &storage, "server-a", &[]).await;
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("state.db")))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "A's endpoint", || async {
        store.get("peerendpoints/server-a").await.unwrap().is_some()
    })
    .await;
    let c = a.client(&pki, Identity::Admin);
    for path in [
        "/peerendpoints/server-a",
        "/api/v1/peerendpoints",
        "/api/v1/namespaces/default/peerendpoints/server-a",
    ] {
        assert_eq!(c.get(path).await.status, 404, "{path}");
    }
    assert!(a.terminate().await.success());
    assert!(store.get("peerendpoints/server-a").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_peer_data_costs_one_404_and_never_a_second_hop() {
    // The fake peer still advertises jobs but no longer serves them.
    let (_pki, _b, cb, _fake, _dir) = fake_peer_setup(Behaviour::NotFound, &[]).await;
    let r = cb.get(JOBS).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["reason"], "NotFound");
    let metrics = cb.get("/metrics").await.text();
    assert_eq!(
        metric(
            &metrics,
            "apiserver_rerouted_request_total{code=\"404\",group=\"batch\",version=\"v1\",resource=\"jobs\"}"
        ),
        1,
        "exactly one hop: {metrics}"
    );
}

/// Regression: the peer transport carried every proxied request on one
/// HTTP/2 connection per peer, and a peer takes 200 concurrent streams on
/// a connection (hyper's default). With 200 watches proxied, the next
/// proxied request, watch or not, waited for a free stream until its
/// deadline. Found by `skewless-bench watch` with 1,000 watchers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_proxied_watches_than_one_peer_connection_carries_block_nothing() {
    let Pair {
        a: _a,
        b: _b,
        cb,
        ca,
        pki: _pki,
        storage: _storage,
        _dir,
    } = pair().await;
    let rv = cb.get(JOBS).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut watches = Vec::new();
    for i in 0..250 {
        let w = tokio::time::timeout(
            Duration::from_secs(20),
            cb.stream_lines(&format!("{JOBS}?watch=1&resourceVersion={rv}")),
        )
        .await
        .unwrap_or_else(|_| panic!("proxied watch {i} did not start"));
        watches.push(w);
    }
    let r = tokio::time::timeout(Duration::from_secs(10), cb.get(JOBS))
        .await
        .expect("a proxied GET behind 250 proxied watches answers at once");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(ca.post_json(JOBS, &job("seen-by-all")).await.status, 201);
    for w in &mut watches {
        let e = tokio::time::timeout(Duration::from_secs(10), w.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e["object"]["metadata"]["name"], "seen-by-all");
    }
}

/// Connections B dialled to peers of `kind` (its metrics).
async fn dialled(client: &Client, kind: &str) -> u64 {
    let text = client.get("/metrics").await.text();
    metric(
        &text,
        &format!("skewless_peer_connections_dialed_total{{kind=\"{kind}\"}}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxied_requests_reuse_pooled_connections_and_survive_a_peer_restart() {
    // Every field is bound so the servers live to the end of the test.
    let Pair {
        storage,
        pki,
        mut a,
        b: _b,
        ca,
        cb,
        _dir,
    } = pair().await;
    assert_eq!(ca.post_json(JOBS, &job("pooled")).await.status, 201);
    // One after another: one pooled connection carries them all.
    let before = dialled(&cb, "inline").await;
    for _ in 0..100 {
        let r = cb.get(&format!("{JOBS}/pooled")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let one_by_one = dialled(&cb, "inline").await - before;
    assert!(
        one_by_one <= 1,
        "{one_by_one} connections dialled for 100 proxied GETs one after another"
    );
    // More at once than the pool keeps connections for: the rest go on the
    // multiplexed connection, and every one is answered.
    let burst = futures::future::join_all((0..48).map(|_| cb.get(JOBS))).await;
    for r in &burst {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let total = dialled(&cb, "inline").await - before;
    assert!(total <= 33, "{total} inline connections for 48 at once");
    assert!(dialled(&cb, "inline").await >= 1);

    // A restarts on the same address: B's pooled connections to it are
    // closed, and are skipped, not used.
    let port = a.port;
    a.kill().await;
    let a = peer(
        &pki,
        &storage,
        "server-a",
        &[&format!("--secure-port={port}")],
    )
    .await;
    assert_eq!(a.port, port);
    // Until B routes to A again (a watch goes on the multiplexed
    // connection, leaving the pooled ones untouched)...
    eventually(Duration::from_secs(20), "B to route to A again", || async {
        cb.get(&format!("{JOBS}?watch=true&timeoutSeconds=1"))
            .await
            .status
            == 200
    })
    .await;
    // ... then every request succeeds at once.
    for _ in 0..20 {
        let r = cb.get(&format!("{JOBS}/pooled")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["metadata"]["name"], "pooled");
    }
}
