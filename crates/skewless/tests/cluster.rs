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

/// `up --detach` on free ports (`--base-port 0`) with `extra` flags; what
/// it printed.
fn up_detached(cluster: &Cluster, extra: &[&str]) -> String {
    let mut up = vec!["up", "--detach", "--base-port", "0"];
    up.extend_from_slice(extra);
    cluster.ok(&up)
}

/// `up --detach` → kubectl through each context → `status` →
/// `upgrade --to 1.36` → `down`. Returns the cluster, stopped.
async fn rehearse(cluster: &Cluster, extra_up: &[&str]) {
    let printed = up_detached(cluster, extra_up);
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

    let r = upgrade_ok(cluster, &["--to", "1.36"]);
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["total"]["false_404"], 0, "{r:#}");
    assert_eq!(r["total"]["unexpected_5xx"], 0, "{r:#}");
    assert_eq!(r["total"]["errors"], 0, "{r:#}");
    assert_eq!(
        phase_names(&r),
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
    up_detached(
        &cluster,
        &["--feature-gates=UnknownVersionInteroperabilityProxy=false"],
    );
    let table = cluster.ok(&["status"]);
    assert!(table.contains("Mixed Version Proxy is OFF"), "{table}");
    let (r, out) = upgrade_json(&cluster, &["--to", "1.36"]);
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
    up_detached(&cluster, &[]);
    for (to, how) in [("1.36", ["--hang", "3s"]), ("1.35", ["--kill", ""])] {
        let mut args = vec!["--to", to];
        args.extend(how.iter().filter(|a| !a.is_empty()));
        let (r, out) = upgrade_json(&cluster, &args);
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

/// Every supported release, oldest first (two today; more as catalogs
/// land, and every test below covers them without edits).
fn supported() -> Vec<String> {
    skewless_apimachinery::catalog::EmulatedVersion::supported()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `up --detach` with every one of 3 servers at `version`, plus `extra`.
fn up_all_at(cluster: &Cluster, version: &str, extra: &[&str]) {
    let mut flags = vec!["--servers", "3", "--versions", version];
    flags.extend_from_slice(extra);
    up_detached(cluster, &flags);
}

/// `upgrade <args> --report json` at a test's pace: the report and
/// whether the command succeeded (stderr shown when it is not JSON).
fn upgrade_json(cluster: &Cluster, args: &[&str]) -> (Value, Output) {
    let mut all = vec![
        "upgrade", "--rate", "30", "--settle", "1s", "--report", "json",
    ];
    if !args.contains(&"--phase-duration") {
        all.extend(["--phase-duration", "2s"]);
    }
    all.extend_from_slice(args);
    let out = cluster.run(&all);
    let text = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (r, out)
}

/// [`upgrade_json`] that must succeed: the report.
fn upgrade_ok(cluster: &Cluster, args: &[&str]) -> Value {
    let (r, out) = upgrade_json(cluster, args);
    assert!(
        out.status.success(),
        "upgrade {} failed:\n{r:#}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    r
}

fn phase_names(r: &Value) -> Vec<String> {
    r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The phases of a rolling change of 3 servers through `path` (versions
/// after the first), each step replacing skewless-1..3 in order.
fn rolling_phases(path: &[String], last: &str) -> Vec<String> {
    let mut want = vec!["before".to_owned()];
    for pair in path.windows(2) {
        for s in 1..=3 {
            want.push(format!("replace skewless-{s} {}->{}", pair[0], pair[1]));
        }
    }
    want.push(last.to_owned());
    want
}

fn server_versions(cluster: &Cluster) -> Vec<String> {
    let status: Value = serde_json::from_str(&cluster.ok(&["status", "-o", "json"])).unwrap();
    status["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["version"].as_str().unwrap().to_owned())
        .collect()
}

/// A rolling change across every supported release, one minor at a time,
/// with no false 404 and no unexpected 5xx; `rollback` goes newest to
/// oldest instead. Returns the report.
fn multi_step(cluster: &Cluster, rollback: bool) -> Value {
    let mut path = supported();
    if rollback {
        path.reverse();
    }
    let (from, to) = (path[0].clone(), path[path.len() - 1].clone());
    let started = std::time::Instant::now();
    let r = upgrade_ok(cluster, &["--to", &to]);
    let took = started.elapsed();
    assert_eq!(r["total"]["false_404"], 0, "{r:#}");
    assert_eq!(r["total"]["unexpected_5xx"], 0, "{r:#}");
    assert_eq!(r["total"]["errors"], 0, "{r:#}");
    assert_eq!(phase_names(&r), rolling_phases(&path, "after"), "{r:#}");
    for p in &r["phases"].as_array().unwrap()[1..path.len() * 3 - 2] {
        let name = p["name"].as_str().unwrap();
        let step = p["step"].as_str().unwrap();
        assert!(name.ends_with(step), "{name} is not in step {step}");
        assert!(p["requests"].as_u64().unwrap() > 0, "{p:#}");
    }
    assert!(server_versions(cluster).iter().all(|v| *v == to));
    if rollback {
        // What only newer releases serve answers 404 once no live server
        // serves it, and only then (no false 404 above).
        let after = &r["phases"].as_array().unwrap()[path.len() * 3 - 2];
        assert_eq!(after["name"], "after");
        assert!(after["expected_404"].as_u64().unwrap() > 0, "{r:#}");
    }
    eprintln!(
        "{from} -> {to}: {} steps of 3 servers in {:.0}s",
        path.len() - 1,
        took.as_secs_f64()
    );
    r
}

/// `upgrade --to <newest>` from a cluster all at the oldest release goes
/// one minor at a time, each step a rolling replacement of all 3 servers,
/// under the probe with no wrong answer; servers two minors apart are
/// refused naming the skew rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_step_upgrade_on_sqlite() {
    let all = supported();
    if all.len() >= 3 {
        let cluster = Cluster::new();
        let versions = format!("{},{},{}", all[0], all[1], all[2]);
        let out = cluster.run(&[
            "up",
            "--detach",
            "--base-port",
            "0",
            "--versions",
            &versions,
        ]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("version skew policy"), "{err}");
    }
    let cluster = Cluster::new();
    up_all_at(&cluster, &all[0], &[]);
    multi_step(&cluster, false);
    cluster.ok(&["down"]);
}

/// The same on etcd, and back: an upgrade from the oldest release to the
/// newest, then a rollback to the oldest, one minor at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_step_upgrade_and_rollback_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = skewless_testkit::etcd_prefix("cluster-steps");
    let cluster = Cluster::new();
    let servers = endpoints.join(",");
    up_all_at(
        &cluster,
        &supported()[0],
        &["--etcd-servers", &servers, "--etcd-prefix", &prefix],
    );
    multi_step(&cluster, false);
    multi_step(&cluster, true);
    cluster.ok(&["down"]);
}

/// `--canary 1` replaces one server and holds: the command succeeds, the
/// state records the hold, `status` shows the mixed cluster and the hold,
/// another upgrade is refused, and `--abort` rolls the canary back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_holds_and_aborts() {
    let all = supported();
    let (old, new) = (all[0].clone(), all[1].clone());
    let cluster = Cluster::new();
    up_all_at(&cluster, &old, &[]);
    let r = upgrade_ok(&cluster, &["--to", &all[all.len() - 1], "--canary", "1"]);
    assert_eq!(
        phase_names(&r),
        [
            "before".to_owned(),
            format!("replace skewless-1 {old}->{new}"),
            "canary: 1 of 3 held".to_owned()
        ]
    );
    assert_eq!(r["total"]["false_404"], 0, "{r:#}");
    assert_eq!(r["total"]["unexpected_5xx"], 0, "{r:#}");
    let held = &cluster.state()["upgrade"];
    assert_eq!(held["to"], all[all.len() - 1].as_str(), "{held}");
    assert_eq!(held["canaries"][0]["id"], "skewless-1", "{held}");
    assert_eq!(held["canaries"][0]["version"], old.as_str(), "{held}");
    assert_eq!(
        server_versions(&cluster),
        [new.clone(), old.clone(), old.clone()]
    );

    let status: Value = serde_json::from_str(&cluster.ok(&["status", "-o", "json"])).unwrap();
    assert_eq!(status["mixed"], true, "{status:#}");
    assert_eq!(status["upgrade"]["canaries"][0]["id"], "skewless-1");
    // The probe's traffic through the old servers reached the canary for
    // what only it serves.
    let shares: Vec<f64> = status["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["proxied_share"].as_f64().unwrap_or(0.0))
        .collect();
    assert!(shares[1] > 0.0 || shares[2] > 0.0, "{status:#}");
    let table = cluster.ok(&["status"]);
    assert!(table.contains("HELD"), "{table}");
    assert!(table.contains("PROXIED"), "{table}");

    let again = cluster.run(&["upgrade", "--to", &new]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("is held") && err.contains("--abort"), "{err}");

    let r = upgrade_ok(&cluster, &["--abort"]);
    assert_eq!(
        phase_names(&r),
        [
            "before".to_owned(),
            format!("abort: replace skewless-1 {new}->{old}"),
            "after".to_owned()
        ]
    );
    assert_eq!(r["total"]["false_404"], 0, "{r:#}");
    assert!(cluster.state().get("upgrade").is_none());
    assert_eq!(server_versions(&cluster), [old.clone(), old.clone(), old]);
    let abort_again = cluster.run(&["upgrade", "--abort"]);
    assert!(!abort_again.status.success());
    cluster.ok(&["down"]);
}

/// The headless browser Debian ships (installed by scripts/test.sh).
fn chromium() -> String {
    for name in ["chromium-headless-shell", "chromium"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return name.to_owned();
        }
    }
    panic!("no chromium-headless-shell or chromium on PATH (scripts/test.sh installs it)");
}

/// `--run` runs the user's command through the upgrade, round robin over
/// the live servers: a command that fails on any server not at the oldest
/// release fails only where and when such a server answers — never before
/// the first replacement, only through the canary while the upgrade is
/// held — with the server's log lines. `--continue` finishes the upgrade,
/// and its HTML report renders its charts in a headless browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_failures_land_in_their_phase_and_the_html_report_renders() {
    let all = supported();
    let (old, new) = (all[0].clone(), all[1].clone());
    let cluster = Cluster::new();
    up_all_at(&cluster, &old, &[]);
    let kubectl = kubectl_path();
    let cmd = format!(
        "{} get --raw /version | grep -Eq '\"gitVersion\": ?\"v{old}\\.0\"' || {{ echo \"$SKEWLESS_SERVER is not at {old}\" >&2; exit 3; }}",
        kubectl.display()
    );
    let (r, out) = upgrade_json(
        &cluster,
        &[
            "--to",
            &all[all.len() - 1],
            "--canary",
            "1",
            "--run",
            &cmd,
            "--phase-duration",
            "4s",
        ],
    );
    // The probe saw nothing wrong; the command did, so the rehearsal fails.
    assert!(!out.status.success(), "{r:#}");
    assert_eq!(r["total"]["false_404"], 0, "{r:#}");
    assert_eq!(r["total"]["unexpected_5xx"], 0, "{r:#}");
    let w = &r["workload"];
    let phases = r["phases"].as_array().unwrap();
    assert_eq!(phases[0]["name"], "before");
    assert!(phases[0]["workload_runs"].as_u64().unwrap() > 0, "{w:#}");
    assert_eq!(phases[0]["workload_failures"], 0, "{w:#}");
    let hold = &phases[2];
    assert_eq!(hold["name"], "canary: 1 of 3 held");
    assert!(hold["workload_failures"].as_u64().unwrap() > 0, "{w:#}");
    assert!(
        hold["workload_failures"].as_u64().unwrap() < hold["workload_runs"].as_u64().unwrap(),
        "{w:#}"
    );
    let failures = w["failures"].as_array().unwrap();
    assert!(!failures.is_empty(), "{w:#}");
    for f in failures {
        assert_eq!(f["server"], "skewless-1", "{f:#}");
        assert_ne!(f["phase"], "before", "{f:#}");
        assert_eq!(f["exit_code"], 3, "{f:#}");
        assert!(
            f["output"]
                .as_str()
                .unwrap()
                .contains(&format!("skewless-1 is not at {old}")),
            "{f:#}"
        );
    }
    assert!(
        failures.iter().any(|f| f["server_logs"]["skewless-1"]
            .as_array()
            .is_some_and(|l| !l.is_empty())),
        "no failure carries skewless-1's log lines: {w:#}"
    );
    assert_eq!(
        w["failed"].as_u64().unwrap(),
        phases
            .iter()
            .map(|p| p["workload_failures"].as_u64().unwrap())
            .sum::<u64>()
    );

    let page = cluster.state_dir().join("report.html");
    let out = cluster.run(&[
        "upgrade",
        "--continue",
        "--run",
        "true",
        "--rate",
        "30",
        "--phase-duration",
        "2s",
        "--settle",
        "1s",
        "--report",
        &format!("html={}", page.display()),
    ]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASS"));
    assert!(cluster.state().get("upgrade").is_none());
    let last = all[all.len() - 1].clone();
    assert_eq!(
        server_versions(&cluster),
        [last.clone(), last.clone(), last]
    );
    cluster.ok(&["down"]);

    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch.
    for remote in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(remote), "the page fetches {remote}");
    }
    // The charts are the script's work, not markup.
    assert!(!html.contains("<svg") && !html.contains("<path"));
    let dom = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("data-rendered=\"true\""), "{dom}");
    for series in [
        "requests",
        "false 404",
        "unexpected 5xx",
        "p99",
        "proxied",
        "run failures",
    ] {
        assert!(
            dom.contains(&format!("data-series=\"{series}\"")),
            "no {series} line: {dom}"
        );
    }
    // Each server's version over time: the new release on every lane.
    assert!(
        dom.matches(&format!("data-version=\"{new}\"")).count() >= 3,
        "{dom}"
    );
}

/// An older skewless: a fixed commit of this repository from an earlier
/// session (the aggregator merge), with the Mixed Version Proxy and the
/// same `serve` flags, before the peer wire format was versioned. Its
/// sources are `tests/old-build/<first 12 digits>.tar.gz` (`git archive`
/// of the workspace without the fuzz corpus and client scripts), so the
/// test needs no history in the checkout.
const OLD_COMMIT: &str = "8b2dd8833393f3a82dbe18189493240f84d52d46";
/// What that build can emulate.
const OLD_BUILD_VERSIONS: [&str; 2] = ["1.35", "1.36"];

/// Builds [`OLD_COMMIT`] (once: its sources and target directory stay in
/// `<target>/old-build/`, so later runs only check it is current) and
/// returns its binary.
fn old_build() -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo.join("target"));
    let root = target.join("old-build");
    // scripts/test.sh builds it beside this tree's build, sharing its
    // compiled dependencies.
    let shared = root.join(format!("{}-shared/skewless", &OLD_COMMIT[..12]));
    if shared.exists() {
        return shared;
    }
    let src = root.join(&OLD_COMMIT[..12]);
    if !src.join("Cargo.toml").exists() {
        let tmp = root.join(format!("{}.tmp", &OLD_COMMIT[..12]));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let tarball = repo.join(format!(
            "crates/skewless/tests/old-build/{}.tar.gz",
            &OLD_COMMIT[..12]
        ));
        let unpacked = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&tmp)
            .status()
            .unwrap();
        assert!(unpacked.success(), "could not unpack {}", tarball.display());
        std::fs::rename(&tmp, &src).unwrap();
    }
    let started = std::time::Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--locked", "-p", "skewless"])
        .current_dir(&src)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_INCREMENTAL", "0")
        // Without debug info: smaller and quicker, and never debugged.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building {OLD_COMMIT} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "old build {OLD_COMMIT}: {:.0}s",
        started.elapsed().as_secs_f64()
    );
    root.join("target/debug/skewless")
}

/// A cluster of the older build, mixed versions, upgraded server by
/// server to this build (`--binary`) under the probe: old and new builds
/// proxy to each other with no false 404 and no unexpected 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_from_an_older_build_to_this_one() {
    let old = old_build();
    let [v_old, v_new] = OLD_BUILD_VERSIONS;
    let cluster = Cluster::new();
    let versions = format!("{v_old},{v_old},{v_new}");
    up_detached(
        &cluster,
        &["--versions", &versions, "--binary", old.to_str().unwrap()],
    );
    let status: Value = serde_json::from_str(&cluster.ok(&["status", "-o", "json"])).unwrap();
    for s in status["servers"].as_array().unwrap() {
        assert_eq!(s["binary"], old.to_str().unwrap(), "{status:#}");
        // The older build predates the annotation: version 1.
        assert_eq!(s["peer_protocol"], 1, "{status:#}");
    }
    assert!(cluster.ok(&["logs", "1"]).contains(old.to_str().unwrap()));

    let this = std::fs::canonicalize(BIN).unwrap();
    let r = upgrade_ok(&cluster, &["--binary", this.to_str().unwrap()]);
    assert_eq!(r["total"]["false_404"], 0, "{r:#}");
    assert_eq!(r["total"]["unexpected_5xx"], 0, "{r:#}");
    assert_eq!(r["total"]["errors"], 0, "{r:#}");
    assert_eq!(
        phase_names(&r),
        [
            "before".to_owned(),
            format!("replace skewless-1 {v_old}->{v_old}"),
            format!("replace skewless-2 {v_old}->{v_old}"),
            format!("replace skewless-3 {v_new}->{v_new}"),
            "after".to_owned()
        ]
    );
    // Mixed builds proxied for each other while the versions differed.
    assert!(r["total"]["rerouted"].as_u64().unwrap() > 0, "{r:#}");
    let state = cluster.state();
    for s in state["servers"].as_array().unwrap() {
        assert_eq!(s["binary"], this.to_str().unwrap(), "{state:#}");
    }
    let status: Value = serde_json::from_str(&cluster.ok(&["status", "-o", "json"])).unwrap();
    for s in status["servers"].as_array().unwrap() {
        assert_eq!(s["peer_protocol"], 1, "{status:#}");
        assert_eq!(s["ready"], true, "{status:#}");
    }
    let lease = cluster.kubectl(
        "skewless-1",
        &[
            "get",
            "lease",
            "-n",
            "kube-system",
            "skewless-1",
            "-o",
            "jsonpath={.metadata.annotations.skewless\\.io/peer-protocol}",
        ],
    );
    assert_eq!(lease, "1");
    cluster.ok(&["down"]);
}

/// `cluster status` flags the resources whose StorageVersion shows the
/// servers writing different versions: a 1.36 server stores
/// MutatingAdmissionPolicy as v1beta1 (so 1.35 can read it), a 1.37 server
/// as v1; Deployments agree and are not flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_flags_storage_versions_that_differ() {
    let cluster = Cluster::new();
    up_detached(
        &cluster,
        &[
            "--servers",
            "2",
            "--versions",
            "1.36,1.37",
            "--feature-gates=StorageVersionAPI=true",
            "--runtime-config",
            "internal.apiserver.k8s.io/v1alpha1=true",
        ],
    );
    let map = "admissionregistration.k8s.io.mutatingadmissionpolicies";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        let out = cluster.run(&["status", "-o", "json"]);
        let status: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let flagged = status["storage_versions_differ"]
            .as_array()
            .is_some_and(|d| d.iter().any(|l| l.as_str().unwrap_or("").starts_with(map)));
        if flagged || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let differ: Vec<&str> = status["storage_versions_differ"]
        .as_array()
        .unwrap_or_else(|| panic!("no storage_versions_differ: {status:#}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let line = differ
        .iter()
        .find(|l| l.starts_with(map))
        .unwrap_or_else(|| panic!("{map} not flagged: {status:#}"));
    assert!(
        line.contains("=admissionregistration.k8s.io/v1beta1"),
        "{line}"
    );
    assert!(
        line.contains("=admissionregistration.k8s.io/v1,")
            || line.ends_with("=admissionregistration.k8s.io/v1"),
        "{line}"
    );
    assert!(
        !differ.iter().any(|l| l.starts_with("apps.deployments")),
        "{differ:?}"
    );
    let table = String::from_utf8_lossy(&cluster.run(&["status"]).stdout).into_owned();
    assert!(
        table.contains(&format!("storage versions differ: {map}")),
        "{table}"
    );
    let listed = cluster.kubectl("skewless", &["get", "storageversions"]);
    assert!(listed.contains(map), "{listed}");
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
    up_detached(&cluster, &["--versions", "1.35,1.36", "--with-metrics"]);
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
