//! Issue 18 items 2 and 3 for local APIServices, on real `skewless serve`
//! processes sharing one storage: every served group/version has its
//! automanaged `Local` APIService (Available, reason `Local`); a CRD's comes
//! and goes with the CRD; and in a mixed 1.35/1.36 control plane restarted
//! server by server, the APIService of a group/version only the 1.36 server
//! serves is never deleted while that server lives, and is removed within
//! the grace period once it left for good.
//!
//! The 1.36-only group/version: the default catalogs of 1.35 and 1.36
//! serve the same group/versions, so the 1.36 server turns on
//! `scheduling.k8s.io/v1alpha2` (which 1.35 does not know; it had
//! `v1alpha1`) with `--runtime-config`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skewless_testkit::{
    Client, Identity, Kubectl, Pki, ServerProcess, Storage, etcd_endpoints, eventually,
    start_peer_at,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");
const APISERVICES: &str = "/apis/apiregistration.k8s.io/v1/apiservices";
const NEW_ONLY: &str = "v1alpha2.scheduling.k8s.io";
const AUTOMANAGED: &str = "kube-aggregator.kubernetes.io/automanaged";
/// The test's `--apiservice-removal-grace`: longer than a restart takes,
/// short enough for the test budget.
const GRACE: Duration = Duration::from_secs(8);
const GRACE_FLAG: &str = "--apiservice-removal-grace=8s";
const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

async fn old_server(pki: &Pki, storage: &Storage) -> ServerProcess {
    start_peer_at(
        Path::new(BIN),
        pki,
        storage,
        "as-old",
        "1.35",
        &[GRACE_FLAG],
    )
    .await
}

async fn new_server(pki: &Pki, storage: &Storage) -> ServerProcess {
    start_peer_at(
        Path::new(BIN),
        pki,
        storage,
        "as-new",
        "1.36",
        &[
            GRACE_FLAG,
            "--runtime-config=scheduling.k8s.io/v1alpha2=true",
        ],
    )
    .await
}

/// name → the APIService.
async fn apiservices(c: &Client) -> BTreeMap<String, Value> {
    let r = c.get(APISERVICES).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a["metadata"]["name"].as_str().unwrap_or("").to_owned(), a))
        .collect()
}

async fn exists(c: &Client, name: &str) -> bool {
    c.get(&format!("{APISERVICES}/{name}")).await.status == 200
}

fn uid_of(v: &Value) -> String {
    v["metadata"]["uid"].as_str().unwrap_or("").to_owned()
}

/// Whether `c`'s peer-aggregated `/apis` lists the 1.36-only
/// group/version: through the 1.35 server, that it knows the 1.36 peer's
/// discovery.
async fn merged_lists_new_only(c: &Client) -> bool {
    let r = c
        .request("GET", "/apis", &[("accept", AGGREGATED)], None)
        .await;
    r.status == 200
        && r.json()["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .any(|g| {
                g["metadata"]["name"] == "scheduling.k8s.io"
                    && g["versions"]
                        .as_array()
                        .is_some_and(|vs| vs.iter().any(|v| v["version"] == "v1alpha2"))
            })
}

fn rv(v: &Value) -> String {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// What the poller sees of the 1.36-only APIService while servers restart.
#[derive(Debug, Default)]
struct Watched {
    /// Clients of the servers running now.
    clients: Vec<Client>,
    /// Whether the 1.36 server is up (set once ready, cleared before it is
    /// stopped), with a counter bumped at each change.
    new_alive: bool,
    epoch: u64,
    /// Reads that found it, and every violation.
    seen: u64,
    violations: Vec<String>,
}

/// Polls the APIService every 100 ms through whichever server answers;
/// records a violation when it is missing, or has another UID (deleted and
/// recreated), while the 1.36 server was up before and after the read.
async fn poll(state: Arc<Mutex<Watched>>, uid: String, stop: Arc<Mutex<bool>>) {
    while !*stop.lock().unwrap() {
        let (clients, alive, epoch) = {
            let s = state.lock().unwrap();
            (s.clients.clone(), s.new_alive, s.epoch)
        };
        for (i, c) in clients.iter().enumerate() {
            let Ok(r) = c
                .try_request("GET", &format!("{APISERVICES}/{NEW_ONLY}"), None, None)
                .await
            else {
                continue;
            };
            if r.status != 200 && r.status != 404 {
                continue;
            }
            let mut s = state.lock().unwrap();
            let steady = alive && s.new_alive && s.epoch == epoch;
            if r.status == 200 {
                s.seen += 1;
                let got = r.json()["metadata"]["uid"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                if got != uid {
                    s.violations
                        .push(format!("recreated: uid {got}, was {uid}"));
                }
            } else if steady {
                s.violations.push(format!(
                    "missing via server {i} while the 1.36 server was up"
                ));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scenario(storage: Storage, restarts: usize) {
    let pki = Pki::generate();
    let mut old = old_server(&pki, &storage).await;
    let mut new = new_server(&pki, &storage).await;
    let via_old = old.client(&pki, Identity::Admin);

    // (a) Local APIServices for what is served, through kubectl.
    eventually(
        Duration::from_secs(15),
        "the local APIServices, the 1.36-only one included",
        || async {
            let all = apiservices(&via_old).await;
            ["v1", "v1.apps", "v1.coordination.k8s.io", NEW_ONLY]
                .iter()
                .all(|n| all.contains_key(*n))
        },
    )
    .await;
    // The same object from here on while the 1.36 server lives: the phases
    // below take longer than the grace period, so a server removing what a
    // peer serves would delete it (and the peer recreate it) meanwhile.
    let uid = uid_of(
        &via_old
            .get(&format!("{APISERVICES}/{NEW_ONLY}"))
            .await
            .json(),
    );
    let table = Kubectl::new(&old.url, &pki).ok(&["get", "apiservices"]);
    let header = table.lines().next().unwrap_or("");
    assert!(
        header
            .split_whitespace()
            .eq(["NAME", "SERVICE", "AVAILABLE", "AGE"]),
        "{table}"
    );
    for name in ["v1", "v1.apps", NEW_ONLY] {
        let row = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row {name}: {table}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[1..3], ["Local", "True"], "{row}");
    }
    let core = via_old.get(&format!("{APISERVICES}/v1")).await.json();
    assert_eq!(core["metadata"]["labels"][AUTOMANAGED], "onstart");
    assert_eq!(core["spec"]["service"], Value::Null);
    assert_eq!(core["spec"]["version"], "v1");
    assert_eq!(core["spec"]["groupPriorityMinimum"], 18000);
    assert_eq!(core["spec"]["versionPriority"], 1);
    let apps = via_old.get(&format!("{APISERVICES}/v1.apps")).await.json();
    assert_eq!(apps["spec"]["group"], "apps");
    assert_eq!(apps["spec"]["groupPriorityMinimum"], 17800);
    let condition = &apps["status"]["conditions"][0];
    assert_eq!(condition["type"], "Available");
    assert_eq!(condition["status"], "True");
    assert_eq!(condition["reason"], "Local");
    assert_eq!(
        condition["message"],
        "Local APIServices are always available"
    );

    // Nothing is rewritten while nothing changes (both servers write).
    let before: BTreeMap<String, String> = apiservices(&via_old)
        .await
        .iter()
        .map(|(n, a)| (n.clone(), rv(a)))
        .collect();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after: BTreeMap<String, String> = apiservices(&via_old)
        .await
        .iter()
        .map(|(n, a)| (n.clone(), rv(a)))
        .collect();
    assert_eq!(before, after, "APIServices were rewritten without a change");

    // A user's APIService (with a service) is left alone by the local
    // APIService controller; the availability checks record once that its
    // Service does not exist, and no server writes it again (restarts
    // included: every server computes the same condition).
    let user = json!({
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                 "service": {"namespace": "kube-system", "name": "metrics-server"},
                 "groupPriorityMinimum": 100, "versionPriority": 100,
                 "insecureSkipTLSVerify": true},
    });
    let created = via_old.post_json(APISERVICES, &user).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let user_path = format!("{APISERVICES}/v1beta1.metrics.k8s.io");
    eventually(
        Duration::from_secs(10),
        "ServiceNotFound recorded",
        || async {
            let a = via_old.get(&user_path).await.json();
            a["status"]["conditions"][0]["reason"] == "ServiceNotFound"
        },
    )
    .await;
    let user_rv = rv(&via_old.get(&user_path).await.json());

    // (c) A CRD's APIService comes and goes with the CRD.
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.apiservices.example.com"},
        "spec": {"group": "apiservices.example.com", "scope": "Namespaced",
                 "names": {"plural": "gadgets", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
    });
    assert_eq!(via_old.post_json(crds, &crd).await.status, 201);
    let crd_service = "v1.apiservices.example.com";
    eventually(Duration::from_secs(10), "the CRD's APIService", || async {
        exists(&via_old, crd_service).await
    })
    .await;
    let a = via_old
        .get(&format!("{APISERVICES}/{crd_service}"))
        .await
        .json();
    assert_eq!(a["metadata"]["labels"][AUTOMANAGED], "true");
    assert_eq!(a["spec"]["groupPriorityMinimum"], 1000);
    assert_eq!(a["spec"]["versionPriority"], 100);
    let deleted = via_old
        .request(
            "DELETE",
            &format!("{crds}/gadgets.apiservices.example.com"),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    eventually(
        GRACE + Duration::from_secs(15),
        "the CRD's APIService to be removed",
        || async { !exists(&via_old, crd_service).await },
    )
    .await;

    // (b) Restart the servers in turn; the 1.36-only APIService stays (the
    // same object: no delete and recreate) whenever the 1.36 server is up.
    assert_eq!(
        uid_of(
            &via_old
                .get(&format!("{APISERVICES}/{NEW_ONLY}"))
                .await
                .json()
        ),
        uid,
        "the 1.36-only APIService was recreated while the 1.36 server lived"
    );
    let watched = Arc::new(Mutex::new(Watched {
        clients: vec![via_old.clone(), new.client(&pki, Identity::Admin)],
        new_alive: true,
        ..Watched::default()
    }));
    let stop = Arc::new(Mutex::new(false));
    let poller = tokio::spawn(poll(Arc::clone(&watched), uid, Arc::clone(&stop)));
    let started = Instant::now();
    for round in 0..restarts {
        let restart_new = round % 2 == 1;
        if restart_new {
            {
                let mut w = watched.lock().unwrap();
                w.new_alive = false;
                w.epoch += 1;
                w.clients = vec![old.client(&pki, Identity::Admin)];
            }
            assert!(new.terminate().await.success());
            new = new_server(&pki, &storage).await;
            let mut w = watched.lock().unwrap();
            w.new_alive = true;
            w.epoch += 1;
            w.clients = vec![
                old.client(&pki, Identity::Admin),
                new.client(&pki, Identity::Admin),
            ];
        } else {
            watched.lock().unwrap().clients = vec![new.client(&pki, Identity::Admin)];
            assert!(old.terminate().await.success());
            old = old_server(&pki, &storage).await;
            watched.lock().unwrap().clients = vec![
                new.client(&pki, Identity::Admin),
                old.client(&pki, Identity::Admin),
            ];
        }
        // Before the next restart the 1.35 server knows the 1.36 server's
        // discovery again (after a restart of either it was unknown).
        let via = old.client(&pki, Identity::Admin);
        eventually(
            Duration::from_secs(15),
            "the 1.35 server to know what the 1.36 server serves",
            || merged_lists_new_only(&via),
        )
        .await;
    }
    eprintln!("{restarts} restarts in {:?}", started.elapsed());
    // One more poll round with both up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    *stop.lock().unwrap() = true;
    poller.await.unwrap();
    {
        let w = watched.lock().unwrap();
        assert!(w.violations.is_empty(), "{:?}", w.violations);
        assert!(w.seen > 0, "the poller never read the APIService");
    }

    // The 1.36 server leaves for good: removed within the grace period
    // (plus a few reconcile passes), not before it.
    let via_old = old.client(&pki, Identity::Admin);
    assert!(exists(&via_old, NEW_ONLY).await);
    assert!(new.terminate().await.success());
    let left = Instant::now();
    eventually(
        GRACE + Duration::from_secs(10),
        "the 1.36-only APIService to be removed",
        || async { !exists(&via_old, NEW_ONLY).await },
    )
    .await;
    let took = left.elapsed();
    eprintln!("removed {took:?} after the 1.36 server left");
    assert!(
        took + Duration::from_secs(4) >= GRACE,
        "removed after {took:?}, before the grace period"
    );
    // What the 1.35 server serves stays; the user's APIService is untouched.
    let all = apiservices(&via_old).await;
    assert!(all.contains_key("v1") && all.contains_key("v1.apps"));
    assert_eq!(rv(&all["v1beta1.metrics.k8s.io"]), user_rv);
}

#[tokio::test]
async fn local_apiservices_in_a_mixed_plane_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(Storage::SharedSqlite(dir.path().to_path_buf()), 20).await;
}

#[tokio::test]
async fn local_apiservices_in_a_mixed_plane_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = skewless_testkit::etcd_prefix("apiservices");
    scenario(Storage::EtcdPrefix(endpoints, prefix), 20).await;
}
