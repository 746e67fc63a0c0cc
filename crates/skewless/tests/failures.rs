//! What a client of a 1.35 server sees, over time, while the only 1.36 peer
//! (the only server of `mutatingadmissionpolicies`) is killed, hung, cut
//! off or misconfigured: never a 404 for a resource a live peer serves,
//! never a wait past the hop timeout, and a clear 503 naming the cause.
//! Real `skewless serve` processes on one SQLite file and on etcd.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skewless_testkit::{Client, Identity, Pki, ServerProcess, Storage, etcd_endpoints, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
/// Served only at 1.36.
const MAPS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
/// Upper bound of one answer while a peer is in trouble: the hop timeout
/// (1 s here) plus a margin for two busy cores.
const ANSWER_BOUND: Duration = Duration::from_secs(4);
/// Timing every server of these tests runs with: endpoints expire 3 s
/// after their server stops refreshing them, a hop waits at most 1 s for
/// response headers, identity Leases are renewed every 2 s.
const TIMING: [&str; 3] = [
    "--peer-endpoint-ttl=3s",
    "--peer-proxy-hop-timeout=1s",
    "--identity-lease-renew-interval=2s",
];

async fn server(pki: &Pki, storage: &Storage, id: &str, version: &str) -> ServerProcess {
    skewless_testkit::start_peer_at(Path::new(BIN), pki, storage, id, version, &TIMING).await
}

/// Shared storage for one control plane: a SQLite directory, or a fresh
/// prefix on the test etcd.
async fn storage(etcd: bool) -> (Storage, Box<dyn std::any::Any + Send>) {
    if etcd {
        let (endpoints, guard) = etcd_endpoints().await;
        let prefix = format!("/failures-{}", uuid_like());
        (Storage::EtcdPrefix(endpoints, prefix), Box::new(guard))
    } else {
        let dir = tempfile::tempdir().unwrap();
        (
            Storage::SharedSqlite(dir.path().to_path_buf()),
            Box::new(dir),
        )
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A 1.35 server (`old`) in front of a 1.36 server (`new`), with `old`
/// already proxying MutatingAdmissionPolicies to `new`.
struct Plane {
    pki: Pki,
    storage: Storage,
    old: ServerProcess,
    new: ServerProcess,
    client: Client,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn plane(etcd: bool) -> Plane {
    let (storage, guard) = storage(etcd).await;
    let pki = Pki::generate();
    let new = server(&pki, &storage, "server-136", "1.36").await;
    let old = server(&pki, &storage, "server-135", "1.35").await;
    let client = old.client(&pki, Identity::Admin);
    eventually(Duration::from_secs(15), "1.35 to proxy MAPs", || async {
        client.get(MAPS).await.status == 200
    })
    .await;
    Plane {
        pki,
        storage,
        old,
        new,
        client,
        _guard: guard,
    }
}

/// One observation: when, what status, how long it took, the message.
#[derive(Debug)]
struct Seen {
    at: Duration,
    status: u16,
    took: Duration,
    message: String,
}

/// GETs `path` every 200 ms for `window` and returns what the client saw.
async fn observe(client: &Client, path: &str, window: Duration) -> Vec<Seen> {
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < window {
        let sent = Instant::now();
        let r = client.get(path).await;
        let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
        seen.push(Seen {
            at: start.elapsed(),
            status: r.status,
            took: sent.elapsed(),
            message,
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    seen
}

fn assert_no_404_and_bounded(seen: &[Seen], allowed: &[u16]) {
    for s in seen {
        assert!(
            allowed.contains(&s.status),
            "status {} at {:?} (allowed {allowed:?}): {}\nall: {seen:#?}",
            s.status,
            s.at,
            s.message
        );
        assert!(
            s.took <= ANSWER_BOUND,
            "an answer took {:?} at {:?}\nall: {seen:#?}",
            s.took,
            s.at
        );
    }
}

async fn killed_peer(etcd: bool) {
    let mut p = plane(etcd).await;
    p.new.kill().await;
    // Past the endpoint's expiry (3 s): the Lease lives on (1 h), so the
    // peer still serves MAPs as far as anyone knows.
    let seen = observe(&p.client, MAPS, Duration::from_secs(7)).await;
    assert_no_404_and_bounded(&seen, &[503]);
    assert!(
        seen.iter()
            .all(|s| s.message.contains("mutatingadmissionpolicies")
                || s.message.contains("remote server")),
        "{seen:#?}"
    );
    // Back with the same ID: answers again.
    let _back = server(&p.pki, &p.storage, "server-136", "1.36").await;
    eventually(Duration::from_secs(10), "MAPs again", || async {
        p.client.get(MAPS).await.status == 200
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_peer_gives_503_never_404_sqlite() {
    killed_peer(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_peer_gives_503_never_404_etcd() {
    killed_peer(true).await;
}

async fn hung_peer(etcd: bool) {
    let p = plane(etcd).await;
    p.new.hang();
    // Each answer within the hop timeout's bound; 504 while the hung peer
    // is tried, 503 once it is suspect or its endpoint expired; never 404.
    let seen = observe(&p.client, MAPS, Duration::from_secs(6)).await;
    p.new.resume();
    assert_no_404_and_bounded(&seen, &[503, 504]);
    // Answering again within seconds of resuming (a probe every second,
    // the endpoint refreshed every 2 s).
    let resumed = Instant::now();
    eventually(Duration::from_secs(10), "MAPs after SIGCONT", || async {
        p.client.get(MAPS).await.status == 200
    })
    .await;
    assert!(
        resumed.elapsed() < Duration::from_secs(6),
        "{:?}",
        resumed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_peer_never_makes_a_client_wait_past_the_hop_timeout_sqlite() {
    hung_peer(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_peer_never_makes_a_client_wait_past_the_hop_timeout_etcd() {
    hung_peer(true).await;
}

/// With a second, healthy 1.36 server, a hung one costs at most one hop
/// timeout once, then reads go to the healthy one: every answer is 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_fail_over_from_a_hung_peer_to_a_healthy_one() {
    let p = plane(false).await;
    let _second = server(&p.pki, &p.storage, "server-136-b", "1.36").await;
    // Both 1.36 servers up, and what each serves known (a peer whose
    // discovery is not fetched yet is no candidate).
    eventually(
        Duration::from_secs(10),
        "both 1.36 servers known",
        || async {
            let ready = p.client.get("/readyz?verbose").await.text();
            ["server-136 ", "server-136-b "].iter().all(|peer| {
                ready.lines().any(|l| {
                    l.contains(&format!("peer {peer}"))
                        && l.contains("link=up")
                        && l.contains("discovery=known")
                })
            })
        },
    )
    .await;
    p.new.hang();
    let seen = observe(&p.client, MAPS, Duration::from_secs(5)).await;
    p.new.resume();
    assert_no_404_and_bounded(&seen, &[200]);
    let slow = seen
        .iter()
        .filter(|s| s.took > Duration::from_millis(900))
        .count();
    assert!(slow <= 2, "more than one hop timeout paid: {seen:#?}");
}

/// The misconfiguration upstream warns about first: a `--peer-ca-file`
/// that did not sign the peers' serving certificates. The first request
/// answers 503 naming the TLS cause (never 404), the server logs exactly
/// one WARN line for the broken link, and `/readyz?verbose` shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_peer_ca_answers_503_naming_the_cause_and_warns_once() {
    let (storage, _guard) = storage(false).await;
    let pki = Pki::generate();
    let other = Pki::generate();
    let _new = server(&pki, &storage, "server-136", "1.36").await;
    let args = [
        "--apiserver-id=server-135".to_owned(),
        format!("--peer-ca-file={}", other.ca.display()),
        format!("--proxy-client-cert-file={}", pki.proxy_cert.display()),
        format!("--proxy-client-key-file={}", pki.proxy_key.display()),
        "--emulated-version=1.35".to_owned(),
        "--peer-discovery-resync=500ms".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let old = ServerProcess::start(Path::new(BIN), &pki, &storage, &args).await;
    let client = old.client(&pki, Identity::Admin);
    let r = client.get(MAPS).await;
    assert_eq!(r.status, 503, "{}", r.text());
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("server-136"), "{message}");
    assert!(
        message.contains("UnknownIssuer") || message.contains("certificate"),
        "{message}"
    );
    // Seconds of failing syncs and probes later, still one WARN line.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = old.log_text();
    let warns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("server-136"))
        .collect();
    assert_eq!(warns.len(), 1, "{warns:#?}");
    assert!(warns[0].contains("--peer-ca-file"), "{}", warns[0]);
    let ready = client.get("/readyz?verbose").await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    let text = ready.text();
    assert!(
        text.lines()
            .any(|l| l.contains("peer server-136") && l.contains("link=down")),
        "{text}"
    );
    // Discovery says it lacks a peer's part.
    let apis = client
        .request(
            "GET",
            "/apis",
            &[(
                "accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            )],
            None,
        )
        .await;
    assert!(
        apis.headers
            .get("warning")
            .is_some_and(|w| w.to_str().unwrap().contains("server-136")),
        "{:?}",
        apis.headers
    );
}

async fn deleted_lease(etcd: bool) {
    let p = plane(etcd).await;
    let lease = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/server-136";
    let r = p.client.request("DELETE", lease, &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Routing keeps the peer; its owner recreates the Lease within one
    // renew interval (2 s).
    let seen = observe(&p.client, MAPS, Duration::from_secs(5)).await;
    assert_no_404_and_bounded(&seen, &[200]);
    eventually(Duration::from_secs(4), "the Lease recreated", || async {
        p.client.get(lease).await.status == 200
    })
    .await;
    drop(p.old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_peers_identity_lease_gives_no_404_sqlite() {
    deleted_lease(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_peers_identity_lease_gives_no_404_etcd() {
    deleted_lease(true).await;
}

fn policy(name: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {"reinvocationPolicy": "Never", "mutations": [], "matchConstraints": {"resourceRules": []}},
    })
}

/// A proxied watch whose destination dies ends with an ERROR event (a 503
/// Status) and a clean end of the response; the client's re-list then
/// gets a 503, not a 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_watch_whose_peer_dies_ends_with_an_error_event() {
    let mut p = plane(false).await;
    let created = p.client.post_json(MAPS, &policy("before")).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let new = &mut p.new;
    let (status, lines, end) = p
        .client
        .watch_until_end(
            &format!("{MAPS}?watch=true"),
            Duration::from_secs(20),
            || async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                new.kill().await;
            },
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(end, Some(Ok(())), "the watch must end cleanly: {lines:#?}");
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "ERROR", "{lines:#?}");
    assert_eq!(last["object"]["kind"], "Status");
    assert_eq!(last["object"]["code"], 503);
    assert_eq!(lines[0]["type"], "ADDED");
    let relist = p.client.get(MAPS).await;
    assert_eq!(relist.status, 503, "{}", relist.text());
}

/// One client's 70 KB header on HTTP/1.1 is not relayed in a way that
/// resets anyone else: a proxied watch open on the same server-to-peer
/// connection keeps delivering events, and later requests succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_header_does_not_reset_other_users_streams() {
    let p = plane(false).await;
    let client = p.client.clone();
    let watcher = tokio::spawn(async move {
        client
            .watch_until_end(
                &format!("{MAPS}?watch=true&timeoutSeconds=6"),
                Duration::from_secs(15),
                || async {},
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let huge = "x".repeat(70 * 1024);
    let r = p
        .client
        .request("GET", MAPS, &[("x-huge", huge.as_str())], None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Near the 1 MiB every server accepts: too large to forward with the
    // identity headers, so the first hop answers 431 itself.
    let near_limit = "y".repeat(1000 * 1024);
    let r = p
        .client
        .request("GET", MAPS, &[("x-huge", near_limit.as_str())], None)
        .await;
    assert_eq!(r.status, 431, "{}", r.text());
    assert_eq!(r.json()["code"], 431);
    let created = p.client.post_json(MAPS, &policy("after-huge")).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let (status, lines, end) = watcher.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(end, Some(Ok(())), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "ADDED" && l["object"]["metadata"]["name"] == "after-huge"),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| l["type"] != "ERROR"), "{lines:#?}");
}
