//! The conformance suite against the embedded SQLite engine, plus what only
//! SQLite has: several OS processes sharing one file, and crash safety.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::sync::Arc;

use skewless_store::sqlite::{SqliteOptions, SqliteStore};
use support::{Fixture, unique_prefix};

async fn fresh() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("state.db")))
        .await
        .expect("opening sqlite");
    Fixture {
        store: Arc::new(store),
        prefix: unique_prefix(),
        _keep: Box::new(dir),
    }
}

conformance_suite!(fresh, fresh);

use std::collections::BTreeMap;
use std::time::Duration;

use skewless_store::{Event, ListOptions, Store, WriteOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const TOOL: &str = env!("CARGO_BIN_EXE_skewless-store");

async fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(SqliteOptions::new(path))
        .await
        .expect("opening sqlite")
}

/// Two OS processes increment one counter with compare-and-swap and create
/// keys of their own in the same file: no update is lost, and a watcher in a
/// third process sees every revision once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_file_without_losing_updates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = open(&db).await;
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch("/", start).await.unwrap();

    let times = 150;
    let mut children = Vec::new();
    for _ in 0..2 {
        children.push(
            Command::new(TOOL)
                .args(["increment", "--db"])
                .arg(&db)
                .args(["--key", "/counter", "--times", &times.to_string()])
                .kill_on_drop(true)
                .output(),
        );
    }
    for name in ["a", "b"] {
        children.push(
            Command::new(TOOL)
                .args(["write-loop", "--db"])
                .arg(&db)
                .args(["--prefix", &format!("/keys/{name}/"), "--count", "100"])
                .kill_on_drop(true)
                .output(),
        );
    }
    for out in futures::future::join_all(children).await {
        let out = out.unwrap();
        assert!(
            out.status.success(),
            "a writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let counter = store.get("/counter").await.unwrap().unwrap();
    assert_eq!(counter.value, (2 * times).to_string().into_bytes());
    assert_eq!(store.count("/keys/").await.unwrap(), 200);

    // Every write of both processes: 2 * times counter writes + 200 creates.
    let total = 2 * times + 200;
    let mut last = start;
    for _ in 0..total {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("the watch kept up")
            .expect("the watch is open")
            .expect("no watch error");
        assert_eq!(
            event.revision(),
            last + 1,
            "a revision was skipped or reordered"
        );
        last = event.revision();
    }
    assert_eq!(last, store.current_revision().await.unwrap());
}

/// A writer process is killed with SIGKILL mid-stream. Reopened, the file
/// holds every write the writer acknowledged, each intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut child = Command::new(TOOL)
        .args(["write-loop", "--db"])
        .arg(&db)
        .args(["--prefix", "/k/"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = BTreeMap::new();
    while acked.len() < 300 {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the writer is running");
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[0], "ack");
        acked.insert(
            parts[1].to_owned(),
            (parts[2].parse::<i64>().unwrap(), parts[3].to_owned()),
        );
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    // Acknowledgements the writer printed before dying count too.
    while let Ok(Some(line)) = lines.next_line().await {
        let parts: Vec<&str> = line.split(' ').collect();
        acked.insert(
            parts[1].to_owned(),
            (parts[2].parse::<i64>().unwrap(), parts[3].to_owned()),
        );
    }

    let store = open(&db).await;
    let all = store.list("/k/", ListOptions::default()).await.unwrap();
    assert!(all.items.len() >= acked.len());
    let by_key: BTreeMap<_, _> = all.items.iter().map(|kv| (kv.key.clone(), kv)).collect();
    for (key, (rev, sum)) in &acked {
        let kv = by_key
            .get(key)
            .unwrap_or_else(|| panic!("acknowledged {key} is gone"));
        assert_eq!(kv.mod_revision, *rev);
        assert_eq!(checksum(&kv.value).to_string(), *sum, "{key} is torn");
    }
    // Nothing half-written: every stored value is complete.
    for kv in &all.items {
        let i: u64 = kv.key.trim_start_matches("/k/").parse().unwrap();
        assert_eq!(kv.value, format!("{i}:").repeat(600).into_bytes());
    }
    // And the store keeps working after the crash.
    store
        .create("/k/after", b"x".to_vec(), WriteOptions::default())
        .await
        .unwrap();
}

/// FNV-1a, as the writer tool computes it.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A write made by another process reaches a watcher here by polling, well
/// within the poll interval plus scheduling slack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sees_other_processes_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = open(&db).await;
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch("/stamp/", start).await.unwrap();
    let out = Command::new(TOOL)
        .args(["stamp", "--db"])
        .arg(&db)
        .args([
            "--prefix",
            "/stamp/",
            "--count",
            "20",
            "--interval-ms",
            "20",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for i in 0..20 {
        match tokio::time::timeout(Duration::from_secs(5), watch.next()).await {
            Ok(Some(Ok(Event::Put { kv, .. }))) => assert_eq!(kv.key, format!("/stamp/{i:08}")),
            other => panic!("expected put {i}, got {other:?}"),
        }
    }
}

/// Heavy churn followed by compaction: old revisions are removed in
/// bounded steps, writers keep going meanwhile, and the WAL file is folded
/// back so the files stay small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_under_churn_keeps_files_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut opts = SqliteOptions::new(&db);
    opts.compact_batch = 200;
    let store = std::sync::Arc::new(SqliteStore::open(opts).await.unwrap());
    let mut kvs = Vec::new();
    for i in 0..20 {
        kvs.push(
            store
                .create(
                    &format!("/churn/{i}"),
                    vec![b'v'; 2048],
                    WriteOptions::default(),
                )
                .await
                .unwrap(),
        );
    }
    for round in 0..150 {
        for kv in kvs.iter_mut() {
            *kv = store
                .update(
                    &kv.key,
                    vec![(round % 250) as u8; 2048],
                    kv.mod_revision,
                    WriteOptions::default(),
                )
                .await
                .unwrap();
        }
    }
    let target = store.current_revision().await.unwrap();
    // A writer keeps going during compaction and never fails.
    let writer = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..200 {
                store
                    .create(
                        &format!("/during/{i}"),
                        vec![b'd'; 64],
                        WriteOptions::default(),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    store.compact(target).await.unwrap();
    writer.await.unwrap();
    assert_eq!(store.compacted_revision().await.unwrap(), target);
    let current = store.list("/churn/", ListOptions::default()).await.unwrap();
    kvs.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(current.items, kvs);
    assert_eq!(store.count("/during/").await.unwrap(), 200);
    store
        .compact(store.current_revision().await.unwrap())
        .await
        .unwrap();
    let wal = std::fs::metadata(dir.path().join("state.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    // 3000 writes of 2 KiB went through the WAL; after the checkpoint it is
    // truncated instead of holding all of them.
    assert!(wal < 1024 * 1024, "WAL is {wal} bytes after compaction");
}

/// Data written before a restart is all there after it, at the same revisions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_data_and_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (kv, rev) = {
        let store = open(&db).await;
        let kv = store
            .create("/a", b"1".to_vec(), WriteOptions::default())
            .await
            .unwrap();
        (kv, store.current_revision().await.unwrap())
    };
    let store = open(&db).await;
    assert_eq!(store.get("/a").await.unwrap(), Some(kv));
    assert_eq!(store.current_revision().await.unwrap(), rev);
    let next = store
        .create("/b", b"2".to_vec(), WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(next.mod_revision, rev + 1);
}

/// Processes opening one new database file at the same moment all get a
/// working store. `skewless cluster up` (which starts its servers together)
/// once failed with "database is locked" while opening, under heavy machine
/// load; the open path now retries the switch to WAL mode, where SQLite
/// does not always wait for the lock. The failure did not reproduce on
/// demand; this test keeps the concurrent-open path exercised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_opening_a_new_file_together_all_succeed() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let writers: Vec<_> = (0..6)
            .map(|i| {
                Command::new(TOOL)
                    .args(["write-loop", "--db"])
                    .arg(&db)
                    .args(["--prefix", &format!("/p{i}/"), "--count", "3"])
                    .kill_on_drop(true)
                    .output()
            })
            .collect();
        for out in futures::future::join_all(writers).await {
            let out = out.unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(open(&db).await.count("/p").await.unwrap(), 18);
    }
}
