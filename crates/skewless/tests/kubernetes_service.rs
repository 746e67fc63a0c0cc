//! Issue 15 item 6: the `default/kubernetes` Service and its endpoints on
//! real `skewless serve` processes sharing one storage (SQLite and etcd).
//! kubectl through any server shows `service/kubernetes`; the Service has
//! upstream's fields; the EndpointSlices list every live server's address
//! and follow a server stopped (SIGTERM) and started again within 5 s.
//!
//! All servers listen on 127.0.0.1 with different ports, so each port is a
//! subset of the Endpoints and a slice of its own.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, etcd_endpoints, eventually, start_peer,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const SERVICE: &str = "/api/v1/namespaces/default/services/kubernetes";
const ENDPOINTS: &str = "/api/v1/namespaces/default/endpoints/kubernetes";
const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes";
/// How quickly the endpoints must follow a server leaving or joining.
const FOLLOW: Duration = Duration::from_secs(5);

async fn server(pki: &Pki, storage: &Storage, id: &str) -> ServerProcess {
    start_peer(Path::new(BIN), pki, storage, id, &[]).await
}

/// `127.0.0.1:<port>` of every endpoint of every `kubernetes` slice.
async fn slice_addresses(c: &Client) -> BTreeSet<String> {
    let r = c.get(SLICES).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut out = BTreeSet::new();
    for slice in r.json()["items"].as_array().cloned().unwrap_or_default() {
        let port = slice["ports"][0]["port"].as_u64().unwrap_or(0);
        for e in slice["endpoints"].as_array().cloned().unwrap_or_default() {
            assert_eq!(e["conditions"]["ready"], true, "{slice}");
            for a in e["addresses"].as_array().cloned().unwrap_or_default() {
                out.insert(format!("{}:{port}", a.as_str().unwrap_or("")));
            }
        }
    }
    out
}

/// `ip:port` of every address of the Endpoints' subsets.
async fn endpoints_addresses(c: &Client) -> BTreeSet<String> {
    let r = c.get(ENDPOINTS).await;
    if r.status != 200 {
        return BTreeSet::new();
    }
    let mut out = BTreeSet::new();
    for subset in r.json()["subsets"].as_array().cloned().unwrap_or_default() {
        assert_eq!(
            subset["ports"].as_array().map(Vec::len),
            Some(1),
            "{subset}"
        );
        let port = subset["ports"][0]["port"].as_u64().unwrap_or(0);
        for a in subset["addresses"].as_array().cloned().unwrap_or_default() {
            out.insert(format!("{}:{port}", a["ip"].as_str().unwrap_or("")));
        }
    }
    out
}

fn address(s: &ServerProcess) -> String {
    format!("127.0.0.1:{}", s.port)
}

async fn wait_for(c: &Client, want: &BTreeSet<String>, what: &str) {
    let started = std::time::Instant::now();
    eventually(FOLLOW, what, || async {
        slice_addresses(c).await == *want && endpoints_addresses(c).await == *want
    })
    .await;
    eprintln!("{what}: {:?}", started.elapsed());
}

async fn scenario(storage: Storage) {
    let pki = Pki::generate();
    let a = server(&pki, &storage, "ksvc-a").await;
    let b = server(&pki, &storage, "ksvc-b").await;
    let c3 = server(&pki, &storage, "ksvc-c").await;
    let via_b = b.client(&pki, Identity::Admin);
    let all: BTreeSet<String> = [&a, &b, &c3].into_iter().map(address).collect();
    wait_for(&via_b, &all, "the slices to list all three servers").await;

    // kubectl through each server shows the Service.
    for s in [&a, &b, &c3] {
        let out = Kubectl::new(&s.url, &pki).ok(&["get", "all", "-A"]);
        assert!(out.contains("service/kubernetes"), "{out}");
    }

    // The Service as upstream's bootstrap controller writes it.
    let svc = via_b.get(SERVICE).await.json();
    assert_eq!(
        svc["metadata"]["labels"],
        json!({"component": "apiserver", "provider": "kubernetes"})
    );
    let spec = &svc["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["clusterIP"], "10.0.0.1");
    assert_eq!(spec["clusterIPs"], json!(["10.0.0.1"]));
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(svc["status"], json!({"loadBalancer": {}}));
    let ports = spec["ports"].as_array().cloned().unwrap_or_default();
    assert_eq!(ports.len(), 1, "{spec}");
    assert_eq!(ports[0]["name"], "https");
    assert_eq!(ports[0]["port"], 443);
    assert_eq!(ports[0]["protocol"], "TCP");
    let target = ports[0]["targetPort"].as_u64().unwrap_or(0);
    assert!(
        [&a, &b, &c3].iter().any(|s| u64::from(s.port) == target),
        "targetPort {target} is no server's port"
    );
    // The Endpoints are not mirrored (the controller writes the slices).
    let e = via_b.get(ENDPOINTS).await.json();
    assert_eq!(
        e["metadata"]["labels"]["endpointslice.kubernetes.io/skip-mirror"],
        "true"
    );
    // The slice named `kubernetes` carries the Service's target port.
    let slice = via_b
        .get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
        .await
        .json();
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice["ports"][0]["port"].as_u64(), Some(target), "{slice}");

    // Stable while nothing changes: no write for several passes.
    let rv = |v: &Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let before = (rv(&svc), rv(&e), rv(&slice));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = (
        rv(&via_b.get(SERVICE).await.json()),
        rv(&via_b.get(ENDPOINTS).await.json()),
        rv(&via_b
            .get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
            .await
            .json()),
    );
    assert_eq!(before, after, "the objects were rewritten without a change");

    // The controller's leader leaves (the hard case: another server must
    // take over, and the leader releases its Lease on the way out).
    let lease = via_b
        .get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/skewless-kubernetes-service-controller")
        .await
        .json();
    let leader = lease["spec"]["holderIdentity"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let mut servers = vec![("ksvc-a", a), ("ksvc-b", b), ("ksvc-c", c3)];
    let at = servers
        .iter()
        .position(|(id, _)| *id == leader)
        .unwrap_or_else(|| panic!("leader {leader:?} is no server: {lease}"));
    let (id, mut stopped) = servers.remove(at);
    assert!(stopped.terminate().await.success());
    let via = servers[0].1.client(&pki, Identity::Admin);
    let rest: BTreeSet<String> = servers.iter().map(|(_, s)| address(s)).collect();
    wait_for(&via, &rest, "the slices to drop the stopped leader").await;

    // It comes back (on a new port: tests bind port 0).
    let back = server(&pki, &storage, id).await;
    let mut all = rest.clone();
    all.insert(address(&back));
    wait_for(&via, &all, "the slices to list the restarted server").await;
    // Through the restarted server too.
    assert_eq!(
        slice_addresses(&back.client(&pki, Identity::Admin)).await,
        all
    );
}

#[tokio::test]
async fn kubernetes_service_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test]
async fn kubernetes_service_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = skewless_testkit::etcd_prefix("ksvc");
    scenario(Storage::EtcdPrefix(endpoints, prefix)).await;
}

/// A killed server (no clean shutdown, its hour-long identity Lease left
/// behind) leaves the endpoints once it has been silent for longer than
/// the peer endpoint's time-to-live, as upstream's lease endpoint
/// reconciler drops a master whose 15 s lease ran out.
#[tokio::test]
async fn a_killed_server_leaves_the_endpoints_within_the_endpoint_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::SharedSqlite(dir.path().to_path_buf());
    let pki = Pki::generate();
    // Renewals every second, silence allowed for 3 s.
    let timing = [
        "--identity-lease-renew-interval=1s",
        "--peer-endpoint-ttl=3s",
    ];
    let a = start_peer(Path::new(BIN), &pki, &storage, "ksvc-kill-a", &timing).await;
    let mut b = start_peer(Path::new(BIN), &pki, &storage, "ksvc-kill-b", &timing).await;
    let via_a = a.client(&pki, Identity::Admin);
    let both: BTreeSet<String> = [&a, &b].into_iter().map(address).collect();
    wait_for(&via_a, &both, "the slices to list both servers").await;
    b.kill().await;
    let rest: BTreeSet<String> = [address(&a)].into_iter().collect();
    let started = std::time::Instant::now();
    eventually(
        Duration::from_secs(3) + FOLLOW,
        "the killed server to leave",
        || async {
            slice_addresses(&via_a).await == rest && endpoints_addresses(&via_a).await == rest
        },
    )
    .await;
    eprintln!("the killed server left after {:?}", started.elapsed());
    // Its identity Lease is still there: liveness is its renewals, not the
    // Lease's existence.
    let lease = via_a
        .get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?labelSelector=apiserver.kubernetes.io%2Fidentity%3Dkube-apiserver")
        .await
        .json();
    assert_eq!(lease["items"].as_array().map(Vec::len), Some(2), "{lease}");
}

/// A single server on its own storage lists itself, with the ClusterIP
/// from `--service-cluster-ip-range`.
#[tokio::test]
async fn a_lone_server_with_its_own_service_range() {
    let pki = Pki::generate();
    let s = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &["--service-cluster-ip-range=10.96.0.0/12"],
    )
    .await;
    let c = s.client(&pki, Identity::Admin);
    let want: BTreeSet<String> = [address(&s)].into_iter().collect();
    wait_for(&c, &want, "the slice to list the server").await;
    let svc = c.get(SERVICE).await.json();
    assert_eq!(svc["spec"]["clusterIP"], "10.96.0.1");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], u64::from(s.port));
}
