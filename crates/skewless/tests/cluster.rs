//! `skewless cluster` end to end, with real processes: `up --detach` on a
//! fresh state directory (ports from the system), kubectl through every
//! server's context, `status`, `upgrade --to 1.36` under the probe (no
//! false 404, no unexpected 5xx, no server stalling its shutdown), `down`
//! (no process and no identity lease left) — on SQLite and on etcd — and
//! the same upgrade with the Mixed Version Proxy off, where the probe must
//! report false 404s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use skewless_server::identity::{IDENTITY_LABEL, LEASE_PREFIX};
use skewless_store::{ListOptions, Store};
use skewless_testkit::{etcd_endpoints, kubectl_path};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

/// A cluster in a temporary state directory; stopped (SIGKILL if need be)
/// when dropped, so a failing test leaves no server behind.
struct Cluster {
    dir: tempfile::TempDir,
    kube_home: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            kube_home: tempfile::tempdir().unwrap(),
        }
    }

    fn state_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `skewless cluster <args> --state-dir <dir>`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("cluster")
            .args(args)
            .arg("--state-dir")
            .arg(self.state_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "skewless cluster {} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.state_dir().join("cluster.json")).unwrap())
            .unwrap()
    }

    fn pids(&self) -> Vec<u32> {
        self.state()["servers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["pid"].as_u64().map(|p| p as u32))
            .collect()
    }

    /// kubectl with the cluster's kubeconfig, in `context`.
    fn kubectl(&self, context: &str, args: &[&str]) -> String {
        let out = self.kubectl_output(context, args);
        assert!(
            out.status.success(),
            "kubectl --context {context} {} failed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// kubectl's whole output, whether it succeeded or not.
    fn kubectl_output(&self, context: &str, args: &[&str]) -> std::process::Output {
        Command::new(kubectl_path())
            .env("KUBECONFIG", self.state_dir().join("kubeconfig"))
            .env("KUBECACHEDIR", self.kube_home.path().join("cache"))
            .env("HOME", self.kube_home.path())
            .arg("--context")
            .arg(context)
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.state_dir().join("cluster.json").exists() {
            let _ = self.run(&["down", "--timeout", "10s"]);
        }
    }
}

/// Whether a process runs. A zombie does not: an orphaned server is
/// reaped by whatever adopted it, which need not be prompt.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next())
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// Identity leases (label `apiserver.kubernetes.io/identity`) in a store.
async fn identity_leases(store: &dyn Store) -> Vec<String> {
    store
        .list(LEASE_PREFIX, ListOptions::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|kv| {
            serde_json::from_slice::<Value>(&kv.value)
                .ok()
                .is_some_and(|l| !l["metadata"]["labels"][IDENTITY_LABEL].is_null())
        })
        .map(|kv| kv.key)
        .collect()
}

/// Whether `status`'s peer-link matrix shows skewless-1's link to
/// skewless-3 suspect or down.
fn link_not_up(table: &str) -> bool {
    table.lines().any(|l| {
        l.contains("skewless-1")
            && l.contains("skewless-3")
            && (l.contains("SUSPECT") || l.contains("DOWN"))
    })
}

/// `up --detach` → kubectl through each context → `status` →
/// `upgrade --to 1.36` → `down`. Returns the cluster, stopped.
async fn rehearse(cluster: &Cluster, extra_up: &[&str]) {
    let mut up = vec!["up", "--detach", "--base-port", "0"];
    up.extend_from_slice(extra_up);
    let printed = cluster.ok(&up);
    assert!(
        printed.contains("skewless cluster is up: 3 servers"),
        "{printed}"
    );
    assert!(
        printed.contains("kubectl --context skewless-1 get mutatingadmissionpolicies"),
        "{printed}"
    );
    let pids = cluster.pids();
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|p| alive(*p)));

    // A second `up` while this one runs refuses, saying why.
    let again = cluster.run(&["up", "--detach", "--base-port", "0"]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already running"), "{err}");

    // Every context answers, and every server lists and serves what only
    // the 1.36 server has.
    for (i, version) in ["1.35", "1.35", "1.36"].iter().enumerate() {
        let ctx = format!("skewless-{}", i + 1);
        let v = cluster.kubectl(&ctx, &["version", "-o", "json"]);
        let v: Value = serde_json::from_str(&v).unwrap();
        assert_eq!(
            v["serverVersion"]["gitVersion"],
            format!("v{version}.0"),
            "{ctx}"
        );
        let resources = cluster.kubectl(
            &ctx,
            &["api-resources", "--api-group=admissionregistration.k8s.io"],
        );
        assert!(
            resources.contains("mutatingadmissionpolicies"),
            "{ctx}: {resources}"
        );
        cluster.kubectl(&ctx, &["get", "mutatingadmissionpolicies"]);
    }
    cluster.kubectl(
        "skewless-1",
        &["create", "configmap", "hello", "--from-literal=a=b"],
    );
    // The ordinary user edits its namespace and is refused elsewhere.
    assert!(printed.contains("kubectl --context dev get secrets -n kube-system"));
    cluster.kubectl(
        "dev",
        &["create", "configmap", "mine", "--from-literal=a=b"],
    );
    cluster.kubectl("dev", &["get", "configmap", "mine"]);
    let denied = cluster.kubectl_output("dev", &["get", "secrets", "-n", "kube-system"]);
    assert!(!denied.status.success());
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(
        err.contains("Forbidden") && err.contains("User \"dev\" cannot list resource \"secrets\""),
        "{err}"
    );
    let got = cluster.kubectl(
        "skewless-3",
        &["get", "configmap", "hello", "-o", "jsonpath={.data.a}"],
    );
    assert_eq!(got, "b");
    assert!(
        cluster
            .kubectl("skewless", &["get", "namespaces"])
            .contains("default")
    );

    let status: Value = serde_json::from_str(&cluster.ok(&["status", "-o", "json"])).unwrap();
    assert_eq!(status["mixed"], true, "{status:#}");
    let servers = status["servers"].as_array().unwrap();
    assert!(servers.iter().all(|s| s["ready"] == true), "{status:#}");
    let only = servers[2]["only_here"].to_string();
    assert!(only.contains("mutatingadmissionpolicies"), "{status:#}");
    // The kubectl requests above reached skewless-3 through the others.
    assert!(
        servers[0]["rerouted_out"].as_u64().unwrap() >= 1,
        "{status:#}"
    );
    assert!(
        servers[2]["rerouted_in"].as_u64().unwrap() >= 2,
        "{status:#}"
    );
    let table = cluster.ok(&["status"]);
    assert!(table.contains("control plane: MIXED"), "{table}");
    assert!(table.contains("SERVED ONLY HERE"), "{table}");
    // The peer-link matrix: every server reaches both others.
    assert!(table.contains("peer links:"), "{table}");
    for s in servers {
        let links = s["peer_links"].as_array().unwrap();
        assert_eq!(links.len(), 2, "{status:#}");
        for l in links {
            assert_eq!(l["link"], "up", "{status:#}");
            assert_eq!(l["discovery"], "known", "{status:#}");
        }
    }

    let report = cluster.run(&[
        "upgrade",
        "--to",
        "1.36",
        "--rate",
        "30",
        "--phase-duration",
        "2s",
        "--settle",
        "1s",
        "--report",
        "json",
    ]);
    let text = String::from_utf8_lossy(&report.stdout);
    let r: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&report.stderr)
        )
    });
    assert!(
        report.status.success(),
        "upgrade failed:\n{r:#}\n{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["total"]["false_404"], 0, "{r:#}");
    assert_eq!(r["total"]["unexpected_5xx"], 0, "{r:#}");
    assert_eq!(r["total"]["errors"], 0, "{r:#}");
    let phases: Vec<&str> = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "before",
            "replace skewless-1 1.35->1.36",
            "replace skewless-2 1.35->1.36",
            "after"
        ]
    );
    for p in r["phases"].as_array().unwrap() {
        assert!(p["requests"].as_u64().unwrap() > 0, "{p:#}");
    }
    // Traffic went through every server, some of it rerouted before the
    // upgrade (1.35 servers proxy mutatingadmissionpolicies), none after.
    for s in ["skewless-1", "skewless-2", "skewless-3"] {
        assert!(r["total"]["by_server"][s].as_u64().unwrap() > 0, "{r:#}");
    }
    assert!(r["phases"][0]["rerouted"].as_u64().unwrap() > 0, "{r:#}");
    assert_eq!(r["phases"][3]["rerouted"], 0, "{r:#}");
    assert!(r["total"]["watch_events"].as_u64().unwrap() > 0, "{r:#}");
    // The probe keeps watches open through each stopping server (some of
    // them relayed to a peer): none may hold the shutdown for the grace period.
    let stops = r["total"]["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 2, "{r:#}");
    for s in stops {
        assert_eq!(s["killed"], false, "{s}");
        assert!(
            s["seconds"].as_f64().unwrap() < 10.0,
            "a server took long to stop: {s}"
        );
    }

    let status: Value = serde_json::from_str(&cluster.ok(&["status", "-o", "json"])).unwrap();
    assert_eq!(status["mixed"], false, "{status:#}");
    assert!(
        cluster
            .ok(&["logs", "1"])
            .contains("--emulated-version=1.36")
    );

    // A server that hangs: the others' links to it stop being up, `status`
    // shows them and exits non-zero.
    let third = status["servers"][2]["pid"].as_u64().unwrap() as u32;
    let _ = Command::new("kill")
        .args(["-STOP", &third.to_string()])
        .status();
    let mut table = String::new();
    for _ in 0..50 {
        let out = cluster.run(&["status"]);
        table = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() && link_not_up(&table) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .args(["-CONT", &third.to_string()])
        .status();
    assert!(link_not_up(&table), "{table}");

    let pids = cluster.pids();
    cluster.ok(&["down"]);
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "a server survived `down`: {pids:?}"
    );
    assert!(cluster.pids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_kubectl_status_upgrade_down_on_sqlite() {
    let cluster = Cluster::new();
    rehearse(&cluster, &[]).await;
    let store = skewless_store::sqlite::SqliteStore::open(
        skewless_store::sqlite::SqliteOptions::new(cluster.state_dir().join("data/state.db")),
    )
    .await
    .unwrap();
    assert_eq!(
        identity_leases(&store).await,
        Vec::<String>::new(),
        "{}",
        std::fs::read_to_string(cluster.state_dir().join("logs/skewless-3.log"))
            .unwrap_or_default()
    );

    // Up again on the same directory: certificates and data are reused.
    let ca = std::fs::read(cluster.state_dir().join("pki/ca.crt")).unwrap();
    let out = cluster.run(&["up", "--detach"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("reusing certificates"));
    assert_eq!(
        std::fs::read(cluster.state_dir().join("pki/ca.crt")).unwrap(),
        ca
    );
    // The previous run's versions (all upgraded) are kept.
    let status: Value = serde_json::from_str(&cluster.ok(&["status", "-o", "json"])).unwrap();
    assert!(
        status["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["version"] == "1.36")
    );
    assert_eq!(
        cluster.kubectl(
            "skewless-2",
            &["get", "configmap", "hello", "-o", "jsonpath={.data.a}"]
        ),
        "b"
    );
    cluster.ok(&["down"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_kubectl_status_upgrade_down_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = format!("/skewless-cluster-test-{}", std::process::id());
    let cluster = Cluster::new();
    let servers = endpoints.join(",");
    rehearse(
        &cluster,
        &["--etcd-servers", &servers, "--etcd-prefix", &prefix],
    )
    .await;
    let mut opts = skewless_store::etcd::EtcdOptions::new(endpoints.clone());
    opts.prefix = prefix;
    let store = skewless_store::etcd::EtcdStore::connect(opts)
        .await
        .unwrap();
    assert_eq!(identity_leases(&store).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_proxy_the_probe_reports_false_404s() {
    let cluster = Cluster::new();
    cluster.ok(&[
        "up",
        "--detach",
        "--base-port",
        "0",
        "--feature-gates=UnknownVersionInteroperabilityProxy=false",
    ]);
    let table = cluster.ok(&["status"]);
    assert!(table.contains("Mixed Version Proxy is OFF"), "{table}");
    let out = cluster.run(&[
        "upgrade",
        "--to",
        "1.36",
        "--rate",
        "30",
        "--phase-duration",
        "2s",
        "--settle",
        "1s",
        "--report",
        "json",
    ]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!out.status.success(), "the upgrade should fail: {r:#}");
    assert_eq!(r["passed"], false);
    assert_eq!(r["proxy_enabled"], false);
    // Before the upgrade the 1.35 servers answer 404 for what the 1.36
    // server serves: exactly what the proxy exists to prevent.
    assert!(r["phases"][0]["false_404"].as_u64().unwrap() > 0, "{r:#}");
    let incident = r["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["verdict"] == "false_404")
        .unwrap_or_else(|| panic!("no false 404 among the incidents: {r:#}"));
    assert_eq!(incident["status"], 404, "{incident}");
    assert!(
        incident["path"]
            .as_str()
            .unwrap()
            .contains("mutatingadmissionpolic"),
        "{incident}"
    );
    // Once every server is at 1.36 nothing is missing anywhere.
    assert_eq!(r["phases"][3]["false_404"], 0, "{r:#}");
    let pids = cluster.pids();
    cluster.ok(&["down"]);
    assert!(pids.iter().all(|p| !alive(*p)));
}

/// Harsher rehearsals: servers hung (SIGSTOP) then killed, and killed
/// outright, instead of stopped cleanly. Clients never see a false 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_that_hang_or_kill_servers_show_no_false_404() {
    let cluster = Cluster::new();
    cluster.ok(&["up", "--detach", "--base-port", "0"]);
    for (to, how) in [("1.36", ["--hang", "3s"]), ("1.35", ["--kill", ""])] {
        let mut args = vec![
            "upgrade",
            "--to",
            to,
            "--rate",
            "30",
            "--phase-duration",
            "2s",
            "--settle",
            "1s",
            "--report",
            "json",
        ];
        args.extend(how.iter().filter(|a| !a.is_empty()));
        let out = cluster.run(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        let r: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "report is not JSON ({e}):\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(r["total"]["false_404"], 0, "{r:#}");
        assert_eq!(r["total"]["unexpected_5xx"], 0, "{r:#}");
        assert!(
            out.status.success(),
            "{how:?}: {r:#}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stops = r["total"]["stops"].as_array().unwrap();
        assert!(!stops.is_empty(), "{r:#}");
        assert!(stops.iter().all(|s| s["killed"] == true), "{r:#}");
    }
    cluster.ok(&["down"]);
}

/// `up --with-metrics` (issue 18): `skewless metrics-server` runs beside a
/// mixed 1.35/1.36 pair, registered as APIService v1beta1.metrics.k8s.io,
/// so `kubectl top pod` and `kubectl top node` work through every server;
/// it sees the user the API server authenticated; `down` stops it and a
/// second `up` (the choice remembered) brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_kubectl_top_works_through_every_server() {
    let cluster = Cluster::new();
    cluster.ok(&[
        "up",
        "--detach",
        "--base-port",
        "0",
        "--versions",
        "1.35,1.36",
        "--with-metrics",
    ]);
    let metrics_pid = |c: &Cluster| c.state()["metrics"]["pid"].as_u64().map(|p| p as u32);
    let pid = metrics_pid(&cluster).expect("the metrics server is recorded");
    assert!(alive(pid));
    cluster.kubectl(
        "skewless-1",
        &["run", "web", "--image=busybox", "--restart=Never"],
    );
    let node = cluster.state_dir().join("node.json");
    std::fs::write(
        &node,
        r#"{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}}"#,
    )
    .unwrap();
    cluster.kubectl("skewless-2", &["apply", "-f", node.to_str().unwrap()]);
    let top = |context: &str, args: &[&str], want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let out = cluster.kubectl_output(context, args);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() && text.contains(want) && text.contains("CPU") {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "kubectl --context {context} {}: {text}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    };
    for context in ["skewless-1", "skewless-2"] {
        top(context, &["top", "pod", "-n", "default"], "web");
        top(context, &["top", "node"], "node-a");
    }
    let log = std::fs::read_to_string(cluster.state_dir().join("logs/metrics-server.log"))
        .unwrap_or_default();
    assert!(log.contains("user=admin"), "{log}");

    cluster.ok(&["down"]);
    assert!(!alive(pid), "the metrics server survived `down`");
    assert_eq!(metrics_pid(&cluster), None);

    cluster.ok(&["up", "--detach"]);
    let again = metrics_pid(&cluster).expect("`up` again remembers --with-metrics");
    assert!(alive(again));
    top("skewless-2", &["top", "pod", "-n", "default"], "web");
    cluster.ok(&["down"]);
    assert!(!alive(again));
}
