//! The watch cache across real `skewless serve` processes sharing one
//! storage (SQLite shared by two processes, and etcd): reads stay
//! consistent whichever server answers — read-your-writes, watches resumed
//! on another server, `410 Expired` below a server's window,
//! `resourceVersionMatch`, and continue tokens handed between servers.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use skewless_testkit::{
    Client, Identity, Pki, ServerProcess, Storage, etcd_endpoints, eventually, start_peer,
};

const BIN: &str = env!("CARGO_BIN_EXE_skewless");

fn configmaps(ns: &str) -> String {
    format!("/api/v1/namespaces/{ns}/configmaps")
}

fn configmap(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}})
}

fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    i["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Two servers on `storage`, each with a watch cache of `window` events.
async fn pair(pki: &Pki, storage: &Storage, window: &str) -> (ServerProcess, ServerProcess) {
    let flag = format!("--watch-cache-window={window}");
    let a = start_peer(Path::new(BIN), pki, storage, "cache-a", &[&flag]).await;
    let b = start_peer(Path::new(BIN), pki, storage, "cache-b", &[&flag]).await;
    (a, b)
}

async fn create(c: &Client, path: &str, body: &Value) -> Value {
    let r = c.post_json(path, body).await;
    assert_eq!(r.status, 201, "create {path}: {}", r.text());
    r.json()
}

async fn namespace(c: &Client, name: &str) {
    create(
        c,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    .await;
}

async fn read_your_writes(storage: Storage) {
    let pki = Pki::generate();
    let (a, b) = pair(&pki, &storage, "1000").await;
    let (ca, cb) = (
        a.client(&pki, Identity::Admin),
        b.client(&pki, Identity::Admin),
    );
    namespace(&ca, "ryw").await;
    let path = configmaps("ryw");
    // B's cache exists before the writes (a list builds it).
    assert_eq!(cb.get(&path).await.status, 200);
    for i in 0..20 {
        let name = format!("cm-{i}");
        let created = create(&ca, &path, &configmap(&name, "1")).await;
        // At once, no waiting: B must see A's write.
        let got = cb.get(&format!("{path}/{name}")).await;
        assert_eq!(got.status, 200, "GET on B after create {i}: {}", got.text());
        assert_eq!(rv(&got.json()), rv(&created), "GET on B is stale");
        let list = cb.get(&path).await.json();
        assert!(names(&list).contains(&name), "LIST on B misses {name}");
        assert!(
            rv(&list).parse::<i64>().unwrap() >= rv(&created).parse::<i64>().unwrap(),
            "LIST on B at an older revision than A's write"
        );
        // A write to another resource moves the revision; B's configmap
        // cache learns it only from storage's progress.
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}});
        create(&ca, "/api/v1/namespaces/ryw/secrets", &secret).await;
        let del = ca
            .request("DELETE", &format!("{path}/{name}"), &[], None)
            .await;
        assert_eq!(del.status, 200, "{}", del.text());
        let gone = cb.get(&format!("{path}/{name}")).await;
        assert_eq!(
            gone.status,
            404,
            "GET on B after delete {i}: {}",
            gone.text()
        );
        assert_eq!(gone.json()["reason"], "NotFound");
    }
    // B's metrics show its configmaps cache: built once, fed every event,
    // and on SQLite (whose progress reports are trusted) serving the
    // consistent reads above.
    let metrics = cb.get("/metrics").await.text();
    let value = |series: &str| -> Option<f64> {
        metrics
            .lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    let gr = "{group=\"\",resource=\"configmaps\"";
    assert_eq!(
        value(&format!(
            "apiserver_watch_cache_initializations_total{gr}}}"
        )),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        value(&format!(
            "apiserver_watch_cache_events_received_total{gr}}}"
        )) >= Some(40.0),
        "{metrics}"
    );
    assert!(
        value(&format!("apiserver_watch_cache_resource_version{gr}}}")) > Some(0.0),
        "{metrics}"
    );
    if !matches!(storage, Storage::EtcdPrefix(..)) {
        assert!(
            value(&format!(
                "apiserver_watch_cache_consistent_read_total{gr},success=\"true\",fallback=\"false\"}}"
            )) >= Some(40.0),
            "{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_your_writes_through_any_server_on_shared_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    read_your_writes(Storage::SharedSqlite(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_your_writes_through_any_server_on_etcd() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = skewless_testkit::etcd_prefix("watchcache");
    read_your_writes(Storage::EtcdPrefix(endpoints, prefix)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_resumes_on_another_server_and_expires_below_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate();
    let (a, b) = pair(&pki, &Storage::SharedSqlite(dir.path().to_path_buf()), "5").await;
    let (ca, cb) = (
        a.client(&pki, Identity::Admin),
        b.client(&pki, Identity::Admin),
    );
    namespace(&ca, "resume").await;
    let path = configmaps("resume");
    assert_eq!(cb.get(&path).await.status, 200);
    let first = create(&ca, &path, &configmap("first", "1")).await;
    let from = rv(&first);
    for name in ["second", "third"] {
        create(&ca, &path, &configmap(name, "1")).await;
    }
    // B's window holds everything after `from`: a watch there replays it.
    let (status, lines, _) = cb
        .watch_until_end(
            &format!("{path}?watch=true&resourceVersion={from}&timeoutSeconds=2"),
            Duration::from_secs(30),
            || async {},
        )
        .await;
    assert_eq!(status, 200);
    let seen: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["type"].as_str().unwrap_or_default().to_owned(),
                l["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("ADDED".to_owned(), "second".to_owned()),
            ("ADDED".to_owned(), "third".to_owned())
        ],
        "{lines:?}"
    );
    // Push `from` out of B's window of 5 events.
    for i in 0..8 {
        create(&ca, &path, &configmap(&format!("more-{i}"), "1")).await;
    }
    let newest = rv(&create(&ca, &path, &configmap("newest", "1")).await);
    eventually(
        Duration::from_secs(20),
        "B's cache reaches A's write",
        || {
            let cb = &cb;
            let newest = newest.clone();
            async move {
                let l = cb
                    .get(&format!(
                        "{path}?resourceVersion=0",
                        path = configmaps("resume")
                    ))
                    .await
                    .json();
                rv(&l).parse::<i64>().unwrap_or(0) >= newest.parse::<i64>().unwrap_or(i64::MAX)
            }
        },
    )
    .await;
    let (status, lines, _) = cb
        .watch_until_end(
            &format!("{path}?watch=true&resourceVersion={from}&timeoutSeconds=5"),
            Duration::from_secs(30),
            || async {},
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["type"], "ERROR", "{lines:?}");
    assert_eq!(lines[0]["object"]["code"], 410, "{lines:?}");
    assert_eq!(lines[0]["object"]["reason"], "Expired", "{lines:?}");
    // From a revision still in the window, B resumes.
    let (_, lines, _) = cb
        .watch_until_end(
            &format!("{path}?watch=true&resourceVersion={newest}&timeoutSeconds=2"),
            Duration::from_secs(30),
            || async {
                create(&ca, &configmaps("resume"), &configmap("after", "1")).await;
            },
        )
        .await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["object"]["metadata"]["name"], "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resource_version_match_and_continue_tokens_across_servers() {
    let (endpoints, _guard) = etcd_endpoints().await;
    let prefix = skewless_testkit::etcd_prefix("watchcache-rvm");
    let pki = Pki::generate();
    let (a, b) = pair(&pki, &Storage::EtcdPrefix(endpoints, prefix), "1000").await;
    let (ca, cb) = (
        a.client(&pki, Identity::Admin),
        b.client(&pki, Identity::Admin),
    );
    namespace(&ca, "rvm").await;
    let path = configmaps("rvm");
    assert_eq!(cb.get(&path).await.status, 200);
    assert_eq!(ca.get(&path).await.status, 200);

    // Exact: the old state, from storage, whatever the cache holds now.
    let old = rv(&create(&ca, &path, &configmap("x", "old")).await);
    let mut updated = configmap("x", "new");
    updated["metadata"]["resourceVersion"] = json!(old);
    let put = ca
        .request(
            "PUT",
            &format!("{path}/x"),
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&updated).unwrap()),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let new = rv(&put.json());
    let exact = cb
        .get(&format!(
            "{path}?resourceVersion={old}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(exact.status, 200, "{}", exact.text());
    let exact = exact.json();
    assert_eq!(rv(&exact), old);
    assert_eq!(exact["items"][0]["data"]["v"], "old", "{exact}");
    // NotOlderThan the update: B waits for it rather than serving older.
    let newer = cb
        .get(&format!(
            "{path}?resourceVersion={new}&resourceVersionMatch=NotOlderThan"
        ))
        .await
        .json();
    assert_eq!(newer["items"][0]["data"]["v"], "new", "{newer}");
    // 0: whatever B holds, soon the update.
    eventually(
        Duration::from_secs(20),
        "RV=0 on B shows the update",
        || {
            let cb = &cb;
            async move {
                let l = cb
                    .get(&format!("{}?resourceVersion=0", configmaps("rvm")))
                    .await;
                l.status == 200 && l.json()["items"][0]["data"]["v"] == "new"
            }
        },
    )
    .await;
    // A GET without resourceVersion on B sees the update at once.
    assert_eq!(
        cb.get(&format!("{path}/x")).await.json()["data"]["v"],
        "new"
    );

    // Continue tokens: page 1 on A, page 2 on B, page 3 on A; a write in
    // between does not show (the pages are one snapshot).
    for i in 0..6 {
        create(&ca, &path, &configmap(&format!("p{i}"), "1")).await;
    }
    let page1 = ca.get(&format!("{path}?limit=3")).await.json();
    let token = page1["metadata"]["continue"].as_str().unwrap().to_owned();
    create(&ca, &path, &configmap("late", "1")).await;
    let page2 = cb.get(&format!("{path}?limit=3&continue={token}")).await;
    assert_eq!(page2.status, 200, "{}", page2.text());
    let page2 = page2.json();
    assert_eq!(rv(&page2), rv(&page1), "page 2 at page 1's revision");
    let token = page2["metadata"]["continue"].as_str().unwrap().to_owned();
    let page3 = ca
        .get(&format!("{path}?limit=3&continue={token}"))
        .await
        .json();
    assert!(
        page3["metadata"]["continue"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    let mut all = names(&page1);
    all.extend(names(&page2));
    all.extend(names(&page3));
    assert_eq!(
        all,
        vec!["p0", "p1", "p2", "p3", "p4", "p5", "x"],
        "{all:?}"
    );

    // Pages of the current snapshot come from B's cache: the same pages
    // on both servers.
    let b1 = cb.get(&format!("{path}?limit=4")).await.json();
    let token = b1["metadata"]["continue"].as_str().unwrap().to_owned();
    let a2 = ca
        .get(&format!("{path}?limit=4&continue={token}"))
        .await
        .json();
    let mut all = names(&b1);
    all.extend(names(&a2));
    assert_eq!(all.len(), 8, "{all:?}");
    assert!(all.contains(&"late".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lists_longer_than_one_encoding_chunk_are_whole() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate();
    let (a, b) = pair(
        &pki,
        &Storage::SharedSqlite(dir.path().to_path_buf()),
        "1000",
    )
    .await;
    let (ca, cb) = (
        a.client(&pki, Identity::Admin),
        b.client(&pki, Identity::Admin),
    );
    namespace(&ca, "long").await;
    let path = configmaps("long");
    // More than one chunk of 500 decoded objects.
    let n = 512;
    for i in 0..n {
        create(&ca, &path, &configmap(&format!("cm-{i:04}"), "1")).await;
    }
    let want: Vec<String> = (0..n).map(|i| format!("cm-{i:04}")).collect();
    for c in [&ca, &cb] {
        let list = c.get(&path).await;
        assert_eq!(list.status, 200);
        let list = list.json();
        assert_eq!(list["kind"], "ConfigMapList");
        assert_eq!(names(&list), want);
        // A page bigger than a chunk, then the rest.
        let page = c.get(&format!("{path}?limit=505")).await.json();
        assert_eq!(names(&page).len(), 505);
        let token = page["metadata"]["continue"].as_str().unwrap().to_owned();
        let rest = c
            .get(&format!("{path}?limit=505&continue={token}"))
            .await
            .json();
        let mut all = names(&page);
        all.extend(names(&rest));
        assert_eq!(all, want);
    }
    // Selectors filter across chunks.
    let none = cb
        .get(&format!("{path}?labelSelector=missing%3Dyes"))
        .await
        .json();
    assert_eq!(none["items"], json!([]), "{none}");
    // A Table (what kubectl get asks for) and a metadata-only list are
    // encoded a chunk at a time too, and are just as whole.
    let table = cb
        .request(
            "GET",
            &path,
            &[("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            None,
        )
        .await;
    assert_eq!(table.status, 200, "{}", table.text());
    let table = table.json();
    assert_eq!(table["kind"], "Table");
    assert!(
        table["metadata"]["resourceVersion"].is_string(),
        "{}",
        table["metadata"]
    );
    assert_eq!(table["columnDefinitions"][0]["name"], "Name");
    let rows = table["rows"].as_array().unwrap();
    let row_names: Vec<&str> = rows
        .iter()
        .map(|r| r["cells"][0].as_str().unwrap())
        .collect();
    assert_eq!(row_names, want);
    assert_eq!(rows[n - 1]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(rows[n - 1]["object"]["metadata"]["name"], want[n - 1]);
    let paged = cb
        .request(
            "GET",
            &format!("{path}?limit=505"),
            &[("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            None,
        )
        .await
        .json();
    assert_eq!(paged["rows"].as_array().unwrap().len(), 505);
    assert!(
        paged["metadata"]["continue"].is_string(),
        "{}",
        paged["metadata"]
    );
    let meta = cb
        .request(
            "GET",
            &path,
            &[(
                "accept",
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
            )],
            None,
        )
        .await
        .json();
    assert_eq!(meta["kind"], "PartialObjectMetadataList");
    assert_eq!(meta["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(names(&meta), want);
    assert!(
        meta["items"][0].get("data").is_none(),
        "{}",
        meta["items"][0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_cache_off_reads_and_watches_come_from_storage() {
    let pki = Pki::generate();
    let server = ServerProcess::start(
        Path::new(BIN),
        &pki,
        &Storage::Sqlite,
        &["--watch-cache=false"],
    )
    .await;
    let c = server.client(&pki, Identity::Admin);
    let path = configmaps("default");
    let first = create(&c, &path, &configmap("off", "1")).await;
    assert_eq!(c.get(&format!("{path}/off")).await.status, 200);
    assert_eq!(names(&c.get(&path).await.json()), vec!["off"]);
    let (_, lines, _) = c
        .watch_until_end(
            &format!(
                "{path}?watch=true&resourceVersion={}&timeoutSeconds=2",
                rv(&first)
            ),
            Duration::from_secs(30),
            || async {
                create(&c, &configmaps("default"), &configmap("off-2", "1")).await;
            },
        )
        .await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["object"]["metadata"]["name"], "off-2");
}
