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
    let peer =
        skewless_testkit::start_peer_at(Path::new(BIN), &pki, &storage, "server-136", "1.36", &[])
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

/// Connections that never prove who they are (TLS without a client
/// certificate, no request) hold at most nine tenths of
/// `--max-connections`: once that share is full, each new one closes the
/// idlest of them, and an admin (client certificate) or a token user is
/// still answered in under a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_anonymous_connections_leave_room_for_authenticated_clients() {
    use skewless_local::{Credentials, Protocol};
    let pki = Pki::generate();
    let server = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &["--max-connections=20"],
    )
    .await;
    let anonymous = Credentials::load(&pki.ca, None)
        .unwrap()
        .endpoint(&server.url, Protocol::Http1)
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..30 {
        // A connection may be chosen to make room before its own
        // handshake ends; the others stay open and idle.
        if let Ok(c) = anonymous.connect().await {
            idle.push(c);
        }
    }
    skewless_testkit::eventually(
        Duration::from_secs(5),
        "at most 18 idle anonymous connections open",
        || {
            let open = idle.iter().filter(|c| !c.is_closed()).count();
            async move { open <= 18 }
        },
    )
    .await;
    for identity in [Identity::Admin, Identity::Token] {
        let client = server.client(&pki, identity.clone());
        let started = Instant::now();
        let r = client.get("/api/v1/namespaces/default").await;
        assert_eq!(r.status, 200, "{identity:?}: {}", r.text());
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{identity:?}: {:?}",
            started.elapsed()
        );
    }
    // The newest anonymous connections are the ones still open.
    assert!(idle.last().is_some_and(|c| !c.is_closed()));
}

/// Four clients keep the largest accepted bodies that cost the parsers
/// real CPU in flight (3 MB YAML objects of many keys, created and
/// applied) while `/readyz` is probed: its p99 stays under 100 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_stays_quick_while_hostile_bodies_are_parsed() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let pki = Pki::generate();
    let server = ServerProcess::start(Path::new(BIN), &pki, &Storage::Sqlite, &[]).await;
    let mut yaml =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n");
    let mut i = 0u64;
    while yaml.len() < 3 * 1000 * 1000 {
        yaml.push_str(&format!("  key-{i:08}: \"value {i}\"\n"));
        i += 1;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut hostile = Vec::new();
    for n in 0..4 {
        let client = server.client(&pki, Identity::Admin);
        let body = yaml.replace("NAME", &format!("big-{n}")).into_bytes();
        let (stop, in_flight, answered) = (
            Arc::clone(&stop),
            Arc::clone(&in_flight),
            Arc::clone(&answered),
        );
        hostile.push(tokio::spawn(async move {
            let (method, path, content_type) = if n % 2 == 0 {
                (
                    "POST",
                    "/api/v1/namespaces/default/configmaps".to_owned(),
                    "application/yaml",
                )
            } else {
                (
                    "PATCH",
                    format!("/api/v1/namespaces/default/configmaps/big-{n}?fieldManager=t"),
                    "application/apply-patch+yaml",
                )
            };
            while !stop.load(Ordering::Acquire) {
                in_flight.fetch_add(1, Ordering::AcqRel);
                let r = client
                    .request(
                        method,
                        &path,
                        &[("content-type", content_type)],
                        Some(body.clone()),
                    )
                    .await;
                in_flight.fetch_sub(1, Ordering::AcqRel);
                assert!(r.status < 500, "{}", r.excerpt(500));
                answered.fetch_add(1, Ordering::AcqRel);
            }
        }));
    }
    // Probe for about 3 s once all four are sending, keeping only the
    // probes that began and ended with hostile bodies in flight.
    skewless_testkit::eventually(Duration::from_secs(10), "4 hostile requests", || {
        let n = in_flight.load(Ordering::Acquire);
        async move { n == 4 }
    })
    .await;
    let probe = server.client(&pki, Identity::Admin);
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline || latencies.len() < 50 {
        let busy_before = in_flight.load(Ordering::Acquire) > 0;
        let started = Instant::now();
        assert_eq!(probe.get("/readyz").await.status, 200);
        let took = started.elapsed();
        if busy_before && in_flight.load(Ordering::Acquire) > 0 {
            latencies.push(took);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Release);
    for h in hostile {
        h.await.unwrap();
    }
    assert!(
        answered.load(Ordering::Acquire) >= 4,
        "the hostile bodies were answered"
    );
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
    assert!(
        p99 < Duration::from_millis(100),
        "/readyz p99 {p99:?} over {} probes: {latencies:?}",
        latencies.len()
    );
}
