//! Emulated releases 1.33 … 1.37 (issue 19): each answers `/version`,
//! `kubectl api-versions` and `kubectl api-resources` as the catalog says,
//! with facts per release checked against that release's Python client; a
//! removed resource answers 404 from the release that dropped it.
//! StorageVersion objects: two servers of different releases on one
//! storage record one object per resource with an entry each, agree or
//! disagree on the encoding version, and a server's entries go when its
//! identity lease expires.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use skewless_apimachinery::catalog::{Catalog, EmulatedVersion, RuntimeConfig};
use skewless_testkit::{
    Identity, Kubectl, Pki, ServerProcess, Storage, etcd_endpoints, etcd_prefix, eventually,
    start_peer_at,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

/// The catalog of `release` with every API on, as the servers here are
/// started (`--runtime-config=api/all=true`).
fn full_catalog(release: &str) -> Catalog {
    let all: RuntimeConfig = "api/all=true".parse().unwrap();
    Catalog::new(EmulatedVersion::parse(release).unwrap(), &all)
}

/// `group/version` lines as `kubectl api-versions` prints them, from the
/// catalog of `release` with every API on.
fn catalog_api_versions(release: &str) -> BTreeSet<String> {
    full_catalog(release)
        .groups()
        .iter()
        .flat_map(|g| {
            g.versions.iter().map(move |v| {
                if g.name.is_empty() {
                    v.version.clone()
                } else {
                    format!("{}/{}", g.name, v.version)
                }
            })
        })
        .collect()
}

/// `resource.group` names as `kubectl api-resources -o name` prints them.
fn catalog_resource_names(release: &str) -> BTreeSet<String> {
    full_catalog(release)
        .groups()
        .iter()
        .flat_map(|g| {
            g.versions.iter().flat_map(move |v| {
                v.resources.iter().map(move |r| {
                    if g.name.is_empty() {
                        r.resource.clone()
                    } else {
                        format!("{}.{}", r.resource, g.name)
                    }
                })
            })
        })
        .collect()
}

fn lines(s: &str) -> BTreeSet<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_emulated_release_serves_its_catalog() {
    let pki = Pki::generate();
    // (release, group/versions it must list, ones it must not): each fact
    // read from that release's generated Python client.
    let facts: &[(&str, &[&str], &[&str])] = &[
        (
            "1.33",
            &[
                "admissionregistration.k8s.io/v1beta1",
                "storagemigration.k8s.io/v1alpha1",
                "storage.k8s.io/v1alpha1",
                "resource.k8s.io/v1alpha3",
            ],
            &["resource.k8s.io/v1", "storagemigration.k8s.io/v1beta1"],
        ),
        (
            "1.34",
            &["resource.k8s.io/v1", "storage.k8s.io/v1alpha1"],
            &[
                "storagemigration.k8s.io/v1beta1",
                "scheduling.k8s.io/v1alpha1",
            ],
        ),
        (
            "1.35",
            &[
                "storagemigration.k8s.io/v1beta1",
                "scheduling.k8s.io/v1alpha1",
            ],
            &[
                "storage.k8s.io/v1alpha1",
                "storagemigration.k8s.io/v1alpha1",
            ],
        ),
        (
            "1.36",
            &["scheduling.k8s.io/v1alpha2", "networking.k8s.io/v1beta1"],
            &["scheduling.k8s.io/v1alpha1", "lifecycle.k8s.io/v1alpha1"],
        ),
        (
            "1.37",
            &[
                "lifecycle.k8s.io/v1alpha1",
                "storagemigration.k8s.io/v1",
                "scheduling.k8s.io/v1beta1",
            ],
            &["networking.k8s.io/v1beta1", "scheduling.k8s.io/v1alpha2"],
        ),
    ];
    for (release, present, absent) in facts {
        let emulated = format!("--emulated-version={release}");
        let mut server = ServerProcess::start(
            std::path::Path::new(BIN),
            &pki,
            &Storage::Sqlite,
            &[&emulated, "--runtime-config=api/all=true"],
        )
        .await;
        server.wait_ready(&pki).await;
        let client = server.client(&pki, Identity::Admin);
        let version = client.get("/version").await.json();
        assert_eq!(version["minor"], release.split('.').nth(1).unwrap());
        assert!(
            version["gitVersion"]
                .as_str()
                .unwrap()
                .starts_with(&format!("v{release}.")),
            "{version}"
        );

        let k = Kubectl::new(&server.url, &pki);
        let api_versions = lines(&k.ok(&["api-versions"]));
        assert_eq!(api_versions, catalog_api_versions(release), "{release}");
        for gv in *present {
            assert!(api_versions.contains(*gv), "{release} lacks {gv}");
        }
        for gv in *absent {
            assert!(!api_versions.contains(*gv), "{release} lists {gv}");
        }
        let names = lines(&k.ok(&["api-resources", "-o", "name"]));
        assert_eq!(names, catalog_resource_names(release), "{release}");
        // The OpenAPI v3 index has a document for exactly what is served.
        let index = client.get("/openapi/v3").await.json();
        let paths: BTreeSet<String> = index["paths"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|p| {
                p.strip_prefix("apis/")
                    .map(str::to_owned)
                    .or_else(|| p.strip_prefix("api/").map(str::to_owned))
            })
            .collect();
        assert_eq!(paths, catalog_api_versions(release), "{release}");
        server.terminate().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_resource_answers_404_from_the_release_that_dropped_it() {
    let pki = Pki::generate();
    // networking.k8s.io/v1beta1 IPAddress: 1.36 is its last release.
    let path = "/apis/networking.k8s.io/v1beta1/ipaddresses";
    for (release, want) in [("1.36", 200), ("1.37", 404)] {
        let emulated = format!("--emulated-version={release}");
        let mut server = ServerProcess::start(
            std::path::Path::new(BIN),
            &pki,
            &Storage::Sqlite,
            &[&emulated, "--runtime-config=api/all=true"],
        )
        .await;
        server.wait_ready(&pki).await;
        let r = server.client(&pki, Identity::Admin).get(path).await;
        assert_eq!(r.status, want, "{release}: {}", r.text());
        server.terminate().await;
    }
}

fn storage_version_entries(obj: &Value) -> Vec<(String, String)> {
    obj["status"]["storageVersions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["apiServerID"].as_str().unwrap_or_default().to_owned(),
                        e["encodingVersion"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn condition(obj: &Value) -> (String, String) {
    let c = &obj["status"]["conditions"][0];
    (
        c["status"].as_str().unwrap_or_default().to_owned(),
        c["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_versions_record_each_server_and_forget_a_gone_one_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    storage_versions_across_releases(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_versions_record_each_server_and_forget_a_gone_one_on_etcd() {
    let (endpoints, _etcd) = etcd_endpoints().await;
    let prefix = etcd_prefix("storage-versions");
    storage_versions_across_releases(Storage::EtcdPrefix(endpoints, prefix)).await;
}

async fn storage_versions_across_releases(storage: Storage) {
    let pki = Pki::generate();
    let flags = [
        "--feature-gates=StorageVersionAPI=true",
        "--runtime-config=internal.apiserver.k8s.io/v1alpha1=true",
    ];
    let old = start_peer_at(
        std::path::Path::new(BIN),
        &pki,
        &storage,
        "server-136",
        "1.36",
        &flags,
    )
    .await;
    let mut new = start_peer_at(
        std::path::Path::new(BIN),
        &pki,
        &storage,
        "server-137",
        "1.37",
        &[
            flags[0],
            flags[1],
            "--identity-lease-duration=3s",
            "--identity-lease-renew-interval=1s",
        ],
    )
    .await;
    old.wait_ready(&pki).await;
    new.wait_ready(&pki).await;
    let c = old.client(&pki, Identity::Admin);
    let base = "/apis/internal.apiserver.k8s.io/v1alpha1/storageversions";
    // MutatingAdmissionPolicy: 1.36 writes v1beta1 (1.35 can read it),
    // 1.37 writes v1. Deployments: apps/v1 on both.
    let map = format!("{base}/admissionregistration.k8s.io.mutatingadmissionpolicies");
    let deployments = format!("{base}/apps.deployments");
    eventually(
        Duration::from_secs(60),
        "two entries per object",
        || async {
            let a = c.get(&map).await;
            let b = c.get(&deployments).await;
            a.status == 200
                && b.status == 200
                && storage_version_entries(&a.json()).len() == 2
                && storage_version_entries(&b.json()).len() == 2
        },
    )
    .await;
    let obj = c.get(&map).await.json();
    let mut entries = storage_version_entries(&obj);
    entries.sort();
    assert_eq!(
        entries,
        [
            (
                "server-136".to_owned(),
                "admissionregistration.k8s.io/v1beta1".to_owned()
            ),
            (
                "server-137".to_owned(),
                "admissionregistration.k8s.io/v1".to_owned()
            ),
        ]
    );
    assert_eq!(
        condition(&obj),
        ("False".to_owned(), "CommonEncodingVersionUnset".to_owned())
    );
    assert!(obj["status"].get("commonEncodingVersion").is_none());
    let obj = c.get(&deployments).await.json();
    assert_eq!(
        condition(&obj),
        ("True".to_owned(), "CommonEncodingVersionSet".to_owned())
    );
    assert_eq!(obj["status"]["commonEncodingVersion"], "apps/v1");
    let core = c.get(&format!("{base}/core.pods")).await;
    assert_eq!(core.status, 200, "{}", core.text());

    // kubectl sees them.
    let k = Kubectl::new(&old.url, &pki);
    let listed = k.ok(&["get", "storageversions", "-o", "name"]);
    assert!(
        listed.contains("storageversion.internal.apiserver.k8s.io/apps.deployments"),
        "{listed}"
    );

    // The 1.37 server goes: once its lease expires its entries are removed
    // and the remaining server's version is common.
    new.kill().await;
    eventually(
        Duration::from_secs(60),
        "the gone server's entry removed",
        || async {
            let obj = c.get(&map).await.json();
            storage_version_entries(&obj).len() == 1
        },
    )
    .await;
    let obj = c.get(&map).await.json();
    assert_eq!(
        storage_version_entries(&obj),
        [(
            "server-136".to_owned(),
            "admissionregistration.k8s.io/v1beta1".to_owned()
        )]
    );
    assert_eq!(
        condition(&obj),
        ("True".to_owned(), "CommonEncodingVersionSet".to_owned())
    );
    assert_eq!(
        obj["status"]["commonEncodingVersion"],
        "admissionregistration.k8s.io/v1beta1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_versions_need_the_gate() {
    let pki = Pki::generate();
    let mut server = ServerProcess::start(
        std::path::Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &["--runtime-config=internal.apiserver.k8s.io/v1alpha1=true"],
    )
    .await;
    server.wait_ready(&pki).await;
    let c = server.client(&pki, Identity::Admin);
    // The API is served (runtime-config) but nothing is recorded without
    // the gate: wait past several reconcile periods.
    let base = "/apis/internal.apiserver.k8s.io/v1alpha1/storageversions";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while tokio::time::Instant::now() < deadline {
        let r = c.get(base).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(0));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    server.terminate().await;
}
