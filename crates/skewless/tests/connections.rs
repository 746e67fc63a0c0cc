//! Hostile clients that hold connections or send bodies built to make a
//! parser's work explode: the server keeps answering everyone else, quickly,
//! and keeps its log short.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use skewless_testkit::{Identity, Pki, ServerProcess, Storage};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

/// Lets this test process hold many sockets.
fn raise_open_files() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

/// 1,000 idle TCP connections (no TLS handshake, and with a handshake but
/// no request) do not stop an admin's request, which is answered in under
/// a second, and the server's log stays under 100 lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_lock_anyone_out() {
    raise_open_files();
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let lines_before = server.log_text().lines().count();
    let addr = format!("127.0.0.1:{}", server.port);
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let client = server.client(&pki, Identity::Admin);
    let started = Instant::now();
    let r = client.get("/api/v1/namespaces/default").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The handshake timeout (10 s) closes them; answers stay quick meanwhile.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let started = Instant::now();
    assert_eq!(client.get("/readyz").await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(idle);
    let log = server.log_text();
    let added = log.lines().count() - lines_before;
    assert!(added < 100, "{added} log lines:\n{log}");
}

/// A 200 KB YAML body nesting 100,000 flow sequences is refused at once
/// with a 400 Status, and `/readyz` stays quick while such bodies arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_yaml_bomb_is_refused_at_once() {
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let client = server.client(&pki, Identity::Admin);
    let bomb = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  x: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for (method, path, content_type) in [
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/yaml",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/bomb?fieldManager=t",
            "application/apply-patch+yaml",
        ),
    ] {
        let started = Instant::now();
        let r = client
            .request(
                method,
                path,
                &[("content-type", content_type)],
                Some(bomb.clone().into_bytes()),
            )
            .await;
        // The guard is one linear pass (microseconds); the bound leaves
        // room for two busy cores.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["kind"], "Status");
        assert!(r.text().len() < 4096);
        let started = Instant::now();
        assert_eq!(client.get("/readyz").await.status, 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

/// `--max-requests-inflight`: a read beyond the seats answers 429 with
/// `Retry-After`, while `system:masters` is always answered. The seat is
/// held here by a proxied read waiting on a hung peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_inflight_seats_get_429() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let peer = skewless_testkit::start_peer(
        Path::new(BIN),
        &pki,
        &storage,
        "server-136",
        &["--emulated-version=1.36"],
    )
    .await;
    let server = skewless_testkit::start_peer(
        Path::new(BIN),
        &pki,
        &storage,
        "server-135",
        &[
            "--emulated-version=1.35",
            "--max-requests-inflight=1",
            "--peer-proxy-hop-timeout=3s",
        ],
    )
    .await;
    let user = server.client(&pki, Identity::Token);
    let maps = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
    skewless_testkit::eventually(Duration::from_secs(15), "MAPs proxied", || async {
        user.get(maps).await.status == 200
    })
    .await;
    peer.hang();
    // The peer's own discovery polls of this server also take the one
    // seat for a moment; once it is stopped, let any such poll finish
    // before the slow read takes the seat.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let slow = {
        let user = user.clone();
        tokio::spawn(async move { user.get(maps).await.status })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = user.get("/api/v1/namespaces/default/configmaps").await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.json()["reason"], "TooManyRequests");
    let admin = server.client(&pki, Identity::Admin);
    assert_eq!(
        admin
            .get("/api/v1/namespaces/default/configmaps")
            .await
            .status,
        200
    );
    assert_eq!(slow.await.unwrap(), 504);
    peer.resume();
    // The resumed peer's polls may take the seat for a moment again.
    skewless_testkit::eventually(Duration::from_secs(5), "a free seat again", || async {
        user.get("/api/v1/namespaces/default/configmaps")
            .await
            .status
            == 200
    })
    .await;
}
