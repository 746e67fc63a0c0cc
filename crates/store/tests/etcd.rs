//! The conformance suite against a real etcd server, plus the checks that
//! only make sense for etcd (a three-member cluster losing a member).
//!
//! Tests that can share a server use the one `scripts/test.sh` starts
//! (`SKEWLESS_TEST_ETCD`), each under its own key prefix; without it, and for
//! every test that compacts (compaction is global in etcd), a private etcd
//! process is started for the test.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use skewless_store::etcd::{EtcdOptions, EtcdStore};
use skewless_store::testing::EtcdCluster;
use skewless_store::{ListOptions, Store, WriteOptions};
use support::{Fixture, unique_prefix};

async fn connect(endpoints: Vec<String>) -> EtcdStore {
    EtcdStore::connect(EtcdOptions::new(endpoints))
        .await
        .expect("connecting to etcd")
}

async fn shared() -> Fixture {
    match std::env::var("SKEWLESS_TEST_ETCD") {
        Ok(endpoints) if !endpoints.is_empty() => {
            let endpoints = endpoints.split(',').map(str::to_owned).collect();
            Fixture {
                store: Arc::new(connect(endpoints).await),
                prefix: unique_prefix(),
                _keep: Box::new(()),
            }
        }
        _ => private().await,
    }
}

async fn private() -> Fixture {
    let cluster = EtcdCluster::start(1).await;
    Fixture {
        store: Arc::new(connect(cluster.endpoints()).await),
        prefix: unique_prefix(),
        _keep: Box::new(cluster),
    }
}

conformance_suite!(shared, private);

/// Three members on loopback; one is killed mid-run. Every write
/// acknowledged before and after stays readable and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_member_cluster_survives_losing_a_member() {
    let mut cluster = EtcdCluster::start(3).await;
    let store = connect(cluster.endpoints()).await;
    let prefix = unique_prefix();
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch(&prefix, start).await.unwrap();
    let mut acked = Vec::new();
    for i in 0..200 {
        if i == 100 {
            // Kill a member that is not necessarily the leader.
            cluster.members[2].kill();
        }
        let key = format!("{prefix}k{i:03}");
        // A write in flight to the dying member may fail; an acknowledged
        // write must never be lost.
        let mut attempts = 0;
        loop {
            match store
                .create(&key, vec![b'v'], WriteOptions::default())
                .await
            {
                Ok(kv) => {
                    acked.push(kv);
                    break;
                }
                Err(skewless_store::StoreError::Exists(_)) => break,
                Err(e) => {
                    attempts += 1;
                    assert!(attempts < 50, "writes never recovered: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    let list = store.list(&prefix, ListOptions::default()).await.unwrap();
    assert_eq!(list.items.len(), 200);
    for kv in &acked {
        assert!(
            list.items.contains(kv),
            "acknowledged write {} lost",
            kv.key
        );
    }
    // The watch either saw everything in order or ended with an error when
    // its member died; resume from where it stopped and check the rest.
    let mut last = start;
    let mut seen = 0;
    while seen < 200 {
        match tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
            Ok(Some(Ok(e))) => {
                assert!(e.revision() > last);
                last = e.revision();
                seen += 1;
            }
            Ok(Some(Err(_))) | Ok(None) => {
                watch = store.watch(&prefix, last).await.unwrap();
            }
            Err(_) => panic!("watch stalled after {seen} events"),
        }
    }
}
