//! Network partitions between a 1.35 server and the only 1.36 server,
//! with the 1.36 server in a network namespace of its own (a veth pair to
//! the test's namespace, a default route through it). Needs root and
//! iproute2, as CI has.
//!
//! The 1.36 server binds `0.0.0.0` with no advertise flags, so what it
//! advertises to peers is its default route's interface address (never
//! loopback); the 1.35 server binds `0.0.0.0` with `--advertise-address`.
//! While the link is cut — both ways, or only the 1.36 server's replies —
//! a client of the 1.35 server gets 503/504 within the hop timeout and
//! never 404; a proxied watch across the cut ends with an ERROR event
//! instead of hanging; a healed link carries traffic again within 2 s.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use skewless_testkit::{Client, Identity, Pki, ServerProcess, Storage, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const MAPS: &str = "/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies";
const TIMING: [&str; 4] = [
    "--peer-endpoint-ttl=3s",
    "--peer-proxy-hop-timeout=1s",
    "--identity-lease-renew-interval=2s",
    "--peer-discovery-resync=500ms",
];

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace joined to the test's namespace by a veth pair:
/// `host` (here) and `inner` (there) on a /30, the namespace's default
/// route through `host`. Removed on drop.
struct Namespace {
    name: String,
    host_if: String,
    host: String,
    inner: String,
    wrapper: PathBuf,
    _dir: tempfile::TempDir,
}

impl Namespace {
    fn new(slot: u32) -> Self {
        let id = std::process::id() % 10_000;
        let name = format!("skw{id}-{slot}");
        let host_if = format!("skh{id}x{slot}");
        let inner_if = format!("skn{id}x{slot}");
        // 10.<a>.<b>.0/30, distinct per process and slot.
        let a = 100 + (id % 100);
        let b = (id / 100) % 60 * 4 + slot;
        let host = format!("10.{a}.{b}.1");
        let inner = format!("10.{a}.{b}.2");
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = Command::new("ip").args(["link", "del", &host_if]).output();
        ip(&["netns", "add", &name]);
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &inner_if,
        ]);
        ip(&["link", "set", &inner_if, "netns", &name]);
        ip(&["addr", "add", &format!("{host}/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        let exec = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &name, "ip"];
            all.extend(args);
            ip(&all);
        };
        exec(&["link", "set", "lo", "up"]);
        exec(&["addr", "add", &format!("{inner}/30"), "dev", &inner_if]);
        exec(&["link", "set", &inner_if, "up"]);
        exec(&["route", "add", "default", "via", &host]);
        let dir = tempfile::tempdir().unwrap();
        let wrapper = dir.path().join("skewless-in-netns");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\nexec ip netns exec {name} {BIN} \"$@\"\n"),
        )
        .unwrap();
        Command::new("chmod")
            .args(["+x", &wrapper.display().to_string()])
            .status()
            .unwrap();
        Self {
            name,
            host_if,
            host,
            inner,
            wrapper,
            _dir: dir,
        }
    }

    /// Cuts the link both ways.
    fn cut(&self) {
        ip(&["link", "set", &self.host_if, "down"]);
    }

    /// Heals [`cut`](Self::cut).
    fn heal(&self) {
        ip(&["link", "set", &self.host_if, "up"]);
    }

    /// Drops what the namespace sends to the test's side (replies
    /// included): a one-way cut.
    fn cut_replies(&self) {
        ip(&[
            "netns",
            "exec",
            &self.name,
            "ip",
            "route",
            "add",
            "blackhole",
            &format!("{}/32", self.host),
        ]);
    }

    /// Heals [`cut_replies`](Self::cut_replies).
    fn heal_replies(&self) {
        ip(&[
            "netns",
            "exec",
            &self.name,
            "ip",
            "route",
            "del",
            "blackhole",
            &format!("{}/32", self.host),
        ]);
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A client of a server bound to `0.0.0.0`, through loopback.
fn local_client(server: &ServerProcess, pki: &Pki) -> Client {
    Client::new(
        &format!("https://127.0.0.1:{}", server.port),
        pki,
        Identity::Admin,
    )
}

struct Setup {
    ns: Namespace,
    pki: Pki,
    old: ServerProcess,
    new: ServerProcess,
    _dir: tempfile::TempDir,
}

async fn setup(slot: u32) -> Setup {
    let ns = Namespace::new(slot);
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    let mut new_args = pki.peer_args("server-136");
    new_args.extend(TIMING.iter().map(|s| (*s).to_owned()));
    new_args.push("--emulated-version=1.36".into());
    new_args.push("--bind-address=0.0.0.0".into());
    let new_args: Vec<&str> = new_args.iter().map(String::as_str).collect();
    let new = ServerProcess::spawn_with_log(
        &ns.wrapper,
        &pki,
        &storage,
        &new_args,
        "info,skewless_server=debug",
    )
    .await;
    let mut old_args = pki.peer_args("server-135");
    old_args.extend(TIMING.iter().map(|s| (*s).to_owned()));
    old_args.push("--emulated-version=1.35".into());
    old_args.push("--bind-address=0.0.0.0".into());
    old_args.push(format!("--advertise-address={}", ns.host));
    let old_args: Vec<&str> = old_args.iter().map(String::as_str).collect();
    let old = ServerProcess::start(Path::new(BIN), &pki, &storage, &old_args).await;
    let client = local_client(&old, &pki);
    eventually(Duration::from_secs(20), "1.35 to proxy MAPs", || async {
        client.get(MAPS).await.status == 200
    })
    .await;
    Setup {
        ns,
        pki,
        old,
        new,
        _dir: dir,
    }
}

/// GETs MAPs through the 1.35 server for `window`: every answer 503 or
/// 504 (never 404) within the hop timeout's bound.
async fn expect_unavailable(s: &Setup, window: Duration) {
    let client = local_client(&s.old, &s.pki);
    let start = Instant::now();
    while start.elapsed() < window {
        let sent = Instant::now();
        let r = client.get(MAPS).await;
        assert!(
            r.status == 503 || r.status == 504,
            "{} at {:?}: {}",
            r.status,
            start.elapsed(),
            r.text()
        );
        assert!(
            sent.elapsed() < Duration::from_secs(4),
            "{:?}",
            sent.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn expect_back_within(s: &Setup, bound: Duration) {
    let client = local_client(&s.old, &s.pki);
    let healed = Instant::now();
    eventually(Duration::from_secs(10), "MAPs after healing", || async {
        client.get(MAPS).await.status == 200
    })
    .await;
    assert!(healed.elapsed() <= bound, "took {:?}", healed.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_give_503_never_404_and_heal_within_2s() {
    let s = setup(1).await;
    // The 1.36 server advertised its default route's address.
    let leases = local_client(&s.old, &s.pki)
        .get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/server-136")
        .await;
    let advertised =
        leases.json()["metadata"]["annotations"]["kubernetes.io/peer-advertise-address"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    assert!(
        advertised.starts_with(&format!("{}:", s.ns.inner)),
        "{advertised} (expected {})",
        s.ns.inner
    );

    // The 1.35 server, bound to all interfaces, advertised --advertise-address.
    let lease = local_client(&s.old, &s.pki)
        .get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/server-135")
        .await;
    let advertised =
        lease.json()["metadata"]["annotations"]["kubernetes.io/peer-advertise-address"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    assert_eq!(advertised, format!("{}:{}", s.ns.host, s.old.port));

    // Symmetric cut.
    s.ns.cut();
    expect_unavailable(&s, Duration::from_secs(4)).await;
    s.ns.heal();
    expect_back_within(&s, Duration::from_secs(2)).await;

    // One way: the 1.36 server's replies are dropped.
    s.ns.cut_replies();
    expect_unavailable(&s, Duration::from_secs(4)).await;
    s.ns.heal_replies();
    expect_back_within(&s, Duration::from_secs(2)).await;
    drop(s.new);
}

/// A proxied watch across a link that is cut ends (with an ERROR event and
/// a clean end of the response) instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_watch_across_a_cut_ends_instead_of_hanging() {
    let s = setup(2).await;
    let client = local_client(&s.old, &s.pki);
    let ns = &s.ns;
    let (status, lines, end) = client
        .watch_until_end(
            &format!("{MAPS}?watch=true"),
            Duration::from_secs(30),
            || async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                ns.cut();
            },
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(end, Some(Ok(())), "the watch hung or broke: {lines:#?}");
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "ERROR", "{lines:#?}");
    assert_eq!(last["object"]["code"], 503, "{lines:#?}");
    s.ns.heal();
}
